"""Drive the TLS 1.3 handshake of a kernel QUIC socket from userspace.

This follows the reference libquic flow (Documentation/tls.rst has the full
description):

* role: ``getsockopt(SOL_QUIC, QUIC_SOCKOPT_TOKEN)`` fails with EINVAL on a
  server socket;
* local transport parameters come from ``getsockopt(TRANSPORT_PARAM_EXT)``
  and the peer's go back with ``setsockopt(TRANSPORT_PARAM_EXT)``;
* secrets are installed with ``setsockopt(CRYPTO_SECRET)`` (TX before RX,
  buffer wiped after each call); every secret of a step is installed before
  the step's flight is sent;
* handshake messages are sent with ``sendmsg`` and a ``QUIC_HANDSHAKE_INFO``
  cmsg carrying the level, MSG_NOSIGNAL, and MSG_MORE on all but the last
  message of a flight; they are received with ``recvmsg(MSG_DONTWAIT)`` and
  ``poll``;
* the server writes the negotiated ALPN back with ``setsockopt(ALPN)`` and
  sends its NewSessionTicket at level APP after completion; a client gets
  the ticket later from ``getsockopt(SESSION_TICKET)``
  (:meth:`HandshakeResult.get_session_data`).

The socket only needs ``getsockopt``, ``setsockopt``, ``sendmsg``,
``recvmsg``, ``fileno`` and ``setblocking``, so tests can use a fake one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import select
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography import x509

from libquic import sockopt, uapi
from libquic.aioutil import wait_fd
from libquic.cmsg import ANCBUF_SIZE, handshake_cmsg, parse_cmsgs, sendmsg_direct
from libquic.tls import certs as _certs
from libquic.tls.ciphers import CipherSuite
from libquic.tls.engine import (
    ClientAuth,
    Direction,
    Event,
    HandshakeComplete,
    InstallSecret,
    Level,
    SendData,
    SessionTicketReceived,
    TLSConfig,
    TLSEngine,
    TransportParameters,
)
from libquic.tls.errors import TLSError
from libquic.tls.keylog import KeyLogCallback, keylog_from_env
from libquic.tls.psk import ExternalPSK, PskLookup, load_psk_file
from libquic.tls.tickets import TICKET_KEY_SIZE, SessionData

# The kernel's numbers for the engine's levels and cipher suites: the TLS
# engine knows none of them.
_KERNEL_LEVEL: dict[Level, int] = {
    Level.INITIAL: uapi.QUIC_CRYPTO_INITIAL,
    Level.EARLY: uapi.QUIC_CRYPTO_EARLY,
    Level.HANDSHAKE: uapi.QUIC_CRYPTO_HANDSHAKE,
    Level.APP: uapi.QUIC_CRYPTO_APP,
}
_ENGINE_LEVEL: dict[int, Level] = {v: k for k, v in _KERNEL_LEVEL.items()}
_KERNEL_CIPHER: dict[CipherSuite, int] = {
    CipherSuite.TLS_AES_128_GCM_SHA256: uapi.TLS_CIPHER_AES_GCM_128,
    CipherSuite.TLS_AES_256_GCM_SHA384: uapi.TLS_CIPHER_AES_GCM_256,
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256: uapi.TLS_CIPHER_CHACHA20_POLY1305,
}
_SUITE_OF_KERNEL_CIPHER: dict[int, CipherSuite] = {v: k for k, v in _KERNEL_CIPHER.items()}

MSG_MORE = int(uapi.MSG_MORE)
MSG_NOSIGNAL = int(uapi.MSG_NOSIGNAL)
MSG_DONTWAIT = int(uapi.MSG_DONTWAIT)
MSG_QUIC_NOTIFICATION = int(uapi.MSG_QUIC_NOTIFICATION)
RECV_BUFSIZE = 65536

DEFAULT_TIMEOUT = 30.0


class QuicSocketLike(Protocol):
    def fileno(self) -> int: ...
    def getsockopt(self, level: int, optname: int, buflen: int) -> bytes: ...
    def setsockopt(self, level: int, optname: int, value: Any) -> None: ...
    def sendmsg(self, buffers: Any, ancdata: Any = ..., flags: int = ...) -> int: ...
    def recvmsg(self, bufsize: int, ancbufsize: int = ..., flags: int = ...) -> Any: ...
    def setblocking(self, flag: bool) -> None: ...


@dataclass
class HandshakeSession:
    """Everything :func:`quic_handshake` needs: the socket and the settings.

    Unset values are taken from the socket (role, ALPN list, transport
    parameters, ticket key) or from defaults.
    """

    sock: Any
    is_server: bool | None = None  # None: detect with getsockopt(TOKEN)
    alpns: Sequence[str] | None = None  # None: getsockopt(QUIC_SOCKOPT_ALPN)
    hostname: str | None = None
    # x509
    cert_file: str | None = None
    key_file: str | None = None
    certificate_chain: Sequence[x509.Certificate] = ()
    private_key: Any = None
    verify: bool = True
    cafile: str | None = None
    cadata: bytes | None = None
    client_auth: ClientAuth = ClientAuth.NONE
    # PSK
    psk_file: str | None = None
    psks: Sequence[ExternalPSK] = ()
    psk_lookup: PskLookup | None = None  # server: key by offered identity (TLSConfig)
    # resumption / 0-RTT
    session_data: bytes | None = None  # client: from HandshakeResult.get_session_data()
    early_data: bool = False  # client: offer 0-RTT; server: accept it
    # client: hand the session's token and remembered transport parameters to
    # the kernel at start (see restore_session)
    restore_session: bool = True
    session_tickets: bool = True  # server: issue a ticket after the handshake
    ticket_key: bytes | None = None  # server: None reads getsockopt(SESSION_TICKET)
    # algorithms (None: engine defaults)
    cipher_suites: Sequence[int] | None = None
    groups: Sequence[int] | None = None
    key_share_groups: Sequence[int] | None = None
    signature_schemes: Sequence[int] | None = None
    # TLS_CIPHER_* hint (quic_config.payload_cipher_type for kernel consumers):
    # restricts the handshake to that one suite
    cipher_type: int | None = None
    transport_parameters: bytes | None = None  # None: getsockopt(TRANSPORT_PARAM_EXT)
    keylog: KeyLogCallback | None = field(default_factory=keylog_from_env)
    timeout: float | None = DEFAULT_TIMEOUT


@dataclass
class HandshakeResult:
    """Outcome of a successful handshake."""

    sock: Any
    engine: TLSEngine
    is_server: bool
    alpn: str | None
    session_resumed: bool
    early_data_accepted: bool
    peer_certificates: list[x509.Certificate]

    def get_session_data(self, timeout: float = 0.0, interval: float = 0.1,
                         skip: int = 0) -> bytes | None:
        """Client: turn the kernel's NewSessionTicket into resumable session data.

        Reads the raw NST with ``getsockopt(QUIC_SOCKOPT_SESSION_TICKET)``,
        polling every ``interval`` seconds for up to ``timeout`` seconds while
        it is empty, and returns bytes for ``session_data=`` (or None).
        ``skip``: bytes at the start of that buffer that are not the ticket
        (what was set on the socket before the handshake; the kernel appends
        the NST after it).
        """
        if self.is_server:
            raise RuntimeError("session data is for clients")
        deadline = time.monotonic() + timeout
        while True:
            nst = sockopt.get_session_ticket(self.sock)[skip:]
            if nst or time.monotonic() >= deadline:
                break
            time.sleep(interval)
        if not nst:
            return None
        session: SessionData | None = None
        for ev in self.engine.receive(Level.APP, bytes(nst)):
            if isinstance(ev, SessionTicketReceived):
                session = ev.session
        if session is None:
            return None
        _remember_kernel_state(self.sock, session)
        return session.to_bytes()

    async def get_session_data_async(self, timeout: float = 0.0,
                                     interval: float = 0.1) -> bytes | None:
        """:meth:`get_session_data` without blocking the event loop."""
        deadline = time.monotonic() + timeout
        while True:
            data = self.get_session_data(0.0)
            if data is not None or time.monotonic() >= deadline:
                return data
            await asyncio.sleep(interval)


# ---------------------------------------------------------------------------
# socket helpers

def _remember_kernel_state(sock: Any, session: SessionData) -> None:
    """Add what 0-RTT needs from the kernel to ``session``: the server's
    transport parameters and the NEW_TOKEN token (not on sockets without them)."""
    with contextlib.suppress(OSError):
        session.transport_param = bytes(sockopt.get_transport_param(sock, remote=True))
    with contextlib.suppress(OSError):
        session.token = sockopt.get_token(sock)


def restore_session(sock: Any, session_data: bytes) -> None:
    """Client, after ``connect()``: give the kernel the saved token and the
    server's remembered transport parameters.  With them, stream data may be
    written before the handshake completes; it goes out as 0-RTT once the
    TLS stack installs the early key (and in 1-RTT if the server refuses it)."""
    session = SessionData.from_bytes(session_data)
    if session.token:
        sockopt.set_token(sock, session.token)
    if session.transport_param:
        param = uapi.QuicTransportParam.from_buffer_copy(
            session.transport_param.ljust(ctypes.sizeof(uapi.QuicTransportParam), b"\0"))
        param.remote = 1
        sockopt.set_transport_param(sock, param)


def set_connection_close(sock: QuicSocketLike, errcode: int, phrase: str) -> None:
    """Tell the kernel why we abort (sent in CONNECTION_CLOSE when closed)."""
    limit = uapi.QUIC_CLOSE_PHRASE_BUFFER_SIZE - 1
    data = phrase.encode(errors="replace")[:limit].decode(errors="ignore")
    with contextlib.suppress(OSError):
        sockopt.set_connection_close(sock, errcode, data)


# ---------------------------------------------------------------------------
# the driver (step API)

class HandshakeDriver:
    """Step-wise handshake over one socket, usable from any event loop.

    Call :meth:`start`, then :meth:`handle_readable` whenever the socket is
    readable and :meth:`flush` whenever it is writable and
    :attr:`want_write` is set, until :attr:`done`.
    """

    def __init__(self, session: HandshakeSession) -> None:
        self.session = session
        self.sock: QuicSocketLike = session.sock
        self.engine: TLSEngine | None = None
        self.is_server = False
        self._out: list[tuple[int, bytes, bool]] = []  # (level, data, more)
        self._alpn_written = False
        self.done = False
        self._peer_tp_set = False

    # -- setup ------------------------------------------------------------------
    def _build_config(self) -> TLSConfig:
        s = self.session
        sock = self.sock
        is_server = sockopt.is_server(sock) if s.is_server is None else s.is_server
        self.is_server = is_server
        alpns = list(s.alpns) if s.alpns is not None else sockopt.get_alpn(sock)
        tp = s.transport_parameters
        tp_for = None
        if tp is None and is_server:
            # the kernel may switch versions on the client's parameters
            # (RFC 9368): ours are read after it has seen them
            tp = b""
            tp_for = self._server_transport_parameters
        elif tp is None:
            tp = sockopt.get_transport_param_ext(sock)
        kw: dict[str, Any] = dict(
            is_client=not is_server, alpn_protocols=alpns, server_name=s.hostname,
            transport_parameters=tp, transport_parameters_for=tp_for,
            verify=s.verify, cafile=s.cafile, cadata=s.cadata,
            client_auth=s.client_auth, early_data=s.early_data, keylog=s.keylog,
            send_session_ticket=s.session_tickets)
        for name in ("cipher_suites", "groups", "key_share_groups", "signature_schemes"):
            value = getattr(s, name)
            if value is not None:
                kw[name] = list(value)
        if s.cipher_type:
            suite = _SUITE_OF_KERNEL_CIPHER.get(s.cipher_type)
            if suite is None:
                raise ValueError(f"cipher type {s.cipher_type} has no TLS 1.3 suite here")
            kw["cipher_suites"] = [suite]
        chain = list(s.certificate_chain)
        key = s.private_key
        if s.cert_file:
            chain = _certs.load_certificate_chain(s.cert_file)
        if s.key_file:
            key = _certs.load_private_key(s.key_file)
        if chain:
            kw["certificate_chain"] = chain
            kw["private_key"] = key
        psks = list(s.psks)
        if s.psk_file:
            psks = load_psk_file(s.psk_file)
        kw["psks"] = psks
        if is_server and s.psk_lookup is not None:
            kw["psk_lookup"] = s.psk_lookup
        if is_server:
            ticket_key = s.ticket_key
            if ticket_key is None and s.session_tickets:
                try:
                    ticket_key = sockopt.get_session_ticket(sock)
                except OSError:
                    ticket_key = None
                if ticket_key is not None and len(ticket_key) != TICKET_KEY_SIZE:
                    ticket_key = None
            kw["ticket_key"] = ticket_key if s.session_tickets else None
        elif s.session_data:
            kw["session"] = SessionData.from_bytes(s.session_data)
        return TLSConfig(**kw)

    def _server_transport_parameters(self, peer: bytes) -> bytes:
        sockopt.set_transport_param_ext(self.sock, peer)
        self._peer_tp_set = True
        return sockopt.get_transport_param_ext(self.sock)

    def start(self) -> None:
        config = self._build_config()
        if not self.is_server and self.session.session_data and self.session.restore_session:
            restore_session(self.sock, self.session.session_data)
        self.engine = TLSEngine(config)
        self._run(self.engine.start)

    # -- processing -----------------------------------------------------------------
    def _run(self, step: Any, *args: Any) -> None:
        assert self.engine is not None
        try:
            events: list[Event] = step(*args)
        except TLSError as exc:
            set_connection_close(self.sock, exc.quic_error_code, exc.message)
            raise
        self._process(events)

    def _process(self, events: list[Event]) -> None:
        """Install the step's secrets and peer parameters, then queue its flight."""
        assert self.engine is not None
        flight: list[SendData] = []
        for ev in events:
            if isinstance(ev, TransportParameters):
                if not self._peer_tp_set:
                    sockopt.set_transport_param_ext(self.sock, ev.data)
                if self.is_server:
                    self._write_alpn()
            elif isinstance(ev, InstallSecret):
                try:
                    sockopt.set_crypto_secret(self.sock, _KERNEL_LEVEL[ev.level],
                                              ev.direction == Direction.SEND,
                                              _KERNEL_CIPHER[ev.suite], ev.secret)
                finally:
                    ev.wipe()
            elif isinstance(ev, SendData):
                flight.append(ev)
            elif isinstance(ev, HandshakeComplete):
                self._write_alpn()  # kernel users read the choice back
        for i, ev in enumerate(flight):
            self._out.append((_KERNEL_LEVEL[ev.level], ev.data, i < len(flight) - 1))
        self.flush()
        self._update_done()

    def _write_alpn(self) -> None:
        assert self.engine is not None
        if not self._alpn_written and self.engine.alpn:
            sockopt.set_alpn(self.sock, self.engine.alpn)
            self._alpn_written = True

    def _update_done(self) -> None:
        assert self.engine is not None
        self.done = self.engine.handshake_complete and not self._out

    @property
    def want_write(self) -> bool:
        return bool(self._out)

    def flush(self) -> bool:
        """Send queued handshake messages; False if the socket would block.

        Never waits for ``POLLOUT`` first (:func:`~libquic.cmsg.sendmsg_direct`):
        modules differ in whether they report it before the handshake ends."""
        while self._out:
            level, data, more = self._out[0]
            flags = MSG_NOSIGNAL | (MSG_MORE if more else 0)
            try:
                sendmsg_direct(self.sock, [data], [handshake_cmsg(level)], flags)
            except (BlockingIOError, InterruptedError):
                return False
            self._out.pop(0)
        if self.engine is not None:
            self._update_done()
        return True

    def handle_readable(self) -> None:
        """Read and process everything the socket has queued."""
        while not self.done:
            try:
                data, ancdata, flags, _ = self.sock.recvmsg(RECV_BUFSIZE, ANCBUF_SIZE,
                                                            MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return
            if flags & MSG_QUIC_NOTIFICATION:
                continue  # an event; none are enabled by the handshake
            klevel = parse_cmsgs(ancdata).handshake_level
            if klevel is None:
                if not data:
                    raise ConnectionResetError("connection closed during the handshake")
                raise ConnectionError("received non-handshake data during the handshake")
            level = _ENGINE_LEVEL.get(klevel)
            if level is None:
                raise ConnectionError(f"handshake data at unknown kernel level {klevel}")
            self._run(self.engine.receive if self.engine else _no_engine, level, bytes(data))


def _no_engine(*_: Any) -> list[Event]:  # pragma: no cover
    raise RuntimeError("HandshakeDriver.start() was not called")


def _result(drv: HandshakeDriver) -> HandshakeResult:
    e = drv.engine
    assert e is not None
    return HandshakeResult(sock=drv.sock, engine=e, is_server=drv.is_server, alpn=e.alpn,
                           session_resumed=e.session_resumed,
                           early_data_accepted=e.early_data_accepted,
                           peer_certificates=list(e.peer_certificates))


# ---------------------------------------------------------------------------
# blocking API

def _poll(fd: int, events: int, timeout: float | None) -> bool:
    p = select.poll()
    p.register(fd, events)
    ms = None if timeout is None else max(0, int(timeout * 1000))
    return bool(p.poll(ms))


def quic_handshake(session: HandshakeSession) -> HandshakeResult:
    """Run a complete handshake on ``session.sock`` (blocking, with timeout)."""
    drv = HandshakeDriver(session)
    deadline = None if session.timeout is None else time.monotonic() + session.timeout
    drv.start()
    # what is queued already, before the first wait: a wrapper of the
    # socket may hold data its descriptor no longer shows as readable
    drv.handle_readable()
    fd = session.sock.fileno()
    while not drv.done:
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise TimeoutError("QUIC handshake timed out")
        wait = min(remaining, 1.0) if remaining is not None else 1.0
        mask = select.POLLIN | (select.POLLOUT if drv.want_write else 0)
        ready = _poll(fd, mask, wait)
        # retry a blocked flight after each wait, not only on POLLOUT: the
        # reference module reports none until the handshake completes
        if drv.want_write:
            drv.flush()
        if ready:
            drv.handle_readable()
    return _result(drv)


def _client_session(sock: Any, pkey_file: str | None, hostname: str | None,
                    alpns: Sequence[str] | str | None, kw: dict[str, Any]) -> HandshakeSession:
    if isinstance(alpns, str):
        alpns = [a.strip() for a in alpns.split(",") if a.strip()]
    return HandshakeSession(sock=sock, is_server=kw.pop("is_server", False), alpns=alpns,
                            hostname=hostname, psk_file=pkey_file, **kw)


def _server_session(sock: Any, pkey_file: str | None, cert_file: str | None,
                    alpns: Sequence[str] | str | None, kw: dict[str, Any]) -> HandshakeSession:
    if isinstance(alpns, str):
        alpns = [a.strip() for a in alpns.split(",") if a.strip()]
    if cert_file is None and not kw.get("certificate_chain"):  # PSK, as in the reference
        return HandshakeSession(sock=sock, is_server=kw.pop("is_server", True), alpns=alpns,
                                psk_file=pkey_file, **kw)
    return HandshakeSession(sock=sock, is_server=kw.pop("is_server", True), alpns=alpns,
                            cert_file=cert_file, key_file=pkey_file, **kw)


def quic_client_handshake(sock: Any, pkey_file: str | None = None, hostname: str | None = None,
                          alpns: Sequence[str] | str | None = None, *,
                          cafile: str | None = None, verify: bool = True,
                          session_data: bytes | None = None,
                          timeout: float | None = DEFAULT_TIMEOUT,
                          **kw: Any) -> HandshakeResult:
    """Client handshake.  ``pkey_file`` selects PSK mode (``identity:hexkey`` lines,
    the first is used); otherwise the server certificate is verified against
    ``cafile`` or the system store and ``hostname``.  Further keywords are
    :class:`HandshakeSession` fields (``cert_file``/``key_file`` for a client
    certificate, ``early_data``, ``keylog``...)."""
    kw.update(cafile=cafile, verify=verify, session_data=session_data, timeout=timeout)
    return quic_handshake(_client_session(sock, pkey_file, hostname, alpns, kw))


def quic_server_handshake(sock: Any, pkey_file: str | None, cert_file: str | None = None,
                          alpns: Sequence[str] | str | None = None, *,
                          timeout: float | None = DEFAULT_TIMEOUT,
                          **kw: Any) -> HandshakeResult:
    """Server handshake.  With ``cert_file`` it uses that chain and the key in
    ``pkey_file``; without, ``pkey_file`` is a PSK file."""
    kw.update(timeout=timeout)
    return quic_handshake(_server_session(sock, pkey_file, cert_file, alpns, kw))


# ---------------------------------------------------------------------------
# asyncio API

async def quic_handshake_async(session: HandshakeSession) -> HandshakeResult:
    """:func:`quic_handshake` for asyncio: the socket is made non-blocking and
    the loop is never blocked (certificate checks and signatures still run
    inline; they take milliseconds)."""
    loop = asyncio.get_running_loop()
    session.sock.setblocking(False)
    drv = HandshakeDriver(session)
    drv.start()
    fd = session.sock.fileno()

    async def run() -> None:
        while not drv.done:
            if drv.want_write:
                reader = asyncio.ensure_future(wait_fd(loop, fd, False))
                writer = asyncio.ensure_future(wait_fd(loop, fd, True))
                done, pending = await asyncio.wait({reader, writer},
                                                   return_when=asyncio.FIRST_COMPLETED)
                for t in pending:
                    t.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await t
                if writer in done:
                    drv.flush()
            else:
                await wait_fd(loop, fd, False)
            drv.handle_readable()

    await asyncio.wait_for(run(), session.timeout)
    return _result(drv)


async def quic_client_handshake_async(sock: Any, pkey_file: str | None = None,
                                      hostname: str | None = None,
                                      alpns: Sequence[str] | str | None = None, *,
                                      cafile: str | None = None, verify: bool = True,
                                      session_data: bytes | None = None,
                                      timeout: float | None = DEFAULT_TIMEOUT,
                                      **kw: Any) -> HandshakeResult:
    kw.update(cafile=cafile, verify=verify, session_data=session_data, timeout=timeout)
    return await quic_handshake_async(_client_session(sock, pkey_file, hostname, alpns, kw))


async def quic_server_handshake_async(sock: Any, pkey_file: str | None,
                                      cert_file: str | None = None,
                                      alpns: Sequence[str] | str | None = None, *,
                                      timeout: float | None = DEFAULT_TIMEOUT,
                                      **kw: Any) -> HandshakeResult:
    kw.update(timeout=timeout)
    return await quic_handshake_async(_server_session(sock, pkey_file, cert_file, alpns, kw))


__all__ = [
    "HandshakeDriver",
    "HandshakeResult",
    "HandshakeSession",
    "QuicSocketLike",
    "quic_client_handshake",
    "quic_client_handshake_async",
    "quic_handshake",
    "quic_handshake_async",
    "quic_server_handshake",
    "quic_server_handshake_async",
    "restore_session",
    "set_connection_close",
]

