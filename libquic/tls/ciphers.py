"""TLS 1.3 cipher suites usable with QUIC."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

__all__ = [
    "DEFAULT_SUITES",
    "SUITES",
    "CipherSuite",
    "SuiteInfo",
    "suite_info",
]

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


SUITES: dict[int, SuiteInfo] = {
    CipherSuite.TLS_AES_128_GCM_SHA256: SuiteInfo(
        CipherSuite.TLS_AES_128_GCM_SHA256, "sha256", 32, 16),
    CipherSuite.TLS_AES_256_GCM_SHA384: SuiteInfo(
        CipherSuite.TLS_AES_256_GCM_SHA384, "sha384", 48, 32),
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256: SuiteInfo(
        CipherSuite.TLS_CHACHA20_POLY1305_SHA256, "sha256", 32, 32),
}

DEFAULT_SUITES: tuple[CipherSuite, ...] = (
    CipherSuite.TLS_AES_128_GCM_SHA256,
    CipherSuite.TLS_AES_256_GCM_SHA384,
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
)


def suite_info(suite: int) -> SuiteInfo:
    return SUITES[suite]

