"""The handshake daemon's pure logic: configuration, netlink messages, errors."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from libquic.tls.errors import AlertDescription, TLSError
from libquic.tools.handshake_nl import (
    AUTH_PSK,
    AUTH_X509,
    CMD_ACCEPT,
    MSG_TYPE_CLIENTHELLO,
    MSG_TYPE_SERVERHELLO,
    AcceptMsg,
    parse_accept,
)
from libquic.tools.handshaked import load_config, status_of


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
