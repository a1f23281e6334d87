"""kmod/ in the kernel's style, checked by the kernel's own tools:
checkpatch.pl --strict reports no error and no warning, and kernel-doc
finds every non-static function documented where it is defined, without
a warning.  scripts/setup.sh fetches both from Debian's linux-source
package of the test kernel's series."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KMOD = ROOT / "kmod"
CACHE = Path(os.environ.get("KQUIC_CACHE", Path.home() / ".cache" / "kquic"))
TOOLS = CACHE / "checkpatch" / "scripts"


def tool(name: str) -> Path:
    path = TOOLS / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `bash scripts/setup.sh` "
                    "(it fetches the kernel's style tools)")
    return path


def sources() -> list[Path]:
    files = [p for p in sorted(KMOD.glob("*.[ch]")) if not p.name.endswith(".mod.c")]
    files += [p for p in sorted((KMOD / "test").glob("*.[ch]")) if not p.name.endswith(".mod.c")]
    files += sorted((KMOD / "include").rglob("*.h"))
    assert files
    return files


def module_c_files() -> list[Path]:
    """quic.ko's own source files (not the test module's)."""
    return [p for p in sources() if p.suffix == ".c" and p.parent == KMOD]


def test_checkpatch_strict_has_no_error_or_warning() -> None:
    files = [str(p.relative_to(ROOT)) for p in sources()]
    r = subprocess.run(["perl", str(tool("checkpatch.pl")), "--strict", "--no-tree", "--terse",
                        "--show-types", "-f", *files],
                       capture_output=True, text=True, timeout=300, check=False, cwd=ROOT)
    assert not r.stderr, r.stderr      # checkpatch itself failed
    bad = [line for line in r.stdout.splitlines() if ": ERROR:" in line or ": WARNING:" in line]
    assert not bad, "\n".join(bad)


def test_kernel_doc_has_no_warning() -> None:
    r = subprocess.run(["perl", str(tool("kernel-doc")), "-none", "-Wall",
                        *map(str, sources())],
                       capture_output=True, text=True, timeout=300, check=False, cwd=ROOT)
    warnings = [line for line in (r.stdout + r.stderr).splitlines() if "warning" in line.lower()]
    assert not warnings, "\n".join(warnings)


DEFINITION = re.compile(r"^(?!static)[a-z][\w\s*]*?\b(quic\w+)\(")


def undocumented(path: Path) -> list[str]:
    lines = path.read_text().split("\n")
    missing = []
    for i, line in enumerate(lines):
        m = DEFINITION.match(line)
        if not m or line.rstrip().endswith(";"):
            continue
        j = i - 1
        documented = False
        if j >= 0 and lines[j].strip() == "*/":
            while j >= 0 and not lines[j].lstrip().startswith("/*"):
                j -= 1
            documented = lines[j].lstrip().startswith("/**")
        if not documented:
            missing.append(f"{path.name}:{i + 1}: {m.group(1)}()")
    return missing


def test_every_exported_function_has_kernel_doc_at_its_definition() -> None:
    missing = [m for p in module_c_files() for m in undocumented(p)]
    assert not missing, "no kernel-doc comment above:\n" + "\n".join(missing)
