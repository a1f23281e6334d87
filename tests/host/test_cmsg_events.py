"""Host tier: cmsg building/parsing and event decoding, without a kernel."""

from __future__ import annotations

import ctypes
import socket
import struct
from typing import Any

import pytest

from libquic import cmsg, events, sockopt
from libquic.uapi import (
    MSG_EOR,
    MSG_MORE,
    MSG_QUIC_DATAGRAM,
    MSG_QUIC_NOTIFICATION,
    MSG_QUIC_STREAM_FIN,
    MSG_QUIC_STREAM_NEW,
    MSG_QUIC_STREAM_UNI,
    QUIC_HANDSHAKE_INFO,
    QUIC_STREAM_INFO,
    SOL_QUIC,
    QuicConnectionClose,
    QuicCryptoLevel,
    QuicCryptoSecret,
    QuicEventType,
    QuicStreamUpdate,
)


class FakeSock:
    """Records sendmsg calls and replays canned recvmsg results."""

    def __init__(self, recv: Any = None) -> None:
        self.sent: list[tuple[list[bytes], list[tuple[int, int, bytes]], int]] = []
        self.recv = recv

    def sendmsg(self, buffers: list[bytes], anc: list[tuple[int, int, bytes]], flags: int) -> int:
        self.sent.append((buffers, anc, flags))
        return sum(len(b) for b in buffers)

    def recvmsg(self, bufsize: int, ancsize: int, flags: int) -> Any:
        assert ancsize >= socket.CMSG_SPACE(16)
        return self.recv


def test_sendmsg_splits_stream_and_msg_flags() -> None:
    s = FakeSock()
    n = cmsg.quic_sendmsg(s, b"hello", 4,  # type: ignore[arg-type]
                          MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN | MSG_MORE)
    assert n == 5
    [(bufs, anc, flags)] = s.sent
    assert bufs == [b"hello"] and flags == MSG_MORE
    assert anc == [(SOL_QUIC, QUIC_STREAM_INFO,
                    struct.pack("<qI4x", 4, MSG_QUIC_STREAM_NEW | MSG_QUIC_STREAM_FIN))]


def test_sendmsg_datagram_has_no_stream_cmsg() -> None:
    s = FakeSock()
    cmsg.quic_sendmsg(s, b"dgram", flags=MSG_QUIC_DATAGRAM)  # type: ignore[arg-type]
    assert s.sent == [([b"dgram"], [], MSG_QUIC_DATAGRAM)]


def test_handshake_cmsg_payload() -> None:
    assert cmsg.handshake_cmsg(QuicCryptoLevel.HANDSHAKE) == (SOL_QUIC, QUIC_HANDSHAKE_INFO,
                                                               b"\x02")
    with pytest.raises(ValueError):
        cmsg.handshake_cmsg(9)


def test_recvmsg_reads_stream_info() -> None:
    anc = [(socket.SOL_SOCKET, 99, b"ignored"),
           (SOL_QUIC, QUIC_STREAM_INFO, struct.pack("<qI4x", 1, MSG_QUIC_STREAM_FIN))]
    msg = cmsg.quic_recvmsg(FakeSock((b"data", anc, MSG_EOR, None)))  # type: ignore[arg-type]
    assert (msg.data, msg.stream_id, msg.fin, msg.is_event) == (b"data", 1, True, False)
    with pytest.raises(ValueError, match="not a notification"):
        msg.event()


def test_last_cmsg_of_a_type_wins_and_levels_parse() -> None:
    anc = [(SOL_QUIC, QUIC_STREAM_INFO, struct.pack("<qI4x", 1, 0)),
           (SOL_QUIC, QUIC_STREAM_INFO, struct.pack("<qI4x", 3, MSG_QUIC_STREAM_UNI)),
           (SOL_QUIC, QUIC_HANDSHAKE_INFO, b"\x01")]
    got = cmsg.parse_cmsgs(anc)
    assert got.stream is not None and got.stream.stream_id == 3
    assert got.handshake_level == QuicCryptoLevel.INITIAL


@pytest.mark.parametrize("anc", [
    [(SOL_QUIC, QUIC_STREAM_INFO, b"\x00" * 4)],
    [(SOL_QUIC, QUIC_HANDSHAKE_INFO, b"")],
    [(SOL_QUIC, QUIC_HANDSHAKE_INFO, b"\x07")],
])
def test_malformed_cmsgs_raise(anc: list[tuple[int, int, bytes]]) -> None:
    with pytest.raises(ValueError):
        cmsg.parse_cmsgs(anc)


def test_decode_stream_update_event() -> None:
    upd = QuicStreamUpdate(id=8, state=3, errcode=0, finalsz=1234)
    ev = events.decode_event(bytes([QuicEventType.STREAM_UPDATE]) + bytes(upd))
    assert ev.type == QuicEventType.STREAM_UPDATE
    assert isinstance(ev.payload, QuicStreamUpdate)
    assert (ev.payload.id, ev.payload.state, ev.payload.finalsz) == (8, 3, 1234)


def test_decode_close_event_phrase() -> None:
    close = QuicConnectionClose(errcode=0x10a, frame=6)
    ctypes.memmove(close.phrase, b"bye\0", 4)
    msg = cmsg.QuicMessage(bytes([QuicEventType.CONNECTION_CLOSE]) + bytes(close), None, 0,
                           MSG_QUIC_NOTIFICATION | MSG_EOR)
    ev = msg.event()
    assert isinstance(ev.payload, QuicConnectionClose)
    assert (ev.payload.errcode, ev.payload.frame, ev.payload.phrase_text) == (0x10a, 6, "bye")


@pytest.mark.parametrize(("etype", "body", "value"), [
    (QuicEventType.STREAM_MAX_STREAM, struct.pack("<Q", (100 << 2) | 2), (100 << 2) | 2),
    (QuicEventType.KEY_UPDATE, b"\x01", 1),
    (QuicEventType.CONNECTION_MIGRATION, b"\x00", 0),
    (QuicEventType.NEW_TOKEN, b"tok", b"tok"),
    (QuicEventType.NEW_SESSION_TICKET, b"\x04\x00\x00\x01x", b"\x04\x00\x00\x01x"),
])
def test_decode_scalar_events(etype: QuicEventType, body: bytes, value: object) -> None:
    assert events.decode_event(bytes([etype]) + body).payload == value


@pytest.mark.parametrize("data", [
    b"", bytes([QuicEventType.MAX]), bytes([QuicEventType.NONE]),
    bytes([QuicEventType.STREAM_UPDATE]) + b"\x00" * 23,
    bytes([QuicEventType.STREAM_MAX_STREAM]) + b"\x00" * 7,
])
def test_malformed_events_raise(data: bytes) -> None:
    with pytest.raises(ValueError):
        events.decode_event(data)


class OptSock:
    """Captures setsockopt values."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, bytes | None]] = []

    def setsockopt(self, level: int, opt: int, value: Any, length: int | None = None) -> None:
        self.calls.append((level, opt, None if value is None else bytes(value)))


def test_crypto_secret_is_zeroed_after_install() -> None:
    s = OptSock()
    secret = bytearray(range(32))
    sockopt.set_crypto_secret(s, QuicCryptoLevel.HANDSHAKE, True, 51, secret)  # type: ignore[arg-type]
    assert secret == bytearray(32)
    [(level, opt, raw)] = s.calls
    assert (level, opt) == (SOL_QUIC, 13)
    assert raw is not None and len(raw) == ctypes.sizeof(QuicCryptoSecret)
    sent = QuicCryptoSecret.from_buffer_copy(raw)
    assert (sent.send, sent.level, sent.type) == (1, 2, 51)
    assert bytes(sent.secret)[:32] == bytes(range(32))


def test_alpn_and_close_phrase_limits() -> None:
    s = OptSock()
    sockopt.set_alpn(s, ["h3", "smb"])  # type: ignore[arg-type]
    assert s.calls[-1][2] == b"h3,smb"
    with pytest.raises(ValueError):
        sockopt.set_alpn(s, "x" * 129)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        sockopt.set_connection_close(s, 1, "p" * 64)  # type: ignore[arg-type]
