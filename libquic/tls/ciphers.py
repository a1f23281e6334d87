"""TLS 1.3 cipher suites usable with QUIC and their kernel cipher numbers."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

# TLS_CIPHER_* numbers from <linux/tls.h>, used by struct quic_crypto_secret.
TLS_CIPHER_AES_GCM_128 = 51
TLS_CIPHER_AES_GCM_256 = 52
TLS_CIPHER_AES_CCM_128 = 53
TLS_CIPHER_CHACHA20_POLY1305 = 54


class CipherSuite(IntEnum):
    TLS_AES_128_GCM_SHA256 = 0x1301
    TLS_AES_256_GCM_SHA384 = 0x1302
    TLS_CHACHA20_POLY1305_SHA256 = 0x1303


@dataclass(frozen=True)
class SuiteInfo:
    suite: CipherSuite
    hash_name: str
    hash_len: int
    key_len: int
    kernel_cipher: int


SUITES: dict[int, SuiteInfo] = {
    CipherSuite.TLS_AES_128_GCM_SHA256: SuiteInfo(
        CipherSuite.TLS_AES_128_GCM_SHA256, "sha256", 32, 16, TLS_CIPHER_AES_GCM_128),
    CipherSuite.TLS_AES_256_GCM_SHA384: SuiteInfo(
        CipherSuite.TLS_AES_256_GCM_SHA384, "sha384", 48, 32, TLS_CIPHER_AES_GCM_256),
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256: SuiteInfo(
        CipherSuite.TLS_CHACHA20_POLY1305_SHA256, "sha256", 32, 32,
        TLS_CIPHER_CHACHA20_POLY1305),
}

DEFAULT_SUITES: tuple[CipherSuite, ...] = (
    CipherSuite.TLS_AES_128_GCM_SHA256,
    CipherSuite.TLS_AES_256_GCM_SHA384,
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
)

_KERNEL_TO_SUITE = {info.kernel_cipher: s for s, info in SUITES.items()}


def suite_info(suite: int) -> SuiteInfo:
    return SUITES[suite]


def suite_for_kernel_cipher(cipher: int) -> CipherSuite | None:
    """Map a TLS_CIPHER_* number (e.g. quic_config.payload_cipher_type) to a suite."""
    s = _KERNEL_TO_SUITE.get(cipher)
    return CipherSuite(s) if s is not None else None
