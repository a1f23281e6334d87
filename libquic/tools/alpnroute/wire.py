"""What a client and a listener say after the handshake, so that the client
learns which listener took it.

The client sends ``hello from CLIENT`` on a stream and the listener answers
``LISTENER got: hello from CLIENT`` (the kernel consumer answers ``kernel
got: ...`` the same way).  When "h3" was negotiated the client asks
``GET /`` over HTTP/3 instead and the body is the listener's name, which is
what HTTP/3 clients of other implementations (ngtcp2's) can ask too.
"""

from __future__ import annotations

import contextlib

from libquic.connection import QuicConnection

__all__ = [
    "H3_ALPN",
    "KERNEL_CONSUMER",
    "answer_client",
    "answered_by",
    "ask_listener",
    "client_of",
    "hello",
]

H3_ALPN = "h3"
KERNEL_CONSUMER = "kernel"  # the name the kernel consumer answers with
_HELLO = "hello from "
_GOT = " got: "


def hello(client: str) -> bytes:
    return (_HELLO + client).encode()


def client_of(message: str) -> str | None:
    """The client's name in its ``hello from NAME`` message."""
    return message[len(_HELLO):] if message.startswith(_HELLO) else None


def answered_by(reply: bytes) -> str | None:
    """The listener's name in its answer to a hello."""
    name, sep, _ = reply.decode(errors="replace").partition(_GOT)
    return name if sep else None


def ask_listener(conn: QuicConnection, client: str, authority: str,
                 timeout: float) -> str | None:
    """Client side: the name of the listener at the other end."""
    if conn.handshake.alpn == H3_ALPN:
        from libquic.h3 import H3Connection  # the h3 extra

        resp = H3Connection(conn).get(authority, "/", timeout=timeout)
        return resp.body.decode(errors="replace") if resp.status == 200 else None
    stream = conn.open_stream()
    stream.write(hello(client), fin=True)
    return answered_by(stream.read_all(timeout=timeout))


def answer_client(conn: QuicConnection, listener: str, timeout: float) -> None:
    """Listener side: answer the client's question, then wait for it to
    close (closing first would drop the answer); a client that asks nothing
    and closes is fine too."""
    if conn.handshake.alpn == H3_ALPN:
        from libquic.h3 import H3Connection, response

        H3Connection(conn).serve(lambda _req: response(200, listener.encode()), timeout=timeout)
        return
    with contextlib.suppress(ConnectionError):
        stream = conn.accept_stream(timeout=timeout)
        message = stream.read_all(timeout=timeout)
        stream.write(listener.encode() + _GOT.encode() + message, fin=True)
        conn.accept_stream(timeout=timeout)  # returns when the client closes
