"""The main job, run inside the test VM by ``scripts/demo.sh``.

It shows what the loaded module registered, then runs a QUIC server and
client on loopback: a TLS 1.3 handshake in userspace (certificate verified
against a throw-away CA, ALPN negotiated) whose secrets go to the kernel,
and prints what each side and the kernel report about the connection.
"""

from __future__ import annotations

import platform
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from libquic import sockopt
from libquic.handshake import HandshakeResult, quic_client_handshake, quic_server_handshake
from libquic.uapi import IPPROTO_QUIC, quic_socket
from userspace.certgen import CertFiles, write_test_pki

ALPN = "kquic-demo"
TIMEOUT = 60.0

FAMILIES = {"IPv4": (socket.AF_INET, "127.0.0.1"), "IPv6": (socket.AF_INET6, "::1")}
TYPES = {"SOCK_STREAM": socket.SOCK_STREAM, "SOCK_DGRAM": socket.SOCK_DGRAM}


def section(title: str) -> None:
    print(f"\n== {title}")


def show_module() -> None:
    section("module")
    print(f"kernel {platform.release()}")
    mod = Path("/sys/module/quic")
    if not mod.exists():
        raise SystemExit("quic module is not loaded")
    for attr in ("srcversion", "refcnt", "coresize"):
        p = mod / attr
        if p.exists():
            print(f"{attr}: {p.read_text().strip()}")
    protocols = Path("/proc/net/protocols").read_text().splitlines()
    for line in protocols:
        if line.startswith("QUIC"):
            print("registered protocol:", " ".join(line.split()[:3]))


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


def _serve(lsk: socket.socket, pki: CertFiles,
           out: dict[str, HandshakeResult | BaseException]) -> None:
    try:
        conn, _ = lsk.accept()
        conn.settimeout(TIMEOUT)
        out["server"] = quic_server_handshake(conn, str(pki.key), str(pki.cert), timeout=TIMEOUT)
    except BaseException as exc:  # reported by the main thread
        out["server"] = exc


def _describe(name: str, res: HandshakeResult) -> None:
    suite = res.engine.cipher_suite
    group = res.engine.group
    print(f"{name}: ALPN {res.alpn!r}, {suite.name if suite else '?'}, "
          f"key exchange {group.name if group else '?'}, resumed={res.session_resumed}")


def show_handshake(family: int, addr: str) -> tuple[socket.socket, socket.socket]:
    section(f"handshake over {'IPv4' if family == socket.AF_INET else 'IPv6'}")
    pki = write_test_pki(Path(tempfile.mkdtemp()), ["localhost", addr])
    lsk = quic_socket(family)
    lsk.settimeout(TIMEOUT)
    sockopt.set_alpn(lsk, [ALPN])
    lsk.bind((addr, 0))
    lsk.listen(1)
    print(f"server listening on {addr} port {lsk.getsockname()[1]} with ALPN {ALPN!r}")
    out: dict[str, HandshakeResult | BaseException] = {}
    server = threading.Thread(target=_serve, args=(lsk, pki, out))
    server.start()
    cli = quic_socket(family)
    cli.settimeout(TIMEOUT)
    sockopt.set_alpn(cli, [ALPN])
    cli.connect(lsk.getsockname()[:2])
    start = time.monotonic()
    cres = quic_client_handshake(cli, hostname="localhost", cafile=str(pki.ca), timeout=TIMEOUT)
    server.join(TIMEOUT)
    elapsed = time.monotonic() - start
    sres = out.get("server")
    lsk.close()
    if not isinstance(sres, HandshakeResult):
        raise SystemExit(f"server handshake failed: {sres!r}")
    print(f"handshake complete in {elapsed * 1000:.0f} ms")
    _describe("client", cres)
    _describe("server", sres)
    peer_cert = cres.peer_certificates[0]
    print(f"client verified the server certificate {peer_cert.subject.rfc4514_string()} "
          f"for host name 'localhost'")
    tp = sockopt.get_transport_param(cli, remote=True)
    print(f"server's transport parameters seen by the client kernel: idle timeout "
          f"{tp.max_idle_timeout // 1000} ms, max_data {tp.max_data}, "
          f"bidi streams {tp.max_streams_bidi}, uni streams {tp.max_streams_uni}")
    assert isinstance(sres.sock, socket.socket)
    return cli, sres.sock


def main() -> int:
    show_module()
    show_sockets()
    conns = [show_handshake(socket.AF_INET, "127.0.0.1"), show_handshake(socket.AF_INET6, "::1")]
    show_procfs()
    for cli, srv in conns:
        sockopt.set_connection_close(cli, 0, "demo done")
        cli.close()
        srv.close()
    print("\ndemo: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
