"""HyStart++ (RFC 9406): on a rate-limited link with a queue, the first
slow start ends when the queue makes the round-trip time grow, before the
queue overflows: the window moves to Conservative Slow Start (CSS) ahead
of any loss, for NewReno and CUBIC alike.  (Without HyStart++ slow start
doubles the window until the queue overflows.)"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from kquictest import quic_testdriver as qt
from kquictest.bulk import MB, transfer
from kquictest.netemlink import HERE, THERE, Link, connected_across
from kquictest.netns import veth_link
from kquictest.quicpair import Credentials
from libquic.tools.trace import TraceEvent, Tracer
from libquic.uapi import QuicConfig

pytestmark = pytest.mark.timeout(240)

RATE_KBIT = 10_000
DELAY_MS = 30
# packets netem holds, the ~25 of the delay line (the bandwidth-delay
# product) included: HyStart++ sees the queue when it holds a few ms' worth
QUEUE = 200
MSS = 1472
BDP = RATE_KBIT * 1000 // 8 * DELAY_MS // 1000  # bytes


@contextmanager
def queued_link() -> Iterator[Link]:
    """Like netem_link, with a rate and a short queue (tc(8): pyroute2
    refuses netem's rate)."""
    with veth_link([f"{HERE}/24"], [f"{THERE}/24"], prefix="qh") as link:
        subprocess.run(["tc", "qdisc", "replace", "dev", link.dev, "root", "netem",
                        "delay", f"{DELAY_MS}ms", "rate", f"{RATE_KBIT}kbit",
                        "limit", str(QUEUE)], check=True, capture_output=True)
        yield link


def hystart_css() -> int:
    return qt.snmp()["QuicHystartCss"]


def cwnd_events(trace: list[TraceEvent]) -> list[tuple[str, int]]:
    return [(ev.fields["event"], int(ev.fields["cwnd"]))
            for ev in trace if ev.name == "quic_cwnd_update"]


@pytest.mark.kquic_only("reads kquic's quic_cwnd_update tracepoint and its MIB")
@pytest.mark.parametrize("algo", [0, 1], ids=["newreno", "cubic"])
def test_slow_start_ends_before_the_queue_overflows(creds: Credentials, algo: int) -> None:
    cfg = QuicConfig(congestion_control_algo=algo)
    with queued_link() as link, connected_across(link, creds, cfg) as p:
        before = hystart_css()
        tracer = Tracer(ino=os.fstat(p.client.fileno()).st_ino,
                        events=("quic_cwnd_update", "quic_packet_lost"))
        try:
            transfer(p.client, p.server, 3 * MB, 120)
            trace = tracer.read()
        finally:
            tracer.close()
    events = cwnd_events(trace)
    names = [name for name, _ in events]
    print(f"\n{[e for e in events if e[0] != 'ack'][:12]}")
    assert "css" in names, events[:40]
    first_css = names.index("css")
    lost = [i for i, ev in enumerate(trace) if ev.name == "quic_packet_lost"]
    css_at = next(i for i, ev in enumerate(trace)
                  if ev.name == "quic_cwnd_update" and ev.fields["event"] == "css")
    # slow start ended on the delay increase, not on a loss
    assert not lost or css_at < lost[0], (css_at, lost[:3])
    assert "loss" not in names[:first_css], events[:first_css + 1]
    # ... with the window past the path's bandwidth-delay product and
    # within what the path holds
    cwnd = events[first_css][1]
    assert BDP < cwnd < QUEUE * MSS, events[:first_css + 1]
    assert hystart_css() >= before + 1
