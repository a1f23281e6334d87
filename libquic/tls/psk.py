"""External pre-shared keys from a key file of ``identity:hexkey`` lines.

The client uses the first line; the server looks the offered identity up.
Blank lines and lines starting with ``#`` are ignored.  External PSKs are
used with psk_dhe_ke only and, as RFC 8446 §4.2.11 prescribes when no hash
is provisioned, with SHA-256 suites.

A server can also find keys as clients offer identities, with a
:data:`PskLookup` (``TLSConfig.psk_lookup``), for instance in the kernel
keyrings as the handshake daemon does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "ExternalPSK",
    "PskLookup",
    "load_psk_file",
    "parse_psk_lines",
]

PskLookup = Callable[[bytes], bytes | bytearray | None]
"""A server's look-up of an external PSK by the identity a client offers:
the key, or None when the identity is unknown.  The identity is the
client's (untrusted) bytes.  A ``bytearray`` returned is handed over: the
engine wipes it when it is done with the key."""


@dataclass(frozen=True)
class ExternalPSK:
    identity: bytes
    key: bytes

    def __repr__(self) -> str:  # never print key material
        return f"ExternalPSK(identity={self.identity!r}, key=<{len(self.key)} bytes>)"


def parse_psk_lines(text: str, source: str = "PSK file") -> list[ExternalPSK]:
    out: list[ExternalPSK] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        ident, sep, hexkey = line.rpartition(":")
        if not sep or not ident:
            raise ValueError(f"{source}:{lineno}: expected 'identity:hexkey'")
        try:
            key = bytes.fromhex(hexkey.strip())
        except ValueError:
            raise ValueError(f"{source}:{lineno}: key is not hexadecimal") from None
        if not key:
            raise ValueError(f"{source}:{lineno}: empty key")
        out.append(ExternalPSK(ident.encode(), key))
    if not out:
        raise ValueError(f"{source}: no PSK found")
    return out


def load_psk_file(path: str | os.PathLike[str]) -> list[ExternalPSK]:
    with open(path, encoding="utf-8") as f:
        return parse_psk_lines(f.read(), os.fspath(path))
