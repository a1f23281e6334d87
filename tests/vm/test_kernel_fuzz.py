"""Malformed, truncated and random datagrams: the kernel must survive them
(no Oops, leak or hang; vm-run checks dmesg) and keep serving."""

from __future__ import annotations

import os
import socket
import time

import pytest

from kquictest import quic_testdriver as qt
from kquictest.hostile import PACKETS, mutations, random_headers, rng, send_all


def test_fuzz_listener_then_handshake():
    r = rng()
    lsk = qt.quic_socket(socket.AF_INET)
    lsk.bind(("127.0.0.1", 0))
    lsk.listen(8)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        dcid, scid = os.urandom(8), os.urandom(8)
        hello = qt.msg(b"CH")
        valid = qt.build_initial(
            dcid,
            scid,
            0,
            b"\x06\x00" + qt.varint(len(hello)) + hello,
            qt.initial_keys(dcid, server=False),
        )
        n = max(PACKETS // 8, 400)
        sent = send_all(u, lsk.getsockname(), mutations(r, valid, n))
        sent += send_all(u, lsk.getsockname(), random_headers(r, dcid, n))
        assert sent > 1.75 * n
        # junk never becomes a connection; a real one still does
        lsk.settimeout(1)
        junk = 0
        while qt.wait_readable(lsk, 0.5):
            try:
                a, _ = lsk.accept()
            except (TimeoutError, BlockingIOError):
                break
            junk += 1
            a.close()
        assert junk <= 1  # only an intact copy of `valid` could be accepted
        _, c, s = qt.connect_pair(listener=lsk)
        for x in (c, s):
            x.close()
    finally:
        lsk.close()
        u.close()


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_fuzz_handshaking_connection_frames():
    """Well-protected Initials with random frame bytes: dropped or closed
    with a transport error, never anything worse."""
    r = rng()
    for i in range(25):
        lsk = qt.quic_socket(socket.AF_INET)
        lsk.bind(("127.0.0.1", 0))
        lsk.listen(4)
        lsk.settimeout(10)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            dcid, scid = os.urandom(8), os.urandom(8)
            keys = qt.initial_keys(dcid, server=False)
            hello = qt.msg(b"CH")
            u.sendto(
                qt.build_initial(dcid, scid, 0, b"\x06\x00" + qt.varint(len(hello)) + hello, keys),
                lsk.getsockname(),
            )
            s, _ = lsk.accept()
            for pn in range(1, 6):
                frames = bytes(r.randrange(256) for _ in range(r.randrange(1, 60)))
                if i % 3 == 0:  # keep to the frame types allowed in Initials
                    frames = bytes([r.choice([0x01, 0x02, 0x03, 0x06, 0x1C])]) + frames
                u.sendto(qt.build_initial(dcid, scid, pn, frames, keys), lsk.getsockname())
            time.sleep(0.05)
            assert qt.state_of(s) in ("ESTABLISHING", "CLOSED")
            s.close()
        finally:
            lsk.close()
            u.close()


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_fuzz_established_connection_survives():
    r = rng()
    lsk, c, s = qt.connect_pair()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        qt.wait_for(lambda: qt.state_of(s) == "ESTABLISHED", 5, "ESTABLISHED")
        f = qt.eps_row(s)
        server_cid = bytes.fromhex(f["SCID"])
        client_cid = bytes.fromhex(f["DCID"])
        assert len(server_cid) == 8 and len(client_cid) == 8
        for cid, dst in ((server_cid, s.getsockname()), (client_cid, c.getsockname())):
            n = max(PACKETS // 6, 500)
            sent = send_all(u, dst, random_headers(r, cid, n))
            assert sent > 0.8 * n
        time.sleep(0.3)
        assert qt.state_of(s) == "ESTABLISHED" and qt.state_of(c) == "ESTABLISHED"
        # the connection still carries data both ways: a ticket (APP CRYPTO)
        qt.hs_send(s, qt.QUIC_CRYPTO_APP, b"still-alive")
        qt.wait_for(
            lambda: (
                c.getsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_SESSION_TICKET, 1024) == b"still-alive"
            ),
            5,
            "ticket after the fuzzing",
        )
        qt.set_close_info(c, 99, b"done")
        c.close()
        s.settimeout(10)
        assert s.recv(10) == b""
        assert qt.close_info(s)[:1] == (99,)
    finally:
        u.close()
        s.close()
        lsk.close()
