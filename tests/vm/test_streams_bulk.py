"""Bulk transfers over kernel QUIC streams: 100 MB that must arrive intact
(SHA-256), over loopback and over a lossy, reordering veth link (netem in
a second network namespace)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

from kquictest.bulk import MB, transfer
from kquictest.netns import Netem, VethLink, veth_link
from kquictest.quicpair import Credentials
from kquictest.streampair import connected
from libquic import sockopt
from libquic.handshake import quic_client_handshake, quic_server_handshake
from libquic.uapi import QuicConfig, quic_socket


@pytest.mark.timeout(240)
def test_bulk_100mb_loopback(creds: Credentials) -> None:
    with connected(creds) as p:
        transfer(p.client, p.server, 100 * MB, 200)


# ---- lossy link ---------------------------------------------------------------

HERE, THERE = "10.77.0.1", "10.77.0.2"
# 5% loss, 5 ms delay and reordering, on both ends of the link
LOSSY = Netem(delay_ms=5, loss=5, reorder=25, reorder_corr=50)


@contextmanager
def lossy_link() -> Iterator[VethLink]:
    """HERE here, THERE in a namespace, 5% loss, 5 ms, reordering."""
    # jumbo frames: the loss rate is per packet, so bigger packets let a
    # loss-based window carry more per round trip
    with veth_link([f"{HERE}/24"], [f"{THERE}/24"], mtu=9000, netem_here=LOSSY,
                   netem_there=LOSSY, prefix="qv") as link:
        yield link


@pytest.mark.timeout(300)
@pytest.mark.parametrize("algo", [0, 1], ids=["newreno", "cubic"])
def test_bulk_lossy_link(creds: Credentials, algo: int) -> None:
    total = 100 * MB
    with lossy_link() as link:
        lsk = link.ns.run(lambda: quic_socket(socket.AF_INET, socket.SOCK_STREAM))
        cfg = QuicConfig(congestion_control_algo=algo)
        try:
            sockopt.set_alpn(lsk, ["t"])
            sockopt.set_config(lsk, cfg)
            lsk.settimeout(60)
            lsk.bind((THERE, 0))
            lsk.listen(1)
            cli = quic_socket(socket.AF_INET, socket.SOCK_STREAM)
            cli.settimeout(60)
            sockopt.set_alpn(cli, ["t"])
            sockopt.set_config(cli, cfg)
            cli.connect(lsk.getsockname()[:2])

            def serve() -> socket.socket:
                conn, _ = lsk.accept()
                conn.settimeout(60)
                quic_server_handshake(conn, timeout=60, pkey_file=creds.psk, cert_file=None)
                return conn

            with ThreadPoolExecutor(1) as ex:
                fs = ex.submit(serve)
                quic_client_handshake(cli, timeout=60, pkey_file=creds.psk)
                srv = fs.result(timeout=90)
            try:
                assert sockopt.get_config(srv).congestion_control_algo == algo
                transfer(cli, srv, total, 240)
            finally:
                cli.close()
                srv.close()
        finally:
            lsk.close()
