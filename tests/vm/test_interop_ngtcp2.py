"""Interoperability with ngtcp2, an independent C implementation, over HTTP/3.

ngtcp2's example peers (gtlsclient/gtlsserver, GnuTLS) come from Debian
bookworm-backports via scripts/setup.sh; our side is the kernel module with
libquic's handshake and its small HTTP/3 layer (libquic.h3).  Files are
fetched in both directions and compared byte for byte.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from kquictest import quic_testdriver as qt
from kquictest.aiopeer import kernel_server
from kquictest.ngtcp2peer import gtlsserver, ngtcp2
from kquictest.quicpair import WAIT, Credentials
from libquic import sockopt
from libquic.connection import QuicConnection
from libquic.events import QuicEventMessage
from libquic.h3 import H3_ALPN, H3Connection, H3Message, response
from libquic.handshake import HandshakeResult
from libquic.uapi import QUIC_EVENT_CONNECTION_MIGRATION, QUIC_EVENT_KEY_UPDATE

pytestmark = pytest.mark.timeout(240)

FILES = {"/small": b"hello over h3\n", "/blob": os.urandom(3 * 1024 * 1024 + 17)}


@pytest.fixture
def htdocs(tmp_path: Path) -> Path:
    root = tmp_path / "htdocs"
    root.mkdir()
    for name, data in FILES.items():
        (root / name.lstrip("/")).write_bytes(data)
    return root


@pytest.mark.parametrize("ciphers", [None, "CHACHA20-POLY1305", "AES-256-GCM"])
def test_kernel_h3_client_to_ngtcp2_server(creds: Credentials, htdocs: Path,
                                          ciphers: str | None) -> None:
    args = []
    if ciphers:
        args.append(f"--ciphers=NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+{ciphers}")
    with gtlsserver(creds, htdocs, *args) as port, QuicConnection.connect(
            "127.0.0.1", port, alpns=[H3_ALPN], hostname="localhost",
            cafile=creds.ca, timeout=WAIT) as conn:
        assert conn.handshake.alpn == H3_ALPN
        if ciphers:
            suite = conn.handshake.engine.cipher_suite
            assert suite is not None
            assert suite.name.replace("_", "-").endswith(ciphers + "-SHA256") or \
                suite.name.replace("_", "-").endswith(ciphers + "-SHA384")
        h3 = H3Connection(conn)
        for path, data in FILES.items():
            resp = h3.get("localhost", path, timeout=60)
            assert resp.status == 200, resp.headers
            assert hashlib.sha256(resp.body).digest() == hashlib.sha256(data).digest()
        missing = h3.get("localhost", "/does-not-exist", timeout=60)
        assert missing.status == 404


@dataclass
class Served:
    requests: int
    handshake: HandshakeResult
    events: list[QuicEventMessage]

    def count(self, etype: int) -> int:
        return sum(e.type == etype for e in self.events)


def serve_files(sock: socket.socket, res: HandshakeResult,
                events: tuple[int, ...] = (QUIC_EVENT_KEY_UPDATE,)) -> Served:
    """Answer GETs for FILES until the client closes the connection, and
    collect the ``events`` that arrived on the way."""
    conn = QuicConnection(sock, res)
    for etype in events:
        conn.enable_event(etype)
    h3 = H3Connection(conn)

    def handler(req: H3Message) -> H3Message:
        body = FILES.get(req.header(":path") or "")
        return response(200, body) if body is not None else response(404)

    served = h3.serve(handler, timeout=WAIT)
    seen = []
    while True:
        try:
            seen.append(conn.next_event(timeout=0))
        except (TimeoutError, ConnectionError):
            break
    return Served(served, res, seen)


def run_gtlsclient(port: int, download: Path, *args: str) -> None:
    uris = [f"https://localhost:{port}{p}" for p in FILES]
    cmd = ngtcp2("gtlsclient", "-q", "--exit-on-all-streams-close", "--sni=localhost",
                 f"--download={download}", *args, "127.0.0.1", str(port), *uris)
    proc = subprocess.run(cmd, capture_output=True, timeout=90, check=False)
    assert proc.returncode == 0, (proc.returncode, proc.stderr.decode(errors="replace")[-2000:])


@pytest.mark.parametrize("extra", [
    [],
    ["--key-update=50ms"],
    ["--ciphers=NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305"],
    ["--cc=reno", "--max-stream-data-bidi-local=64K", "--max-data=128K"],
], ids=["plain", "key-update", "chacha20", "small-windows"])
def test_ngtcp2_client_to_kernel_h3_server(creds: Credentials, tmp_path: Path,
                                          extra: list[str]) -> None:
    with kernel_server(creds, H3_ALPN, serve_files) as server:
        run_gtlsclient(server.port, tmp_path, *extra)
        served = server.outcome()
    assert served.handshake.alpn == H3_ALPN
    assert served.requests == len(FILES)
    if any(a.startswith("--key-update") for a in extra):
        assert served.count(QUIC_EVENT_KEY_UPDATE) >= 1
    else:
        assert served.count(QUIC_EVENT_KEY_UPDATE) == 0
    for name, data in FILES.items():
        got = (tmp_path / name.lstrip("/")).read_bytes()
        assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest(), name


def test_ngtcp2_client_resumes_session(creds: Credentials, tmp_path: Path) -> None:
    """gtlsclient stores our NewSessionTicket and the transport parameters,
    then resumes with them on a second connection."""
    session, tpf = tmp_path / "session.pem", tmp_path / "tp.pem"
    first, second = tmp_path / "1", tmp_path / "2"
    first.mkdir()
    second.mkdir()
    with kernel_server(creds, H3_ALPN, serve_files, count=2) as server:
        run_gtlsclient(server.port, first, "--wait-for-ticket",
                       f"--session-file={session}", f"--tp-file={tpf}")
        assert session.stat().st_size > 0
        run_gtlsclient(server.port, second, f"--session-file={session}",
                       f"--tp-file={tpf}")
        full, resumed = server.outcomes()
    assert not full.handshake.session_resumed
    assert resumed.handshake.session_resumed
    for folder in (first, second):
        assert (folder / "blob").read_bytes() == FILES["/blob"]


@pytest.mark.parametrize("how", [["--change-local-addr=100ms"],
                                 ["--change-local-addr=100ms", "--nat-rebinding"]],
                         ids=["migration", "nat-rebinding"])
def test_ngtcp2_client_migrates(creds: Credentials, tmp_path: Path, how: list[str]) -> None:
    """gtlsclient moves to a new local port mid-connection (an active
    migration, or a NAT rebinding it does not announce); our server validates
    the new path, reports the migration and the files arrive intact."""

    def serve(sock: socket.socket, res: HandshakeResult) -> Served:
        return serve_files(sock, res, (QUIC_EVENT_CONNECTION_MIGRATION,))

    with kernel_server(creds, H3_ALPN, serve) as server:
        run_gtlsclient(server.port, tmp_path, *how, "--delay-stream=300ms")
        served = server.outcome()
    assert served.requests == len(FILES)
    migrations = [e for e in served.events if e.type == QUIC_EVENT_CONNECTION_MIGRATION]
    assert migrations and all(e.payload == 0 for e in migrations), served.events
    for name, data in FILES.items():
        assert (tmp_path / name.lstrip("/")).read_bytes() == data, name


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_ngtcp2_client_sends_0rtt(creds: Credentials, tmp_path: Path) -> None:
    """gtlsclient resumes with our ticket and sends its requests as 0-RTT;
    our server (early data on) accepts them."""
    session, tpf = tmp_path / "session.pem", tmp_path / "tp.pem"
    first, second = tmp_path / "1", tmp_path / "2"
    first.mkdir()
    second.mkdir()
    with kernel_server(creds, H3_ALPN, serve_files, count=2,
                       handshake_kw={"early_data": True}) as server:
        run_gtlsclient(server.port, first, "--wait-for-ticket",
                       f"--session-file={session}", f"--tp-file={tpf}")
        before = qt.snmp()["QuicPkt0RttRcv"]
        run_gtlsclient(server.port, second, f"--session-file={session}",
                       f"--tp-file={tpf}")
        received = qt.snmp()["QuicPkt0RttRcv"] - before
        full, resumed = server.outcomes()
    assert not full.handshake.early_data_accepted
    assert resumed.handshake.session_resumed and resumed.handshake.early_data_accepted
    assert received > 0
    for folder in (first, second):
        assert (folder / "blob").read_bytes() == FILES["/blob"]


PREFERRED = "127.0.0.2"


def free_port_on(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def test_kernel_client_moves_to_ngtcp2_preferred_address(creds: Credentials,
                                                        htdocs: Path) -> None:
    """gtlsserver offers a preferred address; our client validates it after
    the handshake, moves there and fetches the files over the new path."""
    port = free_port_on(PREFERRED)
    with gtlsserver(creds, htdocs, f"--preferred-ipv4-addr={PREFERRED}:{port}") as first, \
            QuicConnection.connect("127.0.0.1", first, alpns=[H3_ALPN], hostname="localhost",
                                   cafile=creds.ca, timeout=WAIT) as conn:
        h3 = H3Connection(conn)
        assert h3.get("localhost", "/small", timeout=60).body == FILES["/small"]
        qt.wait_for(lambda: conn.sock.getpeername()[:2] == (PREFERRED, port), 10,
                    "the client on the preferred address")
        resp = h3.get("localhost", "/blob", timeout=60)
        assert hashlib.sha256(resp.body).digest() == hashlib.sha256(FILES["/blob"]).digest()
        assert conn.sock.getpeername()[:2] == (PREFERRED, port)


def test_ngtcp2_client_moves_to_kernel_preferred_address(creds: Credentials,
                                                        tmp_path: Path) -> None:
    """Our server offers a preferred address; gtlsclient moves there and its
    requests are served on it."""
    port = free_port_on(PREFERRED)
    where: list[tuple[str, int]] = []

    def offer(sock: socket.socket) -> None:
        sockopt.set_preferred_address(sock, (PREFERRED, port))

    def serve(sock: socket.socket, res: HandshakeResult) -> Served:
        served = serve_files(sock, res)
        where.append(sock.getsockname()[:2])
        return served

    with kernel_server(creds, H3_ALPN, serve, setup=offer) as server:
        run_gtlsclient(server.port, tmp_path, "--delay-stream=300ms")
        served = server.outcome()
    assert served.requests == len(FILES)
    assert where == [(PREFERRED, port)]
    for name, data in FILES.items():
        assert (tmp_path / name.lstrip("/")).read_bytes() == data, name
