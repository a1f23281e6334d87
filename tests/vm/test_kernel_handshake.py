"""Connection establishment with the test-only handshake driver.

Runs inside the VM with quic.ko loaded (scripts/vm-run).  The driver
exchanges opaque bytes at the TLS levels and installs fixed secrets, so
these tests check the kernel side alone: packets, keys, state machine.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import time

import pytest

from kquictest import quic_testdriver as qt

FAMILIES = [socket.AF_INET, socket.AF_INET6]
TYPES = [socket.SOCK_STREAM, socket.SOCK_DGRAM]


def closeall(*socks: socket.socket) -> None:
    for s in socks:
        s.close()


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
@pytest.mark.parametrize("family", FAMILIES, ids=["ipv4", "ipv6"])
@pytest.mark.parametrize("type_", TYPES, ids=["stream", "dgram"])
def test_handshake_established(family, type_):
    before = qt.snmp()
    lsk, c, s = qt.connect_pair(family, type_)
    try:
        qt.wait_for(
            lambda: qt.state_of(c) == "ESTABLISHED" and qt.state_of(s) == "ESTABLISHED",
            5,
            "both ends ESTABLISHED",
        )
        assert qt.state_of(lsk) == "LISTENING"
        after = qt.snmp()
        assert after["QuicConnActiveEstabs"] > before["QuicConnActiveEstabs"]
        assert after["QuicConnPassiveEstabs"] > before["QuicConnPassiveEstabs"]
        assert after["QuicConnCurrentEstabs"] >= before["QuicConnCurrentEstabs"] + 2
        # addresses on both ends
        assert c.getpeername()[1] == lsk.getsockname()[1]
        assert s.getsockname()[1] == lsk.getsockname()[1]
        assert s.getpeername()[1] == c.getsockname()[1]
        # a server socket cannot read a token; a client can
        qt.expect_errno(lambda: s.getsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_TOKEN, 120), errno.EINVAL)
        c.getsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_TOKEN, 120)
    finally:
        closeall(c, s, lsk)


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
@pytest.mark.parametrize(
    "cipher", [qt.TLS_CIPHER_AES_GCM_256, qt.TLS_CIPHER_CHACHA20_POLY1305], ids=["aes256", "chacha"]
)
def test_handshake_other_ciphers(cipher):
    lsk, c, s = qt.connect_pair(cipher=cipher)
    try:
        qt.wait_for(lambda: qt.state_of(s) == "ESTABLISHED", 5, "server ESTABLISHED")
    finally:
        closeall(c, s, lsk)


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_handshake_quic_v2():
    def v2(s):
        cfg = struct.pack("<IIIIBBBBB3xI", 0x6B3343CF, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        s.setsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_CONFIG, cfg)

    lsk, c, s = qt.connect_pair(client_setup=v2)
    try:
        qt.wait_for(lambda: qt.state_of(s) == "ESTABLISHED", 5, "v2 ESTABLISHED")
        # the accepted socket speaks the client's version
        got = struct.unpack("<I", s.getsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_CONFIG, 4))[0]
        assert got == 0x6B3343CF
    finally:
        closeall(c, s, lsk)


def test_transport_params_exchanged():
    def srv(s):
        qt.set_tp(s, max_idle_timeout=45_000_000, max_streams_bidi=7)

    def cli(s):
        qt.set_tp(s, max_ack_delay=30_000, active_connection_id_limit=3)

    lsk, c, s = qt.connect_pair(client_setup=cli, server_setup=srv)
    try:
        rc = qt.get_tp(c, remote=True)
        assert rc.remote == 1
        assert rc.max_idle_timeout == 45_000_000 and rc.max_streams_bidi == 7
        rs = qt.get_tp(s, remote=True)
        assert rs.max_ack_delay == 30_000 and rs.active_connection_id_limit == 3
        # local values cannot change once established
        qt.expect_errno(lambda: qt.set_tp(c, max_idle_timeout=2_000_000), errno.EINVAL)
    finally:
        closeall(c, s, lsk)


def test_large_flights_multi_packet():
    # a ClientHello over several Initial packets, a server flight over many
    lsk, c, s = qt.connect_pair(ch_size=3000, ee_size=9000)
    closeall(c, s, lsk)


def test_handshake_sockopt_rules():
    lsk, c, s = qt.connect_pair()
    try:
        # CRYPTO_SECRET is for the handshake phase; INITIAL is never set
        sec = struct.pack(
            "<BBHI48s", 1, qt.QUIC_CRYPTO_APP, 0, qt.TLS_CIPHER_AES_GCM_128, bytes(48)
        )
        qt.expect_errno(
            lambda: c.setsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_CRYPTO_SECRET, sec), errno.EINVAL
        )
        with qt.quic_socket(socket.AF_INET) as x:
            x.connect(("127.0.0.1", 9))
            bad = struct.pack(
                "<BBHI48s", 1, qt.QUIC_CRYPTO_INITIAL, 0, qt.TLS_CIPHER_AES_GCM_128, bytes(48)
            )
            qt.expect_errno(
                lambda: x.setsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_CRYPTO_SECRET, bad),
                errno.EINVAL,
            )
            badc = struct.pack("<BBHI48s", 1, qt.QUIC_CRYPTO_HANDSHAKE, 0, 99, bytes(48))
            qt.expect_errno(
                lambda: x.setsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_CRYPTO_SECRET, badc),
                errno.EINVAL,
            )
            # handshake data needs the level's send key
            qt.expect_errno(lambda: qt.hs_send(x, qt.QUIC_CRYPTO_HANDSHAKE, b"x"), errno.EINVAL)
            # unknown cmsg type at SOL_QUIC
            qt.expect_errno(lambda: x.sendmsg([b"x"], [(qt.SOL_QUIC, 7, b"\x01")]), errno.EINVAL)
            # a connected socket cannot connect or listen again
            qt.expect_errno(lambda: x.connect(("127.0.0.1", 9)), errno.EISCONN)
            qt.expect_errno(lambda: x.listen(1), errno.EINVAL)
        # key update needs ESTABLISHED; works once there
        c.setsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_KEY_UPDATE, b"")
        with qt.quic_socket(socket.AF_INET) as y:
            qt.expect_errno(
                lambda: y.setsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_KEY_UPDATE, b""), errno.EPIPE
            )
        # TRANSPORT_PARAM_EXT: a get on a listener, an oversized set
        qt.expect_errno(
            lambda: lsk.getsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_TRANSPORT_PARAM_EXT, 512),
            errno.EINVAL,
        )
        qt.expect_errno(
            lambda: lsk.setsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_ALPN, b"h3"), errno.EINVAL
        )
    finally:
        closeall(c, s, lsk)


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
@pytest.mark.parametrize("closer", ["client", "server"])
def test_close_with_error_and_phrase(closer):
    lsk, c, s = qt.connect_pair()
    try:
        a, b = (c, s) if closer == "client" else (s, c)
        b.setsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_EVENT, struct.pack("BB", 5, 1))
        qt.set_close_info(a, 0x1234, b"going away")
        a.close()
        b.settimeout(10)
        data, _, flags, _ = b.recvmsg(256)
        assert flags & qt.MSG_QUIC_NOTIFICATION, "CONNECTION_CLOSE event expected"
        assert data[0] == qt.QUIC_EVENT_CONNECTION_CLOSE
        code = struct.unpack_from("<I", data, 1)[0]
        assert code == 0x1234
        assert data[9 : 9 + 10] == b"going away"
        assert b.recv(10) == b""  # then EOF
        assert qt.close_info(b) == (0x1234, 0, b"going away")
        assert qt.state_of(b) == "CLOSED"
    finally:
        closeall(c, s, lsk)


def test_shutdown_sends_close():
    lsk, c, s = qt.connect_pair()
    try:
        qt.set_close_info(c, 7, b"shut")
        c.shutdown(socket.SHUT_RDWR)
        s.settimeout(10)
        assert s.recv(10) == b""
        assert qt.close_info(s)[0] == 7
        qt.expect_errno(lambda: qt.hs_send(c, qt.QUIC_CRYPTO_APP, b"x"), errno.EPIPE)
    finally:
        closeall(c, s, lsk)


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_close_during_handshake():
    lsk = qt.quic_socket(socket.AF_INET)
    lsk.bind(("127.0.0.1", 0))
    lsk.listen(4)
    c = qt.quic_socket(socket.AF_INET)
    c.connect(lsk.getsockname())
    try:
        qt.hs_send(c, qt.QUIC_CRYPTO_INITIAL, qt.msg(b"CH", bytes(100)))
        lsk.settimeout(10)
        s, _ = lsk.accept()
        qt.Reader(s).message(qt.QUIC_CRYPTO_INITIAL, time.monotonic() + 10)
        assert qt.state_of(s) == "ESTABLISHING"
        qt.hs_send(s, qt.QUIC_CRYPTO_INITIAL, qt.msg(b"SH"))
        qt.Reader(c).message(qt.QUIC_CRYPTO_INITIAL, time.monotonic() + 10)
        c.close()
        s.settimeout(10)
        assert s.recv(10) == b""
        # before 1-RTT keys an application close is sent as APPLICATION_ERROR
        assert qt.close_info(s)[0] == 0x0C
        s.close()
    finally:
        closeall(c, lsk)


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_idle_timeout():
    def short(s):
        qt.set_tp(s, max_idle_timeout=1_000_000)

    before = qt.snmp()["QuicConnIdleTimeouts"]
    lsk, c, s = qt.connect_pair(client_setup=short, server_setup=short)
    try:
        t0 = time.monotonic()
        c.settimeout(15)
        qt.expect_errno(lambda: c.recv(10), errno.ETIMEDOUT)
        assert time.monotonic() - t0 < 10
        s.settimeout(15)
        qt.expect_errno(lambda: s.recv(10), errno.ETIMEDOUT)
        assert qt.state_of(c) == "CLOSED"
        assert qt.snmp()["QuicConnIdleTimeouts"] >= before + 2
    finally:
        closeall(c, s, lsk)


def test_session_ticket_app_level_crypto():
    """APP-level CRYPTO data (a NewSessionTicket) lands in the ticket buffer."""
    lsk, c, s = qt.connect_pair()
    try:
        assert c.getsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_SESSION_TICKET, 1024) == b""
        qt.hs_send(s, qt.QUIC_CRYPTO_APP, b"ticket-bytes")
        qt.wait_for(
            lambda: (
                c.getsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_SESSION_TICKET, 1024) == b"ticket-bytes"
            ),
            5,
            "ticket delivered",
        )
    finally:
        closeall(c, s, lsk)


def test_reuseport_and_multiple_listeners():
    a = qt.quic_socket(socket.AF_INET)
    b = qt.quic_socket(socket.AF_INET)
    x = qt.quic_socket(socket.AF_INET)
    try:
        for s in (a, b):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        a.bind(("127.0.0.1", 0))
        port = a.getsockname()[1]
        b.bind(("127.0.0.1", port))
        a.listen(8)
        b.listen(8)
        # a third listener without SO_REUSEPORT and no ALPN conflicts
        x.bind(("127.0.0.1", port))
        qt.expect_errno(lambda: x.listen(1), errno.EADDRINUSE)
        # ... but one with a disjoint ALPN set is fine
        y = qt.quic_socket(socket.AF_INET)
        z = qt.quic_socket(socket.AF_INET)
        y.setsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_ALPN, b"smb")
        z.setsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_ALPN, b"h3,smb")
        p2 = qt.quic_socket(socket.AF_INET)
        p2.setsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_ALPN, b"h3")
        p2.bind(("127.0.0.1", 0))
        p2.listen(1)
        y.bind(p2.getsockname())
        y.listen(1)
        z.bind(p2.getsockname())
        qt.expect_errno(lambda: z.listen(1), errno.EADDRINUSE)
        closeall(y, z, p2)

        # connections are spread over the reuseport group; all complete
        got = {a: 0, b: 0}
        clients = []
        for _ in range(6):
            c = qt.quic_socket(socket.AF_INET)
            c.connect(("127.0.0.1", port))
            qt.hs_send(c, qt.QUIC_CRYPTO_INITIAL, qt.msg(b"CH"))
            clients.append(c)
        deadline = time.monotonic() + 20
        accepted = []
        while len(accepted) < 6 and time.monotonic() < deadline:
            for lsk in (a, b):
                if qt.wait_readable(lsk, 0.05):
                    lsk.settimeout(1)
                    acc, _ = lsk.accept()
                    got[lsk] += 1
                    accepted.append(acc)
        assert len(accepted) == 6, got
        for acc in accepted:
            assert qt.Reader(acc).message(qt.QUIC_CRYPTO_INITIAL, time.monotonic() + 10)[0] == b"CH"
        closeall(*clients, *accepted)
    finally:
        closeall(a, b, x)


def test_accept_nonblocking_and_timeout():
    lsk = qt.quic_socket(socket.AF_INET)
    try:
        lsk.bind(("127.0.0.1", 0))
        lsk.listen(1)
        lsk.setblocking(False)
        qt.expect_errno(lsk.accept, errno.EAGAIN)
        lsk.settimeout(0.3)
        with pytest.raises(TimeoutError):
            lsk.accept()
    finally:
        lsk.close()


def test_key_update_both_directions():
    lsk, c, s = qt.connect_pair()
    try:
        for x in (c, s):
            x.setsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_EVENT, struct.pack("BB", 7, 1))
        # the client starts an update; its next 1-RTT packet shows the peer
        c.setsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_KEY_UPDATE, b"")
        qt.hs_send(c, qt.QUIC_CRYPTO_APP, b"x")
        s.settimeout(10)
        data, _, flags, _ = s.recvmsg(64)
        assert flags & qt.MSG_QUIC_NOTIFICATION and data == bytes([7, 1])
        # and the other way round, with data still flowing afterwards
        time.sleep(0.2)
        s.setsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_KEY_UPDATE, b"")
        qt.hs_send(s, qt.QUIC_CRYPTO_APP, b"after-update")
        c.settimeout(10)
        data, _, flags, _ = c.recvmsg(64)
        assert flags & qt.MSG_QUIC_NOTIFICATION and data == bytes([7, 0])
        qt.wait_for(
            lambda: (
                c.getsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_SESSION_TICKET, 1024) == b"after-update"
            ),
            5,
            "data after two key updates",
        )
    finally:
        closeall(c, s, lsk)


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_peer_closes_before_server_finishes():
    """The client completes and closes at once; the server's TLS stack is
    slower: it still finishes, then sees the close."""
    lsk = qt.quic_socket(socket.AF_INET)
    lsk.bind(("127.0.0.1", 0))
    lsk.listen(4)
    c = qt.quic_socket(socket.AF_INET)
    c.connect(lsk.getsockname())
    aes = qt.TLS_CIPHER_AES_GCM_128

    def client():
        qt.client_handshake(c)
        qt.set_close_info(c, 5, b"quick")
        c.close()

    t = qt.threading.Thread(target=client, daemon=True)
    t.start()
    lsk.settimeout(10)
    s, _ = lsk.accept()
    try:
        deadline = time.monotonic() + 20
        r = qt.Reader(s)
        _, body = r.message(qt.QUIC_CRYPTO_INITIAL, deadline)
        n = struct.unpack(">H", body[:2])[0]
        s.setsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_TRANSPORT_PARAM_EXT, body[2 : 2 + n])
        qt.hs_send(s, qt.QUIC_CRYPTO_INITIAL, qt.msg(b"SH"), more=True)
        qt.install(s, True, qt.QUIC_CRYPTO_HANDSHAKE, True, aes)
        qt.install(s, True, qt.QUIC_CRYPTO_HANDSHAKE, False, aes)
        tp = s.getsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_TRANSPORT_PARAM_EXT, 512)
        qt.hs_send(
            s, qt.QUIC_CRYPTO_HANDSHAKE, qt.msg(b"EE", struct.pack(">H", len(tp)) + tp), more=True
        )
        qt.hs_send(s, qt.QUIC_CRYPTO_HANDSHAKE, qt.msg(b"SF"))
        qt.install(s, True, qt.QUIC_CRYPTO_APP, True, aes)
        t.join(20)
        assert not t.is_alive()
        qt.wait_for(lambda: qt.state_of(s) == "CLOSED", 5, "the client's close arrived")
        assert r.message(qt.QUIC_CRYPTO_HANDSHAKE, deadline)[0] == b"CF"
        qt.install(s, True, qt.QUIC_CRYPTO_APP, False, aes)  # no error
        qt.hs_send(s, qt.QUIC_CRYPTO_APP, b"ticket")  # silently dropped
        assert s.recv(10) == b""
        # the 1-RTT close was unreadable yet: APPLICATION_ERROR from the Handshake one
        assert qt.close_info(s)[0] in (5, 0x0C)
    finally:
        s.close()
        lsk.close()


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_stateless_reset_closes_client():
    def srv(s):
        qt.set_tp(s, stateless_reset=1)

    lsk, c, s = qt.connect_pair(server_setup=srv)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        token = qt.tp_param(qt.LAST_READERS["c"].peer_tp, 0x02)
        assert token and len(token) == 16, "the server sent a stateless_reset_token"
        client_cid = bytes.fromhex(qt.eps_row(c)["SCID"])
        # wrong token: ignored
        u.sendto(bytes([0x41]) + client_cid + os.urandom(30) + bytes(16), c.getsockname())
        time.sleep(0.2)
        assert qt.state_of(c) == "ESTABLISHED"
        u.sendto(bytes([0x41]) + client_cid + os.urandom(30) + token, c.getsockname())
        c.settimeout(5)
        qt.expect_errno(lambda: c.recv(10), errno.ECONNRESET)
        assert qt.state_of(c) == "CLOSED"
    finally:
        u.close()
        closeall(c, s, lsk)
