"""Every command libquic installs, installed as ``pip install .`` installs
it and run by its installed name, given bad input: an unknown option, a
missing file, a bad URL or value, an unreachable peer.  Each answers with
one line on stderr naming the command, a non-zero status, and no
traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kquictest.aiopeer import free_udp_port
from kquictest.install import ROOT, pip_install
from kquictest.quicpair import Credentials

pytestmark = pytest.mark.timeout(900)

COMMANDS = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"])
DEAD = free_udp_port()  # nobody listens there
NOWHERE = "no-such-host.invalid"  # RFC 6761: never resolves
UNREACHABLE = "unreachable"  # replaced by a test with the CA it needs

# (command and arguments, exit status, what the line says)
CASES = [
    # unknown options
    (["quic-perf", "-c", "127.0.0.1", "--frobnicate"], 2, "unrecognized arguments: --frobnicate"),
    (["quic-h3", "get", "https://localhost/", "--frobnicate"], 2,
     "unrecognized arguments: --frobnicate"),
    (["quic-h3", "fetch", "https://localhost/"], 2, "invalid choice: 'fetch'"),
    (["quic-trace", "--frobnicate"], 2, "unrecognized arguments: --frobnicate"),
    (["quic-demo", "--frobnicate"], 2, "unrecognized arguments: --frobnicate"),
    (["quic-handshaked", "--frobnicate"], 2, "unrecognized arguments: --frobnicate"),
    (["quic-alpn-route", "-l", "a=h3", "-c", "b=h3", "--frobnicate"], 2,
     "unrecognized arguments: --frobnicate"),
    # missing files
    (["quic-perf", "-s", "--cert", "/nonexistent.pem", "--key", "/nonexistent.key"], 2,
     "cannot read /nonexistent.pem"),
    (["quic-perf", "-c", "127.0.0.1", "--cafile", "/nonexistent.pem"], 2,
     "cannot read /nonexistent.pem"),
    (["quic-h3", "get", "https://localhost/", "--cafile", "/nonexistent.pem"], 2,
     "/nonexistent.pem does not exist"),
    (["quic-h3", "serve", "/nonexistent", "--cert", "c", "--key", "k"], 2,
     "/nonexistent is not a folder"),
    (["quic-trace", "--", "/nonexistent/command"], 1, "cannot run /nonexistent/command"),
    (["quic-trace", "-o", "/nonexistent", "-t", "1"], 2, "/nonexistent is not a folder"),
    (["quic-handshaked", "-c", "/nonexistent.conf"], 1,
     "configuration file /nonexistent.conf cannot be read"),
    # bad URLs and values
    (["quic-h3", "get", "http://localhost/x"], 2, "not an https URL"),
    (["quic-h3", "get", "https://localhost:99999/x"], 2, "bad port"),
    (["quic-perf", "-c", "127.0.0.1", "-n", "lots"], 2, "not a size: 'lots'"),
    (["quic-perf", "-c", "127.0.0.1", "-P", "0", "-t", "1"], 2, "must be at least 1"),
    (["quic-handshaked", "--workers", "0"], 1, "need at least 1 worker"),
    (["quic-alpn-route", "-l", "a=h3@nonsense", "-c", "b=h3"], 2,
     "'nonsense' is not an IPv4 or IPv6 address"),
    # peers that are not there
    (["quic-perf", "-c", "127.0.0.1", "-p", str(DEAD), "-t", "1", UNREACHABLE], 1,
     f"127.0.0.1 port {DEAD}"),
    (["quic-perf", "-c", NOWHERE, "-t", "1", UNREACHABLE], 1, NOWHERE),
    (["quic-h3", "get", f"https://127.0.0.1:{DEAD}/x", "--timeout", "3", UNREACHABLE], 1,
     f"https://127.0.0.1:{DEAD}/x"),
    (["quic-h3", "get", f"https://{NOWHERE}/x", UNREACHABLE], 1, NOWHERE),
]


Run = subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    site = pip_install(tmp_path_factory.mktemp("install"))
    return site / "bin", dict(os.environ, PYTHONPATH=str(site))


@pytest.fixture(scope="module")
def runs(installed: tuple[Path, dict[str, str]], creds: Credentials) -> dict[int, Run]:
    """Every case run at once (each starts a Python that imports
    cryptography, slow in the VM), by its index in CASES."""
    bindir, env = installed

    def run(argv: list[str]) -> Run:
        cmd, *args = argv
        if UNREACHABLE in args:
            args = [a for a in args if a != UNREACHABLE] + ["--cafile", creds.ca]
        return subprocess.run([str(bindir / cmd), *args], env=env, cwd="/",
                              capture_output=True, text=True, timeout=600)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(enumerate(pool.map(run, [argv for argv, _, _ in CASES])))


def test_every_command_is_installed(installed: tuple[Path, dict[str, str]]) -> None:
    bindir, env = installed
    assert {p.name for p in bindir.iterdir()} >= COMMANDS
    assert {c[0][0] for c in CASES} == COMMANDS, "a command without bad-input cases"
    where = subprocess.run([sys.executable, "-c", "import libquic; print(libquic.__file__)"],
                           env=env, cwd="/", capture_output=True, text=True, timeout=300)
    assert where.stdout.startswith(str(bindir.parent)), "not the installed copy"
    with ThreadPoolExecutor(max_workers=6) as pool:
        helps = dict(zip(sorted(COMMANDS), pool.map(
            lambda cmd: subprocess.run([str(bindir / cmd), "--help"], env=env, cwd="/",
                                       capture_output=True, text=True, timeout=300),
            sorted(COMMANDS)), strict=True))
    for cmd, r in helps.items():
        assert r.returncode == 0 and r.stdout.startswith(f"usage: {cmd}"), (cmd, r.stderr)


@pytest.mark.parametrize(("index", "argv", "status", "says"),
                         [(i, *case) for i, case in enumerate(CASES)],
                         ids=[" ".join(a for a in c[0] if a != UNREACHABLE) for c in CASES])
def test_bad_input_is_one_line(runs: dict[int, Run], index: int, argv: list[str],
                               status: int, says: str) -> None:
    r = runs[index]
    cmd = argv[0]
    lines = r.stderr.splitlines()
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == status, (r.returncode, r.stderr)
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"{cmd}: ") and says in lines[0], lines[0]
