"""QUIC variable-length integers (RFC 9000 section 16)."""

from __future__ import annotations

import struct

__all__ = [
    "VARINT_MAX",
    "decode_varint",
    "encode_varint",
]

VARINT_MAX = (1 << 62) - 1


def encode_varint(value: int) -> bytes:
    """The shortest encoding of ``value`` (0 .. 2**62-1)."""
    if value < 0 or value > VARINT_MAX:
        raise ValueError(f"{value} does not fit a QUIC varint (0 .. 2**62-1)")
    if value < 0x40:
        return bytes([value])
    if value < 0x4000:
        return struct.pack(">H", value | 0x4000)
    if value < 0x40000000:
        return struct.pack(">I", value | 0x80000000)
    return struct.pack(">Q", value | 0xC000000000000000)


def decode_varint(buf: bytes | bytearray | memoryview, pos: int = 0) -> tuple[int, int]:
    """Decode the varint at ``buf[pos]``; returns ``(value, next_pos)``.

    Raises ``IndexError`` when ``buf`` ends inside the integer, so a caller
    parsing a stream can wait for more bytes.
    """
    first = buf[pos]
    size = 1 << (first >> 6)
    if pos + size > len(buf):
        raise IndexError("truncated QUIC varint")
    value = first & 0x3F
    for k in range(1, size):
        value = (value << 8) | buf[pos + k]
    return value, pos + size
