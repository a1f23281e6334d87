"""A listener of the harness, in a process of its own: it binds and listens
as its spec says, reports that, then accepts, handshakes and answers each
connection in a thread, reporting each accept and handshake.

A listener without an ALPN list takes any ALPN: it reads the ClientHello
first and offers the client's own list back, so the client's first choice
is negotiated (libquic's client insists on an ALPN when it offered some).
"""

from __future__ import annotations

import contextlib
import errno
import select
import socket
import threading
import time
from collections import deque
from typing import Any, Protocol

from libquic import sockopt
from libquic.cmsg import ANCBUF_SIZE, parse_cmsgs
from libquic.connection import QuicConnection
from libquic.handshake import HandshakeSession, quic_handshake
from libquic.tls.messages import ClientHello, ExtensionType, decode_alpn, split_message
from libquic.tools.alpnroute.events import ListenerEvent
from libquic.tools.alpnroute.spec import ListenerSpec, Trust
from libquic.tools.alpnroute.wire import answer_client
from libquic.uapi import MSG_DONTWAIT, QUIC_CRYPTO_INITIAL, quic_socket

__all__ = [
    "EventSink",
    "ReplaySocket",
    "StopFlag",
    "describe",
    "listener_main",
    "offered_alpns",
    "open_listener",
    "serve_connection",
]

BACKLOG = 64
POLL_MS = 100
RECV_SIZE = 65536


class EventSink(Protocol):
    def put(self, event: ListenerEvent) -> None: ...


class StopFlag(Protocol):
    def is_set(self) -> bool: ...


def describe(exc: BaseException) -> str:
    """One line for an exception: its class and message."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def open_listener(spec: ListenerSpec, port: int, backlog: int = BACKLOG) -> socket.socket:
    """bind() and listen() as ``spec`` says; OSError as the kernel refuses."""
    family = socket.AF_INET6 if spec.ip.version == 6 else socket.AF_INET
    sock = quic_socket(family)
    try:
        if spec.reuseport:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(spec.v6only))
        if spec.alpns:
            sockopt.set_alpn(sock, list(spec.alpns))
        sock.bind((spec.address, port))
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


class ReplaySocket:
    """A socket whose first ``recvmsg`` results are ones read before."""

    def __init__(self, sock: socket.socket, replies: list[Any]) -> None:
        self._sock = sock
        self._replies = deque(replies)

    def recvmsg(self, *args: Any) -> Any:
        return self._replies.popleft() if self._replies else self._sock.recvmsg(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def offered_alpns(sock: socket.socket, timeout: float) -> tuple[ReplaySocket, list[str]]:
    """Read the client's ClientHello from an accepted socket: the ALPNs it
    offers, and the socket with what was read put back for the handshake."""
    deadline = time.monotonic() + timeout
    replies: list[Any] = []
    buf = bytearray()
    while (msg := split_message(buf)) is None:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            raise TimeoutError("no ClientHello")
        try:
            reply = sock.recvmsg(RECV_SIZE, ANCBUF_SIZE, MSG_DONTWAIT)
        except BlockingIOError:
            continue
        replies.append(reply)
        data, ancdata = reply[0], reply[1]
        if parse_cmsgs(ancdata).handshake_level != QUIC_CRYPTO_INITIAL or not data:
            raise ConnectionError("the connection ended before its ClientHello")
        buf += data
    ext = ClientHello.decode(msg[1]).extensions.get(
        ExtensionType.application_layer_protocol_negotiation)
    names = decode_alpn(ext) if ext is not None else []
    return ReplaySocket(sock, replies), [n.decode(errors="replace") for n in names]


def serve_connection(conn: socket.socket, peer_port: int, spec: ListenerSpec, trust: Trust,
                     timeout: float, events: EventSink) -> None:
    """Handshake with one accepted client, report it, answer it."""
    with conn:
        try:
            conn.settimeout(timeout)
            sock: Any = conn
            alpns = None  # the listener's, from the socket
            if not spec.alpns:
                sock, alpns = offered_alpns(conn, timeout)
            result = quic_handshake(HandshakeSession(
                sock=sock, is_server=True, alpns=alpns, cert_file=trust.cert,
                key_file=trust.key, session_tickets=False, timeout=timeout))
        except Exception as exc:
            events.put(ListenerEvent(spec.name, "handshake", peer_port=peer_port, ok=False,
                                     error=describe(exc)))
            return
        events.put(ListenerEvent(spec.name, "handshake", peer_port=peer_port,
                                 alpn=result.alpn))
        with contextlib.suppress(Exception):  # the client reports a failed exchange
            answer_client(QuicConnection(conn, result), spec.name, timeout)


def listener_main(spec: ListenerSpec, port: int, trust: Trust, timeout: float,
                  events: EventSink, stop: StopFlag) -> None:
    """The listener's life: report the listen() result, then serve until
    ``stop`` is set (a ``hold`` listener never accepts)."""
    try:
        lsk = open_listener(spec, port)
    except OSError as exc:
        events.put(ListenerEvent(spec.name, "listen", errno=exc.errno or errno.EIO,
                                 error=describe(exc)))
        return
    events.put(ListenerEvent(spec.name, "listen"))
    with lsk:
        lsk.setblocking(False)
        poller = select.poll()
        if not spec.hold:
            poller.register(lsk, select.POLLIN)
        while not stop.is_set():
            if not poller.poll(POLL_MS):  # with nothing registered: a sleep
                continue
            try:
                conn, peer = lsk.accept()
            except BlockingIOError:
                continue
            events.put(ListenerEvent(spec.name, "accepted", peer_port=peer[1]))
            threading.Thread(target=serve_connection, daemon=True,
                             args=(conn, peer[1], spec, trust, timeout, events)).start()
