"""quic-go (Go) as an interop peer: our program tests/peers/quicgo, built by
scripts/setup.sh against Debian's quic-go and run through
scripts/quicgo-peer.

Both ends speak one exchange over the client's first bidirectional stream:
the client sends ``"<up> <down>\\n"`` and ``up`` bytes of :func:`pattern`,
then ends its side; the server answers the upload's SHA-256 in hex and a
newline, then ``down`` bytes of :func:`pattern`, and ends its side.  The
quic-go programs report what they saw as JSON lines (``Report``): the
client one line, the server one per event (``listening``, ``retry``,
``version_negotiation``, ``conn``).
"""

from __future__ import annotations

import hashlib
import json
import queue
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kquictest.quicpair import WAIT, Credentials
from libquic.tools.alpnroute.consumer import stop_process

QUICGO_PEER = str(Path(__file__).resolve().parents[2] / "scripts" / "quicgo-peer")
PERIOD = 251  # the pattern repeats every PERIOD bytes (a prime: no packet-size alignment)

Report = dict[str, Any]


def pattern(size: int) -> bytes:
    """``size`` bytes of the pattern both ends send: byte i is i % 251."""
    return (bytes(range(PERIOD)) * (size // PERIOD + 1))[:size]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def request(upload: int, download: int) -> bytes:
    """What a client writes on its stream (then FIN)."""
    return f"{upload} {download}\n".encode() + pattern(upload)


def parse_request(data: bytes) -> tuple[bytes, int]:
    """A server's view of a whole request: the upload and the size asked for."""
    line, _, body = data.partition(b"\n")
    upload, download = (int(f) for f in line.split())
    assert len(body) == upload, f"upload of {len(body)} bytes, announced {upload}"
    return body, download


def answer(upload: bytes, download: int) -> bytes:
    """What a server writes back (then FIN)."""
    return sha256_hex(upload).encode() + b"\n" + pattern(download)


def parse_answer(data: bytes) -> tuple[str, bytes]:
    """A client's view of the whole answer: the echoed hash and the download."""
    line, _, body = data.partition(b"\n")
    return line.decode(), body


def version_name(version: int) -> str:
    return f"0x{version:x}"


@dataclass
class QuicGoServer:
    """A running quic-go server; its JSON lines are read in a thread."""

    proc: subprocess.Popen[str]
    port: int = 0
    seen: list[Report] = field(default_factory=list)
    ended: bool = False  # its standard output closed
    _lines: queue.Queue[Report | None] = field(default_factory=queue.Queue)

    def start_reader(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()
        first = self._next(WAIT)
        assert first is not None and first.get("event") == "listening", \
            f"quic-go server did not start: {first} {self._stderr()}"
        self.port = int(first["port"])

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(json.loads(line))
        self._lines.put(None)

    def _stderr(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return ""
        return self.proc.stderr.read()[-2000:]

    def _next(self, timeout: float) -> Report | None:
        try:
            report = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"quic-go server said nothing for {timeout} s") from None
        self._file(report)
        return report

    def _file(self, report: Report | None) -> None:
        if report is None:
            self.ended = True
        else:
            self.seen.append(report)

    def wait_for(self, event: str, count: int = 1, timeout: float = WAIT) -> list[Report]:
        """Every report of ``event``, once there are at least ``count``."""
        deadline = time.monotonic() + timeout
        while len(self.events(event)) < count:
            assert not self.ended, f"quic-go server exited: {self._stderr()}"
            self._next(max(0.0, deadline - time.monotonic()))
        return self.events(event)

    def events(self, event: str) -> list[Report]:
        """Every report of ``event`` received so far."""
        while True:
            try:
                report = self._lines.get_nowait()
            except queue.Empty:
                break
            self._file(report)
        return [r for r in self.seen if r.get("event") == event]


@contextmanager
def quicgo_server(creds: Credentials, alpn: str, *, retry: bool = False,
                  versions: Sequence[str] = ()) -> Iterator[QuicGoServer]:
    """A quic-go server on 127.0.0.1 (a free port: ``.port``) that answers
    every connection's exchange; ``retry`` validates each client address
    with a Retry first; ``versions`` (``v1``, ``v2`` or numbers) are the
    ones it accepts, quic-go's own list by default."""
    cmd = [QUICGO_PEER, "-mode", "server", "-addr", "127.0.0.1:0", "-cert", creds.cert,
           "-key", creds.key, "-alpn", alpn, "-timeout", f"{WAIT}s"]
    if retry:
        cmd.append("-retry")
    if versions:
        cmd += ["-versions", ",".join(versions)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server = QuicGoServer(proc)
    try:
        server.start_reader()
        yield server
        assert proc.poll() is None, f"quic-go server exited early: {server._stderr()}"
    finally:
        stop_process(proc)


def quicgo_client(creds: Credentials, port: int, alpn: str, *, upload: int = 0,
                  download: int = 0, versions: Sequence[str] = (),
                  timeout: float = WAIT) -> Report:
    """Run the quic-go client against 127.0.0.1:``port`` once and return its
    report (``event`` is ``done`` or ``error``); fails the test if it printed
    none (e.g. the peer is not built: run scripts/setup.sh)."""
    cmd = [QUICGO_PEER, "-mode", "client", "-addr", f"127.0.0.1:{port}", "-ca", creds.ca,
           "-sni", "localhost", "-alpn", alpn, "-upload", str(upload),
           "-download", str(download), "-timeout", f"{timeout}s"]
    if versions:
        cmd += ["-versions", ",".join(versions)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout * 2 + 10,
                          check=False)
    lines = proc.stdout.splitlines()
    assert lines, f"quic-go client printed no report (exit {proc.returncode}): " \
                  f"{proc.stderr[-2000:]}"
    report: Report = json.loads(lines[-1])
    assert (report["event"] == "done") == (proc.returncode == 0), (report, proc.stderr)
    return report
