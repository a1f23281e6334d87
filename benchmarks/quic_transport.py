"""The QUIC transport for the benchmark: kernel QUIC with a real handshake.

One bidirectional stream carries the bulk data or the requests, as one TCP
connection does for the other transports.  The handshake (certificate
verified against a throw-away CA) is not part of any measurement.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from benchmarks.transports import CONNECT_TIMEOUT, Pair
from libquic.cmsg import quic_recvmsg_into, quic_sendmsg
from libquic.connection import QuicConnection, QuicListener
from libquic.tools.certgen import write_test_pki
from libquic.uapi import QuicMsgFlag

ALPN = "bench"


class QuicStreamEndpoint:
    """One side of a QUIC stream as a benchmark endpoint."""

    def __init__(self, conn: QuicConnection, stream_id: int) -> None:
        self.conn = conn
        self.sock = conn.sock
        self.sid = stream_id
        self._fin = False

    def send(self, data: memoryview) -> None:
        while data:
            n = quic_sendmsg(self.sock, data, self.sid)
            data = data[n:]

    def finish(self) -> None:
        quic_sendmsg(self.sock, b"", self.sid, QuicMsgFlag.STREAM_FIN)

    def recv_into(self, buf: memoryview) -> int:
        if self._fin:
            return 0
        while True:
            msg = quic_recvmsg_into(self.sock, buf)
            if msg.stream_id is None and not msg.data:
                return 0  # the connection ended
            self._fin = msg.fin
            if msg.data or msg.fin:
                return len(msg.data)

    def close(self) -> None:
        self.conn.close()


def quic_pair() -> Pair:
    """A kernel QUIC connection on loopback with one open bidirectional stream."""
    pki = write_test_pki(Path(tempfile.mkdtemp(prefix="bench-")), ["localhost", "127.0.0.1"])
    accepted: list[QuicConnection | BaseException] = []
    with QuicListener("127.0.0.1", 0, alpns=[ALPN], cert_file=str(pki.cert),
                      key_file=str(pki.key)) as lsk:
        def serve() -> None:
            try:
                accepted.append(lsk.accept(CONNECT_TIMEOUT))
            except BaseException as exc:  # reported below
                accepted.append(exc)

        thread = threading.Thread(target=serve)
        thread.start()
        cli = QuicConnection.connect("127.0.0.1", lsk.address[1], alpns=[ALPN],
                                     hostname="localhost", cafile=str(pki.ca),
                                     timeout=CONNECT_TIMEOUT)
        thread.join(CONNECT_TIMEOUT)
    if not accepted or not isinstance(accepted[0], QuicConnection):
        cli.close()
        raise RuntimeError(f"QUIC server handshake failed: {accepted!r}")
    srv = accepted[0]
    for c in (cli, srv):
        c.sock.settimeout(None)
    stream = cli.open_stream()
    return QuicStreamEndpoint(cli, stream.id), QuicStreamEndpoint(srv, stream.id)
