"""quic-h3, the HTTP/3 command, run as a user would against independent
HTTP/3 implementations: ngtcp2's example server and client (C, GnuTLS) and
aioquic's HTTP/3 layer, in both directions, on files of several MB with
SHA-256 checked; and its errors, each one line and a non-zero status."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import pytest
from aioquic.asyncio import connect, serve
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN as AIOQUIC_H3_ALPN
from aioquic.h3.connection import H3Connection as AioH3Connection
from aioquic.h3.events import DataReceived, H3Event, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ProtocolNegotiated, QuicEvent

from kquictest.aiopeer import free_udp_port
from kquictest.ngtcp2peer import gtlsserver, ngtcp2
from kquictest.quicpair import WAIT, Credentials

pytestmark = pytest.mark.timeout(400)

ROOT = Path(__file__).resolve().parents[2]
H3 = [sys.executable, "-m", "libquic.tools.h3tool"]
BIG = 5 * 1024 * 1024 + 123
STARTUP = 180  # importing cryptography is slow in a busy VM


@pytest.fixture(scope="module")
def htdocs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("htdocs")
    (root / "big.bin").write_bytes(os.urandom(BIG))
    (root / "small.txt").write_bytes(b"hello over h3\n")
    (root / "sub").mkdir()
    (root / "sub" / "index.html").write_bytes(b"<p>index</p>\n")
    return root


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def get(creds: Credentials, url: str, out: Path, *args: str,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*H3, "get", url, "-o", str(out), "--cafile", creds.ca,
                           "--hostname", "localhost", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


@contextmanager
def our_server(creds: Credentials, root: Path, log: Path) -> Iterator[int]:
    port = free_udp_port()
    with log.open("wb") as out:
        proc = subprocess.Popen([*H3, "serve", str(root), "--cert", creds.cert,
                                 "--key", creds.key, "-B", "127.0.0.1", "-p", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + STARTUP
        while b"serving" not in log.read_bytes():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "quic-h3 serve did not start"
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(30)
    assert b"Traceback" not in log.read_bytes(), log.read_text()


# -- our client ----------------------------------------------------------------

def test_get_from_ngtcp2_server(creds: Credentials, htdocs: Path, tmp_path: Path) -> None:
    with gtlsserver(creds, htdocs) as port:
        for name in ("big.bin", "small.txt"):
            out = tmp_path / name
            r = get(creds, f"https://127.0.0.1:{port}/{name}", out)
            assert r.returncode == 0, r.stderr
            assert sha(out) == sha(htdocs / name)
            assert not (tmp_path / f"{name}.part").exists()
        assert r.stderr.strip() == f"quic-h3: 14 bytes written to {out}"


class AioquicFileServer(QuicConnectionProtocol):
    """aioquic's HTTP/3 server side, answering GETs with FILES."""

    files: ClassVar[Mapping[bytes, bytes]] = {}

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.h3: AioH3Connection | None = None

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, ProtocolNegotiated):
            self.h3 = AioH3Connection(self._quic)
        if self.h3 is None:
            return
        for ev in self.h3.handle_event(event):
            if isinstance(ev, HeadersReceived):
                path = dict(ev.headers).get(b":path", b"")
                body = self.files.get(path)
                status = b"200" if body is not None else b"404"
                body = body or b""
                self.h3.send_headers(ev.stream_id, [(b":status", status),
                                                    (b"content-length", str(len(body)).encode())])
                self.h3.send_data(ev.stream_id, body, end_stream=True)
                self.transmit()


def test_get_from_aioquic_server(creds: Credentials, htdocs: Path, tmp_path: Path) -> None:
    data = (htdocs / "big.bin").read_bytes()

    class Server(AioquicFileServer):
        files: ClassVar[Mapping[bytes, bytes]] = {b"/big.bin": data}

    Done = subprocess.CompletedProcess[str]

    async def run() -> tuple[int, Done, Done]:
        config = QuicConfiguration(is_client=False, alpn_protocols=AIOQUIC_H3_ALPN)
        config.load_cert_chain(creds.cert, creds.key)
        port = free_udp_port()
        server = await serve("127.0.0.1", port, configuration=config, create_protocol=Server)
        try:
            loop = asyncio.get_running_loop()
            ok = await loop.run_in_executor(None, lambda: get(
                creds, f"https://127.0.0.1:{port}/big.bin", tmp_path / "big.bin"))
            missing = await loop.run_in_executor(None, lambda: get(
                creds, f"https://127.0.0.1:{port}/nope", tmp_path / "nope"))
            return port, ok, missing
        finally:
            server.close()

    port, ok, missing = asyncio.run(run())
    assert ok.returncode == 0, ok.stderr
    assert sha(tmp_path / "big.bin") == hashlib.sha256(data).hexdigest()
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        f"quic-h3: the server answered 404 for https://127.0.0.1:{port}/nope"]
    assert not (tmp_path / "nope").exists() and not (tmp_path / "nope.part").exists()


# -- our server ----------------------------------------------------------------

def test_ngtcp2_client_from_our_server(creds: Credentials, htdocs: Path, tmp_path: Path) -> None:
    with our_server(creds, htdocs, tmp_path / "server.log") as port:
        uris = [f"https://localhost:{port}/{n}" for n in ("big.bin", "small.txt")]
        proc = subprocess.run(ngtcp2("gtlsclient", "-q", "--exit-on-all-streams-close",
                                     "--sni=localhost", f"--download={tmp_path}",
                                     "127.0.0.1", str(port), *uris),
                              capture_output=True, timeout=300, check=False)
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    for name in ("big.bin", "small.txt"):
        assert sha(tmp_path / name) == sha(htdocs / name), name
    log = (tmp_path / "server.log").read_text()
    assert f"GET /big.bin 200 {BIG}" in log, log


class AioquicClient(QuicConnectionProtocol):
    """aioquic's HTTP/3 client side: ``get()`` one path."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.h3 = AioH3Connection(self._quic)
        self.heads: dict[int, dict[bytes, bytes]] = {}
        self.bodies: dict[int, bytearray] = {}
        self.done: dict[int, asyncio.Future[None]] = {}

    def quic_event_received(self, event: QuicEvent) -> None:
        for ev in self.h3.handle_event(event):
            self._h3_event(ev)

    def _h3_event(self, ev: H3Event) -> None:
        if isinstance(ev, HeadersReceived):
            self.heads[ev.stream_id] = dict(ev.headers)
        elif isinstance(ev, DataReceived):
            self.bodies.setdefault(ev.stream_id, bytearray()).extend(ev.data)
        else:
            return
        if ev.stream_ended and ev.stream_id in self.done:
            self.done.pop(ev.stream_id).set_result(None)

    async def get(self, path: str) -> tuple[int, bytes]:
        sid = self._quic.get_next_available_stream_id()
        self.done[sid] = asyncio.get_running_loop().create_future()
        self.h3.send_headers(sid, [(b":method", b"GET"), (b":scheme", b"https"),
                                   (b":authority", b"localhost"), (b":path", path.encode())],
                             end_stream=True)
        self.transmit()
        await asyncio.wait_for(self.done[sid], WAIT * 4)
        return int(self.heads[sid][b":status"]), bytes(self.bodies.get(sid, b""))


def test_aioquic_client_from_our_server(creds: Credentials, htdocs: Path, tmp_path: Path) -> None:
    with our_server(creds, htdocs, tmp_path / "server.log") as port:
        async def run() -> list[tuple[int, bytes]]:
            config = QuicConfiguration(is_client=True, alpn_protocols=AIOQUIC_H3_ALPN,
                                       server_name="localhost", cafile=creds.ca)
            async with connect("127.0.0.1", port, configuration=config,
                               create_protocol=AioquicClient, wait_connected=True) as proto:
                assert isinstance(proto, AioquicClient)
                return [await proto.get(p) for p in
                        ("/big.bin", "/sub/", "/../../etc/passwd", "/nope")]

        got = asyncio.run(asyncio.wait_for(run(), WAIT * 8))
    assert got[0] == (200, (htdocs / "big.bin").read_bytes())
    assert got[1] == (200, b"<p>index</p>\n")
    assert got[2][0] == 404, "a path outside the folder was served"
    assert got[3][0] == 404


# -- errors --------------------------------------------------------------------

@pytest.mark.parametrize(("args", "status", "message"), [
    (["get", "http://127.0.0.1/x"], 2, "quic-h3: not an https URL"),
    (["get", "https://127.0.0.1:99999/x"], 2, "quic-h3: bad port"),
    (["get", "https://127.0.0.1:1/x", "--cafile", "/nonexistent.pem"], 2,
     "quic-h3: /nonexistent.pem does not exist"),
    (["serve", "/nonexistent", "--cert", "c", "--key", "k"], 2,
     "quic-h3: /nonexistent is not a folder"),
    (["serve", "/", "--cert", "/nonexistent.pem", "--key", "k"], 2,
     "quic-h3: /nonexistent.pem does not exist"),
    (["get"], 2, "quic-h3 get: the following arguments are required: url"),
    (["frobnicate"], 2, "quic-h3: argument command: invalid choice: 'frobnicate'"),
])
def test_bad_input_is_one_line(args: list[str], status: int, message: str) -> None:
    r = subprocess.run([*H3, *args], capture_output=True, text=True, timeout=STARTUP, cwd=ROOT)
    assert r.returncode == status, r.stderr
    assert r.stderr.startswith(message), r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr


def test_unreachable_server_is_one_line(creds: Credentials, tmp_path: Path) -> None:
    port = free_udp_port()  # nobody listens there
    r = get(creds, f"https://127.0.0.1:{port}/x", tmp_path / "x", "--timeout", "3")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("quic-h3: "), r.stderr
    assert f"https://127.0.0.1:{port}/x" in lines[0]
    assert not (tmp_path / "x").exists()
