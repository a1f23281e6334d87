"""tests/kmod/quic_consumer.ko, a kernel user of QUIC (as SMB or NFS
would be) that asks for its handshakes through the netlink upcall, and the
userspace peers the tests pair it with.

The module is driven through /proc/quic_consumer: one written command (a
client or server exchange) blocks until the exchange is over, then the file
reads back its outcome.  The VM tier's ``consumer`` fixture loads it
(``loaded_consumer()``) for one test module.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kquictest.quicpair import WAIT, Credentials
from libquic.connection import QuicListener
from libquic.tools.alpnroute.consumer import consumer_command

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = ROOT / "tests" / "kmod" / "quic_consumer.ko"
PROC = Path("/proc/quic_consumer")
ALPNS = "smbd,nfs"


@contextmanager
def loaded_consumer() -> Iterator[Path]:
    """quic_consumer.ko loaded for the duration; yields its /proc file."""
    subprocess.run(["insmod", str(CONSUMER)], check=True)
    try:
        yield PROC
    finally:
        subprocess.run(["rmmod", "quic_consumer"], check=True)


consumer_run = consumer_command  # one command; OSError when the exchange failed


class EchoServer:
    """A userspace libquic server (it issues session tickets) answering one
    stream on each of ``connections`` connections; records the ALPN and
    whether each resumed."""

    def __init__(self, creds: Credentials, alpns: list[str], psk: bool = False,
                 host: str = "127.0.0.1", connections: int = 1) -> None:
        kw = {"cert_file": None, "key_file": creds.psk} if psk else {
            "cert_file": creds.cert, "key_file": creds.key}
        self.listener = QuicListener(host, 0, alpns=alpns, **kw)
        self.port = self.listener.address[1]
        self.received: list[bytes] = []
        self.alpn: list[str | None] = []
        self.resumed: list[bool] = []
        self.error: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, args=(connections,), daemon=True)
        self.thread.start()

    def _run(self, connections: int) -> None:
        try:
            for _ in range(connections):
                with self.listener.accept(timeout=WAIT) as conn:
                    self.alpn.append(conn.handshake.alpn)
                    self.resumed.append(conn.handshake.session_resumed)
                    stream = conn.accept_stream(timeout=WAIT)
                    data = stream.read_all(timeout=WAIT)
                    self.received.append(data)
                    stream.write(b"echo: " + data, fin=True)
                    # close() drops unsent data: let the kernel client close first
                    with contextlib.suppress(ConnectionError):
                        conn.accept_stream(timeout=WAIT)
        except BaseException as exc:  # checked by the test
            self.error.append(exc)

    def join(self) -> None:
        self.thread.join(WAIT * 2)
        self.listener.close()
        assert not self.thread.is_alive(), "the userspace server hung"


def kernel_server(consumer: Path, port: int, host: str = "127.0.0.1", auth: str = "x509"
                  ) -> tuple[threading.Thread, list[dict[str, str] | BaseException]]:
    """The kernel consumer serving one connection on host:port (``auth``
    x509, or psk with no key given: key serial 0), in a thread; the list
    gets its outcome."""
    outcome: list[dict[str, str] | BaseException] = []

    def kernel_side() -> None:
        try:
            outcome.append(consumer_run(consumer, f"server {host} {port} {ALPNS} - {auth} 0"))
        except BaseException as exc:  # checked by the caller
            outcome.append(exc)

    thread = threading.Thread(target=kernel_side, daemon=True)
    thread.start()
    return thread, outcome
