"""Stream opening as the reference's programs use it: plain send()/recv()
with MSG_SYN/MSG_FIN, QUIC_SOCKOPT_STREAM_OPEN, and sendmsg() with
MSG_QUIC_STREAM_NEW.  The sequence follows the stream section of the
reference's functional test (Documentation/networking/quic.rst, "Streams",
says which behaviour is the reference's): a stream is never opened twice,
and -1 with NEW refuses while the latest stream can still send.
"""

from __future__ import annotations

import errno
import hashlib
import socket
import struct
import threading
import time

import pytest

from kquictest.quicpair import Credentials
from kquictest.streampair import connected, recv_msg, recv_stream
from libquic import sockopt
from libquic.cmsg import quic_recvmsg, quic_sendmsg
from libquic.uapi import (
    MSG_QUIC_STREAM_FIN,
    MSG_QUIC_STREAM_NEW,
    MSG_QUIC_STREAM_UNI,
    QuicTransportParam,
)

pytestmark = pytest.mark.timeout(120)

SYN = MSG_QUIC_STREAM_NEW       # the value of MSG_SYN
FIN = MSG_QUIC_STREAM_FIN       # the value of MSG_FIN
UNI = MSG_QUIC_STREAM_UNI


def refused(fn, *args) -> int:
    """Call ``fn``; it must fail, and the errno is returned."""
    with pytest.raises(OSError) as exc:
        fn(*args)
    return exc.value.errno


def echo_of(p, data: bytes) -> tuple[int, bytes]:
    """The server reads one whole message and the stream it came on."""
    m = recv_msg(p.server)
    got = m.data
    while not m.fin:
        m = recv_msg(p.server)
        got += m.data
    assert got == data
    return m.stream_id, got


def test_send_syn_opens_the_next_stream_only_after_fin(creds: Credentials) -> None:
    with connected(creds) as p:
        assert p.client.send(b"quic ", SYN) == 5                  # stream 0
        # the latest stream has not sent its FIN: no second one
        assert refused(p.client.send, b"test1", SYN) == errno.EINVAL
        p.client.send(b"test2", FIN)                             # still 0
        assert echo_of(p, b"quic test2")[0] == 0
        # after the FIN, SYN opens the next one (uni, then bidi)
        p.client.send(b"quic test3", SYN | FIN | UNI)
        assert echo_of(p, b"quic test3")[0] == 2
        p.client.send(b"quic test4", SYN | FIN)
        assert echo_of(p, b"quic test4")[0] == 4


def test_stream_open_sockopt_sets_the_stream_send_writes_on(creds: Credentials) -> None:
    with connected(creds) as p:
        p.client.send(b"x", SYN | FIN)                           # stream 0
        echo_of(p, b"x")
        quic_sendmsg(p.server, b"y", 0, FIN)   # both directions finished
        assert recv_msg(p.client).fin
        p.client.send(b"u", SYN | FIN | UNI)                     # 2
        assert echo_of(p, b"u")[0] == 2
        p.client.send(b"b", SYN | FIN)                           # 4
        assert echo_of(p, b"b")[0] == 4
        # a used and closed stream cannot be opened again
        assert refused(sockopt.stream_open, p.client, 0) == errno.EINVAL
        assert sockopt.stream_open(p.client, 6) == 6
        p.client.send(b"quic test6", FIN)                        # writes on 6
        assert echo_of(p, b"quic test6")[0] == 6
        assert sockopt.stream_open(p.client, -1) == 8
        p.client.send(b"quic test7", FIN)
        assert echo_of(p, b"quic test7")[0] == 8
        assert sockopt.stream_open(p.client, -1, UNI) == 10
        p.client.send(b"quic test8", FIN)
        assert echo_of(p, b"quic test8")[0] == 10


def test_sendmsg_new_never_opens_a_stream_twice(creds: Credentials) -> None:
    with connected(creds) as p:
        quic_sendmsg(p.client, b"a", 0, SYN | FIN)
        echo_of(p, b"a")
        quic_sendmsg(p.server, b"b", 0, FIN)
        assert recv_msg(p.client).fin
        # stream 0 is closed (freed once our FIN was acknowledged): NEW on
        # it fails, ENOSTR as for any send on a closed stream
        assert refused(quic_sendmsg, p.client, b"quic ", 0, SYN) in (errno.EINVAL, errno.ENOSTR)
        assert quic_sendmsg(p.client, b"quic ", 12, SYN) == 5
        # 12 is open and written: NEW on it again fails; without NEW it works
        assert refused(quic_sendmsg, p.client, b"test10", 12, SYN) == errno.EINVAL
        quic_sendmsg(p.client, b"test11", 12, FIN)
        assert echo_of(p, b"quic test11")[0] == 12
        # -1 with NEW opens the next uni stream, then refuses while it is open
        quic_sendmsg(p.client, b"quic ", -1, SYN | UNI)
        assert refused(quic_sendmsg, p.client, b"test12", -1, SYN | UNI) == errno.EINVAL
        quic_sendmsg(p.client, b"test13", -1, FIN)               # the latest: 2
        assert echo_of(p, b"quic test13")[0] == 2
        quic_sendmsg(p.client, b"quic test14", -1, SYN | FIN)
        assert echo_of(p, b"quic test14")[0] == 16


def test_several_open_streams_and_a_closed_one(creds: Credentials) -> None:
    with connected(creds) as p:
        assert sockopt.stream_open(p.client, 18) == 18
        assert sockopt.stream_open(p.client, 20) == 20
        quic_sendmsg(p.client, b"quic test15", 18, FIN)
        assert echo_of(p, b"quic test15")[0] == 18
        quic_sendmsg(p.client, b"quic test16", 20, FIN)
        assert echo_of(p, b"quic test16")[0] == 20
        # after its FIN nothing more may be sent on 20
        assert refused(quic_sendmsg, p.client, b"quic test17", 20, FIN) == errno.EINVAL


def test_new_on_a_peer_stream_not_yet_written(creds: Credentials) -> None:
    """The reference's server answers a client's bidi stream with NEW set
    (its "client reset" case): NEW only refuses a stream already written."""
    with connected(creds) as p:
        quic_sendmsg(p.client, b"client reset", 0, SYN | FIN)
        echo_of(p, b"client reset")
        assert quic_sendmsg(p.server, b"back", 0, SYN | FIN) == 4
        m = recv_msg(p.client)
        assert (m.stream_id, m.data, m.fin) == (0, b"back", True)


def test_plain_recv_reads_the_reply_after_fin(creds: Credentials) -> None:
    with connected(creds) as p:
        p.client.send(b"ping", SYN | FIN)
        echo_of(p, b"ping")
        quic_sendmsg(p.server, b"pong", 0, FIN)
        p.client.settimeout(20)
        assert p.client.recv(100) == b"pong"


def test_recvmsg_ignores_the_flags_a_previous_call_returned(creds: Credentials) -> None:
    """The reference's quic_recvmsg() passes the msg_flags and stream flags
    it got back into the next recvmsg(): they must not make it fail."""
    with connected(creds) as p:
        p.client.send(b"one", SYN)
        p.client.send(b"two", FIN)
        p.server.settimeout(20)
        got, flags = b"", 0
        while not flags & FIN:
            m = quic_recvmsg(p.server, 100, flags)
            got += m.data
            flags = m.msg_flags | m.stream_flags
        assert got == b"onetwo"
        assert flags & socket.MSG_EOR
        # MSG_ERRQUEUE is ignored too (there is no error queue): nothing to
        # read (blocking mode, so that the call reaches the kernel rather
        # than Python's poll)
        p.server.settimeout(None)
        assert refused(quic_recvmsg, p.server, 100,
                       socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT) == errno.EAGAIN


def test_new_takes_the_latest_stream_while_it_is_unwritten(creds: Credentials) -> None:
    """STREAM_OPEN makes a stream the latest; an open stream not written yet
    may be opened again; NEW with -1 writes on the latest while it is
    unwritten, and refuses once it has sent data; writing a stream by its ID
    does not make it the latest (as measured on the reference module)."""
    with connected(creds) as p:
        assert sockopt.stream_open(p.client, 12) == 12
        assert sockopt.stream_open(p.client, 12) == 12       # still unwritten
        assert sockopt.stream_open(p.client, 8) == 8         # opened with 12
        assert quic_sendmsg(p.client, b"d", 4, SYN) == 1      # 4: unwritten too
        assert quic_sendmsg(p.client, b"e", -1, SYN) == 1     # the latest: 8
        quic_sendmsg(p.client, b"f", 4, FIN)
        # 4 was written by ID, so the latest is still 8, which has sent data
        # and not its FIN
        assert refused(quic_sendmsg, p.client, b"g", -1, SYN) == errno.EINVAL
        # and a stream that has sent data cannot be opened again
        assert refused(sockopt.stream_open, p.client, 4) == errno.EINVAL
        assert sockopt.stream_open(p.client, -1) == 16
        quic_sendmsg(p.client, b"", 8, FIN)
        assert recv_stream(p.server, 2) == {4: b"df", 8: b"e"}


def test_send_on_a_stream_the_peer_stopped_and_freed(creds: Credentials) -> None:
    """The reference's "client stop_sending" case on a unidirectional
    stream: STOP_SENDING resets it, the RESET_STREAM's acknowledgement frees
    it (it has no receive side), and a send on it is ENOSTR."""
    with connected(creds) as p:
        quic_sendmsg(p.client, b"client stop_sending", 2, SYN | UNI)
        m = recv_msg(p.server)
        assert (m.stream_id, m.data) == (2, b"client stop_sending")
        sockopt.stream_stop_sending(p.server, 2, 1)
        deadline = time.monotonic() + 20
        while True:     # sends work until the STOP_SENDING arrives
            try:
                quic_sendmsg(p.client, b"test35", 2, 0)
            except OSError as exc:
                assert exc.errno == errno.ENOSTR
                break
            assert time.monotonic() < deadline, "STOP_SENDING never arrived"
            time.sleep(0.1)
        # and once the reset is acknowledged the stream is freed: still ENOSTR
        time.sleep(1)
        assert refused(quic_sendmsg, p.client, b"test36", 2, FIN) == errno.ENOSTR


@pytest.mark.parametrize("no_crypt", [False, True], ids=["aead", "no_crypt"])
def test_perf_pattern_large_send_then_reply_after_fin(creds: Credentials,
                                                       no_crypt: bool) -> None:
    """The reference's perf_test: 4 MiB in one sendmsg() on a new stream,
    the FIN alone, then the reply read on the same stream with the flags
    of the last send passed to recvmsg(); also with --no_crypt, which sets
    disable_1rtt_encryption on both sides."""
    def tp(s: socket.socket) -> None:
        sockopt.set_transport_param(s, QuicTransportParam(disable_1rtt_encryption=1))

    setup = tp if no_crypt else None
    with connected(creds, server_setup=setup, client_setup=setup) as p:
        for s in (p.client, p.server):
            s.settimeout(None)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 60, 0))
        data = hashlib.sha256(b"perf").digest() * (4 << 15)     # 4 MiB
        sent: list[int] = []

        def send() -> None:
            sent.append(quic_sendmsg(p.client, data, 0, SYN))
            sent.append(quic_sendmsg(p.client, b"", 0, FIN))

        t = threading.Thread(target=send)
        t.start()
        got, flags = hashlib.sha256(), 0
        total = 0
        while not flags & FIN:
            m = quic_recvmsg(p.server, 65536, flags)
            got.update(m.data)
            total += len(m.data)
            flags = m.msg_flags | m.stream_flags
        t.join(60)
        assert sent == [len(data), 0]
        assert (total, got.digest()) == (len(data), hashlib.sha256(data).digest())
        assert quic_sendmsg(p.server, b"recv done", 0, FIN) == 9
        m = quic_recvmsg(p.client, 65536, FIN)
        assert (m.data, m.stream_id, bool(m.stream_flags & FIN)) == (b"recv done", 0, True)
        if no_crypt:
            assert sockopt.get_transport_param(p.client, remote=True).disable_1rtt_encryption
