"""Throughput, request/response, parallel connections and handshakes:
QUIC vs TCP vs TCP+kTLS, in one VM boot.

Run inside the test VM (``make bench``; ``make bench BENCH_ARGS=--quick``
to smoke-test the benchmark itself).  Every transport is measured in the
same boot with the same message sizes and the same Python harness, in
interleaved rounds (the transports' order reversed every other round), and
the report gives medians and ratios, never absolute figures as claims:
software emulation makes the absolute numbers meaningless.

Bulk: 1, 16 and 64 KiB messages for a fixed time, on loopback and on a
veth pair between two network namespaces at MTU 1500 and 9000
(benchmarks/bulk.py).  Request/response: 64-byte requests echoed one at a
time, on loopback.  Parallel: 1, 4 and 16 connections at once on the
MTU 1500 veth, 64 KiB messages, aggregate throughput, QUIC vs kTLS.
Handshakes: full TLS 1.3 handshakes per second with certificate
verification, kernel QUIC with libquic against Python's ssl over TCP
(benchmarks/handshakes.py).  Every measurement line carries the CPU split
of its interval (benchmarks/cpustat.py): user, system, softirq, idle.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from statistics import median

from benchmarks.bulk import bulk, parallel_bulk
from benchmarks.cpustat import CpuSplit, CpuTimes, median_split
from benchmarks.handshakes import QUIC as QUIC_HS
from benchmarks.handshakes import TLS as TLS_HS
from benchmarks.handshakes import HandshakeKind, handshake_rate, warm_up
from benchmarks.paths import NetPath, loopback, veth_path
from benchmarks.quic_transport import bench_pki, quic_pair
from benchmarks.transports import Endpoint, PairFactory, ktls_pair, tcp_pair
from libquic.tools.certgen import CertFiles

SIZES = (1024, 16384, 65536)
MTUS = (1500, 9000)
SECTIONS = ("bulk", "rr", "par", "hs")
CONNS = (1, 4, 16)
PARALLEL_SIZE = 65536
RR_SIZE = 64
GSO_SYSCTL = "/proc/sys/net/quic/gso"


@dataclass(frozen=True)
class Transport:
    name: str
    pair: PairFactory


@dataclass(frozen=True)
class Settings:
    seconds: float
    hs_seconds: float
    rounds: int
    sizes: tuple[int, ...]
    mtus: tuple[int, ...]
    conns: tuple[int, ...]
    hs_clients: int
    sections: tuple[str, ...] = SECTIONS


@dataclass
class Samples:
    """Every round's value and CPU split, by what was measured."""

    values: dict[tuple[str, ...], list[float]] = field(default_factory=dict)
    cpu: dict[tuple[str, ...], list[CpuSplit]] = field(default_factory=dict)

    def take(self, key: tuple[str, ...], label: str, unit: str,
             fn: Callable[[], float]) -> None:
        before = CpuTimes.now()
        value = fn()
        split = CpuTimes.now().since(before)
        self.values.setdefault(key, []).append(value)
        self.cpu.setdefault(key, []).append(split)
        print(f"{label:44} {value:9.1f} {unit:8} {split}", flush=True)

    def median(self, key: tuple[str, ...]) -> float:
        return median(self.values[key]) if key in self.values else float("nan")

    def cpu_median(self, key: tuple[str, ...]) -> CpuSplit | None:
        return median_split(self.cpu[key]) if key in self.cpu else None


def _recv_exact(name: str, ep: Endpoint, buf: memoryview) -> None:
    got = 0
    while got < len(buf):
        n = ep.recv_into(buf[got:])
        if n <= 0:
            raise ConnectionError(f"{name}: connection ended during request/response")
        got += n


def request_response(t: Transport, path: NetPath, seconds: float) -> float:
    """Round trips per second with 64-byte requests and responses."""
    cli, srv = t.pair(path)
    pid = os.fork()
    if pid == 0:  # echo server
        code = 1
        try:
            cli.close()
            buf = memoryview(bytearray(RR_SIZE))
            while True:
                try:
                    _recv_exact(t.name, srv, buf)
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
            _recv_exact(t.name, cli, resp)
            count += 1
        elapsed = time.monotonic() - start
        cli.finish()
    finally:
        os.waitpid(pid, 0)
        cli.close()
    return count / elapsed


def one_bulk(t: Transport, path: NetPath, size: int, seconds: float) -> float:
    return bulk(t.name, t.pair(path), size, seconds)


def many_bulk(t: Transport, path: NetPath, n: int, size: int, seconds: float) -> float:
    return parallel_bulk(t.name, [t.pair(path) for _ in range(n)], size, seconds)


def _kib(size: int) -> str:
    return f"{size // 1024} KiB" if size >= 1024 else f"{size} B"


def ordered(items: list[Transport], rnd: int) -> list[Transport]:
    return items if rnd % 2 else list(reversed(items))


def one_round(rnd: int, s: Settings, paths: list[NetPath], transports: list[Transport],
              pki: CertFiles, samples: Samples) -> None:
    quic, ktls = transports[0], transports[-1]
    for path in paths if "bulk" in s.sections else []:
        for t in ordered(transports, rnd):
            for size in s.sizes:
                samples.take(("bulk", path.name, t.name, str(size)),
                             f"round {rnd} {path.name:8} {t.name:5} bulk {_kib(size)}", "Mbit/s",
                             partial(one_bulk, t, path, size, s.seconds))
    lo = paths[0]
    for t in ordered(transports, rnd) if "rr" in s.sections else []:
        samples.take(("rr", t.name), f"round {rnd} {lo.name:8} {t.name:5} request/response",
                     "RR/s", partial(request_response, t, lo, s.seconds))
    par = paths[1] if len(paths) > 1 else lo
    for n in s.conns if "par" in s.sections else ():
        for t in ordered([quic, ktls], rnd):
            samples.take(("par", t.name, str(n)),
                         f"round {rnd} {par.name:8} {t.name:5} {n:2} conns x {_kib(PARALLEL_SIZE)}",
                         "Mbit/s", partial(many_bulk, t, par, n, PARALLEL_SIZE, s.seconds))
    kinds: list[HandshakeKind] = [QUIC_HS, TLS_HS] if rnd % 2 else [TLS_HS, QUIC_HS]
    for k in kinds if "hs" in s.sections else []:
        samples.take(("hs", k.name), f"round {rnd} loopback {k.name:7} handshakes, "
                     f"{s.hs_clients} at a time", "/s",
                     partial(handshake_rate, k, pki, s.hs_seconds, s.hs_clients))


def _ratio(a: float, b: float) -> str:
    return f"{a / b:11.2f}x" if b and b == b and a == a else f"{'-':>12}"


def _cpu_cell(c: CpuSplit | None) -> str:
    if c is None:
        return f"{'-':>16}"
    return f"{c.user:4.0f}/{c.sys:.0f}/{c.softirq:.0f}/{c.idle:.0f}".rjust(16)


def report(s: Settings, paths: list[NetPath], transports: list[Transport],
           samples: Samples) -> Iterator[str]:
    names = [t.name for t in transports]
    quic, ktls = names[0], names[-1]
    yield (f"\nmedians of {s.rounds} interleaved rounds of {s.seconds:g} s "
           f"(handshakes {s.hs_seconds:g} s), same VM boot; the ratios are the result")
    if "bulk" in s.sections:
        yield "\nbulk throughput (Mbit/s), one connection"
        yield f"{'':18}" + "".join(f"{_kib(z):>12}" for z in s.sizes)
        for path in paths:
            for n in names:
                yield f"{path.name:8} {n:9}" + "".join(
                    f"{samples.median(('bulk', path.name, n, str(z))):12.1f}" for z in s.sizes)
            for base in names[1:]:
                yield f"{path.name:8} QUIC/{base:4}" + "".join(
                    _ratio(samples.median(("bulk", path.name, quic, str(z))),
                           samples.median(("bulk", path.name, base, str(z)))) for z in s.sizes)
        yield "\nCPU during bulk (median %, user/sys/softirq/idle)"
        yield f"{'':18}" + "".join(f"{_kib(z):>16}" for z in s.sizes)
        for path in paths:
            for n in names:
                yield f"{path.name:8} {n:9}" + "".join(
                    _cpu_cell(samples.cpu_median(("bulk", path.name, n, str(z)))) for z in s.sizes)
    if "rr" in s.sections:
        yield f"\nrequest/response ({RR_SIZE} B, round trips/s), {paths[0].name}"
        for n in names:
            cpu = _cpu_cell(samples.cpu_median(("rr", n)))
            yield f"{n:18}{samples.median(('rr', n)):12.1f}  {cpu}"
        for base in names[1:]:
            yield f"QUIC/{base:13}" + _ratio(samples.median(("rr", quic)),
                                             samples.median(("rr", base)))
    if "par" in s.sections:
        par = paths[1].name if len(paths) > 1 else paths[0].name
        yield f"\nparallel connections, aggregate Mbit/s, {_kib(PARALLEL_SIZE)} messages, {par}"
        yield f"{'':18}" + "".join(f"{f'{c} conns':>12}" for c in s.conns)
        for n in (quic, ktls):
            yield f"{n:18}" + "".join(f"{samples.median(('par', n, str(c))):12.1f}"
                                      for c in s.conns)
        yield f"QUIC/{ktls:13}" + "".join(
            _ratio(samples.median(("par", quic, str(c))), samples.median(("par", ktls, str(c))))
            for c in s.conns)
        for n in (quic, ktls):
            yield f"{n + ' CPU':18}" + "".join(
                _cpu_cell(samples.cpu_median(("par", n, str(c)))) for c in s.conns)
    if "hs" in s.sections:
        yield (f"\nfull TLS 1.3 handshakes/s (certificate verified), {s.hs_clients} at a time, "
               "loopback")
        for k in (QUIC_HS.name, TLS_HS.name):
            cpu = _cpu_cell(samples.cpu_median(("hs", k)))
            yield f"{k:18}{samples.median(('hs', k)):12.1f}  {cpu}"
        yield f"QUIC/{TLS_HS.name:13}" + _ratio(samples.median(("hs", QUIC_HS.name)),
                                                samples.median(("hs", TLS_HS.name)))


def settings(args: argparse.Namespace) -> Settings:
    sections = tuple(args.only or SECTIONS)
    if args.quick:
        return Settings(0.5, 1.0, 1, tuple(args.sizes), tuple(args.mtus), (1, 4), 2, sections)
    return Settings(args.seconds, args.hs_seconds, args.rounds, tuple(args.sizes),
                    tuple(args.mtus), CONNS, args.clients, sections)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="duration of each measurement")
    ap.add_argument("--hs-seconds", type=float, default=4.0,
                    help="duration of each handshake-rate measurement")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians reported")
    ap.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    ap.add_argument("--clients", type=int, default=4, help="handshakes under way at once")
    ap.add_argument("--mtus", type=int, nargs="*", default=list(MTUS),
                    help="the veth paths' MTUs (none: loopback only)")
    ap.add_argument("--only", nargs="+", choices=SECTIONS,
                    help="measure only these sections: bulk, rr (request/response), "
                    "par (parallel connections), hs (handshakes)")
    ap.add_argument("--quick", action="store_true",
                    help="one short round, 1 and 4 connections: checks the benchmark runs")
    ap.add_argument("--gso", type=int, choices=(0, 1),
                    help="set net.quic.gso (UDP GSO on send) in every namespace used "
                    "(default: leave it, 1)")
    return ap.parse_args(argv)


def set_gso(paths: list[NetPath], value: int) -> None:
    """net.quic.gso = ``value`` here and in the paths' namespaces."""
    with open(GSO_SYSCTL, "w") as f:
        f.write(f"{value}\n")
    for p in paths:
        for ns in (p.client_ns, p.server_ns):
            if ns is not None:
                ns.write(GSO_SYSCTL, f"{value}\n")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    s = settings(args)
    pki = bench_pki()
    transports = [Transport("QUIC", partial(quic_pair, pki)), Transport("TCP", tcp_pair),
                  Transport("kTLS", ktls_pair)]
    samples = Samples()
    for kind in (QUIC_HS, TLS_HS) if "hs" in s.sections else ():
        warm_up(kind, pki)
    with ExitStack() as stack:
        paths = [loopback()] + [stack.enter_context(veth_path(m)) for m in s.mtus]
        if args.gso is not None:
            set_gso(paths, args.gso)
            print(f"net.quic.gso = {args.gso}")
        for rnd in range(1, s.rounds + 1):
            one_round(rnd, s, paths, transports, pki, samples)
    for line in report(s, paths, transports, samples):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
