"""quic-trace's parsing of trace_pipe lines and its qlog output."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from libquic.tools import trace
from libquic.tools.trace import parse_line, to_qlog, write_qlog

ROOT = Path(__file__).resolve().parents[2]

LINES = [
    "  python3-88  [000] b..2.  10.000100: quic_packet_sent: ino=7 level=initial pn=0 len=1162"
    " eliciting=1",
    "  <idle>-0    [001] ..s2.  10.001000: quic_frame_recv: ino=7 level=1 type=0x2",
    "  <idle>-0    [001] ..s2.  10.001001: quic_frame_recv: ino=7 level=1 type=0x6",
    "  <idle>-0    [001] ..s2.  10.001002: quic_packet_recv: ino=7 level=initial pn=0 len=90"
    " eliciting=1",
    "  <idle>-0    [001] ..s2.  10.001003: quic_rtt_update: ino=7 latest_us=900 min_us=900"
    " smoothed_us=900 var_us=450",
    "  <idle>-0    [001] ..s2.  10.002000: quic_frame_recv: ino=7 level=0 type=0xb",
    "  <idle>-0    [001] ..s2.  10.002001: quic_packet_recv: ino=7 level=1rtt pn=3 len=900"
    " eliciting=1",
    "  python3-88  [000] ..... 10.003000: quic_packet_lost: ino=7 space=2 pn=4 len=1200"
    " reason=time_threshold",
    "  python3-88  [000] ..... 10.004000: quic_state_change: ino=7 old=1 new=7",
    "  python3-88  [000] ..... 10.004100: quic_path_change: ino=7 local=1 addr=[fd00::2]:4433",
    "  <idle>-0    [001] ..s2.  10.004200: quic_key_update: ino=7 phase=1 local=0",
    "  <idle>-0    [001] ..s2.  10.004300: quic_packet_dropped: ino=7 len=60 reason=backlog_full",
    "  python3-88  [000] ..... 10.004400: quic_path_change: ino=7 local=0 addr=10.0.0.9:999",
    "  <idle>-0    [001] ..s2.  10.004500: quic_cwnd_update: ino=7 cwnd=12000"
    " ssthresh=18446744073709551615 in_flight=1200 event=ack",
    "  <idle>-0    [001] ..s2.  10.004600: quic_cwnd_update: ino=7 cwnd=6000 ssthresh=6000"
    " in_flight=0 event=loss",
    "# tracer: nop",
    "  <idle>-0 [001] ..s2. 10.5: other_event: x=1",
]


def test_parse_line() -> None:
    ev = parse_line(LINES[0])
    assert ev is not None
    assert (ev.name, ev.ino, ev.time) == ("quic_packet_sent", 7, 10.0001)
    assert ev.fields["level"] == "initial" and ev.fields["len"] == "1162"
    assert parse_line(LINES[-2]) is None and parse_line(LINES[-1]) is None


def test_qlog_records() -> None:
    events = [e for e in map(parse_line, LINES) if e is not None]
    out = io.StringIO()
    write_qlog(out, to_qlog(events, "socket 7"))
    raw = out.getvalue().split("\x1e")
    assert raw[0] == "" and all(r.endswith("\n") for r in raw[1:])
    recs = [json.loads(r) for r in raw[1:]]
    head = recs[0]
    assert head["qlog_format"] == "JSON-SEQ" and head["trace"]["vantage_point"]["type"] == "client"
    names = [r["name"] for r in recs[1:]]
    assert names == ["transport:packet_sent", "transport:packet_received",
                     "recovery:metrics_updated", "transport:packet_received",
                     "recovery:packet_lost", "connectivity:connection_state_updated",
                     "connectivity:path_assigned", "security:key_updated",
                     "security:key_updated", "transport:packet_dropped",
                     "connectivity:path_assigned", "recovery:metrics_updated",
                     "recovery:metrics_updated"]
    first_rcv = recs[2]["data"]
    assert first_rcv["frames"] == [{"frame_type": "ack"}, {"frame_type": "crypto"}]
    assert recs[4]["data"]["frames"] == [{"frame_type": "stream", "fin": True}]
    assert recs[4]["data"]["header"] == {"packet_type": "1RTT", "packet_number": 3}
    assert recs[3]["data"]["smoothed_rtt"] == 0.9
    assert recs[5]["data"] == {"header": {"packet_type": "1RTT", "packet_number": 4},
                               "trigger": "time_threshold"}
    assert recs[6]["data"] == {"old": "handshake_complete", "new": "closed"}
    assert recs[1]["time"] == 0 and recs[6]["time"] == 3.9
    # qlog has no path event of its own until quic-events-07's path_assigned
    assert recs[7]["data"] == {"path_id": "1", "path_local": {"ip_v6": "fd00::2",
                                                               "port_v6": 4433}}
    assert recs[11]["data"] == {"path_id": "2", "path_remote": {"ip_v4": "10.0.0.9",
                                                                 "port_v4": 999}}
    # a key update replaces both directions' keys: one KeyType each
    assert [r["data"] for r in recs[8:10]] == [
        {"key_type": f"{side}_1rtt_secret", "generation": 1, "trigger": "remote_update"}
        for side in ("client", "server")]
    assert recs[10]["data"] == {"raw": {"length": 60}, "trigger": "dos_prevention",
                                "details": {"reason": "backlog_full"}}
    # no ssthresh before the first loss (the kernel's U64_MAX), then the value
    assert recs[12]["data"] == {"congestion_window": 12000, "bytes_in_flight": 1200}
    assert recs[13]["data"] == {"congestion_window": 6000, "bytes_in_flight": 0,
                                "ssthresh": 6000}


# draft-ietf-quic-qlog-quic-events-03: the values its enumerations allow
KEY_TYPES = {f"{side}_{level}_secret" for side in ("client", "server")
             for level in ("initial", "handshake", "0rtt", "1rtt")}
CONNECTION_STATES = {"attempted", "peer_validated", "handshake_started", "early_write",
                     "handshake_complete", "handshake_confirmed", "closing", "draining",
                     "closed"}
DROP_TRIGGERS = {"key_unavailable", "unknown_connection_id", "header_parse_error",
                 "payload_decrypt_error", "protocol_violation", "dos_prevention",
                 "unsupported_version", "unexpected_packet", "unexpected_source_connection_id",
                 "unexpected_version", "duplicate", "invalid_initial"}
LOSS_TRIGGERS = {"reordering_threshold", "time_threshold", "pto_expired"}


def test_every_kernel_value_maps_into_the_schema() -> None:
    """Each state, drop reason and loss reason the kernel can report turns
    into a value the schema defines (a typo here would be a silent misfit
    in qvis)."""
    header = (ROOT / "kmod" / "include" / "trace" / "events" / "quic.h").read_text()
    kernel_drops = set(re.findall(r'\{ QUIC_DROP_\w+, "(\w+)" \}', header))
    kernel_losses = set(re.findall(r'\{ QUIC_LOST_\w+, "(\w+)" \}', header))
    assert kernel_drops and kernel_losses
    assert kernel_drops == set(trace.DROP_TRIGGERS)
    assert set(trace.DROP_TRIGGERS.values()) <= DROP_TRIGGERS
    assert kernel_losses <= LOSS_TRIGGERS
    assert set(trace.STATES.values()) <= CONNECTION_STATES
    lines = [f"  x-1 [000] ..... 1.{i:06d}: quic_state_change: ino=1 old={a} new={b}"
             for i, (a, b) in enumerate([(7, 3), (3, 1), (1, 7), (7, 10), (10, 7)])]
    lines.append("  x-1 [000] ..... 2.000000: quic_key_update: ino=1 phase=0 local=1")
    recs = list(to_qlog([e for e in map(parse_line, lines) if e is not None], "t"))[1:]
    for r in recs:
        if r["name"] == "connectivity:connection_state_updated":
            assert set(r["data"].values()) <= CONNECTION_STATES, r
        if r["name"] == "security:key_updated":
            assert r["data"]["key_type"] in KEY_TYPES
    assert [r["name"] for r in recs].count("connectivity:server_listening") == 1
