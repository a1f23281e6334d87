"""Receive memory stays within the socket's budget whatever the peer sends.

A hostile peer completes a handshake, then sends, to an application that
does not read: (a) 1-byte STREAM frames in order, (b) 1-byte frames with a
hole before each one, (c) small frames on as many streams as allowed,
(d) small DATAGRAM frames, (e) out-of-order 1-byte CRYPTO frames at the
application level.  The server's charged receive memory (SO_MEMINFO) and
the kernel's slab growth must stay within SO_RCVBUF times a stated factor
plus a fixed allowance; once the application reads, what was refused is
accepted when sent again, and nothing is lost.

The hostile peer: the kernel client (in a second namespace) does the
handshake with the test driver's fixed secrets; then everything the
server sends to it is dropped (netem, loss 100%), so it never sees the
acknowledgements of packets it did not send, and a raw socket in its
namespace sends 1-RTT packets built here, from the client's address and
port, with the client's keys and packet numbers far above its own.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from kquictest import quic_testdriver as qt
from kquictest.hostile import (
    Victim,
    crypto_frame,
    dgram_frame,
    drain,
    meminfo,
    settle,
    stream_frame,
)
from kquictest.hostile import hostile_pair as _hostile_pair
from kquictest.netns import Namespace, namespace
from libquic.cmsg import quic_recvmsg, quic_sendmsg
from libquic.uapi import MSG_QUIC_STREAM_FIN, MSG_QUIC_STREAM_NEW

RMEM_MAX_TOTAL = "/proc/sys/net/quic/rmem_max_total"
RCVBUF = 32 * 1024  # setsockopt value; the kernel doubles it
# The bound: charged memory within the budget plus the slack handshake
# data and events may use (QUIC_INQ_EVENT_SLACK) and one datagram; slab
# growth within twice the budget (skb heads, bookkeeping) plus 512 KiB.
SLACK = 64 * 1024 + 4096
SLAB_FACTOR = 2
SLAB_ALLOWANCE = 512 * 1024


@contextmanager
def hostile_pair(server_tp: dict[str, int] | None = None) -> Iterator[Victim]:
    with _hostile_pair(server_tp, rcvbuf=RCVBUF) as v:
        yield v


def slab_kb() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("Slab:"):
                return int(line.split()[1])
    raise KeyError("Slab")


def snmp_in(ns: Namespace | None) -> dict[str, int]:
    path = "/proc/net/quic/snmp"
    if ns:
        out = ns.read(path)
    else:
        with open(path) as f:
            out = f.read()
    return {k: int(v) for k, v in (ln.split() for ln in out.splitlines())}


def check_bound(v: Victim, slab_before: int, what: str) -> int:
    settle(v.server)
    rmem, rcvbuf = meminfo(v.server)
    grown = (slab_kb() - slab_before) * 1024
    print(f"{what}: rmem {rmem} B, rcvbuf {rcvbuf} B, slab grew {grown} B")
    assert qt.state_of(v.server) == "ESTABLISHED", "the connection was closed"
    assert rmem <= rcvbuf + SLACK, f"{what}: {rmem} B charged, budget {rcvbuf} B"
    assert grown <= SLAB_FACTOR * rcvbuf + SLAB_ALLOWANCE, (
        f"{what}: slab grew {grown} B for a budget of {rcvbuf} B")
    return rmem


def pattern(i: int) -> int:
    return (i * 7 + 3) % 251


def deliver_all(v: Victim, frames_from: Callable[[dict[int, bytearray]], list[bytes]],
                want: dict[int, bytes], rounds: int = 40) -> None:
    """Read, then send again what is missing, until all of ``want`` is read."""
    got: dict[int, bytearray] = {}
    for _ in range(rounds):
        drain(v.server, got)
        if all(bytes(got.get(sid, b"")) == data for sid, data in want.items()):
            return
        for sid, data in want.items():
            assert bytes(got.get(sid, b"")) == data[: len(got.get(sid, b""))], (
                f"stream {sid}: wrong bytes")
        v.peer.send_frames(frames_from(got))
        settle(v.server, 5)
    raise AssertionError(f"not all delivered: { {k: len(x) for k, x in got.items()} }")


# (a) ------------------------------------------------------------------------

@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_one_byte_frames_in_order() -> None:
    total = 64 * 1024
    data = bytes(pattern(i) for i in range(total))

    def frames(got: dict[int, bytearray]) -> list[bytes]:
        start = len(got.get(0, b""))
        return [stream_frame(0, i, data[i : i + 1]) for i in range(start, total)]

    with hostile_pair() as v:
        slab = slab_kb()
        v.peer.send_frames(frames({}))
        check_bound(v, slab, "1-byte frames")
        deliver_all(v, frames, {0: data})


# (b) ------------------------------------------------------------------------

@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_out_of_order_holes() -> None:
    total = 64 * 1024
    with hostile_pair() as v:
        slab = slab_kb()
        before = snmp_in(None).get("QuicRcvMemDrops", 0)
        v.peer.send_frames([stream_frame(0, i, b"x") for i in range(1, total, 2)])
        check_bound(v, slab, "holes")
        # the first hole filled: the data the buffer held comes out in order
        v.peer.send_frames([stream_frame(0, 0, b"y")])
        got: dict[int, bytearray] = {}
        qt.wait_for(lambda: drain(v.server, got, 0.2) >= 0 and bool(got.get(0)), 10,
                    "data after the first hole")
        assert bytes(got[0][:2]) == b"yx"
        print("drops", snmp_in(None).get("QuicRcvMemDrops", 0) - before)


# (c) ------------------------------------------------------------------------

@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_many_streams() -> None:
    nstreams, per = 100, 600
    want = {4 * k: bytes(pattern(k + i) for i in range(per)) for k in range(nstreams)}

    def round_robin() -> list[bytes]:  # no two neighbours share a stream
        return [stream_frame(sid, i, data[i : i + 1])
                for i in range(per) for sid, data in want.items()]

    def again(got: dict[int, bytearray]) -> list[bytes]:  # stream by stream
        return [stream_frame(sid, i, data[i : i + 1]) for sid, data in want.items()
                for i in range(len(got.get(sid, b"")), per)]

    with hostile_pair() as v:
        slab = slab_kb()
        v.peer.send_frames(round_robin())
        check_bound(v, slab, "many streams")
        deliver_all(v, again, want)


# (d) ------------------------------------------------------------------------

@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_datagrams() -> None:
    with hostile_pair(server_tp={"max_datagram_frame_size": 1500}) as v:
        slab = slab_kb()
        for _ in range(200):
            v.peer.send_frames([dgram_frame(b"d")] * 300)
        check_bound(v, slab, "datagrams")
        got: dict[int, bytearray] = {}
        assert drain(v.server, got) > 0


# (e) ------------------------------------------------------------------------

@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_app_level_crypto_holes() -> None:
    with hostile_pair() as v:
        slab = slab_kb()
        v.peer.send_frames([crypto_frame(i, b"c") for i in range(1, 64 * 1024 - 1, 2)])
        check_bound(v, slab, "CRYPTO holes")


# per-namespace limit ----------------------------------------------------------

def transfer(c: socket.socket, s: socket.socket, size: int, hold: float) -> dict[str, int]:
    """Send ``size`` bytes; the server reads only after ``hold`` seconds
    (memory peaks first), then all of it, which must arrive intact."""
    data = bytes(pattern(i) for i in range(size))
    peak = {"rmem": 0}
    c.settimeout(120)
    s.settimeout(120)

    def send() -> None:
        quic_sendmsg(c, data, 0, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN)

    def recv() -> None:
        end = time.monotonic() + hold
        while time.monotonic() < end:
            peak["rmem"] = max(peak["rmem"], meminfo(s)[0])
            time.sleep(0.05)
        got = bytearray()
        while True:
            m = quic_recvmsg(s, 65536)
            got += m.data
            if m.fin:
                break
        assert bytes(got) == data, f"{len(got)} of {size} bytes, or wrong ones"

    qt.run_threads(send, recv, timeout=300)
    return peak


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_namespace_limit() -> None:
    limit = 256 * 1024
    with namespace("qm") as ns:
        ns.write(RMEM_MAX_TOTAL, str(limit))
        assert int(ns.read(RMEM_MAX_TOTAL)) == limit
        with open(RMEM_MAX_TOTAL) as f:
            assert int(f.read()) > limit, "the init namespace's limit changed too"
        init_before = snmp_in(None).get("QuicRcvMemDrops", 0)
        ns_before = snmp_in(ns)["QuicRcvMemDrops"]

        lsk, c, s = ns.run(lambda: qt.connect_pair())
        try:
            peak = transfer(c, s, 1 << 20, hold=5)
            print("ns peak rmem", peak["rmem"], "snmp", snmp_in(ns))
            assert peak["rmem"] <= limit + SLACK
            assert snmp_in(ns)["QuicRcvMemDrops"] > ns_before
            assert snmp_in(ns)["QuicRcvMemAlloc"] <= limit + SLACK
        finally:
            for k in (c, s, lsk):
                k.close()
        assert snmp_in(None)["QuicRcvMemDrops"] == init_before

    # the same transfer in the init namespace is not limited by it
    lsk, c, s = qt.connect_pair()
    try:
        peak = transfer(c, s, 1 << 20, hold=5)
        print("init peak rmem", peak["rmem"])
        assert peak["rmem"] > limit + SLACK
    finally:
        for k in (c, s, lsk):
            k.close()


# a well-behaved peer with a small receive buffer ------------------------------

@pytest.mark.parametrize("rcvbuf", [16 * 1024, 128 * 1024])
def test_small_rcvbuf_bulk_completes(rcvbuf: int) -> None:
    def small(sk: socket.socket) -> None:
        sk.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)

    lsk, c, s = qt.connect_pair()
    try:
        small(s)
        budget = meminfo(s)[1]
        peak = transfer(c, s, 2 << 20, hold=2)
        print("rcvbuf", budget, "peak rmem", peak["rmem"])
        assert peak["rmem"] <= budget + SLACK
    finally:
        for k in (c, s, lsk):
            k.close()
