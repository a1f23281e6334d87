"""quic-perf: measure kernel QUIC throughput between two hosts, like iperf3.

Server::

    quic-perf -s --cert server.pem --key server.key [-B ADDR] [-p PORT] [--once]

Client::

    quic-perf -c HOST [-p PORT] --cafile ca.pem [-t SECONDS | -n BYTES]
              [-P CONNECTIONS] [--streams N] [-l LENGTH] [-R] [--json]

The client opens ``-P`` connections with ``--streams`` bidirectional streams
each; the client sends on all of them (the server does, with ``-R``) for
``-t`` seconds or ``-n`` bytes in all.  Each stream starts with a small
header saying who sends and how much; the receiver answers a finished
upload with the byte count it got, so the summary is checked at both ends.
Every second a line shows the interval's throughput and, from
``/proc/net/quic/eps`` where the module has it, the first connection's
smoothed RTT and congestion window and the packets this client's own
connections declared lost (their LOST column; the summary has the total).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from libquic.cmsg import quic_recvmsg_into, quic_sendmsg
from libquic.connection import QuicConnection, QuicListener
from libquic.features import module_features
from libquic.tls import TLSError
from libquic.tools.cli import ToolParser
from libquic.uapi import QuicMsgFlag

__all__ = [
    "ALPN",
    "DEFAULT_PORT",
    "Interval",
    "Meter",
    "PathInfo",
    "Summary",
    "main",
    "path_info",
    "run_client",
    "run_server",
]

ALPN = "quic-perf"
DEFAULT_PORT = 5201
_HEADER = struct.Struct("!BQQ")  # reverse?, bytes (0: no limit), milliseconds (0: none)
_COUNT = struct.Struct("!Q")
PROC_EPS = Path("/proc/net/quic/eps")
IO_TIMEOUT = 30.0


@dataclass
class PathInfo:
    """What procfs tells about a connection; None where the module has no procfs."""

    rtt_us: int | None = None
    cwnd: int | None = None
    lost: int | None = None  # packets this connection declared lost


def _local_text(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if sock.family == socket.AF_INET6 else f"{host}:{port}"


def path_info(sock: socket.socket) -> PathInfo:
    """RTT, cwnd and lost packets of ``sock`` from kquic's
    /proc/net/quic/eps, by column name (other modules' eps has other
    columns, a kquic without a LOST column no loss count: None then)."""
    info = PathInfo()
    with contextlib.suppress(OSError, ValueError):
        if not _kquic_eps():
            raise ValueError("no kquic /proc/net/quic/eps columns")
        ino = str(os.fstat(sock.fileno()).st_ino)
        header, *rows = PROC_EPS.read_text().splitlines()
        names = header.split()
        for line in rows:
            row = dict(zip(names, line.split(), strict=False))
            if row.get("INODE") == ino:
                info.cwnd, info.rtt_us = int(row["CWND"]), int(row["SRTT"])
                info.lost = int(row["LOST"]) if "LOST" in row else None
                break
    return info


def _lost(conns: list[QuicConnection]) -> int | None:
    """The packets ``conns`` declared lost so far, or None if not known."""
    counts = [path_info(c.sock).lost for c in conns]
    return None if None in counts else sum(c for c in counts if c is not None)


@functools.cache
def _kquic_eps() -> bool:
    """Whether /proc/net/quic/eps has kquic's columns (probed once)."""
    return module_features().kquic_procfs


@dataclass
class Interval:
    start: float
    end: float
    bytes: int
    bits_per_second: float
    rtt_us: int | None
    cwnd: int | None
    lost: int | None


@dataclass
class Summary:
    seconds: float
    bytes: int
    checked_by_peer: bool
    connections: int
    streams: int
    reverse: bool
    bits_per_second: float
    lost: int | None
    intervals: list[Interval] = field(default_factory=list)


class Meter:
    """Bytes moved, counted by any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._total = 0

    def add(self, n: int) -> None:
        with self._lock:
            self._total += n

    def read(self) -> int:
        with self._lock:
            return self._total


class _Budget:
    """How much the senders may still send: a byte count and/or a deadline."""

    def __init__(self, total: int, deadline: float | None) -> None:
        self._lock = threading.Lock()
        self._left = total or None
        self._deadline = deadline

    def take(self, want: int) -> int:
        if self._deadline is not None and time.monotonic() >= self._deadline:
            return 0
        if self._left is None:
            return want
        with self._lock:
            n = min(want, self._left)
            self._left -= n
            return n


def _units(n: float, scale: int, names: tuple[str, ...]) -> str:
    for name in names[:-1]:
        if abs(n) < scale:
            return f"{n:7.2f} {name}"
        n /= scale
    return f"{n:7.2f} {names[-1]}"


def _rate(bps: float) -> str:
    return _units(bps, 1000, ("bit/s", "Kbit/s", "Mbit/s", "Gbit/s"))


def _size(n: float) -> str:
    return _units(n, 1024, ("B", "KiB", "MiB", "GiB"))


def _interval_line(iv: Interval) -> str:
    rtt = f"{iv.rtt_us / 1000:.2f} ms" if iv.rtt_us is not None else "-"
    cwnd = _size(iv.cwnd).strip() if iv.cwnd is not None else "-"
    lost = str(iv.lost) if iv.lost is not None else "-"
    return (f"[{iv.start:6.2f}-{iv.end:6.2f} s] {_size(iv.bytes)}  {_rate(iv.bits_per_second)}"
            f"  rtt {rtt}  cwnd {cwnd}  lost {lost}")


def _send(sock: socket.socket, sids: list[int], chunk: memoryview, meter: Meter,
          budget: _Budget) -> int:
    """Send round-robin on ``sids`` while the budget lasts, then end them."""
    sent = 0
    active = True
    while active:
        active = False
        for sid in sids:
            n = budget.take(len(chunk))
            if n <= 0:
                continue
            quic_sendmsg(sock, chunk[:n], sid)
            meter.add(n)
            sent += n
            active = True
    for sid in sids:
        quic_sendmsg(sock, b"", sid, QuicMsgFlag.STREAM_FIN)
    return sent


# -- server -----------------------------------------------------------------

class _ServerConnection:
    """One client's connection: uploads are counted and answered with their
    byte count, downloads are sent by a thread per stream."""

    def __init__(self, conn: QuicConnection, length: int, log: Callable[[str], None]) -> None:
        self.conn = conn
        self.sock = conn.sock
        self.length = length
        self.log = log
        self.heads: dict[int, bytearray] = {}
        self.reverse: dict[int, bool] = {}
        self.counts: dict[int, int] = {}
        self.senders: list[threading.Thread] = []

    def _start(self, sid: int, head: bytes) -> None:
        reverse, nbytes, millis = _HEADER.unpack_from(head)
        self.reverse[sid] = bool(reverse)
        self.counts[sid] = len(head) - _HEADER.size
        if reverse:
            deadline = time.monotonic() + millis / 1000 if millis else None
            args = (self.sock, [sid], memoryview(bytes(self.length)), Meter(),
                    _Budget(nbytes, deadline))
            t = threading.Thread(target=_send, args=args, daemon=True)
            t.start()
            self.senders.append(t)

    def serve(self) -> None:
        buf = memoryview(bytearray(max(self.length, 65536)))
        try:
            while True:
                msg = quic_recvmsg_into(self.sock, buf)
                sid = msg.stream_id
                if sid is None:
                    if not msg.data:
                        break  # the client closed
                    continue
                if sid not in self.reverse:
                    head = self.heads.setdefault(sid, bytearray())
                    head += msg.data
                    if len(head) < _HEADER.size:
                        if msg.fin:
                            raise ConnectionError(f"stream {sid} ended inside its header")
                        continue
                    self._start(sid, bytes(self.heads.pop(sid)))
                elif not self.reverse[sid]:
                    self.counts[sid] += len(msg.data)
                if msg.fin and not self.reverse[sid]:
                    quic_sendmsg(self.sock, _COUNT.pack(self.counts[sid]), sid,
                                 QuicMsgFlag.STREAM_FIN)
        except (ConnectionError, TimeoutError, OSError) as exc:
            self.log(f"connection ended: {exc}")
        finally:
            for t in self.senders:
                t.join(IO_TIMEOUT)
            self.conn.close()
        uploads = [n for sid, n in self.counts.items() if not self.reverse[sid]]
        self.log(f"received {sum(uploads)} bytes on {len(uploads)} streams, "
                 f"sent on {len(self.counts) - len(uploads)}")


def run_server(host: str, port: int, cert: str, key: str, *, once: bool = False,
               length: int = 65536, log: Callable[[str], None] = print) -> None:
    """Serve perf clients until interrupted (or one connection, with ``once``)."""
    with QuicListener(host, port, alpns=[ALPN], cert_file=cert, key_file=key,
                      backlog=64) as lsk:
        log(f"listening on {lsk.address[0]} port {lsk.address[1]}")
        while True:
            try:
                conn = lsk.accept(timeout=None)
            except (TLSError, ConnectionError, TimeoutError) as exc:
                log(f"handshake failed: {exc}")  # the next client may do better
                continue
            conn.sock.settimeout(None)
            log(f"connection from {conn.sock.getpeername()[0]}")
            worker = _ServerConnection(conn, length, log)
            t = threading.Thread(target=worker.serve, daemon=True)
            t.start()
            if once:
                t.join()
                return


# -- client -----------------------------------------------------------------

@dataclass
class _ClientResult:
    moved: int = 0
    checked: bool = True
    error: BaseException | None = None


def _client_connection(conn: QuicConnection, streams: int, reverse: bool, nbytes: int,
                       seconds: float | None, length: int, meter: Meter, budget: _Budget,
                       out: _ClientResult) -> None:
    sock = conn.sock
    try:
        sids = [conn.open_stream().id for _ in range(streams)]
        per_stream = -(-nbytes // streams) if nbytes else 0
        millis = int(seconds * 1000) if seconds else 0
        head = _HEADER.pack(int(reverse), per_stream, millis)
        buf = memoryview(bytearray(max(length, 65536)))
        if reverse:
            for sid in sids:
                quic_sendmsg(sock, head, sid, QuicMsgFlag.STREAM_FIN)
        else:
            for sid in sids:
                quic_sendmsg(sock, head, sid)
            out.moved = _send(sock, sids, memoryview(bytes(length)), meter, budget)
        counts = {sid: 0 for sid in sids}
        replies: dict[int, bytearray] = {sid: bytearray() for sid in sids}
        ended: set[int] = set()
        while len(ended) < len(sids):
            msg = quic_recvmsg_into(sock, buf)
            sid = msg.stream_id
            if sid is None:
                if not msg.data:
                    raise ConnectionError("the server closed the connection")
                continue
            if reverse:
                counts[sid] += len(msg.data)
                meter.add(len(msg.data))
            else:
                replies[sid] += msg.data
            if msg.fin:
                ended.add(sid)
        if reverse:
            out.moved = sum(counts.values())
        else:
            got = sum(_COUNT.unpack(bytes(r))[0] for r in replies.values() if len(r) == 8)
            out.checked = all(len(r) == 8 for r in replies.values()) and got == out.moved
    except BaseException as exc:  # reported by run_client
        out.error = exc


def run_client(host: str, port: int, *, cafile: str | None, hostname: str | None = None,
               seconds: float | None = 10.0, nbytes: int = 0, connections: int = 1,
               streams: int = 1, length: int = 65536, reverse: bool = False,
               report: Callable[[Interval], None] | None = None,
               interval: float = 1.0) -> Summary:
    """Run one measurement; ``report`` gets each interval as it ends."""
    if connections < 1 or streams < 1 or length < 1:
        raise ValueError("connections, streams and length must be at least 1")
    if not seconds and not nbytes:
        raise ValueError("give a duration or a byte count")
    conns = [QuicConnection.connect(host, port, alpns=[ALPN], hostname=hostname or host,
                                    cafile=cafile, timeout=IO_TIMEOUT)
             for _ in range(connections)]
    for c in conns:
        c.sock.settimeout(IO_TIMEOUT)
    meter = Meter()
    start = time.monotonic()
    budget = _Budget(nbytes, start + seconds if seconds else None)
    results = [_ClientResult() for _ in conns]
    threads = [threading.Thread(target=_client_connection,
                                args=(c, streams, reverse, nbytes // connections or nbytes,
                                      seconds, length, meter, budget, r), daemon=True)
               for c, r in zip(conns, results, strict=True)]
    lost0 = _lost(conns)  # the handshakes' losses are not the transfer's
    for t in threads:
        t.start()
    intervals: list[Interval] = []
    last_t, last_b = start, 0
    next_t = start + interval
    while any(t.is_alive() for t in threads):
        for t in threads:
            t.join(max(0.0, next_t - time.monotonic()))
        now = time.monotonic()
        if now < next_t and any(t.is_alive() for t in threads):
            continue
        moved = meter.read()
        info = path_info(conns[0].sock)
        lost = _lost(conns)
        iv = Interval(last_t - start, now - start, moved - last_b,
                      (moved - last_b) * 8 / max(now - last_t, 1e-9), info.rtt_us, info.cwnd,
                      None if lost is None or lost0 is None else lost - lost0)
        intervals.append(iv)
        if report:
            report(iv)
        last_t, last_b, next_t = now, moved, now + interval
    elapsed = time.monotonic() - start
    lost1 = _lost(conns)
    for c in conns:
        c.close(linger=int(IO_TIMEOUT))
    for r in results:
        if r.error is not None:
            raise r.error
    total = sum(r.moved for r in results)
    return Summary(elapsed, total, all(r.checked for r in results), connections, streams,
                   reverse, total * 8 / elapsed,
                   None if lost0 is None or lost1 is None else lost1 - lost0, intervals)


def _size_arg(text: str) -> int:
    """``1000``, ``64K``, ``10M``, ``1G`` (binary multiples)."""
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:].upper(), 1)
    try:
        value = int(float(text[:-1] if mult > 1 else text) * mult)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 100M)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"a size must be positive: {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    ap = ToolParser(prog="quic-perf", description=__doc__.split("\n\n")[0])
    role = ap.add_mutually_exclusive_group(required=True)
    role.add_argument("-s", "--server", action="store_true", help="run as the server")
    role.add_argument("-c", "--client", metavar="HOST", help="run as a client of HOST")
    ap.add_argument("-p", "--port", type=int, default=DEFAULT_PORT)
    ap.add_argument("-B", "--bind", default="0.0.0.0", help="server address (default all)")
    ap.add_argument("--cert", help="server certificate chain (PEM)")
    ap.add_argument("--key", help="server private key (PEM)")
    ap.add_argument("--once", action="store_true", help="server: serve one client and exit")
    ap.add_argument("--cafile", help="client: CA certificates to verify the server with")
    ap.add_argument("--hostname", help="client: the name to check in the server certificate "
                    "(default HOST)")
    ap.add_argument("-t", "--time", type=float, default=None,
                    help="seconds to send (default 10 unless -n is given)")
    ap.add_argument("-n", "--bytes", type=_size_arg, default=0, help="bytes to send in all")
    ap.add_argument("-P", "--parallel", type=int, default=1, help="connections")
    ap.add_argument("--streams", type=int, default=1, help="streams per connection")
    ap.add_argument("-l", "--length", type=_size_arg, default=65536, help="bytes per write")
    ap.add_argument("-R", "--reverse", action="store_true", help="the server sends")
    ap.add_argument("--json", action="store_true", help="print one JSON document at the end")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    for path in (args.cert, args.key) if args.server else (args.cafile,):
        if path is not None and not os.access(path, os.R_OK):
            ap.error(f"cannot read {path}")
    if args.parallel < 1 or args.streams < 1:
        ap.error("-P/--parallel and --streams must be at least 1")
    try:
        if args.server:
            if not args.cert or not args.key:
                ap.error("the server needs --cert and --key")
            run_server(args.bind, args.port, args.cert, args.key, once=args.once,
                       length=args.length, log=lambda s: print(f"quic-perf: {s}", flush=True))
            return 0
        seconds = args.time if args.time is not None else (None if args.bytes else 10.0)
        report = None if args.json else (lambda iv: print(_interval_line(iv), flush=True))
        summary = run_client(args.client, args.port, cafile=args.cafile, hostname=args.hostname,
                             seconds=seconds, nbytes=args.bytes, connections=args.parallel,
                             streams=args.streams, length=args.length, reverse=args.reverse,
                             report=report)
    except KeyboardInterrupt:
        return 130
    except (OSError, ValueError) as exc:
        where = "" if args.server else f" with {args.client} port {args.port}"
        print(f"quic-perf: {exc.__class__.__name__}{where}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(asdict(summary), indent=2))
    else:
        lost = "-" if summary.lost is None else str(summary.lost)
        check = "checked by the receiver" if summary.checked_by_peer else "NOT confirmed"
        print(f"summary: {_size(summary.bytes).strip()} in {summary.seconds:.2f} s = "
              f"{_rate(summary.bits_per_second).strip()} over {summary.connections} "
              f"connection(s) x {summary.streams} stream(s)"
              f"{', server sending' if summary.reverse else ''}; {check}; lost {lost}")
    return 0 if summary.checked_by_peer else 1


if __name__ == "__main__":
    raise SystemExit(main())
