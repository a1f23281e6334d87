"""Certificates: loading, CertificateVerify signatures and chain verification.

Chain building and path validation use ``cryptography.x509.verification``
(a WebPKI profile: RFC 5280 plus CA/B baseline checks).  Before handing the
chain over we check the leaf's validity period and host name ourselves so
that the common failures produce a specific alert and a readable message.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import threading
import warnings
from collections.abc import Sequence
from enum import IntEnum

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509 import verification as xv
from cryptography.x509.oid import PublicKeyAlgorithmOID

from .errors import AlertDescription, TLSError

__all__ = [
    "CLIENT_CONTEXT",
    "DEFAULT_SIGNATURE_SCHEMES",
    "SERVER_CONTEXT",
    "SYSTEM_CA_FILES",
    "CredentialFiles",
    "PrivateKey",
    "PublicKey",
    "SignatureScheme",
    "check_hostname",
    "choose_scheme",
    "load_certificate_chain",
    "load_private_key",
    "load_trust_anchors",
    "schemes_for_certificate",
    "sign",
    "system_ca_file",
    "verify_chain",
    "verify_content",
    "verify_signature",
]

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey

SYSTEM_CA_FILES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
)


class SignatureScheme(IntEnum):
    ecdsa_secp256r1_sha256 = 0x0403
    ecdsa_secp384r1_sha384 = 0x0503
    rsa_pss_rsae_sha256 = 0x0804
    rsa_pss_rsae_sha384 = 0x0805
    rsa_pss_rsae_sha512 = 0x0806
    ed25519 = 0x0807
    rsa_pss_pss_sha256 = 0x0809
    rsa_pss_pss_sha384 = 0x080A
    rsa_pss_pss_sha512 = 0x080B


DEFAULT_SIGNATURE_SCHEMES: tuple[SignatureScheme, ...] = (
    SignatureScheme.ecdsa_secp256r1_sha256,
    SignatureScheme.ecdsa_secp384r1_sha384,
    SignatureScheme.ed25519,
    SignatureScheme.rsa_pss_rsae_sha256,
    SignatureScheme.rsa_pss_rsae_sha384,
    SignatureScheme.rsa_pss_rsae_sha512,
    SignatureScheme.rsa_pss_pss_sha256,
    SignatureScheme.rsa_pss_pss_sha384,
    SignatureScheme.rsa_pss_pss_sha512,
)

_HASHES: dict[int, type[hashes.HashAlgorithm]] = {
    SignatureScheme.ecdsa_secp256r1_sha256: hashes.SHA256,
    SignatureScheme.ecdsa_secp384r1_sha384: hashes.SHA384,
    SignatureScheme.rsa_pss_rsae_sha256: hashes.SHA256,
    SignatureScheme.rsa_pss_rsae_sha384: hashes.SHA384,
    SignatureScheme.rsa_pss_rsae_sha512: hashes.SHA512,
    SignatureScheme.rsa_pss_pss_sha256: hashes.SHA256,
    SignatureScheme.rsa_pss_pss_sha384: hashes.SHA384,
    SignatureScheme.rsa_pss_pss_sha512: hashes.SHA512,
}
_RSAE = (SignatureScheme.rsa_pss_rsae_sha256, SignatureScheme.rsa_pss_rsae_sha384,
         SignatureScheme.rsa_pss_rsae_sha512)
_PSS = (SignatureScheme.rsa_pss_pss_sha256, SignatureScheme.rsa_pss_pss_sha384,
        SignatureScheme.rsa_pss_pss_sha512)

SERVER_CONTEXT = b"TLS 1.3, server CertificateVerify"
CLIENT_CONTEXT = b"TLS 1.3, client CertificateVerify"


def verify_content(context: bytes, thash: bytes) -> bytes:
    return b"\x20" * 64 + context + b"\x00" + thash


def _is_pss_cert(cert: x509.Certificate) -> bool:
    try:
        return cert.public_key_algorithm_oid == PublicKeyAlgorithmOID.RSASSA_PSS
    except Exception:  # pragma: no cover - very old cryptography
        return False


def schemes_for_certificate(cert: x509.Certificate) -> list[SignatureScheme]:
    """Signature schemes a certificate's key can produce, best first."""
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP256R1):
            return [SignatureScheme.ecdsa_secp256r1_sha256]
        if isinstance(key.curve, ec.SECP384R1):
            return [SignatureScheme.ecdsa_secp384r1_sha384]
        return []
    if isinstance(key, ed25519.Ed25519PublicKey):
        return [SignatureScheme.ed25519]
    if isinstance(key, rsa.RSAPublicKey):
        return list(_PSS if _is_pss_cert(cert) else _RSAE)
    return []


def choose_scheme(cert: x509.Certificate, peer_schemes: Sequence[int],
                  local_schemes: Sequence[int]) -> SignatureScheme:
    for scheme in schemes_for_certificate(cert):
        if scheme in peer_schemes and scheme in local_schemes:
            return scheme
    raise TLSError(AlertDescription.handshake_failure,
                   "no signature scheme in common with the peer for our certificate "
                   f"(peer offers {[hex(s) for s in peer_schemes]})")


def _pss(h: hashes.HashAlgorithm) -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size)


def sign(key: PrivateKey, scheme: int, data: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    h = _HASHES[scheme]()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(h))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, _pss(h), h)
    raise TLSError(AlertDescription.internal_error, "unsupported private key type")


def verify_signature(cert: x509.Certificate, scheme: int, signature: bytes,
                     data: bytes, offered: Sequence[int]) -> None:
    """Check a CertificateVerify signature made with the certificate's key."""
    if scheme not in offered:
        raise TLSError(AlertDescription.illegal_parameter,
                       f"peer used signature scheme 0x{scheme:04x} that we did not offer")
    if scheme not in schemes_for_certificate(cert):
        raise TLSError(AlertDescription.illegal_parameter,
                       f"signature scheme 0x{scheme:04x} does not match the certificate key")
    key = cert.public_key()
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(_HASHES[scheme]()))
        elif isinstance(key, rsa.RSAPublicKey):
            h = _HASHES[scheme]()
            key.verify(signature, data, _pss(h), h)
        else:
            raise InvalidSignature
    except InvalidSignature:
        raise TLSError(AlertDescription.decrypt_error,
                       "CertificateVerify signature is invalid") from None


# ---------------------------------------------------------------------------
# loading

def load_certificate_chain(path: str | os.PathLike[str]) -> list[x509.Certificate]:
    with open(path, "rb") as f:
        data = f.read()
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        certs = [x509.load_der_x509_certificate(data)]
    if not certs:
        raise ValueError(f"{os.fspath(path)}: no certificate found")
    return certs


def load_private_key(path: str | os.PathLike[str], password: bytes | None = None) -> PrivateKey:
    with open(path, "rb") as f:
        data = f.read()
    try:
        key = serialization.load_pem_private_key(data, password)
    except ValueError:
        key = serialization.load_der_private_key(data, password)
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey,
                            ed25519.Ed25519PrivateKey)):
        raise ValueError(f"{os.fspath(path)}: unsupported key type {type(key).__name__}")
    return key


def _file_stamp(path: str) -> tuple[int, int, int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


class CredentialFiles:
    """A certificate chain and its private key from files, parsed once and
    again only when either file changes (renewed certificates are picked
    up): a server loads them for every handshake otherwise.  Thread-safe."""

    def __init__(self, cert_file: str | os.PathLike[str],
                 key_file: str | os.PathLike[str]) -> None:
        self.cert_file = os.fspath(cert_file)
        self.key_file = os.fspath(key_file)
        self._lock = threading.Lock()
        self._stamp: tuple[tuple[int, int, int, int], ...] | None = None
        self._loaded: tuple[list[x509.Certificate], PrivateKey] | None = None

    def load(self) -> tuple[list[x509.Certificate], PrivateKey]:
        """The chain and the key as the files hold them now."""
        stamp = (_file_stamp(self.cert_file), _file_stamp(self.key_file))
        with self._lock:
            if self._loaded is None or stamp != self._stamp:
                self._loaded = (load_certificate_chain(self.cert_file),
                                load_private_key(self.key_file))
                self._stamp = stamp
            return self._loaded


_store_cache: dict[tuple[str, float], list[x509.Certificate]] = {}
_store_lock = threading.Lock()


def system_ca_file() -> str | None:
    for path in SYSTEM_CA_FILES:
        if os.path.exists(path):
            return path
    try:
        import certifi  # type: ignore[import-not-found,unused-ignore]
        return str(certifi.where())
    except ImportError:
        return None


def load_trust_anchors(cafile: str | os.PathLike[str] | None = None,
                       cadata: bytes | None = None) -> list[x509.Certificate]:
    """Load CA certificates from ``cafile``/``cadata`` or the system store."""
    anchors: list[x509.Certificate] = []
    if cadata:
        anchors += x509.load_pem_x509_certificates(cadata)
    if cafile is None and not cadata:
        cafile = system_ca_file()
        if cafile is None:
            raise TLSError(AlertDescription.internal_error,
                           "no system trust store found: pass cafile= or verify=False")
    if cafile is not None:
        path = os.fspath(cafile)
        key = (path, os.stat(path).st_mtime)
        with _store_lock:
            cached = _store_cache.get(key)
        if cached is None:
            with warnings.catch_warnings():
                # distribution bundles carry a few legacy roots (e.g. serial 0)
                warnings.simplefilter("ignore")
                cached = load_certificate_chain(path)
            with _store_lock:
                _store_cache[key] = cached
        anchors += cached
    return anchors


# ---------------------------------------------------------------------------
# verification

def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _names(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    dns = [str(n) for n in san.get_values_for_type(x509.DNSName)]
    ips = [str(n) for n in san.get_values_for_type(x509.IPAddress)]
    return dns, ips


def _dns_match(pattern: str, host: str) -> bool:
    pattern = pattern.lower().rstrip(".")
    host = host.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == host


def _subject_for(hostname: str) -> x509.DNSName | x509.IPAddress:
    try:
        return x509.IPAddress(ipaddress.ip_address(hostname))
    except ValueError:
        return x509.DNSName(hostname)


def check_hostname(cert: x509.Certificate, hostname: str) -> None:
    dns, ips = _names(cert)
    try:
        ip = ipaddress.ip_address(hostname)
    except ValueError:
        ok = any(_dns_match(p, hostname) for p in dns)
    else:
        ok = any(ipaddress.ip_address(a) == ip for a in ips)
    if not ok:
        raise TLSError(AlertDescription.bad_certificate,
                       f"certificate does not match host name {hostname!r} "
                       f"(subjectAltName: {', '.join(dns + ips) or 'none'})")


def verify_chain(chain: Sequence[x509.Certificate], *, server: bool,
                 hostname: str | None = None, cafile: str | os.PathLike[str] | None = None,
                 cadata: bytes | None = None, now: datetime.datetime | None = None) -> None:
    """Validate a peer's chain; raise :class:`TLSError` with a clear reason."""
    try:
        _verify_chain(chain, server, hostname, cafile, cadata, now)
    except ValueError as exc:  # lazily parsed certificate fields
        raise TLSError(AlertDescription.bad_certificate,
                       f"malformed certificate: {exc}") from None


def _ca_key_usage(_policy: object, _cert: x509.Certificate,
                  ku: x509.KeyUsage | None) -> None:
    """A CA certificate may omit keyUsage (OpenSSL and GnuTLS accept that,
    and the reference's test CA has none); if present it must allow
    certificate signing."""
    if ku is not None and not ku.key_cert_sign:
        raise ValueError("a CA's keyUsage does not allow keyCertSign")


# The WebPKI profile for CAs, except that keyUsage may be absent.
_CA_POLICY = xv.ExtensionPolicy.webpki_defaults_ca().may_be_present(
    x509.KeyUsage, xv.Criticality.AGNOSTIC, _ca_key_usage)


def _verify_chain(chain: Sequence[x509.Certificate], server: bool, hostname: str | None,
                  cafile: str | os.PathLike[str] | None, cadata: bytes | None,
                  now: datetime.datetime | None) -> None:
    if not chain:
        raise TLSError(AlertDescription.certificate_required, "peer sent no certificate")
    leaf = chain[0]
    now = now or _now()
    if leaf.not_valid_after_utc < now:
        raise TLSError(AlertDescription.certificate_expired,
                       f"certificate {leaf.subject.rfc4514_string()} expired on "
                       f"{leaf.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC")
    if leaf.not_valid_before_utc > now:
        raise TLSError(AlertDescription.certificate_expired,
                       f"certificate {leaf.subject.rfc4514_string()} is not valid before "
                       f"{leaf.not_valid_before_utc:%Y-%m-%d %H:%M:%S} UTC")
    anchors = load_trust_anchors(cafile, cadata)
    if not anchors:
        raise TLSError(AlertDescription.internal_error, "the trust store is empty")
    builder = (xv.PolicyBuilder().store(xv.Store(anchors)).time(now)
               .extension_policies(ca_policy=_CA_POLICY,
                                   ee_policy=xv.ExtensionPolicy.webpki_defaults_ee()))
    try:
        if server:
            if hostname:
                subject = _subject_for(hostname)
            else:
                # No name to check: verify the chain against the leaf's own name.
                dns, ips = _names(leaf)
                if not dns and not ips:
                    raise TLSError(AlertDescription.bad_certificate,
                                   "server certificate has no subjectAltName")
                subject = _subject_for(dns[0].replace("*.", "x.") if dns else ips[0])
            builder.build_server_verifier(subject).verify(leaf, list(chain[1:]))
        else:
            builder.build_client_verifier().verify(leaf, list(chain[1:]))
    except xv.VerificationError as exc:
        # the verifier checked the name too; say so plainly if that failed
        # (looked at only now: parsing the names costs every handshake)
        if server and hostname:
            check_hostname(leaf, hostname)
        text = str(exc)
        alert = (AlertDescription.unknown_ca
                 if "candidates exhausted" in text or "issuer" in text
                 else AlertDescription.bad_certificate)
        raise TLSError(alert, f"certificate verification failed for "
                              f"{leaf.subject.rfc4514_string()}: {text}") from None
