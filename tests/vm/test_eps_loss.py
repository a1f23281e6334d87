"""The LOST column of /proc/net/quic/eps: the packets one connection
declared lost, not the namespace's; and quic-perf reporting its own
connections' losses from it."""

from __future__ import annotations

import contextlib
import io
import os
import re
import socket
import threading
import time

import pytest

from kquictest import quic_testdriver as qt
from kquictest.aiopeer import free_udp_port
from kquictest.bulk import MB, transfer
from kquictest.netemlink import THERE, connected_across, netem_link
from kquictest.quicpair import Credentials
from kquictest.streampair import connected
from libquic.tools.perf import main as perf_main
from libquic.tools.perf import run_client, run_server
from libquic.tools.trace import TraceEvent, Tracer, record

pytestmark = [pytest.mark.timeout(300),
              pytest.mark.kquic_only("reads kquic's /proc/net/quic/eps columns and MIB")]


def lost_column(sk: socket.socket) -> int:
    return int(qt.eps_row(sk)["LOST"])


def test_lost_column_counts_the_connections_own_losses(creds: Credentials) -> None:
    """A connection across a lossy link counts exactly the packets its
    quic_packet_lost events name; a clean one beside it counts none."""
    with netem_link(5) as link, connected_across(link, creds) as lossy, \
            connected(creds) as clean:
        ino = os.fstat(lossy.client.fileno()).st_ino
        tracer = Tracer(ino=ino, events=("quic_packet_lost",))
        stop: list[bool] = []
        got: list[TraceEvent] = []
        t = threading.Thread(target=lambda: got.extend(
            record(tracer, until=time.monotonic() + 200, child=None, stop=stop)), daemon=True)
        try:
            t.start()
            time.sleep(0.5)  # the pipe is open
            before = lost_column(lossy.client)
            link.loss(10)
            transfer(lossy.client, lossy.server, MB, 120)
            link.loss(0)
            transfer(clean.client, clean.server, MB, 120)
            time.sleep(0.5)
            after, clean_lost = lost_column(lossy.client), lost_column(clean.client)
            clean_server_lost = lost_column(clean.server)
        finally:
            stop.append(True)
            t.join(30)
            tracer.close()
    print(f"\nlossy connection: LOST {before} -> {after} ({len(got)} lost events); "
          f"clean connection: LOST {clean_lost} / {clean_server_lost}")
    assert after - before > 0, "10% loss and no packet declared lost"
    assert after - before == len(got), "the column and the tracepoint disagree"
    assert clean_lost == 0 and clean_server_lost == 0, "another connection's losses leaked"


def summary_lost(out: str) -> int:
    (line,) = [ln for ln in out.splitlines() if ln.startswith("summary:")]
    m = re.search(r"; lost (\d+)$", line)
    assert m, line
    return int(m.group(1))


def serve_once(port: int, creds: Credentials, host: str) -> threading.Event:
    """A quic-perf server for one client, in a thread; set once listening."""
    listening = threading.Event()

    def serve() -> None:
        run_server(host, port, creds.cert, creds.key, once=True,
                   log=lambda s: listening.set() if s.startswith("listening") else None)

    threading.Thread(target=serve, daemon=True).start()
    return listening


def test_perf_reports_its_own_connections_losses(creds: Credentials) -> None:
    """Two quic-perf clients at once in one namespace, one across a lossy
    link (quic-perf's main, its output read), one on loopback while the
    first is sending: each reports the losses of its own connections, so
    the two add up to no more than the namespace counted (with the
    namespace-wide count, each would report the other's losses too)."""
    with netem_link(5) as link:
        there_port, here_port = free_udp_port(), free_udp_port()
        there_up: list[threading.Event] = []
        link.ns.run(lambda: there_up.append(serve_once(there_port, creds, THERE)))
        here_up = serve_once(here_port, creds, "127.0.0.1")
        assert there_up[0].wait(60) and here_up.wait(60), "the servers did not start"
        mib0 = qt.snmp()["QuicPktLost"]
        link.loss(5)
        buf = io.StringIO()
        rc: list[int] = []
        with contextlib.redirect_stdout(buf):
            lossy_cmd = threading.Thread(target=lambda: rc.append(perf_main(
                ["-c", THERE, "-p", str(there_port), "--cafile", creds.ca,
                 "--hostname", "localhost", "-t", "4"])), daemon=True)
            lossy_cmd.start()
            deadline = time.monotonic() + 60
            while "[" not in buf.getvalue():  # its first second is over
                assert time.monotonic() < deadline and lossy_cmd.is_alive(), buf.getvalue()
                time.sleep(0.05)
            clean_summary = run_client("127.0.0.1", here_port, cafile=creds.ca,
                                       hostname="localhost", seconds=2)
            lossy_cmd.join(60)
        link.loss(0)
        mib = qt.snmp()["QuicPktLost"] - mib0
    out = buf.getvalue()
    assert rc == [0], out
    lossy, clean = summary_lost(out), clean_summary.lost
    lines = [ln for ln in out.splitlines() if ln.startswith("[")]
    print(f"\nquic-perf across the lossy link: lost {lossy}; on loopback at the same time: "
          f"lost {clean}; namespace QuicPktLost +{mib}\n" + "\n".join(lines))
    assert clean is not None and lossy > 0, out
    assert all(re.search(r"  lost \d+$", ln) for ln in lines), lines
    assert int(lines[-1].rsplit(" ", 1)[1]) <= lossy
    assert lossy + clean <= mib, "a client counted losses that were not its own"
