"""quic(7) and libquic(3) render without warnings, name every part of the
API, and install where man finds them."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

import libquic

ROOT = Path(__file__).resolve().parents[2]
MAN = ROOT / "Documentation" / "man"
UAPI = ROOT / "kmod" / "include" / "uapi" / "linux" / "quic.h"


def render(page: Path) -> str:
    """The page as ``man -l`` shows it (no hyphenation), after checking
    that groff has no warning about it (man itself does not print them)."""
    lint = subprocess.run(["groff", "-man", "-ww", "-z", str(page)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert lint.returncode == 0 and lint.stderr == "", f"{page.name}:\n{lint.stderr}"
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    r = subprocess.run(["man", "--nh", "--nj", "-l", str(page)], env=env,
                       capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 0 and r.stdout, r.stderr
    return r.stdout


def uapi_names() -> set[str]:
    text = UAPI.read_text()
    names = set(re.findall(r"\b(QUIC_SOCKOPT_[A-Z_]+|MSG_QUIC_[A-Z_]+|QUIC_EVENT_[A-Z_]+)\b", text))
    names |= {"QUIC_STREAM_INFO", "QUIC_HANDSHAKE_INFO"}
    return names - {"QUIC_EVENT_NONE", "QUIC_EVENT_MAX"}


@pytest.mark.parametrize("page", ["quic.7", "libquic.3"])
def test_page_renders_cleanly(page: str) -> None:
    out = render(MAN / page)
    assert "NAME" in out and "SEE ALSO" in out


def test_quic7_names_every_option_flag_cmsg_and_event() -> None:
    text = render(MAN / "quic.7")
    missing = sorted(n for n in uapi_names() if n not in text)
    assert not missing, f"quic(7) does not describe {missing}"
    for path in ("/proc/net/quic/eps", "/proc/net/quic/snmp"):
        assert path in text


def test_libquic3_names_the_exported_api_and_commands() -> None:
    text = render(MAN / "libquic.3")
    missing = sorted(n for n in libquic.__all__ if n not in text)
    assert not missing, f"libquic(3) does not describe {missing}"
    pyproject = (ROOT / "pyproject.toml").read_text()
    commands = re.findall(r'^(quic-[a-z-]+) = "', pyproject, re.M)
    assert commands
    for c in commands:
        assert c in text, f"libquic(3) does not list the command {c}"


@pytest.mark.parametrize(("target", "pages"), [
    (["-C", "kmod", "install-man"], ["man7/quic.7"]),
    (["install-man"], ["man7/quic.7", "man3/libquic.3"]),
])
def test_make_installs_the_pages(tmp_path: Path, target: list[str], pages: list[str]) -> None:
    subprocess.run(["make", "-s", *target, f"DESTDIR={tmp_path}"], cwd=ROOT, check=True,
                   capture_output=True, timeout=60)
    mandir = tmp_path / "usr" / "share" / "man"
    for p in pages:
        assert (mandir / p).read_bytes() == (MAN / Path(p).name).read_bytes()
    name, section = Path(pages[0]).stem, Path(pages[0]).suffix[1:]
    r = subprocess.run(["man", "-M", str(mandir), "-w", section, name],
                       capture_output=True, text=True, timeout=60, check=False)
    assert r.stdout.strip() == str(mandir / pages[0])


def uapi_structs() -> dict[str, list[str]]:
    """Every struct and union of the UAPI header: its fields as ``type name;``."""
    out = {}
    for m in re.finditer(r"^(struct|union) (quic_\w+) \{\n(.*?)^\};", UAPI.read_text(),
                         re.S | re.M):
        fields = []
        for line in m.group(3).splitlines():
            line = re.sub(r"/\*.*?\*/", "", line).strip()
            if line:
                typ, _, name = line.rpartition("\t")
                fields.append(f"{typ.strip()} {name}")
        out[f"{m.group(1)} {m.group(2)}"] = fields
    return out


def section(text: str, title: str) -> str:
    """The rendered section ``title`` (up to the next heading)."""
    m = re.search(rf"^{title}\n(.*?)(?=^[A-Z][A-Z ]+\n)", text, re.S | re.M)
    assert m, f"no {title} section"
    return m.group(1)


def test_quic7_shows_every_structure_in_full() -> None:
    text = section(render(MAN / "quic.7"), "STRUCTURES")
    structs = uapi_structs()
    assert len(structs) >= 10
    for name, fields in structs.items():
        m = re.search(rf"^\s*{name} \{{\n(.*?)^\s*\}};", text, re.S | re.M)
        assert m, f"quic(7) does not show {name}"
        shown = [" ".join(line.split()) for line in m.group(1).splitlines() if line.strip()]
        assert shown == fields, f"quic(7) shows {name} as {shown}, the header has {fields}"


def test_quic7_gives_each_option_its_value_and_errors() -> None:
    """Each option's entry says what its value is (a structure, bytes, an
    address or none) and which errors it fails with."""
    text = section(render(MAN / "quic.7"), "SOCKET OPTIONS")
    entries = re.split(r"^ {7}(QUIC_SOCKOPT_\w+) \(", text, flags=re.M)[1:]
    options = dict(zip(entries[::2], entries[1::2], strict=True))
    assert set(options) == {n for n in uapi_names() if n.startswith("QUIC_SOCKOPT_")}
    structs = {n.split()[1] for n in uapi_structs()}
    for name, body in options.items():
        flat = " ".join(body.split())
        value = re.findall(r"struct (\w+)", flat)
        assert (value and set(value) <= structs | {"sockaddr_in"}) or re.match(
            r"(get|set|get, set)\) (bytes|start .* \(no value\))", flat), f"{name}: no value type"
        assert re.search(r"\bE[A-Z]{3,}\b", flat), f"{name} names no errors"
