"""Throughput and request/response benchmark: QUIC vs TCP vs TCP+kTLS.

Run inside the test VM (``make bench``). Every transport is measured in the
same boot, on loopback, with the same message sizes and the same Python
harness, and the report gives ratios, never absolute figures as claims:
software emulation makes the absolute numbers meaningless.

Bulk: the sender writes messages of one size for a fixed time, then ends
the stream; a forked receiver counts bytes from the first byte to the end.
Request/response: 64-byte requests echoed one at a time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass

from benchmarks.transports import Endpoint, PairFactory, ktls_pair, tcp_pair

SIZES = (1024, 16384, 65536)
RR_SIZE = 64


@dataclass(frozen=True)
class Transport:
    name: str
    pair: PairFactory


TCP = Transport("TCP", tcp_pair)
KTLS = Transport("kTLS", ktls_pair)


def _receiver(rcv: Endpoint, size: int, wfd: int) -> None:
    buf = memoryview(bytearray(max(size, 65536)))
    total = 0
    start = 0.0
    while True:
        n = rcv.recv_into(buf)
        if n <= 0:
            break
        if not total:
            start = time.monotonic()
        total += n
    elapsed = time.monotonic() - start if total else 0.0
    os.write(wfd, f"{total} {elapsed}\n".encode())


def bulk(t: Transport, size: int, seconds: float) -> float:
    """Bulk throughput in Mbit/s for one message size."""
    snd, rcv = t.pair()
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # receiver
        code = 1
        try:
            snd.close()
            _receiver(rcv, size, wfd)
            code = 0
        finally:
            os._exit(code)
    rcv.close()
    os.close(wfd)
    msg = memoryview(os.urandom(size))
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            snd.send(msg)
        snd.finish()
        with os.fdopen(rfd) as r:
            line = r.readline()
    finally:
        _, status = os.waitpid(pid, 0)
        snd.close()
    if status != 0 or not line:
        raise RuntimeError(f"{t.name} receiver failed (status {status})")
    total, elapsed = line.split()
    return int(total) * 8 / float(elapsed) / 1e6 if float(elapsed) > 0 else 0.0


def _recv_exact(t: Transport, ep: Endpoint, buf: memoryview) -> None:
    got = 0
    while got < len(buf):
        n = ep.recv_into(buf[got:])
        if n <= 0:
            raise ConnectionError(f"{t.name}: connection ended during request/response")
        got += n


def request_response(t: Transport, seconds: float) -> float:
    """Round trips per second with 64-byte requests and responses."""
    cli, srv = t.pair()
    pid = os.fork()
    if pid == 0:  # echo server
        code = 1
        try:
            cli.close()
            buf = memoryview(bytearray(RR_SIZE))
            while True:
                try:
                    _recv_exact(t, srv, buf)
                except ConnectionError:
                    break
                srv.send(buf)
            code = 0
        finally:
            os._exit(code)
    srv.close()
    req = memoryview(os.urandom(RR_SIZE))
    resp = memoryview(bytearray(RR_SIZE))
    count = 0
    start = time.monotonic()
    deadline = start + seconds
    try:
        while time.monotonic() < deadline:
            cli.send(req)
            _recv_exact(t, cli, resp)
            count += 1
        elapsed = time.monotonic() - start
        cli.finish()
    finally:
        os.waitpid(pid, 0)
        cli.close()
    return count / elapsed


def available_transports() -> list[Transport]:
    from benchmarks.quic_transport import quic_pair

    return [Transport("QUIC", quic_pair), TCP, KTLS]


def report(results: dict[str, dict[str, float]], sizes: tuple[int, ...]) -> None:
    names = list(results)
    cols = [f"{s // 1024} KiB" for s in sizes] + ["RR/s"]
    keys = [f"bulk{s}" for s in sizes] + ["rr"]
    print("\nthroughput (Mbit/s; RR in round trips/s), same VM boot, loopback")
    print(f"{'':8}" + "".join(f"{c:>12}" for c in cols))
    for n in names:
        print(f"{n:8}" + "".join(f"{results[n].get(k, float('nan')):12.1f}" for k in keys))
    if "QUIC" in results:
        for base in ("kTLS", "TCP"):
            if base in results:
                ratios = [results["QUIC"][k] / results[base][k] if results[base][k] else 0
                          for k in keys]
                print(f"QUIC/{base:4}" + "".join(f"{r:11.2f}x" for r in ratios))


def measure(transports: list[Transport], sizes: tuple[int, ...], seconds: float,
            rounds: int) -> dict[str, dict[str, float]]:
    """Median of ``rounds`` measurements, transports interleaved in every round
    so that a slow spell of the (emulated) machine hits them all alike."""
    samples: dict[str, dict[str, list[float]]] = {t.name: {} for t in transports}
    for rnd in range(1, rounds + 1):
        for t in transports:
            got = samples[t.name]
            for size in sizes:
                v = bulk(t, size, seconds)
                got.setdefault(f"bulk{size}", []).append(v)
                print(f"round {rnd} {t.name:5} bulk {size:6} B: {v:9.1f} Mbit/s", flush=True)
            v = request_response(t, seconds)
            got.setdefault("rr", []).append(v)
            print(f"round {rnd} {t.name:5} request/response: {v:9.1f} /s", flush=True)
    return {name: {k: statistics.median(v) for k, v in got.items()}
            for name, got in samples.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="duration of each measurement")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians reported")
    ap.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    args = ap.parse_args(argv)
    sizes = tuple(args.sizes)
    results = measure(available_transports(), sizes, args.seconds, args.rounds)
    print(f"\nmedians of {args.rounds} interleaved rounds of {args.seconds:g} s each")
    report(results, sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
