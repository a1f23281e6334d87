"""Test-only handshake driver for the kernel QUIC module.

It proves the kernel half of connection setup without any TLS: the two
peers exchange opaque, length-prefixed "handshake messages" through the
QUIC_HANDSHAKE_INFO cmsg path at the levels TLS 1.3 would use, and install
FIXED secrets with QUIC_SOCKOPT_CRYPTO_SECRET (as the reference's kernel
selftests do).  The messages carry the transport-parameters extension from
QUIC_SOCKOPT_TRANSPORT_PARAM_EXT so the kernel's codec is exercised too.

Flow (mirrors TLS 1.3):
  client  INITIAL    CH(tp, padding)
  server  INITIAL    SH(padding)                 then HANDSHAKE keys
  server  HANDSHAKE  EE(tp, padding), SF         then APP send key
  client  (HANDSHAKE keys) reads EE, SF, sends HANDSHAKE CF, APP keys
  server  reads CF, APP receive key  -> both ESTABLISHED

Socket options and cmsgs go through the UAPI mirror in libquic.uapi (its
structs and constants), not libquic's higher-level wrappers, so this driver
exercises the kernel interface itself.

Also: RFC 9001 Initial packet protection in pure Python (cryptography), to
decrypt what the kernel sends and to forge client Initials.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import pickle
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from libquic.cmsg import sendmsg_direct
from libquic.sockopt import TRANSPORT_PARAM_EXT_MAX, getsockopt_inout
from libquic.uapi import (
    IPPROTO_QUIC,
    QUIC_CRYPTO_APP,
    QUIC_CRYPTO_HANDSHAKE,
    QUIC_CRYPTO_INITIAL,
    QUIC_HANDSHAKE_INFO,
    QUIC_SOCKOPT_CONNECTION_CLOSE,
    QUIC_SOCKOPT_CRYPTO_SECRET,
    QUIC_SOCKOPT_TRANSPORT_PARAM,
    QUIC_SOCKOPT_TRANSPORT_PARAM_EXT,
    SOL_QUIC,
    TLS_CIPHER_AES_GCM_128,
    TLS_CIPHER_AES_GCM_256,
    QuicConnectionClose,
    QuicCryptoSecret,
    QuicHandshakeInfo,
    QuicTransportParam,
)

# also for the tests, which use them as qt.NAME alongside the driver
from libquic.uapi import MSG_QUIC_NOTIFICATION as MSG_QUIC_NOTIFICATION
from libquic.uapi import QUIC_EVENT_CONNECTION_CLOSE as QUIC_EVENT_CONNECTION_CLOSE
from libquic.uapi import QUIC_SOCKOPT_ALPN as QUIC_SOCKOPT_ALPN
from libquic.uapi import QUIC_SOCKOPT_CONFIG as QUIC_SOCKOPT_CONFIG
from libquic.uapi import QUIC_SOCKOPT_EVENT as QUIC_SOCKOPT_EVENT
from libquic.uapi import QUIC_SOCKOPT_KEY_UPDATE as QUIC_SOCKOPT_KEY_UPDATE
from libquic.uapi import QUIC_SOCKOPT_SESSION_TICKET as QUIC_SOCKOPT_SESSION_TICKET
from libquic.uapi import QUIC_SOCKOPT_TOKEN as QUIC_SOCKOPT_TOKEN
from libquic.uapi import TLS_CIPHER_CHACHA20_POLY1305 as TLS_CIPHER_CHACHA20_POLY1305
from libquic.varint import decode_varint as read_varint
from libquic.varint import encode_varint as varint

TP_FIELDS = frozenset(name for name, *_ in QuicTransportParam._fields_)


class HandshakeError(Exception):
    pass


def get_tp(s: socket.socket, remote: bool = False) -> QuicTransportParam:
    """The local (``remote``: the peer's) transport parameters."""
    raw = getsockopt_inout(s, QUIC_SOCKOPT_TRANSPORT_PARAM,
                           bytes(QuicTransportParam(remote=int(remote))))
    return QuicTransportParam.from_buffer_copy(raw)


def set_tp(s: socket.socket, **kw: int) -> None:
    """Set transport parameters by field name; the others go in as 0."""
    assert TP_FIELDS.issuperset(kw), set(kw) - TP_FIELDS
    s.setsockopt(SOL_QUIC, QUIC_SOCKOPT_TRANSPORT_PARAM, bytes(QuicTransportParam(**kw)))


def secret_for(role: str, level: int, cipher: int) -> bytes:
    size = 48 if cipher == TLS_CIPHER_AES_GCM_256 else 32
    return hashlib.sha384(f"fixed {role} secret level {int(level)}".encode()).digest()[:size]


def install(s: socket.socket, is_server: bool, level: int, send: bool, cipher: int) -> None:
    own = "server" if is_server else "client"
    peer = "client" if is_server else "server"
    sec = secret_for(own if send else peer, level, cipher)
    val = QuicCryptoSecret(send=int(send), level=level, type=cipher)
    val.secret[:len(sec)] = sec
    s.setsockopt(SOL_QUIC, QUIC_SOCKOPT_CRYPTO_SECRET, bytes(val))


def hs_send(s: socket.socket, level: int, data: bytes, more: bool = False) -> None:
    flags = socket.MSG_MORE if more else 0
    # not s.sendmsg: on a socket with a timeout Python waits for POLLOUT
    # first, which the reference module does not report before the
    # handshake completed
    info = bytes(QuicHandshakeInfo(level))
    n = sendmsg_direct(s, [data], [(SOL_QUIC, QUIC_HANDSHAKE_INFO, info)], flags)
    assert n == len(data)


def msg(kind: bytes, body: bytes = b"") -> bytes:
    return struct.pack(">I", len(body) + 2) + kind + body


HANDSHAKE_CMSG_SPACE = socket.CMSG_SPACE(ctypes.sizeof(QuicHandshakeInfo))


class Reader:
    """Collects handshake data per level and splits it into messages."""

    def __init__(self, s: socket.socket) -> None:
        self.s = s
        self.buf: dict[int, bytes] = {}
        self.chunks: list[tuple[int, int]] = []  # (level, size) as received
        self.peer_tp = b""  # the peer's transport parameters extension

    def recv_chunk(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise HandshakeError("timeout waiting for handshake data")
        self.s.settimeout(left)
        data, anc, flags, _ = self.s.recvmsg(65536, HANDSHAKE_CMSG_SPACE)
        if not data and not anc:
            raise HandshakeError("connection closed during the handshake")
        level = None
        for lvl, typ, val in anc:
            if lvl == SOL_QUIC and typ == QUIC_HANDSHAKE_INFO:
                level = QuicHandshakeInfo.from_buffer_copy(val).crypto_level
        if level is None:
            raise HandshakeError(f"handshake data without a level cmsg (flags {flags:#x})")
        if not flags & socket.MSG_EOR:
            raise HandshakeError("handshake chunk without MSG_EOR")
        self.chunks.append((level, len(data)))
        self.buf[level] = self.buf.get(level, b"") + data

    def message(self, level: int, deadline: float) -> tuple[bytes, bytes]:
        while True:
            b = self.buf.get(level, b"")
            if len(b) >= 4:
                n = struct.unpack(">I", b[:4])[0]
                if len(b) >= 4 + n:
                    self.buf[level] = b[4 + n :]
                    return b[4:6], b[6 : 4 + n]
            self.recv_chunk(deadline)


def client_handshake(
    s: socket.socket,
    ch_size: int = 200,
    cipher: int = TLS_CIPHER_AES_GCM_128,
    timeout: float = 20,
) -> Reader:
    deadline = time.monotonic() + timeout
    r = Reader(s)
    tp = s.getsockopt(SOL_QUIC, QUIC_SOCKOPT_TRANSPORT_PARAM_EXT, TRANSPORT_PARAM_EXT_MAX)
    hs_send(s, QUIC_CRYPTO_INITIAL, msg(b"CH", struct.pack(">H", len(tp)) + tp + bytes(ch_size)))
    kind, _ = r.message(QUIC_CRYPTO_INITIAL, deadline)
    if kind != b"SH":
        raise HandshakeError(f"expected SH, got {kind!r}")
    install(s, False, QUIC_CRYPTO_HANDSHAKE, True, cipher)
    install(s, False, QUIC_CRYPTO_HANDSHAKE, False, cipher)
    kind, body = r.message(QUIC_CRYPTO_HANDSHAKE, deadline)
    if kind != b"EE":
        raise HandshakeError(f"expected EE, got {kind!r}")
    n = struct.unpack(">H", body[:2])[0]
    r.peer_tp = body[2 : 2 + n]
    s.setsockopt(SOL_QUIC, QUIC_SOCKOPT_TRANSPORT_PARAM_EXT, r.peer_tp)
    kind, _ = r.message(QUIC_CRYPTO_HANDSHAKE, deadline)
    if kind != b"SF":
        raise HandshakeError(f"expected SF, got {kind!r}")
    hs_send(s, QUIC_CRYPTO_HANDSHAKE, msg(b"CF"))
    install(s, False, QUIC_CRYPTO_APP, True, cipher)
    install(s, False, QUIC_CRYPTO_APP, False, cipher)
    return r


def server_handshake(
    s: socket.socket,
    sh_size: int = 100,
    ee_size: int = 1500,
    cipher: int = TLS_CIPHER_AES_GCM_128,
    timeout: float = 20,
) -> Reader:
    deadline = time.monotonic() + timeout
    r = Reader(s)
    kind, body = r.message(QUIC_CRYPTO_INITIAL, deadline)
    if kind != b"CH":
        raise HandshakeError(f"expected CH, got {kind!r}")
    n = struct.unpack(">H", body[:2])[0]
    s.setsockopt(SOL_QUIC, QUIC_SOCKOPT_TRANSPORT_PARAM_EXT, body[2 : 2 + n])
    hs_send(s, QUIC_CRYPTO_INITIAL, msg(b"SH", bytes(sh_size)), more=True)
    install(s, True, QUIC_CRYPTO_HANDSHAKE, True, cipher)
    install(s, True, QUIC_CRYPTO_HANDSHAKE, False, cipher)
    tp = s.getsockopt(SOL_QUIC, QUIC_SOCKOPT_TRANSPORT_PARAM_EXT, TRANSPORT_PARAM_EXT_MAX)
    hs_send(
        s,
        QUIC_CRYPTO_HANDSHAKE,
        msg(b"EE", struct.pack(">H", len(tp)) + tp + bytes(ee_size)),
        more=True,
    )
    hs_send(s, QUIC_CRYPTO_HANDSHAKE, msg(b"SF"))
    install(s, True, QUIC_CRYPTO_APP, True, cipher)
    kind, _ = r.message(QUIC_CRYPTO_HANDSHAKE, deadline)
    if kind != b"CF":
        raise HandshakeError(f"expected CF, got {kind!r}")
    install(s, True, QUIC_CRYPTO_APP, False, cipher)
    return r


def quic_socket(family: int, type_: int = socket.SOCK_STREAM) -> socket.socket:
    s = socket.socket(family, type_, IPPROTO_QUIC)
    s.settimeout(10)
    return s


def run_threads(*fns: Callable[[], object], timeout: float = 60) -> list[object]:
    """Run callables in threads; re-raise the first failure."""
    results: list[object] = [None] * len(fns)
    errors: list[BaseException] = []

    def wrap(i: int, fn: Callable[[], object]) -> None:
        try:
            results[i] = fn()
        except BaseException as e:  # reported to the caller
            errors.append(e)

    ts = [threading.Thread(target=wrap, args=(i, f), daemon=True) for i, f in enumerate(fns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout)
        if t.is_alive():
            raise TimeoutError("a handshake thread did not finish")
    if errors:
        raise errors[0]
    return results


def connect_pair(
    family: int = socket.AF_INET,
    type_: int = socket.SOCK_STREAM,
    host: str | None = None,
    client_setup: Callable[[socket.socket], None] | None = None,
    server_setup: Callable[[socket.socket], None] | None = None,
    timeout: float = 30,
    listener: socket.socket | None = None,
    **kw: int,
) -> tuple[socket.socket, socket.socket, socket.socket]:
    """Listener, client and accepted server socket, handshake done.

    With `listener`, that bound and listening socket is used (e.g. one
    created in another network namespace) and `host` is where it is.
    """
    host = host or ("127.0.0.1" if family == socket.AF_INET else "::1")
    if listener is None:
        lsk = quic_socket(family, type_)
        if server_setup:
            server_setup(lsk)
        lsk.bind((host, 0))
        lsk.listen(8)
    else:
        lsk = listener
    port = lsk.getsockname()[1]
    c = quic_socket(family, type_)
    if client_setup:
        client_setup(c)
    c.connect((host, port))
    ch = {k: v for k, v in kw.items() if k in ("ch_size", "cipher")}
    sh = {k: v for k, v in kw.items() if k in ("sh_size", "ee_size", "cipher")}
    box: dict[str, socket.socket] = {}
    readers: dict[str, Reader] = {}

    def client() -> None:
        readers["c"] = client_handshake(c, timeout=timeout, **ch)

    def server() -> None:
        lsk.settimeout(timeout)
        a, _ = lsk.accept()
        box["s"] = a
        server_handshake(a, timeout=timeout, **sh)

    run_threads(client, server, timeout=timeout + 10)
    LAST_READERS.clear()
    LAST_READERS.update(readers)
    return lsk, c, box["s"]


LAST_READERS: dict[str, Reader] = {}


def tp_param(ext: bytes, ident: int) -> bytes | None:
    """The value of one transport parameter in an extension body."""
    i = 0
    while i < len(ext):
        pid, i = read_varint(ext, i)
        n, i = read_varint(ext, i)
        if pid == ident:
            return ext[i : i + n]
        i += n
    return None


_libc = ctypes.CDLL(None, use_errno=True)


def raw_bind(s: socket.socket, sockaddr: bytes) -> None:
    """bind(2) with a sockaddr given as bytes (of any family and length)."""
    if _libc.bind(s.fileno(), sockaddr, len(sockaddr)) < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def run_as(uid: int, fn: Callable[[], object], timeout: float = 60) -> object:
    """fn() in a forked child with uid and gid `uid` and no capabilities;
    its return value (or the errno of the OSError it raised) comes back."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(rfd)
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            try:
                out: object = ("ok", fn())
            except OSError as e:
                out = ("errno", e.errno)
            except BaseException as e:  # reported to the parent
                out = ("error", repr(e))
            os.write(wfd, pickle.dumps(out))
        finally:
            os._exit(0)
    os.close(wfd)
    chunks = []
    with os.fdopen(rfd, "rb") as f:
        while chunk := f.read():
            chunks.append(chunk)
    os.waitpid(pid, 0)
    kind, value = pickle.loads(b"".join(chunks))
    if kind == "error":
        raise AssertionError(f"child as uid {uid} failed: {value}")
    return value if kind == "ok" else OSError(value, os.strerror(value))


# ---- /proc helpers -----------------------------------------------------


def eps_fields(s: socket.socket) -> list[str]:
    return eps_line(s).split()


def eps_row(s: socket.socket) -> dict[str, str]:
    """The socket's /proc/net/quic/eps line by column name (SCID, DCID, CWND...)."""
    with open("/proc/net/quic/eps") as f:
        header = f.readline().split()
    return dict(zip(header, eps_fields(s), strict=True))


def eps_line(s: socket.socket) -> str:
    ino = str(os.fstat(s.fileno()).st_ino)
    with open("/proc/net/quic/eps") as f:
        for line in f.read().splitlines()[1:]:
            if line.split()[0] == ino:
                return line
    raise KeyError(ino)


def state_of(s: socket.socket) -> str:
    return eps_line(s).split()[4]


@contextmanager
def quic_sysctl(name: str, value: int, missing_ok: bool = False) -> Iterator[None]:
    """net.quic.``name`` = ``value`` in this namespace meanwhile, as before
    afterwards; ``missing_ok``: a module without it leaves it be."""
    path = Path("/proc/sys/net/quic") / name
    if missing_ok and not path.exists():
        yield
        return
    saved = path.read_text()
    path.write_text(f"{value}\n")
    try:
        yield
    finally:
        path.write_text(saved)


def snmp() -> dict[str, int]:
    with open("/proc/net/quic/snmp") as f:
        return {k: int(v) for k, v in (ln.split() for ln in f.read().splitlines())}


def accept_all(lsk: socket.socket) -> int:
    """Accept and close whatever the listener has queued; how many."""
    lsk.setblocking(False)
    accepted = 0
    try:
        while True:
            try:
                conn, _ = lsk.accept()
            except BlockingIOError:
                return accepted
            conn.close()
            accepted += 1
    finally:
        lsk.setblocking(True)


def wait_for(pred: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.02)


def wait_readable(s: socket.socket, timeout: float) -> bool:
    return bool(select.select([s], [], [], timeout)[0])


CLOSE_HEAD = QuicConnectionClose.phrase.offset  # errcode, frame, reserved


def close_info(s: socket.socket) -> tuple[int, int, bytes]:
    """(error code, frame type, phrase) of QUIC_SOCKOPT_CONNECTION_CLOSE."""
    size = ctypes.sizeof(QuicConnectionClose)
    raw = s.getsockopt(SOL_QUIC, QUIC_SOCKOPT_CONNECTION_CLOSE, size)
    assert len(raw) >= CLOSE_HEAD, f"CONNECTION_CLOSE value of {len(raw)} bytes"
    close = QuicConnectionClose.from_buffer_copy(raw.ljust(size, b"\0")[:size])
    return close.errcode, close.frame, bytes(close.phrase).split(b"\0", 1)[0]


def set_close_info(s: socket.socket, code: int, phrase: bytes, frame: int = 0) -> None:
    """Set the close code and phrase; the value is as long as the phrase
    (struct quic_connection_close up to the phrase, then phrase and NUL)."""
    head = bytes(QuicConnectionClose(errcode=code, frame=frame))[:CLOSE_HEAD]
    s.setsockopt(SOL_QUIC, QUIC_SOCKOPT_CONNECTION_CLOSE, head + phrase + b"\0")


def expect_errno(fn: Callable[[], object], *codes: int) -> int:
    try:
        fn()
    except OSError as e:
        assert e.errno in codes, f"errno {e.errno} not in {codes}"
        return e.errno
    raise AssertionError(f"expected one of {codes}")


# ---- RFC 9001 Initial protection in Python -----------------------------

INITIAL_SALT_V1 = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")


def hkdf_expand_label(secret: bytes, label: str, length: int) -> bytes:
    full = b"tls13 " + label.encode()
    info = struct.pack(">HB", length, len(full)) + full + b"\x00"
    return HKDFExpand(hashes.SHA256(), length, info).derive(secret)


def initial_keys(dcid: bytes, server: bool) -> tuple[bytes, bytes, bytes]:
    """(key, iv, hp) of the client's (server=False) or server's Initial."""
    from cryptography.hazmat.primitives import hmac

    h = hmac.HMAC(INITIAL_SALT_V1, hashes.SHA256())
    h.update(dcid)
    initial = h.finalize()
    sec = hkdf_expand_label(initial, "server in" if server else "client in", 32)
    return (
        hkdf_expand_label(sec, "quic key", 16),
        hkdf_expand_label(sec, "quic iv", 12),
        hkdf_expand_label(sec, "quic hp", 16),
    )


def hp_mask(hp: bytes, sample: bytes) -> bytes:
    enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    return enc.update(sample) + enc.finalize()


class LongPacket:
    def __init__(self) -> None:
        self.first = 0
        self.version = 0
        self.dcid = b""
        self.scid = b""
        self.token = b""
        self.pn = 0
        self.payload = b""
        self.length = 0  # bytes of the datagram this packet used


def parse_initial(dgram: bytes, off: int, keys: tuple[bytes, bytes, bytes]) -> LongPacket:
    """Unprotect one Initial packet at dgram[off:]."""
    key, iv, hp = keys
    p = LongPacket()
    b = dgram
    i = off
    p.first = b[i]
    assert p.first & 0xC0 == 0xC0, "not a long header"
    p.version = struct.unpack(">I", b[i + 1 : i + 5])[0]
    i += 5
    n = b[i]
    p.dcid = b[i + 1 : i + 1 + n]
    i += 1 + n
    n = b[i]
    p.scid = b[i + 1 : i + 1 + n]
    i += 1 + n
    tl, i = read_varint(b, i)
    p.token = b[i : i + tl]
    i += tl
    length, i = read_varint(b, i)
    pn_off = i
    sample = b[pn_off + 4 : pn_off + 20]
    mask = hp_mask(hp, sample)
    first = b[off] ^ (mask[0] & 0x0F)
    pn_len = (first & 3) + 1
    pn_bytes = bytes(x ^ y for x, y in zip(b[pn_off : pn_off + pn_len], mask[1:], strict=False))
    p.pn = int.from_bytes(pn_bytes, "big")
    header = bytes([first]) + b[off + 1 : pn_off] + pn_bytes
    nonce = bytes(x ^ y for x, y in zip(iv, p.pn.to_bytes(12, "big"), strict=True))
    ct = b[pn_off + pn_len : pn_off + length]
    p.payload = AESGCM(key).decrypt(nonce, ct, header)
    p.first = first
    p.length = pn_off + length - off
    return p


def build_initial(
    dcid: bytes,
    scid: bytes,
    pn: int,
    frames: bytes,
    keys: tuple[bytes, bytes, bytes],
    pad_to: int = 1200,
    token: bytes = b"",
) -> bytes:
    """Build and protect a client Initial (4-byte pn), padded to pad_to."""
    key, iv, hp = keys
    head = bytes([0xC3]) + struct.pack(">I", 1)
    head += bytes([len(dcid)]) + dcid + bytes([len(scid)]) + scid
    head += varint(len(token)) + token
    fixed = len(head) + 2 + 4 + 16
    if fixed + len(frames) < pad_to:
        frames += bytes(pad_to - fixed - len(frames))
    length = 4 + len(frames) + 16
    head += struct.pack(">H", 0x4000 | length)
    pn_off = len(head)
    pnb = pn.to_bytes(4, "big")
    header = head + pnb
    nonce = bytes(x ^ y for x, y in zip(iv, pn.to_bytes(12, "big"), strict=True))
    ct = AESGCM(key).encrypt(nonce, frames, header)
    pkt = bytearray(header + ct)
    mask = hp_mask(hp, bytes(pkt[pn_off + 4 : pn_off + 20]))
    pkt[0] ^= mask[0] & 0x0F
    for k in range(4):
        pkt[pn_off + k] ^= mask[1 + k]
    return bytes(pkt)


def parse_frames(payload: bytes) -> list[tuple[int, dict]]:
    """Decode the frames the handshake uses (enough for the tests)."""
    out: list[tuple[int, dict]] = []
    i = 0
    while i < len(payload):
        t, i = read_varint(payload, i)
        if t == 0x00:
            n = 1
            while i < len(payload) and payload[i] == 0:
                i += 1
                n += 1
            out.append((t, {"len": n}))
        elif t == 0x01:
            out.append((t, {}))
        elif t in (0x02, 0x03):
            largest, i = read_varint(payload, i)
            _delay, i = read_varint(payload, i)
            cnt, i = read_varint(payload, i)
            first, i = read_varint(payload, i)
            for _ in range(cnt * 2):
                _, i = read_varint(payload, i)
            if t == 0x03:
                for _ in range(3):
                    _, i = read_varint(payload, i)
            out.append((t, {"largest": largest, "first": first}))
        elif t == 0x06:
            off, i = read_varint(payload, i)
            n, i = read_varint(payload, i)
            out.append((t, {"offset": off, "data": payload[i : i + n]}))
            i += n
        elif t in (0x1C, 0x1D):
            code, i = read_varint(payload, i)
            ft = 0
            if t == 0x1C:
                ft, i = read_varint(payload, i)
            n, i = read_varint(payload, i)
            out.append((t, {"code": code, "frame": ft, "reason": payload[i : i + n]}))
            i += n
        else:
            raise ValueError(f"frame type {t:#x} not decoded by the test")
    return out


def udp_recv_all(u: socket.socket, quiet: float, total: float) -> list[bytes]:
    """Datagrams until `quiet` seconds pass without one (or `total`)."""
    out = []
    end = time.monotonic() + total
    while time.monotonic() < end:
        u.settimeout(quiet)
        try:
            out.append(u.recv(65536))
        except TimeoutError:
            break
        except OSError as e:
            if e.errno == errno.EAGAIN:
                break
            raise
    return out
