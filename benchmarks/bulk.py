"""Bulk transfers between forked processes, timed by the receiver.

``bulk()`` is one connection: the sender (this process) writes messages of
one size for a fixed time and ends the stream, a forked receiver counts
bytes from the first byte to the end.  ``parallel_bulk()`` runs several
connections at once, each with a forked sender and a forked receiver, and
gives the aggregate: all bytes over the span from the first connection's
first byte to the last connection's end (CLOCK_MONOTONIC is the same in
every process).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from benchmarks.transports import Endpoint, Pair


@dataclass(frozen=True)
class Received:
    total: int  # bytes
    start: float  # monotonic time of the first byte
    end: float  # monotonic time of the end of the stream

    def mbits(self) -> float:
        span = self.end - self.start
        return self.total * 8 / span / 1e6 if self.total and span > 0 else 0.0


def receive(rcv: Endpoint, size: int) -> Received:
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
    return Received(total, start, time.monotonic() if total else 0.0)


def send_for(snd: Endpoint, size: int, seconds: float) -> None:
    msg = memoryview(os.urandom(size))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        snd.send(msg)
    snd.finish()


def send_bytes(snd: Endpoint, size: int, total: int) -> None:
    """``total`` bytes in ``size``-byte messages (the last one shorter), then the end."""
    msg = memoryview(os.urandom(size))
    while total > 0:
        snd.send(msg[:total])
        total -= size
    snd.finish()


def fork_receiver(pair: Pair, size: int) -> tuple[int, int]:
    """A child receiving on ``pair``'s server end; (pid, read end of its report)."""
    snd, rcv = pair
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(rfd)
            snd.close()
            got = receive(rcv, size)
            os.write(wfd, f"{got.total} {got.start} {got.end}\n".encode())
            code = 0
        finally:
            os._exit(code)
    os.close(wfd)
    rcv.close()
    return pid, rfd


def collect(name: str, pid: int, rfd: int) -> Received:
    with os.fdopen(rfd) as r:
        line = r.readline()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not line:
        raise RuntimeError(f"{name} receiver failed (status {status})")
    total, start, end = line.split()
    return Received(int(total), float(start), float(end))


def bulk(name: str, pair: Pair, size: int, seconds: float) -> float:
    """Throughput in Mbit/s of one connection sending ``size``-byte messages."""
    pid, rfd = fork_receiver(pair, size)
    snd = pair[0]
    try:
        send_for(snd, size, seconds)
        # closing a QUIC socket drops what the peer has not acknowledged:
        # close only once the receiver has it all
        return collect(name, pid, rfd).mbits()
    finally:
        snd.close()


def parallel_bulk(name: str, pairs: list[Pair], size: int, seconds: float) -> float:
    """Aggregate Mbit/s of ``pairs`` all sending at once."""
    receivers = [fork_receiver(p, size) for p in pairs]
    # the senders exit (closing their sockets) only when the parent closes
    # ``release``, after every receiver has reported
    hold, release = os.pipe()
    senders = []
    for i, (snd, _) in enumerate(pairs):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(release)
                for j, (other, _) in enumerate(pairs):
                    if j != i:
                        other.close()
                send_for(snd, size, seconds)
                code = 0
                os.read(hold, 1)
            finally:
                os._exit(code)
        senders.append(pid)
    os.close(hold)
    for snd, _ in pairs:
        snd.close()
    try:
        got = [collect(name, pid, rfd) for pid, rfd in receivers]
    finally:
        os.close(release)
        failed = [st for st in (os.waitpid(pid, 0)[1] for pid in senders) if st]
    if failed:
        raise RuntimeError(f"{name} senders failed: {failed}")
    span = max(g.end for g in got) - min(g.start for g in got)
    return sum(g.total for g in got) * 8 / span / 1e6 if span > 0 else 0.0
