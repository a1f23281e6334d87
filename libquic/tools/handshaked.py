"""The QUIC handshake daemon for kernel users (SMB, NFS, ...).

When a kernel user calls ``tls_client_hello_*()``/``tls_server_hello_*()``
on an IPPROTO_QUIC socket, net/handshake announces the request over generic
netlink (family "handshake", group "tlshd"); this daemon accepts it, which
puts the socket in its file table, runs libquic's TLS 1.3 handshake on it
(the ALPN list, transport parameters and cipher hint come from the socket,
as the kernel user set them) and reports the status with DONE.  It speaks
the same netlink protocol as ktls-utils' tlshd and reads the same
configuration keys::

    quic-handshaked [-c /etc/tlshd.conf] [-v]

Configuration (INI, tlshd-compatible subset)::

    [authenticate.client]
    x509.truststore = /etc/ssl/certs/my-ca.pem   ; default: system store
    x509.certificate = /etc/quic/client.pem      ; optional client cert
    x509.private_key = /etc/quic/client.key

    [authenticate.server]
    x509.truststore = /etc/quic/clients-ca.pem   ; for client certificates
    x509.certificate = /etc/quic/server.pem
    x509.private_key = /etc/quic/server.key

    [authenticate]
    keyrings = .nfs;quic                         ; server PSKs (see below)

PSKs come from the kernel user as key serials (``ta_my_peerids``): the key's
description is the PSK identity and its payload the key.  A server given no
key (the usual ``tls_server_hello_psk()``) looks up the identity the client
offers, as tlshd does: a key of type "psk", else "user", with that
description, searched for recursively in the request's keyring if it names
one, else in the ``keyrings`` of ``[authenticate]`` (names or serials,
separated by ``;``), else in the daemon's user keyring.  An unknown identity
refuses the handshake (EACCES) with a log line naming it.

As a service: ``quic-handshaked --print-unit`` prints a systemd unit
(``Type=notify``: the daemon reports READY once it listens; ``systemctl
reload`` sends SIGHUP, which reads the configuration again and keeps the old
one if the new one is bad).  Under systemd the log lines carry journal
priorities.  At most ``--workers`` handshakes run at once and ``--queue``
more wait; a request beyond that is refused with EBUSY and a log line, as
is every failed handshake.
"""

from __future__ import annotations

import configparser
import errno
import logging
import os
import shutil
import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from libquic import sockopt
from libquic.handshake import HandshakeResult, HandshakeSession, quic_handshake
from libquic.tls.engine import ClientAuth
from libquic.tls.errors import AlertDescription, TLSError
from libquic.tls.psk import ExternalPSK
from libquic.tls.tickets import SessionData
from libquic.tools.cli import ToolParser
from libquic.tools.keyring import (
    KEY_MAX_DESC_SIZE,
    KEY_SPEC_SESSION_KEYRING,
    KEY_SPEC_THREAD_KEYRING,
    KEY_SPEC_USER_KEYRING,
    describe_key,
    find_keyring,
    link_key,
    read_key,
    search_key,
    unlink_key,
)
from libquic.tools.service import notify, setup_logging, use_journal

try:
    from libquic.tools.handshake_nl import (
        AUTH_PSK,
        AUTH_UNAUTH,
        AUTH_X509,
        HandshakeNetlink,
        HandshakeRequest,
    )
except ImportError as _exc:  # pyroute2 comes with the "daemon" extra
    _NETLINK_MISSING: ImportError | None = _exc
else:
    _NETLINK_MISSING = None

__all__ = [
    "MAX_PSK_LOOKUPS",
    "PSK_KEY_TYPES",
    "Daemon",
    "DaemonConfig",
    "KeyctlOps",
    "KeyringPSKs",
    "SideConfig",
    "build_session",
    "handle",
    "load_config",
    "main",
    "psks_from_keyring",
    "server_psk_keyrings",
    "status_of",
    "store_session",
    "stored_session",
    "unit_text",
]

log = logging.getLogger("handshaked")

DEFAULT_CONFIG = "/etc/tlshd.conf"
DEFAULT_TIMEOUT_MS = 30_000
DEFAULT_WORKERS = 8
DEFAULT_QUEUE = 64
PSK_KEY_TYPES = ("psk", "user")  # searched for in this order, as tlshd's QUIC server does
MAX_PSK_LOOKUPS = 8  # offered identities looked up per handshake, at most
_SPECIAL_KEYRINGS = {"@u": KEY_SPEC_USER_KEYRING, "@s": KEY_SPEC_SESSION_KEYRING}


@dataclass(frozen=True)
class SideConfig:
    """The x509 settings of one role."""

    truststore: str | None = None
    certificate: str | None = None
    private_key: str | None = None


@dataclass(frozen=True)
class DaemonConfig:
    client: SideConfig = SideConfig()
    server: SideConfig = SideConfig()
    # [authenticate] keyrings: where a server looks up the PSK of the
    # identity a client offers (names, serials, @u or @s); empty: the
    # daemon's user keyring
    keyrings: tuple[str, ...] = ()


def _keyrings_setting(path: str) -> tuple[str, ...]:
    """``[authenticate] keyrings``, a ``;``-separated list as in tlshd.conf(5)
    (read without inline comments, whose ``;`` would cut the list)."""
    raw = configparser.ConfigParser(interpolation=None)
    raw.read(path)
    value = raw.get("authenticate", "keyrings", fallback="")
    return tuple(item.strip() for item in value.split(";") if item.strip())


def load_config(path: str | None) -> DaemonConfig:
    """Read the tlshd-style configuration; a missing default file is empty."""
    parser = configparser.ConfigParser(inline_comment_prefixes=(";", "#"))
    if path is not None and not parser.read(path):
        if path != DEFAULT_CONFIG:
            raise FileNotFoundError(f"configuration file {path} cannot be read")
        log.info("no %s: no certificates configured", path)
        path = None

    def side(name: str) -> SideConfig:
        sec = f"authenticate.{name}"
        if not parser.has_section(sec):
            return SideConfig()
        values = {k: parser.get(sec, f"x509.{k}", fallback=None) or None
                  for k in ("truststore", "certificate", "private_key")}
        for key, value in values.items():
            if value is not None and not Path(value).is_file():
                raise FileNotFoundError(f"[{sec}] x509.{key}: {value} is not a file")
        if bool(values["certificate"]) != bool(values["private_key"]):
            raise ValueError(f"[{sec}]: x509.certificate and x509.private_key go together")
        return SideConfig(**values)

    keyrings = _keyrings_setting(path) if path is not None else ()
    return DaemonConfig(client=side("client"), server=side("server"), keyrings=keyrings)


def psks_from_keyring(serials: list[int]) -> list[ExternalPSK]:
    """The PSKs behind the kernel user's key serials."""
    psks = []
    for serial in serials:
        info = describe_key(serial)
        key = read_key(serial)
        try:
            psks.append(ExternalPSK(identity=info.description.encode(), key=bytes(key)))
        finally:
            key[:] = bytes(len(key))
    if not psks:
        raise PermissionError(errno.EACCES, "PSK handshake requested without a key")
    return psks


def _shown(identity: bytes) -> str:
    """A PSK identity (the client's bytes) quoted and escaped for a log line."""
    return repr(identity[:256].decode("utf-8", "backslashreplace")) + (
        "..." if len(identity) > 256 else "")


@dataclass(frozen=True)
class KeyctlOps:
    """The keyctl(2) calls :class:`KeyringPSKs` makes (tests replace them)."""

    search: Callable[[int, str, bytes], int] = search_key
    read: Callable[[int], bytearray] = read_key
    link: Callable[[int, int], None] = link_key
    unlink: Callable[[int, int], None] = unlink_key
    find_keyring: Callable[[str], int | None] = find_keyring


class KeyringPSKs:
    """A server's PSK look-up by the identity a client offers, in the kernel
    keyrings (``HandshakeSession.psk_lookup``), as tlshd does it.

    For each identity the engine asks about, the keyrings are searched in
    order, each recursively (``keyctl search``), for a key of type "psk",
    then "user", whose description is the identity; the first found is read
    and its payload is the PSK.  A keyring given by name is found with
    :func:`~libquic.tools.keyring.find_keyring`.  While it is searched, each
    keyring is linked into the calling thread's keyring, so that its keys
    are possessed and readable even when the daemon's session keyring does
    not lead to them (systemd gives services a private one).

    ``where`` names the keyrings in log lines.  ``missing`` lists the offered
    identities without a key, ``serial`` is the key chosen.  :meth:`wipe`
    overwrites every key handed out (the engine also wipes them).
    """

    def __init__(self, keyrings: Sequence[int | str], where: str,
                 ops: KeyctlOps | None = None, *, max_lookups: int = MAX_PSK_LOOKUPS) -> None:
        self.keyrings = list(keyrings)
        self.where = where
        self.ops = ops or KeyctlOps()
        self.max_lookups = max_lookups
        self.missing: list[bytes] = []
        self.serial: int | None = None
        self._lookups = 0
        self._resolved: list[int] | None = None
        self._handed_out: list[bytearray] = []

    def __call__(self, identity: bytes) -> bytearray | None:
        if self._lookups >= self.max_lookups:
            if self._lookups == self.max_lookups:
                log.warning("the client offers more than %d PSK identities: not looking up "
                            "the others", self.max_lookups)
            self._lookups += 1
            return None
        self._lookups += 1
        if not identity or b"\0" in identity or len(identity) >= KEY_MAX_DESC_SIZE:
            log.info("PSK identity %s cannot be a key description", _shown(identity))
            self.missing.append(identity)
            return None
        for ring in self._rings():
            found = self._search(ring, identity)
            if found is not None:
                self.serial, key = found
                self._handed_out.append(key)
                log.info("PSK identity %s: key %d", _shown(identity), self.serial)
                return key
        self.missing.append(identity)
        log.info("no PSK with identity %s in %s", _shown(identity), self.where)
        return None

    def missing_reason(self) -> str:
        """Why the handshake was refused, naming the identities offered."""
        names = " or ".join(_shown(i) for i in self.missing)
        return f"no PSK with identity {names} in {self.where}"

    def wipe(self) -> None:
        for key in self._handed_out:
            key[:] = bytes(len(key))
        self._handed_out.clear()

    def _rings(self) -> list[int]:
        if self._resolved is None:
            self._resolved = []
            for ring in self.keyrings:
                serial = ring if isinstance(ring, int) else _SPECIAL_KEYRINGS.get(ring)
                if serial is None:
                    serial = self.ops.find_keyring(ring)
                if serial is None:
                    log.info("keyring %r not found", ring)
                    continue
                self._resolved.append(serial)
        return self._resolved

    def _search(self, ring: int, identity: bytes) -> tuple[int, bytearray] | None:
        try:
            self.ops.link(ring, KEY_SPEC_THREAD_KEYRING)
            linked = True
        except OSError as exc:  # it may still be searchable and its keys readable
            log.debug("keyring %d not linked into the thread keyring: %s", ring, exc)
            linked = False
        try:
            for key_type in PSK_KEY_TYPES:
                try:
                    serial = self.ops.search(ring, key_type, identity)
                except OSError as exc:
                    if exc.errno in (errno.ENOKEY, errno.EKEYREVOKED, errno.EKEYEXPIRED):
                        continue  # none of this type (or the type is not registered)
                    log.warning("keyring %d cannot be searched: %s", ring, exc)
                    return None
                try:
                    key = self.ops.read(serial)
                except OSError as exc:
                    log.warning("PSK identity %s: key %d cannot be read: %s",
                                _shown(identity), serial, exc)
                    continue
                if key:
                    return serial, key
                log.warning("PSK identity %s: key %d is empty", _shown(identity), serial)
            return None
        finally:
            if linked:
                try:
                    self.ops.unlink(ring, KEY_SPEC_THREAD_KEYRING)
                except OSError as exc:
                    log.debug("keyring %d not unlinked from the thread keyring: %s", ring, exc)


def server_psk_keyrings(req: HandshakeRequest,
                        cfg: DaemonConfig) -> tuple[list[int | str], str]:
    """Where a server without a key looks up the client's PSK identity, and
    how log lines name it: the request's keyring, else the configured
    ``keyrings``, else the daemon's user keyring."""
    if req.keyring:
        return [req.keyring], f"keyring {req.keyring} of the request"
    if cfg.keyrings:
        return list(cfg.keyrings), f"the keyrings {';'.join(cfg.keyrings)} ([authenticate])"
    return [KEY_SPEC_USER_KEYRING], "the user keyring"


def build_session(sock: socket.socket, req: HandshakeRequest,
                  cfg: DaemonConfig, ops: KeyctlOps | None = None) -> HandshakeSession:
    """The libquic handshake settings for one request."""
    side = cfg.client if req.is_client else cfg.server
    conf = sockopt.get_config(sock)
    session = HandshakeSession(
        sock=sock, is_server=not req.is_client,
        timeout=(req.timeout_ms or DEFAULT_TIMEOUT_MS) / 1000,
        cipher_type=conf.payload_cipher_type or None)
    if req.is_client:
        session.session_data = stored_session(sock)
    if req.auth_mode == AUTH_PSK:
        serials = [s for s in req.peer_identities if s]  # 0: no key
        if serials:
            session.psks = psks_from_keyring(serials)
        elif req.is_client:
            raise PermissionError(errno.ENOKEY, "PSK handshake requested without a key")
        else:
            session.psk_lookup = KeyringPSKs(*server_psk_keyrings(req, cfg), ops)
        return session
    if req.auth_mode not in (AUTH_X509, AUTH_UNAUTH):
        raise PermissionError(errno.EOPNOTSUPP, f"auth mode {req.auth_mode} is not supported")
    if req.cert or req.privkey:
        raise PermissionError(errno.EOPNOTSUPP, "certificates by key serial are not supported; "
                              "configure x509.certificate/x509.private_key")
    session.cert_file = side.certificate
    session.key_file = side.private_key
    session.cafile = side.truststore
    if req.is_client:
        session.hostname = req.peername
        session.verify = req.auth_mode == AUTH_X509
    else:
        if not side.certificate:
            raise PermissionError(errno.EACCES,
                                  "no server certificate: set [authenticate.server] x509.*")
        session.client_auth = ClientAuth(min(conf.certificate_request, 2))
    return session


def stored_session(sock: socket.socket) -> bytes | None:
    """Client: the session a kernel user handed back in
    QUIC_SOCKOPT_SESSION_TICKET (what :func:`store_session` left there on
    an earlier connection), or None."""
    try:
        data = sockopt.get_session_ticket(sock)
    except OSError:
        return None
    if not data:
        return None
    try:
        SessionData.from_bytes(data)
    except (ValueError, TLSError):  # not ours (e.g. another tlshd's)
        return None
    return bytes(data)


def store_session(sock: socket.socket, result: HandshakeResult, wait: float,
                  skip: int) -> int:
    """Client with quic_config.receive_session_ticket: wait up to ``wait``
    seconds for the server's NewSessionTicket, as tlshd does, and leave the
    resumable session in QUIC_SOCKOPT_SESSION_TICKET for the kernel user
    (it hands it back on its next connection).  Return its length, 0 if no
    ticket came."""
    data = result.get_session_data(timeout=wait, skip=skip)
    if not data:
        return 0
    sockopt.set_session_ticket(sock, data)
    return len(data)


def status_of(exc: BaseException) -> int:
    """The errno DONE reports for a failed handshake."""
    if isinstance(exc, TimeoutError):
        return errno.ETIMEDOUT
    if isinstance(exc, TLSError):
        return errno.EACCES
    if isinstance(exc, OSError) and exc.errno:
        return exc.errno
    return errno.EIO


def handle(req: HandshakeRequest, cfg: DaemonConfig,
           report: Callable[[int, int], None]) -> HandshakeResult | None:
    """Run one handshake on the accepted socket and report it; the socket's
    descriptor in our file table is closed afterwards (the kernel user keeps
    its own reference)."""
    sock = socket.socket(fileno=req.sockfd)
    result = None
    lookup: KeyringPSKs | None = None
    try:
        try:
            session = build_session(sock, req, cfg)
            if isinstance(session.psk_lookup, KeyringPSKs):
                lookup = session.psk_lookup
            result = quic_handshake(session)
            status = 0
            log.info("fd %d: %s handshake done, ALPN %s%s", req.sockfd,
                     "client" if req.is_client else "server", result.alpn,
                     ", session resumed" if result.session_resumed else "")
            wait = sockopt.get_config(sock).receive_session_ticket if req.is_client else 0
            if wait:
                try:
                    n = store_session(sock, result, wait, len(session.session_data or b""))
                    log.info("fd %d: %s", req.sockfd,
                             f"session stored for the kernel user ({n} bytes)" if n else
                             f"no session ticket within {wait} s")
                except (OSError, TLSError, ValueError) as exc:  # the connection stands
                    log.warning("fd %d: session ticket not stored: %s", req.sockfd, exc)
        except Exception as exc:  # reported to the kernel user, never fatal
            status = status_of(exc)
            reason = str(exc)
            if (lookup is not None and lookup.missing and isinstance(exc, TLSError)
                    and exc.alert == AlertDescription.unknown_psk_identity):
                reason = lookup.missing_reason()
            log.warning("fd %d: handshake failed (%s): %s", req.sockfd,
                        errno.errorcode.get(status, status), reason)
        finally:
            if lookup is not None:
                lookup.wipe()
        report(req.sockfd, status)
        log.info("fd %d: reported status %d", req.sockfd, status)
    finally:
        sock.close()
    return result


class Daemon:
    """Waits for READY and serves the requests on a bounded pool of workers.

    At most ``workers`` handshakes run at once and ``queue`` more wait; a
    request beyond that is refused at once (DONE with EBUSY, and a log
    line) rather than piling up threads.  ``reload()`` (SIGHUP) reads the
    configuration again; handshakes already accepted keep the one they
    started with.
    """

    def __init__(self, cfg: DaemonConfig, *, workers: int = DEFAULT_WORKERS,
                 queue: int = DEFAULT_QUEUE, config_path: str | None = None,
                 netlink: Callable[[], HandshakeNetlink] | None = None,
                 handler: Callable[[HandshakeRequest, DaemonConfig,
                                    Callable[[int, int], None]], object] = handle) -> None:
        if workers < 1 or queue < 0:
            raise ValueError(f"need at least 1 worker and a queue of 0 or more "
                             f"(got {workers} and {queue})")
        self.cfg = cfg
        self.config_path = config_path
        self.workers = workers
        self.queue = queue
        self._netlink = netlink or HandshakeNetlink
        self._handler = handler
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="handshake")
        self._lock = threading.Lock()
        self._busy = 0  # running or queued
        self._stop = threading.Event()
        self._reload = threading.Event()

    @property
    def busy(self) -> int:
        with self._lock:
            return self._busy

    def stop(self) -> None:
        self._stop.set()

    def request_reload(self) -> None:
        """Ask the main loop to reload (safe from a signal handler)."""
        self._reload.set()

    def reload(self) -> bool:
        """Read the configuration again; on an error keep the current one."""
        notify("RELOADING=1")
        try:
            self.cfg = load_config(self.config_path)
            log.info("configuration reloaded from %s", self.config_path)
            return True
        except (OSError, ValueError, configparser.Error) as exc:
            log.error("reload failed, keeping the previous configuration: %s", exc)
            return False
        finally:
            notify("READY=1")

    def submit(self, req: HandshakeRequest) -> bool:
        """Queue an accepted request, or refuse it if the pool is full."""
        limit = self.workers + self.queue
        with self._lock:
            full = self._busy >= limit
            if not full:
                self._busy += 1
        if full:
            log.warning("fd %d: refused the %s handshake%s with EBUSY: %d are running "
                        "and %d waiting, the most --workers and --queue allow", req.sockfd,
                        "client" if req.is_client else "server",
                        f" to {req.peername}" if req.peername else "", self.workers,
                        self.queue)
            try:
                with self._netlink() as nl:
                    nl.done(req.sockfd, errno.EBUSY)
            finally:
                os.close(req.sockfd)
            return False
        self._pool.submit(self._serve_one, req, self.cfg)
        return True

    def _serve_one(self, req: HandshakeRequest, cfg: DaemonConfig) -> None:
        try:
            with self._netlink() as nl:
                self._handler(req, cfg, lambda fd, status: nl.done(fd, status))
        except Exception:  # a worker never dies silently
            log.exception("fd %d: handshake worker failed", req.sockfd)
        finally:
            with self._lock:
                self._busy -= 1

    def _drain(self) -> None:
        with self._netlink() as nl:
            while (req := nl.accept()) is not None:
                self.submit(req)

    def run(self) -> None:
        try:
            with self._netlink() as nl:
                nl.listen()
                log.info("waiting for handshake requests (%d workers, queue %d)",
                         self.workers, self.queue)
                notify("READY=1")
                self._drain()  # requests queued before we joined the group
                while not self._stop.is_set():
                    if self._reload.is_set():
                        self._reload.clear()
                        self.reload()
                    if nl.wait_ready(0.5):
                        self._drain()
        finally:
            notify("STOPPING=1")
            self._pool.shutdown(wait=True)  # running handshakes have timeouts


def _command_path() -> str:
    """How a service manager starts this daemon: the installed command beside
    our interpreter, else the one on $PATH, else the module."""
    beside = Path(sys.executable).parent / "quic-handshaked"
    if beside.is_file():
        return str(beside)
    return shutil.which("quic-handshaked") or f"{sys.executable} -m libquic.tools.handshaked"


def unit_text(command: str) -> str:
    """The systemd unit, starting ``command``."""
    template = resources.files("libquic.tools").joinpath("quic-handshaked.service")
    return template.read_text().replace("@QUIC_HANDSHAKED@", command)


def main(argv: list[str] | None = None) -> int:
    ap = ToolParser(prog="quic-handshaked", description=__doc__.split("\n\n")[0])
    ap.add_argument("-c", "--config", default=DEFAULT_CONFIG, help="tlshd-style INI file")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                    help=f"handshakes run at once (default {DEFAULT_WORKERS})")
    ap.add_argument("--queue", type=int, default=DEFAULT_QUEUE,
                    help=f"requests waiting for a worker before more are refused "
                    f"(default {DEFAULT_QUEUE})")
    ap.add_argument("--log", choices=("auto", "journal", "stderr"), default="auto",
                    help="journal: syslog priority prefixes for journald (auto: when "
                    "$JOURNAL_STREAM is set)")
    ap.add_argument("--print-unit", action="store_true",
                    help="print a systemd unit that starts this command, and exit")
    args = ap.parse_args(argv)
    if args.print_unit:
        sys.stdout.write(unit_text(_command_path()))
        return 0
    if _NETLINK_MISSING is not None:
        print(f"quic-handshaked: {_NETLINK_MISSING}; install it with "
              "pip install 'libquic[daemon]'", file=sys.stderr)
        return 1
    journal = use_journal(args.log)
    setup_logging("handshaked", args.verbose, journal)
    try:
        daemon = Daemon(load_config(args.config), workers=args.workers, queue=args.queue,
                        config_path=args.config)
        signal.signal(signal.SIGTERM, lambda *_: daemon.stop())
        signal.signal(signal.SIGINT, lambda *_: daemon.stop())
        signal.signal(signal.SIGHUP, lambda *_: daemon.request_reload())
        daemon.run()
    except (OSError, ValueError, configparser.Error) as exc:
        print(f"{'<3>' if journal else ''}quic-handshaked: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
