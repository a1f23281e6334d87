"""The closing period (RFC 9000 10.2.1).

close() returns at once, but a connection that sent its CONNECTION_CLOSE
stays in the kernel for three probe timeouts (the socket file is gone):
a late packet from the peer, which may not have got the CONNECTION_CLOSE,
is answered with it again, so the peer learns the application's error code
instead of getting a stateless reset.  Then the connection goes.
"""

from __future__ import annotations

import socket
import time

import pytest

from kquictest import hostile
from kquictest import quic_testdriver as qt
from kquictest.netns import Netem, change_netem, netem
from kquictest.quicpair import WAIT, Credentials, handshake, listener
from kquictest.streampair import recv_msg
from libquic.cmsg import quic_sendmsg
from libquic.uapi import MSG_QUIC_STREAM_FIN, MSG_QUIC_STREAM_NEW

pytestmark = pytest.mark.timeout(120)

DELAY = Netem(delay_ms=50)  # 100 ms round trips: a period of about a second


def test_late_packet_gets_the_close_again(creds: Credentials) -> None:
    with netem(DELAY), listener(socket.AF_INET, ["c"]) as lsk:
        baseline = hostile.quic_socket_count()
        p = handshake(lsk, client_kw={"pkey_file": creds.psk},
                      server_kw={"pkey_file": creds.psk, "cert_file": None},
                      client_alpns=["c"])
        try:
            quic_sendmsg(p.client, b"hello", 0, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN)
            assert recv_msg(p.server).data == b"hello"
            before = qt.snmp()
            # the server closes while everything it sends is lost
            change_netem(Netem(delay_ms=50, loss=100))
            qt.set_close_info(p.server, 42, b"bye")
            start = time.monotonic()
            p.server.close()
            assert time.monotonic() - start < 0.5, "close() does not wait"
            time.sleep(0.3)
            change_netem(DELAY)
            after = qt.snmp()
            assert after["QuicConnCloseLinger"] == before["QuicConnCloseLinger"] + 1
            # the client's next packet reaches the closing connection, which
            # sends its CONNECTION_CLOSE again: the client learns why
            quic_sendmsg(p.client, b"still there?", 4, MSG_QUIC_STREAM_NEW)
            p.client.settimeout(WAIT)
            assert p.client.recv(100) == b"", "the peer's close ends the connection"
            code, _frame, phrase = qt.close_info(p.client)
            assert (code, phrase) == (42, b"bye")
            assert qt.snmp().get("QuicPktResetSent", 0) == after.get("QuicPktResetSent", 0)
        finally:
            p.client.close()
        # and after its period the connection is gone
        qt.wait_for(lambda: hostile.quic_socket_count() <= baseline, 10,
                    "the closed connections to go")


def test_a_connection_closed_by_its_peer_does_not_linger(creds: Credentials) -> None:
    with listener(socket.AF_INET, ["c"]) as lsk:
        before = qt.snmp()["QuicConnCloseLinger"]
        p = handshake(lsk, client_kw={"pkey_file": creds.psk},
                      server_kw={"pkey_file": creds.psk, "cert_file": None},
                      client_alpns=["c"])
        p.client.close()  # the client lingers: it sent the close
        p.server.settimeout(WAIT)
        assert p.server.recv(100) == b""
        p.server.close()  # draining: nothing to answer, released at once
        assert qt.snmp()["QuicConnCloseLinger"] == before + 1
