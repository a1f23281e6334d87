"""quic-trace: record the kernel's QUIC tracepoints and write qlog.

    quic-trace [-i INODE] [-o DIR] [-t SECONDS] [-- COMMAND ...]

Enables the ``quic`` tracepoints in a tracefs instance of its own (so the
global trace buffer is left alone), for one socket (``-i``, its inode as in
/proc/net/quic/eps) or all, then reads them until COMMAND exits, SECONDS
pass or it is interrupted, and writes one qlog file per socket to DIR:
``quic-<inode>.sqlog``, JSON-SEQ (RFC 7464) in the qlog 0.3 event schema
(draft-ietf-quic-qlog-main-schema-03 and -quic-events-03) that qvis and
aioquic use.  Packets carry their length and frames (stream offsets and
lengths, ACK ranges), and the metrics the window and bytes in flight, which
is what qvis's congestion graph draws; path changes, which that schema leaves open, are
``connectivity:path_assigned`` events as in quic-events-07.  Needs root
(tracefs).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from libquic.tools.cli import ToolParser

__all__ = [
    "TraceEvent",
    "Tracer",
    "main",
    "parse_line",
    "record",
    "to_qlog",
    "write_qlog",
]

TRACEFS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
EVENTS = ("quic_packet_sent", "quic_packet_recv", "quic_packet_lost", "quic_packet_dropped",
          "quic_frame_sent", "quic_frame_recv", "quic_rtt_update", "quic_cwnd_update",
          "quic_key_update", "quic_state_change", "quic_path_change", "quic_pmtu_update")

PACKET_TYPES = {"initial": "initial", "handshake": "handshake", "1rtt": "1RTT", "0rtt": "0RTT"}
SPACE_TYPES = {"0": "initial", "1": "handshake", "2": "1RTT"}
# the kernel's drop reasons as the triggers of qlog's packet_dropped (the
# kernel's own word is kept in "details")
DROP_TRIGGERS = {"malformed": "header_parse_error", "unknown_connection": "unknown_connection_id",
                 "backlog_full": "dos_prevention", "listener_refused": "dos_prevention",
                 "decryption_failure": "payload_decrypt_error", "duplicate": "duplicate",
                 "unsupported_version": "unsupported_version", "key_discarded": "key_unavailable",
                 "unexpected_packet": "unexpected_packet"}
# socket states (TCP's numbers, see quic(7)) as qlog ConnectionStates:
# ESTABLISHING (connect or accept) is an attempt, ESTABLISHED means both
# 1-RTT keys are in, i.e. the TLS handshake is complete
STATES = {1: "handshake_complete", 3: "attempted", 7: "closed"}
LISTEN = 10
# the kernel's ssthresh before any loss (U64_MAX): no threshold
NO_SSTHRESH = 1 << 63
FRAME_NAMES = {0x00: "padding", 0x01: "ping", 0x02: "ack", 0x03: "ack", 0x04: "reset_stream",
               0x05: "stop_sending", 0x06: "crypto", 0x07: "new_token", 0x10: "max_data",
               0x11: "max_stream_data", 0x12: "max_streams", 0x13: "max_streams",
               0x14: "data_blocked", 0x15: "stream_data_blocked", 0x16: "streams_blocked",
               0x17: "streams_blocked", 0x18: "new_connection_id", 0x19: "retire_connection_id",
               0x1A: "path_challenge", 0x1B: "path_response", 0x1C: "connection_close",
               0x1D: "connection_close", 0x1E: "handshake_done", 0x30: "datagram",
               0x31: "datagram"}

# "  python3-123  [001] ..s2.  42.123456: quic_packet_sent: ino=5 level=1rtt ..."
_LINE = re.compile(r"\s(\d+\.\d+): (quic_\w+): (.*)$")


@dataclass
class TraceEvent:
    time: float  # seconds, trace clock
    name: str  # the tracepoint, e.g. quic_packet_sent
    fields: dict[str, str]

    @property
    def ino(self) -> int:
        return int(self.fields.get("ino", "0"))


def parse_line(line: str) -> TraceEvent | None:
    """One line of trace_pipe, or None if it is not a quic event."""
    m = _LINE.search(line.rstrip("\n"))
    if not m:
        return None
    fields = dict(kv.split("=", 1) for kv in m.group(3).split() if "=" in kv)
    return TraceEvent(float(m.group(1)), m.group(2), fields)


def _ms(us: str) -> float:
    return int(us) / 1000


def _ranges(text: str, shown: int) -> list[list[int]]:
    """The ACK ranges of ``ranges={0x5,0x9,0x1,0x3}``: [[5, 9], [1, 3]]."""
    nums = [int(x, 16) for x in text.strip("{}").split(",") if x]
    return [nums[i:i + 2] for i in range(0, min(len(nums), 2 * shown), 2)]


def _frame_details(t: int, f: dict[str, str]) -> dict[str, Any]:
    """What a frame event has beyond its type, in the qlog frame's fields."""
    num = {k: int(f[k]) for k in ("id", "offset", "len", "value") if k in f}
    if 0x08 <= t <= 0x0F:
        return {"stream_id": num["id"], "offset": num["offset"], "length": num["len"],
                "fin": bool(t & 1)}
    if t in (0x02, 0x03):
        return {"ack_delay": _ms(f["delay_us"]),
                "acked_ranges": _ranges(f["ranges"], int(f["ack_ranges"]))}
    kind = "bidirectional" if t in (0x12, 0x16) else "unidirectional"
    by_type: dict[int, dict[str, Any]] = {
        0x00: {"length": num["len"], "payload_length": num["len"]},
        0x04: {"stream_id": num["id"], "error_code": num["value"], "final_size": num["offset"]},
        0x05: {"stream_id": num["id"], "error_code": num["value"]},
        0x06: {"offset": num["offset"], "length": num["len"]},
        0x07: {"token": {"length": num["len"]}},
        0x10: {"maximum": num["value"]},
        0x11: {"stream_id": num["id"], "maximum": num["value"]},
        0x12: {"stream_type": kind, "maximum": num["value"]},
        0x13: {"stream_type": kind, "maximum": num["value"]},
        0x14: {"limit": num["value"]},
        0x15: {"stream_id": num["id"], "limit": num["value"]},
        0x16: {"stream_type": kind, "limit": num["value"]},
        0x17: {"stream_type": kind, "limit": num["value"]},
        0x18: {"sequence_number": num["value"]},
        0x19: {"sequence_number": num["value"]},
        0x1C: {"error_space": "transport", "error_code": num["value"]},
        0x1D: {"error_space": "application", "error_code": num["value"]},
        0x30: {"length": num["len"]},
        0x31: {"length": num["len"]},
    }
    return by_type.get(t, {})


def _frame(f: dict[str, str]) -> dict[str, Any]:
    """The qlog frame of a quic_frame_sent/recv event."""
    t = int(f["type"], 16)
    if 0x08 <= t <= 0x0F:
        out: dict[str, Any] = {"frame_type": "stream", "fin": bool(t & 1)}
    else:
        out = {"frame_type": FRAME_NAMES.get(t, "unknown"),
               **({} if t in FRAME_NAMES else {"raw_frame_type": t})}
    out.update(_frame_details(t, f))
    return out


def _qlog_event(ev: TraceEvent, frames: list[dict[str, Any]]) -> tuple[str, dict[str, Any]] | None:
    f = ev.fields
    if ev.name in ("quic_packet_sent", "quic_packet_recv"):
        # raw.length, the whole packet, is what qvis's congestion graph counts
        data = {"header": {"packet_type": PACKET_TYPES.get(f["level"], f["level"]),
                           "packet_number": int(f["pn"])},
                "raw": {"length": int(f["size"]), "payload_length": int(f["len"])},
                "frames": frames}
        if ev.name == "quic_packet_recv":
            return "transport:packet_received", data
        return "transport:packet_sent", data
    if ev.name == "quic_packet_lost":
        return "recovery:packet_lost", {
            "header": {"packet_type": SPACE_TYPES.get(f["space"], f["space"]),
                       "packet_number": int(f["pn"])},
            "trigger": f["reason"]}
    if ev.name == "quic_packet_dropped":
        return "transport:packet_dropped", {"raw": {"length": int(f["len"])},
                                            "trigger": DROP_TRIGGERS.get(f["reason"], f["reason"]),
                                            "details": {"reason": f["reason"]}}
    if ev.name == "quic_rtt_update":
        return "recovery:metrics_updated", {
            "latest_rtt": _ms(f["latest_us"]), "min_rtt": _ms(f["min_us"]),
            "smoothed_rtt": _ms(f["smoothed_us"]), "rtt_variance": _ms(f["var_us"])}
    if ev.name == "quic_cwnd_update":
        data = {"congestion_window": int(f["cwnd"]), "bytes_in_flight": int(f["in_flight"])}
        if int(f["ssthresh"]) < NO_SSTHRESH:  # none until the first loss
            data["ssthresh"] = int(f["ssthresh"])
        return "recovery:metrics_updated", data
    if ev.name == "quic_pmtu_update":
        # PLPMTUD: the size in use after each change, done once the search ends
        if f["event"] == "probe_lost":
            return None
        return "connectivity:mtu_updated", {"new": int(f["plpmtu"]),
                                            "done": f["event"] == "complete"}
    if ev.name == "quic_state_change":
        if int(f["new"]) == LISTEN:
            return "connectivity:server_listening", {}
        data = {"new": STATES.get(int(f["new"]), f["new"])}
        if int(f["old"]) in STATES:
            data["old"] = STATES[int(f["old"])]
        return "connectivity:connection_state_updated", data
    return None


def _endpoint(addr: str) -> dict[str, Any]:
    """qlog's PathEndpointInfo of "1.2.3.4:443" or "[::1]:443"."""
    host, _, port = addr.rpartition(":")
    if host.startswith("["):
        return {"ip_v6": host[1:-1], "port_v6": int(port)}
    return {"ip_v4": host, "port_v4": int(port)}


def _multi_events(ev: TraceEvent, paths: int) -> list[tuple[str, dict[str, Any]]]:
    """The events one tracepoint turns into more than one qlog event, or
    that need the count of paths so far."""
    f = ev.fields
    if ev.name == "quic_key_update":
        # a key update replaces the keys of both directions
        trigger = "local_update" if f["local"] == "1" else "remote_update"
        return [("security:key_updated", {"key_type": f"{side}_1rtt_secret",
                                          "generation": int(f["phase"]), "trigger": trigger})
                for side in ("client", "server")]
    if ev.name == "quic_path_change":
        side = "path_local" if f["local"] == "1" else "path_remote"
        return [("connectivity:path_assigned", {"path_id": str(paths),
                                                side: _endpoint(f["addr"])})]
    return []


def to_qlog(events: Sequence[TraceEvent], title: str) -> Iterator[dict[str, Any]]:
    """The qlog records of one socket's events: the header, then the events
    (times relative to the first one, in ms); the frames of a packet, traced
    before it, are attached to it (by direction, level and number)."""
    first_pkt = next((e for e in events if e.name in ("quic_packet_sent", "quic_packet_recv")),
                     None)
    client = (first_pkt is not None and first_pkt.name == "quic_packet_sent"
              and first_pkt.fields.get("level") == "initial")
    start = events[0].time if events else 0.0
    yield {"qlog_version": "0.3", "qlog_format": "JSON-SEQ", "title": title,
           "trace": {"vantage_point": {"name": "kquic", "type": "client" if client else "server"},
                     "common_fields": {"time_format": "relative", "reference_time": 0,
                                       "group_id": title}}}
    # (packet event, level, pn) -> the frames traced for that packet
    pending: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    paths = 0
    for ev in events:
        if ev.name in ("quic_frame_sent", "quic_frame_recv"):
            pkt = "quic_packet_sent" if ev.name == "quic_frame_sent" else "quic_packet_recv"
            key = (pkt, ev.fields["level"], ev.fields["pn"])
            pending.setdefault(key, []).append(_frame(ev.fields))
            continue
        if ev.name == "quic_path_change":
            paths += 1
        frames: list[dict[str, Any]] = []
        if ev.name in ("quic_packet_sent", "quic_packet_recv"):
            frames = pending.pop((ev.name, ev.fields["level"], ev.fields["pn"]), [])
        out = _multi_events(ev, paths) or [_qlog_event(ev, frames)]
        for rec in out:
            if rec is not None:
                yield {"time": round((ev.time - start) * 1000, 3), "name": rec[0],
                       "data": rec[1]}


def write_qlog(out: IO[str], records: Iterator[dict[str, Any]]) -> None:
    for rec in records:
        out.write("\x1e" + json.dumps(rec, separators=(",", ":")) + "\n")


@dataclass
class Tracer:
    """A tracefs instance with the quic events (or ``events`` of them)
    enabled (removed on close)."""

    ino: int | None = None
    events: Sequence[str] = EVENTS
    root: Path = field(init=False)
    inst: Path = field(init=False)

    def __post_init__(self) -> None:
        self.root = self._tracefs()
        if not (self.root / "events" / "quic").is_dir():
            raise RuntimeError("the quic tracepoints are not there: load a quic.ko built "
                               "with them (modprobe quic)")
        self.inst = self.root / "instances" / f"quic-trace-{os.getpid()}"
        self.inst.mkdir()
        try:
            for name in self.events:
                ev = self.inst / "events" / "quic" / name
                if self.ino is not None:
                    (ev / "filter").write_text(f"ino == {self.ino}\n")
                (ev / "enable").write_text("1\n")
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _tracefs() -> Path:
        for p in TRACEFS:
            if os.path.isdir(os.path.join(p, "instances")):
                return Path(p)
        with contextlib.suppress(OSError):
            subprocess.run(["mount", "-t", "tracefs", "nodev", TRACEFS[0]], check=True,
                           capture_output=True, timeout=30)
            return Path(TRACEFS[0])
        raise RuntimeError("tracefs is not mounted and cannot be mounted "
                           "(mount -t tracefs nodev /sys/kernel/tracing, as root)")

    def open_pipe(self) -> int:
        return os.open(self.inst / "trace_pipe", os.O_RDONLY | os.O_NONBLOCK)

    def read(self) -> list[TraceEvent]:
        """The events in the instance's buffer (what no pipe read took)."""
        lines = (self.inst / "trace").read_text(errors="replace").splitlines()
        return [ev for ev in map(parse_line, lines) if ev is not None]

    def close(self) -> None:
        for name in self.events:
            with contextlib.suppress(OSError):
                (self.inst / "events" / "quic" / name / "enable").write_text("0\n")
        for _ in range(50):  # rmdir fails while the pipe is still held
            try:
                self.inst.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.1)


def record(tracer: Tracer, *, until: float | None, child: subprocess.Popen[bytes] | None,
           stop: list[bool]) -> list[TraceEvent]:
    """Read events until the deadline, the child's exit (and a second more
    for its last events) or ``stop``."""
    events: list[TraceEvent] = []
    fd = tracer.open_pipe()
    buf = b""
    child_done: float | None = None
    try:
        while not stop:
            now = time.monotonic()
            if until is not None and now >= until:
                break
            if child is not None and child.poll() is not None:
                child_done = child_done or now + 1.0
                if now >= child_done:
                    break
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                continue
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                ev = parse_line(line.decode(errors="replace"))
                if ev is not None:
                    events.append(ev)
    finally:
        os.close(fd)
    return events


def _parser() -> argparse.ArgumentParser:
    ap = ToolParser(prog="quic-trace", description=__doc__.split("\n\n")[0])
    ap.add_argument("-i", "--ino", type=int, help="only the socket with this inode "
                    "(the INODE column of /proc/net/quic/eps)")
    ap.add_argument("-o", "--output", default=".", help="folder for the qlog files "
                    "(default: here)")
    ap.add_argument("-t", "--time", type=float, help="seconds to record")
    ap.add_argument("command", nargs=argparse.REMAINDER,
                    help="-- COMMAND ARGS: record while it runs")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    out = Path(args.output)
    if not out.is_dir():
        print(f"quic-trace: {out} is not a folder", file=sys.stderr)
        return 2
    try:
        tracer = Tracer(args.ino)
    except (RuntimeError, OSError) as exc:
        print(f"quic-trace: {exc}", file=sys.stderr)
        return 1
    stop: list[bool] = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    child = None
    status = 0
    try:
        if cmd:
            try:
                child = subprocess.Popen(cmd)
            except OSError as exc:
                print(f"quic-trace: cannot run {cmd[0]}: {exc.strerror}", file=sys.stderr)
                return 1
        until = time.monotonic() + args.time if args.time else None
        events = record(tracer, until=until, child=child, stop=stop)
        if child is not None:
            status = child.wait()
    finally:
        tracer.close()
    by_ino: dict[int, list[TraceEvent]] = {}
    for ev in events:
        by_ino.setdefault(ev.ino, []).append(ev)
    for ino, evs in sorted(by_ino.items()):
        name = f"quic-{ino}.sqlog" if ino else "quic-unattributed.sqlog"
        with open(out / name, "w") as f:
            write_qlog(f, to_qlog(evs, f"socket {ino}" if ino else "no socket"))
        print(f"quic-trace: {len(evs)} events of {'socket ' + str(ino) if ino else 'no socket'}"
              f" in {out / name}", file=sys.stderr)
    if not by_ino:
        print("quic-trace: no QUIC events were recorded", file=sys.stderr)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
