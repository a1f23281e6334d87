"""The documentation builds with warnings as errors, and no file in the tree
carries a merge-conflict marker."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from docutils import nodes
from docutils.core import publish_doctree
from docutils.parsers.rst import roles
from docutils.utils import SystemMessage

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "Documentation").rglob("*.rst"))
# Sphinx's cross-reference roles, which plain docutils does not know: read
# as literals, so that everything else docutils checks still applies.
SPHINX_ROLES = ("class", "func", "mod", "meth", "attr", "data", "exc", "obj", "ref", "doc",
                "c:func", "c:type", "c:macro", "c:member")
CONFLICT = re.compile(r"^(<{7}|>{7})( |$)|^={7}$", re.MULTILINE)


def _literal_role(name: str, rawtext: str, text: str, lineno: int, inliner: Any,
                  options: Any = None, content: Any = None) -> tuple[list[nodes.Node], list[Any]]:
    return [nodes.literal(rawtext, text)], []


def check_rst(path: Path) -> None:
    """Parse ``path`` with docutils; any warning raises SystemMessage."""
    for role in SPHINX_ROLES:
        roles.register_local_role(role, _literal_role)
    publish_doctree(path.read_text(), source_path=str(path),
                    settings_overrides={"halt_level": 2, "report_level": 2,
                                        "warning_stream": False})


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_document_builds_without_warnings(path: Path) -> None:
    try:
        check_rst(path)
    except SystemMessage as exc:
        pytest.fail(f"{path.relative_to(ROOT)}: {exc}")


def test_the_checker_catches_a_conflict_marker(tmp_path: Path) -> None:
    bad = tmp_path / "bad.rst"
    bad.write_text("Title\n=====\n\nA paragraph that lost its end.\n=======\nand its start.\n")
    with pytest.raises(SystemMessage):
        check_rst(bad)


def test_no_merge_conflict_markers() -> None:
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files"], check=True,
                           capture_output=True, text=True).stdout.split()
    hits = []
    for name in files:
        path = ROOT / name
        if path.suffix == ".rst" or not path.is_file():
            continue  # reST underlines may be seven '=': docutils checks those
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        hits += [f"{name}:{text.count(chr(10), 0, m.start()) + 1}"
                 for m in CONFLICT.finditer(text)]
    assert not hits, f"merge-conflict markers: {hits}"
