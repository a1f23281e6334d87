"""0-RTT: stream data written before the handshake completes, on a resumed session.

The client restores the server's transport parameters (and token) from the
previous connection's session data; the kernel holds stream data written
while ESTABLISHING until the TLS stack installs the early key, then sends it
in 0-RTT packets.  A server that accepts early data hands it to the
application once the handshake is complete; one that refuses it drops the
0-RTT packets and the client sends the data again in 1-RTT.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import pathlib
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from kquictest import quic_testdriver as qt
from kquictest.quicpair import WAIT, Credentials
from kquictest.zerortt import (
    ALPN,
    ETH_P_IP,
    ZERO_RTT_V1,
    Capture,
    hash_server,
    long_packets,
    serving,
    udp_payload,
    zero_rtt_lengths,
    zrtt_listener,
)
from libquic import sockopt
from libquic.aio import AsyncQuicConnection
from libquic.cmsg import quic_sendmsg
from libquic.connection import QuicConnection, QuicListener, QuicStream, configure
from libquic.handshake import quic_client_handshake, restore_session
from libquic.tls import SessionData
from libquic.uapi import (
    MSG_DONTWAIT,
    QUIC_CRYPTO_EARLY,
    TLS_CIPHER_AES_GCM_128,
    QuicMsgFlag,
    QuicTransportParam,
    quic_socket,
)

pytestmark = pytest.mark.timeout(240)


# -- injecting packets on lo ------------------------------------------------------

LO_SYSCTLS = ("/proc/sys/net/ipv4/conf/lo/route_localnet",
              "/proc/sys/net/ipv4/conf/lo/accept_local")


@contextmanager
def lo_takes_injected_packets() -> Iterator[None]:
    """Let lo accept 127.0.0.1 packets that come without a route from the
    output path (injected through a packet socket), for the duration."""
    old = [pathlib.Path(p).read_text() for p in LO_SYSCTLS]
    try:
        for p in LO_SYSCTLS:
            pathlib.Path(p).write_text("1")
        yield
    finally:
        for p, v in zip(LO_SYSCTLS, old, strict=True):
            pathlib.Path(p).write_text(v)


def replay(ip_packets: list[bytes]) -> None:
    """Inject IPv4/UDP packets on lo again, as if their sender resent them
    (UDP checksum cleared: the captured one may be a partial offload value)."""
    with socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP)) as s:
        for pkt in ip_packets:
            raw = bytearray(pkt)
            ihl = (raw[0] & 0xF) * 4
            raw[ihl + 6:ihl + 8] = b"\0\0"
            s.sendto(bytes(raw), ("lo", ETH_P_IP, 0, 0, bytes(6)))


def connect_kw() -> dict[str, Any]:
    return dict(alpns=[ALPN], hostname="localhost", timeout=WAIT)


def first_session(lsk: QuicListener, creds: Credentials) -> bytes:
    """A full handshake whose session data (with the server's parameters) is kept."""
    def serve(conn: QuicConnection) -> None:
        stream = conn.accept_stream(WAIT)
        stream.write(stream.read_all(WAIT), fin=True)

    with serving(lsk, serve) as outcome, \
            QuicConnection.connect("127.0.0.1", lsk.address[1], cafile=creds.ca,
                                   **connect_kw()) as cli:
        stream = cli.open_stream()
        stream.write(b"ping", fin=True)
        assert stream.read_all(WAIT) == b"ping"
        data = cli.session_data(timeout=10)
    assert outcome == [None]
    assert data, "no session ticket"
    return data


def run_early(lsk: QuicListener, creds: Credentials, session: bytes,
              payload: bytes
              ) -> tuple[tuple[int, str, bool], bool, list[list[tuple[int, int]]], dict[str, int]]:
    """Resume with ``payload`` as early data on stream 0; return the server's
    view, whether the client saw 0-RTT accepted, the long-header packets of
    each datagram to the server and the SNMP counter deltas."""
    cap = Capture()
    before = qt.snmp()
    try:
        with serving(lsk, hash_server) as outcome, \
                QuicConnection.connect("127.0.0.1", lsk.address[1], cafile=creds.ca,
                                       session_data=session, early_data=payload,
                                       early_fin=True, **connect_kw()) as cli:
            assert cli.handshake.session_resumed
            assert cli.early_stream is not None and cli.early_stream.id == 0
            answer = cli.early_stream.read_all(WAIT)
            accepted = cli.early_data_accepted
        dgrams = cap.long_headers(lsk.address[1])
    finally:
        cap.close()
    after = qt.snmp()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    server = outcome[0]
    assert isinstance(server, tuple)
    assert answer.decode() == server[1]
    delta = {k: after[k] - before.get(k, 0) for k in after}
    return server, accepted, dgrams, delta


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_early_data_accepted(creds: Credentials) -> None:
    payload = os.urandom(3000)
    with zrtt_listener(creds, early_data=True) as lsk:
        session = first_session(lsk, creds)
        (size, digest, srv_accepted), accepted, dgrams, delta = \
            run_early(lsk, creds, session, payload)
    lengths = zero_rtt_lengths(dgrams)
    assert size == len(payload) and digest == hashlib.sha256(payload).hexdigest()
    # both TLS stacks agree the early data was taken ...
    assert accepted and srv_accepted
    # ... and it really travelled in 0-RTT packets, opened by the server
    assert sum(lengths) >= len(payload), lengths
    assert delta["QuicPkt0RttSent"] >= len(lengths) >= 3
    assert delta["QuicPkt0RttRcv"] >= 3
    # nothing had to be resent
    assert delta["QuicPktLost"] == 0


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_early_data_refused_is_resent_once(creds: Credentials) -> None:
    payload = os.urandom(5000)
    with zrtt_listener(creds, early_data=True) as lsk:
        session = first_session(lsk, creds)
        # the ticket allows 0-RTT, but this time the server refuses it
        lsk.handshake_kw["early_data"] = False
        (size, digest, srv_accepted), accepted, dgrams, delta = \
            run_early(lsk, creds, session, payload)
    lengths = zero_rtt_lengths(dgrams)
    assert size == len(payload) and digest == hashlib.sha256(payload).hexdigest()
    assert not accepted and not srv_accepted
    # the client did send 0-RTT packets; the server could not open them and
    # the data came again in 1-RTT (exactly once: the size and hash match)
    assert lengths and delta["QuicPkt0RttSent"] >= 1
    assert delta["QuicPkt0RttRcv"] == 0
    assert delta["QuicPktLost"] >= 1


def test_sendmsg_before_established_needs_remembered_params() -> None:
    with quic_socket(socket.AF_INET) as s:
        s.connect(("127.0.0.1", 9))  # sends nothing yet
        # no remembered parameters: as before, no data until the handshake
        with pytest.raises(OSError) as exc:
            quic_sendmsg(s, b"early", -1, QuicMsgFlag.STREAM_NEW | MSG_DONTWAIT)
        assert exc.value.errno == errno.ENOTCONN
        with pytest.raises(OSError) as exc:
            sockopt.stream_open(s, -1, 0)
        assert exc.value.errno == errno.EINVAL

        # the server's remembered limits: one bidirectional stream
        sockopt.set_transport_param(s, QuicTransportParam(
            remote=1, max_streams_bidi=1, max_data=1 << 20,
            max_stream_data_bidi_remote=1 << 16))
        assert quic_sendmsg(s, b"early", -1, QuicMsgFlag.STREAM_NEW | MSG_DONTWAIT) == 5
        # a second stream (4) is beyond the limit: refused without waiting
        with pytest.raises(OSError) as exc:
            quic_sendmsg(s, b"x", 4,
                         QuicMsgFlag.STREAM_NEW | QuicMsgFlag.STREAM_DONTWAIT | MSG_DONTWAIT)
        assert exc.value.errno == errno.EAGAIN
        with pytest.raises(OSError) as exc:
            sockopt.stream_open(s, -1, QuicMsgFlag.STREAM_DONTWAIT)
        assert exc.value.errno == errno.EAGAIN
        # datagrams wait for the handshake in any case
        with pytest.raises(OSError) as exc:
            quic_sendmsg(s, b"d", flags=int(QuicMsgFlag.DATAGRAM) | MSG_DONTWAIT)
        assert exc.value.errno == errno.ENOTCONN
        # only a client remembers the server's parameters
    with quic_socket(socket.AF_INET) as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        with pytest.raises(OSError) as exc:
            sockopt.set_transport_param(srv, QuicTransportParam(remote=1, max_data=1000))
        assert exc.value.errno == errno.EINVAL


def test_early_data_within_remembered_flow_control(creds: Credentials) -> None:
    """0-RTT carries at most the remembered stream window; the rest follows
    in 1-RTT once the server opens the window, all of it delivered once."""
    window = 4096
    payload = os.urandom(20000)
    tp = QuicTransportParam(max_stream_data_bidi_remote=window, max_streams_bidi=1)
    with zrtt_listener(creds, early_data=True, transport_param=tp) as lsk:
        session = first_session(lsk, creds)
        cap = Capture()
        try:
            with serving(lsk, hash_server) as outcome:
                sock = quic_socket(socket.AF_INET)
                try:
                    sock.settimeout(WAIT)
                    configure(sock, [ALPN], None, None)
                    sock.connect(lsk.address)
                    restore_session(sock, session)
                    # written before the handshake: queued whole, sent within limits
                    n = quic_sendmsg(sock, payload, 0,
                                     QuicMsgFlag.STREAM_NEW | QuicMsgFlag.STREAM_FIN)
                    assert n == len(payload)
                    # the remembered stream limit holds as well
                    with pytest.raises(OSError) as exc:
                        sockopt.stream_open(sock, -1, QuicMsgFlag.STREAM_DONTWAIT)
                    assert exc.value.errno == errno.EAGAIN
                    res = quic_client_handshake(sock, hostname="localhost", cafile=creds.ca,
                                                session_data=session, early_data=True,
                                                restore_session=False, timeout=WAIT)
                    assert res.early_data_accepted
                    answer = QuicStream(QuicConnection(sock, res), 0).read_all(WAIT)
                finally:
                    sock.close()
            lengths = cap.zero_rtt_lengths(lsk.address[1])
        finally:
            cap.close()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    result = outcome[0]
    assert isinstance(result, tuple)
    size, digest, _ = result
    assert size == len(payload) and digest == hashlib.sha256(payload).hexdigest()
    assert answer.decode() == digest
    # 0-RTT stayed within the window (plus per-packet frame overhead)
    assert lengths and window <= sum(lengths) < window + 60 * len(lengths), lengths


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_reduced_limits_after_0rtt_close_the_connection(creds: Credentials) -> None:
    """A server may not lower, below what 0-RTT used, the limits the client
    remembered (RFC 9000 7.4.1): the client closes with PROTOCOL_VIOLATION."""
    with zrtt_listener(creds, early_data=True) as lsk:
        session = first_session(lsk, creds)
        sockopt.set_transport_param(lsk.sock, QuicTransportParam(max_streams_bidi=50))
        before = qt.snmp()["QuicConnProtocolErrors"]
        with serving(lsk, hash_server) as outcome, \
                pytest.raises((OSError, ConnectionError, TimeoutError)):
            QuicConnection.connect("127.0.0.1", lsk.address[1], cafile=creds.ca,
                                   session_data=session, early_data=b"x" * 100,
                                   early_fin=True, **connect_kw())
        assert qt.snmp()["QuicConnProtocolErrors"] > before
    assert isinstance(outcome[0], BaseException)


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_async_connect_with_early_data(creds: Credentials) -> None:
    payload = os.urandom(1500)

    async def client(port: int, session: bytes) -> tuple[bytes, bool]:
        conn = await AsyncQuicConnection.connect(
            "127.0.0.1", port, cafile=creds.ca, session_data=session, early_data=payload,
            early_fin=True, **connect_kw())
        async with conn:
            assert conn.early_stream is not None
            return await conn.early_stream.read_all(WAIT), conn.early_data_accepted

    with zrtt_listener(creds, early_data=True) as lsk:
        session = first_session(lsk, creds)
        before = qt.snmp()["QuicPkt0RttRcv"]
        with serving(lsk, hash_server) as outcome:
            answer, accepted = asyncio.run(client(lsk.address[1], session))
        assert qt.snmp()["QuicPkt0RttRcv"] > before
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    assert accepted and answer.decode() == hashlib.sha256(payload).hexdigest()


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_early_data_without_remembered_params_goes_after_handshake(
        creds: Credentials) -> None:
    """Session data lacking the server's parameters (an older libquic): the
    kernel refuses data before the handshake, so connect() writes it after."""
    payload = os.urandom(2000)
    with zrtt_listener(creds, early_data=True) as lsk:
        full = SessionData.from_bytes(first_session(lsk, creds))
        full.transport_param = b""
        (size, digest, _), _, dgrams, delta = \
            run_early(lsk, creds, full.to_bytes(), payload)
    assert size == len(payload) and digest == hashlib.sha256(payload).hexdigest()
    assert not zero_rtt_lengths(dgrams) and delta["QuicPkt0RttSent"] == 0


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_small_early_data_rides_with_the_initial(creds: Credentials) -> None:
    """Early data that fits goes in the ClientHello's datagram, behind the
    Initial packet (which pads the datagram to 1200 bytes)."""
    payload = os.urandom(200)
    with zrtt_listener(creds, early_data=True) as lsk:
        session = first_session(lsk, creds)
        (size, digest, srv_accepted), accepted, dgrams, _ = \
            run_early(lsk, creds, session, payload)
    assert size == len(payload) and digest == hashlib.sha256(payload).hexdigest()
    assert accepted and srv_accepted
    first = next([t for t, _ in d] for d in dgrams if d)
    assert first == [0, ZERO_RTT_V1], dgrams


def assert_replay_reaches_udp() -> None:
    """replay() really delivers: a captured datagram arrives twice."""
    cap = Capture()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, \
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            rx.bind(("127.0.0.1", 0))
            rx.settimeout(WAIT)
            tx.sendto(b"probe", rx.getsockname())
            assert rx.recv(16) == b"probe"
            replay(cap.ip_packets_to(rx.getsockname()[1]))
            assert rx.recv(16) == b"probe"
    finally:
        cap.close()


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_replayed_0rtt_after_the_handshake_is_dropped(creds: Credentials) -> None:
    """The client's 0-RTT datagrams, injected again once the connection is
    established, reach the server's QUIC stack but are not opened again and
    deliver nothing twice."""
    payload = os.urandom(2000)

    def serve(conn: QuicConnection) -> tuple[bytes, bytes]:
        first = conn.accept_stream(WAIT)
        data = first.read_all(WAIT)
        first.write(b"got it", fin=True)
        second = conn.accept_stream(WAIT)  # the client's next stream, nothing else
        return data, second.read_all(WAIT)

    with lo_takes_injected_packets(), zrtt_listener(creds, early_data=True) as lsk:
        assert_replay_reaches_udp()
        session = first_session(lsk, creds)
        port = lsk.address[1]
        cap = Capture()
        try:
            with serving(lsk, serve) as outcome, \
                    QuicConnection.connect("127.0.0.1", port, cafile=creds.ca,
                                           session_data=session, early_data=payload,
                                           early_fin=True, **connect_kw()) as cli:
                assert cli.early_stream is not None
                assert cli.early_stream.read_all(WAIT) == b"got it"
                early = [p for p in cap.ip_packets_to(port)
                         if any(t == ZERO_RTT_V1 for t, _ in long_packets(udp_payload(p)))]
                assert early, "no 0-RTT datagram captured"
                before = qt.snmp()
                replay(early)
                time.sleep(0.5)
                after = qt.snmp()
                stream = cli.open_stream()
                stream.write(b"bye", fin=True)
        finally:
            cap.close()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    assert outcome[0] == (payload, b"bye")
    assert after["QuicPktRcv"] >= before["QuicPktRcv"] + len(early)
    assert after["QuicPkt0RttRcv"] == before["QuicPkt0RttRcv"]


def test_early_key_direction() -> None:
    """The EARLY key sends on a client; a receive key there is refused."""
    with quic_socket(socket.AF_INET) as s:
        s.connect(("127.0.0.1", 9))
        with pytest.raises(OSError) as exc:
            sockopt.set_crypto_secret(s, QUIC_CRYPTO_EARLY, False, TLS_CIPHER_AES_GCM_128,
                                      bytearray(32))
        assert exc.value.errno == errno.EINVAL
        sockopt.set_crypto_secret(s, QUIC_CRYPTO_EARLY, True, TLS_CIPHER_AES_GCM_128,
                                  bytearray(range(32)))
