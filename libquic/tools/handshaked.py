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

PSKs come from the kernel user as key serials (``ta_my_peerids``): the key's
description is the PSK identity and its payload the key.
"""

from __future__ import annotations

import argparse
import configparser
import errno
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from libquic import sockopt
from libquic.handshake import HandshakeResult, HandshakeSession, quic_handshake
from libquic.tls.engine import ClientAuth
from libquic.tls.errors import TLSError
from libquic.tls.psk import ExternalPSK
from libquic.tools.keyring import describe_key, read_key

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
    "Daemon",
    "DaemonConfig",
    "SideConfig",
    "build_session",
    "handle",
    "load_config",
    "main",
    "psks_from_keyring",
    "status_of",
]

log = logging.getLogger("handshaked")

DEFAULT_CONFIG = "/etc/tlshd.conf"
DEFAULT_TIMEOUT_MS = 30_000


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


def load_config(path: str | None) -> DaemonConfig:
    """Read the tlshd-style configuration; a missing default file is empty."""
    parser = configparser.ConfigParser(inline_comment_prefixes=(";", "#"))
    if path is not None and not parser.read(path):
        if path != DEFAULT_CONFIG:
            raise FileNotFoundError(f"configuration file {path} cannot be read")
        log.info("no %s: no certificates configured", path)

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

    return DaemonConfig(client=side("client"), server=side("server"))


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


def build_session(sock: socket.socket, req: HandshakeRequest,
                  cfg: DaemonConfig) -> HandshakeSession:
    """The libquic handshake settings for one request."""
    side = cfg.client if req.is_client else cfg.server
    conf = sockopt.get_config(sock)
    session = HandshakeSession(
        sock=sock, is_server=not req.is_client,
        timeout=(req.timeout_ms or DEFAULT_TIMEOUT_MS) / 1000,
        cipher_type=conf.payload_cipher_type or None)
    if req.auth_mode == AUTH_PSK:
        session.psks = psks_from_keyring(req.peer_identities)
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
    try:
        try:
            result = quic_handshake(build_session(sock, req, cfg))
            status = 0
            log.info("fd %d: %s handshake done, ALPN %s", req.sockfd,
                     "client" if req.is_client else "server", result.alpn)
        except Exception as exc:  # reported to the kernel user, never fatal
            status = status_of(exc)
            log.warning("fd %d: handshake failed (%s): %s", req.sockfd,
                        errno.errorcode.get(status, status), exc)
        report(req.sockfd, status)
        log.info("fd %d: reported status %d", req.sockfd, status)
    finally:
        sock.close()
    return result


class Daemon:
    """Waits for READY and serves each request in its own thread."""

    def __init__(self, cfg: DaemonConfig) -> None:
        self.cfg = cfg
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def _serve_one(self, req: HandshakeRequest) -> None:
        with HandshakeNetlink() as nl:
            handle(req, self.cfg, lambda fd, status: nl.done(fd, status))

    def _drain(self) -> None:
        with HandshakeNetlink() as nl:
            while (req := nl.accept()) is not None:
                threading.Thread(target=self._serve_one, args=(req,), daemon=True).start()

    def run(self) -> None:
        with HandshakeNetlink() as nl:
            nl.listen()
            log.info("waiting for handshake requests")
            self._drain()  # requests queued before we joined the group
            while not self._stop.is_set():
                if nl.wait_ready(0.5):
                    self._drain()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-c", "--config", default=DEFAULT_CONFIG, help="tlshd-style INI file")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    if _NETLINK_MISSING is not None:
        print(f"quic-handshaked: {_NETLINK_MISSING}; install it with "
              "pip install 'libquic[daemon]'", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="handshaked: %(message)s")
    try:
        daemon = Daemon(load_config(args.config))
        signal.signal(signal.SIGTERM, lambda *_: daemon.stop())
        signal.signal(signal.SIGINT, lambda *_: daemon.stop())
        daemon.run()
    except (OSError, ValueError, configparser.Error) as exc:
        print(f"quic-handshaked: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
