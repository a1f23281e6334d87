"""Stream control over kernel QUIC sockets: flow control, stream limits,
resets, events, datagrams, poll readiness and blocking with timeouts."""

from __future__ import annotations

import errno
import itertools
import os
import select
import socket
import struct
import threading
import time

import pytest

from kquictest.quicpair import Credentials
from kquictest.streampair import connected, recv_msg, recv_stream
from libquic import sockopt
from libquic.cmsg import QuicMessage, quic_sendmsg
from libquic.tools.trace import Tracer
from libquic.uapi import (
    MSG_QUIC_DATAGRAM,
    MSG_QUIC_STREAM_DONTWAIT,
    MSG_QUIC_STREAM_FIN,
    MSG_QUIC_STREAM_NEW,
    MSG_QUIC_STREAM_SNDBLOCK,
    MSG_QUIC_STREAM_UNI,
    QuicConfig,
    QuicEventType,
    QuicStreamState,
    QuicTransportParam,
)

pytestmark = pytest.mark.timeout(120)

NEW_FIN = MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN


def tp(**kw: int):
    def setup(sk: socket.socket) -> None:
        sockopt.set_transport_param(sk, QuicTransportParam(**kw))
    return setup


def events(*types: QuicEventType):
    def setup(sk: socket.socket) -> None:
        for t in types:
            sockopt.set_event(sk, t)
    return setup


def both(*fns):
    def setup(sk: socket.socket) -> None:
        for f in fns:
            f(sk)
    return setup


def next_event(sock: socket.socket, etype: QuicEventType, timeout: float = 20.0,
               keep: list[QuicMessage] | None = None):
    """The payload of the next event of ``etype`` (others are collected in ``keep``)."""
    deadline = time.monotonic() + timeout
    while True:
        m = recv_msg(sock, timeout=max(0.01, deadline - time.monotonic()))
        if m.is_event:
            assert m.msg_flags & socket.MSG_EOR
            ev = m.event()
            if ev.type == etype:
                return ev.payload
        if keep is not None:
            keep.append(m)


def set_timeo(sk: socket.socket, opt: int, seconds: float) -> None:
    sk.setblocking(True)
    sec = int(seconds)
    sk.setsockopt(socket.SOL_SOCKET, opt, struct.pack("ll", sec, int((seconds - sec) * 1e6)))


# ---- flow control ----------------------------------------------------------

def test_stream_flow_control_reached_and_released(creds: Credentials) -> None:
    srv = tp(max_stream_data_bidi_remote=8192, max_data=1 << 20)
    with connected(creds, server_setup=srv,
                   client_setup=events(QuicEventType.STREAM_MAX_DATA)) as p:
        data = bytes(range(256)) * 256      # 64 KiB against an 8 KiB window
        quic_sendmsg(p.client, data, 0, NEW_FIN)
        time.sleep(0.5)
        # the window holds the rest back: one read takes all that is
        # queued, 8 KiB at most
        got = bytearray(recv_msg(p.server, bufsize=1 << 20).data)
        assert 0 < len(got) <= 8192
        # reading opens the window again: MAX_STREAM_DATA reaches the client
        ev = next_event(p.client, QuicEventType.STREAM_MAX_DATA)
        assert ev.id == 0 and ev.max_data > 8192
        rest = recv_stream(p.server)
        assert bytes(got) + rest[0] == data


def test_connection_flow_control_reached_and_released(creds: Credentials) -> None:
    srv = tp(max_data=16384)
    with connected(creds, server_setup=srv) as p:
        blobs = {sid: bytes([sid + 1]) * 20000 for sid in (0, 4, 8)}
        for sid, b in blobs.items():
            quic_sendmsg(p.client, b, sid, NEW_FIN)
        time.sleep(0.5)
        # one read takes what one stream has queued: within the window
        first = len(recv_msg(p.server, bufsize=1 << 20, timeout=0).data)
        assert 0 < first <= 16384
        assert recv_stream(p.server, 3) is not None


def test_flow_control_drain_all_streams(creds: Credentials) -> None:
    srv = tp(max_data=16384, max_stream_data_bidi_remote=4096)
    with connected(creds, server_setup=srv) as p:
        blobs = {sid: bytes([sid + 1]) * 30000 for sid in (0, 4, 8)}
        for sid, b in blobs.items():
            quic_sendmsg(p.client, b, sid, NEW_FIN)
        assert recv_stream(p.server, 3) == blobs


@pytest.mark.kquic_only("counts frames with kquic's quic_frame_recv tracepoint")
@pytest.mark.parametrize("limit", ["stream", "connection"])
def test_blocked_sender_says_so_again(creds: Credentials, limit: str) -> None:
    """RFC 9000 4.1: a sender held back by flow control with nothing in
    flight sends its STREAM_DATA_BLOCKED or DATA_BLOCKED again now and then,
    backing off, so that the connection neither idles out nor hides a
    lost window update (or, after a NAT rebinding, the client's new
    address: test_nat_rebinding).  Before, it said so once per limit."""
    window = {"stream": tp(max_stream_data_bidi_remote=8192, max_data=1 << 20),
              "connection": tp(max_data=8192)}[limit]
    frame = {"stream": 0x15, "connection": 0x14}[limit]
    with connected(creds, server_setup=window) as p:
        tracer = Tracer(ino=os.fstat(p.server.fileno()).st_ino, events=("quic_frame_recv",))
        try:
            data = bytes(range(256)) * 256  # 64 KiB against an 8 KiB window
            quic_sendmsg(p.client, data, 0, NEW_FIN)
            time.sleep(2.0)  # the server reads nothing meanwhile
            trace = tracer.read()
        finally:
            tracer.close()
        blocked = [ev.time for ev in trace if int(ev.fields["type"], 16) == frame]
        # a probe timeout after the first, doubling: a handful in 2 s
        assert 3 <= len(blocked) <= 12, blocked
        gaps = [b - a for a, b in itertools.pairwise(blocked)]
        assert gaps[-1] > 2 * gaps[0], gaps
        assert recv_stream(p.server) == {0: data}


# ---- stream limits ---------------------------------------------------------

def test_stream_limit_blocks_and_max_streams_releases(creds: Credentials) -> None:
    cli = events(QuicEventType.STREAM_MAX_STREAM)
    with connected(creds, server_setup=tp(max_streams_bidi=2, max_streams_uni=1),
                   client_setup=cli) as p:
        assert sockopt.stream_open(p.client) == 0
        assert sockopt.stream_open(p.client) == 4
        for flags in (MSG_QUIC_STREAM_DONTWAIT,
                      MSG_QUIC_STREAM_DONTWAIT | MSG_QUIC_STREAM_SNDBLOCK):
            with pytest.raises(OSError) as e:
                sockopt.stream_open(p.client, -1, flags)
            assert e.value.errno == errno.EAGAIN
        p.client.setblocking(True)      # no retries by Python on EAGAIN
        with pytest.raises(OSError) as e:
            quic_sendmsg(p.client, b"x", 8, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_DONTWAIT)
        assert e.value.errno == errno.EAGAIN
        p.client.settimeout(30)
        assert sockopt.stream_open(p.client, -1, MSG_QUIC_STREAM_UNI) == 2
        # finish streams 0 and 4 both ways: the server grants two more
        for sid in (0, 4):
            quic_sendmsg(p.client, b"q", sid, MSG_QUIC_STREAM_FIN)
        assert recv_stream(p.server, 2) == {0: b"q", 4: b"q"}
        for sid in (0, 4):
            quic_sendmsg(p.server, b"a", sid, MSG_QUIC_STREAM_FIN)
        others: list[QuicMessage] = []
        assert recv_stream(p.client, 2, others=others) == {0: b"a", 4: b"a"}
        evs = [m.event() for m in others if m.is_event]
        if not evs:
            evs = [next_event(p.client, QuicEventType.STREAM_MAX_STREAM)]
            limit = evs[0]
        else:
            assert evs[0].type == QuicEventType.STREAM_MAX_STREAM
            limit = evs[0].payload
        # the largest client bidirectional stream ID now allowed: 8 or more
        assert limit >= 8 and limit & 3 == 0
        # now a blocking open succeeds
        assert sockopt.stream_open(p.client) == 8


def test_blocking_open_waits_for_max_streams(creds: Credentials) -> None:
    with connected(creds, server_setup=tp(max_streams_bidi=1)) as p:
        quic_sendmsg(p.client, b"q", 0, NEW_FIN)
        opened: list[int] = []
        t = threading.Thread(target=lambda: opened.append(sockopt.stream_open(p.client)))
        t.start()
        time.sleep(0.5)
        assert not opened
        assert recv_stream(p.server) == {0: b"q"}
        quic_sendmsg(p.server, b"a", 0, MSG_QUIC_STREAM_FIN)
        assert recv_stream(p.client) == {0: b"a"}
        t.join(20)
        assert opened == [4]


# ---- resets -----------------------------------------------------------------

def test_stream_reset(creds: Credentials) -> None:
    ev = events(QuicEventType.STREAM_UPDATE)
    with connected(creds, server_setup=ev, client_setup=ev) as p:
        quic_sendmsg(p.client, b"partial", 0, MSG_QUIC_STREAM_NEW)
        upd = next_event(p.server, QuicEventType.STREAM_UPDATE)
        assert (upd.id, upd.state) == (0, QuicStreamState.RECV_RECV)
        sockopt.stream_reset(p.client, 0, 77)
        upd = next_event(p.server, QuicEventType.STREAM_UPDATE)
        assert (upd.id, upd.state, upd.errcode) == (0, QuicStreamState.RECV_RESET_RECVD, 77)
        assert upd.finalsz == 7
        # our own reset is not reported as RESET_SENT (as in the reference);
        # its acknowledgement is
        upd = next_event(p.client, QuicEventType.STREAM_UPDATE)
        assert (upd.id, upd.state, upd.errcode) == (0, QuicStreamState.SEND_RESET_RECVD, 77)
        with pytest.raises(OSError) as e:
            quic_sendmsg(p.client, b"more", 0, 0)
        assert e.value.errno == errno.EINVAL
        with pytest.raises(OSError) as e:
            sockopt.stream_reset(p.client, 0, 1)
        assert e.value.errno == errno.EINVAL
        # the connection lives on
        quic_sendmsg(p.client, b"ok", 4, NEW_FIN)
        assert recv_stream(p.server) == {4: b"ok"}


def test_stop_sending(creds: Credentials) -> None:
    ev = events(QuicEventType.STREAM_UPDATE)
    with connected(creds, server_setup=ev, client_setup=ev) as p:
        quic_sendmsg(p.client, b"data", 0, MSG_QUIC_STREAM_NEW)
        upd = next_event(p.server, QuicEventType.STREAM_UPDATE)
        assert upd.state == QuicStreamState.RECV_RECV
        sockopt.stream_stop_sending(p.server, 0, 88)
        # the client answers STOP_SENDING with RESET_STREAM, same code
        upd = next_event(p.client, QuicEventType.STREAM_UPDATE)
        assert (upd.id, upd.state, upd.errcode) == (0, QuicStreamState.SEND_RESET_SENT, 88)
        upd = next_event(p.server, QuicEventType.STREAM_UPDATE)
        assert (upd.id, upd.state, upd.errcode) == (0, QuicStreamState.RECV_RESET_RECVD, 88)
        upd = next_event(p.client, QuicEventType.STREAM_UPDATE)
        assert (upd.id, upd.state, upd.errcode) == (0, QuicStreamState.SEND_RESET_RECVD, 88)
        with pytest.raises(OSError) as e:
            sockopt.stream_stop_sending(p.server, 0, 1)
        assert e.value.errno == errno.EINVAL
        with pytest.raises(OSError):
            sockopt.stream_reset(p.server, 2, 1)    # no such stream


def test_reset_and_stop_sending_errnos(creds: Credentials) -> None:
    """The errnos of the reference's functional test: sending on a stream
    the peer stopped with STOP_SENDING is ENOSTR, on one we reset EINVAL;
    resetting a stream that was closed is ENOSTR, one never opened EINVAL."""
    ev = events(QuicEventType.STREAM_UPDATE)
    with connected(creds, server_setup=ev, client_setup=ev) as p:
        quic_sendmsg(p.client, b"client stop_sending", 0, MSG_QUIC_STREAM_NEW)
        upd = next_event(p.server, QuicEventType.STREAM_UPDATE)
        assert (upd.id, upd.state) == (0, QuicStreamState.RECV_RECV)
        sockopt.stream_stop_sending(p.server, 0, 1)
        upd = next_event(p.client, QuicEventType.STREAM_UPDATE)
        assert (upd.id, upd.state) == (0, QuicStreamState.SEND_RESET_SENT)
        for flags in (0, MSG_QUIC_STREAM_FIN):
            with pytest.raises(OSError) as e:
                quic_sendmsg(p.client, b"test35", 0, flags)
            assert e.value.errno == errno.ENOSTR
        quic_sendmsg(p.client, b"client reset", 4, MSG_QUIC_STREAM_NEW)
        sockopt.stream_reset(p.client, 4, 1)
        for flags in (0, MSG_QUIC_STREAM_FIN):
            with pytest.raises(OSError) as e:
                quic_sendmsg(p.client, b"test33", 4, flags)
            assert e.value.errno == errno.EINVAL
        with pytest.raises(OSError) as e:
            sockopt.stream_reset(p.client, 40, 1)       # never opened
        assert e.value.errno == errno.EINVAL
        quic_sendmsg(p.client, b"a", 8, NEW_FIN)
        assert recv_stream(p.server)[8] == b"a"
        quic_sendmsg(p.server, b"b", 8, MSG_QUIC_STREAM_FIN)
        seen: list[QuicMessage] = []
        assert recv_stream(p.client, others=seen)[8] == b"b"
        # stream 8 is freed once our FIN is acknowledged too
        acked = (8, QuicStreamState.SEND_RECVD)
        while acked not in [(m.event().payload.id, m.event().payload.state)
                            for m in seen if m.is_event]:
            upd = next_event(p.client, QuicEventType.STREAM_UPDATE)
            if (upd.id, upd.state) == acked:
                break
        with pytest.raises(OSError) as e:
            sockopt.stream_reset(p.client, 8, 1)        # closed
        assert e.value.errno == errno.ENOSTR


def test_stop_sending_while_send_blocks(creds: Credentials) -> None:
    """STOP_SENDING for the stream a blocked send() is filling: the send
    ends with what it queued and leaves the stream alone, which the reset,
    once acknowledged, frees."""
    ev = events(QuicEventType.STREAM_UPDATE)
    with connected(creds, server_setup=ev) as p:
        p.client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 16)
        set_timeo(p.client, socket.SO_SNDTIMEO, 30.0)
        big = b"\x5a" * (8 << 20)     # far beyond the stream's window
        sent: list[int | OSError] = []

        def write() -> None:
            try:
                sent.append(quic_sendmsg(p.client, big, 2, MSG_QUIC_STREAM_NEW))
            except OSError as exc:
                sent.append(exc)

        t = threading.Thread(target=write)
        t.start()
        try:
            upd = next_event(p.server, QuicEventType.STREAM_UPDATE)
            assert (upd.id, upd.state) == (2, QuicStreamState.RECV_RECV)
            time.sleep(0.5)     # the window and the send buffer fill up
            assert not sent, "the send did not block"
            sockopt.stream_stop_sending(p.server, 2, 99)
            upd = next_event(p.server, QuicEventType.STREAM_UPDATE)
            assert (upd.id, upd.state, upd.errcode) == \
                (2, QuicStreamState.RECV_RESET_RECVD, 99)
        finally:
            t.join(40)
        assert not t.is_alive()
        assert len(sent) == 1 and isinstance(sent[0], int), sent
        assert 0 < sent[0] < len(big)
        with pytest.raises(OSError):
            quic_sendmsg(p.client, b"more", 2, 0)
        # the connection lives on
        quic_sendmsg(p.client, b"ok", 0, NEW_FIN)
        assert recv_stream(p.server)[0] == b"ok"


# ---- events -----------------------------------------------------------------

def test_event_option_get_set(creds: Credentials) -> None:
    with connected(creds) as p:
        for t in list(QuicEventType)[1:-1]:
            assert not sockopt.get_event(p.client, t)
            sockopt.set_event(p.client, t, True)
            assert sockopt.get_event(p.client, t)
            sockopt.set_event(p.client, t, False)
            assert not sockopt.get_event(p.client, t)
        with pytest.raises(OSError):
            sockopt.set_event(p.client, QuicEventType(0))


def test_stream_events_come_before_data(creds: Credentials) -> None:
    ev = events(QuicEventType.STREAM_UPDATE)
    with connected(creds, server_setup=ev, client_setup=ev) as p:
        quic_sendmsg(p.client, b"x" * 100, 0, NEW_FIN)
        time.sleep(0.3)
        msgs = [recv_msg(p.server) for _ in range(3)]
        kinds = [(m.event().payload.state if m.is_event else "data") for m in msgs]
        # an in-order FIN: no SIZE_KNOWN, as in the reference
        assert kinds == [QuicStreamState.RECV_RECV, QuicStreamState.RECV_RECVD, "data"]
        assert msgs[2].data == b"x" * 100 and msgs[2].fin
        assert msgs[1].event().payload.finalsz == 100
        upd = next_event(p.client, QuicEventType.STREAM_UPDATE)
        assert (upd.id, upd.state) == (0, QuicStreamState.SEND_RECVD)
        # the echo on our own stream 0: RECV with its first frame, then
        # RECVD, then the data (the reference's functional test, 2-5)
        quic_sendmsg(p.server, b"y" * 10, 0, MSG_QUIC_STREAM_FIN)
        time.sleep(0.3)
        msgs = [recv_msg(p.client) for _ in range(3)]
        kinds = [(m.event().payload.state if m.is_event else "data") for m in msgs]
        assert kinds == [QuicStreamState.RECV_RECV, QuicStreamState.RECV_RECVD, "data"]
        assert msgs[0].event().payload.id == 0
        assert msgs[1].event().payload.finalsz == 10
        assert msgs[2].data == b"y" * 10 and msgs[2].fin


def test_implicitly_opened_streams_report_recv_with_their_data(creds: Credentials) -> None:
    """Stream 7 opens 3 too (RFC 9000 2.1); RECV is reported for 7 at once
    and for 3 only when its data comes, as the reference does (its
    functional test, notification test9, reads RECV for the named stream
    right after the send side's RECVD)."""
    ev = events(QuicEventType.STREAM_UPDATE)
    with connected(creds, client_setup=ev) as p:
        quic_sendmsg(p.server, b"seven", 7, NEW_FIN)
        time.sleep(0.3)
        msgs = [recv_msg(p.client) for _ in range(3)]
        got = [(m.event().payload.id, m.event().payload.state) if m.is_event
               else (m.stream_id, m.data) for m in msgs]
        assert got == [(7, QuicStreamState.RECV_RECV), (7, QuicStreamState.RECV_RECVD),
                       (7, b"seven")]
        quic_sendmsg(p.server, b"three", 3, NEW_FIN)
        msgs = [recv_msg(p.client) for _ in range(3)]
        got = [(m.event().payload.id, m.event().payload.state) if m.is_event
               else (m.stream_id, m.data) for m in msgs]
        assert got == [(3, QuicStreamState.RECV_RECV), (3, QuicStreamState.RECV_RECVD),
                       (3, b"three")]


def test_connection_close_event(creds: Credentials) -> None:
    with connected(creds, client_setup=events(QuicEventType.CONNECTION_CLOSE)) as p:
        sockopt.set_connection_close(p.server, 42, "bye now")
        p.server.close()
        c = next_event(p.client, QuicEventType.CONNECTION_CLOSE)
        assert c.errcode == 42 and bytes(c.phrase).rstrip(b"\0") == b"bye now"


# ---- datagrams --------------------------------------------------------------

def test_datagrams(creds: Credentials) -> None:
    dg = tp(max_datagram_frame_size=1400)
    with connected(creds, server_setup=dg, client_setup=dg) as p:
        for i in range(3):
            assert quic_sendmsg(p.client, b"dg%d" % i, flags=MSG_QUIC_DATAGRAM) == 3
        got = []
        while len(got) < 3:
            m = recv_msg(p.server)
            assert m.is_datagram and m.msg_flags & socket.MSG_EOR and m.stream_id is None
            got.append(m.data)
        assert sorted(got) == [b"dg0", b"dg1", b"dg2"]
        quic_sendmsg(p.server, b"back", flags=MSG_QUIC_DATAGRAM)
        m = recv_msg(p.client)
        assert m.is_datagram and m.data == b"back"
        with pytest.raises(OSError) as e:
            quic_sendmsg(p.client, b"z" * 2000, flags=MSG_QUIC_DATAGRAM)
        assert e.value.errno == errno.EMSGSIZE
        # datagrams and stream data side by side
        quic_sendmsg(p.client, b"s", 0, NEW_FIN)
        quic_sendmsg(p.client, b"d", flags=MSG_QUIC_DATAGRAM)
        seen = {recv_msg(p.server).is_datagram for _ in range(2)}
        assert seen == {True, False}


def test_datagram_needs_transport_parameter(creds: Credentials) -> None:
    with connected(creds) as p:
        with pytest.raises(OSError) as e:
            quic_sendmsg(p.client, b"d", flags=MSG_QUIC_DATAGRAM)
        assert e.value.errno == errno.EINVAL


# ---- readiness and blocking ---------------------------------------------------

def test_poll_readiness(creds: Credentials) -> None:
    with connected(creds) as p:
        po = select.poll()
        po.register(p.server, select.POLLIN | select.POLLOUT)
        assert dict(po.poll(0)).get(p.server.fileno(), 0) & select.POLLIN == 0
        assert dict(po.poll(0))[p.server.fileno()] & select.POLLOUT
        quic_sendmsg(p.client, b"hi", 0, NEW_FIN)
        ev = dict(po.poll(5000)).get(p.server.fileno(), 0)
        assert ev & select.POLLIN
        ep = select.epoll()
        ep.register(p.client.fileno(), select.EPOLLIN | select.EPOLLOUT)
        assert dict(ep.poll(1))[p.client.fileno()] & select.EPOLLOUT
        ep.close()


def test_blocking_timeouts_and_dontwait(creds: Credentials) -> None:
    with connected(creds) as p:
        set_timeo(p.server, socket.SO_RCVTIMEO, 0.5)
        t0 = time.monotonic()
        with pytest.raises(BlockingIOError):
            p.server.recv(10)
        assert 0.4 < time.monotonic() - t0 < 5
        with pytest.raises(BlockingIOError):
            p.server.recv(10, socket.MSG_DONTWAIT)
        # the server does not read: the client's buffer fills, then the
        # send times out with a short count
        set_timeo(p.client, socket.SO_SNDTIMEO, 1.0)
        big = b"\xaa" * (32 << 20)
        n = p.client.send(big)
        assert 0 < n < len(big)
        with pytest.raises(BlockingIOError):
            p.client.send(big, socket.MSG_DONTWAIT)
        po = select.poll()
        po.register(p.client, select.POLLOUT)
        assert not po.poll(0)
        # reading makes room again
        got = 0
        p.server.settimeout(10)
        while got < n:
            got += len(p.server.recv(1 << 20))
        assert po.poll(10000)


def test_nodelay_and_cork(creds: Credentials) -> None:
    nd = lambda sk: sockopt.set_config(sk, QuicConfig(stream_data_nodelay=1))  # noqa: E731
    with connected(creds, client_setup=nd) as p:
        assert sockopt.get_config(p.client).stream_data_nodelay == 1
        for i in range(50):
            quic_sendmsg(p.client, b"%03d" % i, 0, MSG_QUIC_STREAM_NEW if i == 0 else 0)
        quic_sendmsg(p.client, b"", 0, MSG_QUIC_STREAM_FIN)
        assert recv_stream(p.server)[0] == b"".join(b"%03d" % i for i in range(50))
    with connected(creds) as p:
        p.client.sendmsg([b"part1-"], [], socket.MSG_MORE)
        p.client.sendmsg([b"part2"], [], socket.MSG_MORE)
        time.sleep(0.3)
        with pytest.raises(TimeoutError):
            recv_msg(p.server, timeout=0.3)   # corked
        quic_sendmsg(p.client, b"", -1, MSG_QUIC_STREAM_FIN)
        assert recv_stream(p.server)[0] == b"part1-part2"


def test_many_concurrent_streams(creds: Credentials) -> None:
    srv = tp(max_streams_bidi=200)
    with connected(creds, server_setup=srv) as p:
        blobs = {4 * i: bytes([i % 251]) * (1000 + i * 37) for i in range(150)}
        for sid, b in blobs.items():
            quic_sendmsg(p.client, b, sid, NEW_FIN)
        assert recv_stream(p.server, len(blobs), timeout=60) == blobs


# ---- teardown ------------------------------------------------------------------

def flood(sk: socket.socket, errors: list[OSError]) -> None:
    """Send on stream 1 until the connection ends."""
    chunk = b"\x11" * 65536
    try:
        quic_sendmsg(sk, chunk, 1, MSG_QUIC_STREAM_NEW)
        while True:
            quic_sendmsg(sk, chunk, 1, 0)
    except OSError as exc:
        errors.append(exc)


def test_close_while_peer_sends(creds: Credentials) -> None:
    """close() while the peer's data keeps arriving: the closed socket
    answers it with CONNECTION_CLOSE until its state is freed, and the
    sender learns of the close."""
    for _ in range(10):
        with connected(creds) as p:
            set_timeo(p.server, socket.SO_SNDTIMEO, 20.0)
            errors: list[OSError] = []
            t = threading.Thread(target=flood, args=(p.server, errors))
            t.start()
            try:
                assert recv_msg(p.client).stream_id == 1
                p.client.close()
            finally:
                t.join(30)
            assert not t.is_alive()
            assert len(errors) == 1
            assert errors[0].errno in (errno.EPIPE, errno.ECONNABORTED,
                                       errno.ENOTCONN), errors
