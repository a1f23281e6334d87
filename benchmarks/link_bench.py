"""Goodput over a slow link: 10 MB through netem at 10 Mbit/s and 30 ms RTT.

Run inside the test VM (``make bench-link``; ``make bench-link
BENCH_ARGS=--quick`` sends 1 MB).  The sender's namespace and the
receiver's are joined by a veth pair at MTU 1500 whose sender end has a
netem qdisc: the rate, the whole 30 ms of delay (ACKs come back at once),
and a queue of ``QUEUE`` packets, about one bandwidth-delay product beyond
the packets in flight.  Each line is a transfer's goodput (bytes
delivered from the first byte to the end) as a fraction of the link rate,
with the CPU split of its interval:

* kernel QUIC sender -> kernel QUIC receiver (libquic, one stream), alone
  and against a competing TCP bulk flow (CUBIC, the VM's default) that
  starts ``--head-start`` seconds earlier and runs until the QUIC transfer
  ends: each flow's share of the link over the QUIC transfer's period;
* plain TCP alone, for comparison;
* ngtcp2's gtlsserver as the sender (its default congestion control)
  to the same kernel QUIC client over HTTP/3, alone and against TCP, as a
  reference line, when scripts/ngtcp2 is set up.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from benchmarks.bulk import Received, collect, fork_receiver, send_bytes
from benchmarks.cpustat import CpuTimes
from benchmarks.paths import VETH_CLIENT, NetPath, veth_path
from benchmarks.quic_transport import SERVER_NAME, bench_pki, quic_pair
from benchmarks.transports import Endpoint, Pair, StreamSocket, tcp_pair
from libquic.connection import QuicConnection
from libquic.h3 import H3_ALPN, H3Connection
from libquic.tools.certgen import CertFiles
from libquic.uapi import QuicConfig, QuicCongAlgo

RATE_KBIT = 10_000
RTT_MS = 30
CONG = {"reno": QuicCongAlgo.RENO, "cubic": QuicCongAlgo.CUBIC}
QUEUE = 50  # packets: ~25 in the delay line at full rate, ~25 queued
SIZE = 65536  # bytes per send
NGTCP2 = Path(__file__).resolve().parents[1] / "scripts" / "ngtcp2"
NGTCP2_PORT = 4433
TRANSFER_WAIT = 600.0


@dataclass(frozen=True)
class Flow:
    total: int
    start: float
    end: float

    def share(self) -> float:
        """Goodput as a fraction of the link rate."""
        span = self.end - self.start
        return self.total * 8 / span / (RATE_KBIT * 1000) if span > 0 else 0.0


Transfer = Callable[[NetPath, int], Flow]  # sends N bytes across the path


def kernel_quic(pki: CertFiles, config: QuicConfig, path: NetPath, total: int) -> Flow:
    return _pair_transfer("QUIC", quic_pair(pki, path, config), total)


def tcp(path: NetPath, total: int) -> Flow:
    return _pair_transfer("TCP", tcp_pair(path), total)


def _pair_transfer(name: str, pair: Pair, total: int) -> Flow:
    pid, rfd = fork_receiver(pair, SIZE)
    snd = pair[0]
    try:
        send_bytes(snd, SIZE, total)
        got: Received = collect(name, pid, rfd)
    finally:
        snd.close()
    if got.total != total:
        raise RuntimeError(f"{name}: {got.total} of {total} bytes arrived")
    return Flow(got.total, got.start, got.end)


@contextmanager
def gtlsserver(path: NetPath, pki: CertFiles, total: int) -> Iterator[str]:
    """ngtcp2's server in the sender's namespace serving a ``total``-byte file."""
    htdocs = Path(tempfile.mkdtemp(prefix="bench-htdocs-"))
    (htdocs / "blob").write_bytes(os.urandom(total))
    cmd = [str(NGTCP2), "gtlsserver", "-q", "-d", str(htdocs), VETH_CLIENT, str(NGTCP2_PORT),
           str(pki.key), str(pki.cert)]
    proc = path.in_client(lambda: subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                                   stderr=subprocess.PIPE))
    try:
        suffix = f":{NGTCP2_PORT:04X}"
        deadline = time.monotonic() + 60
        assert path.client_ns is not None
        while not any(line.split()[1].endswith(suffix)
                      for line in path.client_ns.read("/proc/net/udp").splitlines()[1:]):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gtlsserver did not start: {proc.stderr.read()!r}"
                                   if proc.stderr else "gtlsserver did not start")
            time.sleep(0.1)
        yield "/blob"
    finally:
        proc.kill()
        proc.wait()


def ngtcp2_h3(pki: CertFiles, url_path: str, path: NetPath, total: int) -> Flow:
    """GET ``url_path`` from gtlsserver with the kernel QUIC client (libquic H3),
    in the receiver's namespace."""
    def fetch() -> Flow:
        with QuicConnection.connect(VETH_CLIENT, NGTCP2_PORT, alpns=[H3_ALPN],
                                    hostname=SERVER_NAME, cafile=str(pki.ca),
                                    timeout=TRANSFER_WAIT) as conn:
            resp = H3Connection(conn).stream_request(
                "GET", f"{SERVER_NAME}:{NGTCP2_PORT}", url_path, timeout=TRANSFER_WAIT)
            got, start = 0, 0.0
            for chunk in resp.iter_body():
                if not got:
                    start = time.monotonic()
                got += len(chunk)
            return Flow(got, start, time.monotonic())
    assert path.server_ns is not None
    flow = path.server_ns.run(fetch, TRANSFER_WAIT)
    if flow.total != total:
        raise RuntimeError(f"ngtcp2: {flow.total} of {total} bytes arrived")
    return flow


class Competitor:
    """A TCP bulk flow across the path, its receiver noting (time, bytes)
    every 20 ms until the sender is stopped."""

    def __init__(self, path: NetPath) -> None:
        snd, rcv = tcp_pair(path)
        assert isinstance(snd, StreamSocket)
        # the sender is killed: its socket then resets the connection rather
        # than draining its send buffer through the slow link
        snd.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfd, wfd = os.pipe()
        self.receiver = os.fork()
        if self.receiver == 0:
            code = 1
            try:
                os.close(self.rfd)
                snd.close()
                with os.fdopen(wfd, "w") as out:
                    out.write(" ".join(f"{t}:{n}" for t, n in _timeline(rcv)))
                code = 0
            finally:
                os._exit(code)
        os.close(wfd)
        rcv.close()
        self.sender = os.fork()
        if self.sender == 0:
            try:
                msg = memoryview(os.urandom(SIZE))
                while True:
                    snd.send(msg)
            finally:
                os._exit(1)
        snd.close()

    def stop(self) -> list[tuple[float, int]]:
        """Stop the sender; the receiver's timeline."""
        os.kill(self.sender, signal.SIGKILL)
        os.waitpid(self.sender, 0)
        with os.fdopen(self.rfd) as r:
            text = r.read()
        os.waitpid(self.receiver, 0)
        points = [p.split(":") for p in text.split()]
        return [(float(t), int(n)) for t, n in points]


def _timeline(rcv: Endpoint) -> list[tuple[float, int]]:
    buf = memoryview(bytearray(SIZE))
    total, last = 0, 0.0
    points: list[tuple[float, int]] = []
    while True:
        try:
            n = rcv.recv_into(buf)
        except ConnectionResetError:
            break
        if n <= 0:
            break
        total += n
        now = time.monotonic()
        if now - last >= 0.02:
            points.append((now, total))
            last = now
    points.append((time.monotonic(), total))
    return points


def bytes_between(points: list[tuple[float, int]], start: float, end: float) -> int:
    """Bytes the timeline's flow delivered from ``start`` to ``end`` (to 20 ms)."""
    def at(t: float) -> int:
        i = bisect_left(points, (t, -1))
        return points[min(i, len(points) - 1)][1] if points else 0
    return at(end) - at(start)


def run(label: str, transfer: Transfer, path: NetPath, total: int,
        head_start: float | None) -> None:
    before = CpuTimes.now()
    if head_start is None:
        flow = transfer(path, total)
        cpu = CpuTimes.now().since(before)
        print(f"{label:34} {flow.share():5.2f} of the link{'':22} {cpu}", flush=True)
        return
    competitor = Competitor(path)
    try:
        time.sleep(head_start)
        flow = transfer(path, total)
    finally:
        points = competitor.stop()
    cpu = CpuTimes.now().since(before)
    tcp_share = Flow(bytes_between(points, flow.start, flow.end), flow.start, flow.end).share()
    print(f"{label + ' vs TCP':34} {flow.share():5.2f} of the link, TCP {tcp_share:4.2f}, "
          f"sum {flow.share() + tcp_share:4.2f}  {cpu}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--megabytes", type=float, default=10.0, help="size of each transfer")
    ap.add_argument("--head-start", type=float, default=3.0,
                    help="seconds the competing TCP flow runs before the QUIC one starts")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="1 MB, 1 s head start")
    ap.add_argument("--cong", choices=CONG, default="reno",
                    help="the kernel QUIC sender's congestion control (default: reno, "
                         "the module's default)")
    args = ap.parse_args(argv)
    config = QuicConfig(congestion_control_algo=CONG[args.cong])
    total = int((1.0 if args.quick else args.megabytes) * 1_000_000)
    head_start = 1.0 if args.quick else args.head_start
    pki = bench_pki()
    link = ["delay", f"{RTT_MS}ms", "rate", f"{RATE_KBIT}kbit", "limit", str(QUEUE)]
    print(f"link: {RATE_KBIT // 1000} Mbit/s, {RTT_MS} ms RTT, netem queue {QUEUE} packets, "
          f"MTU 1500; {total / 1e6:g} MB per transfer; goodput as a fraction of the link rate; "
          f"kernel QUIC with {args.cong}",
          flush=True)
    with veth_path(1500, "link", netem=link) as path:
        for rnd in range(1, args.rounds + 1):
            print(f"round {rnd}", flush=True)
            quic = partial(kernel_quic, pki, config)
            run("kernel QUIC", quic, path, total, None)
            run("kernel QUIC", quic, path, total, head_start)
            run("TCP", tcp, path, total, None)
            if not NGTCP2.exists():
                continue
            with gtlsserver(path, pki, total) as url_path:
                h3 = partial(ngtcp2_h3, pki, url_path)
                run("ngtcp2 gtlsserver (ref)", h3, path, total, None)
                run("ngtcp2 gtlsserver (ref)", h3, path, total, head_start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
