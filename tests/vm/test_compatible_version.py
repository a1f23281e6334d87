"""Compatible version negotiation between QUIC v1 and v2 (RFC 9368, RFC 9369).

A client lists the versions it speaks in version_information; a listener
set to another version it speaks switches a compatible client to it within
the handshake, without a round trip: the server answers the v1 Initial in
v2 (its Initial keys derived again), the client follows on the first such
Initial, and each side checks the other's Chosen Version.  Both sides then
report the negotiated version in QUIC_SOCKOPT_CONFIG, and each switch is
counted in QuicConnVersionSwitches.  Checked between our own ends and
against ngtcp2, whose client and server negotiate the same way.
"""

from __future__ import annotations

import hashlib
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from kquictest import quic_testdriver as qt
from kquictest.aiopeer import kernel_server
from kquictest.ngtcp2peer import gtlsserver, ngtcp2
from kquictest.quicpair import WAIT, Credentials
from kquictest.streampair import connected, recv_stream, send_stream
from libquic import sockopt
from libquic.connection import QuicConnection
from libquic.h3 import H3_ALPN, H3Connection, H3Message, response
from libquic.handshake import HandshakeResult
from libquic.uapi import (
    MSG_QUIC_STREAM_FIN,
    MSG_QUIC_STREAM_NEW,
    QUIC_VERSION_V1,
    QUIC_VERSION_V2,
    QuicConfig,
)

pytestmark = pytest.mark.timeout(180)

BLOB = hashlib.sha256(b"v2").digest() * (1 << 15)  # 1 MiB


def switches() -> int:
    return qt.snmp().get("QuicConnVersionSwitches", 0)


def set_version(version: int) -> Callable[[socket.socket], None]:
    def setup(s: socket.socket) -> None:
        sockopt.set_config(s, QuicConfig(version=version))
    return setup


def version_of(s: socket.socket) -> int:
    return sockopt.get_config(s).version


@pytest.mark.parametrize("client,listener,want,count", [
    (QUIC_VERSION_V1, 0, QUIC_VERSION_V1, 0),
    (QUIC_VERSION_V1, QUIC_VERSION_V2, QUIC_VERSION_V2, 2),
    (QUIC_VERSION_V2, QUIC_VERSION_V1, QUIC_VERSION_V1, 2),
    (QUIC_VERSION_V2, 0, QUIC_VERSION_V2, 0),
], ids=["v1-stays", "v1-to-v2", "v2-to-v1", "v2-stays"])
def test_listener_switches_a_compatible_client(creds: Credentials, client: int,
                                               listener: int, want: int, count: int) -> None:
    before = switches()
    with connected(creds, client_setup=set_version(client),
                   server_setup=set_version(listener) if listener else None) as p:
        assert (version_of(p.client), version_of(p.server)) == (want, want)
        assert switches() - before == count
        # data flows in the negotiated version (1-RTT keys use its labels)
        send_stream(p.client, BLOB, 0, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN)
        assert recv_stream(p.server) == {0: BLOB}


def test_client_that_does_not_offer_versions_is_not_switched(creds: Credentials) -> None:
    """disable_compatible_version: no version_information, no switch."""
    def client(s: socket.socket) -> None:
        qt.set_tp(s, disable_compatible_version=1)

    before = switches()
    with connected(creds, client_setup=client,
                   server_setup=set_version(QUIC_VERSION_V2)) as p:
        assert (version_of(p.client), version_of(p.server)) == (QUIC_VERSION_V1,
                                                                QUIC_VERSION_V1)
        assert switches() == before


# ---- against ngtcp2 ----------------------------------------------------------

FILES = {"/blob": BLOB}


def test_kernel_client_follows_ngtcp2_server_to_v2(creds: Credentials,
                                                   tmp_path: Path) -> None:
    (tmp_path / "blob").write_bytes(BLOB)
    before = switches()
    with gtlsserver(creds, tmp_path, "--preferred-versions=v2,v1") as port, \
            QuicConnection.connect("127.0.0.1", port, alpns=[H3_ALPN], hostname="localhost",
                                   cafile=creds.ca, timeout=WAIT) as conn:
        assert version_of(conn.sock) == QUIC_VERSION_V2
        resp = H3Connection(conn).get("localhost", "/blob", timeout=60)
        assert resp.status == 200
        assert hashlib.sha256(resp.body).digest() == hashlib.sha256(BLOB).digest()
    assert switches() - before == 1


def test_ngtcp2_client_is_switched_to_v2_by_kernel_server(creds: Credentials,
                                                          tmp_path: Path) -> None:
    seen: list[int] = []

    def serve(sock: socket.socket, res: HandshakeResult) -> int:
        seen.append(version_of(sock))
        conn = QuicConnection(sock, res)

        def handler(req: H3Message) -> H3Message:
            body = FILES.get(req.header(":path") or "")
            return response(200, body) if body is not None else response(404)

        return H3Connection(conn).serve(handler, timeout=WAIT)

    before = switches()
    with kernel_server(creds, H3_ALPN, serve,
                       listen_setup=set_version(QUIC_VERSION_V2)) as server:
        cmd = ngtcp2("gtlsclient", "-q", "--exit-on-all-streams-close", "--sni=localhost",
                     f"--download={tmp_path}", "-v", "v1", "--available-versions=v1,v2",
                     "127.0.0.1", str(server.port), f"https://localhost:{server.port}/blob")
        proc = subprocess.run(cmd, capture_output=True, timeout=90, check=False)
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
        assert server.outcome() == 1
    assert seen == [QUIC_VERSION_V2]
    assert switches() - before == 1
    assert (tmp_path / "blob").read_bytes() == BLOB
