"""The kernel consumer as a listener, and the handshake daemon it needs.

tests/kmod/quic_consumer.ko is a kernel user of QUIC, as SMB or NFS would
be, driven through /proc/quic_consumer: a ``server`` command binds,
listens, accepts one connection, has ``quic-handshaked`` run its handshake
through the netlink upcall, answers one message (``kernel got: ...``) and
closes.  :class:`ConsumerListener` issues one such command after another in
a thread, so it listens again right after each client; a client arriving in
between retransmits its Initial.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import libquic
from libquic.tools.alpnroute.events import ListenerEvent
from libquic.tools.alpnroute.serve import EventSink
from libquic.tools.alpnroute.spec import ListenerSpec, Trust
from libquic.tools.alpnroute.wire import client_of

__all__ = [
    "PROC",
    "ConsumerListener",
    "consumer_command",
    "last_outcome",
    "listening_on",
    "start_handshaked",
    "stop_process",
]

PROC = Path("/proc/quic_consumer")
EPS = Path("/proc/net/quic/eps")
READY_LINE = b"waiting for handshake requests"
# a command that failed before a handshake with one of these could not
# listen: give up rather than spin
_UNLISTENABLE = (errno.EADDRINUSE, errno.EINVAL, errno.EACCES, errno.EADDRNOTAVAIL)


def consumer_command(proc: Path, command: str) -> dict[str, str]:
    """Write one command (it blocks until the exchange is over) and read its
    outcome; OSError with the module's error when the exchange failed.

    One write(2): a buffered file would retry a failed write on close,
    starting a second exchange.
    """
    fd = os.open(proc, os.O_WRONLY)
    try:
        os.write(fd, command.encode())
    finally:
        os.close(fd)
    return last_outcome(proc)


def last_outcome(proc: Path) -> dict[str, str]:
    """The last command's outcome: ``status``, ``alpn``, ``message`` (and
    ``ticket`` when it had one)."""
    head, _, message = proc.read_text().strip().partition(" message=")
    out = dict(f.split("=", 1) for f in head.split(" "))
    out["message"] = message
    return out


def listening_on(port: int, eps: Path = EPS) -> int:
    """How many QUIC sockets of this namespace listen on ``port``."""
    rows = eps.read_text().splitlines()[1:]
    return sum(1 for r in rows
               if len(f := r.split()) > 5 and f[4] == "LISTENING" and f[5].endswith(f":{port}"))


class ConsumerListener:
    """The kernel consumer serving ``spec`` on ``port``, one client at a time."""

    def __init__(self, spec: ListenerSpec, port: int, events: EventSink,
                 proc: Path = PROC) -> None:
        if not proc.exists():
            raise FileNotFoundError(f"{proc} is missing: load tests/kmod/quic_consumer.ko "
                                    f"for a consumer listener")
        self.spec = spec
        self._command = f"server {spec.address} {port} {','.join(spec.alpns)} - x509 0"
        self._port = port
        self._proc = proc
        self._events = events
        self._stopping = threading.Event()
        self._first = threading.Event()
        self._first_error = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self, timeout: float = 30.0) -> int:
        """Start listening; 0, or the errno the kernel refused it with."""
        before = listening_on(self._port)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while listening_on(self._port) <= before:
            if self._first.is_set():
                return self._first_error or errno.EIO
            if time.monotonic() > deadline:
                raise TimeoutError(f"the kernel consumer did not listen in {timeout:.0f} s")
            time.sleep(0.02)
        return 0

    def _serve(self) -> None:
        name = self.spec.name
        while not self._stopping.is_set():
            try:
                out = consumer_command(self._proc, self._command)
            except OSError as exc:
                if exc.errno == errno.EAGAIN:  # accept() timed out: nobody came
                    continue
                out = last_outcome(self._proc)
                if not out.get("alpn") and exc.errno in _UNLISTENABLE:
                    self._first_error = exc.errno
                    self._first.set()
                    return
            self._first.set()
            if self._stopping.is_set():
                break
            client = client_of(out["message"])
            alpn = out.get("alpn") or None
            status = int(out.get("status", "0"))
            self._events.put(ListenerEvent(name, "accepted", client=client))
            self._events.put(ListenerEvent(name, "handshake", client=client, ok=alpn is not None,
                                           alpn=alpn, error=os.strerror(-status) if status else ""))

    def stop(self, poke: Callable[[], object], timeout: float = 40.0) -> None:
        """Stop after the command in progress; ``poke`` connects a client so
        that it need not wait for its accept() to time out."""
        self._stopping.set()
        if self._thread.is_alive():
            poke()
        self._thread.join(timeout)


def start_handshaked(trust: Trust, folder: Path, wait: float = 150.0) -> subprocess.Popen[bytes]:
    """``quic-handshaked`` serving our certificate, started and waited for
    (importing its netlink library is slow in an emulated VM)."""
    conf = folder / "handshaked.conf"
    conf.write_text(f"[authenticate.client]\nx509.truststore = {trust.ca}\n\n"
                    f"[authenticate.server]\nx509.certificate = {trust.cert}\n"
                    f"x509.private_key = {trust.key}\n")
    log = folder / "handshaked.log"
    package_root = str(Path(libquic.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (package_root, os.environ.get("PYTHONPATH")) if p))
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "libquic.tools.handshaked", "-v",
                                 "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + wait
    while READY_LINE not in log.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_process(proc)
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"quic-handshaked did not start: {tail[0]}")
        time.sleep(0.1)
    return proc


def stop_process(proc: subprocess.Popen[Any], wait: float = 10.0) -> None:
    """Terminate ``proc``, killing it if it has not exited after ``wait``
    seconds; what it wrote to pipes, if any, is read and dropped."""
    proc.terminate()
    try:
        proc.communicate(timeout=wait)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
