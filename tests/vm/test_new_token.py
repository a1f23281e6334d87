"""A server sends NEW_TOKEN on request (QUIC_SOCKOPT_TOKEN set with no
value, RFC 9000 8.1.3), as the reference's functional test asks for it:
the client raises QUIC_EVENT_NEW_TOKEN with the token and returns it from
getsockopt(QUIC_SOCKOPT_TOKEN)."""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Callable

import pytest

from kquictest.netns import Netem, netem
from kquictest.quicpair import Credentials, Pair, listener, psk_handshake
from kquictest.streampair import drain_events, events_on
from libquic import sockopt
from libquic.uapi import QuicEventType

pytestmark = pytest.mark.timeout(120)


def connect(creds: Credentials,
            accepted_setup: Callable[[socket.socket], None] | None = None) -> Pair:
    with listener(socket.AF_INET, ["t"]) as lsk:
        return psk_handshake(lsk, creds, client_alpns=["t"], accepted_setup=accepted_setup,
                         client_setup=events_on(QuicEventType.NEW_TOKEN))


def new_token(sk: socket.socket) -> bytes:
    events = drain_events(sk, QuicEventType.NEW_TOKEN)
    return bytes(next(e.payload for e in events if e.type == QuicEventType.NEW_TOKEN))


def test_server_sends_new_token_on_request(creds: Credentials) -> None:
    with connect(creds) as p:
        assert sockopt.get_token(p.client) == b""
        sockopt.set_token(p.server, None)
        tok = new_token(p.client)
        # sealed: nonce, the address and time, the tag; within the 120 bytes
        assert 40 <= len(tok) <= 120
        assert sockopt.get_token(p.client) == tok
        # once acknowledged, another one (a fresh nonce) may be sent
        for _ in range(50):
            try:
                sockopt.set_token(p.server, None)
                break
            except OSError as exc:
                assert exc.errno == errno.EAGAIN
                time.sleep(0.05)
        tok2 = new_token(p.client)
        assert tok2 != tok and len(tok2) == len(tok)
        assert sockopt.get_token(p.client) == tok2
        # a client may not set an empty token (the reference refuses it too)
        with pytest.raises(OSError) as e:
            sockopt.set_token(p.client, b"")
        assert e.value.errno == errno.EINVAL
        assert sockopt.get_token(p.client) == tok2
        # a server has no token to read
        with pytest.raises(OSError) as e:
            sockopt.get_token(p.server)
        assert e.value.errno == errno.EINVAL


def test_new_token_before_the_handshake_is_einval(creds: Credentials) -> None:
    errors: list[int] = []

    def accepted(c: socket.socket) -> None:
        try:
            sockopt.set_token(c, None)
        except OSError as exc:
            errors.append(exc.errno)

    with connect(creds, accepted) as p:
        assert errors == [errno.EINVAL]
        assert sockopt.get_token(p.client) == b""


def test_new_token_is_eagain_while_in_flight(creds: Credentials) -> None:
    """Nothing is acknowledged while lo drops everything: a second request
    waits for the first token's acknowledgement."""
    with connect(creds) as p:
        with netem(Netem(loss=100), "lo"):
            sockopt.set_token(p.server, None)
            with pytest.raises(OSError) as e:
                sockopt.set_token(p.server, None)
            assert e.value.errno == errno.EAGAIN
        # the lost frame is resent; the client gets it
        assert len(new_token(p.client)) >= 40
