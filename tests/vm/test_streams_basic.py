"""Streams over kernel QUIC sockets: IDs, flags, cmsgs, latest stream."""

from __future__ import annotations

import errno
import socket

import pytest

from kquictest.quicpair import Credentials
from kquictest.streampair import connected, recv_msg, recv_stream
from libquic import sockopt
from libquic.cmsg import quic_recvmsg_into, quic_sendmsg
from libquic.uapi import (
    MSG_QUIC_STREAM_FIN,
    MSG_QUIC_STREAM_NEW,
    MSG_QUIC_STREAM_UNI,
)

pytestmark = pytest.mark.timeout(120)

NEW_FIN = MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN


@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6], ids=["ipv4", "ipv6"])
def test_bidi_echo_with_cmsgs(creds: Credentials, family: int) -> None:
    with connected(creds, family=family) as p:
        assert quic_sendmsg(p.client, b"hello", 0, NEW_FIN) == 5
        m = recv_msg(p.server)
        assert (m.data, m.stream_id, m.fin) == (b"hello", 0, True)
        assert m.msg_flags & socket.MSG_EOR
        assert quic_sendmsg(p.server, b"world", 0, MSG_QUIC_STREAM_FIN) == 5
        m = recv_msg(p.client)
        assert (m.data, m.stream_id, m.fin) == (b"world", 0, True)
        # the stream is finished in both directions: writing again fails,
        # EINVAL after our FIN, ENOSTR once its acknowledgement freed it
        with pytest.raises(OSError) as e:
            quic_sendmsg(p.client, b"x", 0, 0)
        assert e.value.errno in (errno.EINVAL, errno.ENOSTR)


def test_recvmsg_into_fills_the_callers_buffer(creds: Credentials) -> None:
    with connected(creds) as p:
        p.client.settimeout(10)
        p.server.settimeout(10)
        payload = bytes(range(256)) * 64
        quic_sendmsg(p.client, payload, 0, NEW_FIN)
        buf = bytearray(len(payload) + 100)
        got = 0
        while True:
            m = quic_recvmsg_into(p.server, memoryview(buf)[got:])
            assert m.stream_id == 0
            assert isinstance(m.data, memoryview)
            got += len(m.data)
            if m.fin:
                break
        assert bytes(buf[:got]) == payload
        assert m.msg_flags & socket.MSG_EOR


def test_send_recv_on_latest_stream(creds: Credentials) -> None:
    with connected(creds) as p:
        p.client.sendall(b"ping")        # opens stream 0
        assert p.server.recv(100) == b"ping"
        p.server.sendall(b"pong")        # answers on the stream last read
        m = recv_msg(p.client)
        assert (m.data, m.stream_id) == (b"pong", 0)
        p.client.send(b"more")
        m = recv_msg(p.server)
        assert (m.data, m.stream_id, m.fin) == (b"more", 0, False)


def test_stream_ids_and_open(creds: Credentials) -> None:
    with connected(creds) as p:
        assert sockopt.stream_open(p.client) == 0
        assert sockopt.stream_open(p.client) == 4
        assert sockopt.stream_open(p.client, -1, MSG_QUIC_STREAM_UNI) == 2
        assert sockopt.stream_open(p.server) == 1
        assert sockopt.stream_open(p.server, -1, MSG_QUIC_STREAM_UNI) == 3
        assert sockopt.stream_open(p.client, 12) == 12
        # opening a peer's stream ID, or one that has sent data, is refused;
        # an open stream not written yet may be opened again
        assert sockopt.stream_open(p.client, 12) == 12
        quic_sendmsg(p.client, b"", 4, MSG_QUIC_STREAM_FIN)
        assert recv_msg(p.server).stream_id == 4
        for sid in (1, 4):
            with pytest.raises(OSError) as e:
                sockopt.stream_open(p.client, sid)
            assert e.value.errno == errno.EINVAL
        # -1 with NEW opens the next bidi stream, 16, once the latest (12)
        # has sent its FIN
        quic_sendmsg(p.client, b"", 12, MSG_QUIC_STREAM_FIN)
        assert recv_msg(p.server).stream_id == 12
        quic_sendmsg(p.client, b"a", -1, NEW_FIN)
        m = recv_msg(p.server)
        assert (m.stream_id, m.data, m.fin) == (16, b"a", True)
        # the peer opened 0..12 implicitly; it may write on 8
        quic_sendmsg(p.server, b"b", 8, MSG_QUIC_STREAM_FIN)
        m = recv_msg(p.client)
        assert (m.stream_id, m.data, m.fin) == (8, b"b", True)


def test_uni_stream(creds: Credentials) -> None:
    with connected(creds) as p:
        quic_sendmsg(p.client, b"one-way", 2, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_UNI
                     | MSG_QUIC_STREAM_FIN)
        m = recv_msg(p.server)
        assert (m.stream_id, m.data, m.fin) == (2, b"one-way", True)
        with pytest.raises(OSError) as e:
            quic_sendmsg(p.server, b"back", 2, 0)
        assert e.value.errno == errno.EINVAL
        # server-initiated uni stream
        quic_sendmsg(p.server, b"srv", -1, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_UNI
                     | MSG_QUIC_STREAM_FIN)
        m = recv_msg(p.client)
        assert (m.stream_id, m.data, m.fin) == (3, b"srv", True)


def test_fin_alone_and_empty_stream(creds: Credentials) -> None:
    with connected(creds) as p:
        quic_sendmsg(p.client, b"abc", 0, MSG_QUIC_STREAM_NEW)
        m = recv_msg(p.server)
        assert (m.data, m.fin) == (b"abc", False)
        quic_sendmsg(p.client, b"", 0, MSG_QUIC_STREAM_FIN)
        m = recv_msg(p.server)
        assert (m.stream_id, m.data, m.fin) == (0, b"", True)
        quic_sendmsg(p.client, b"", 4, NEW_FIN)
        m = recv_msg(p.server)
        assert (m.stream_id, m.data, m.fin) == (4, b"", True)


def test_multi_stream_interleaving(creds: Credentials) -> None:
    with connected(creds) as p:
        chunks = {sid: bytes([sid]) * 3000 for sid in (0, 4, 8, 12)}
        for _ in range(5):
            for sid, data in chunks.items():
                quic_sendmsg(p.client, data, sid, 0)
        for sid in chunks:
            quic_sendmsg(p.client, b"", sid, MSG_QUIC_STREAM_FIN)
        got = recv_stream(p.server, 4)
        assert got == {sid: data * 5 for sid, data in chunks.items()}
        for sid in chunks:
            quic_sendmsg(p.server, chunks[sid][:10], sid, MSG_QUIC_STREAM_FIN)
        got = recv_stream(p.client, 4)
        assert got == {sid: data[:10] for sid, data in chunks.items()}


def test_recv_small_buffer_keeps_message_boundary(creds: Credentials) -> None:
    with connected(creds) as p:
        quic_sendmsg(p.client, b"0123456789", 0, NEW_FIN)
        m = recv_msg(p.server, bufsize=4)
        assert (m.data, m.fin) == (b"0123", False)
        assert not m.msg_flags & socket.MSG_EOR
        m = recv_msg(p.server, bufsize=4)
        assert (m.data, m.fin) == (b"4567", False)
        m = recv_msg(p.server, bufsize=100)
        assert (m.data, m.fin) == (b"89", True)
        assert m.msg_flags & socket.MSG_EOR
