"""Pacing (RFC 9002 7.7): SO_MAX_PACING_RATE caps a transfer, and on a
long-delay link the window is spread over the round trip instead of
leaving in one burst."""

from __future__ import annotations

import itertools
import socket
import struct
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from kquictest.bulk import MB, expected_digest, payload, recv_all, transfer
from kquictest.netemlink import Link, cong_info, connected_across, netem_link
from kquictest.quicpair import Credentials
from kquictest.streampair import connected
from libquic.cmsg import quic_sendmsg
from libquic.uapi import MSG_QUIC_STREAM_FIN, MSG_QUIC_STREAM_NEW

pytestmark = pytest.mark.timeout(180)

SO_MAX_PACING_RATE = 47
SO_TIMESTAMPNS = 35
SO_RCVBUFFORCE = 33
ETH_P_IP = 0x0800
UNLIMITED = (1 << 64) - 1  # ~0UL: no cap


def set_max_pacing_rate(sk: socket.socket, rate: int) -> None:
    sk.setsockopt(socket.SOL_SOCKET, SO_MAX_PACING_RATE, struct.pack("=Q", rate))


def max_pacing_rate(sk: socket.socket) -> int:
    raw = sk.getsockopt(socket.SOL_SOCKET, SO_MAX_PACING_RATE, 8)
    return int(struct.unpack("=Q", raw)[0])


def transfer_on(client: socket.socket, server: socket.socket, sid: int, total: int,
                timeout: float) -> float:
    """Like ``transfer`` but on stream ``sid`` (``transfer`` uses stream 0)."""
    t0 = time.monotonic()

    def send() -> None:
        flags = MSG_QUIC_STREAM_NEW
        for piece in payload(total):
            sent = 0
            while sent < len(piece):
                sent += quic_sendmsg(client, piece[sent:], sid, flags)
                flags = 0
        quic_sendmsg(client, b"", sid, MSG_QUIC_STREAM_FIN)

    with ThreadPoolExecutor(1) as ex:
        fut = ex.submit(send)
        n, digest = recv_all(server, t0 + timeout)
        fut.result(timeout=timeout)
    assert (n, digest) == (total, expected_digest(total))
    return time.monotonic() - t0


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_max_pacing_rate_caps_a_transfer(creds: Credentials) -> None:
    rate, total = 400_000, 2 * MB
    with connected(creds) as p:
        set_max_pacing_rate(p.client, rate)
        assert max_pacing_rate(p.client) == rate  # SOL_SOCKET reached the socket
        assert cong_info(p.client).pacing_rate <= rate
        elapsed = transfer(p.client, p.server, total, 60)
        # a burst (an initial window) may leave at once, the rest at the cap
        floor = (total - 64 * 1024) / rate
        assert elapsed >= 0.9 * floor, elapsed
        assert elapsed <= 3 * total / rate + 10, elapsed
        # the cap removed, the same connection is fast again
        set_max_pacing_rate(p.client, UNLIMITED)
        assert max_pacing_rate(p.client) == UNLIMITED
        elapsed = transfer_on(p.client, p.server, 4, 8 * MB, 60)
        assert elapsed < 8 * MB / (4 * rate), elapsed
        assert cong_info(p.client).pacing_rate > 4 * rate


# ---- packet spacing on a long-delay link ------------------------------------

DELAY_MS = 400  # one way, data direction: the RTT is about this
IDLE_GAP = 0.1  # s: a gap this long between packets is the sender idling


@dataclass
class Capture:
    """Arrival times (s) of the client's data packets at the server's veth."""

    port: int
    times: list[float] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


def _udp_dport_and_len(pkt: bytes) -> tuple[int, int]:
    ihl = (pkt[0] & 0x0F) * 4
    if len(pkt) < ihl + 8 or pkt[9] != socket.IPPROTO_UDP:
        return -1, 0
    dport, ulen = struct.unpack_from("!2xHH", pkt, ihl)
    return dport, ulen


def _kernel_time(ancdata: list[tuple[int, int, bytes]]) -> float:
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            sec, nsec = struct.unpack("=qq", data[:16])
            return sec + nsec / 1e9
    raise AssertionError("no SO_TIMESTAMPNS timestamp")


def _collect(sk: socket.socket, cap: Capture) -> None:
    while not cap.stop.is_set():
        try:
            pkt, anc, _, _ = sk.recvmsg(65536, socket.CMSG_SPACE(16))
        except TimeoutError:
            continue
        dport, ulen = _udp_dport_and_len(pkt)
        if dport == cap.port and ulen >= 1000:
            cap.times.append(_kernel_time(anc))


@contextmanager
def capture(link: Link, port: int) -> Iterator[Capture]:
    """Timestamp UDP datagrams to ``port`` arriving on the namespace's veth."""

    def make() -> socket.socket:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 * MB)
        s.bind((link.peer_dev, ETH_P_IP))
        s.settimeout(0.2)
        return s

    sk = link.ns.run(make)
    cap = Capture(port)
    t = threading.Thread(target=_collect, args=(sk, cap), daemon=True)
    t.start()
    try:
        yield cap
    finally:
        time.sleep(0.5)  # what is still queued in the socket
        cap.stop.set()
        t.join(10)
        sk.close()


def busy_fraction(times: list[float]) -> float:
    """The share of the transfer's time spent sending: gaps shorter than
    IDLE_GAP count as sending, longer ones as waiting for ACKs."""
    ts = sorted(times)
    gaps = [b - a for a, b in itertools.pairwise(ts)]
    span = ts[-1] - ts[0]
    return sum(g for g in gaps if g < IDLE_GAP) / span


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_window_is_spread_over_the_round_trip(creds: Credentials) -> None:
    """In slow start an unpaced sender emits each window back to back and
    then idles for most of the round trip (ACK clocking keeps the bursts);
    paced at 2 cwnd/srtt, it sends for about half of each round trip."""
    with netem_link(DELAY_MS) as link, connected_across(link, creds) as p:
        port = p.server.getsockname()[1]
        with capture(link, port) as cap:
            transfer(p.client, p.server, 400 * 1024, 60)
        info = cong_info(p.client)
        assert info.srtt >= DELAY_MS * 1000 * 0.9, info
        assert len(cap.times) >= 200, len(cap.times)
        share = busy_fraction(cap.times)
        print(f"\n{len(cap.times)} packets, busy {share:.2f} of "
              f"{max(cap.times) - min(cap.times):.2f} s")
        assert share > 0.2, f"sent in bursts: busy only {share:.2f} of the time"
