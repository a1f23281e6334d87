"""Client drivers: one client's connection attempt, whatever implements
it.  A driver is called with the client's spec, the address and port to
go to, the certificate to trust and a timeout, and returns a
:class:`ClientResult`; it never raises for a failed handshake.

:func:`libquic_client` is the kernel's own client, driven by libquic; the
tests add aioquic's and ngtcp2's.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from libquic import sockopt
from libquic.connection import QuicConnection, family_for
from libquic.handshake import quic_client_handshake
from libquic.tls.groups import HAVE_MLKEM, Group
from libquic.tools.alpnroute.check import ClientResult
from libquic.tools.alpnroute.serve import describe
from libquic.tools.alpnroute.spec import ClientSpec, SpecError, Trust
from libquic.tools.alpnroute.wire import ask_listener
from libquic.uapi import quic_socket

__all__ = ["SPLIT_KEY_SHARES", "ClientDriver", "libquic_client"]

ClientDriver = Callable[[ClientSpec, tuple[str, int], Trust, float], ClientResult]

# A hybrid post-quantum key share (1,216 bytes) next to X25519 makes the
# ClientHello larger than one Initial packet holds; the ALPN extension,
# after key_share, then arrives in the second.
SPLIT_KEY_SHARES = (Group.X25519MLKEM768, Group.x25519)


def libquic_client(spec: ClientSpec, target: tuple[str, int], trust: Trust,
                   timeout: float) -> ClientResult:
    """A kernel QUIC client with libquic's handshake."""
    if spec.split and not HAVE_MLKEM:
        raise SpecError(f"client {spec.name}: a split ClientHello needs ML-KEM, which this "
                        f"cryptography lacks")
    res = ClientResult()
    host, port = target
    with quic_socket(family_for(host)) as sock:
        try:
            sock.settimeout(timeout)
            if spec.alpns:
                sockopt.set_alpn(sock, list(spec.alpns))
            start = time.monotonic()
            sock.connect((host, port))
            res.local_port = sock.getsockname()[1]
            extra = {"key_share_groups": SPLIT_KEY_SHARES} if spec.split else {}
            hs = quic_client_handshake(sock, hostname=trust.hostname, cafile=trust.ca,
                                       timeout=timeout, **extra)
            res.seconds = time.monotonic() - start
            res.handshake, res.alpn = True, hs.alpn
            if spec.exchange:
                res.reply_from = ask_listener(QuicConnection(sock, hs), spec.name,
                                              trust.hostname, timeout)
                if res.reply_from is None:
                    res.error = "the answer named no listener"
        except Exception as exc:
            res.error = describe(exc)
    return res
