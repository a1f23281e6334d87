"""quic-trace's parsing of trace_pipe lines and its qlog output."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from libquic.tools import trace
from libquic.tools.trace import parse_line, to_qlog, write_qlog

ROOT = Path(__file__).resolve().parents[2]


def frame(time: str, ev: str, level: str, pn: int, t: int, *, id: int = -1, off: int = 0,
          ln: int = 0, fin: int = 0, val: int = 0, largest: int = 0, delay: int = 0,
          nr: int = 0, ranges: str = "{}") -> str:
    """A quic_frame_sent/recv line as the kernel's TP_printk writes it."""
    return (f"  <idle>-0    [001] ..s2.  {time}: {ev}: ino=7 level={level} pn={pn} type=0x{t:x}"
            f" id={id} offset={off} len={ln} fin={fin} value={val} largest={largest}"
            f" delay_us={delay} ack_ranges={nr} ranges={ranges}")


LINES = [
    frame("10.000100", "quic_frame_sent", "initial", 0, 0x6, ln=280),
    frame("10.000100", "quic_frame_sent", "initial", 0, 0x0, ln=882),
    "  python3-88  [000] b..2.  10.000100: quic_packet_sent: ino=7 level=initial pn=0 len=1162"
    " size=1200 eliciting=1",
    frame("10.001000", "quic_frame_recv", "initial", 0, 0x2, largest=0, delay=0, nr=1,
          ranges="{0x0,0x0}"),
    frame("10.001001", "quic_frame_recv", "initial", 0, 0x6, ln=90),
    "  <idle>-0    [001] ..s2.  10.001002: quic_packet_recv: ino=7 level=initial pn=0 len=90"
    " size=150 eliciting=1",
    "  <idle>-0    [001] ..s2.  10.001003: quic_rtt_update: ino=7 latest_us=900 min_us=900"
    " smoothed_us=900 var_us=450",
    frame("10.002000", "quic_frame_recv", "1rtt", 3, 0xB, id=4, ln=880, fin=1),
    "  <idle>-0    [001] ..s2.  10.002001: quic_packet_recv: ino=7 level=1rtt pn=3 len=900"
    " size=930 eliciting=1",
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
    "  <idle>-0    [001] ..s2.  10.004700: quic_pmtu_update: ino=7 plpmtu=1200 probe=1472"
    " state=2 event=probe_lost",
    "  <idle>-0    [001] ..s2.  10.004800: quic_pmtu_update: ino=7 plpmtu=1472 probe=0"
    " state=3 event=complete",
    "# tracer: nop",
    "  <idle>-0 [001] ..s2. 10.5: other_event: x=1",
]


def test_parse_line() -> None:
    ev = parse_line(LINES[2])
    assert ev is not None
    assert (ev.name, ev.ino, ev.time) == ("quic_packet_sent", 7, 10.0001)
    assert ev.fields["level"] == "initial" and ev.fields["len"] == "1162"
    assert ev.fields["size"] == "1200"
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
                     "recovery:metrics_updated", "connectivity:mtu_updated"]
    assert recs[1]["data"] == {
        "header": {"packet_type": "initial", "packet_number": 0},
        "raw": {"length": 1200, "payload_length": 1162},
        "frames": [{"frame_type": "crypto", "offset": 0, "length": 280},
                   {"frame_type": "padding", "length": 882, "payload_length": 882}]}
    first_rcv = recs[2]["data"]
    assert first_rcv["frames"] == [
        {"frame_type": "ack", "ack_delay": 0.0, "acked_ranges": [[0, 0]]},
        {"frame_type": "crypto", "offset": 0, "length": 90}]
    assert first_rcv["raw"] == {"length": 150, "payload_length": 90}
    assert recs[4]["data"]["frames"] == [{"frame_type": "stream", "stream_id": 4, "offset": 0,
                                          "length": 880, "fin": True}]
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
    # PLPMTUD: a lost probe changes nothing; the end of the search does
    assert recs[14]["data"] == {"new": 1472, "done": True}


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


def test_frame_details_by_type() -> None:
    """Each frame type's fields from the frame tracepoints, in the names of
    quic-events-03's frames (those qvis reads: stream offsets and lengths,
    acked_ranges, the flow control maxima)."""
    cases: list[tuple[dict[str, int | str], dict[str, object]]] = [
        ({"t": 0x8, "id": 0, "off": 0, "ln": 10}, {"frame_type": "stream", "stream_id": 0,
                                                  "offset": 0, "length": 10, "fin": False}),
        ({"t": 0xF, "id": 9, "off": 4096, "ln": 1}, {"frame_type": "stream", "stream_id": 9,
                                                     "offset": 4096, "length": 1, "fin": True}),
        ({"t": 0x3, "largest": 40, "delay": 1500, "nr": 6,
          "ranges": "{0x23,0x28,0x1e,0x20,0x14,0x19,0x2,0x3}"},
         {"frame_type": "ack", "ack_delay": 1.5,
          "acked_ranges": [[35, 40], [30, 32], [20, 25], [2, 3]]}),
        ({"t": 0x4, "id": 4, "val": 7, "off": 100}, {"frame_type": "reset_stream",
                                                     "stream_id": 4, "error_code": 7,
                                                     "final_size": 100}),
        ({"t": 0x5, "id": 4, "val": 8}, {"frame_type": "stop_sending", "stream_id": 4,
                                         "error_code": 8}),
        ({"t": 0x10, "val": 1 << 20}, {"frame_type": "max_data", "maximum": 1 << 20}),
        ({"t": 0x11, "id": 4, "val": 65536}, {"frame_type": "max_stream_data", "stream_id": 4,
                                              "maximum": 65536}),
        ({"t": 0x13, "val": 100}, {"frame_type": "max_streams",
                                   "stream_type": "unidirectional", "maximum": 100}),
        ({"t": 0x14, "val": 99}, {"frame_type": "data_blocked", "limit": 99}),
        ({"t": 0x15, "id": 8, "val": 98}, {"frame_type": "stream_data_blocked", "stream_id": 8,
                                           "limit": 98}),
        ({"t": 0x16, "val": 3}, {"frame_type": "streams_blocked",
                                 "stream_type": "bidirectional", "limit": 3}),
        ({"t": 0x18, "val": 2}, {"frame_type": "new_connection_id", "sequence_number": 2}),
        ({"t": 0x1D, "val": 5}, {"frame_type": "connection_close",
                                 "error_space": "application", "error_code": 5}),
        ({"t": 0x31, "ln": 300}, {"frame_type": "datagram", "length": 300}),
        ({"t": 0x1E}, {"frame_type": "handshake_done"}),
        ({"t": 0x40}, {"frame_type": "unknown", "raw_frame_type": 0x40}),
    ]
    for i, (args, want) in enumerate(cases):
        kw = {k: v for k, v in args.items() if k != "t"}
        line = frame(f"5.{i:06d}", "quic_frame_sent", "1rtt", i, int(args["t"]),
                     **kw)
        pkt = (f"  x-1 [000] ..... 5.{i:06d}: quic_packet_sent: ino=7 level=1rtt pn={i}"
               f" len=100 size=130 eliciting=1")
        recs = list(to_qlog([e for e in map(parse_line, [line, pkt]) if e is not None], "t"))
        assert recs[1]["data"]["frames"] == [want], (args, recs[1])


def test_frames_go_to_their_own_packet() -> None:
    """Frames are attached by direction, level and packet number: a packet
    received while one is being sent, or packets of two levels in one
    datagram, do not take each other's frames."""
    lines = [
        frame("1.000001", "quic_frame_sent", "initial", 2, 0x2, nr=1, ranges="{0x0,0x1}"),
        frame("1.000002", "quic_frame_sent", "handshake", 0, 0x6, ln=500),
        frame("1.000003", "quic_frame_recv", "handshake", 0, 0x1),
        "  x-1 [000] ..... 1.000004: quic_packet_sent: ino=7 level=initial pn=2 len=20 size=80"
        " eliciting=0",
        "  x-1 [000] ..... 1.000005: quic_packet_sent: ino=7 level=handshake pn=0 len=510"
        " size=560 eliciting=1",
        "  x-1 [000] ..... 1.000006: quic_packet_recv: ino=7 level=handshake pn=0 len=5"
        " size=50 eliciting=1",
        "  x-1 [000] ..... 1.000007: quic_packet_sent: ino=7 level=1rtt pn=0 len=5 size=30"
        " eliciting=1",
    ]
    recs = list(to_qlog([e for e in map(parse_line, lines) if e is not None], "t"))[1:]
    frames = [[f["frame_type"] for f in r["data"]["frames"]] for r in recs]
    assert frames == [["ack"], ["crypto"], ["ping"], []]
    assert [r["data"]["raw"]["length"] for r in recs] == [80, 560, 50, 30]


def test_parser_reads_the_fields_the_kernel_prints() -> None:
    """The field names quic-trace reads are those of the tracepoints'
    TP_printk (a renamed field would silently empty a qlog field)."""
    header = (ROOT / "kmod" / "include" / "trace" / "events" / "quic.h").read_text()
    printk = {m.group(1): m.group(2) for m in re.finditer(
        r'DECLARE_EVENT_CLASS\((\w+),.*?TP_printk\("([^"]*)"', header, re.S)}
    names = {cls: set(re.findall(r"(\w+)=(?:0x)?%", fmt)) for cls, fmt in printk.items()}
    assert names["quic_frame"] == {"ino", "level", "pn", "type", "id", "offset", "len", "fin",
                                   "value", "largest", "delay_us", "ack_ranges", "ranges"}
    assert names["quic_packet"] >= {"ino", "level", "pn", "len", "size", "eliciting"}
    assert {"quic_frame_sent", "quic_frame_recv"} <= set(trace.EVENTS)
    assert set(re.findall(r"DEFINE_EVENT\(\w+, (\w+),", header)) | set(
        re.findall(r"TRACE_EVENT\((\w+),", header)) == set(trace.EVENTS)
