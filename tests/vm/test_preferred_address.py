"""The server's preferred address (RFC 9000 9.6) and a server that
migrates, as the reference's ALPN and functional tests use them.

A server sets QUIC_SOCKOPT_CONNECTION_MIGRATION on the accepted socket
before its handshake: the kernel binds that address and offers it in
preferred_address; the client validates it once the handshake is confirmed
and moves there, and the server follows when the client's packets arrive
there.  Both then report the new address through getpeername() and
getsockname(), in the address's own family (IPv4 as AF_INET, also on a
PF_INET6 socket), which is what the reference's ALPN test compares.
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from kquictest.bulk import MB, transfer_with
from kquictest.netns import address
from kquictest.nftables import counter, nft, prepared
from kquictest.quicpair import Credentials, Pair, psk_handshake
from kquictest.streampair import drain_events, events_on, migration_events, recv_msg
from libquic import sockopt
from libquic.cmsg import quic_sendmsg
from libquic.uapi import (
    MSG_QUIC_STREAM_FIN,
    MSG_QUIC_STREAM_NEW,
    QuicEventType,
    QuicTransportParam,
    quic_socket,
)

pytestmark = pytest.mark.timeout(120)

NEW_FIN = MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN
EXTRA_V6 = "fd00:5155::7"
TOTAL = 6 * MB


@pytest.fixture(scope="module", autouse=True)
def extra_ipv6() -> Iterator[None]:
    with address(EXTRA_V6 + "/128", "lo"):
        yield


@contextmanager
def listener(bind_host: str, family: int = socket.AF_INET6,
             setup: Callable[[socket.socket], None] | None = None) -> Iterator[socket.socket]:
    lsk = quic_socket(family, socket.SOCK_STREAM)
    try:
        lsk.settimeout(20)
        if setup:
            setup(lsk)
        lsk.bind((bind_host, 0))
        lsk.listen(4)
        yield lsk
    finally:
        lsk.close()


def free_port(host: str) -> int:
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def connect(creds: Credentials, lsk: socket.socket, host: str, *, family: int = socket.AF_INET6,
            accepted_setup: Callable[[socket.socket], None] | None = None,
            client_setup: Callable[[socket.socket], None] | None = None) -> Pair:
    return psk_handshake(lsk, creds, client_family=family, address=(host, lsk.getsockname()[1]),
                     accepted_setup=accepted_setup, client_setup=client_setup)


def wait_for(what: Callable[[], object], want: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while (got := what()) != want:
        assert time.monotonic() < deadline, f"still {got!r}, want {want!r}"
        time.sleep(0.05)


def exchange(p: Pair, sid: int, text: bytes) -> None:
    quic_sendmsg(p.client, text, sid, NEW_FIN)
    m = recv_msg(p.server)
    assert (m.stream_id, m.data, m.fin) == (sid, text, True)
    quic_sendmsg(p.server, text.upper(), sid, MSG_QUIC_STREAM_FIN)
    m = recv_msg(p.client)
    assert (m.data, m.fin) == (text.upper(), True)


# The reference's four ALPN-test pairings: (listen on, connect to, preferred)
PAIRINGS = {
    "ipv4-ipv6": ("::ffff:0.0.0.0", "::ffff:127.0.0.1", EXTRA_V6),
    "ipv6-ipv4": ("::", "::1", "127.0.0.2"),
    "ipv4-ipv4": ("::ffff:0.0.0.0", "::ffff:127.0.0.1", "127.0.0.2"),
    "ipv6-ipv6": ("::", "::1", EXTRA_V6),
}


@pytest.mark.parametrize("pairing", list(PAIRINGS))
def test_client_moves_to_the_preferred_address(creds: Credentials, pairing: str) -> None:
    bind_host, host, pref = PAIRINGS[pairing]
    port = free_port(pref)
    with listener(bind_host) as lsk:
        p = connect(creds, lsk, host,
                    accepted_setup=lambda c: sockopt.set_preferred_address(c, (pref, port)))
    with p:
        exchange(p, 0, b"first")
        # the client moves once the handshake is confirmed, the server when
        # the client's packets reach the preferred address
        wait_for(lambda: p.client.getpeername()[:2], (pref, port))
        exchange(p, 4, b"on the new path")
        wait_for(lambda: p.server.getsockname()[:2], (pref, port))
        exchange(p, 8, b"both moved")
        fam = socket.AF_INET6 if ":" in pref else socket.AF_INET
        assert len(p.client.getpeername()) == (4 if fam == socket.AF_INET6 else 2)


def test_preferred_address_despite_disable_active_migration(creds: Credentials) -> None:
    """disable_active_migration does not cover the preferred address."""
    port = free_port("127.0.0.2")

    def accepted(c: socket.socket) -> None:
        sockopt.set_transport_param(c, QuicTransportParam(disable_active_migration=1))
        sockopt.set_preferred_address(c, ("127.0.0.2", port))

    with listener("127.0.0.1", socket.AF_INET) as lsk:
        p = connect(creds, lsk, "127.0.0.1", family=socket.AF_INET, accepted_setup=accepted)
    with p:
        exchange(p, 0, b"x")
        wait_for(lambda: p.client.getpeername(), ("127.0.0.2", port))
        exchange(p, 4, b"y")
        wait_for(lambda: p.server.getsockname(), ("127.0.0.2", port))
        # the client itself still may not migrate
        with pytest.raises(OSError) as e:
            sockopt.migrate(p.client, ("127.0.0.3", 0))
        assert e.value.errno == errno.EPERM


def test_unusable_preferred_address_is_ignored(creds: Credentials) -> None:
    """A PF_INET client cannot use an IPv6 preferred address: it stays."""
    port = free_port("::1")
    with listener("::", socket.AF_INET6) as lsk:
        lport = lsk.getsockname()[1]
        p = connect(creds, lsk, "127.0.0.1", family=socket.AF_INET,
                    accepted_setup=lambda c: sockopt.set_preferred_address(c, ("::1", port)))
    with p:
        exchange(p, 0, b"stay")
        time.sleep(0.5)
        exchange(p, 4, b"still")
        assert p.client.getpeername() == ("127.0.0.1", lport)
        assert p.server.getsockname() == ("127.0.0.1", lport)


def test_preferred_address_errors(creds: Credentials) -> None:
    used = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    used.bind(("127.0.0.2", 0))
    errors: dict[str, int] = {}

    def accepted(c: socket.socket) -> None:
        for name, addr in (("wildcard", ("0.0.0.0", 4433)), ("port 0", ("127.0.0.2", 0)),
                           ("in use", used.getsockname())):
            try:
                sockopt.set_preferred_address(c, addr)
            except OSError as exc:
                errors[name] = exc.errno
        sockopt.set_preferred_address(c, ("127.0.0.2", free_port("127.0.0.2")))
        try:
            sockopt.set_preferred_address(c, ("127.0.0.3", free_port("127.0.0.3")))
        except OSError as exc:
            errors["twice"] = exc.errno

    with used, listener("127.0.0.1", socket.AF_INET) as lsk:
        p = connect(creds, lsk, "127.0.0.1", family=socket.AF_INET, accepted_setup=accepted)
    with p:
        assert errors == {"wildcard": errno.EINVAL, "port 0": errno.EINVAL,
                          "in use": errno.EADDRINUSE, "twice": errno.EINVAL}
        exchange(p, 0, b"ok")


def test_ipv6_preferred_address_on_an_ipv4_socket_is_refused(creds: Credentials) -> None:
    errors: list[int] = []

    def accepted(c: socket.socket) -> None:
        try:
            sockopt.set_preferred_address(c, ("::1", 4433))
        except OSError as exc:
            errors.append(exc.errno)

    with listener("127.0.0.1", socket.AF_INET) as lsk:
        p = connect(creds, lsk, "127.0.0.1", family=socket.AF_INET, accepted_setup=accepted)
    with p:
        assert errors == [errno.EINVAL]


def test_server_migrates_and_the_client_follows(creds: Credentials) -> None:
    """The reference's functional test moves its server to port + 1 after
    the handshake; its client validates the server's new address, follows
    it and reports a peer migration (before the data sent from there)."""
    setup = events_on(QuicEventType.CONNECTION_MIGRATION)
    with listener("127.0.0.1", socket.AF_INET, setup=setup) as lsk:
        p = connect(creds, lsk, "127.0.0.1", family=socket.AF_INET, client_setup=setup)
    with p:
        exchange(p, 0, b"before")
        port = p.server.getsockname()[1] + 1
        sockopt.migrate(p.server, ("127.0.0.1", port))
        assert migration_events(drain_events(p.server, QuicEventType.CONNECTION_MIGRATION)) == [1]
        assert p.server.getsockname() == ("127.0.0.1", port)
        time.sleep(0.5)
        quic_sendmsg(p.server, b"from the new port", 1, NEW_FIN)
        data: list = []
        events = drain_events(p.client, QuicEventType.CONNECTION_MIGRATION, data=data)
        assert migration_events(events) == [0]
        assert not data, "the event comes before the data sent from the new address"
        m = recv_msg(p.client)
        assert (m.stream_id, m.data) == (1, b"from the new port")
        assert p.client.getpeername() == ("127.0.0.1", port)
        exchange(p, 4, b"after")


@pytest.mark.parametrize("direction", ["upload", "download"])
@pytest.mark.parametrize("pairing", ["ipv4-ipv4", "ipv6-ipv6"])
def test_move_to_the_preferred_address_mid_transfer(creds: Credentials, pairing: str,
                                                    direction: str) -> None:
    """The client's PATH_CHALLENGEs to the preferred address are dropped
    (nftables, counted) until a quarter of a multi-megabyte transfer has
    arrived; then the next one passes, the client moves there with the
    transfer under way, the server follows, and the data is intact.

    The next PATH_CHALLENGE comes up to max(2 PTO, 300 ms) after the drop
    is lifted, longer than the rest of the transfer may take: past half of
    it the sender trickles (4 KiB each 10 ms) until the client has moved."""
    bind_host, host, pref = PAIRINGS[pairing]
    port = free_port(pref)
    ip = "ip6" if ":" in pref else "ip"
    setup = events_on(QuicEventType.CONNECTION_MIGRATION)

    def accepted(c: socket.socket) -> None:
        setup(c)
        sockopt.set_preferred_address(c, (pref, port))

    nft("add table inet kqpref\nadd counter inet kqpref held\n"
        "add chain inet kqpref out { type filter hook output priority 0; }\n"
        f"add rule inet kqpref out {ip} daddr {pref} udp dport {port} counter name held drop\n")
    try:
        # nft is slow to start in the VM: started now, it lifts the drop at once
        with prepared("flush chain inet kqpref out\n") as lift:
            with listener(bind_host) as lsk:
                p = connect(creds, lsk, host, accepted_setup=accepted, client_setup=setup)
            with p:
                early: list[tuple[object, ...]] = []

                def lift_drop() -> None:
                    early.append(p.client.getpeername()[:2])
                    lift.commit()

                upload = direction == "upload"
                sender, receiver = (p.client, p.server) if upload else (p.server, p.client)
                def moved() -> bool:
                    return bool(p.client.getpeername()[:2] == (pref, port))

                events = transfer_with(sender, receiver, TOTAL, stream_id=0 if upload else 1,
                                       at=TOTAL // 4, action=lift_drop, timeout=30,
                                       slow=(TOTAL // 2, moved, 10))
                assert early[0] != (pref, port), "moved before the drop was lifted"
                # the receiver moved while the data was coming; each side
                # reports one move, the server's of its local address
                other = drain_events(p.client if upload else p.server,
                                     QuicEventType.CONNECTION_MIGRATION)
                server, client = (events, other) if upload else (other, events)
                assert migration_events(server) == [1]
                assert len(migration_events(client)) == 1
                wait_for(lambda: p.client.getpeername()[:2], (pref, port))
                wait_for(lambda: p.server.getsockname()[:2], (pref, port))
                exchange(p, 4, b"after the move")
        assert counter("kqpref", "held")[0] > 0, "no PATH_CHALLENGE was held back"
    finally:
        nft("delete table inet kqpref\n")
