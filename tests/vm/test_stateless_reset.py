"""Sending stateless resets (RFC 9000 10.3).

A short-header packet for a connection ID that no socket holds is
answered with a stateless reset: a short header's first bits, random
bytes, and the reset token that the namespace's key derives for that ID,
as it did when the ID was issued.  The reset is shorter than the packet
that triggered it and at least 21 bytes, and a namespace sends at most
100 a second.  A client whose server forgot the connection therefore
closes at the next packet it sends, not after an idle timeout.
"""

from __future__ import annotations

import os
import socket
import time

import pytest

from kquictest import quic_testdriver as qt
from kquictest.netns import Netem, netem
from kquictest.quicpair import WAIT, Credentials, listener, psk_handshake
from libquic import sockopt
from libquic.cmsg import quic_sendmsg
from libquic.uapi import MSG_QUIC_STREAM_NEW, QuicTransportParam

pytestmark = pytest.mark.timeout(120)


def resets_sent() -> int:
    return qt.snmp().get("QuicPktResetSent", 0)


def short_packet(dcid: bytes, size: int) -> bytes:
    return bytes([0x40 | (os.urandom(1)[0] & 0x3F)]) + dcid + os.urandom(size - 1 - len(dcid))


def ask(u: socket.socket, port: int, pkt: bytes, wait: float = 2) -> bytes | None:
    u.sendto(pkt, ("127.0.0.1", port))
    u.settimeout(wait)
    try:
        return u.recv(2048)
    except TimeoutError:
        return None


def test_reset_format_size_and_token() -> None:
    with listener(socket.AF_INET) as lsk, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        port = lsk.getsockname()[1]
        u.bind(("127.0.0.1", 0))
        before = resets_sent()
        dcid = os.urandom(8)
        r1 = ask(u, port, short_packet(dcid, 100))
        r2 = ask(u, port, short_packet(dcid, 40))
        r3 = ask(u, port, short_packet(os.urandom(8), 100))
        r1b = ask(u, port, short_packet(dcid, 100))
        assert r1 is not None and r2 is not None and r3 is not None and r1b is not None
        assert len(r1) == 64, "capped at 64 bytes"
        assert len(r2) == 39, "shorter than the packet that triggered it"
        for r in (r1, r2, r3):
            assert r[0] & 0xC0 == 0x40, "looks like a short-header packet"
        assert r1[-16:] == r2[-16:], "the token belongs to the connection ID"
        assert r1[-16:] != r3[-16:]
        assert r1b[-16:] == r1[-16:] and r1b[1:-16] != r1[1:-16], "the rest is random"
        # 22 bytes is the least that gets a (21-byte) reset, 21 gets none
        r4 = ask(u, port, short_packet(dcid, 22))
        assert r4 is not None and len(r4) == 21 and r4[-16:] == r1[-16:]
        assert ask(u, port, short_packet(dcid, 21), wait=1) is None
        assert resets_sent() == before + 5


def test_resets_are_rate_limited() -> None:
    with listener(socket.AF_INET) as lsk, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        port = lsk.getsockname()[1]
        u.bind(("127.0.0.1", 0))
        time.sleep(1.1)  # a fresh second
        before = resets_sent()
        start = time.monotonic()
        for _ in range(300):
            u.sendto(short_packet(os.urandom(8), 60), ("127.0.0.1", port))
        elapsed = time.monotonic() - start
        got = len(qt.udp_recv_all(u, quiet=0.5, total=5))
        sent = resets_sent() - before
        assert got == sent
        # 100 a second, in at most two windows if the burst straddled one
        assert sent <= 100 * (2 + int(elapsed)), sent
        assert sent >= 50, sent


def test_client_closes_when_the_server_forgot_the_connection(creds: Credentials) -> None:
    """The server's connection goes while its CONNECTION_CLOSE is lost (a
    blackhole on lo); its listener keeps the port.  The client's next
    packet draws a reset, with the token the server's transport parameters
    gave for its connection ID, and the client closes at once with
    ECONNRESET instead of waiting 30 s for its idle timeout."""
    def with_reset_token(lsk: socket.socket) -> None:
        tp = QuicTransportParam()
        tp.stateless_reset = 1
        sockopt.set_transport_param(lsk, tp)

    with listener(socket.AF_INET, ["r"], setup=with_reset_token) as lsk:
        p = psk_handshake(lsk, creds, client_alpns=["r"])
        try:
            with netem(Netem(loss=100)):
                p.server.close()
                time.sleep(0.5)
            before = resets_sent()
            start = time.monotonic()
            quic_sendmsg(p.client, b"anyone there?", 0, MSG_QUIC_STREAM_NEW)
            p.client.settimeout(WAIT)
            with pytest.raises(ConnectionResetError):
                while True:
                    p.client.recv(100)
            assert time.monotonic() - start < 5, "closed by the reset, not a timeout"
            assert resets_sent() > before
        finally:
            p.client.close()
