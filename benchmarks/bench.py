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
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.transports import PairFactory, ktls_pair, tcp_pair

SIZES = (1024, 16384, 65536)
RR_SIZE = 64


@dataclass(frozen=True)
class Transport:
    name: str
    pair: PairFactory
    send: Callable[[socket.socket, memoryview], int]
    finish: Callable[[socket.socket], None]
    recv_into: Callable[[socket.socket, memoryview], int]


def _stream_send(s: socket.socket, buf: memoryview) -> int:
    s.sendall(buf)
    return len(buf)


def _stream_finish(s: socket.socket) -> None:
    s.shutdown(socket.SHUT_WR)


def _stream_recv(s: socket.socket, buf: memoryview) -> int:
    return s.recv_into(buf)


TCP = Transport("TCP", tcp_pair, _stream_send, _stream_finish, _stream_recv)
KTLS = Transport("kTLS", ktls_pair, _stream_send, _stream_finish, _stream_recv)


def _receiver(t: Transport, s: socket.socket, size: int, wfd: int) -> None:
    buf = memoryview(bytearray(max(size, 65536)))
    total = 0
    start = 0.0
    while True:
        n = t.recv_into(s, buf)
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
            _receiver(t, rcv, size, wfd)
            code = 0
        finally:
            os._exit(code)
    rcv.close()
    os.close(wfd)
    msg = memoryview(os.urandom(size))
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            t.send(snd, msg)
        t.finish(snd)
        with os.fdopen(rfd) as r:
            line = r.readline()
    finally:
        _, status = os.waitpid(pid, 0)
        snd.close()
    if status != 0 or not line:
        raise RuntimeError(f"{t.name} receiver failed (status {status})")
    total, elapsed = line.split()
    return int(total) * 8 / float(elapsed) / 1e6 if float(elapsed) > 0 else 0.0


def _recv_exact(t: Transport, s: socket.socket, buf: memoryview) -> None:
    got = 0
    while got < len(buf):
        n = t.recv_into(s, buf[got:])
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
                t.send(srv, buf)
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
            t.send(cli, req)
            _recv_exact(t, cli, resp)
            count += 1
        elapsed = time.monotonic() - start
        t.finish(cli)
    finally:
        os.waitpid(pid, 0)
        cli.close()
    return count / elapsed


def available_transports() -> list[Transport]:
    transports = [TCP, KTLS]
    try:
        from benchmarks.quic_transport import QUIC  # needs streams in the module
    except ImportError:
        print("note: the QUIC transport is not available yet; measuring TCP and kTLS only")
    else:
        transports.insert(0, QUIC)
    return transports


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="duration of each measurement")
    ap.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    args = ap.parse_args(argv)
    sizes = tuple(args.sizes)
    results: dict[str, dict[str, float]] = {}
    for t in available_transports():
        r = results.setdefault(t.name, {})
        for size in sizes:
            r[f"bulk{size}"] = bulk(t, size, args.seconds)
            print(f"{t.name:5} bulk {size:6} B messages: {r[f'bulk{size}']:9.1f} Mbit/s",
                  flush=True)
        r["rr"] = request_response(t, args.seconds)
        print(f"{t.name:5} request/response: {r['rr']:9.1f} /s", flush=True)
    report(results, sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
