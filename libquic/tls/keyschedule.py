"""HKDF and the TLS 1.3 key schedule (RFC 8446 §7.1, RFC 5869).

Secrets are kept in ``bytearray`` objects so they can be overwritten with
:func:`wipe` once they are no longer needed.  Python's hashing primitives make
immutable copies internally, so this is best effort only.
"""

from __future__ import annotations

import hashlib
import hmac

from .ciphers import SuiteInfo

__all__ = [
    "KeySchedule",
    "Secret",
    "exporter",
    "hkdf_expand",
    "hkdf_expand_label",
    "hkdf_extract",
    "hkdf_label",
    "transcript_hash",
    "wipe",
]

Secret = bytearray


def wipe(buf: bytearray | None) -> None:
    """Overwrite a secret in place."""
    if buf is not None:
        buf[:] = bytes(len(buf))


def hkdf_extract(hash_name: str, salt: bytes | bytearray, ikm: bytes | bytearray) -> Secret:
    if not salt:
        salt = bytes(hashlib.new(hash_name).digest_size)
    return bytearray(hmac.new(bytes(salt), bytes(ikm), hash_name).digest())


def hkdf_expand(hash_name: str, prk: bytes | bytearray, info: bytes, length: int) -> Secret:
    out = bytearray()
    block = b""
    counter = 1
    key = bytes(prk)
    while len(out) < length:
        block = hmac.new(key, block + info + bytes([counter]), hash_name).digest()
        out += block
        counter += 1
    del out[length:]
    return out


def hkdf_label(label: bytes, context: bytes, length: int) -> bytes:
    full = b"tls13 " + label
    return (length.to_bytes(2, "big") + bytes([len(full)]) + full
            + bytes([len(context)]) + context)


def hkdf_expand_label(hash_name: str, secret: bytes | bytearray, label: bytes,
                      context: bytes, length: int) -> Secret:
    return hkdf_expand(hash_name, secret, hkdf_label(label, context, length), length)


def transcript_hash(hash_name: str, data: bytes | bytearray) -> bytes:
    return hashlib.new(hash_name, bytes(data)).digest()


class KeySchedule:
    """The secrets of one handshake for one cipher-suite hash.

    Usage: :meth:`early` (with the PSK or nothing), then :meth:`handshake` with
    the (EC)DHE shared secret, then :meth:`master`.
    """

    def __init__(self, suite: SuiteInfo) -> None:
        self.suite = suite
        self.hash_name = suite.hash_name
        self.hash_len = suite.hash_len
        self.early_secret: Secret | None = None
        self.handshake_secret: Secret | None = None
        self.master_secret: Secret | None = None

    def _empty_hash(self) -> bytes:
        return hashlib.new(self.hash_name).digest()

    def derive_secret(self, secret: bytes | bytearray, label: bytes,
                      thash: bytes) -> Secret:
        return hkdf_expand_label(self.hash_name, secret, label, thash, self.hash_len)

    def expand_label(self, secret: bytes | bytearray, label: bytes, context: bytes,
                     length: int) -> Secret:
        return hkdf_expand_label(self.hash_name, secret, label, context, length)

    def thash(self, data: bytes | bytearray) -> bytes:
        return transcript_hash(self.hash_name, data)

    # -- stages -------------------------------------------------------------
    def early(self, psk: bytes | bytearray | None = None) -> Secret:
        ikm = psk if psk else bytes(self.hash_len)
        self.early_secret = hkdf_extract(self.hash_name, bytes(self.hash_len), ikm)
        return self.early_secret

    def binder_key(self, external: bool) -> Secret:
        assert self.early_secret is not None
        label = b"ext binder" if external else b"res binder"
        return self.derive_secret(self.early_secret, label, self._empty_hash())

    def client_early_traffic_secret(self, thash: bytes) -> Secret:
        assert self.early_secret is not None
        return self.derive_secret(self.early_secret, b"c e traffic", thash)

    def early_exporter_master_secret(self, thash: bytes) -> Secret:
        assert self.early_secret is not None
        return self.derive_secret(self.early_secret, b"e exp master", thash)

    def handshake(self, shared: bytes | bytearray) -> Secret:
        if self.early_secret is None:
            self.early()
        assert self.early_secret is not None
        derived = self.derive_secret(self.early_secret, b"derived", self._empty_hash())
        self.handshake_secret = hkdf_extract(self.hash_name, derived, shared)
        wipe(derived)
        return self.handshake_secret

    def client_handshake_traffic_secret(self, thash: bytes) -> Secret:
        assert self.handshake_secret is not None
        return self.derive_secret(self.handshake_secret, b"c hs traffic", thash)

    def server_handshake_traffic_secret(self, thash: bytes) -> Secret:
        assert self.handshake_secret is not None
        return self.derive_secret(self.handshake_secret, b"s hs traffic", thash)

    def master(self) -> Secret:
        assert self.handshake_secret is not None
        derived = self.derive_secret(self.handshake_secret, b"derived", self._empty_hash())
        self.master_secret = hkdf_extract(self.hash_name, derived, bytes(self.hash_len))
        wipe(derived)
        return self.master_secret

    def client_application_traffic_secret(self, thash: bytes) -> Secret:
        assert self.master_secret is not None
        return self.derive_secret(self.master_secret, b"c ap traffic", thash)

    def server_application_traffic_secret(self, thash: bytes) -> Secret:
        assert self.master_secret is not None
        return self.derive_secret(self.master_secret, b"s ap traffic", thash)

    def exporter_master_secret(self, thash: bytes) -> Secret:
        assert self.master_secret is not None
        return self.derive_secret(self.master_secret, b"exp master", thash)

    def resumption_master_secret(self, thash: bytes) -> Secret:
        assert self.master_secret is not None
        return self.derive_secret(self.master_secret, b"res master", thash)

    def resumption_psk(self, res_master: bytes | bytearray, nonce: bytes) -> Secret:
        return self.expand_label(res_master, b"resumption", nonce, self.hash_len)

    # -- Finished -----------------------------------------------------------
    def finished_verify_data(self, base_key: bytes | bytearray, thash: bytes) -> bytes:
        fkey = self.expand_label(base_key, b"finished", b"", self.hash_len)
        out = hmac.new(bytes(fkey), thash, self.hash_name).digest()
        wipe(fkey)
        return out

    def wipe(self) -> None:
        wipe(self.early_secret)
        wipe(self.handshake_secret)
        wipe(self.master_secret)


def exporter(hash_name: str, exporter_master: bytes | bytearray, label: bytes,
             context: bytes, length: int) -> bytes:
    """RFC 8446 §7.5 TLS-Exporter."""
    empty = hashlib.new(hash_name).digest()
    secret = hkdf_expand_label(hash_name, exporter_master, label, empty,
                               hashlib.new(hash_name).digest_size)
    out = hkdf_expand_label(hash_name, secret, b"exporter",
                            hashlib.new(hash_name, context).digest(), length)
    wipe(secret)
    return bytes(out)
