"""Connection migration (RFC 9000 8.2, 9): a kernel client moves to a new
local address mid-transfer; the server validates the new peer address
with PATH_CHALLENGE/PATH_RESPONSE and follows it."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from aioquic.asyncio import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import QuicEvent, StreamDataReceived

from kquictest.aiopeer import kernel_server
from kquictest.netns import Netem, address, netem
from kquictest.quicpair import Credentials, Pair
from kquictest.streampair import (
    connected,
    drain_events,
    events_on,
    migration_events,
    recv_msg,
)
from libquic import sockopt
from libquic.cmsg import QuicMessage, quic_sendmsg
from libquic.events import QuicEventMessage
from libquic.uapi import (
    MSG_QUIC_STREAM_FIN,
    MSG_QUIC_STREAM_NEW,
    QuicEventType,
    QuicTransportParam,
)

pytestmark = pytest.mark.timeout(180)

NEW_ADDR = {socket.AF_INET: "127.0.0.2", socket.AF_INET6: "fd00:5155::2"}
TOTAL = 6 * 1024 * 1024
CHUNK = 32 * 1024


@pytest.fixture(scope="module", autouse=True)
def ipv6_on_lo() -> Iterator[None]:
    """An extra IPv6 address on lo to migrate to (127/8 is there already)."""
    with address(NEW_ADDR[socket.AF_INET6] + "/128", "lo"):
        yield


def blob(total: int) -> bytes:
    return (hashlib.sha256(b"seed").digest() * (total // 32 + 1))[:total]


def send_blob(sk: socket.socket, data: bytes) -> None:
    for off in range(0, len(data), CHUNK):
        flags = MSG_QUIC_STREAM_NEW if off == 0 else 0
        if off + CHUNK >= len(data):
            flags |= MSG_QUIC_STREAM_FIN
        piece = data[off:off + CHUNK]
        sent = 0
        while sent < len(piece):
            sent += quic_sendmsg(sk, piece[sent:], 0, flags if sent == 0 else 0)


def receive_blob(sk: socket.socket, midway: int, action: Callable[[], None],
                 timeout: float = 90.0) -> tuple[bytes, list[QuicEventMessage]]:
    """Read stream 0 to its end; run ``action`` once ``midway`` bytes came."""
    h = hashlib.sha256()
    got = 0
    done_action = False
    events: list[QuicEventMessage] = []
    deadline = time.monotonic() + timeout
    while True:
        m: QuicMessage = recv_msg(sk, 256 * 1024, timeout=max(0.1, deadline - time.monotonic()))
        if m.is_event:
            events.append(m.event())
            continue
        h.update(m.data)
        got += len(m.data)
        if got >= midway and not done_action:
            done_action = True
            action()
        if m.fin:
            return h.digest(), events


def transfer_with(pair: Pair, action: Callable[[], None]) -> list[QuicEventMessage]:
    """Client sends TOTAL bytes; ``action`` runs midway; hash-checked."""
    data = blob(TOTAL)
    err: list[BaseException] = []

    def sender() -> None:
        try:
            send_blob(pair.client, data)
        except BaseException as exc:  # reported below
            err.append(exc)

    t = threading.Thread(target=sender)
    t.start()
    try:
        digest, events = receive_blob(pair.server, TOTAL // 3, action)
    finally:
        t.join(60)
    assert not t.is_alive(), "sender stuck"
    assert not err, err
    assert digest == hashlib.sha256(data).digest()
    return events


def mig_events(sk: socket.socket) -> list[int]:
    """The CONNECTION_MIGRATION payloads read until the first one."""
    return migration_events(drain_events(sk, QuicEventType.CONNECTION_MIGRATION))


def wait_peer(sk: socket.socket, host: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while sk.getpeername()[0] != host:
        assert time.monotonic() < deadline, f"peer still {sk.getpeername()}"
        time.sleep(0.05)


@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6], ids=["ipv4", "ipv6"])
def test_client_migrates_mid_transfer(creds: Credentials, family: int) -> None:
    setup = events_on(QuicEventType.CONNECTION_MIGRATION)
    new = NEW_ADDR[family]
    with connected(creds, family=family, server_setup=setup, client_setup=setup) as p:
        old_peer = p.server.getpeername()
        events = transfer_with(p, lambda: sockopt.migrate(p.client, (new, 0)))
        if not migration_events(events):
            events += drain_events(p.server, QuicEventType.CONNECTION_MIGRATION)
        assert migration_events(events) == [0]
        assert p.server.getpeername()[0] == new != old_peer[0]
        assert p.client.getsockname()[0] == new
        assert mig_events(p.client) == [1]
        # and the connection still works both ways on the new path
        quic_sendmsg(p.server, b"pong", 1, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN)
        m = recv_msg(p.client)
        assert (m.stream_id, m.data) == (1, b"pong")


def test_two_migrations_in_a_row(creds: Credentials) -> None:
    setup = events_on(QuicEventType.CONNECTION_MIGRATION)
    with connected(creds, server_setup=setup, client_setup=setup) as p:
        for host in ("127.0.0.2", "127.0.0.3"):
            sockopt.migrate(p.client, (host, 0))
            assert mig_events(p.client) == [1]
            quic_sendmsg(p.client, host.encode(), -1, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN)
            data: list[QuicMessage] = []
            events = drain_events(p.server, QuicEventType.CONNECTION_MIGRATION, data=data)
            assert migration_events(events) == [0]
            if not data:
                data.append(recv_msg(p.server))
            assert data[0].data == host.encode()
            assert p.server.getpeername()[0] == host


def test_second_migration_while_pending_is_eagain(creds: Credentials) -> None:
    setup = events_on(QuicEventType.CONNECTION_MIGRATION)
    with connected(creds, server_setup=setup, client_setup=setup) as p:
        with netem(Netem(delay_ms=100), "lo"):  # after the handshake
            sockopt.migrate(p.client, ("127.0.0.2", 0))
            with pytest.raises(OSError) as e:
                sockopt.migrate(p.client, ("127.0.0.3", 0))
            assert e.value.errno == errno.EAGAIN
            assert mig_events(p.client) == [1]
        assert p.client.getsockname()[0] == "127.0.0.2"
        sockopt.migrate(p.client, ("127.0.0.3", 0))  # no longer pending
        assert mig_events(p.client) == [1]


def test_migration_without_events(creds: Credentials) -> None:
    with connected(creds) as p:
        events = transfer_with(p, lambda: sockopt.migrate(p.client, ("127.0.0.2", 0)))
        assert events == []
        wait_peer(p.server, "127.0.0.2")
        quic_sendmsg(p.server, b"x", 1, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN)
        m = recv_msg(p.client)
        assert not m.is_event and m.data == b"x"


def test_disable_active_migration_is_respected(creds: Credentials) -> None:
    def server_setup(sk: socket.socket) -> None:
        sockopt.set_transport_param(sk, QuicTransportParam(disable_active_migration=1))

    with connected(creds, server_setup=server_setup) as p:
        with pytest.raises(OSError) as e:
            sockopt.migrate(p.client, ("127.0.0.2", 0))
        assert e.value.errno == errno.EPERM
        assert p.client.getsockname()[0] == "127.0.0.1"


def test_migration_rejects_bad_requests(creds: Credentials) -> None:
    with connected(creds) as p:
        for addr, code in ((("::1", 0), errno.EINVAL), (("0.0.0.0", 0), errno.EINVAL)):
            with pytest.raises(OSError) as e:
                sockopt.migrate(p.client, addr)
            assert e.value.errno == code
        # a server may migrate too (test_preferred_address.py), but not to
        # the address it has
        with pytest.raises(OSError) as e:
            sockopt.migrate(p.server, p.server.getsockname())
        assert e.value.errno == errno.EINVAL


def test_migration_to_a_new_port(creds: Credentials) -> None:
    """Same host, new port (as a NAT rebinding looks to the server)."""
    setup = events_on(QuicEventType.CONNECTION_MIGRATION)
    with connected(creds, server_setup=setup, client_setup=setup) as p:
        port = p.client.getsockname()[1]
        sockopt.migrate(p.client, ("127.0.0.1", 0))
        assert mig_events(p.client) == [1]
        assert p.client.getsockname()[1] != port
        quic_sendmsg(p.client, b"hi", -1, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN)
        data: list[QuicMessage] = []
        events = drain_events(p.server, QuicEventType.CONNECTION_MIGRATION, data=data)
        assert migration_events(events) == [0]
        assert p.server.getpeername()[1] == p.client.getsockname()[1]
        assert (data or [recv_msg(p.server)])[0].data == b"hi"


def test_failed_migration_leaves_the_connection_intact(creds: Credentials) -> None:
    """No PATH_RESPONSE ever comes (lo drops everything for a while): the
    new path is given up after its retries, silently, and the old one
    still works; a later migration succeeds."""
    setup = events_on(QuicEventType.CONNECTION_MIGRATION)
    with connected(creds, server_setup=setup, client_setup=setup) as p:
        with netem(Netem(loss=100), "lo"):
            sockopt.migrate(p.client, ("127.0.0.2", 0))
            time.sleep(1.0)
            with pytest.raises(OSError) as e:
                sockopt.migrate(p.client, ("127.0.0.3", 0))
            assert e.value.errno == errno.EAGAIN
            time.sleep(3.5)  # 7 challenges, at least 300 ms apart
        assert p.client.getsockname()[0] == "127.0.0.1"
        quic_sendmsg(p.client, b"still", -1, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN)
        m = recv_msg(p.server, timeout=30)
        assert not m.is_event and m.data == b"still"
        assert p.server.getpeername()[0] == "127.0.0.1"
        sockopt.migrate(p.client, ("127.0.0.3", 0))
        assert mig_events(p.client) == [1]


def test_server_follows_aioquic_client_rebinding(creds: Credentials) -> None:
    """aioquic's client moves to a new UDP socket on 127.0.0.2 without
    probing (as after a NAT rebinding): the kernel server validates the new
    address, switches, and reports it."""
    def serve(conn: socket.socket, _res: object) -> tuple[bytes, bytes, list[int], tuple]:
        first = recv_msg(conn)
        data: list[QuicMessage] = []
        events = drain_events(conn, QuicEventType.CONNECTION_MIGRATION, data=data)
        if not data:
            data.append(recv_msg(conn))
        peer = conn.getpeername()
        quic_sendmsg(conn, b"ok", 1, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN)
        time.sleep(1.0)
        return first.data, data[0].data, migration_events(events), peer

    async def run(port: int) -> tuple[bytes, tuple[int, int]]:
        config = QuicConfiguration(is_client=True, alpn_protocols=["mig"],
                                   server_name="localhost", cafile=creds.ca)
        got = asyncio.get_running_loop().create_future()

        sent: list[int] = []  # datagram sizes from the new address
        first_rx: list[tuple[int, int]] = []  # (size, bytes sent before)

        class Client(QuicConnectionProtocol):
            def quic_event_received(self, event: QuicEvent) -> None:
                if isinstance(event, StreamDataReceived) and not got.done():
                    got.set_result(event.data)

            def datagram_received(self, data: bytes | str, addr: tuple) -> None:
                if sent and not first_rx:
                    first_rx.append((len(data), sum(sent)))
                super().datagram_received(data, addr)

        new = None
        try:
            async with connect("127.0.0.1", port, configuration=config,
                               create_protocol=Client, wait_connected=True) as proto:
                q = proto._quic
                q.send_stream_data(q.get_next_available_stream_id(), b"old", end_stream=True)
                proto.transmit()
                await asyncio.sleep(0.3)
                old = proto._transport
                # aioquic's socket is dual-stack (v4-mapped peer addresses)
                new, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                    lambda: proto, local_addr=("::ffff:127.0.0.2", 0))
                old.close()  # the old port is gone, as after a NAT rebinding
                send = new.sendto

                def counted(data: bytes, addr: object = None) -> None:
                    sent.append(len(data))
                    send(data, addr)

                new.sendto = counted  # type: ignore[method-assign]
                q.send_stream_data(q.get_next_available_stream_id(), b"new", end_stream=True)
                proto.transmit()
                reply = await asyncio.wait_for(got, 30)
                return reply, first_rx[0]
        finally:
            if new is not None:
                new.close()

    with kernel_server(creds, "mig", serve,
                       setup=events_on(QuicEventType.CONNECTION_MIGRATION)) as server:
        try:
            reply, (challenge, before) = asyncio.run(asyncio.wait_for(run(server.port), 90))
        except TimeoutError as exc:
            reply, challenge, before = exc, 0, 0  # type: ignore[assignment]
        try:
            result: object = server.outcome()
        except BaseException as exc:  # shown by the asserts below
            result = exc
    assert reply == b"ok", (reply, result)
    assert isinstance(result, tuple), repr(result)
    first, second, mig, peer = result
    assert (first, second, mig) == (b"old", b"new", [0])
    assert peer[0] == "127.0.0.2"
    # RFC 9000 8.2.1/9.3.1: the unvalidated address gets at most 3x what
    # came from it (so the PATH_CHALLENGE is not padded to 1200 here)
    assert 0 < challenge <= 3 * before < 1200, (challenge, before)
