"""Client drivers of other QUIC implementations for the ALPN-routing
harness (libquic.tools.alpnroute): aioquic's client and ngtcp2's
gtlsclient, so that routing is checked with ClientHellos the kernel's
own client did not write."""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
import time
from pathlib import Path

from aioquic.asyncio import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import HandshakeCompleted, QuicEvent

from kquictest.aiopeer import free_udp_port
from kquictest.ngtcp2peer import ngtcp2
from libquic.tools.alpnroute.check import ClientResult
from libquic.tools.alpnroute.serve import describe
from libquic.tools.alpnroute.spec import ClientSpec, SpecError, Trust
from libquic.tools.alpnroute.wire import H3_ALPN, answered_by, hello

PATH = "/listener"  # what ngtcp2's client asks; the body names the listener


class _Recording(QuicConnectionProtocol):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.alpn: str | None = None

    def quic_event_received(self, event: QuicEvent) -> None:
        if isinstance(event, HandshakeCompleted):
            self.alpn = event.alpn_protocol
        super().quic_event_received(event)


def aioquic_client(spec: ClientSpec, target: tuple[str, int], trust: Trust,
                   timeout: float) -> ClientResult:
    """aioquic's client from a port chosen here (so the harness can match
    the listener's report); it asks the listener's name on a stream unless
    it negotiated h3."""
    host, port = target
    res = ClientResult(local_port=free_udp_port("0.0.0.0"))
    config = QuicConfiguration(is_client=True, alpn_protocols=list(spec.alpns) or None,
                               server_name=trust.hostname, cafile=trust.ca)

    async def run() -> None:
        # a connection given up on leaves aioquic's own waiter failed and
        # unread; the result here says what happened
        asyncio.get_running_loop().set_exception_handler(lambda _loop, _ctx: None)
        start = time.monotonic()
        async with connect(host, port, configuration=config, create_protocol=_Recording,
                           local_port=res.local_port or 0) as proto:
            assert isinstance(proto, _Recording)
            res.seconds = time.monotonic() - start
            res.handshake, res.alpn = True, proto.alpn
            if spec.exchange and proto.alpn != H3_ALPN:
                reader, writer = await proto.create_stream()
                writer.write(hello(spec.name))
                writer.write_eof()
                res.reply_from = answered_by(await reader.read())
            else:
                await proto.ping()  # the server's handshake ends before we close

    try:
        asyncio.run(asyncio.wait_for(run(), timeout))
    except Exception as exc:
        res.error = describe(exc)
    return res


def ngtcp2_client(spec: ClientSpec, target: tuple[str, int], trust: Trust,
                  timeout: float) -> ClientResult:
    """ngtcp2's gtlsclient fetching ``GET /listener`` over HTTP/3 (its only
    ALPN).  Its port is unknown, so a run holds one at most; it verifies no
    certificate, and the time is the program's whole run."""
    if spec.alpns != (H3_ALPN,):
        raise SpecError(f"client {spec.name}: ngtcp2's client offers h3 only")
    host, port = target
    res = ClientResult()
    with tempfile.TemporaryDirectory(prefix="alpn-ngtcp2-") as folder:
        cmd = ngtcp2("gtlsclient", "-q", "--exit-on-all-streams-close",
                     f"--sni={trust.hostname}", f"--download={folder}",
                     f"--handshake-timeout={timeout:g}s", host, str(port),
                     f"https://{trust.hostname}:{port}{PATH}")
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout + 30, check=False)
        except subprocess.TimeoutExpired:
            res.error = "gtlsclient hung"
            return res
        body = Path(folder, PATH.lstrip("/"))
        if proc.returncode == 0 and body.exists():
            res.seconds = time.monotonic() - start
            res.handshake, res.alpn = True, H3_ALPN
            res.reply_from = body.read_text()
        else:
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["-"]
            res.error = f"gtlsclient exited with {proc.returncode}: {tail[0]}"
    return res
