"""The handshake daemon's pure logic: configuration, netlink messages, errors."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from libquic.tls.errors import AlertDescription, TLSError
from libquic.tools.handshake_nl import (
    AUTH_PSK,
    AUTH_X509,
    CMD_ACCEPT,
    MSG_TYPE_CLIENTHELLO,
    MSG_TYPE_SERVERHELLO,
    AcceptMsg,
    HandshakeRequest,
    parse_accept,
)
from libquic.tools.handshaked import Daemon, DaemonConfig, load_config, main, status_of
from libquic.tools.service import JournalFormatter, notify, under_journal


def _accept_reply(attrs: list) -> AcceptMsg:
    """Encode an ACCEPT reply as the kernel would and decode it again."""
    msg = AcceptMsg()
    msg["cmd"] = CMD_ACCEPT
    msg["version"] = 1
    msg["attrs"] = attrs
    msg.encode()
    back = AcceptMsg(msg.data)
    back.decode()
    return back


def test_parse_accept_client_x509() -> None:
    req = parse_accept(_accept_reply([
        ("HANDSHAKE_A_ACCEPT_SOCKFD", 7),
        ("HANDSHAKE_A_ACCEPT_MESSAGE_TYPE", MSG_TYPE_CLIENTHELLO),
        ("HANDSHAKE_A_ACCEPT_TIMEOUT", 15000),
        ("HANDSHAKE_A_ACCEPT_AUTH_MODE", AUTH_X509),
        ("HANDSHAKE_A_ACCEPT_CERTIFICATE", {"attrs": [("HANDSHAKE_A_X509_CERT", 11),
                                                      ("HANDSHAKE_A_X509_PRIVKEY", 12)]}),
        ("HANDSHAKE_A_ACCEPT_PEERNAME", "server.example"),
    ]))
    assert (req.sockfd, req.is_client, req.timeout_ms) == (7, True, 15000)
    assert (req.auth_mode, req.cert, req.privkey) == (AUTH_X509, 11, 12)
    assert req.peername == "server.example"
    assert req.peer_identities == []


def test_parse_accept_server_psk_identities() -> None:
    req = parse_accept(_accept_reply([
        ("HANDSHAKE_A_ACCEPT_SOCKFD", 3),
        ("HANDSHAKE_A_ACCEPT_MESSAGE_TYPE", MSG_TYPE_SERVERHELLO),
        ("HANDSHAKE_A_ACCEPT_AUTH_MODE", AUTH_PSK),
        ("HANDSHAKE_A_ACCEPT_PEER_IDENTITY", 101),
        ("HANDSHAKE_A_ACCEPT_PEER_IDENTITY", 102),
    ]))
    assert not req.is_client
    assert req.peer_identities == [101, 102]
    assert req.peername is None and req.timeout_ms == 0


def test_parse_accept_needs_socket_and_type() -> None:
    with pytest.raises(ValueError):
        parse_accept(_accept_reply([("HANDSHAKE_A_ACCEPT_MESSAGE_TYPE", 1)]))
    with pytest.raises(ValueError):
        parse_accept(_accept_reply([("HANDSHAKE_A_ACCEPT_SOCKFD", 3),
                                    ("HANDSHAKE_A_ACCEPT_MESSAGE_TYPE", 9)]))


def test_config(tmp_path: Path) -> None:
    for name in ("ca", "cert", "key"):
        (tmp_path / name).write_text(name)
    conf = tmp_path / "tlshd.conf"
    conf.write_text(f"""[debug]
loglevel = 2
[authenticate.client]
x509.truststore = {tmp_path / "ca"}  ; trailing comment
[authenticate.server]
x509.certificate = {tmp_path / "cert"}
x509.private_key = {tmp_path / "key"}
""")
    cfg = load_config(str(conf))
    assert cfg.client.truststore == str(tmp_path / "ca")
    assert cfg.client.certificate is None
    assert cfg.server.certificate == str(tmp_path / "cert")
    assert cfg.server.private_key == str(tmp_path / "key")


def test_config_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_config(str(tmp_path / "missing.conf"))
    conf = tmp_path / "tlshd.conf"
    conf.write_text("[authenticate.server]\nx509.certificate = /nonexistent/cert\n")
    with pytest.raises(FileNotFoundError, match=r"x509\.certificate"):
        load_config(str(conf))
    (tmp_path / "cert").write_text("x")
    conf.write_text(f"[authenticate.server]\nx509.certificate = {tmp_path / 'cert'}\n")
    with pytest.raises(ValueError, match="go together"):
        load_config(str(conf))


def test_status_codes() -> None:
    assert status_of(TimeoutError()) == errno.ETIMEDOUT
    assert status_of(TLSError(AlertDescription.bad_certificate, "x")) == errno.EACCES
    assert status_of(OSError(errno.ENOKEY, "no key")) == errno.ENOKEY
    assert status_of(RuntimeError("?")) == errno.EIO


# the daemon as a service ------------------------------------------------------

class FakeNetlink:
    """Stands in for HandshakeNetlink: records DONE."""

    def __init__(self, done: list[tuple[int, int]]) -> None:
        self._done = done

    def __enter__(self) -> FakeNetlink:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def done(self, sockfd: int, status: int) -> None:
        self._done.append((sockfd, status))


def _fd_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_pool_is_bounded_and_refusals_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    done: list[tuple[int, int]] = []
    release = threading.Event()
    started = threading.Semaphore(0)

    def handler(req: HandshakeRequest, cfg: DaemonConfig, report: Any) -> None:
        started.release()
        release.wait(10)
        report(req.sockfd, 0)
        os.close(req.sockfd)

    daemon = Daemon(load_config(None), workers=2, queue=1,
                    netlink=lambda: FakeNetlink(done), handler=handler)  # type: ignore[arg-type]
    reqs = [HandshakeRequest(sockfd=os.open(os.devnull, os.O_RDONLY),
                             message_type=MSG_TYPE_CLIENTHELLO, auth_mode=AUTH_X509,
                             peername=f"peer{i}") for i in range(5)]
    with caplog.at_level(logging.WARNING):
        taken = [daemon.submit(r) for r in reqs]
    assert taken == [True, True, True, False, False]
    assert started.acquire(timeout=5) and started.acquire(timeout=5)
    assert not started.acquire(timeout=0.3), "a third handshake ran beside two workers"
    assert daemon.busy == 3
    # refused at once: EBUSY to the kernel, descriptor closed, one line each
    assert done == [(reqs[3].sockfd, errno.EBUSY), (reqs[4].sockfd, errno.EBUSY)]
    assert not _fd_open(reqs[3].sockfd) and not _fd_open(reqs[4].sockfd)
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 2 and "peer3" in refused[0] and "EBUSY" in refused[0]
    release.set()
    deadline = time.monotonic() + 10
    while daemon.busy and time.monotonic() < deadline:
        time.sleep(0.01)
    assert daemon.busy == 0
    assert sorted(done[2:]) == sorted((r.sockfd, 0) for r in reqs[:3])
    assert daemon.submit(HandshakeRequest(sockfd=os.open(os.devnull, os.O_RDONLY),
                                          message_type=MSG_TYPE_CLIENTHELLO,
                                          auth_mode=AUTH_X509))
    daemon.stop()
    daemon._pool.shutdown(wait=True)


def test_daemon_rejects_bad_pool_sizes() -> None:
    with pytest.raises(ValueError):
        Daemon(load_config(None), workers=0)
    with pytest.raises(ValueError):
        Daemon(load_config(None), queue=-1)
    for args in (["-c", "/nonexistent/tlshd.conf"], ["--workers", "0"]):
        out = subprocess.run([sys.executable, "-m", "libquic.tools.handshaked", *args,
                              "--log", "stderr"], capture_output=True, text=True, timeout=60)
        lines = out.stderr.strip().splitlines()
        assert out.returncode == 1 and lines, out
        assert lines[-1].startswith("quic-handshaked: ") and "Traceback" not in out.stderr


def test_reload_keeps_the_old_configuration_on_errors(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    conf = tmp_path / "tlshd.conf"
    conf.write_text("")
    daemon = Daemon(load_config(str(conf)), config_path=str(conf))
    assert daemon.cfg.client.truststore is None
    conf.write_text(f"[authenticate.client]\nx509.truststore = {ca}\n")
    assert daemon.reload()
    assert daemon.cfg.client.truststore == str(ca)
    conf.write_text("[authenticate.client]\nx509.truststore = /nonexistent.pem\n")
    with caplog.at_level(logging.ERROR):
        assert not daemon.reload()
    assert daemon.cfg.client.truststore == str(ca)
    assert any("keeping the previous configuration" in r.getMessage() for r in caplog.records)
    daemon._pool.shutdown()


def test_journal_priorities_and_readiness(tmp_path: Path) -> None:
    fmt = JournalFormatter("%(message)s")

    def line(level: int, msg: str) -> str:
        return fmt.format(logging.LogRecord("x", level, __file__, 1, msg, None, None))

    assert line(logging.ERROR, "bad") == "<3>bad"
    assert line(logging.WARNING, "refused\nsecond") == "<4>refused\n<4>second"
    assert line(logging.INFO, "ok") == "<6>ok"
    assert under_journal({"JOURNAL_STREAM": "8:1234"}) and not under_journal({})

    assert not notify("READY=1", {})
    for name in (str(tmp_path / "notify"), f"@kquic-test-notify-{os.getpid()}"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as srv:
            srv.bind(name.replace("@", "\0", 1))
            srv.settimeout(5)
            assert notify("READY=1", {"NOTIFY_SOCKET": name})
            assert srv.recv(64) == b"READY=1"


def test_systemd_unit_verifies(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: run scripts/setup.sh (apt package systemd)"
    assert main(["--print-unit"]) == 0
    unit = capsys.readouterr().out
    assert "Type=notify" in unit and "ExecReload=/bin/kill -HUP $MAINPID" in unit
    path = tmp_path / "quic-handshaked.service"
    path.write_text(unit.replace(unit.split("ExecStart=")[1].split(" ")[0],
                                 sys.executable + " -m libquic.tools.handshaked", 1))
    out = subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True,
                         timeout=60)
    problems = [ln for ln in (out.stdout + out.stderr).splitlines() if str(path) in ln]
    assert out.returncode == 0 and not problems, out.stdout + out.stderr
