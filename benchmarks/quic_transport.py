"""The QUIC transport for the benchmark: kernel QUIC with a real handshake.

One bidirectional stream carries the bulk data or the requests, as one TCP
connection does for the other transports.  The handshake (certificate
verified against a throw-away CA) is not part of any measurement.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from benchmarks.paths import LOOPBACK, VETH_SERVER, NetPath
from benchmarks.transports import CONNECT_TIMEOUT, Pair
from libquic.cmsg import quic_recvmsg_into, quic_sendmsg
from libquic.connection import QuicConnection, QuicListener
from libquic.tools.certgen import CertFiles, write_test_pki
from libquic.uapi import QuicConfig, QuicMsgFlag

ALPN = "bench"
SERVER_NAME = "localhost"  # what clients check the certificate for


def bench_pki() -> CertFiles:
    """A throw-away CA and a server certificate for every benchmark path."""
    return write_test_pki(Path(tempfile.mkdtemp(prefix="bench-")),
                          [SERVER_NAME, LOOPBACK, VETH_SERVER])


class QuicStreamEndpoint:
    """One side of a QUIC stream as a benchmark endpoint.

    Sends are plain ``sendall()`` calls once the stream is the socket's
    latest one (opened here, or last read here): the kernel then takes
    the stream from the socket, as a TCP sender's write needs no
    per-call metadata, so the comparison with kTLS measures the kernels
    rather than building a stream cmsg in Python per message.
    """

    def __init__(self, conn: QuicConnection, stream_id: int, latest: bool) -> None:
        self.conn = conn
        self.sock = conn.sock
        self.sid = stream_id
        self._latest = latest
        self._fin = False

    def send(self, data: memoryview) -> None:
        if self._latest:
            self.sock.sendall(data)
            return
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
            if msg.stream_id == self.sid:
                self._latest = True  # a write now answers on this stream
            if msg.data or msg.fin:
                return len(msg.data)

    def close(self) -> None:
        self.conn.close()


def quic_pair(pki: CertFiles, path: NetPath, config: QuicConfig | None = None) -> Pair:
    """A kernel QUIC connection across ``path`` with one open bidirectional
    stream; ``config`` (e.g. the congestion control) on both ends."""
    accepted: list[QuicConnection | BaseException] = []
    with path.in_server(lambda: QuicListener(path.server_addr, 0, alpns=[ALPN],
                                             cert_file=str(pki.cert),
                                             key_file=str(pki.key),
                                             config=config)) as lsk:
        def serve() -> None:
            try:
                accepted.append(lsk.accept(CONNECT_TIMEOUT))
            except BaseException as exc:  # reported below
                accepted.append(exc)

        thread = threading.Thread(target=serve)
        thread.start()
        port = lsk.address[1]
        cli = path.in_client(lambda: QuicConnection.connect(
            path.server_addr, port, alpns=[ALPN], hostname=SERVER_NAME, cafile=str(pki.ca),
            config=config, timeout=CONNECT_TIMEOUT))
        thread.join(CONNECT_TIMEOUT)
    if not accepted or not isinstance(accepted[0], QuicConnection):
        cli.close()
        raise RuntimeError(f"QUIC server handshake failed: {accepted!r}")
    srv = accepted[0]
    for c in (cli, srv):
        c.sock.settimeout(None)
    stream = cli.open_stream()
    return (QuicStreamEndpoint(cli, stream.id, latest=True),
            QuicStreamEndpoint(srv, stream.id, latest=False))
