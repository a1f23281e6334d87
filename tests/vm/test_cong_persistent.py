"""Persistent congestion (RFC 9002 7.6.2): a blackhole lasting several
PTO periods collapses the window, a short loss burst does not; the
transfer arrives intact either way."""

from __future__ import annotations

import socket
import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from kquictest import quic_testdriver as qt
from kquictest.bulk import MB, transfer
from kquictest.netemlink import CongInfo, cong_info, connected_across, netem_link
from kquictest.quicpair import Credentials
from libquic import sockopt
from libquic.uapi import QuicConfig

pytestmark = pytest.mark.timeout(240)

DELAY_MS = 100  # the RTT is about this
BLACKHOLE = 5.0  # s
INITIAL_WINDOW = 14720  # 10 datagrams of 1472 bytes (veth MTU 1500)


def persistent_total() -> int:
    return qt.snmp()["QuicPersistentCongestion"]


def first_persistent(sk: socket.socket, deadline: float, fut: Future[float]) -> CongInfo:
    """Poll /proc/net/quic/eps until persistent congestion shows."""
    info = cong_info(sk)
    while time.monotonic() < deadline and not fut.done():
        info = cong_info(sk)
        if info.persistent:
            return info
        time.sleep(0.005)
    raise AssertionError(f"no persistent congestion after the blackhole: {info}")


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
@pytest.mark.parametrize("algo", [0, 1], ids=["newreno", "cubic"])
def test_blackhole_declares_persistent_congestion(creds: Credentials, algo: int) -> None:
    cfg = QuicConfig(congestion_control_algo=algo)
    with netem_link(DELAY_MS) as link, connected_across(link, creds, cfg) as p:
        assert sockopt.get_config(p.client).congestion_control_algo == algo
        before = persistent_total()
        with ThreadPoolExecutor(1) as ex:
            fut = ex.submit(transfer, p.client, p.server, 32 * MB, 180)
            time.sleep(0.8)
            assert not fut.done(), "the transfer ended before the blackhole"
            link.loss(100)
            # PTO probes go out at 1, 3, 7 PTOs: the lost ones must span more
            # than 3 PTOs (the persistent congestion duration) even when a
            # loaded VM inflates rttvar
            time.sleep(BLACKHOLE)
            link.loss(0)
            seen = first_persistent(p.client, deadline=time.monotonic() + 30, fut=fut)
            fut.result(timeout=180)  # the SHA-256 of 32 MB matched
        # the window collapsed below the initial one; slow start then needs
        # a few round trips to grow it again
        print(f"\nat persistent congestion: {seen}")
        assert seen.cwnd < INITIAL_WINDOW, seen
        assert cong_info(p.client).persistent >= 1
        assert persistent_total() >= before + 1


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_short_loss_burst_is_not_persistent(creds: Credentials) -> None:
    # a longer RTT: the burst must stay well within the persistent
    # congestion duration even when a loaded VM makes switching slow
    with netem_link(2 * DELAY_MS) as link, connected_across(link, creds) as p:
        lost = qt.snmp()["QuicPktLost"]
        with ThreadPoolExecutor(1) as ex:
            fut = ex.submit(transfer, p.client, p.server, 32 * MB, 180)
            time.sleep(0.8)
            assert not fut.done(), "the transfer ended before the loss burst"
            t0 = time.monotonic()
            link.loss(100)
            time.sleep(0.02)
            link.loss(0)
            burst = time.monotonic() - t0
            fut.result(timeout=180)
        print(f"\nblackhole of {burst * 1000:.0f} ms")
        info = cong_info(p.client)
        # the duration is 3 (srtt + max(4 rttvar, 1 ms) + max_ack_delay), at
        # least this; the lost packets were sent within the burst
        duration = 3 * (info.srtt + 1000 + 25000) / 1e6
        assert burst < duration, f"the loss burst took {burst:.2f} s"
        assert qt.snmp()["QuicPktLost"] > lost, "the burst lost nothing"
        assert info.persistent == 0, info
