"""The main job, run inside the test VM by ``scripts/demo.sh``.

It shows what the loaded module registered, then runs a QUIC server and
client on loopback over IPv4 and IPv6: a TLS 1.3 handshake in userspace
(certificate verified against a throw-away CA, ALPN negotiated) whose
secrets go to the kernel; then echo on several streams, a datagram, and a
bulk transfer whose SHA-256 the server checks, with the throughput.
"""

from __future__ import annotations

import hashlib
import os
import platform
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from libquic import sockopt
from libquic.connection import QuicConnection, QuicListener
from libquic.features import module_features
from libquic.handshake import HandshakeResult
from libquic.tools.certgen import write_test_pki
from libquic.tools.cli import ToolParser
from libquic.uapi import IPPROTO_QUIC, QuicTransportParam, quic_socket

__all__ = ["main", "run_session", "section", "show_module", "show_procfs", "show_sockets"]

ALPN = "kquic-demo"
TIMEOUT = 120.0
ECHO_STREAMS = 3
BULK_BYTES = 16 * 1024 * 1024
# Datagrams (RFC 9221) are off unless both sides announce a frame size.
TRANSPORT = QuicTransportParam(max_datagram_frame_size=1200)

FAMILIES = {"IPv4": (socket.AF_INET, "127.0.0.1"), "IPv6": (socket.AF_INET6, "::1")}
TYPES = {"SOCK_STREAM": socket.SOCK_STREAM, "SOCK_DGRAM": socket.SOCK_DGRAM}


def section(title: str) -> None:
    print(f"\n== {title}")


def show_module() -> None:
    section("module")
    print(f"kernel {platform.release()}")
    mod = Path("/sys/module/quic")
    if not mod.exists():
        raise SystemExit("quic-demo: the quic module is not loaded (modprobe quic, or "
                         "insmod kmod/quic.ko)")
    for attr in ("srcversion", "refcnt", "coresize"):
        p = mod / attr
        if p.exists():
            print(f"{attr}: {p.read_text().strip()}")
    protocols = Path("/proc/net/protocols").read_text().splitlines()
    for line in protocols:
        if line.startswith("QUIC"):
            print("registered protocol:", " ".join(line.split()[:3]))
    feats = module_features()
    kind = "kquic" if feats.is_kquic else "another implementation of the QUIC UAPI"
    print(f"module: {kind} (kquic procfs columns: {feats.kquic_procfs}, "
          f"net.quic.rmem_max_total: {feats.rmem_sysctl}, tracepoints: {feats.tracepoints})")


def show_sockets() -> None:
    section(f"sockets (IPPROTO_QUIC = {IPPROTO_QUIC})")
    for fname, (family, addr) in FAMILIES.items():
        for tname, stype in TYPES.items():
            with quic_socket(family, stype) as s:
                s.bind((addr, 0))
                name = s.getsockname()
                print(f"{fname:4} {tname:11} socket() ok, bound to {name[0]} port {name[1]}")


def show_procfs() -> None:
    section("/proc/net/quic")
    base = Path("/proc/net/quic")
    if not base.is_dir():
        print("(no /proc/net/quic directory)")
        return
    for entry in sorted(base.iterdir()):
        print(f"-- {entry.name}")
        print(entry.read_text().rstrip() or "(empty)")


def _serve(conn: QuicConnection) -> None:
    """The server side: echo streams upper-cased, echo one datagram, then
    hash a bulk stream and answer with the digest and the byte count."""
    for _ in range(ECHO_STREAMS):
        stream = conn.accept_stream(TIMEOUT)
        stream.write(stream.read_all(TIMEOUT).upper(), fin=True)
    conn.send_datagram(conn.recv_datagram(TIMEOUT)[::-1])
    bulk = conn.accept_stream(TIMEOUT)
    digest, total = hashlib.sha256(), 0
    while chunk := bulk.read(1 << 20, TIMEOUT):
        digest.update(chunk)
        total += len(chunk)
    bulk.write(digest.digest() + total.to_bytes(8, "big"), fin=True)


def _describe(name: str, res: HandshakeResult) -> None:
    suite = res.engine.cipher_suite
    group = res.engine.group
    print(f"{name}: ALPN {res.alpn!r}, {suite.name if suite else '?'}, "
          f"key exchange {group.name if group else '?'}, resumed={res.session_resumed}")


def _accept_and_serve(lsk: QuicListener, out: list[BaseException | None]) -> None:
    try:
        with lsk.accept(TIMEOUT) as conn:
            _describe("server", conn.handshake)
            _serve(conn)
        out.append(None)
    except BaseException as exc:  # reported by the main thread
        out.append(exc)


def run_session(family: int, addr: str) -> None:
    section(f"QUIC over {'IPv4' if family == socket.AF_INET else 'IPv6'}")
    pki = write_test_pki(Path(tempfile.mkdtemp()), ["localhost", addr])
    outcome: list[BaseException | None] = []
    with QuicListener(addr, 0, alpns=[ALPN], cert_file=str(pki.cert), key_file=str(pki.key),
                      transport_param=TRANSPORT) as lsk:
        port = lsk.address[1]
        print(f"server listening on {addr} port {port} with ALPN {ALPN!r}")
        server = threading.Thread(target=_accept_and_serve, args=(lsk, outcome))
        server.start()
        start = time.monotonic()
        with QuicConnection.connect(addr, port, alpns=[ALPN], hostname="localhost",
                                    cafile=str(pki.ca), timeout=TIMEOUT,
                                    transport_param=TRANSPORT) as cli:
            print(f"handshake complete in {(time.monotonic() - start) * 1000:.0f} ms")
            _describe("client", cli.handshake)
            cert = cli.handshake.peer_certificates[0]
            print(f"client verified the server certificate {cert.subject.rfc4514_string()} "
                  "for host name 'localhost'")
            tp = sockopt.get_transport_param(cli.sock, remote=True)
            print(f"server's transport parameters in the client kernel: idle timeout "
                  f"{tp.max_idle_timeout // 1000} ms, max_data {tp.max_data}, "
                  f"bidi streams {tp.max_streams_bidi}, uni streams {tp.max_streams_uni}")
            _client_traffic(cli)
        server.join(TIMEOUT)
    if not outcome or outcome[0] is not None:
        raise SystemExit(f"server failed: {outcome!r}")


def _client_traffic(cli: QuicConnection) -> None:
    words = [b"hello", b"in-kernel", b"quic"]
    streams = [cli.open_stream() for _ in words]
    for stream, word in zip(streams, words, strict=True):
        stream.write(word, fin=True)
    for stream, word in zip(streams, words, strict=True):
        reply = stream.read_all(TIMEOUT)
        if reply != word.upper():
            raise SystemExit(f"stream {stream.id}: echo {reply!r} != {word.upper()!r}")
        print(f"stream {stream.id}: sent {word.decode()!r}, echoed {reply.decode()!r}")
    cli.send_datagram(b"datagram")
    print(f"datagram: sent 'datagram', echoed {cli.recv_datagram(TIMEOUT).decode()!r}")

    payload = os.urandom(BULK_BYTES)
    bulk = cli.open_stream()
    start = time.monotonic()
    bulk.write(payload, fin=True)
    reply = bulk.read_all(TIMEOUT)
    elapsed = time.monotonic() - start
    digest, total = reply[:32], int.from_bytes(reply[32:40], "big")
    if digest != hashlib.sha256(payload).digest() or total != len(payload):
        raise SystemExit(f"bulk stream: server saw {total} bytes with a different SHA-256")
    print(f"bulk: {total / 2**20:.0f} MiB on stream {bulk.id} arrived intact (SHA-256 checked) "
          f"in {elapsed:.2f} s: {total * 8 / elapsed / 1e6:.1f} Mbit/s "
          "(software-emulated VM: compare ratios, not absolutes)")


def main(argv: list[str] | None = None) -> int:
    ToolParser(
        prog="quic-demo",
        description="Show the loaded QUIC module and run a loopback session over IPv4 and "
        "IPv6: handshake, echo on streams, a datagram and a checked bulk transfer.",
    ).parse_args(argv)
    show_module()
    show_sockets()
    run_session(socket.AF_INET, "127.0.0.1")
    run_session(socket.AF_INET6, "::1")
    show_procfs()
    print("\ndemo: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
