"""ngtcp2's example peers (gtlsserver, gtlsclient: C, GnuTLS), unpacked by
scripts/setup.sh and run through scripts/ngtcp2."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kquictest.aiopeer import free_udp_port
from kquictest.quicpair import Credentials
from libquic.tools.alpnroute.consumer import stop_process

NGTCP2 = str(Path(__file__).resolve().parents[2] / "scripts" / "ngtcp2")


def ngtcp2(tool: str, *args: str) -> list[str]:
    return [NGTCP2, tool, *args]


@contextmanager
def gtlsserver(creds: Credentials, htdocs: Path, *args: str) -> Iterator[int]:
    port = free_udp_port()
    cmd = ngtcp2("gtlsserver", "-q", "-d", str(htdocs), *args,
                 "127.0.0.1", str(port), creds.key, creds.cert)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_udp_bound(port, proc)
        yield port
        assert proc.poll() is None, f"gtlsserver exited early: {proc.returncode}"
    finally:
        stop_process(proc)


def wait_udp_bound(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Wait until a UDP socket is bound to ``port`` (the server is up)."""
    suffix = f":{port:04X}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"gtlsserver exited: {proc.returncode}"
        for table in ("/proc/net/udp", "/proc/net/udp6"):
            with open(table) as f:
                next(f)  # header
                if any(line.split()[1].endswith(suffix) for line in f):
                    return
        time.sleep(0.05)
    raise TimeoutError(f"gtlsserver did not bind UDP port {port}")
