"""Test helpers for the TLS engine: certificates made at test time and an
in-memory transport that shuttles handshake bytes between two engines."""

from __future__ import annotations

import datetime
import functools
import ipaddress
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from libquic.tls.engine import (
    Event,
    HandshakeComplete,
    InstallSecret,
    Level,
    SendData,
    SessionTicketReceived,
    TLSConfig,
    TLSEngine,
)

Key = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

NOW = datetime.datetime.now(datetime.UTC)


def make_key(kind: str) -> Key:
    if kind == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "p384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(kind)


def _sign_hash(key: Key) -> hashes.HashAlgorithm | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


@dataclass
class CA:
    key: Key
    cert: x509.Certificate

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, key: Key, names: list[str] | None = None, *, client: bool = False,
              not_before: datetime.datetime | None = None,
              not_after: datetime.datetime | None = None,
              cn: str = "leaf") -> x509.Certificate:
        sans: list[x509.GeneralName] = []
        for n in names or []:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                sans.append(x509.DNSName(n))
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
             .issuer_name(self.cert.subject)
             .public_key(key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(not_before or NOW - datetime.timedelta(days=1))
             .not_valid_after(not_after or NOW + datetime.timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.KeyUsage(
                 digital_signature=True, content_commitment=False, key_encipherment=False,
                 data_encipherment=False, key_agreement=False, key_cert_sign=False,
                 crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
             .add_extension(x509.ExtendedKeyUsage(
                 [ExtendedKeyUsageOID.CLIENT_AUTH if client else
                  ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 self.key.public_key()), critical=False)  # type: ignore[arg-type]
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(
                 key.public_key()), critical=False))  # type: ignore[arg-type]
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return b.sign(self.key, _sign_hash(self.key))  # type: ignore[arg-type]


def make_ca(kind: str = "p256", name: str = "Test CA", *,
            key_usage: bool | None = True) -> CA:
    """A self-signed CA; ``key_usage`` None omits keyUsage, False gives one
    without keyCertSign."""
    key = make_key(kind)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    b = (x509.CertificateBuilder()
         .subject_name(subject).issuer_name(subject)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(NOW - datetime.timedelta(days=2))
         .not_valid_after(NOW + datetime.timedelta(days=365))
         .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(
             key.public_key()), critical=False))  # type: ignore[arg-type]
    if key_usage is not None:
        b = b.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=key_usage,
            crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
    cert = b.sign(key, _sign_hash(key))  # type: ignore[arg-type]
    return CA(key, cert)


@functools.cache
def trusted_ca() -> CA:
    return make_ca("p256")


@functools.cache
def untrusted_ca() -> CA:
    return make_ca("p256", "Untrusted CA")


@functools.cache
def server_identity(kind: str = "p256",
                    names: tuple[str, ...] = ("localhost", "127.0.0.1")
                    ) -> tuple[list[x509.Certificate], Key]:
    key = make_key(kind)
    return [trusted_ca().issue(key, list(names))], key


@functools.cache
def client_identity(kind: str = "p256") -> tuple[list[x509.Certificate], Key]:
    key = make_key(kind)
    return [trusted_ca().issue(key, ["client.example"], client=True, cn="client")], key


def pem_of(certs: list[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def key_pem(key: Key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


# ---------------------------------------------------------------------------
# in-memory pair

@dataclass
class Side:
    engine: TLSEngine
    events: list[Event] = field(default_factory=list)

    def secrets(self) -> dict[tuple[int, int], bytes]:
        return {(e.level, e.direction): bytes(e.secret) for e in self.events
                if isinstance(e, InstallSecret)}

    def completed(self) -> bool:
        return any(isinstance(e, HandshakeComplete) for e in self.events)

    def tickets(self) -> list[Any]:
        return [e.session for e in self.events if isinstance(e, SessionTicketReceived)]


def run_pair(client: TLSEngine, server: TLSEngine, *, deliver_app: bool = True,
             max_rounds: int = 20) -> tuple[Side, Side]:
    """Run a handshake between two engines; APP-level data (the NST) is passed
    to the client too when ``deliver_app`` is set."""
    c, s = Side(client), Side(server)
    pending: list[tuple[Side, Level, bytes]] = []

    def take(src: Side, dst: Side, evs: list[Event]) -> None:
        src.events += evs
        for e in evs:
            if isinstance(e, SendData):
                pending.append((dst, e.level, e.data))

    take(c, s, client.start())
    rounds = 0
    while pending:
        rounds += 1
        assert rounds < max_rounds * 10, "handshake does not converge"
        dst, level, data = pending.pop(0)
        if level == Level.APP and not deliver_app:
            continue
        src = c if dst is s else s
        take(dst, src, dst.engine.receive(level, data))
    return c, s


# ---- engine configurations ------------------------------------------------------

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


# ---- RFC 8448 section 3 (simple 1-RTT handshake) ------------------------------

# The ClientHello and ServerHello handshake messages (the key schedule's
# inputs; the codec tests decode them and their truncations).

CLIENT_HELLO = bytes.fromhex(
    "010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7000006"
    "130113031302010000910000000b0009000006736572766572ff01000100000a00140012001d00170018"
    "00190100010101020103010400230000003300260024001d002099381de560e4bd43d23d8e435a7dbafe"
    "b3c06e51c13cae4d5413691e529aaf2c002b0003020304000d0020001e04030503060302030804080508"
    "0604010501060102010402050206020202002d00020101001c00024001")
SERVER_HELLO = bytes.fromhex(
    "020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800130100"
    "002e00330024001d0020c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f"
    "002b00020304")
