"""A TLS server finding external PSKs by the identity a client offers
(``TLSConfig.psk_lookup``), instead of from a fixed list."""

from __future__ import annotations

import pytest

from kquictest.tls_fixtures import run_pair
from libquic.tls import AlertDescription, ExternalPSK, PskLookup, TLSConfig, TLSEngine, TLSError

KEY1 = bytes(range(32))
KEY2 = bytes(range(100, 132))


class Lookup:
    """Keys by identity; records what is asked and hands out bytearrays."""

    def __init__(self, keys: dict[bytes, bytes]) -> None:
        self.keys = keys
        self.asked: list[bytes] = []
        self.handed_out: list[bytearray] = []

    def __call__(self, identity: bytes) -> bytearray | None:
        self.asked.append(identity)
        key = self.keys.get(identity)
        if key is None:
            return None
        self.handed_out.append(bytearray(key))
        return self.handed_out[-1]


def configs(client_psk: ExternalPSK, lookup: PskLookup | None, **skw: object
            ) -> tuple[TLSConfig, TLSConfig]:
    client = TLSConfig(is_client=True, alpn_protocols=["smbd"], transport_parameters=b"c",
                       psks=[client_psk])
    server = TLSConfig(is_client=False, alpn_protocols=["smbd"], transport_parameters=b"s",
                       psk_lookup=lookup, **skw)  # type: ignore[arg-type]
    return client, server


def test_server_with_only_a_lookup() -> None:
    lookup = Lookup({b"test1": KEY1, b"test2": KEY2})
    ccfg, scfg = configs(ExternalPSK(b"test2", KEY2), lookup)
    server = TLSEngine(scfg)  # no certificate and no psks: the look-up will do
    c, s = run_pair(TLSEngine(ccfg), server)
    assert c.completed() and s.completed()
    assert server.psk_identity == b"test2" and not server.session_resumed
    assert lookup.asked == [b"test2"]
    server.close()
    assert lookup.handed_out == [bytearray(32)]  # the engine wiped the key it was given


def test_server_needs_a_certificate_psks_or_a_lookup() -> None:
    with pytest.raises(ValueError, match="certificate and key, or PSKs"):
        TLSEngine(TLSConfig(is_client=False))


def test_configured_psks_come_first_and_bytes_are_accepted() -> None:
    asked: list[bytes] = []

    def lookup(identity: bytes) -> bytes | None:
        asked.append(identity)
        return KEY2

    ccfg, scfg = configs(ExternalPSK(b"alice", KEY1), lookup,
                         psks=[ExternalPSK(b"alice", KEY1)])
    c, s = run_pair(TLSEngine(ccfg), TLSEngine(scfg))
    assert c.completed() and s.completed() and asked == []
    ccfg, scfg = configs(ExternalPSK(b"bob", KEY2), lookup)
    c, s = run_pair(TLSEngine(ccfg), TLSEngine(scfg))
    assert c.completed() and s.completed() and asked == [b"bob"]


@pytest.mark.parametrize(("identity", "key", "alert"), [
    (b"nobody", KEY1, AlertDescription.unknown_psk_identity),
    (b"test1", KEY2, AlertDescription.decrypt_error),  # the binder does not verify
])
def test_refusals(identity: bytes, key: bytes, alert: AlertDescription) -> None:
    lookup = Lookup({b"test1": KEY1})
    ccfg, scfg = configs(ExternalPSK(identity, key), lookup)
    with pytest.raises(TLSError) as info:
        run_pair(TLSEngine(ccfg), TLSEngine(scfg))
    assert info.value.alert == alert and lookup.asked == [identity]
    assert all(not any(k) for k in lookup.handed_out)  # a key that failed is wiped


def test_empty_key_is_unknown() -> None:
    ccfg, scfg = configs(ExternalPSK(b"test1", KEY1), lambda identity: b"")
    with pytest.raises(TLSError) as info:
        run_pair(TLSEngine(ccfg), TLSEngine(scfg))
    assert info.value.alert == AlertDescription.unknown_psk_identity


def test_hello_retry_request_wipes_the_first_key() -> None:
    lookup = Lookup({b"test1": KEY1})
    ccfg, scfg = configs(ExternalPSK(b"test1", KEY1), lookup,
                         groups=[0x0018])  # secp384r1: the client shares x25519
    server = TLSEngine(scfg)
    c, s = run_pair(TLSEngine(ccfg), server)
    assert c.completed() and s.completed() and server.psk_identity == b"test1"
    assert lookup.asked == [b"test1", b"test1"]  # both ClientHellos
    assert len(lookup.handed_out) == 2 and not any(lookup.handed_out[0])
