"""Kernel users of QUIC through the netlink handshake upcall.

tests/kmod/quic_consumer.ko plays the kernel user (as SMB or NFS would): it
opens a QUIC socket in the kernel and calls tls_client_hello_*() or
tls_server_hello_*(); libquic/tools/handshaked.py, started here, answers the
net/handshake upcall and runs the TLS handshake; the module then exchanges
one message on a stream with a userspace libquic peer.
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kquictest import quic_testdriver as qt
from kquictest.aiopeer import free_udp_port
from kquictest.consumer import ALPNS, EchoServer, consumer_run, kernel_server
from kquictest.handshaked_proc import running_handshaked
from kquictest.quicpair import WAIT, Credentials
from libquic.connection import QuicConnection
from libquic.tools.keyring import add_key, revoke_key, set_perm

pytestmark = pytest.mark.timeout(300)

PSK_IDENTITY = "client1"
PSK_KEY = bytes(range(32))  # the PSK in quicpair's credentials


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
