"""quic-trace's parsing of trace_pipe lines and its qlog output."""

from __future__ import annotations

import io
import json

from libquic.tools.trace import parse_line, to_qlog, write_qlog

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
                     "recovery:packet_lost", "connectivity:connection_state_updated"]
    first_rcv = recs[2]["data"]
    assert first_rcv["frames"] == [{"frame_type": "ack"}, {"frame_type": "crypto"}]
    assert recs[4]["data"]["frames"] == [{"frame_type": "stream", "fin": True}]
    assert recs[4]["data"]["header"] == {"packet_type": "1RTT", "packet_number": 3}
    assert recs[3]["data"]["smoothed_rtt"] == 0.9
    assert recs[5]["data"] == {"header": {"packet_type": "1RTT", "packet_number": 4},
                               "trigger": "time_threshold"}
    assert recs[6]["data"] == {"old": "established", "new": "closed"}
    assert recs[1]["time"] == 0 and recs[6]["time"] == 3.9
