"""Kernel users of QUIC through the netlink handshake upcall.

tests/kmod/quic_consumer.ko plays the kernel user (as SMB or NFS would): it
opens a QUIC socket in the kernel and calls tls_client_hello_*() or
tls_server_hello_*(); libquic/tools/handshaked.py, started here, answers the
net/handshake upcall and runs the TLS handshake; the module then exchanges
one message on a stream with a userspace libquic peer.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kquictest import quic_testdriver as qt
from kquictest.aiopeer import free_udp_port
from kquictest.handshaked_proc import running_handshaked
from kquictest.quicpair import WAIT, Credentials
from libquic.connection import QuicConnection, QuicListener
from libquic.tools.keyring import add_key, revoke_key, set_perm

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = ROOT / "tests" / "kmod" / "quic_consumer.ko"
PROC = Path("/proc/quic_consumer")
ALPNS = "smbd,nfs"
PSK_IDENTITY = "client1"
PSK_KEY = bytes(range(32))  # the PSK in quicpair's credentials


@pytest.fixture(scope="module")
def consumer() -> Iterator[Path]:
    subprocess.run(["insmod", str(CONSUMER)], check=True)
    try:
        yield PROC
    finally:
        subprocess.run(["rmmod", "quic_consumer"], check=True)


@pytest.fixture(scope="module")
def daemon(creds: Credentials, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("handshaked")
    conf = folder / "tlshd.conf"
    conf.write_text(f"""[authenticate.client]
x509.truststore = {creds.ca}

[authenticate.server]
x509.certificate = {creds.cert}
x509.private_key = {creds.key}
""")
    logfile = folder / "log"
    with running_handshaked(conf, logfile):
        yield logfile


@pytest.fixture
def psk_key() -> Iterator[int]:
    serial = add_key("user", PSK_IDENTITY, PSK_KEY)
    set_perm(serial, 0x3F3F0000)  # possessor and owner: all (the daemon reads it)
    try:
        yield serial
    finally:
        revoke_key(serial)


def consumer_run(proc: Path, command: str) -> dict[str, str]:
    """Write one command (it blocks until the exchange is over) and read the outcome.

    One write(2): a buffered file would retry the failed write on close,
    starting a second exchange.
    """
    fd = os.open(proc, os.O_WRONLY)
    try:
        os.write(fd, command.encode())
    finally:
        os.close(fd)
    head, _, message = proc.read_text().strip().partition(" message=")
    out = dict(f.split("=", 1) for f in head.split(" "))
    out["message"] = message
    return out


class EchoServer:
    """A userspace libquic server (it issues session tickets) answering one
    stream on each of ``connections`` connections; records the ALPN and
    whether each resumed."""

    def __init__(self, creds: Credentials, alpns: list[str], psk: bool = False,
                 host: str = "127.0.0.1", connections: int = 1) -> None:
        kw = {"cert_file": None, "key_file": creds.psk} if psk else {
            "cert_file": creds.cert, "key_file": creds.key}
        self.listener = QuicListener(host, 0, alpns=alpns, **kw)
        self.port = self.listener.address[1]
        self.received: list[bytes] = []
        self.alpn: list[str | None] = []
        self.resumed: list[bool] = []
        self.error: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, args=(connections,), daemon=True)
        self.thread.start()

    def _run(self, connections: int) -> None:
        try:
            for _ in range(connections):
                with self.listener.accept(timeout=WAIT) as conn:
                    self.alpn.append(conn.handshake.alpn)
                    self.resumed.append(conn.handshake.session_resumed)
                    stream = conn.accept_stream(timeout=WAIT)
                    data = stream.read_all(timeout=WAIT)
                    self.received.append(data)
                    stream.write(b"echo: " + data, fin=True)
                    # close() drops unsent data: let the kernel client close first
                    with contextlib.suppress(ConnectionError):
                        conn.accept_stream(timeout=WAIT)
        except BaseException as exc:  # checked by the test
            self.error.append(exc)

    def join(self) -> None:
        self.thread.join(WAIT * 2)
        self.listener.close()
        assert not self.thread.is_alive(), "the userspace server hung"


def kernel_server(consumer: Path, port: int, host: str = "127.0.0.1", auth: str = "x509"
                  ) -> tuple[threading.Thread, list[dict[str, str] | BaseException]]:
    """The kernel consumer serving one connection on host:port (``auth``
    x509, or psk with no key given: key serial 0), in a thread; the list
    gets its outcome."""
    outcome: list[dict[str, str] | BaseException] = []

    def kernel_side() -> None:
        try:
            outcome.append(consumer_run(consumer, f"server {host} {port} {ALPNS} - {auth} 0"))
        except BaseException as exc:  # checked by the caller
            outcome.append(exc)

    thread = threading.Thread(target=kernel_side, daemon=True)
    thread.start()
    return thread, outcome


@pytest.mark.kquic_only("loads tests/kmod/quic_consumer.ko, built against kquic's Module.symvers")
@pytest.mark.parametrize("host", ["127.0.0.1", "::1"], ids=["ipv4", "ipv6"])
def test_kernel_client_x509(consumer: Path, daemon: Path, creds: Credentials, host: str) -> None:
    """kernel_connect() over either family (the reference's in-kernel
    tests found ENETUNREACH for IPv6 once)."""
    server = EchoServer(creds, ["nfs"], host=host)
    out = consumer_run(consumer, f"client {host} {server.port} {ALPNS} localhost x509 0")
    server.join()
    assert not server.error, server.error
    assert out == {"status": "0", "alpn": "nfs",
                   "message": "echo: hello from the kernel"}
    assert server.received == [b"hello from the kernel"]
    assert server.alpn == ["nfs"]


@pytest.mark.kquic_only("loads tests/kmod/quic_consumer.ko, built against kquic's Module.symvers")
def test_kernel_client_resumes_a_session(consumer: Path, daemon: Path,
                                         creds: Credentials) -> None:
    """As the reference's in-kernel resumption test: the kernel user asks
    for the session ticket (receive_session_ticket), the daemon waits for
    the server's NewSessionTicket and leaves the session in
    QUIC_SOCKOPT_SESSION_TICKET; handed back on the next connection, the
    daemon resumes it."""
    server = EchoServer(creds, ["nfs"], connections=2)
    cmd = f"client 127.0.0.1 {server.port} {ALPNS} localhost x509 0"
    first = consumer_run(consumer, cmd + " save")
    assert first["status"] == "0" and first["message"] == "echo: hello from the kernel"
    assert int(first["ticket"]) > 64, first
    second = consumer_run(consumer, cmd + " resume")
    assert second["status"] == "0" and second["message"] == "echo: hello from the kernel"
    server.join()
    assert not server.error, server.error
    assert server.resumed == [False, True]
    log = daemon.read_text()
    assert "session stored for the kernel user" in log and "session resumed" in log, log


@pytest.mark.kquic_only("loads tests/kmod/quic_consumer.ko, built against kquic's Module.symvers")
@pytest.mark.parametrize("host", ["127.0.0.1", "::1"], ids=["ipv4", "ipv6"])
def test_kernel_server_x509(consumer: Path, daemon: Path, creds: Credentials, host: str) -> None:
    """kernel_bind()/kernel_listen()/kernel_accept() over either family."""
    port = free_udp_port()
    thread, outcome = kernel_server(consumer, port, host)
    time.sleep(0.5)  # the kernel listener binds; Initials are retransmitted anyway
    with QuicConnection.connect(host, port, alpns=["smbd"], hostname="localhost",
                                cafile=creds.ca, timeout=WAIT) as conn:
        assert conn.handshake.alpn == "smbd"
        stream = conn.open_stream()
        stream.write(b"ping from userspace", fin=True)
        assert stream.read_all(timeout=WAIT) == b"kernel got: ping from userspace"
    thread.join(WAIT * 2)
    assert outcome == [{"status": "0", "alpn": "smbd", "message": "ping from userspace"}]


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_kernel_users_port_is_not_shareable_by_userspace(
        consumer: Path, daemon: Path, creds: Credentials) -> None:
    """While the kernel consumer listens on a port, an unprivileged user
    cannot bind or listen there (any ALPN); the kernel server still serves."""
    port = free_udp_port()

    def unprivileged_listen() -> int:
        s = qt.quic_socket(socket.AF_INET)
        s.setsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_ALPN, b"h3")
        s.bind(("127.0.0.1", port))
        s.listen(1)
        s.close()
        return 0

    thread, outcome = kernel_server(consumer, port)
    qt.wait_for(lambda: f"127.0.0.1:{port} " in Path("/proc/net/quic/eps").read_text(),
                10, "the kernel listener")
    result = qt.run_as(65534, unprivileged_listen)
    assert isinstance(result, OSError) and result.errno == errno.EADDRINUSE, result
    with QuicConnection.connect("127.0.0.1", port, alpns=["smbd"], hostname="localhost",
                                cafile=creds.ca, timeout=WAIT) as conn:
        stream = conn.open_stream()
        stream.write(b"still mine", fin=True)
        assert stream.read_all(timeout=WAIT) == b"kernel got: still mine"
    thread.join(WAIT * 2)
    assert outcome == [{"status": "0", "alpn": "smbd", "message": "still mine"}]


@pytest.mark.kquic_only("loads tests/kmod/quic_consumer.ko, built against kquic's Module.symvers")
def test_kernel_client_rejects_wrong_host(consumer: Path, daemon: Path,
                                          creds: Credentials) -> None:
    server = EchoServer(creds, ["nfs"])
    with pytest.raises(OSError) as exc:
        consumer_run(consumer, f"client 127.0.0.1 {server.port} {ALPNS} wrong.example x509 0")
    assert exc.value.errno == errno.EACCES, daemon.read_text()
    server.join()
    assert server.error and not server.received
    assert "handshake failed (EACCES)" in daemon.read_text()


@pytest.mark.kquic_only("loads tests/kmod/quic_consumer.ko, built against kquic's Module.symvers")
def test_kernel_client_psk(consumer: Path, daemon: Path, creds: Credentials,
                           psk_key: int) -> None:
    server = EchoServer(creds, ["smbd"], psk=True)
    out = consumer_run(consumer, f"client 127.0.0.1 {server.port} {ALPNS} - psk {psk_key}")
    server.join()
    assert not server.error, server.error
    assert out["status"] == "0" and out["alpn"] == "smbd"
    assert out["message"] == "echo: hello from the kernel"


@pytest.mark.kquic_only("loads tests/kmod/quic_consumer.ko, built against kquic's Module.symvers")
def test_kernel_client_psk_unknown_key(consumer: Path, daemon: Path,
                                       creds: Credentials) -> None:
    with pytest.raises(OSError) as exc:
        consumer_run(consumer, f"client 127.0.0.1 {free_udp_port()} {ALPNS} - psk 12345")
    assert exc.value.errno in (errno.ENOKEY, errno.EACCES)
