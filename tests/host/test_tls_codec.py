"""Message and extension codecs: round trips and malformed input."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest

from kquictest.tls_fixtures import CLIENT_HELLO, SERVER_HELLO
from libquic.tls.codec import Reader, Writer
from libquic.tls.errors import AlertDescription, TLSError
from libquic.tls.messages import (
    Certificate,
    CertificateEntry,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    EncryptedExtensions,
    ExtensionType,
    Finished,
    NewSessionTicket,
    PskIdentity,
    ServerHello,
    decode_alpn,
    decode_key_share_ch,
    decode_key_share_sh,
    decode_pre_shared_key_ch,
    decode_psk_modes,
    decode_server_name,
    decode_supported_versions_ch,
    decode_u16_list,
    encode_alpn,
    encode_key_share_ch,
    encode_key_share_sh,
    encode_pre_shared_key_ch,
    encode_psk_modes,
    encode_server_name,
    encode_supported_versions_ch,
    encode_u16_list,
    split_message,
)

DECODE = AlertDescription.decode_error
ILLEGAL = AlertDescription.illegal_parameter


def alert_of(fn: Callable[[], object]) -> AlertDescription | int:
    with pytest.raises(TLSError) as info:
        fn()
    return info.value.alert


SAMPLES = [
    (ClientHello, ClientHello(random=b"r" * 32, cipher_suites=[0x1301, 0x1302],
                              extensions={0x39: b"tp", 16: encode_alpn([b"h3"])})),
    (ServerHello, ServerHello(random=b"s" * 32, cipher_suite=0x1301,
                              extensions={43: b"\x03\x04"})),
    (EncryptedExtensions, EncryptedExtensions({0x39: b"abc", 16: encode_alpn([b"x"])})),
    (Certificate, Certificate(b"", [CertificateEntry(b"\x30\x03abc"),
                                    CertificateEntry(b"der2", {5: b""})])),
    (CertificateRequest, CertificateRequest(b"", {13: encode_u16_list([0x0403])})),
    (CertificateVerify, CertificateVerify(0x0804, b"sig" * 10)),
    (Finished, Finished(b"f" * 32)),
    (NewSessionTicket, NewSessionTicket(3600, 12345, b"\x00\x01", b"ticket",
                                        {42: b"\xff\xff\xff\xff"})),
]


@pytest.mark.parametrize("cls,msg", SAMPLES, ids=[c.__name__ for c, _ in SAMPLES])
def test_roundtrip(cls: type, msg: object) -> None:
    raw = msg.encode()  # type: ignore[attr-defined]
    buf = bytearray(raw)
    _mtype, body, whole = split_message(buf)  # type: ignore[misc]
    assert whole == raw and not buf
    again = cls.decode(body)  # type: ignore[attr-defined]
    assert again.encode() == raw


# Finished is raw verify_data: its length is checked by the engine
# (test_tls_engine_errors covers a bad Finished), so it has no truncation case.
LENGTH_PREFIXED = [(c, m) for c, m in SAMPLES if c is not Finished]


@pytest.mark.parametrize("cls,msg", LENGTH_PREFIXED, ids=[c.__name__ for c, _ in LENGTH_PREFIXED])
def test_truncation_is_decode_error(cls: type, msg: object) -> None:
    body = msg.encode()[4:]  # type: ignore[attr-defined]
    for n in range(len(body)):
        try:
            cls.decode(body[:n])  # type: ignore[attr-defined]
        except TLSError as exc:
            assert exc.alert in (DECODE, AlertDescription.missing_extension), n
        else:
            # a prefix can only parse if it ends exactly at an optional boundary
            pytest.fail(f"{cls.__name__} prefix of {n} bytes parsed")


@pytest.mark.parametrize("cls,msg", SAMPLES, ids=[c.__name__ for c, _ in SAMPLES])
def test_trailing_bytes_are_decode_error(cls: type, msg: object) -> None:
    if cls is Finished:
        return
    body = msg.encode()[4:] + b"\x00"  # type: ignore[attr-defined]
    assert alert_of(lambda: cls.decode(body)) == DECODE  # type: ignore[attr-defined]


def test_rfc8448_messages_all_prefixes() -> None:
    for n in range(4, len(CLIENT_HELLO)):
        assert alert_of(functools.partial(ClientHello.decode, CLIENT_HELLO[4:n])) == DECODE
    for n in range(4, len(SERVER_HELLO)):
        assert alert_of(functools.partial(ServerHello.decode, SERVER_HELLO[4:n])) == DECODE


def test_duplicate_extension_is_illegal_parameter() -> None:
    w = Writer()
    w.u16(0x0303)
    w.raw(b"r" * 32)
    w.vec(1, b"")
    w.vec(2, b"\x13\x01")
    w.vec(1, b"\x00")
    with w.prefixed(2):
        for _ in range(2):
            w.u16(0x39)
            w.vec(2, b"x")
    assert alert_of(lambda: ClientHello.decode(w.getvalue())) == ILLEGAL


def test_extension_length_overflow() -> None:
    ee = bytearray(EncryptedExtensions({0x39: b"abc"}).encode()[4:])
    ee[5] = 0x10  # extension body length beyond the block
    assert alert_of(lambda: EncryptedExtensions.decode(bytes(ee))) == DECODE


def test_client_hello_odd_suites_and_empty_compression() -> None:
    w = Writer()
    w.u16(0x0303)
    w.raw(b"r" * 32)
    w.vec(1, b"")
    w.vec(2, b"\x13\x01\x13")
    w.vec(1, b"\x00")
    w.vec(2, b"")
    assert alert_of(lambda: ClientHello.decode(w.getvalue())) == DECODE
    w = Writer()
    w.u16(0x0303)
    w.raw(b"r" * 32)
    w.vec(1, b"")
    w.vec(2, b"\x13\x01")
    w.vec(1, b"")
    w.vec(2, b"")
    assert alert_of(lambda: ClientHello.decode(w.getvalue())) == DECODE


def test_session_id_too_long() -> None:
    w = Writer()
    w.u16(0x0303)
    w.raw(b"r" * 32)
    w.vec(1, b"s" * 33)
    w.vec(2, b"\x13\x01")
    w.vec(1, b"\x00")
    w.vec(2, b"")
    assert alert_of(lambda: ClientHello.decode(w.getvalue())) == DECODE


def test_pre_shared_key_must_be_last() -> None:
    psk = encode_pre_shared_key_ch([PskIdentity(b"id", 1)], [b"b" * 32])
    ch = ClientHello(random=b"r" * 32, cipher_suites=[0x1301],
                     extensions={ExtensionType.pre_shared_key: psk, 0x39: b""})
    assert alert_of(lambda: ClientHello.decode(ch.encode()[4:])) == ILLEGAL
    ch = ClientHello(random=b"r" * 32, cipher_suites=[0x1301],
                     extensions={0x39: b"", ExtensionType.pre_shared_key: psk})
    raw = ch.encode()
    parsed = ClientHello.decode(raw[4:])
    # the binders list (2-byte length, 1-byte length, 32 bytes) ends the message
    assert parsed.binders_offset == len(raw) - 35


def test_pre_shared_key_codec() -> None:
    idents = [PskIdentity(b"one", 7), PskIdentity(b"two", 9)]
    body = encode_pre_shared_key_ch(idents, [b"a" * 32, b"b" * 48])
    assert decode_pre_shared_key_ch(body) == (idents, [b"a" * 32, b"b" * 48])
    bad = encode_pre_shared_key_ch(idents, [b"a" * 32])
    assert alert_of(lambda: decode_pre_shared_key_ch(bad)) == ILLEGAL
    short = encode_pre_shared_key_ch(idents[:1], [b"a" * 8])
    assert alert_of(lambda: decode_pre_shared_key_ch(short)) == DECODE


def test_certificate_codec_errors() -> None:
    ok = Certificate(b"", [CertificateEntry(b"x")]).encode()[4:]
    # empty cert_data
    bad = Certificate(b"", [CertificateEntry(b"")]).encode()[4:]
    assert alert_of(lambda: Certificate.decode(bad)) == DECODE
    Certificate.decode(ok)
    # a list length that disagrees with its content
    mangled = bytearray(ok)
    mangled[3] += 1
    assert alert_of(lambda: Certificate.decode(bytes(mangled))) == DECODE


def test_certificate_request_needs_signature_algorithms() -> None:
    body = CertificateRequest(b"", {0x39: b""}).encode()[4:]
    assert alert_of(lambda: CertificateRequest.decode(body)) == \
        AlertDescription.missing_extension


def test_certificate_verify_empty_signature() -> None:
    assert alert_of(lambda: CertificateVerify.decode(b"\x08\x04\x00\x00")) == DECODE


def test_new_session_ticket_errors() -> None:
    body = NewSessionTicket(1, 2, b"", b"", {}).encode()[4:]
    assert alert_of(lambda: NewSessionTicket.decode(body)) == DECODE  # empty ticket
    body = NewSessionTicket(1, 2, b"", b"t", {42: b"\x00\x01"}).encode()[4:]
    assert alert_of(lambda: NewSessionTicket.decode(body)) == DECODE  # bad early_data
    nst = NewSessionTicket.decode(NewSessionTicket(1, 2, b"", b"t", {42: b"\x00\x00\x10\x00"})
                                  .encode()[4:])
    assert nst.max_early_data_size == 4096


def test_split_message() -> None:
    buf = bytearray(Finished(b"x" * 32).encode() + b"\x14\x00")
    mtype, body, _ = split_message(buf)  # type: ignore[misc]
    assert mtype == 20 and body == b"x" * 32 and buf == b"\x14\x00"
    assert split_message(buf) is None
    huge = bytearray(b"\x01\xff\xff\xff")
    assert alert_of(lambda: split_message(huge)) == DECODE


# -- extension bodies --------------------------------------------------------------

def test_alpn_codec() -> None:
    assert decode_alpn(encode_alpn([b"h3", b"smbd"])) == [b"h3", b"smbd"]
    assert alert_of(lambda: decode_alpn(b"\x00\x00")) == DECODE  # empty list
    assert alert_of(lambda: decode_alpn(b"\x00\x02\x00\x00")) == DECODE  # empty name
    assert alert_of(lambda: decode_alpn(b"\x00\x04\x03h3")) == DECODE  # truncated
    with pytest.raises(ValueError):
        encode_alpn([b""])


def test_server_name_codec() -> None:
    assert decode_server_name(encode_server_name("example.com")) == "example.com"
    assert alert_of(lambda: decode_server_name(b"\x00\x00")) == DECODE
    two = b"\x00\x0a" + b"\x00\x00\x02ab" + b"\x00\x00\x02cd"
    assert alert_of(lambda: decode_server_name(two)) == ILLEGAL
    other = b"\x00\x05\x01\x00\x02ab"
    assert decode_server_name(other) is None


def test_key_share_codec() -> None:
    shares = [(0x1D, b"k" * 32), (0x17, b"p" * 65)]
    assert decode_key_share_ch(encode_key_share_ch(shares)) == shares
    dup = encode_key_share_ch([(0x1D, b"a"), (0x1D, b"b")])
    assert alert_of(lambda: decode_key_share_ch(dup)) == ILLEGAL
    assert decode_key_share_sh(encode_key_share_sh(0x1D, b"z" * 32)) == (0x1D, b"z" * 32)
    assert alert_of(lambda: decode_key_share_sh(b"\x00\x1d\x00\x00")) == DECODE


def test_misc_lists() -> None:
    assert decode_u16_list(encode_u16_list([1, 2, 3]), "x") == [1, 2, 3]
    assert alert_of(lambda: decode_u16_list(b"\x00\x03\x00\x01\x00", "x")) == DECODE
    assert alert_of(lambda: decode_u16_list(b"\x00\x00", "x")) == DECODE
    assert decode_supported_versions_ch(encode_supported_versions_ch([0x0304])) == [0x0304]
    assert decode_psk_modes(encode_psk_modes([1])) == [1]
    assert alert_of(lambda: decode_psk_modes(b"\x00")) == DECODE


def test_reader_bounds() -> None:
    r = Reader(b"\x00\x05abc", "t")
    assert alert_of(lambda: r.vec(2)) == DECODE
    r = Reader(b"\x01", "t")
    assert alert_of(r.u16) == DECODE
    r = Reader(b"\x00\x02ab\x00\x01c", "t")
    sub = r.sub(2)
    assert sub.raw(2) == b"ab" and sub.eof()
    assert alert_of(lambda: sub.u8()) == DECODE
    assert r.vec(2) == b"c"
    r.expect_end()
