"""HTTP/3 framing and QPACK (libquic.h3) without a connection."""

from __future__ import annotations

import pytest

from libquic.h3 import (
    FRAME_DATA,
    FRAME_HEADERS,
    FRAME_SETTINGS,
    H3_FRAME_ERROR,
    H3_FRAME_UNEXPECTED,
    H3_MESSAGE_ERROR,
    H3Error,
    H3StreamingResponse,
    QpackCodec,
    encode_frame,
    encode_message,
    parse_frames,
    parse_message,
    response,
)
from libquic.varint import decode_varint, encode_varint


@pytest.mark.parametrize("value,size", [(0, 1), (63, 1), (64, 2), (16383, 2), (16384, 4),
                                        (2**30 - 1, 4), (2**30, 8), (2**62 - 1, 8)])
def test_varint_round_trip(value: int, size: int) -> None:
    enc = encode_varint(value)
    assert len(enc) == size
    assert decode_varint(b"\xff" + enc, 1) == (value, 1 + size)


def test_varint_limits() -> None:
    with pytest.raises(ValueError):
        encode_varint(2**62)
    with pytest.raises(IndexError):
        decode_varint(encode_varint(2**40)[:5])
    # RFC 9000 A.1 example
    assert decode_varint(bytes.fromhex("c2197c5eff14e88c")) == (151288809941952652, 8)


def test_frames_split() -> None:
    data = encode_frame(FRAME_HEADERS, b"h") + encode_frame(0x21, b"") + encode_frame(
        FRAME_DATA, b"x" * 70000)
    assert parse_frames(data) == [(FRAME_HEADERS, b"h"), (0x21, b""), (FRAME_DATA, b"x" * 70000)]


@pytest.mark.parametrize("cut", [1, 2, 5])
def test_truncated_frame_is_a_frame_error(cut: int) -> None:
    data = encode_frame(FRAME_DATA, b"x" * 300)
    with pytest.raises(H3Error) as exc:
        parse_frames(data[:cut])
    assert exc.value.code == H3_FRAME_ERROR


def test_request_and_response_round_trip() -> None:
    client, server = QpackCodec(), QpackCodec()
    req = [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"example.net"),
           (b":path", b"/a/b?c=d"), (b"x-custom", b"v" * 200)]
    got = parse_message(server, 0, encode_message(client, 0, req, b""))
    assert got.headers == req
    assert got.header(":path") == "/a/b?c=d"
    assert got.body == b""

    body = bytes(range(256)) * 100
    resp = response(200, body, [("Content-Type", "application/octet-stream")])
    back = parse_message(client, 0, encode_message(server, 0, resp.headers, resp.body))
    assert back.status == 200
    assert back.body == body
    assert back.header("content-type") == "application/octet-stream"
    assert back.header("content-length") == str(len(body))


def test_body_in_several_data_frames_and_unknown_frames() -> None:
    codec = QpackCodec()
    block = QpackCodec().encode(4, [(b":status", b"404")])
    data = (encode_frame(FRAME_HEADERS, block) + encode_frame(FRAME_DATA, b"ab")
            + encode_frame(0x40 + 0x21, b"ignored") + encode_frame(FRAME_DATA, b"cd"))
    msg = parse_message(codec, 4, data)
    assert msg.status == 404
    assert msg.body == b"abcd"


@pytest.mark.parametrize("frames,code", [
    ([(FRAME_DATA, b"x")], H3_FRAME_UNEXPECTED),
    ([(FRAME_SETTINGS, b"")], H3_FRAME_UNEXPECTED),
    ([], H3_MESSAGE_ERROR),
])
def test_malformed_messages(frames: list[tuple[int, bytes]], code: int) -> None:
    data = b"".join(encode_frame(t, p) for t, p in frames)
    with pytest.raises(H3Error) as exc:
        parse_message(QpackCodec(), 0, data)
    assert exc.value.code == code


def test_garbage_field_section_is_a_message_error() -> None:
    data = encode_frame(FRAME_HEADERS, b"\xff\xff\xff\xff")
    with pytest.raises(H3Error) as exc:
        parse_message(QpackCodec(), 0, data)
    assert exc.value.code == H3_MESSAGE_ERROR


def test_missing_status() -> None:
    msg = parse_message(QpackCodec(), 0, encode_message(QpackCodec(), 0, [(b"a", b"b")], b""))
    with pytest.raises(H3Error):
        _ = msg.status


class PieceStream:
    """Stands in for a QuicStream: hands out ``data`` a few bytes at a time."""

    id = 0

    def __init__(self, data: bytes, piece: int) -> None:
        self.data = data
        self.piece = piece

    def read(self, size: int = -1, timeout: float | None = None) -> bytes:
        out, self.data = self.data[: self.piece], self.data[self.piece :]
        return out


def streamed(data: bytes, piece: int = 7) -> H3StreamingResponse:
    return H3StreamingResponse(QpackCodec(), PieceStream(data, piece), None)  # type: ignore[arg-type]


@pytest.mark.parametrize("piece", [1, 3, 1000, 1 << 20])
def test_streaming_response_reads_the_body_as_it_arrives(piece: int) -> None:
    codec = QpackCodec()
    body = bytes(range(256)) * 300
    head = [(b":status", b"200"), (b"content-length", str(len(body)).encode())]
    data = (encode_frame(FRAME_HEADERS, codec.encode(0, head)) + encode_frame(0x21, b"grease")
            + encode_frame(FRAME_DATA, body[:1000]) + encode_frame(FRAME_DATA, body[1000:]))
    resp = streamed(data, piece)
    assert resp.status == 200 and resp.content_length == len(body)
    chunks = list(resp.iter_body())
    assert b"".join(chunks) == body
    if piece < 1000:
        assert len(chunks) > 1, "the body came in one piece: not streamed"


@pytest.mark.parametrize(("data", "code"), [
    (encode_frame(FRAME_DATA, b"x"), H3_FRAME_UNEXPECTED),
    (b"", H3_MESSAGE_ERROR),
    (encode_frame(FRAME_SETTINGS, b""), H3_FRAME_UNEXPECTED),
    (encode_varint(FRAME_HEADERS) + encode_varint(1 << 20), H3_MESSAGE_ERROR),
    (encode_varint(FRAME_HEADERS) + b"\x80", H3_FRAME_ERROR),
])
def test_streaming_response_rejects_bad_heads(data: bytes, code: int) -> None:
    with pytest.raises(H3Error) as exc:
        streamed(data)
    assert exc.value.code == code


def test_streaming_body_cut_short_is_a_frame_error() -> None:
    codec = QpackCodec()
    data = (encode_frame(FRAME_HEADERS, codec.encode(0, [(b":status", b"200")]))
            + encode_frame(FRAME_DATA, b"y" * 5000)[:3000])
    resp = streamed(data, 100)
    with pytest.raises(H3Error) as exc:
        b"".join(resp.iter_body())
    assert exc.value.code == H3_FRAME_ERROR


def test_response_with_chunks_declares_their_length() -> None:
    msg = response(200, chunks=iter([b"ab", b"cd"]), length=4)
    assert msg.header("content-length") == "4"
    assert b"".join(msg.chunks) == b"abcd"
