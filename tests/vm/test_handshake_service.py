"""The handshake daemon run as systemd runs it: readiness and reload through
$NOTIFY_SOCKET, journal priorities on stderr, SIGHUP reloading the
configuration (and keeping it when the new one is bad), SIGTERM stopping it.

The kernel consumer (tests/kmod/quic_consumer.ko) asks for client handshakes
through the netlink upcall, as in test_handshake_daemon.py; this module's
daemon is the only one running.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kquictest.consumer import ALPNS, EchoServer, consumer_run
from kquictest.quicpair import Credentials

pytestmark = pytest.mark.timeout(400)

ROOT = Path(__file__).resolve().parents[2]


class Service:
    """quic-handshaked started with a service manager's environment."""

    def __init__(self, folder: Path, conf: Path) -> None:
        self.log = folder / "journal"
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(folder / "notify"))
        env = dict(os.environ, NOTIFY_SOCKET=str(folder / "notify"), JOURNAL_STREAM="8:4242")
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "libquic.tools.handshaked", "-v", "-c", str(conf),
                 "--workers", "2", "--queue", "2"],
                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)

    def state(self, timeout: float = 150) -> str:
        """The next sd_notify message (pyroute2's import is slow in the VM)."""
        self.notify.settimeout(timeout)
        try:
            return self.notify.recv(256).decode()
        except TimeoutError:
            raise AssertionError(f"no notification; log:\n{self.log.read_text()}") from None

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.notify.close()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[Service, Path]]:
    conf = tmp_path / "tlshd.conf"
    conf.write_text("")  # no trust store: the system's, which lacks our CA
    svc = Service(tmp_path, conf)
    try:
        yield svc, conf
    finally:
        svc.close()


def kernel_client(proc: Path, creds: Credentials) -> dict[str, str] | OSError:
    server = EchoServer(creds, ["nfs"])
    try:
        return consumer_run(proc, f"client 127.0.0.1 {server.port} {ALPNS} localhost "
                                      "x509 0")
    except OSError as exc:
        return exc
    finally:
        server.join()


@pytest.mark.kquic_only("loads tests/kmod/quic_consumer.ko, built against kquic's Module.symvers")
def test_service_reload_and_journal(consumer: Path, service: tuple[Service, Path],
                                    creds: Credentials) -> None:
    svc, conf = service
    assert svc.state() == "READY=1"
    assert "<6>waiting for handshake requests (2 workers, queue 2)" in svc.lines()

    # our CA is not trusted yet: the handshake fails, with a warning line
    out = kernel_client(consumer, creds)
    assert isinstance(out, OSError) and out.errno == errno.EACCES, out
    assert any(ln.startswith("<4>") and "handshake failed (EACCES)" in ln
               for ln in svc.lines()), svc.lines()

    # SIGHUP reads the new configuration
    conf.write_text(f"[authenticate.client]\nx509.truststore = {creds.ca}\n")
    svc.proc.send_signal(signal.SIGHUP)
    assert svc.state(30) == "RELOADING=1"
    assert svc.state(30) == "READY=1"
    assert f"<6>configuration reloaded from {conf}" in svc.lines()
    out = kernel_client(consumer, creds)
    assert out == {"status": "0", "alpn": "nfs", "message": "echo: hello from the kernel"}

    # a broken configuration is refused and the working one kept
    conf.write_text("[authenticate.client]\nx509.truststore = /nonexistent/ca.pem\n")
    svc.proc.send_signal(signal.SIGHUP)
    assert svc.state(30) == "RELOADING=1"
    assert svc.state(30) == "READY=1"
    assert any(ln.startswith("<3>reload failed, keeping the previous configuration")
               for ln in svc.lines()), svc.lines()
    out = kernel_client(consumer, creds)
    assert isinstance(out, dict) and out["status"] == "0", out

    svc.proc.send_signal(signal.SIGTERM)
    assert svc.state(30) == "STOPPING=1"
    deadline = time.monotonic() + 30
    while svc.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert svc.proc.returncode == 0, svc.lines()
