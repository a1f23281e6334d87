"""Bounds-checked readers and writers for the TLS presentation language.

Every read checks the remaining length and raises ``decode_error`` on
truncation, so message decoders never index past their input.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .errors import decode_error

__all__ = [
    "Reader",
    "Writer",
]


class Reader:
    """Sequential reader over an immutable byte string."""

    __slots__ = ("_data", "_end", "_pos", "what")

    def __init__(self, data: bytes, what: str = "message", pos: int = 0,
                 end: int | None = None) -> None:
        self._data = bytes(data)
        self._pos = pos
        self._end = len(self._data) if end is None else end
        self.what = what

    @property
    def pos(self) -> int:
        return self._pos

    @property
    def remaining(self) -> int:
        return self._end - self._pos

    def eof(self) -> bool:
        return self._pos >= self._end

    def _take(self, n: int) -> bytes:
        if n < 0 or self._pos + n > self._end:
            raise decode_error(f"{self.what}: truncated (need {n} bytes, "
                               f"have {self._end - self._pos})")
        out = self._data[self._pos:self._pos + n]
        self._pos += n
        return out

    def uint(self, size: int) -> int:
        return int.from_bytes(self._take(size), "big")

    def u8(self) -> int:
        return self.uint(1)

    def u16(self) -> int:
        return self.uint(2)

    def u24(self) -> int:
        return self.uint(3)

    def u32(self) -> int:
        return self.uint(4)

    def raw(self, n: int) -> bytes:
        return self._take(n)

    def rest(self) -> bytes:
        return self._take(self.remaining)

    def vec(self, len_size: int, min_len: int = 0, max_len: int | None = None,
            what: str | None = None) -> bytes:
        """Read a variable-length vector with a ``len_size``-byte length prefix."""
        n = self.uint(len_size)
        name = what or self.what
        if n < min_len:
            raise decode_error(f"{name}: vector too short ({n} < {min_len})")
        if max_len is not None and n > max_len:
            raise decode_error(f"{name}: vector too long ({n} > {max_len})")
        if self._pos + n > self._end:
            raise decode_error(f"{name}: length {n} exceeds the "
                               f"{self._end - self._pos} bytes left")
        return self._take(n)

    def sub(self, len_size: int, min_len: int = 0, max_len: int | None = None,
            what: str | None = None) -> Reader:
        """Return a reader over a length-prefixed vector (positions stay absolute)."""
        start = self._pos + len_size
        body = self.vec(len_size, min_len, max_len, what)
        return Reader(self._data, what or self.what, start, start + len(body))

    def expect_end(self) -> None:
        if self._pos != self._end:
            raise decode_error(f"{self.what}: {self._end - self._pos} trailing bytes")


class Writer:
    """Appending writer with nested length prefixes."""

    __slots__ = ("buf",)

    def __init__(self) -> None:
        self.buf = bytearray()

    def uint(self, value: int, size: int) -> None:
        if value < 0 or value >= 1 << (8 * size):
            raise ValueError(f"value {value} does not fit in {size} bytes")
        self.buf += value.to_bytes(size, "big")

    def u8(self, value: int) -> None:
        self.uint(value, 1)

    def u16(self, value: int) -> None:
        self.uint(value, 2)

    def u24(self, value: int) -> None:
        self.uint(value, 3)

    def u32(self, value: int) -> None:
        self.uint(value, 4)

    def raw(self, data: bytes | bytearray) -> None:
        self.buf += data

    def vec(self, len_size: int, data: bytes | bytearray) -> None:
        self.uint(len(data), len_size)
        self.buf += data

    @contextmanager
    def prefixed(self, len_size: int) -> Iterator[None]:
        """Write the body produced inside the block behind a length prefix."""
        start = len(self.buf)
        self.buf += bytes(len_size)
        yield
        n = len(self.buf) - start - len_size
        if n >= 1 << (8 * len_size):
            raise ValueError("vector too long")
        self.buf[start:start + len_size] = n.to_bytes(len_size, "big")

    def getvalue(self) -> bytes:
        return bytes(self.buf)
