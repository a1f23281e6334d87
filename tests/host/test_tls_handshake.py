"""Full in-memory handshakes: our client against our server in every mode."""

from __future__ import annotations

import pytest
from tls_fixtures import (
    Side,
    run_pair,
    server_identity,
    trusted_ca,
)

from libquic.tls import (
    CipherSuite,
    Direction,
    Group,
    Level,
    TLSConfig,
    TLSEngine,
    TLSError,
)

TICKET_KEY = bytes(range(64))


def client_cfg(**kw: object) -> TLSConfig:
    base: dict[str, object] = dict(is_client=True, alpn_protocols=["h3"],
                                   server_name="localhost", transport_parameters=b"client-tp",
                                   cadata=trusted_ca().pem)
    base.update(kw)
    return TLSConfig(**base)  # type: ignore[arg-type]


def server_cfg(kind: str = "p256", **kw: object) -> TLSConfig:
    chain, key = server_identity(kind)
    base: dict[str, object] = dict(is_client=False, alpn_protocols=["h3"],
                                   transport_parameters=b"server-tp",
                                   certificate_chain=chain, private_key=key,
                                   cadata=trusted_ca().pem)
    base.update(kw)
    return TLSConfig(**base)  # type: ignore[arg-type]


def handshake(ccfg: TLSConfig, scfg: TLSConfig) -> tuple[Side, Side]:
    c, s = run_pair(TLSEngine(ccfg), TLSEngine(scfg))
    assert c.completed() and s.completed()
    assert c.engine.handshake_complete and s.engine.handshake_complete
    cs, ss = c.secrets(), s.secrets()
    for (level, direction), secret in cs.items():
        other = Direction.RECV if direction == Direction.SEND else Direction.SEND
        assert ss[(level, other)] == secret, (level, direction)
    assert c.engine.peer_transport_parameters == b"server-tp"
    assert s.engine.peer_transport_parameters == b"client-tp"
    return c, s


def fails(ccfg: TLSConfig, scfg: TLSConfig) -> TLSError:
    with pytest.raises(TLSError) as info:
        run_pair(TLSEngine(ccfg), TLSEngine(scfg))
    return info.value


def test_basic_handshake() -> None:
    c, s = handshake(client_cfg(), server_cfg())
    assert c.engine.alpn == s.engine.alpn == "h3"
    assert s.engine.server_name == "localhost"
    assert c.engine.cipher_suite == CipherSuite.TLS_AES_128_GCM_SHA256
    assert c.engine.group == Group.x25519
    assert not c.engine.session_resumed
    keys = set(c.secrets())
    assert keys == {(Level.HANDSHAKE, Direction.SEND), (Level.HANDSHAKE, Direction.RECV),
                    (Level.APP, Direction.SEND), (Level.APP, Direction.RECV)}
    assert c.engine.export_keying_material(b"x", b"", 16) == \
        s.engine.export_keying_material(b"x", b"", 16)
