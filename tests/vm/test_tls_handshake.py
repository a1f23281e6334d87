"""Real TLS 1.3 handshakes over kernel QUIC sockets (libquic + quic.ko)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from kquictest.quicpair import (
    WAIT,
    Credentials,
    HandshakeFailed,
    handshake,
    listener,
    psk_handshake,
)
from kquictest.tls_fixtures import untrusted_ca
from libquic import sockopt
from libquic.handshake import quic_client_handshake_async, quic_server_handshake_async
from libquic.tls import AlertDescription, TLSError
from libquic.uapi import QuicTransportError, QuicTransportParam, quic_socket

pytestmark = pytest.mark.timeout(180)


def x509_kw(creds: Credentials) -> tuple[dict[str, object], dict[str, object]]:
    client = {"hostname": "localhost", "cafile": creds.ca}
    server = {"pkey_file": creds.key, "cert_file": creds.cert}
    return client, server


@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6], ids=["ipv4", "ipv6"])
def test_certificate_handshake(creds: Credentials, family: int) -> None:
    # A distinctive idle timeout on the listener proves the transport
    # parameters crossed: the accepted socket inherits it and the client
    # reads it back as the peer's value.
    def tune(lsk: socket.socket) -> None:
        sockopt.set_transport_param(lsk, QuicTransportParam(max_idle_timeout=45_000_000))

    with listener(family, ["h3"], tune) as lsk:
        ckw, skw = x509_kw(creds)
        pair = handshake(lsk, client_kw=ckw, server_kw=skw, client_alpns=["h3"])
    try:
        assert pair.client_result.alpn == pair.server_result.alpn == "h3"
        assert not pair.client_result.session_resumed
        assert pair.client_result.peer_certificates[0].subject.rfc4514_string() == "CN=leaf"
        peer = sockopt.get_transport_param(pair.client, remote=True)
        assert peer.max_idle_timeout == 45_000_000
        assert sockopt.get_alpn(pair.server) == ["h3"]
    finally:
        pair.close()


def test_psk_handshake(creds: Credentials) -> None:
    with listener(socket.AF_INET, ["smb"]) as lsk:
        pair = psk_handshake(lsk, creds, client_alpns=["smb"])
    try:
        assert pair.client_result.alpn == "smb"
        assert pair.client_result.peer_certificates == []
    finally:
        pair.close()


def test_alpn_selected_by_client_preference(creds: Credentials) -> None:
    with listener(socket.AF_INET, ["smb", "h3", "ksmbd"]) as lsk:
        ckw, skw = x509_kw(creds)
        pair = handshake(lsk, client_kw=ckw, server_kw=skw, client_alpns=["h3", "smb"])
    try:
        assert pair.client_result.alpn == pair.server_result.alpn == "h3"
    finally:
        pair.close()


def test_alpn_mismatch_fails_with_crypto_error(creds: Credentials) -> None:
    # No ALPN on the listener, so kernel routing lets the ClientHello through
    # and TLS must refuse it: the server is told to accept only "smb".
    with listener(socket.AF_INET) as lsk:
        ckw, skw = x509_kw(creds)
        with pytest.raises(HandshakeFailed) as info:
            handshake(lsk, client_kw=ckw, server_kw={**skw, "alpns": ["smb"]},
                      client_alpns=["h3"])
    server, client = info.value.server, info.value.client
    assert isinstance(server, TLSError)
    assert server.alert == AlertDescription.no_application_protocol
    assert server.quic_error_code == QuicTransportError.CRYPTO + 120
    _assert_saw_close(client)


def _assert_saw_close(outcome: object) -> None:
    """The side that did not fail learns of the failure from the peer's
    CONNECTION_CLOSE, not from its own timeout."""
    assert isinstance(outcome, (ConnectionError, OSError)), repr(outcome)
    assert not isinstance(outcome, TimeoutError), "waited instead of seeing the close"


def test_untrusted_server_certificate_is_refused(creds: Credentials,
                                                 tmp_path: Path) -> None:
    other = tmp_path / "other-ca.pem"
    other.write_bytes(untrusted_ca().pem)
    with listener(socket.AF_INET, ["h3"]) as lsk:
        _, skw = x509_kw(creds)
        with pytest.raises(HandshakeFailed) as info:
            handshake(lsk, client_kw={"hostname": "localhost", "cafile": str(other)},
                      server_kw=skw, client_alpns=["h3"])
    _assert_saw_close(info.value.server)
    client = info.value.client
    assert isinstance(client, TLSError)
    assert client.alert in (AlertDescription.unknown_ca, AlertDescription.bad_certificate)


def test_wrong_hostname_is_refused(creds: Credentials) -> None:
    with listener(socket.AF_INET, ["h3"]) as lsk:
        _, skw = x509_kw(creds)
        with pytest.raises(HandshakeFailed) as info:
            handshake(lsk, client_kw={"hostname": "not-this-host.example", "cafile": creds.ca},
                      server_kw=skw, client_alpns=["h3"])
    _assert_saw_close(info.value.server)
    client = info.value.client
    assert isinstance(client, TLSError)
    assert client.alert == AlertDescription.bad_certificate


def test_resumption_with_kernel_session_ticket(creds: Credentials) -> None:
    with listener(socket.AF_INET, ["h3"]) as lsk:
        ckw, skw = x509_kw(creds)
        first = handshake(lsk, client_kw=ckw, server_kw=skw, client_alpns=["h3"])
        try:
            # The accepted socket hands the server its 64-byte ticket key.
            assert len(sockopt.get_session_ticket(first.server)) == 64
            # The server's NewSessionTicket travels as APP-level CRYPTO data;
            # the kernel collects it for getsockopt(SESSION_TICKET).
            session = first.client_result.get_session_data(timeout=10)
            assert session, "no NewSessionTicket reached the client socket"
        finally:
            first.close()
        second = handshake(lsk, client_kw={**ckw, "session_data": session}, server_kw=skw,
                           client_alpns=["h3"])
    try:
        assert second.client_result.session_resumed and second.server_result.session_resumed
        assert second.client_result.alpn == "h3"
    finally:
        second.close()


def test_asyncio_handshake(creds: Credentials) -> None:
    async def run() -> tuple[str | None, str | None]:
        loop = asyncio.get_running_loop()
        with listener(socket.AF_INET, ["h3"]) as lsk:
            lsk.setblocking(False)
            cli = quic_socket(socket.AF_INET)
            cli.setblocking(False)
            sockopt.set_alpn(cli, ["h3"])
            cli.connect(lsk.getsockname())
            client = asyncio.ensure_future(quic_client_handshake_async(
                cli, hostname="localhost", cafile=creds.ca, timeout=WAIT))
            conn, _ = await asyncio.wait_for(loop.sock_accept(lsk), WAIT)
            server = quic_server_handshake_async(conn, creds.key, creds.cert, timeout=WAIT)
            try:
                sres, cres = await asyncio.wait_for(asyncio.gather(server, client), WAIT * 2)
            finally:
                conn.close()
                cli.close()
            return cres.alpn, sres.alpn

    assert asyncio.run(run()) == ("h3", "h3")
