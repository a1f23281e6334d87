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
