"""Handshake message and extension codecs (RFC 8446 §4, RFC 9001 §8.2).

Messages keep their extensions as an ordered ``dict[int, bytes]`` of raw
bodies; the ``encode_*``/``decode_*`` helpers below convert individual
extension bodies.  Decoders reject truncation and trailing bytes with
``decode_error`` and duplicate extensions with ``illegal_parameter``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from .codec import Reader, Writer
from .errors import AlertDescription, TLSError, decode_error, illegal_parameter

__all__ = [
    "HRR_RANDOM",
    "MAX_MESSAGE_SIZE",
    "TLS_VERSION_1_2",
    "TLS_VERSION_1_3",
    "Certificate",
    "CertificateEntry",
    "CertificateRequest",
    "CertificateVerify",
    "ClientHello",
    "EncryptedExtensions",
    "ExtensionType",
    "Extensions",
    "Finished",
    "HandshakeType",
    "NewSessionTicket",
    "PskIdentity",
    "PskKeyExchangeMode",
    "ServerHello",
    "decode_alpn",
    "decode_key_share_ch",
    "decode_key_share_sh",
    "decode_pre_shared_key_ch",
    "decode_psk_modes",
    "decode_server_name",
    "decode_supported_versions_ch",
    "decode_u16",
    "decode_u16_list",
    "encode_alpn",
    "encode_key_share_ch",
    "encode_key_share_sh",
    "encode_pre_shared_key_ch",
    "encode_psk_modes",
    "encode_server_name",
    "encode_supported_versions_ch",
    "encode_u16_list",
    "encode_u32",
    "frame",
    "split_message",
]

TLS_VERSION_1_2 = 0x0303
TLS_VERSION_1_3 = 0x0304

# SHA-256("HelloRetryRequest"), RFC 8446 §4.1.3
HRR_RANDOM = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")

MAX_MESSAGE_SIZE = 1 << 18


class HandshakeType(IntEnum):
    client_hello = 1
    server_hello = 2
    new_session_ticket = 4
    end_of_early_data = 5
    encrypted_extensions = 8
    certificate = 11
    certificate_request = 13
    certificate_verify = 15
    finished = 20
    key_update = 24
    message_hash = 254


class ExtensionType(IntEnum):
    server_name = 0
    supported_groups = 10
    signature_algorithms = 13
    application_layer_protocol_negotiation = 16
    pre_shared_key = 41
    early_data = 42
    supported_versions = 43
    cookie = 44
    psk_key_exchange_modes = 45
    certificate_authorities = 47
    signature_algorithms_cert = 50
    key_share = 51
    quic_transport_parameters = 0x39


class PskKeyExchangeMode(IntEnum):
    psk_ke = 0
    psk_dhe_ke = 1


Extensions = dict[int, bytes]


def _ext_name(ext: int) -> str:
    try:
        return ExtensionType(ext).name
    except ValueError:
        return f"extension 0x{ext:04x}"


# ---------------------------------------------------------------------------
# framing

def frame(msg_type: int, body: bytes) -> bytes:
    if len(body) >= 1 << 24:
        raise ValueError("handshake message too large")
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def split_message(buf: bytearray) -> tuple[int, bytes, bytes] | None:
    """Pop one complete handshake message from ``buf``.

    Returns (type, body, whole message) or None if more data is needed.
    """
    if len(buf) < 4:
        return None
    n = int.from_bytes(buf[1:4], "big")
    if n > MAX_MESSAGE_SIZE:
        raise decode_error(
            f"handshake message of {n} bytes exceeds the {MAX_MESSAGE_SIZE} limit")
    if len(buf) < 4 + n:
        return None
    whole = bytes(buf[:4 + n])
    del buf[:4 + n]
    return whole[0], whole[4:], whole


def _encode_extensions(w: Writer, exts: Extensions) -> None:
    with w.prefixed(2):
        for etype, body in exts.items():
            w.u16(etype)
            w.vec(2, body)


def _decode_extensions(r: Reader, what: str) -> tuple[Extensions, int]:
    """Decode an extension block; returns (extensions, offset of the last one)."""
    er = r.sub(2, what=f"{what} extensions")
    exts: Extensions = {}
    last = -1
    while not er.eof():
        last = er.pos
        etype = er.u16()
        body = er.vec(2, what=f"{what} {_ext_name(etype)}")
        if etype in exts:
            raise illegal_parameter(f"{what}: duplicate {_ext_name(etype)}")
        exts[etype] = body
    return exts, last


# ---------------------------------------------------------------------------
# messages

@dataclass
class ClientHello:
    random: bytes
    legacy_session_id: bytes = b""
    cipher_suites: list[int] = field(default_factory=list)
    legacy_compression_methods: bytes = b"\x00"
    extensions: Extensions = field(default_factory=dict)
    legacy_version: int = TLS_VERSION_1_2
    # offset of the binders list (its 2-byte length) in the framed message
    binders_offset: int | None = None

    def encode(self) -> bytes:
        w = Writer()
        w.u16(self.legacy_version)
        w.raw(self.random)
        w.vec(1, self.legacy_session_id)
        with w.prefixed(2):
            for s in self.cipher_suites:
                w.u16(s)
        w.vec(1, self.legacy_compression_methods)
        _encode_extensions(w, self.extensions)
        return frame(HandshakeType.client_hello, w.getvalue())

    @classmethod
    def decode(cls, body: bytes) -> ClientHello:
        r = Reader(body, "ClientHello")
        version = r.u16()
        random = r.raw(32)
        sid = r.vec(1, max_len=32, what="ClientHello legacy_session_id")
        cs = r.sub(2, min_len=2, what="ClientHello cipher_suites")
        if cs.remaining % 2:
            raise decode_error("ClientHello cipher_suites: odd length")
        suites = [cs.u16() for _ in range(cs.remaining // 2)]
        comp = r.vec(1, min_len=1, what="ClientHello compression_methods")
        exts, last = _decode_extensions(r, "ClientHello")
        r.expect_end()
        hello = cls(random=random, legacy_session_id=sid, cipher_suites=suites,
                    legacy_compression_methods=comp, extensions=exts,
                    legacy_version=version)
        if ExtensionType.pre_shared_key in exts:
            if list(exts)[-1] != ExtensionType.pre_shared_key:
                raise illegal_parameter("ClientHello: pre_shared_key is not the last extension")
            # the binders follow the identities inside the last extension
            body_ = exts[ExtensionType.pre_shared_key]
            ir = Reader(body_, "pre_shared_key")
            ir.vec(2)
            # +4 for the message header, +4 for extension type and length
            hello.binders_offset = 4 + last + 4 + ir.pos
        return hello


@dataclass
class ServerHello:
    random: bytes
    cipher_suite: int
    legacy_session_id: bytes = b""
    extensions: Extensions = field(default_factory=dict)
    legacy_version: int = TLS_VERSION_1_2
    compression_method: int = 0

    @property
    def is_hrr(self) -> bool:
        return self.random == HRR_RANDOM

    def encode(self) -> bytes:
        w = Writer()
        w.u16(self.legacy_version)
        w.raw(self.random)
        w.vec(1, self.legacy_session_id)
        w.u16(self.cipher_suite)
        w.u8(self.compression_method)
        _encode_extensions(w, self.extensions)
        return frame(HandshakeType.server_hello, w.getvalue())

    @classmethod
    def decode(cls, body: bytes) -> ServerHello:
        r = Reader(body, "ServerHello")
        version = r.u16()
        random = r.raw(32)
        sid = r.vec(1, max_len=32, what="ServerHello legacy_session_id")
        suite = r.u16()
        comp = r.u8()
        exts, _ = _decode_extensions(r, "ServerHello")
        r.expect_end()
        return cls(random=random, cipher_suite=suite, legacy_session_id=sid,
                   extensions=exts, legacy_version=version, compression_method=comp)


@dataclass
class EncryptedExtensions:
    extensions: Extensions = field(default_factory=dict)

    def encode(self) -> bytes:
        w = Writer()
        _encode_extensions(w, self.extensions)
        return frame(HandshakeType.encrypted_extensions, w.getvalue())

    @classmethod
    def decode(cls, body: bytes) -> EncryptedExtensions:
        r = Reader(body, "EncryptedExtensions")
        exts, _ = _decode_extensions(r, "EncryptedExtensions")
        r.expect_end()
        return cls(exts)


@dataclass
class CertificateEntry:
    cert_data: bytes
    extensions: Extensions = field(default_factory=dict)


@dataclass
class Certificate:
    request_context: bytes = b""
    entries: list[CertificateEntry] = field(default_factory=list)

    def encode(self) -> bytes:
        w = Writer()
        w.vec(1, self.request_context)
        with w.prefixed(3):
            for e in self.entries:
                w.vec(3, e.cert_data)
                _encode_extensions(w, e.extensions)
        return frame(HandshakeType.certificate, w.getvalue())

    @classmethod
    def decode(cls, body: bytes) -> Certificate:
        r = Reader(body, "Certificate")
        ctx = r.vec(1)
        lr = r.sub(3, what="Certificate certificate_list")
        entries = []
        while not lr.eof():
            data = lr.vec(3, min_len=1, what="Certificate cert_data")
            exts, _ = _decode_extensions(lr, "CertificateEntry")
            entries.append(CertificateEntry(data, exts))
        r.expect_end()
        return cls(ctx, entries)


@dataclass
class CertificateRequest:
    request_context: bytes = b""
    extensions: Extensions = field(default_factory=dict)

    def encode(self) -> bytes:
        w = Writer()
        w.vec(1, self.request_context)
        _encode_extensions(w, self.extensions)
        return frame(HandshakeType.certificate_request, w.getvalue())

    @classmethod
    def decode(cls, body: bytes) -> CertificateRequest:
        r = Reader(body, "CertificateRequest")
        ctx = r.vec(1)
        exts, _ = _decode_extensions(r, "CertificateRequest")
        r.expect_end()
        if ExtensionType.signature_algorithms not in exts:
            raise TLSError(AlertDescription.missing_extension,
                           "CertificateRequest without signature_algorithms")
        return cls(ctx, exts)


@dataclass
class CertificateVerify:
    algorithm: int
    signature: bytes

    def encode(self) -> bytes:
        w = Writer()
        w.u16(self.algorithm)
        w.vec(2, self.signature)
        return frame(HandshakeType.certificate_verify, w.getvalue())

    @classmethod
    def decode(cls, body: bytes) -> CertificateVerify:
        r = Reader(body, "CertificateVerify")
        alg = r.u16()
        sig = r.vec(2, min_len=1, what="CertificateVerify signature")
        r.expect_end()
        return cls(alg, sig)


@dataclass
class Finished:
    verify_data: bytes

    def encode(self) -> bytes:
        return frame(HandshakeType.finished, self.verify_data)

    @classmethod
    def decode(cls, body: bytes) -> Finished:
        return cls(bytes(body))


@dataclass
class NewSessionTicket:
    ticket_lifetime: int
    ticket_age_add: int
    ticket_nonce: bytes
    ticket: bytes
    extensions: Extensions = field(default_factory=dict)

    @property
    def max_early_data_size(self) -> int:
        body = self.extensions.get(ExtensionType.early_data)
        if body is None:
            return 0
        r = Reader(body, "NewSessionTicket early_data")
        v = r.u32()
        r.expect_end()
        return v

    def encode(self) -> bytes:
        w = Writer()
        w.u32(self.ticket_lifetime)
        w.u32(self.ticket_age_add)
        w.vec(1, self.ticket_nonce)
        w.vec(2, self.ticket)
        _encode_extensions(w, self.extensions)
        return frame(HandshakeType.new_session_ticket, w.getvalue())

    @classmethod
    def decode(cls, body: bytes) -> NewSessionTicket:
        r = Reader(body, "NewSessionTicket")
        lifetime = r.u32()
        age_add = r.u32()
        nonce = r.vec(1)
        ticket = r.vec(2, min_len=1, what="NewSessionTicket ticket")
        exts, _ = _decode_extensions(r, "NewSessionTicket")
        r.expect_end()
        nst = cls(lifetime, age_add, nonce, ticket, exts)
        nst.max_early_data_size  # validate the early_data body  # noqa: B018
        return nst


# ---------------------------------------------------------------------------
# extension bodies

def encode_u16_list(values: list[int] | tuple[int, ...], len_size: int = 2) -> bytes:
    w = Writer()
    with w.prefixed(len_size):
        for v in values:
            w.u16(v)
    return w.getvalue()


def decode_u16_list(body: bytes, what: str, len_size: int = 2) -> list[int]:
    r = Reader(body, what)
    lr = r.sub(len_size, min_len=2)
    if lr.remaining % 2:
        raise decode_error(f"{what}: odd length")
    out = [lr.u16() for _ in range(lr.remaining // 2)]
    r.expect_end()
    return out


def encode_supported_versions_ch(versions: list[int]) -> bytes:
    return encode_u16_list(versions, 1)


def decode_supported_versions_ch(body: bytes) -> list[int]:
    return decode_u16_list(body, "supported_versions", 1)


def decode_u16(body: bytes, what: str) -> int:
    r = Reader(body, what)
    v = r.u16()
    r.expect_end()
    return v


def encode_server_name(host: str) -> bytes:
    name = host.encode("idna") if not host.isascii() else host.encode("ascii")
    w = Writer()
    with w.prefixed(2):
        w.u8(0)  # host_name
        w.vec(2, name)
    return w.getvalue()


def decode_server_name(body: bytes) -> str | None:
    r = Reader(body, "server_name")
    lr = r.sub(2, min_len=1)
    host: str | None = None
    while not lr.eof():
        ntype = lr.u8()
        name = lr.vec(2, min_len=1, what="server_name host_name")
        if ntype == 0:
            if host is not None:
                raise illegal_parameter("server_name: more than one host_name")
            try:
                host = name.decode("ascii")
            except UnicodeDecodeError:
                raise illegal_parameter("server_name: not an ASCII host name") from None
    r.expect_end()
    return host


def encode_alpn(protocols: list[bytes]) -> bytes:
    w = Writer()
    with w.prefixed(2):
        for p in protocols:
            if not 1 <= len(p) <= 255:
                raise ValueError("ALPN protocol names must be 1..255 bytes")
            w.vec(1, p)
    return w.getvalue()


def decode_alpn(body: bytes) -> list[bytes]:
    r = Reader(body, "application_layer_protocol_negotiation")
    lr = r.sub(2, min_len=2)
    out = []
    while not lr.eof():
        out.append(lr.vec(1, min_len=1, what="ALPN protocol name"))
    r.expect_end()
    return out


def encode_key_share_ch(shares: list[tuple[int, bytes]]) -> bytes:
    w = Writer()
    with w.prefixed(2):
        for group, key in shares:
            w.u16(group)
            w.vec(2, key)
    return w.getvalue()


def decode_key_share_ch(body: bytes) -> list[tuple[int, bytes]]:
    r = Reader(body, "key_share")
    lr = r.sub(2)
    out: list[tuple[int, bytes]] = []
    seen = set()
    while not lr.eof():
        group = lr.u16()
        key = lr.vec(2, min_len=1, what="key_share key_exchange")
        if group in seen:
            raise illegal_parameter(f"key_share: duplicate group 0x{group:04x}")
        seen.add(group)
        out.append((group, key))
    r.expect_end()
    return out


def encode_key_share_sh(group: int, key: bytes) -> bytes:
    w = Writer()
    w.u16(group)
    w.vec(2, key)
    return w.getvalue()


def decode_key_share_sh(body: bytes) -> tuple[int, bytes]:
    r = Reader(body, "key_share")
    group = r.u16()
    key = r.vec(2, min_len=1, what="key_share key_exchange")
    r.expect_end()
    return group, key


def encode_psk_modes(modes: list[int]) -> bytes:
    return bytes([len(modes)]) + bytes(modes)


def decode_psk_modes(body: bytes) -> list[int]:
    r = Reader(body, "psk_key_exchange_modes")
    modes = r.vec(1, min_len=1)
    r.expect_end()
    return list(modes)


@dataclass
class PskIdentity:
    identity: bytes
    obfuscated_ticket_age: int


def encode_pre_shared_key_ch(identities: list[PskIdentity], binders: list[bytes]) -> bytes:
    w = Writer()
    with w.prefixed(2):
        for ident in identities:
            w.vec(2, ident.identity)
            w.u32(ident.obfuscated_ticket_age)
    with w.prefixed(2):
        for b in binders:
            w.vec(1, b)
    return w.getvalue()


def decode_pre_shared_key_ch(body: bytes) -> tuple[list[PskIdentity], list[bytes]]:
    r = Reader(body, "pre_shared_key")
    ir = r.sub(2, min_len=7, what="pre_shared_key identities")
    idents = []
    while not ir.eof():
        ident = ir.vec(2, min_len=1, what="pre_shared_key identity")
        idents.append(PskIdentity(ident, ir.u32()))
    br = r.sub(2, min_len=33, what="pre_shared_key binders")
    binders = []
    while not br.eof():
        binders.append(br.vec(1, min_len=32, what="pre_shared_key binder"))
    r.expect_end()
    if len(binders) != len(idents):
        raise illegal_parameter("pre_shared_key: number of binders and identities differ")
    return idents, binders


def encode_u32(value: int) -> bytes:
    return value.to_bytes(4, "big")
