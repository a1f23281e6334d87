"""quic-handshaked as a process for the VM tests that need the netlink
handshake upcall answered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from libquic.tools.alpnroute.consumer import stop_process

ROOT = Path(__file__).resolve().parents[2]
START_WAIT = 150.0  # importing pyroute2 is slow in the VM


@contextmanager
def running_handshaked(conf: Path, logfile: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``quic-handshaked -v -c conf``, its output in ``logfile``; yields once
    it waits for requests, terminates it afterwards and asserts that it
    exited cleanly."""
    # with the fault handler on, SIGABRT makes a stuck daemon print where
    # each of its threads is before it dies
    env = dict(os.environ, PYTHONFAULTHANDLER="1")
    with logfile.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "libquic.tools.handshaked", "-v",
                                 "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT,
                                cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + START_WAIT
        while b"waiting for handshake requests" not in logfile.read_bytes():
            assert proc.poll() is None, logfile.read_text(errors="replace")
            if time.monotonic() >= deadline:
                proc.send_signal(signal.SIGABRT)
                proc.wait(10)
                raise AssertionError(f"handshaked did not start in {START_WAIT:.0f} s; "
                                     f"its output:\n{logfile.read_text(errors='replace')}")
            time.sleep(0.1)
        yield proc
    finally:
        stop_process(proc)
    assert proc.returncode == 0, logfile.read_text(errors="replace")
