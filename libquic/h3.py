"""A small HTTP/3 (RFC 9114) client and server on a :class:`QuicConnection`.

Enough HTTP/3 to exchange requests with other implementations (the ngtcp2
interop tests use it): a control stream with SETTINGS, requests and
responses as HEADERS and DATA frames on bidirectional streams, and QPACK
(RFC 9204) without the dynamic table, so no encoder or decoder streams are
needed.  Server push, trailers, CONNECT and priorities are not supported::

    with QuicConnection.connect("example.net", 443, alpns=[H3_ALPN]) as conn:
        resp = H3Connection(conn).get("example.net", "/index.html")
        print(resp.status, len(resp.body))

The QPACK codec is ``pylsqpack`` (installed with aioquic, or on its own).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from libquic.connection import DEFAULT_TIMEOUT, QuicConnection, QuicStream
from libquic.varint import decode_varint, encode_varint

__all__ = [
    "FRAME_CANCEL_PUSH",
    "FRAME_DATA",
    "FRAME_GOAWAY",
    "FRAME_HEADERS",
    "FRAME_MAX_PUSH_ID",
    "FRAME_PUSH_PROMISE",
    "FRAME_SETTINGS",
    "H3_ALPN",
    "H3_FRAME_ERROR",
    "H3_FRAME_UNEXPECTED",
    "H3_GENERAL_PROTOCOL_ERROR",
    "H3_MESSAGE_ERROR",
    "H3_NO_ERROR",
    "SETTING_QPACK_BLOCKED_STREAMS",
    "SETTING_QPACK_MAX_TABLE_CAPACITY",
    "STREAM_CONTROL",
    "H3Connection",
    "H3Error",
    "H3Message",
    "H3StreamingResponse",
    "Handler",
    "Headers",
    "QpackCodec",
    "encode_frame",
    "encode_message",
    "parse_frames",
    "parse_message",
    "response",
]

H3_ALPN = "h3"

FRAME_DATA = 0x00
FRAME_HEADERS = 0x01
FRAME_CANCEL_PUSH = 0x03
FRAME_SETTINGS = 0x04
FRAME_PUSH_PROMISE = 0x05
FRAME_GOAWAY = 0x07
FRAME_MAX_PUSH_ID = 0x0D

STREAM_CONTROL = 0x00

SETTING_QPACK_MAX_TABLE_CAPACITY = 0x01
SETTING_QPACK_BLOCKED_STREAMS = 0x07

H3_NO_ERROR = 0x100
H3_GENERAL_PROTOCOL_ERROR = 0x101
H3_FRAME_UNEXPECTED = 0x105
H3_FRAME_ERROR = 0x106
H3_MESSAGE_ERROR = 0x10E

# Frames that belong on the control stream, never on a request stream.
_CONTROL_ONLY = {FRAME_CANCEL_PUSH, FRAME_SETTINGS, FRAME_GOAWAY, FRAME_MAX_PUSH_ID}

Headers = list[tuple[bytes, bytes]]


class H3Error(Exception):
    """An HTTP/3 protocol error; ``code`` is the RFC 9114 error code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"HTTP/3 error 0x{code:x}: {message}")
        self.code = code


class _HeaderFields:
    headers: Headers

    def header(self, name: str) -> str | None:
        key = name.encode()
        for k, v in self.headers:
            if k == key:
                return v.decode()
        return None

    @property
    def status(self) -> int:
        value = self.header(":status")
        if value is None or not value.isdigit():
            raise H3Error(H3_MESSAGE_ERROR, "the response has no valid :status")
        return int(value)


@dataclass
class H3Message(_HeaderFields):
    """A request or response: its header fields (pseudo-headers first) and body.

    A handler's response may also carry ``chunks``, body data sent after
    ``body`` as it is produced (e.g. read from a file), one DATA frame each.
    """

    headers: Headers
    body: bytes = b""
    chunks: Iterable[bytes] = ()


# The largest HEADERS frame accepted; DATA is streamed and has no limit.
MAX_FIELD_SECTION = 64 * 1024


class _FrameReader:
    """Frames of a request stream read as they arrive, not at its end."""

    def __init__(self, stream: QuicStream, timeout: float | None) -> None:
        self.stream = stream
        self.timeout = timeout
        self.buf = bytearray()
        self.eof = False

    def _fill(self, n: int) -> None:
        while len(self.buf) < n and not self.eof:
            data = self.stream.read(max(n - len(self.buf), 65536), self.timeout)
            if data:
                self.buf += data
            else:
                self.eof = True

    def _varint(self) -> int | None:
        self._fill(1)
        if not self.buf:
            return None
        need = 1 << (self.buf[0] >> 6)
        self._fill(need)
        if len(self.buf) < need:
            raise H3Error(H3_FRAME_ERROR, "the stream ends inside a frame header")
        value, _ = decode_varint(bytes(self.buf[:need]), 0)
        del self.buf[:need]
        return value

    def header(self) -> tuple[int, int] | None:
        """The next frame's (type, length), or None at the end of the stream."""
        ftype = self._varint()
        if ftype is None:
            return None
        length = self._varint()
        if length is None:
            raise H3Error(H3_FRAME_ERROR, "the stream ends inside a frame header")
        return ftype, length

    def chunks(self, length: int) -> Iterator[bytes]:
        while length:
            self._fill(1)
            if not self.buf:
                raise H3Error(H3_FRAME_ERROR, "a frame is cut short by the stream end")
            take = min(length, len(self.buf))
            yield bytes(self.buf[:take])
            del self.buf[:take]
            length -= take

    def payload(self, length: int) -> bytes:
        if length > MAX_FIELD_SECTION:
            raise H3Error(H3_MESSAGE_ERROR, f"a {length}-byte field section is too large")
        return b"".join(self.chunks(length))


class H3StreamingResponse(_HeaderFields):
    """A response whose body is read as it arrives: ``iter_body()``."""

    def __init__(self, codec: QpackCodec, stream: QuicStream,
                 timeout: float | None) -> None:
        self._reader = _FrameReader(stream, timeout)
        self._codec = codec
        self._sid = stream.id
        headers = None
        while headers is None:
            frame = self._reader.header()
            if frame is None:
                raise H3Error(H3_MESSAGE_ERROR, f"stream {self._sid} ended without HEADERS")
            ftype, length = frame
            _check_request_stream_frame(ftype)
            if ftype == FRAME_DATA:
                raise H3Error(H3_FRAME_UNEXPECTED, "DATA before HEADERS")
            payload = self._reader.payload(length)
            if ftype == FRAME_HEADERS:
                headers = codec.decode(self._sid, payload)
        self.headers = headers
        _ = self.status  # validates :status

    @property
    def content_length(self) -> int | None:
        value = self.header("content-length")
        return int(value) if value is not None and value.isdigit() else None

    def iter_body(self) -> Iterator[bytes]:
        """The body's bytes as they arrive; trailers and unknown frames are skipped."""
        while (frame := self._reader.header()) is not None:
            ftype, length = frame
            _check_request_stream_frame(ftype)
            if ftype == FRAME_DATA:
                yield from self._reader.chunks(length)
            elif ftype == FRAME_HEADERS:
                self._codec.decode(self._sid, self._reader.payload(length))  # trailers
            else:
                for _ in self._reader.chunks(length):
                    pass


def encode_frame(ftype: int, payload: bytes) -> bytes:
    return encode_varint(ftype) + encode_varint(len(payload)) + payload


def parse_frames(data: bytes) -> list[tuple[int, bytes]]:
    """Split a complete stream into ``(type, payload)`` frames."""
    frames = []
    pos = 0
    while pos < len(data):
        try:
            ftype, pos = decode_varint(data, pos)
            length, pos = decode_varint(data, pos)
        except IndexError:
            raise H3Error(H3_FRAME_ERROR, "the stream ends inside a frame header") from None
        if pos + length > len(data):
            raise H3Error(H3_FRAME_ERROR, f"frame 0x{ftype:x} is cut short by the stream end")
        frames.append((ftype, data[pos:pos + length]))
        pos += length
    return frames


def _settings() -> bytes:
    # No dynamic table: the peer's encoder must use literals only.
    body = b"".join(encode_varint(v) for v in (SETTING_QPACK_MAX_TABLE_CAPACITY, 0,
                                               SETTING_QPACK_BLOCKED_STREAMS, 0))
    return encode_frame(FRAME_SETTINGS, body)


@dataclass
class QpackCodec:
    """QPACK with a zero-capacity dynamic table on both sides."""

    encoder: object = field(init=False)
    decoder: object = field(init=False)

    def __post_init__(self) -> None:
        try:
            import pylsqpack
        except ImportError as exc:
            raise ImportError("libquic.h3 needs pylsqpack: pip install 'libquic[h3]'") from exc
        self.encoder = pylsqpack.Encoder()
        self.decoder = pylsqpack.Decoder(0, 0)

    def encode(self, sid: int, headers: Headers) -> bytes:
        enc_stream, block = self.encoder.encode(sid, headers)  # type: ignore[attr-defined]
        if enc_stream:
            raise H3Error(H3_GENERAL_PROTOCOL_ERROR, "QPACK tried to use the dynamic table")
        return bytes(block)

    def decode(self, sid: int, block: bytes) -> Headers:
        import pylsqpack

        try:
            _ctrl, headers = self.decoder.feed_header(sid, block)  # type: ignore[attr-defined]
        except (pylsqpack.DecompressionFailed, pylsqpack.StreamBlocked) as exc:
            raise H3Error(H3_MESSAGE_ERROR, f"bad QPACK field section: {exc!r}") from exc
        return list(headers)


def encode_message(codec: QpackCodec, sid: int, headers: Headers, body: bytes) -> bytes:
    """A whole request or response: HEADERS, then DATA if there is a body."""
    out = encode_frame(FRAME_HEADERS, codec.encode(sid, headers))
    if body:
        out += encode_frame(FRAME_DATA, body)
    return out


def parse_message(codec: QpackCodec, sid: int, data: bytes) -> H3Message:
    """Parse a whole request or response stream (RFC 9114 4.1)."""
    headers: Headers | None = None
    body = bytearray()
    for ftype, payload in parse_frames(data):
        _check_request_stream_frame(ftype)
        if ftype == FRAME_HEADERS:
            decoded = codec.decode(sid, payload)
            if headers is None:
                headers = decoded
            # a second HEADERS frame holds trailers; they are not kept
        elif ftype == FRAME_DATA:
            if headers is None:
                raise H3Error(H3_FRAME_UNEXPECTED, "DATA before HEADERS")
            body += payload
        # other (reserved or unknown) frame types are ignored, RFC 9114 9
    if headers is None:
        raise H3Error(H3_MESSAGE_ERROR, f"stream {sid} ended without HEADERS")
    return H3Message(headers, bytes(body))


def _check_request_stream_frame(ftype: int) -> None:
    if ftype in _CONTROL_ONLY or ftype == FRAME_PUSH_PROMISE:
        raise H3Error(H3_FRAME_UNEXPECTED, f"frame 0x{ftype:x} on a request stream")


Handler = Callable[[H3Message], H3Message]


class H3Connection:
    """HTTP/3 on an established :class:`QuicConnection` negotiated with ALPN "h3".

    Creating it opens our control stream and sends SETTINGS.
    """

    def __init__(self, conn: QuicConnection) -> None:
        self.conn = conn
        self._codec = QpackCodec()
        control = conn.open_stream(uni=True)
        control.write(encode_varint(STREAM_CONTROL) + _settings())
        self._control = control

    # -- client ----------------------------------------------------------------
    def request(self, method: str, authority: str, path: str, body: bytes = b"",
                headers: Iterable[tuple[str, str]] = (),
                timeout: float | None = DEFAULT_TIMEOUT) -> H3Message:
        """Send one request and wait for its whole response."""
        stream = self._send_request(method, authority, path, body, headers)
        resp = parse_message(self._codec, stream.id, stream.read_all(timeout))
        _ = resp.status  # validates :status
        return resp

    def stream_request(self, method: str, authority: str, path: str, body: bytes = b"",
                       headers: Iterable[tuple[str, str]] = (),
                       timeout: float | None = DEFAULT_TIMEOUT) -> H3StreamingResponse:
        """Send one request; return once the response's headers are in, with
        its body left to read (``iter_body()``), for large downloads.
        ``timeout`` bounds each wait for data."""
        stream = self._send_request(method, authority, path, body, headers)
        return H3StreamingResponse(self._codec, stream, timeout)

    def _send_request(self, method: str, authority: str, path: str, body: bytes,
                      headers: Iterable[tuple[str, str]]) -> QuicStream:
        fields: Headers = [(b":method", method.encode()), (b":scheme", b"https"),
                           (b":authority", authority.encode()), (b":path", path.encode())]
        fields += [(k.lower().encode(), v.encode()) for k, v in headers]
        stream = self.conn.open_stream()
        stream.write(encode_message(self._codec, stream.id, fields, body), fin=True)
        return stream

    def get(self, authority: str, path: str,
            timeout: float | None = DEFAULT_TIMEOUT) -> H3Message:
        return self.request("GET", authority, path, timeout=timeout)

    # -- server ----------------------------------------------------------------
    def serve(self, handler: Handler, *, max_requests: int | None = None,
              timeout: float | None = DEFAULT_TIMEOUT) -> int:
        """Answer requests with ``handler`` until ``max_requests`` were served
        or the peer closed the connection; returns how many were served.

        ``timeout`` bounds the wait for each request.
        """
        served = 0
        while max_requests is None or served < max_requests:
            try:
                stream = self.conn.accept_stream(timeout)
            except ConnectionError:
                break
            if stream.is_uni:
                continue  # the peer's control/QPACK streams: nothing we need
            req = parse_message(self._codec, stream.id, stream.read_all(timeout))
            if req.header(":method") is None or req.header(":path") is None:
                raise H3Error(H3_MESSAGE_ERROR, "a request lacks :method or :path")
            resp = handler(req)
            stream.write(encode_message(self._codec, stream.id, resp.headers, resp.body))
            for chunk in resp.chunks:
                if chunk:
                    stream.write(encode_frame(FRAME_DATA, chunk))
            stream.finish()
            served += 1
        return served


def response(status: int, body: bytes = b"",
             headers: Sequence[tuple[str, str]] = (), *,
             chunks: Iterable[bytes] = (), length: int | None = None) -> H3Message:
    """A response message for :meth:`H3Connection.serve` handlers.

    ``chunks`` streams the body instead (``length`` bytes in all, for
    content-length)."""
    size = len(body) if length is None else length
    fields: Headers = [(b":status", str(status).encode()),
                       (b"content-length", str(size).encode())]
    fields += [(k.lower().encode(), v.encode()) for k, v in headers]
    return H3Message(fields, body, chunks)
