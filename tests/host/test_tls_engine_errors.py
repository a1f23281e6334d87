"""Protocol violations seen by the engine map to the right alerts."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kquictest.tls_fixtures import client_cfg, server_cfg
from libquic.tls import (
    AlertDescription,
    Level,
    SendData,
    TLSEngine,
    TLSError,
)
from libquic.tls.messages import (
    ClientHello,
    EncryptedExtensions,
    ExtensionType,
    HandshakeType,
    ServerHello,
    frame,
)


def alert_of(fn: Callable[[], object]) -> AlertDescription | int:
    with pytest.raises(TLSError) as info:
        fn()
    return info.value.alert


def client_hello(**kw: object) -> tuple[TLSEngine, ClientHello]:
    c = TLSEngine(client_cfg(**kw))
    ev = c.start()
    raw = next(e for e in ev if isinstance(e, SendData)).data
    return c, ClientHello.decode(raw[4:])


def server_rejects(ch: ClientHello) -> AlertDescription | int:
    s = TLSEngine(server_cfg())
    return alert_of(lambda: s.receive(Level.INITIAL, ch.encode()))


def test_missing_transport_parameters() -> None:
    _, ch = client_hello()
    del ch.extensions[ExtensionType.quic_transport_parameters]
    assert server_rejects(ch) == AlertDescription.missing_extension


def test_non_empty_session_id() -> None:
    _, ch = client_hello()
    ch.legacy_session_id = b"x" * 32
    assert server_rejects(ch) == AlertDescription.illegal_parameter


def test_no_tls13() -> None:
    _, ch = client_hello()
    ch.extensions[ExtensionType.supported_versions] = b"\x02\x03\x03"
    assert server_rejects(ch) == AlertDescription.protocol_version
    del ch.extensions[ExtensionType.supported_versions]
    assert server_rejects(ch) == AlertDescription.protocol_version


def test_bad_compression() -> None:
    _, ch = client_hello()
    ch.legacy_compression_methods = b"\x01\x00"
    assert server_rejects(ch) == AlertDescription.illegal_parameter


def test_invalid_key_share() -> None:
    _, ch = client_hello()
    ch.extensions[ExtensionType.key_share] = b"\x00\x24\x00\x1d\x00\x20" + bytes(32)
    assert server_rejects(ch) == AlertDescription.illegal_parameter  # all-zero X25519


def test_key_share_not_in_supported_groups() -> None:
    _, ch = client_hello()
    ch.extensions[ExtensionType.supported_groups] = b"\x00\x02\x00\x17"
    assert server_rejects(ch) == AlertDescription.illegal_parameter


def test_wrong_level() -> None:
    _, ch = client_hello()
    s = TLSEngine(server_cfg())
    assert alert_of(lambda: s.receive(Level.HANDSHAKE, ch.encode())) == \
        AlertDescription.unexpected_message


def test_early_level_handshake_data() -> None:
    s = TLSEngine(server_cfg())
    assert alert_of(lambda: s.receive(Level.EARLY, b"\x01\x00\x00\x00")) == \
        AlertDescription.unexpected_message


def test_failed_engine_stays_failed() -> None:
    s = TLSEngine(server_cfg())
    with pytest.raises(TLSError):
        s.receive(Level.INITIAL, b"\x02\x00\x00\x00")  # ServerHello at a server
    assert alert_of(lambda: s.receive(Level.INITIAL, b"")) == AlertDescription.internal_error


def pair_until_server_flight() -> tuple[TLSEngine, list[SendData]]:
    c = TLSEngine(client_cfg())
    s = TLSEngine(server_cfg())
    ch = next(e for e in c.start() if isinstance(e, SendData))
    flight = [e for e in s.receive(Level.INITIAL, ch.data) if isinstance(e, SendData)]
    return c, flight


def feed(c: TLSEngine, flight: list[SendData]) -> None:
    for e in flight:
        c.receive(e.level, e.data)


def test_tampered_server_finished() -> None:
    c, flight = pair_until_server_flight()
    last = flight[-1]
    flight[-1] = SendData(last.level, last.data[:-1] + bytes([last.data[-1] ^ 1]))
    assert alert_of(lambda: feed(c, flight)) == AlertDescription.decrypt_error


def test_tampered_certificate_verify() -> None:
    c, flight = pair_until_server_flight()
    i = next(i for i, e in enumerate(flight) if e.data[0] == HandshakeType.certificate_verify)
    d = bytearray(flight[i].data)
    d[-5] ^= 0x40
    flight[i] = SendData(flight[i].level, bytes(d))
    assert alert_of(lambda: feed(c, flight)) == AlertDescription.decrypt_error


def test_unsolicited_encrypted_extension() -> None:
    c, flight = pair_until_server_flight()
    i = next(i for i, e in enumerate(flight) if e.data[0] == HandshakeType.encrypted_extensions)
    ee = EncryptedExtensions.decode(flight[i].data[4:])
    ee.extensions[0x1234] = b""
    flight[i] = SendData(flight[i].level, ee.encode())
    assert alert_of(lambda: feed(c, flight)) == AlertDescription.unsupported_extension


def test_forbidden_encrypted_extension() -> None:
    c, flight = pair_until_server_flight()
    i = next(i for i, e in enumerate(flight) if e.data[0] == HandshakeType.encrypted_extensions)
    ee = EncryptedExtensions.decode(flight[i].data[4:])
    ee.extensions[ExtensionType.key_share] = b""
    flight[i] = SendData(flight[i].level, ee.encode())
    assert alert_of(lambda: feed(c, flight)) == AlertDescription.illegal_parameter


def test_server_hello_unknown_suite_and_session_id() -> None:
    c, flight = pair_until_server_flight()
    sh = ServerHello.decode(flight[0].data[4:])
    sh.cipher_suite = 0x1304
    assert alert_of(lambda: c.receive(Level.INITIAL, sh.encode())) == \
        AlertDescription.illegal_parameter
    c, flight = pair_until_server_flight()
    sh = ServerHello.decode(flight[0].data[4:])
    sh.legacy_session_id = b"x"
    assert alert_of(lambda: c.receive(Level.INITIAL, sh.encode())) == \
        AlertDescription.illegal_parameter


def test_leftover_data_at_old_level() -> None:
    c, flight = pair_until_server_flight()
    assert alert_of(lambda: c.receive(Level.INITIAL, flight[0].data + b"\x08\x00")) == \
        AlertDescription.unexpected_message


def test_key_update_rejected() -> None:
    c, flight = pair_until_server_flight()
    feed(c, flight)
    assert c.handshake_complete
    assert alert_of(lambda: c.receive(Level.APP, frame(HandshakeType.key_update, b"\x00"))) \
        == AlertDescription.unexpected_message


def test_end_of_early_data_rejected() -> None:
    s = TLSEngine(server_cfg())
    assert alert_of(lambda: s.receive(Level.INITIAL, frame(HandshakeType.end_of_early_data,
                                                           b""))) == \
        AlertDescription.unexpected_message


def test_split_delivery() -> None:
    # byte-by-byte delivery reassembles messages across calls
    c = TLSEngine(client_cfg())
    s = TLSEngine(server_cfg())
    ch = next(e for e in c.start() if isinstance(e, SendData)).data
    events = []
    for i in range(len(ch)):
        events += s.receive(Level.INITIAL, ch[i:i + 1])
    flight = [e for e in events if isinstance(e, SendData)]
    for e in flight:
        for i in range(0, len(e.data), 7):
            c.receive(e.level, e.data[i:i + 7])
    assert c.handshake_complete
