"""Retry and address validation tokens (RFC 9000 8.1, 17.2.5; RFC 9001 5.8).

A listener with ``validate_peer_address`` in QUIC_SOCKOPT_CONFIG answers a
client's first Initial with a Retry carrying a token (sealed with the
client's address, the time and the DCID it used) and a new connection ID;
the client's next Initial carries the token, and the accepted connection
names both IDs in its transport parameters.  Such a server also hands out
a NEW_TOKEN after the handshake, which spares a returning client the
Retry.  Without the option a listener whose accept queue is more than
half full sends Retry by itself, like SYN cookies.  Our client follows one
Retry, from our server and from aioquic's and ngtcp2's.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from aioquic.asyncio import connect, serve
from aioquic.quic.configuration import QuicConfiguration
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kquictest import quic_testdriver as qt
from kquictest.aiopeer import free_udp_port, kernel_client_handshake, kernel_server
from kquictest.ngtcp2peer import gtlsserver, ngtcp2
from kquictest.quicpair import WAIT, Credentials, Pair, listener, psk_handshake
from libquic import sockopt
from libquic.connection import QuicConnection
from libquic.uapi import QuicConfig

pytestmark = pytest.mark.timeout(180)

ALPN = "retry"
RETRY_KEY_V1 = bytes.fromhex("be0c690b9f66575a1d766b54e368c84e")
RETRY_NONCE_V1 = bytes.fromhex("461599d35d632bf2239825bb")


def validating(lsk: socket.socket) -> None:
    config = QuicConfig()
    config.validate_peer_address = 1
    sockopt.set_config(lsk, config)


def retries() -> tuple[int, int]:
    mib = qt.snmp()
    return mib.get("QuicConnRetrySent", 0), mib.get("QuicConnRetryAuto", 0)


def retry_pair(creds: Credentials, lsk: socket.socket, alpns: list[str] | None = None,
               client_setup: Callable[[socket.socket], None] | None = None) -> Pair:
    return psk_handshake(lsk, creds, client_alpns=[ALPN] if alpns is None else alpns,
                         client_setup=client_setup)


def test_kernel_server_retries_and_kernel_client_follows(creds: Credentials) -> None:
    with listener(socket.AF_INET, [ALPN], setup=validating) as lsk:
        before = retries()
        with retry_pair(creds, lsk) as p:
            # the client checked original_ and retry_source_connection_id
            # against the Retry it took, or the handshake had failed
            assert p.client_result.alpn == p.server_result.alpn == ALPN
        sent, auto = retries()
        assert sent == before[0] + 1
        assert auto == before[1]


def test_retry_packet_format(creds: Credentials) -> None:
    """The Retry itself, read from the wire: type, version, IDs, a token and
    an integrity tag that RFC 9001's key and nonce verify."""
    # no ALPN list: the crafted Initial's handshake message is not read
    with listener(socket.AF_INET, None, setup=validating) as lsk, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.bind(("127.0.0.1", 0))
        u.settimeout(WAIT)
        dcid, scid = os.urandom(8), os.urandom(8)
        hello = qt.msg(b"CH", os.urandom(40))
        pkt = qt.build_initial(dcid, scid, 0, b"\x06\x00" + qt.varint(len(hello)) + hello,
                               qt.initial_keys(dcid, server=False))
        u.sendto(pkt, lsk.getsockname())
        retry = u.recv(2048)
    assert retry[0] & 0xF0 == 0xF0, "a v1 Retry: long header, type 0b11"
    assert struct.unpack(">I", retry[1:5])[0] == 1
    i = 5
    assert retry[i : i + 1 + retry[i]] == bytes([len(scid)]) + scid, "DCID: our SCID"
    i += 1 + retry[i]
    new_scid = retry[i + 1 : i + 1 + retry[i]]
    assert len(new_scid) == 8 and new_scid != dcid
    i += 1 + retry[i]
    token, tag = retry[i:-16], retry[-16:]
    assert len(token) > 0
    pseudo = bytes([len(dcid)]) + dcid + retry[:-16]
    assert AESGCM(RETRY_KEY_V1).encrypt(RETRY_NONCE_V1, b"", pseudo) == tag
    assert len(retry) < len(pkt), "smaller than the Initial it answers"


def test_new_token_spares_the_next_retry(creds: Credentials) -> None:
    """A validating server sends NEW_TOKEN after the handshake; a client
    that presents it next time (as libquic does from its session data) gets
    no Retry, and its address counts as validated."""
    with listener(socket.AF_INET, [ALPN], setup=validating) as lsk:
        before = retries()[0]
        with retry_pair(creds, lsk) as first:
            qt.wait_for(lambda: sockopt.get_token(first.client) != b"", WAIT,
                        "the NEW_TOKEN of a validating server")
            token = sockopt.get_token(first.client)
        assert retries()[0] == before + 1
        with retry_pair(creds, lsk,
                        client_setup=lambda s: sockopt.set_token(s, token)) as second:
            assert second.server_result.alpn == ALPN
        assert retries()[0] == before + 1, "the token spared the second Retry"
        # someone else's token (altered) is no proof: Retry again
        bad = bytes([token[0] ^ 1]) + token[1:]
        with retry_pair(creds, lsk, client_setup=lambda s: sockopt.set_token(s, bad)):
            pass
        assert retries()[0] == before + 2


def test_retry_turns_on_when_the_accept_queue_fills(creds: Credentials) -> None:
    """No validate_peer_address: Initials that fill more than half the accept
    queue are answered with Retry (QuicConnRetryAuto); once the queue is
    drained, clients are served directly again."""
    with listener(socket.AF_INET, None) as lsk, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        lsk.listen(8)
        u.bind(("127.0.0.1", 0))
        u.settimeout(1)
        before_sent, before_auto = retries()
        for _ in range(12):
            dcid, scid = os.urandom(8), os.urandom(8)
            hello = qt.msg(b"CH", os.urandom(40))
            u.sendto(qt.build_initial(dcid, scid, 0,
                                      b"\x06\x00" + qt.varint(len(hello)) + hello,
                                      qt.initial_keys(dcid, server=False)),
                     lsk.getsockname())
            time.sleep(0.05)
        answers = qt.udp_recv_all(u, quiet=1, total=5)
        sent, auto = retries()
        retry_pkts = [d for d in answers if d[0] & 0xF0 == 0xF0]
        assert auto - before_auto >= 1, "the full queue switched Retry on"
        assert sent - before_sent == len(retry_pkts) >= 1
        # the first half of the queue was served without Retry
        assert qt.snmp().get("QuicConnRequests", 0) > 0
        assert 4 <= qt.accept_all(lsk) <= 5
        lsk.settimeout(WAIT)
        with retry_pair(creds, lsk, alpns=[]):
            pass
        assert retries()[0] == sent, "no Retry once the queue has room"


def test_kernel_client_follows_aioquic_retry(creds: Credentials) -> None:
    async def run() -> str | None:
        config = QuicConfiguration(is_client=False, alpn_protocols=[ALPN])
        config.load_cert_chain(creds.cert, creds.key)
        port = free_udp_port("127.0.0.1")
        server = await serve("127.0.0.1", port, configuration=config, retry=True)
        try:
            return (await kernel_client_handshake(creds, port, ALPN)).alpn
        finally:
            server.close()

    assert asyncio.run(run()) == ALPN


def test_aioquic_client_through_kernel_retry(creds: Credentials) -> None:
    with kernel_server(creds, ALPN, lambda conn, res: res,
                       listen_setup=validating) as server:
        before = retries()[0]

        async def run() -> str | None:
            config = QuicConfiguration(is_client=True, alpn_protocols=[ALPN],
                                       server_name="localhost", cafile=creds.ca)
            async with connect("127.0.0.1", server.port, configuration=config,
                               wait_connected=True) as proto:
                await asyncio.wait_for(proto.ping(), WAIT)
                return proto._quic.tls.alpn_negotiated

        assert asyncio.run(asyncio.wait_for(run(), WAIT * 2)) == ALPN
        assert server.outcome().alpn == ALPN
    assert retries()[0] == before + 1


def test_kernel_client_follows_ngtcp2_retry(creds: Credentials, tmp_path: Path) -> None:
    htdocs = tmp_path / "htdocs"
    htdocs.mkdir()
    (htdocs / "x").write_bytes(b"x")
    with gtlsserver(creds, htdocs, "--validate-addr") as port, QuicConnection.connect(
            "127.0.0.1", port, alpns=["h3"], hostname="localhost",
            cafile=creds.ca, timeout=WAIT) as conn:
        assert conn.handshake.alpn == "h3"


def test_ngtcp2_client_through_kernel_retry(creds: Credentials) -> None:
    with kernel_server(creds, "h3", lambda conn, res: res,
                       listen_setup=validating) as server:
        before = retries()[0]
        cmd = ngtcp2("gtlsclient", "-q", "--sni=localhost", "127.0.0.1", str(server.port))
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            res = server.outcome()
        finally:
            proc.terminate()
            proc.communicate(timeout=10)
        assert res.alpn == "h3"
    assert retries()[0] == before + 1
