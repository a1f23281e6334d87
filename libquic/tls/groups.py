"""Key-exchange groups: X25519, secp256r1, secp384r1 and, when the installed
``cryptography`` provides ML-KEM, the hybrid X25519MLKEM768
(draft-ietf-tls-ecdhe-mlkem: ML-KEM part first in shares and secret).
"""

from __future__ import annotations

from enum import IntEnum

from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .errors import AlertDescription, TLSError

__all__ = [
    "DEFAULT_GROUPS",
    "DEFAULT_KEY_SHARE_GROUPS",
    "MLKEM768_CIPHERTEXT_LEN",
    "MLKEM768_PUBLIC_LEN",
    "SUPPORTED_GROUPS",
    "Group",
    "KeyShare",
    "server_key_exchange",
]

try:  # ML-KEM needs cryptography >= 46 built against OpenSSL 3.5+/AWS-LC
    from cryptography.hazmat.primitives.asymmetric import mlkem as _mlkem

    _mlkem.MLKEM768PrivateKey.generate()
    HAVE_MLKEM = True
except Exception:  # pragma: no cover - depends on the installed backend
    _mlkem = None  # type: ignore[assignment]
    HAVE_MLKEM = False


class Group(IntEnum):
    secp256r1 = 0x0017
    secp384r1 = 0x0018
    x25519 = 0x001D
    X25519MLKEM768 = 0x11EC


MLKEM768_PUBLIC_LEN = 1184
MLKEM768_CIPHERTEXT_LEN = 1088

SUPPORTED_GROUPS: tuple[Group, ...] = (
    (Group.x25519, Group.secp256r1, Group.secp384r1)
    + ((Group.X25519MLKEM768,) if HAVE_MLKEM else ())
)
DEFAULT_GROUPS: tuple[Group, ...] = SUPPORTED_GROUPS
# Only one share is sent by default: a large hybrid share would split the
# ClientHello over several Initial packets and defeat the kernel's ALPN demux.
DEFAULT_KEY_SHARE_GROUPS: tuple[Group, ...] = (Group.x25519,)

_CURVES: dict[int, tuple[ec.EllipticCurve, int]] = {
    Group.secp256r1: (ec.SECP256R1(), 65),
    Group.secp384r1: (ec.SECP384R1(), 97),
}


def _bad_share(group: int, why: str) -> TLSError:
    return TLSError(AlertDescription.illegal_parameter,
                    f"invalid key share for group 0x{group:04x}: {why}")


def _ec_public(group: int, data: bytes) -> ec.EllipticCurvePublicKey:
    curve, size = _CURVES[group]
    if len(data) != size or data[0] != 4:
        raise _bad_share(group, "not an uncompressed point of the right size")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, data)
    except ValueError as exc:
        raise _bad_share(group, str(exc)) from None


def _x25519_public(group: int, data: bytes) -> x25519.X25519PublicKey:
    if len(data) != 32:
        raise _bad_share(group, "X25519 share must be 32 bytes")
    return x25519.X25519PublicKey.from_public_bytes(data)


def _x25519_exchange(group: int, priv: x25519.X25519PrivateKey, data: bytes) -> bytes:
    try:
        return priv.exchange(_x25519_public(group, data))
    except ValueError as exc:  # all-zero result (small-order point)
        raise _bad_share(group, str(exc)) from None


class KeyShare:
    """A client's private key share for one group."""

    def __init__(self, group: int) -> None:
        if group not in SUPPORTED_GROUPS:
            raise ValueError(f"unsupported group 0x{group:04x}")
        self.group = Group(group)
        self._x: x25519.X25519PrivateKey | None = None
        self._ec: ec.EllipticCurvePrivateKey | None = None
        self._kem: object | None = None
        if group == Group.x25519:
            self._x = x25519.X25519PrivateKey.generate()
            self.public = self._x.public_key().public_bytes_raw()
        elif group in _CURVES:
            self._ec = ec.generate_private_key(_CURVES[group][0])
            self.public = self._ec.public_key().public_bytes(
                Encoding.X962, PublicFormat.UncompressedPoint)
        else:
            assert _mlkem is not None
            kem = _mlkem.MLKEM768PrivateKey.generate()
            self._kem = kem
            self._x = x25519.X25519PrivateKey.generate()
            self.public = (kem.public_key().public_bytes_raw()
                           + self._x.public_key().public_bytes_raw())

    def shared_secret(self, server_share: bytes) -> bytearray:
        """Combine the server's share with ours (client side)."""
        g = self.group
        if g == Group.x25519:
            assert self._x is not None
            return bytearray(_x25519_exchange(g, self._x, server_share))
        if self._ec is not None:
            peer = _ec_public(g, server_share)
            return bytearray(self._ec.exchange(ec.ECDH(), peer))
        assert self._kem is not None and self._x is not None
        if len(server_share) != MLKEM768_CIPHERTEXT_LEN + 32:
            raise _bad_share(g, "hybrid share has the wrong size")
        try:
            ss_kem = self._kem.decapsulate(  # type: ignore[attr-defined]
                server_share[:MLKEM768_CIPHERTEXT_LEN])
        except ValueError as exc:
            raise _bad_share(g, str(exc)) from None
        ss_x = _x25519_exchange(g, self._x, server_share[MLKEM768_CIPHERTEXT_LEN:])
        return bytearray(ss_kem + ss_x)


def server_key_exchange(group: int, client_share: bytes) -> tuple[bytes, bytearray]:
    """Answer a client share: returns (server share, shared secret)."""
    if group == Group.x25519:
        priv = x25519.X25519PrivateKey.generate()
        shared = _x25519_exchange(group, priv, client_share)
        return priv.public_key().public_bytes_raw(), bytearray(shared)
    if group in _CURVES:
        peer = _ec_public(group, client_share)
        epriv = ec.generate_private_key(_CURVES[group][0])
        shared = epriv.exchange(ec.ECDH(), peer)
        pub = epriv.public_key().public_bytes(Encoding.X962,
                                              PublicFormat.UncompressedPoint)
        return pub, bytearray(shared)
    if group == Group.X25519MLKEM768 and _mlkem is not None:
        if len(client_share) != MLKEM768_PUBLIC_LEN + 32:
            raise _bad_share(group, "hybrid share has the wrong size")
        try:
            kem_pub = _mlkem.MLKEM768PublicKey.from_public_bytes(
                client_share[:MLKEM768_PUBLIC_LEN])
            ss_kem, ct = kem_pub.encapsulate()
        except ValueError as exc:
            raise _bad_share(group, str(exc)) from None
        priv = x25519.X25519PrivateKey.generate()
        ss_x = _x25519_exchange(group, priv, client_share[MLKEM768_PUBLIC_LEN:])
        return ct + priv.public_key().public_bytes_raw(), bytearray(ss_kem + ss_x)
    raise TLSError(AlertDescription.internal_error, f"group 0x{group:04x} unavailable")

