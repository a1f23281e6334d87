"""Connection IDs (RFC 9000 5.1): rotation with QUIC_SOCKOPT_CONNECTION_ID,
QUIC_EVENT_CONNECTION_ID on the peer, NEW/RETIRE_CONNECTION_ID within the
limits, and a peer that breaks the rules (aioquic, patched)."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import pytest
from aioquic.asyncio import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnectionId
from aioquic.quic.events import ConnectionTerminated, QuicEvent, StreamDataReceived

from kquictest.aiopeer import KernelServer, kernel_server
from kquictest.quicpair import WAIT, Credentials, Pair
from kquictest.streampair import connected, recv_msg
from libquic import sockopt
from libquic.cmsg import QuicMessage, quic_sendmsg
from libquic.events import QuicEventMessage
from libquic.uapi import (
    MSG_QUIC_STREAM_FIN,
    MSG_QUIC_STREAM_NEW,
    QuicEventType,
    quic_socket,
)

pytestmark = pytest.mark.timeout(180)

NEW_FIN = MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN
ALPN = "cid"
T = TypeVar("T")


def cid_events(sk: socket.socket) -> None:
    sockopt.set_event(sk, QuicEventType.CONNECTION_ID)


def info(sk: socket.socket, dest: bool) -> tuple[int, int]:
    i = sockopt.get_connection_id(sk, dest)
    return i.active, i.prior_to


def cid_event(sk: socket.socket, timeout: float = 10.0,
              data: list[QuicMessage] | None = None) -> tuple[int, int, int]:
    """The next CONNECTION_ID event on ``sk``: (dest, active, prior_to)."""
    deadline = time.monotonic() + timeout
    while True:
        m = recv_msg(sk, timeout=max(0.1, deadline - time.monotonic()))
        if not m.is_event:
            assert data is not None, f"unexpected {m!r}"
            data.append(m)
            continue
        e: QuicEventMessage = m.event()
        assert e.type == QuicEventType.CONNECTION_ID, e
        p = e.payload
        return p.dest, p.active, p.prior_to


def ping(src: socket.socket, dst: socket.socket, text: bytes) -> list[QuicMessage]:
    """A one-message stream from ``src``; return what ``dst`` read (events
    included) up to that message."""
    quic_sendmsg(src, text, -1, NEW_FIN)
    out: list[QuicMessage] = []
    while True:
        m = recv_msg(dst)
        out.append(m)
        if not m.is_event and m.data == text:
            return out


def retry(fn: Callable[[], None], timeout: float = 10.0) -> None:
    """``fn`` until it stops failing with EAGAIN/EINVAL (the peer's new
    IDs or its retirements are still on the way)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fn()
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EINVAL) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def test_initial_numbers_and_errors(creds: Credentials) -> None:
    sk = quic_socket(socket.AF_INET)
    try:
        with pytest.raises(OSError) as e:
            sockopt.get_connection_id(sk, True)
        assert e.value.errno == errno.EINVAL
    finally:
        sk.close()
    with connected(creds) as p:
        for s in (p.client, p.server):
            assert info(s, True) == (0, 0)
            assert info(s, False) == (0, 0)
        for kw in ({"dest": True, "active": 99}, {"dest": False, "active": 99},
                   {"dest": False, "prior_to": 99}, {"dest": True, "prior_to": 99}):
            with pytest.raises(OSError) as e:
                sockopt.set_connection_id(p.client, **kw)
            assert e.value.errno == errno.EINVAL, kw


def test_rotation_events(creds: Credentials) -> None:
    """QUIC_EVENT_CONNECTION_ID, as the reference raises it: one event for
    each change made with the socket option, on the side that made it (its
    functional test, notification test28-29); one when the peer's Retire
    Prior To forces us off the ID we send to; none when the peer merely
    moves to another of our IDs."""
    with connected(creds, server_setup=cid_events, client_setup=cid_events) as p:
        # the client sends to the server's ID number 1 (once it has it)
        retry(lambda: sockopt.set_connection_id(p.client, dest=True, active=1))
        assert info(p.client, True) == (1, 0)
        assert cid_event(p.client) == (1, 1, 0)
        got = ping(p.client, p.server, b"one")
        assert not [m for m in got if m.is_event]
        assert info(p.server, False) == (1, 0)

        # the client retires the server's IDs below 3 (RETIRE_CONNECTION_ID)
        sockopt.set_connection_id(p.client, dest=True, prior_to=3)
        assert info(p.client, True) == (3, 3)
        assert cid_event(p.client) == (1, 3, 3)
        got = ping(p.client, p.server, b"two")
        assert not [m for m in got if m.is_event]
        assert info(p.server, False) == (3, 3)

        # the server retires its IDs below 5 (Retire Prior To): its own
        # event, and the client must move off number 3 and says so
        sockopt.set_connection_id(p.server, dest=False, prior_to=5)
        assert cid_event(p.server)[::2] == (0, 5)
        quic_sendmsg(p.server, b"three", -1, NEW_FIN)
        data: list[QuicMessage] = []
        assert cid_event(p.client, data=data) == (1, 5, 5)
        assert info(p.client, True) == (5, 5)
        got = ping(p.client, p.server, b"four")
        assert not [m for m in got if m.is_event]
        retry(lambda: assert_eq(info(p.server, False), (5, 5)))

        # and the other direction: the client retires its own IDs
        sockopt.set_connection_id(p.client, dest=False, prior_to=4)
        # source: active is the number the peer uses, until it moves
        assert cid_event(p.client)[::2] == (0, 4)
        quic_sendmsg(p.client, b"five", -1, NEW_FIN)
        data = []
        assert cid_event(p.server, data=data) == (1, 4, 4)
        assert info(p.server, True) == (4, 4)


def assert_eq(a: object, b: object) -> None:
    if a != b:
        raise OSError(errno.EAGAIN, f"{a!r} != {b!r}")


def test_many_rotations_stay_within_limits(creds: Credentials) -> None:
    """Each round retires the ID in use on both sides; the peers replace
    them with NEW_CONNECTION_ID.  Exceeding a limit would close the
    connection with CONNECTION_ID_LIMIT_ERROR."""
    with connected(creds) as p:
        for n in range(1, 25):
            def dest_rotate(sk: socket.socket = p.client) -> None:
                active, _ = info(sk, True)
                sockopt.set_connection_id(sk, dest=True, prior_to=active + 1)

            def source_rotate(sk: socket.socket = p.server) -> None:
                _, low = info(sk, False)
                sockopt.set_connection_id(sk, dest=False, prior_to=low + 1)

            retry(dest_rotate)
            retry(source_rotate)
            ping(p.client, p.server, b"c%d" % n)
            ping(p.server, p.client, b"s%d" % n)
        active, low = info(p.client, True)
        assert active >= 24 and low >= 24
        assert sockopt.get_connection_close(p.client).errcode == 0


def test_data_intact_across_rotations(creds: Credentials) -> None:
    total = 4 * 1024 * 1024
    data = (hashlib.sha256(b"cid").digest() * (total // 32))[:total]
    with connected(creds) as p:
        done = threading.Event()
        err: list[BaseException] = []

        def rotate() -> None:
            try:
                while not done.is_set():
                    retry(lambda: sockopt.set_connection_id(
                        p.client, dest=True, prior_to=info(p.client, True)[0] + 1))
                    retry(lambda: sockopt.set_connection_id(
                        p.server, dest=False, prior_to=info(p.server, False)[1] + 1))
                    time.sleep(0.01)
            except BaseException as exc:  # reported below
                err.append(exc)

        t = threading.Thread(target=rotate)
        t.start()
        try:
            got = transfer(p, data)
        finally:
            done.set()
            t.join(30)
        assert not err, err
        assert got == hashlib.sha256(data).digest()
        assert info(p.client, True)[0] > 2


def transfer(p: Pair, data: bytes) -> bytes:
    sender = threading.Thread(target=lambda: send_all(p.client, data))
    sender.start()
    h = hashlib.sha256()
    deadline = time.monotonic() + 90
    try:
        while True:
            m = recv_msg(p.server, 256 * 1024, timeout=max(0.1, deadline - time.monotonic()))
            if m.is_event or not (m.data or m.fin):
                raise AssertionError(f"unexpected {m!r} (connection closed?)")
            h.update(m.data)
            if m.fin:
                return h.digest()
    finally:
        sender.join(60)


def send_all(sk: socket.socket, data: bytes) -> None:
    step = 32 * 1024
    for off in range(0, len(data), step):
        flags = MSG_QUIC_STREAM_NEW if off == 0 else 0
        if off + step >= len(data):
            flags |= MSG_QUIC_STREAM_FIN
        quic_sendmsg(sk, data[off:off + step], 0, flags)


# ---- aioquic as the peer ---------------------------------------------------

class Recorder(QuicConnectionProtocol):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.data = bytearray()
        self.ended = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, StreamDataReceived):
            self.data += event.data
            if event.end_stream and not self.ended.done():
                self.ended.set_result(bytes(self.data))
        elif isinstance(event, ConnectionTerminated) and not self.closed.done():
            self.closed.set_result(event.error_code)


@contextmanager
def cid_server(creds: Credentials,
               serve: Callable[[socket.socket], T]) -> Iterator[KernelServer[T]]:
    """A kernel server with CONNECTION_ID events on; ``serve`` runs on the
    accepted socket in a thread."""
    with kernel_server(creds, ALPN, lambda conn, _res: serve(conn),
                       setup=cid_events) as srv:
        yield srv


def client_config(creds: Credentials) -> QuicConfiguration:
    return QuicConfiguration(is_client=True, alpn_protocols=[ALPN],
                             server_name="localhost", cafile=creds.ca)


def test_aioquic_client_changes_connection_id(creds: Credentials) -> None:
    def serve(conn: socket.socket) -> tuple[int, int]:
        m = recv_msg(conn)
        assert not m.is_event and m.data == b"before"
        m = recv_msg(conn)
        # the peer moving to another of our IDs raises no event (as in
        # the reference); the socket option shows it
        assert not m.is_event and m.data == b"after", m
        retry(lambda: assert_eq(info(conn, False), (1, 1)))
        quic_sendmsg(conn, b"ok", m.stream_id, MSG_QUIC_STREAM_FIN)
        time.sleep(0.5)  # let the replacement NEW_CONNECTION_ID go out
        return info(conn, False)

    async def run(port: int) -> tuple[bytes, int]:
        async with connect("127.0.0.1", port, configuration=client_config(creds),
                           create_protocol=Recorder, wait_connected=True) as proto:
            q = proto._quic
            sid = q.get_next_available_stream_id()
            q.send_stream_data(sid, b"before", end_stream=True)
            proto.transmit()
            await asyncio.sleep(0.3)
            q.change_connection_id()
            sid = q.get_next_available_stream_id()
            q.send_stream_data(sid, b"after", end_stream=True)
            proto.transmit()
            reply = await asyncio.wait_for(proto.ended, 30)
            await asyncio.sleep(0.6)
            return reply, max(c.sequence_number for c in q._peer_cid_available)

    with cid_server(creds, serve) as server:
        reply, highest = asyncio.run(asyncio.wait_for(run(server.port), 90))
        ev = server.outcome()
    assert ev == (1, 1), ev
    assert reply == b"ok"
    # the server issued 0..7 (aioquic's limit is 8) and replaced number 0
    assert highest == 8


def patched_peer(creds: Credentials, patch: Callable[[object], None]) -> object:
    """An aioquic client that ``patch``es its connection after the handshake
    (to send broken CID frames); return the error code it is closed with."""
    def serve(conn: socket.socket) -> int:
        """Read until the connection is aborted; return the errno."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                recv_msg(conn, timeout=max(0.1, deadline - time.monotonic()))
            except OSError as exc:
                return exc.errno or 0
        return 0

    async def run(port: int) -> int:
        async with connect("127.0.0.1", port, configuration=client_config(creds),
                           create_protocol=Recorder, wait_connected=True) as proto:
            patch(proto._quic)
            sid = proto._quic.get_next_available_stream_id()
            proto._quic.send_stream_data(sid, b"x", end_stream=False)
            proto.transmit()
            return await asyncio.wait_for(proto.closed, 20)

    with cid_server(creds, serve) as server:
        code = asyncio.run(asyncio.wait_for(run(server.port), 60))
        assert server.outcome() == errno.ECONNABORTED
    return code


def test_peer_exceeding_our_cid_limit_is_closed(creds: Credentials) -> None:
    def patch(q: object) -> None:
        cids = q._host_cids  # type: ignore[attr-defined]
        nxt = max(c.sequence_number for c in cids) + 1
        for i in range(10):
            cids.append(QuicConnectionId(cid=bytes([0xA0, i]) * 4, sequence_number=nxt + i,
                                         stateless_reset_token=bytes(16)))

    assert patched_peer(creds, patch) == 0x09  # CONNECTION_ID_LIMIT_ERROR


def test_peer_reusing_a_sequence_number_is_closed(creds: Credentials) -> None:
    def patch(q: object) -> None:
        cids = q._host_cids  # type: ignore[attr-defined]
        seq = cids[-1].sequence_number
        cids.append(QuicConnectionId(cid=b"\xbb" * 8, sequence_number=seq,
                                     stateless_reset_token=bytes(16)))

    assert patched_peer(creds, patch) == 0x0A  # PROTOCOL_VIOLATION


def test_peer_sending_an_empty_cid_is_closed(creds: Credentials) -> None:
    def patch(q: object) -> None:
        cids = q._host_cids  # type: ignore[attr-defined]
        nxt = max(c.sequence_number for c in cids) + 1
        cids.append(QuicConnectionId(cid=b"", sequence_number=nxt,
                                     stateless_reset_token=bytes(16)))

    assert patched_peer(creds, patch) == 0x07  # FRAME_ENCODING_ERROR


def test_peer_retiring_the_cid_in_use_is_closed(creds: Credentials) -> None:
    def patch(q: object) -> None:
        q._retire_connection_ids.append(q._peer_cid.sequence_number)  # type: ignore[attr-defined]

    assert patched_peer(creds, patch) == 0x0A  # PROTOCOL_VIOLATION


def test_retire_rules_of_the_reference(creds: Credentials) -> None:
    """As the reference's functional test checks: a non-zero prior_to must
    retire an ID and leave one, a non-zero active must be an ID that stays;
    a refused call changes nothing."""
    with connected(creds) as p:
        for dest in (False, True):
            retry(lambda d=dest: sockopt.set_connection_id(p.client, dest=d, prior_to=2))
            ping(p.client, p.server, b"a")
            ping(p.server, p.client, b"b")
            retry(lambda d=dest: assert_eq(info(p.client, d), (2, 2)))
            for kw in ({"prior_to": 2, "active": 5},    # retires nothing
                       {"prior_to": 5, "active": 2},    # active would be retired
                       {"prior_to": 99},                # nothing would be left
                       {"prior_to": 3, "active": 99}):  # no such ID
                with pytest.raises(OSError) as e:
                    sockopt.set_connection_id(p.client, dest=dest, **kw)
                assert e.value.errno == errno.EINVAL, (dest, kw)
            assert info(p.client, dest) == (2, 2)
            # an active ID set ahead of the lowest one stays the active one,
            # also for source IDs when the peer moves to the lowest
            retry(lambda d=dest: sockopt.set_connection_id(p.client, dest=d,
                                                           prior_to=3, active=5))
            ping(p.client, p.server, b"c")
            ping(p.server, p.client, b"d")
            retry(lambda d=dest: assert_eq(info(p.client, d), (5, 3)))
            ping(p.client, p.server, b"e")
            assert info(p.client, dest) == (5, 3)
