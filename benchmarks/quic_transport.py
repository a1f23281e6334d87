"""The QUIC transport of the benchmark: kernel QUIC sockets on loopback.

A PSK handshake (AES-128-GCM, as kTLS uses) connects each pair; bulk data
goes on one bidirectional stream with plain send()/recv() (the latest
stream), and the sender ends it with a FIN, which the receiver sees as
MSG_EOR.  stream_data_nodelay is set on both ends, as TCP_NODELAY is for
the TCP transports.
"""

from __future__ import annotations

import os
import socket
import tempfile
from concurrent.futures import ThreadPoolExecutor

from benchmarks.bench import Transport
from benchmarks.transports import CONNECT_TIMEOUT, Pair
from libquic import sockopt
from libquic.cmsg import quic_sendmsg
from libquic.handshake import quic_client_handshake, quic_server_handshake
from libquic.uapi import MSG_QUIC_STREAM_FIN, QuicConfig, quic_socket

_PSK = os.path.join(tempfile.mkdtemp(prefix="quic-bench-"), "psk")
with open(_PSK, "w") as f:
    f.write("bench:" + os.urandom(32).hex() + "\n")


def quic_pair() -> Pair:
    cfg = QuicConfig(stream_data_nodelay=1)
    lsk = quic_socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sockopt.set_alpn(lsk, ["bench"])
        sockopt.set_config(lsk, cfg)
        lsk.bind(("127.0.0.1", 0))
        lsk.listen(1)
        lsk.settimeout(CONNECT_TIMEOUT)
        cli = quic_socket(socket.AF_INET, socket.SOCK_STREAM)
        sockopt.set_alpn(cli, ["bench"])
        sockopt.set_config(cli, cfg)
        cli.settimeout(CONNECT_TIMEOUT)
        cli.connect(lsk.getsockname())

        def serve() -> socket.socket:
            conn, _ = lsk.accept()
            conn.settimeout(CONNECT_TIMEOUT)
            quic_server_handshake(conn, timeout=CONNECT_TIMEOUT, pkey_file=_PSK,
                                  cert_file=None)
            return conn

        with ThreadPoolExecutor(1) as ex:
            fut = ex.submit(serve)
            quic_client_handshake(cli, timeout=CONNECT_TIMEOUT, pkey_file=_PSK)
            srv = fut.result(timeout=CONNECT_TIMEOUT * 2)
    finally:
        lsk.close()
    for s in (cli, srv):
        s.settimeout(None)
    return cli, srv


def _send(s: socket.socket, buf: memoryview) -> int:
    s.sendall(buf)
    return len(buf)


def _finish(s: socket.socket) -> None:
    quic_sendmsg(s, b"", -1, MSG_QUIC_STREAM_FIN)


_ended: set[int] = set()


def _recv_into(s: socket.socket, buf: memoryview) -> int:
    if s.fileno() in _ended:
        return 0
    n, _anc, flags, _addr = s.recvmsg_into([buf])
    if flags & socket.MSG_EOR:
        _ended.add(s.fileno())
    return n


QUIC = Transport("QUIC", quic_pair, _send, _finish, _recv_into)
