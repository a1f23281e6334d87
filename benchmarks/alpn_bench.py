"""Handshakes per second to one port: one listener against eight listeners
with ALPN lists, the clients asking for the last one's ALPN.

Run inside the test VM (``make bench-alpn``).  Both setups run in the same
boot, each on a port of its own, with the listener processes of the
ALPN-routing harness (libquic.tools.alpnroute); the rounds are interleaved
as in bench.py and the report gives the ratio, not absolute figures.  A
handshake is a whole libquic connection from a client thread: connect, the
TLS 1.3 handshake with the certificate verified, close.  A handshake that
does not negotiate the ALPN asked for (the client reached another
listener) counts as failed, and any failure fails the benchmark: the ratio
would mean nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from dataclasses import dataclass

from benchmarks.handshakes import run_clients
from libquic.tools.alpnroute import ClientSpec, Harness, ListenerSpec
from libquic.tools.alpnroute.client import libquic_client

LISTENERS = 8
HOST = "127.0.0.1"


@dataclass
class Count:
    done: int = 0
    failed: int = 0


def rate(h: Harness, alpn: str, seconds: float, concurrency: int) -> tuple[float, int]:
    """Handshakes per second for ``seconds`` with ``concurrency`` clients
    at a time, and how many failed."""
    count = Count()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(k: int) -> None:
        spec = ClientSpec(f"bench{k}", (alpn,), exchange=False)
        while time.monotonic() < deadline:
            res = libquic_client(spec, (HOST, h.port), h.trust, h.timeout)
            with lock:
                if res.handshake and res.alpn == alpn:
                    count.done += 1
                else:
                    count.failed += 1

    elapsed = run_clients(concurrency, client)
    h.strays()  # drain the listeners' reports
    return count.done / elapsed, count.failed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of each measurement")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians reported")
    ap.add_argument("--clients", type=int, default=4, help="clients under way at once")
    args = ap.parse_args(argv)
    alpn = f"bench{LISTENERS - 1}"
    setups = {"1 listener": [ListenerSpec("only", (alpn,))],
              f"{LISTENERS} listeners": [ListenerSpec(f"l{i}", (f"bench{i}",))
                                         for i in range(LISTENERS)]}
    harnesses = {name: Harness() for name in setups}
    samples: dict[str, list[float]] = {name: [] for name in setups}
    failed = 0
    try:
        for name, specs in setups.items():
            for o in harnesses[name].add_listeners(specs):
                if o.errno:
                    raise RuntimeError(f"{name}: listener {o.spec.name} could not listen "
                                       f"({o.verdict.text})")
        for h in harnesses.values():  # the first handshakes of a process are slow
            failed += rate(h, alpn, min(args.seconds, 2.0), 1)[1]
        for rnd in range(1, args.rounds + 1):
            order = list(setups) if rnd % 2 else list(reversed(setups))
            for name in order:
                value, bad = rate(harnesses[name], alpn, args.seconds, args.clients)
                samples[name].append(value)
                failed += bad
                print(f"round {rnd} {name:12}: {value:8.2f} handshakes/s, {bad} failed",
                      flush=True)
    finally:
        for h in harnesses.values():
            h.close()
    one, many = (statistics.median(samples[n]) for n in setups)
    print(f"\nhandshakes/s to one port, medians of {args.rounds} interleaved rounds of "
          f"{args.seconds:g} s, {args.clients} clients at a time, same VM boot")
    for name in setups:
        print(f"{name:12} {statistics.median(samples[name]):10.2f}")
    print(f"{LISTENERS} listeners / 1 listener: {many / one if one else 0:.2f}x", flush=True)
    if failed:
        print(f"alpn_bench: {failed} handshakes failed or reached the wrong listener: the "
              f"ratio means nothing", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
