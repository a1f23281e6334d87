"""Interoperability with aioquic's sans-I/O TLS context, in memory, both ways."""

from __future__ import annotations

from typing import Any

import pytest

from kquictest.tls_fixtures import client_identity, server_identity, trusted_ca

aioquic_tls = pytest.importorskip("aioquic.tls")
from aioquic.buffer import Buffer  # noqa: E402

from libquic.tls import (  # noqa: E402
    CipherSuite,
    ClientAuth,
    Direction,
    Group,
    HandshakeComplete,
    InstallSecret,
    Level,
    SendData,
    SessionTicketReceived,
    TLSConfig,
    TLSEngine,
    TLSError,
)

Epoch = aioquic_tls.Epoch
EPOCH_OF = {Level.INITIAL: Epoch.INITIAL, Level.HANDSHAKE: Epoch.HANDSHAKE,
            Level.APP: Epoch.ONE_RTT, Level.EARLY: Epoch.ZERO_RTT}
LEVEL_OF = {v: k for k, v in EPOCH_OF.items()}
TP_EXT = 0x39


class AioSide:
    def __init__(self, ctx: Any, tp: bytes) -> None:
        self.ctx = ctx
        ctx.handshake_extensions = [(TP_EXT, tp)]
        self.secrets: dict[tuple[Level, Direction], bytes] = {}
        self.tickets: list[Any] = []

        def on_key(direction: Any, epoch: Any, suite: Any, secret: bytes) -> None:
            d = Direction.SEND if direction == aioquic_tls.Direction.ENCRYPT else Direction.RECV
            self.secrets[(LEVEL_OF[epoch], d)] = secret
        ctx.update_traffic_key_cb = on_key

    def feed(self, level: Level, data: bytes) -> list[tuple[Level, bytes]]:
        bufs = {e: Buffer(capacity=65536) for e in (Epoch.INITIAL, Epoch.HANDSHAKE,
                                                     Epoch.ONE_RTT)}
        self.ctx.handle_message(data, bufs)
        return [(LEVEL_OF[e], b.data) for e, b in bufs.items() if b.data]

    def peer_tp(self) -> bytes | None:
        for t, v in self.ctx.received_extensions or []:
            if t == TP_EXT:
                return bytes(v)
        return None


def our_secrets(events: list[Any]) -> dict[tuple[Level, Direction], bytes]:
    return {(e.level, e.direction): bytes(e.secret) for e in events
            if isinstance(e, InstallSecret)}


def run(ours: TLSEngine, theirs: AioSide) -> list[Any]:
    """Shuttle bytes until both sides are quiet; returns our events."""
    events: list[Any] = []
    to_them: list[tuple[Level, bytes]] = []
    to_us: list[tuple[Level, bytes]] = []

    def take(evs: list[Any]) -> None:
        events.extend(evs)
        to_them.extend((e.level, e.data) for e in evs if isinstance(e, SendData))

    if ours.is_client:
        take(ours.start())
    else:
        to_us.extend(theirs.feed(Level.INITIAL, b""))
    for _ in range(50):
        if not to_them and not to_us:
            break
        while to_them:
            lv, data = to_them.pop(0)
            to_us.extend(theirs.feed(lv, data))
        while to_us:
            lv, data = to_us.pop(0)
            take(ours.receive(lv, data))
    return events


def mirrored(ours: dict[tuple[Level, Direction], bytes],
             theirs: dict[tuple[Level, Direction], bytes]) -> None:
    for (lv, d), secret in ours.items():
        other = Direction.RECV if d == Direction.SEND else Direction.SEND
        assert theirs[(lv, other)] == secret, (lv, d)
    assert len(ours) == len(theirs)


def aio_server(**kw: Any) -> AioSide:
    chain, key = server_identity("p256")
    ctx = aioquic_tls.Context(is_client=False, alpn_protocols=kw.pop("alpn", ["h3"]), **kw)
    ctx.certificate = chain[0]
    ctx.certificate_private_key = key
    return AioSide(ctx, b"aio-server-tp")


def aio_client(**kw: Any) -> AioSide:
    ctx = aioquic_tls.Context(is_client=True, alpn_protocols=kw.pop("alpn", ["h3"]),
                              cadata=trusted_ca().pem, server_name="localhost", **kw)
    return AioSide(ctx, b"aio-client-tp")


def our_client(**kw: Any) -> TLSEngine:
    base: dict[str, Any] = dict(is_client=True, alpn_protocols=["h3"], server_name="localhost",
                                transport_parameters=b"our-client-tp", cadata=trusted_ca().pem)
    base.update(kw)
    return TLSEngine(TLSConfig(**base))


def our_server(kind: str = "p256", **kw: Any) -> TLSEngine:
    chain, key = server_identity(kind)
    base: dict[str, Any] = dict(is_client=False, alpn_protocols=["h3"],
                                transport_parameters=b"our-server-tp",
                                certificate_chain=chain, private_key=key,
                                cadata=trusted_ca().pem)
    base.update(kw)
    return TLSEngine(TLSConfig(**base))


# -- our client <-> aioquic server ---------------------------------------------

@pytest.mark.parametrize("suite", list(CipherSuite))
def test_our_client_aioquic_server(suite: CipherSuite) -> None:
    srv = aio_server()
    cli = our_client(cipher_suites=[suite])
    events = run(cli, srv)
    assert cli.handshake_complete and any(isinstance(e, HandshakeComplete) for e in events)
    assert cli.cipher_suite == suite
    assert cli.alpn == "h3" and srv.ctx.alpn_negotiated == "h3"
    assert cli.peer_transport_parameters == b"aio-server-tp"
    assert srv.peer_tp() == b"our-client-tp"
    mirrored(our_secrets(events), srv.secrets)


@pytest.mark.parametrize("group", [Group.secp256r1, Group.secp384r1])
def test_our_client_aioquic_server_groups(group: Group) -> None:
    srv = aio_server()
    cli = our_client(groups=[group], key_share_groups=[group])
    mirrored(our_secrets(run(cli, srv)), srv.secrets)
    assert cli.group == group


def test_our_client_aioquic_server_second_share() -> None:
    # aioquic's server has no HelloRetryRequest: offer a second share it can use
    srv = aio_server()
    srv.ctx._supported_groups = [aioquic_tls.Group.SECP256R1]
    cli = our_client(key_share_groups=[Group.x25519, Group.secp256r1])
    mirrored(our_secrets(run(cli, srv)), srv.secrets)
    assert cli.group == Group.secp256r1


def test_our_client_aioquic_server_alpn_mismatch() -> None:
    srv = aio_server(alpn=["smbd"])
    with pytest.raises(aioquic_tls.AlertNoApplicationProtocol):
        run(our_client(), srv)


def test_our_client_rejects_aioquic_server_without_alpn() -> None:
    srv = aio_server(alpn=None)
    with pytest.raises(TLSError) as info:
        run(our_client(), srv)
    assert info.value.quic_error_code == 0x178


def test_our_client_verifies_aioquic_server_name() -> None:
    with pytest.raises(TLSError) as info:
        run(our_client(server_name="other.example"), aio_server())
    assert info.value.quic_error_code == 0x100 + 42


def test_our_client_aioquic_server_client_cert() -> None:
    srv = aio_server(cadata=trusted_ca().pem)
    srv.ctx._request_client_certificate = True
    chain, key = client_identity()
    cli = our_client(certificate_chain=chain, private_key=key)
    mirrored(our_secrets(run(cli, srv)), srv.secrets)


def test_our_client_aioquic_server_resumption_and_0rtt() -> None:
    store: dict[bytes, Any] = {}
    srv = aio_server(max_early_data=0xFFFFFFFF)
    srv.ctx.new_session_ticket_cb = lambda t: store.__setitem__(t.ticket, t)
    cli = our_client()
    events = run(cli, srv)
    tickets = [e.session for e in events if isinstance(e, SessionTicketReceived)]
    assert len(tickets) == 1 and tickets[0].max_early_data == 0xFFFFFFFF

    srv2 = aio_server(max_early_data=0xFFFFFFFF)
    srv2.ctx.get_session_ticket_cb = store.get
    cli2 = our_client(session=tickets[0], early_data=True)
    events = run(cli2, srv2)
    assert cli2.session_resumed and cli2.early_data_accepted
    ours = our_secrets(events)
    assert ours[(Level.EARLY, Direction.SEND)] == srv2.secrets[(Level.EARLY, Direction.RECV)]
    mirrored(ours, srv2.secrets)


# -- aioquic client <-> our server ---------------------------------------------

@pytest.mark.parametrize("kind", ["p256", "p384", "rsa", "ed25519"])
def test_aioquic_client_our_server(kind: str) -> None:
    cli = aio_client()
    srv = our_server(kind)
    events = run(srv, cli)
    assert srv.handshake_complete and cli.ctx.alpn_negotiated == "h3"
    assert srv.peer_transport_parameters == b"aio-client-tp"
    assert cli.peer_tp() == b"our-server-tp"
    mirrored(our_secrets(events), cli.secrets)


@pytest.mark.parametrize("suite", list(CipherSuite))
def test_aioquic_client_our_server_suites(suite: CipherSuite) -> None:
    cli = aio_client()
    srv = our_server(cipher_suites=[suite])
    mirrored(our_secrets(run(srv, cli)), cli.secrets)
    assert srv.cipher_suite == suite


@pytest.mark.parametrize("group", [Group.secp384r1, Group.secp256r1, Group.x25519])
def test_aioquic_client_our_server_groups(group: Group) -> None:
    cli = aio_client()
    srv = our_server(groups=[group])
    mirrored(our_secrets(run(srv, cli)), cli.secrets)
    assert srv.group == group


def test_aioquic_client_our_server_alpn_mismatch() -> None:
    with pytest.raises(TLSError) as info:
        run(our_server(alpn_protocols=["smbd"]), aio_client())
    assert info.value.quic_error_code == 0x178


def test_aioquic_client_our_server_client_cert() -> None:
    chain, key = client_identity()
    cli = aio_client()
    cli.ctx.certificate = chain[0]
    cli.ctx.certificate_private_key = key
    srv = our_server(client_auth=ClientAuth.REQUIRE)
    mirrored(our_secrets(run(srv, cli)), cli.secrets)
    assert srv.peer_certificates[0] == chain[0]


def test_aioquic_client_our_server_resumption_and_0rtt() -> None:
    key = bytes(range(64))
    got: list[Any] = []
    cli = aio_client()
    cli.ctx.new_session_ticket_cb = got.append
    srv = our_server(ticket_key=key, early_data=True)
    run(srv, cli)
    assert len(got) == 1 and got[0].max_early_data_size == 0xFFFFFFFF

    from libquic.tls import ReplayRegister
    cli2 = aio_client()
    cli2.ctx.session_ticket = got[0]
    srv2 = our_server(ticket_key=key, early_data=True, replay_register=ReplayRegister())
    events = run(srv2, cli2)
    assert srv2.session_resumed and srv2.early_data_accepted
    ours = our_secrets(events)
    assert ours[(Level.EARLY, Direction.RECV)] == cli2.secrets[(Level.EARLY, Direction.SEND)]
    mirrored(ours, cli2.secrets)
