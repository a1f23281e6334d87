"""Kernel tracepoints and quic-trace: the events a connection raises, one
socket picked by its inode, drop and loss reasons, and the qlog written
(JSON-SEQ, the qlog 0.3 schema that qvis and aioquic use)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from aioquic.quic.logger import PACKET_TYPE_NAMES

from kquictest.netemlink import connected_across, netem_link
from kquictest.quicpair import Credentials
from kquictest.streampair import connected
from libquic import sockopt
from libquic.cmsg import quic_sendmsg
from libquic.tools.trace import EVENTS, TraceEvent, Tracer, record, to_qlog
from libquic.uapi import MSG_QUIC_STREAM_FIN, MSG_QUIC_STREAM_NEW

pytestmark = [pytest.mark.timeout(400),
              pytest.mark.kquic_only("reads kquic's quic tracepoints")]

ROOT = Path(__file__).resolve().parents[2]

TRANSFER = '''
import json, os, sys, threading, time
from libquic import sockopt
from libquic.connection import QuicConnection, QuicListener
ca, cert, key, out = sys.argv[1:5]
data = os.urandom(300_000)
with QuicListener("127.0.0.1", 0, alpns=["t"], cert_file=cert, key_file=key) as lsk:
    box = {}
    def serve():
        with lsk.accept(120) as c:
            box["s"] = os.fstat(c.sock.fileno()).st_ino
            for _ in range(2):
                s = c.accept_stream(120)
                s.write(s.read_all(120)[::-1], fin=True)
            time.sleep(1)
    t = threading.Thread(target=serve)
    t.start()
    with QuicConnection.connect("127.0.0.1", lsk.address[1], alpns=["t"],
                                hostname="localhost", cafile=ca, timeout=120) as c:
        cino = os.fstat(c.sock.fileno()).st_ino
        st = c.open_stream()
        st.write(data, fin=True)
        assert st.read_all(120) == data[::-1]
        sockopt.key_update(c.sock)
        st = c.open_stream()
        st.write(b"after the key update", fin=True)
        assert st.read_all(120) == b"after the key update"[::-1]
    t.join()
json.dump({"client": cino, "server": box["s"]}, open(out, "w"))
'''


def read_sqlog(path: Path) -> list[dict[str, Any]]:
    text = path.read_text()
    assert text.startswith("\x1e"), "a JSON-SEQ record starts with RS"
    records = [json.loads(r) for r in text.split("\x1e")[1:]]
    assert all(r.endswith("\n") for r in text.split("\x1e")[1:])
    return records


def covered(frames: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """The byte ranges STREAM frames cover, merged: [(start, end), ...]."""
    spans = sorted((f["offset"], f["offset"] + f["length"]) for f in frames)
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def check_congestion_inputs(events: list[dict[str, Any]], sent_bytes: int, side: str) -> None:
    """What qvis's congestion graph reads: sent packets with raw.length and
    their STREAM frames (offsets covering all the bytes of stream 0), ACK
    frames received whose acked_ranges name packets that were sent, and
    metrics with the window and the bytes in flight."""
    sent = [e["data"] for e in events if e["name"] == "transport:packet_sent"]
    rcvd = [e["data"] for e in events if e["name"] == "transport:packet_received"]
    for d in sent + rcvd:
        assert d["raw"]["length"] > d["raw"]["payload_length"] > 0, d
    stream0 = [f for d in sent for f in d["frames"]
               if f["frame_type"] == "stream" and f["stream_id"] == 0]
    assert covered(stream0) == [(0, sent_bytes)], covered(stream0)[:5]
    assert [f["offset"] + f["length"] for f in stream0 if f["fin"]] == [sent_bytes]
    assert any(f["frame_type"] == "crypto" for d in sent for f in d["frames"])
    sent_1rtt = {d["header"]["packet_number"] for d in sent
                 if d["header"]["packet_type"] == "1RTT"}
    acked: set[int] = set()
    acks = 0
    for d in rcvd:
        if d["header"]["packet_type"] != "1RTT":
            continue
        for f in d["frames"]:
            if f["frame_type"] == "ack":
                assert f["acked_ranges"] and all(a <= b for a, b in f["acked_ranges"]), f
                assert f["ack_delay"] >= 0
                acks += 1
                acked.update(n for a, b in f["acked_ranges"] for n in range(a, b + 1))
    assert acked and acked <= sent_1rtt, sorted(acked - sent_1rtt)[:5]
    assert len(acked) > len(sent_1rtt) // 2, "most packets are acknowledged"
    metrics = [e["data"] for e in events if e["name"] == "recovery:metrics_updated"
               and "congestion_window" in e["data"]]
    assert metrics and all(m["congestion_window"] > 0 for m in metrics)
    assert any(m["bytes_in_flight"] > 0 for m in metrics)
    print(f"\n{side}: {len(sent)} packets sent, {sum(d['raw']['length'] for d in sent)} bytes; "
          f"{len(stream0)} STREAM frames of stream 0 covering {covered(stream0)}; "
          f"{acks} ACK frames received acknowledging {len(acked)} of {len(sent_1rtt)} 1-RTT "
          f"packets sent; {len(metrics)} metrics_updated, congestion_window up to "
          f"{max(m['congestion_window'] for m in metrics)}, bytes_in_flight up to "
          f"{max(m['bytes_in_flight'] for m in metrics)}")


def test_every_tracepoint_is_registered() -> None:
    tracer = Tracer()  # mounts tracefs if needed
    try:
        have = {p.name for p in (tracer.root / "events" / "quic").iterdir() if p.is_dir()}
    finally:
        tracer.close()
    assert set(EVENTS) <= have
    assert not (tracer.root / "instances" / tracer.inst.name).exists(), "instance left behind"


def test_quic_trace_records_a_connection_as_qlog(creds: Credentials, tmp_path: Path) -> None:
    script = tmp_path / "transfer.py"
    script.write_text(TRANSFER)
    inos = tmp_path / "inos.json"
    out = tmp_path / "qlog"
    out.mkdir()
    r = subprocess.run([sys.executable, "-m", "libquic.tools.trace", "-o", str(out), "--",
                        sys.executable, str(script), creds.ca, creds.cert, creds.key, str(inos)],
                       capture_output=True, text=True, timeout=360, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    ino = json.loads(inos.read_text())
    files = {p.name for p in out.iterdir()}
    assert {f"quic-{ino['client']}.sqlog", f"quic-{ino['server']}.sqlog"} <= files, files

    for side, peer in (("client", "server"), ("server", "client")):
        recs = read_sqlog(out / f"quic-{ino[side]}.sqlog")
        head, events = recs[0], recs[1:]
        assert head["qlog_format"] == "JSON-SEQ" and head["qlog_version"] == "0.3"
        assert head["trace"]["vantage_point"]["type"] == side
        times = [e["time"] for e in events]
        assert times == sorted(times)
        names = {e["name"] for e in events}
        assert {"transport:packet_sent", "transport:packet_received",
                "recovery:metrics_updated", "connectivity:connection_state_updated",
                "security:key_updated"} <= names, names
        types = {e["data"]["header"]["packet_type"] for e in events
                 if e["name"].startswith("transport:packet_")
                 and e["name"] != "transport:packet_dropped"}
        assert {"initial", "handshake", "1RTT"} <= types
        assert types <= set(PACKET_TYPE_NAMES.values()), "not aioquic's/qlog's names"
        sent = [e for e in events if e["name"] == "transport:packet_sent"]
        if side == "client":
            assert sent[0]["data"]["header"] == {"packet_type": "initial", "packet_number": 0}
        frames = {f["frame_type"] for e in events if e["name"] == "transport:packet_received"
                  for f in e["data"]["frames"]}
        assert {"crypto", "ack", "stream"} <= frames, frames
        # both send 300 000 bytes on stream 0: the data, and it reversed
        check_congestion_inputs(events, 300_000, side)
        rtts = [e["data"]["smoothed_rtt"] for e in events
                if e["name"] == "recovery:metrics_updated" and "smoothed_rtt" in e["data"]]
        assert rtts and all(x > 0 for x in rtts)
        assert any("congestion_window" in e["data"] for e in events
                   if e["name"] == "recovery:metrics_updated")
        assert all(e["data"].get("ssthresh", 0) < 1 << 62 for e in events
                   if e["name"] == "recovery:metrics_updated"), "the kernel's 'none' leaked"
        states = [e["data"]["new"] for e in events
                  if e["name"] == "connectivity:connection_state_updated"]
        assert "handshake_complete" in states and states[-1] == "closed", states
        keys = [e["data"] for e in events if e["name"] == "security:key_updated"]
        assert keys[0]["trigger"] == ("local_update" if side == "client" else "remote_update"), (
            peer, keys)
        assert {k["key_type"] for k in keys} == {"client_1rtt_secret", "server_1rtt_secret"}


def collect(tracer: Tracer, stop: list[bool]) -> tuple[threading.Thread, list[TraceEvent]]:
    got: list[TraceEvent] = []

    def run() -> None:
        got.extend(record(tracer, until=time.monotonic() + 300, child=None, stop=stop))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    time.sleep(0.5)  # the pipe is open
    return t, got


def test_one_socket_by_inode_with_losses(creds: Credentials) -> None:
    with netem_link(5) as link, connected_across(link, creds) as pair:
        cino = os.fstat(pair.client.fileno()).st_ino
        tracer = Tracer(ino=cino)
        stop: list[bool] = []
        try:
            t, got = collect(tracer, stop)
            link.loss(10)
            data = os.urandom(1 << 20)
            sender = threading.Thread(target=pair.client.sendall, args=(data,), daemon=True)
            sender.start()
            n = 0
            pair.server.settimeout(120)
            while n < len(data):
                chunk = pair.server.recv(65536)
                assert chunk, "the connection ended"
                n += len(chunk)
                if n > len(data) // 2:
                    link.loss(0)
            sender.join(60)
            time.sleep(0.5)
        finally:
            stop.append(True)
            t.join(30)
            tracer.close()
    assert got, "nothing was recorded"
    assert {e.ino for e in got} == {cino}, "the filter let other sockets through"
    names = {e.name for e in got}
    assert {"quic_packet_sent", "quic_packet_recv", "quic_packet_lost", "quic_rtt_update",
            "quic_cwnd_update", "quic_frame_recv"} <= names, names
    lost = [e for e in got if e.name == "quic_packet_lost"]
    assert {e.fields["reason"] for e in lost} <= {"reordering_threshold", "time_threshold"}
    assert any(e.fields.get("event") == "loss" for e in got if e.name == "quic_cwnd_update")
    qlog = list(to_qlog(got, "t"))
    assert any(r.get("name") == "recovery:packet_lost" for r in qlog)
    # qvis matches a lost packet to the one sent by type and number
    sent = {(r["data"]["header"]["packet_type"], r["data"]["header"]["packet_number"])
            for r in qlog if r.get("name") == "transport:packet_sent"}
    lost_pkts = [(r["data"]["header"]["packet_type"], r["data"]["header"]["packet_number"])
                 for r in qlog if r.get("name") == "recovery:packet_lost"]
    assert set(lost_pkts) <= sent, sorted(set(lost_pkts) - sent)[:5]


def test_dropped_datagrams_carry_their_reason() -> None:
    lsk = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 261)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tracer = Tracer()
    stop: list[bool] = []
    try:
        lsk.bind(("127.0.0.1", 0))
        lsk.listen(1)
        t, got = collect(tracer, stop)
        u.sendto(b"\x40" + os.urandom(8) + os.urandom(40), lsk.getsockname())  # no such CID
        unknown_version = (b"\xc0" + b"\x0a\x0a\x0a\x0a" + b"\x08" + os.urandom(8) + b"\x08"
                           + os.urandom(8) + os.urandom(60))
        u.sendto(unknown_version, lsk.getsockname())
        time.sleep(1)
    finally:
        stop.append(True)
        t.join(30)
        tracer.close()
        u.close()
        lsk.close()
    drops = {e.fields["reason"] for e in got if e.name == "quic_packet_dropped" and e.ino == 0}
    assert {"unknown_connection", "unsupported_version"} <= drops, drops


def test_path_changes_of_a_migration(creds: Credentials) -> None:
    """A client moving to another local address: its socket reports the
    new local address, the server's the new peer address, as qlog's
    path_assigned."""
    with connected(creds) as p:
        cino = os.fstat(p.client.fileno()).st_ino
        sino = os.fstat(p.server.fileno()).st_ino
        tracer = Tracer(events=("quic_path_change", "quic_packet_recv"))
        stop: list[bool] = []
        try:
            t, got = collect(tracer, stop)
            data = os.urandom(1 << 20)

            def send() -> None:
                for off in range(0, len(data), 65536):
                    flags = MSG_QUIC_STREAM_NEW if off == 0 else 0
                    if off + 65536 >= len(data):
                        flags |= MSG_QUIC_STREAM_FIN
                    piece = data[off:off + 65536]
                    n = 0
                    while n < len(piece):
                        n += quic_sendmsg(p.client, piece[n:], 0, flags if n == 0 else 0)

            sender = threading.Thread(target=send, daemon=True)
            sender.start()
            got_bytes = 0
            moved = False
            p.server.settimeout(60)
            while got_bytes < len(data):
                chunk = p.server.recv(65536)
                assert chunk, "the connection ended"
                got_bytes += len(chunk)
                if got_bytes > len(data) // 3 and not moved:
                    sockopt.migrate(p.client, ("127.0.0.2", 0))
                    moved = True
            sender.join(60)
            deadline = time.monotonic() + 10
            while p.server.getpeername()[0] != "127.0.0.2":
                assert time.monotonic() < deadline, "the server did not follow"
                time.sleep(0.05)
            new_port = p.client.getsockname()[1]
            time.sleep(0.5)
        finally:
            stop.append(True)
            t.join(30)
            tracer.close()
    changes = [e for e in got if e.name == "quic_path_change"]
    mine = {(e.ino, e.fields["local"], e.fields["addr"]) for e in changes}
    assert (cino, "1", f"127.0.0.2:{new_port}") in mine, changes
    assert (sino, "0", f"127.0.0.2:{new_port}") in mine, changes
    qlog = [r for r in to_qlog([e for e in got if e.ino == cino], "c")][1:]
    assigned = [r["data"] for r in qlog if r["name"] == "connectivity:path_assigned"]
    assert assigned == [{"path_id": "1", "path_local": {"ip_v4": "127.0.0.2",
                                                         "port_v4": new_port}}]
