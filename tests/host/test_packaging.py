"""libquic installs as a package with commands: the wheel ``pip install .``
would install, its entry points, and the public names of every module."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from kquictest.install import project_copy

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SCRIPTS: dict[str, str] = PYPROJECT["project"]["scripts"]
MODULES = sorted(p for p in (ROOT / "libquic").rglob("*.py") if p.name != "__main__.py")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    build = project_copy(tmp_path_factory.mktemp("build"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(out), str(build)],
                   check=True, capture_output=True, timeout=300)
    (whl,) = out.glob("libquic-*.whl")
    return zipfile.ZipFile(whl)


def _dist_file(whl: zipfile.ZipFile, name: str) -> str:
    (path,) = [n for n in whl.namelist() if n.endswith(f".dist-info/{name}")]
    return whl.read(path).decode()


def test_wheel_holds_the_package_and_its_commands(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for must in ("libquic/__init__.py", "libquic/py.typed", "libquic/tools/handshaked.py",
                 "libquic/tools/demo.py", "libquic/tls/engine.py"):
        assert must in names, f"{must} is not in the wheel"
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"libquic"}, f"top-level entries besides libquic: {tops}"
    entry = _dist_file(wheel, "entry_points.txt")
    for cmd, target in SCRIPTS.items():
        assert f"{cmd} = {target}" in entry
    meta = _dist_file(wheel, "METADATA")
    assert "License: GPL-2.0-or-later" in meta
    assert any(n.endswith(".dist-info/LICENSE") or "/licenses/LICENSE" in n for n in names)
    for extra, dep in (("h3", "pylsqpack"), ("daemon", "pyroute2")):
        assert f"Provides-Extra: {extra}" in meta
        assert any(line.startswith(f"Requires-Dist: {dep}") and f'extra == "{extra}"' in line
                   for line in meta.splitlines()), f"{dep} is not in the {extra} extra"


def test_one_licence() -> None:
    assert "GNU GENERAL PUBLIC LICENSE" in (ROOT / "LICENSE").read_text()
    assert "Version 2" in (ROOT / "LICENSE").read_text()
    spdx = set()
    for path in (ROOT / "kmod").rglob("*.[ch]"):
        for line in path.read_text(errors="replace").splitlines()[:2]:
            if "SPDX-License-Identifier:" in line:
                spdx.add(line.split(":", 1)[1].strip(" */").split(" WITH ")[0])
    assert spdx <= {"GPL-2.0-or-later", "GPL-2.0+"}, spdx
    assert PYPROJECT["project"]["license"]["text"] == "GPL-2.0-or-later"


@pytest.mark.parametrize("cmd", sorted(SCRIPTS))
def test_command_has_help(cmd: str, capsys: pytest.CaptureFixture[str]) -> None:
    module, func = SCRIPTS[cmd].split(":")
    main = getattr(importlib.import_module(module), func)
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "usage:" in capsys.readouterr().out


def _public_definitions(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
    return {n for n in names if not n.startswith("_")}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_declares_its_public_names(path: Path) -> None:
    """Every module has __all__; it lists every public function and class it
    defines, and every name in it exists."""
    modname = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    modname = modname.removesuffix(".__init__")
    mod = importlib.import_module(modname)
    assert hasattr(mod, "__all__"), f"{modname} has no __all__"
    missing = [n for n in mod.__all__ if not hasattr(mod, n)]
    assert not missing, f"{modname}.__all__ names what it lacks: {missing}"
    if path.name != "__init__.py":
        undeclared = _public_definitions(ast.parse(path.read_text())) - set(mod.__all__)
        assert not undeclared, f"{modname} defines public names not in __all__: {undeclared}"


def test_connection_api_is_exported_from_the_package() -> None:
    import libquic

    for name in ("QuicConnection", "QuicListener", "QuicStream"):
        assert name in libquic.__all__ and hasattr(libquic, name)
