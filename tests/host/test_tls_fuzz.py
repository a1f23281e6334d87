"""Mutated peer input must only ever produce TLSError (never another exception)."""

from __future__ import annotations

import random
import warnings

from kquictest.tls_fixtures import client_cfg, server_cfg
from libquic.tls import Level, SendData, TLSEngine, TLSError


def mutate(rng: random.Random, data: bytes) -> bytes:
    d = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(4)
        i = rng.randrange(len(d)) if d else 0
        if op == 0 and d:
            d[i] ^= 1 << rng.randrange(8)
        elif op == 1 and d:
            d[i] = rng.choice((0, 0xFF, 1, 0x80))
        elif op == 2:
            del d[i:i + rng.randint(1, 8)]
        else:
            d[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(d)


def test_fuzz_client_hello() -> None:
    rng = random.Random(1234)
    ch = next(e for e in TLSEngine(client_cfg()).start() if isinstance(e, SendData)).data
    for _ in range(300):
        s = TLSEngine(server_cfg())
        try:
            s.receive(Level.INITIAL, mutate(rng, ch))
        except TLSError as exc:
            assert exc.__cause__ is None, exc  # a deliberate alert, not the safety net


def test_fuzz_server_flight() -> None:
    warnings.simplefilter("ignore")  # mutated certificates trigger parser deprecations
    rng = random.Random(4321)
    for _ in range(60):
        c = TLSEngine(client_cfg())
        s = TLSEngine(server_cfg())
        ch = next(e for e in c.start() if isinstance(e, SendData)).data
        flight = [e for e in s.receive(Level.INITIAL, ch) if isinstance(e, SendData)]
        victim = rng.randrange(len(flight))
        try:
            for i, e in enumerate(flight):
                c.receive(e.level, mutate(rng, e.data) if i == victim else e.data)
        except TLSError as exc:
            assert exc.__cause__ is None, exc
