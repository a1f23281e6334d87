"""Hostile-peer generators shared by the adversarial VM tests.

Seeded: every run prints its seed; QUIC_FUZZ_SEED=N repeats one.
"""

from __future__ import annotations

import os
import random
import socket
import struct
from collections.abc import Iterator

import quic_testdriver as qt

SEED = int(os.environ.get("QUIC_FUZZ_SEED", "0")) or random.randrange(1 << 30)


def rng() -> random.Random:
    print(f"fuzz seed {SEED} (QUIC_FUZZ_SEED to repeat)")
    return random.Random(SEED)


def mutations(r: random.Random, base: bytes, n: int) -> Iterator[bytes]:
    """Truncations, bit flips, byte stomps and splices of a valid packet."""
    for _ in range(n):
        b = bytearray(base)
        k = r.randrange(5)
        if k == 0:
            b = b[: r.randrange(len(b))]
        elif k == 1:
            for _ in range(r.randrange(1, 8)):
                i = r.randrange(len(b))
                b[i] ^= 1 << r.randrange(8)
        elif k == 2:
            i = r.randrange(min(len(b), 64))
            b[i : i + 4] = os.urandom(4)
        elif k == 3:
            b = b[: r.randrange(1, 64)] + os.urandom(r.randrange(0, 1400))
        else:
            i = r.randrange(len(b))
            b = b[:i] + b[i : i + r.randrange(1, 50)] * r.randrange(1, 5) + b[i:]
        yield bytes(b)


def random_headers(r: random.Random, dcid: bytes, n: int) -> Iterator[bytes]:
    for _ in range(n):
        k = r.randrange(6)
        if k == 0:  # pure noise
            yield os.urandom(r.randrange(0, 1500))
        elif k == 1:  # short header to a real CID
            yield bytes([0x40 | r.randrange(64)]) + dcid + os.urandom(r.randrange(0, 1300))
        elif k == 2:  # long header, huge CID lengths
            yield (
                bytes([0xC0 | r.randrange(64)])
                + struct.pack(">I", 1)
                + bytes([r.randrange(256)])
                + os.urandom(r.randrange(0, 100))
            )
        elif k == 3:  # Initial/Handshake to a real CID with a bogus Length
            t = r.choice([0xC3, 0xE3])
            h = bytes([t]) + struct.pack(">I", 1) + bytes([len(dcid)]) + dcid + b"\x08"
            h += os.urandom(8) + (b"\x00" if t == 0xC3 else b"")
            yield h + qt.varint(r.randrange(0, 1 << 14)) + os.urandom(r.randrange(0, 1300))
        elif k == 4:  # other versions / version negotiation / retry
            v = r.choice([0, 2, 0xFF00001D, 0x6B3343CF])
            yield (
                bytes([0xC0 | r.randrange(64)])
                + struct.pack(">I", v)
                + b"\x08"
                + dcid
                + (os.urandom(r.randrange(0, 1300)))
            )
        else:  # varint edge cases
            yield (
                bytes([0xC3])
                + struct.pack(">I", 1)
                + b"\x08"
                + dcid
                + b"\x00"
                + (b"\xff" * r.randrange(1, 20))
            )


def send_all(u: socket.socket, dst: tuple, pkts: Iterator[bytes]) -> int:
    n = 0
    for p in pkts:
        try:
            u.sendto(p, dst)
            n += 1
        except OSError:
            pass
    return n
