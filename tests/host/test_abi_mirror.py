"""The Python UAPI mirror must match the C header and the compiled module.

Two independent checks:

* the DWARF of ``kmod/quic.ko`` (what the kernel really compiled): every
  mirrored struct's size, member names and member offsets, and every
  enumerator of the mirrored enums;
* a C probe compiled with gcc against the header (userspace view): every
  constant, including the ``#define`` ones that DWARF does not carry, and
  every struct size and offset again.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from elftools.dwarf.die import DIE
from elftools.elf.elffile import ELFFile

from libquic import uapi

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "kmod" / "quic.ko"
HEADER_DIR = ROOT / "kmod" / "include" / "uapi"

# (struct size, [(member name, offset, size)])
Layout = tuple[int, list[tuple[str, int, int]]]


def mirror_layout(cls: type[ctypes.Structure] | type[ctypes.Union]) -> Layout:
    fields = [(name, getattr(cls, name).offset, getattr(cls, name).size)
              for name, *_ in cls._fields_]
    return ctypes.sizeof(cls), fields


def _type_size(die: DIE) -> int:
    """Byte size of a DWARF type, through typedefs, qualifiers and arrays."""
    while "DW_AT_byte_size" not in die.attributes:
        if die.tag == "DW_TAG_array_type":
            count = 1
            for sub in die.iter_children():
                if sub.tag == "DW_TAG_subrange_type":
                    if "DW_AT_count" in sub.attributes:
                        count *= sub.attributes["DW_AT_count"].value
                    elif "DW_AT_upper_bound" in sub.attributes:
                        count *= sub.attributes["DW_AT_upper_bound"].value + 1
                    else:  # flexible array member
                        count = 0
            return count * _type_size(die.get_DIE_from_attribute("DW_AT_type"))
        die = die.get_DIE_from_attribute("DW_AT_type")
    return int(die.attributes["DW_AT_byte_size"].value)


def _iter_dies(die: DIE) -> Iterator[DIE]:
    yield die
    for child in die.iter_children():
        yield from _iter_dies(child)


class ModuleDwarf:
    """Struct layouts and enumerators read from the module's DWARF."""

    def __init__(self, path: Path) -> None:
        self.structs: dict[str, Layout] = {}
        self.enums: dict[str, dict[str, int]] = {}
        self.enumerators: dict[str, int] = {}
        with path.open("rb") as f:
            elf = ELFFile(f)
            if not elf.has_dwarf_info():
                raise AssertionError(f"{path} has no DWARF: build it with debug info")
            for cu in elf.get_dwarf_info().iter_CUs():
                for die in _iter_dies(cu.get_top_DIE()):
                    self._visit(die)

    def _visit(self, die: DIE) -> None:
        name_attr = die.attributes.get("DW_AT_name")
        name = name_attr.value.decode() if name_attr else None
        if die.tag in ("DW_TAG_structure_type", "DW_TAG_union_type"):
            if name and "DW_AT_byte_size" in die.attributes and name not in self.structs:
                fields = []
                for m in die.iter_children():
                    if m.tag != "DW_TAG_member":
                        continue
                    loc = m.attributes.get("DW_AT_data_member_location")
                    mname = m.attributes.get("DW_AT_name")
                    fields.append((mname.value.decode() if mname else "",
                                   loc.value if loc else 0,
                                   _type_size(m.get_DIE_from_attribute("DW_AT_type"))))
                self.structs[name] = (die.attributes["DW_AT_byte_size"].value, fields)
        elif die.tag == "DW_TAG_enumeration_type":
            members = {
                e.attributes["DW_AT_name"].value.decode(): e.attributes["DW_AT_const_value"].value
                for e in die.iter_children()
                if e.tag == "DW_TAG_enumerator"
            }
            if name:
                self.enums.setdefault(name, members)
            self.enumerators.update(members)


@pytest.fixture(scope="module")
def dwarf() -> ModuleDwarf:
    if not MODULE.exists():
        pytest.fail(f"{MODULE} is not built: run 'make kmod' (or 'make check') first")
    return ModuleDwarf(MODULE)


@pytest.mark.parametrize("cname", sorted(uapi.UAPI_STRUCTS))
def test_struct_matches_module_dwarf(dwarf: ModuleDwarf, cname: str) -> None:
    assert cname in dwarf.structs, f"struct {cname} is not in the module's DWARF"
    assert mirror_layout(uapi.UAPI_STRUCTS[cname]) == dwarf.structs[cname]


@pytest.mark.parametrize("cname", sorted(uapi.UAPI_ENUMS))
def test_enum_matches_module_dwarf(dwarf: ModuleDwarf, cname: str) -> None:
    cls, prefix = uapi.UAPI_ENUMS[cname]
    assert cname in dwarf.enums, f"enum {cname} is not in the module's DWARF"
    expected = {prefix + m.name: int(m) for m in cls}
    assert dwarf.enums[cname] == expected


def test_anonymous_enums_match_module_dwarf(dwarf: ModuleDwarf) -> None:
    wanted = {
        k: v
        for k, v in uapi.UAPI_CONSTANTS.items()
        if k.startswith(("QUIC_STREAM_SEND_STATE_", "QUIC_STREAM_RECV_STATE_",
                         "QUIC_TRANSPORT_ERROR_"))
    }
    got = {k: dwarf.enumerators.get(k) for k in wanted}
    assert got == wanted


def _enum_constants() -> dict[str, int]:
    """C enumerator name -> value for every mirrored named enum."""
    return {
        prefix + m.name: int(m)
        for cls, prefix in uapi.UAPI_ENUMS.values()
        for m in cls  # type: ignore[union-attr]
    }


def _probe_source() -> str:
    lines = [
        "#include <stddef.h>",
        "#include <stdio.h>",
        "#include <linux/quic.h>",
        "int main(void) {",
    ]
    names = {**uapi.UAPI_CONSTANTS, **_enum_constants()}
    for name in sorted(names):
        lines.append(f'printf("const {name} %lld\\n", (long long)({name}));')
    for cname, cls in uapi.UAPI_STRUCTS.items():
        kind = "union" if issubclass(cls, ctypes.Union) else "struct"
        lines.append(f'printf("size {cname} %zu\\n", sizeof({kind} {cname}));')
        for fname, *_ in cls._fields_:
            lines.append(
                f'printf("off {cname}.{fname} %zu\\n", offsetof({kind} {cname}, {fname}));'
            )
            lines.append(
                f'printf("msize {cname}.{fname} %zu\\n", '
                f'sizeof((({kind} {cname} *)0)->{fname}));'
            )
    lines += ["return 0;", "}"]
    return "\n".join(lines) + "\n"


def test_header_matches_mirror(tmp_path: Path) -> None:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.fail("no C compiler found: install gcc (scripts/setup.sh does)")
    src = tmp_path / "probe.c"
    src.write_text(_probe_source())
    exe = tmp_path / "probe"
    subprocess.run([cc, "-Wall", "-Werror", "-I", str(HEADER_DIR), "-o", str(exe), str(src)],
                   check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout

    got: dict[str, int] = {}
    for line in out.splitlines():
        kind, name, value = line.split()
        got[f"{kind} {name}"] = int(value)

    expected = {f"const {k}": v for k, v in {**uapi.UAPI_CONSTANTS, **_enum_constants()}.items()}
    for cname, cls in uapi.UAPI_STRUCTS.items():
        size, fields = mirror_layout(cls)
        expected[f"size {cname}"] = size
        expected.update({f"off {cname}.{f}": off for f, off, _ in fields})
        expected.update({f"msize {cname}.{f}": size for f, _, size in fields})
    mismatches = {k: (expected[k], got.get(k)) for k in expected if got.get(k) != expected[k]}
    assert not mismatches, f"mirror vs header (mirror, header): {mismatches}"


def test_reference_sizes() -> None:
    """Sizes recorded in shared/ABI.md for x86-64, independent of both sides."""
    sizes = {
        "quic_handshake_info": 1, "quic_stream_info": 16, "quic_errinfo": 16,
        "quic_connection_id_info": 12, "quic_event_option": 2, "quic_crypto_secret": 56,
        "quic_transport_param": 56, "quic_config": 28, "quic_stream_update": 24,
        "quic_stream_max_data": 16, "quic_connection_close": 72, "quic_event": 72,
    }
    assert {k: ctypes.sizeof(v) for k, v in uapi.UAPI_STRUCTS.items()} == sizes
