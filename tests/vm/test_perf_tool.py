"""quic-perf, the iperf3-like command, run as a user would: a server
process and client processes on loopback, text and --json output, errors."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kquictest.aiopeer import free_udp_port
from kquictest.quicpair import Credentials
from libquic.features import module_features

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
PERF = [sys.executable, "-m", "libquic.tools.perf"]


@pytest.fixture(scope="module", params=["127.0.0.1", "::1"], ids=["ipv4", "ipv6"])
def server(request: pytest.FixtureRequest, creds: Credentials,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    host = request.param
    port = free_udp_port()
    log = tmp_path_factory.mktemp("perf") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*PERF, "-s", "-B", host, "-p", str(port), "--cert", creds.cert,
                                 "--key", creds.key], stdout=out, stderr=subprocess.STDOUT,
                                cwd=ROOT)
    try:
        deadline = time.monotonic() + 180  # importing cryptography is slow in a busy VM
        while b"listening on" not in log.read_bytes():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "quic-perf -s did not start"
            time.sleep(0.1)
        yield host, port
    finally:
        proc.terminate()
        proc.wait(30)
    assert b"Traceback" not in log.read_bytes(), log.read_text()


def client(creds: Credentials, host: str, port: int, *args: str,
           check: bool = True) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([*PERF, "-c", host, "-p", str(port), "--cafile", creds.ca,
                          "--hostname", "localhost", *args],
                         capture_output=True, text=True, timeout=200, cwd=ROOT)
    if check:
        assert out.returncode == 0, out.stdout + out.stderr
    return out


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_timed_run_prints_a_line_per_second(server: tuple[str, int], creds: Credentials) -> None:
    out = client(creds, *server, "-t", "3", "-P", "2", "--streams", "2")
    lines = out.stdout.splitlines()
    intervals = [ln for ln in lines if ln.startswith("[")]
    assert len(intervals) >= 3, out.stdout
    assert all("bit/s" in ln and "rtt " in ln and "cwnd " in ln for ln in intervals)
    assert "rtt -" not in out.stdout, "our module's /proc/net/quic/eps was not read"
    (summary,) = [ln for ln in lines if ln.startswith("summary:")]
    assert "checked by the receiver" in summary and "2 connection(s) x 2 stream(s)" in summary


@pytest.mark.parametrize("reverse", [False, True], ids=["upload", "download"])
def test_byte_count_json(server: tuple[str, int], creds: Credentials, reverse: bool) -> None:
    args = ["-n", "16M", "--json"] + (["-R"] if reverse else ["-P", "2", "--streams", "3"])
    doc = json.loads(client(creds, *server, *args).stdout)
    assert doc["bytes"] == 16 << 20
    assert doc["checked_by_peer"] and doc["reverse"] == reverse
    assert doc["bits_per_second"] > 0 and doc["intervals"]
    assert sum(iv["bytes"] for iv in doc["intervals"]) == 16 << 20
    if module_features().kquic_procfs:
        assert all(iv["cwnd"] and iv["cwnd"] > 0 for iv in doc["intervals"])
    else:  # another module's /proc/net/quic/eps has no cwnd column
        assert all(iv["cwnd"] is None for iv in doc["intervals"])


def test_errors_are_one_line(creds: Credentials) -> None:
    dead = free_udp_port()
    out = subprocess.run([*PERF, "-c", "127.0.0.1", "-p", str(dead), "--cafile", creds.ca,
                          "--hostname", "localhost", "-t", "1"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert out.stderr.startswith("quic-perf: ") and f"port {dead}" in out.stderr
    for bad in (["-c", "127.0.0.1", "-n", "lots"], ["-s"], []):
        out = subprocess.run([*PERF, *bad], capture_output=True, text=True, timeout=180,
                             cwd=ROOT)
        assert out.returncode == 2 and "Traceback" not in out.stderr, (bad, out.stderr)
        (line,) = out.stderr.splitlines()
        assert line.startswith("quic-perf: ") and line.endswith("(see quic-perf --help)")
