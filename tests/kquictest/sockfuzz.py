"""The socket-option and cmsg fuzzer behind test_sockopt_fuzz.py.

Every SOL_QUIC option (and some that do not exist) is set and got with
lengths around the real value's size and far from it, with contents that are
zero, all ones, random, or a valid value with random fields, on sockets in
every state a program can reach.  sendmsg() and recvmsg() get random
SOL_QUIC cmsgs and flags.  A call may fail, with an errno; it must not crash
the kernel (vm-run checks dmesg), hang (each call has a deadline), write past
the length it returns, or hand back uninitialised bytes: padding and
``reserved`` fields of every struct that comes back are zero although the
buffer was prefilled with 0xff.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import random
import signal
import socket
import struct
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from kquictest import quic_testdriver as qt
from libquic import uapi

_libc = ctypes.CDLL(None, use_errno=True)

# The value type of each option, for sizes and the padding check; options
# with a variable-length value map to None.
STRUCTS: dict[int, type[ctypes.Structure] | None] = {
    uapi.QUIC_SOCKOPT_EVENT: uapi.QuicEventOption,
    uapi.QUIC_SOCKOPT_STREAM_OPEN: uapi.QuicStreamInfo,
    uapi.QUIC_SOCKOPT_STREAM_RESET: uapi.QuicErrinfo,
    uapi.QUIC_SOCKOPT_STREAM_STOP_SENDING: uapi.QuicErrinfo,
    uapi.QUIC_SOCKOPT_CONNECTION_ID: uapi.QuicConnectionIdInfo,
    uapi.QUIC_SOCKOPT_CONNECTION_CLOSE: uapi.QuicConnectionClose,
    uapi.QUIC_SOCKOPT_CONNECTION_MIGRATION: None,
    uapi.QUIC_SOCKOPT_KEY_UPDATE: None,
    uapi.QUIC_SOCKOPT_TRANSPORT_PARAM: uapi.QuicTransportParam,
    uapi.QUIC_SOCKOPT_CONFIG: uapi.QuicConfig,
    uapi.QUIC_SOCKOPT_TOKEN: None,
    uapi.QUIC_SOCKOPT_ALPN: None,
    uapi.QUIC_SOCKOPT_SESSION_TICKET: None,
    uapi.QUIC_SOCKOPT_CRYPTO_SECRET: uapi.QuicCryptoSecret,
    uapi.QUIC_SOCKOPT_TRANSPORT_PARAM_EXT: None,
}
BOGUS_OPTS = (15, 16, 99, 0x7FFFFFFF)
# Bytes a getsockopt reads as input before it answers (the rest of the
# buffer is output): the fixed prefix the padding check passes in.
INPUT_PREFIX: dict[int, bytes] = {
    uapi.QUIC_SOCKOPT_EVENT: bytes([uapi.QUIC_EVENT_STREAM_UPDATE]),
    uapi.QUIC_SOCKOPT_CONNECTION_ID: b"\0",
    uapi.QUIC_SOCKOPT_TRANSPORT_PARAM: b"\0",
    uapi.QUIC_SOCKOPT_CRYPTO_SECRET: bytes([0, uapi.QUIC_CRYPTO_APP, 0, 0]),
}
# getsockopt opening something new on each call: two calls differ by design.
GET_CHANGES = {uapi.QUIC_SOCKOPT_STREAM_OPEN}

CALL_DEADLINE = 5.0  # seconds; any call taking longer is a hang
HUGE = (1 << 16, 1 << 20, 0x7FFFFFFF, 0xFFFFFFFF)
STREAM_INFO_SIZE = ctypes.sizeof(uapi.QuicStreamInfo)
SOCK_TIMEOUT = struct.pack("ll", 0, 200_000)  # SO_SNDTIMEO/SO_RCVTIMEO: 0.2 s


class CallHung(AssertionError):
    pass


@contextlib.contextmanager
def deadline(what: str) -> Iterator[None]:
    def expired(_sig: int, _frame: object) -> None:
        raise CallHung(f"{what} did not return within {CALL_DEADLINE} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, CALL_DEADLINE)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def padding_bytes(cls: type[ctypes.Structure]) -> set[int]:
    """Offsets of the bytes of cls that belong to no field, or to a
    ``reserved`` field: they must come back zero."""
    covered: set[int] = set()
    zero: set[int] = set()
    for name, *_ in cls._fields_:
        desc = getattr(cls, name)
        span = range(desc.offset, desc.offset + desc.size)
        covered.update(span)
        if name.startswith("reserved"):
            zero.update(span)
    return zero | (set(range(ctypes.sizeof(cls))) - covered)


@dataclass
class Tally:
    calls: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    checked: int = 0  # getsockopt answers whose padding was checked

    def add(self, kind: str, err: int) -> None:
        self.calls += 1
        self.outcomes[f"{kind}:{errno.errorcode.get(err, err) if err else 'ok'}"] += 1

    def merge(self, other: Tally) -> None:
        self.calls += other.calls
        self.outcomes.update(other.outcomes)
        self.checked += other.checked


def value_size(opt: int) -> int:
    cls = STRUCTS.get(opt)
    if cls is not None:
        return ctypes.sizeof(cls)
    return {uapi.QUIC_SOCKOPT_CONNECTION_MIGRATION: 28, uapi.QUIC_SOCKOPT_KEY_UPDATE: 1}.get(
        opt, 64)


def lengths(r: random.Random, opt: int) -> list[int]:
    size = value_size(opt)
    out = [0, 1, max(size - 1, 0), size, size + 1, r.randrange(0, 4 * size + 8)]
    if r.random() < 0.3:
        out.append(r.choice(HUGE))
    return out


def contents(r: random.Random, opt: int, n: int) -> bytes:
    k = r.randrange(4)
    if k == 0:
        return bytes(n)
    if k == 1:
        return b"\xff" * n
    if k == 2:
        return r.randbytes(n)
    cls = STRUCTS.get(opt)
    if cls is None:
        if opt == uapi.QUIC_SOCKOPT_ALPN:
            return b",".join(r.choice([b"h3", b"smb", b"", b"x" * 255]) for _ in range(3))[:n]
        return r.randbytes(n)
    v = cls()
    for name, ftype, *_ in cls._fields_:
        if issubclass(ftype, ctypes.Array):
            continue
        bits = 8 * ctypes.sizeof(ftype)
        setattr(v, name, r.choice([0, 1, 2, 3, (1 << bits) - 1, 1 << (bits - 1),
                                   r.randrange(1 << bits)]) & ((1 << bits) - 1))
    return (bytes(v) + r.randbytes(max(n - ctypes.sizeof(cls), 0)))[:n]


def raw_setsockopt(s: socket.socket, opt: int, value: bytes, optlen: int) -> int:
    """setsockopt with an optlen that may exceed the buffer; 0 or errno."""
    buf = ctypes.create_string_buffer(value, max(len(value), 1))
    n = min(optlen, len(value)) if optlen <= 4096 else optlen
    with deadline(f"setsockopt(opt {opt}, optlen {optlen})"):
        rc = _libc.setsockopt(s.fileno(), uapi.SOL_QUIC, opt, buf, ctypes.c_uint32(n))
    return ctypes.get_errno() if rc < 0 else 0


def raw_getsockopt(s: socket.socket, opt: int, prefix: bytes, buflen: int,
                   fill: int) -> tuple[int, bytes, bytes]:
    """getsockopt into a buffer prefilled with `fill` after `prefix`:
    (errno or 0, the bytes returned, the rest of the buffer)."""
    size = min(buflen, 4096)
    buf = ctypes.create_string_buffer((prefix + bytes([fill]) * size)[:size], max(size, 1))
    optlen = ctypes.c_uint32(buflen)
    with deadline(f"getsockopt(opt {opt}, optlen {buflen})"):
        rc = _libc.getsockopt(s.fileno(), uapi.SOL_QUIC, opt, buf, ctypes.byref(optlen))
    if rc < 0:
        return ctypes.get_errno(), b"", b""
    got = optlen.value
    assert got <= buflen, f"getsockopt(opt {opt}) returned optlen {got} > buffer {buflen}"
    raw = buf.raw[:size]
    return 0, raw[:got], raw[got:]


def check_get(s: socket.socket, opt: int, buflen: int, tally: Tally, label: str) -> None:
    """One getsockopt prefilled 0xff: nothing past the returned length
    written, padding and reserved bytes zero."""
    prefix = INPUT_PREFIX.get(opt, b"")
    err, out, rest = raw_getsockopt(s, opt, prefix, buflen, 0xFF)
    tally.add("get", err)
    if err or buflen > 4096:
        return
    assert rest == b"\xff" * len(rest), (
        f"{label}: getsockopt(opt {opt}, {buflen}) wrote past the {len(out)} bytes it returned")
    cls = STRUCTS.get(opt)
    if cls is not None and len(out) == ctypes.sizeof(cls):
        dirty = sorted(i for i in padding_bytes(cls) if out[i] != 0)
        assert not dirty, (f"{label}: getsockopt(opt {opt}) returned uninitialised "
                           f"bytes at offsets {dirty}: {out.hex()}")
        tally.checked += 1
    if opt not in GET_CHANGES:
        err2, out2, _ = raw_getsockopt(s, opt, prefix, buflen, 0x00)
        tally.add("get", err2)
        if not err2:
            assert out2 == out, (f"{label}: getsockopt(opt {opt}) answer depends on the "
                                 f"buffer's old contents: {out.hex()} vs {out2.hex()}")


def cmsg(r: random.Random) -> tuple[int, int, bytes]:
    level = r.choice([uapi.SOL_QUIC] * 6 + [socket.SOL_SOCKET, socket.IPPROTO_IP, 0])
    ctype = r.choice([0, 0, 1, 1, 2, 255])
    n = r.choice([0, 1, 4, 8, 15, 16, 17, 24, r.randrange(64)])
    if ctype == uapi.QUIC_STREAM_INFO and n == STREAM_INFO_SIZE and r.random() < 0.7:
        flags = r.choice([0, uapi.MSG_QUIC_STREAM_NEW, uapi.MSG_QUIC_STREAM_FIN,
                          uapi.MSG_QUIC_STREAM_UNI | uapi.MSG_QUIC_STREAM_NEW,
                          r.randrange(1 << 32)])
        sid = r.choice([-1, 0, 1, 2, 3, 4, 1 << 40, (1 << 62) - 1, -(1 << 63)])
        return level, ctype, bytes(uapi.QuicStreamInfo(sid, flags))
    return level, ctype, r.randbytes(n)


MSG_FLAGS = (0, socket.MSG_DONTWAIT, uapi.MSG_QUIC_STREAM_NEW, uapi.MSG_QUIC_STREAM_FIN,
             uapi.MSG_QUIC_STREAM_UNI, uapi.MSG_QUIC_DATAGRAM, socket.MSG_MORE, socket.MSG_OOB,
             socket.MSG_PEEK, socket.MSG_WAITALL, socket.MSG_TRUNC, socket.MSG_ERRQUEUE)


def msg_flags(r: random.Random) -> int:
    f = socket.MSG_DONTWAIT if r.random() < 0.7 else 0
    for _ in range(r.randrange(3)):
        f |= r.choice(MSG_FLAGS)
    return f


def fuzz_msgs(r: random.Random, s: socket.socket, n: int, tally: Tally, label: str) -> None:
    for _ in range(n):
        if r.random() < 0.6:
            anc = [cmsg(r) for _ in range(r.choice([0, 1, 1, 2, 3]))]
            data = r.randbytes(r.choice([0, 1, 100, 1400, 5000]))
            flags = msg_flags(r) | socket.MSG_NOSIGNAL
            with deadline(f"{label}: sendmsg(flags {flags:#x}, cmsgs {anc})"):
                err = _errno_of(lambda: s.sendmsg([data], anc, flags))  # noqa: B023
            tally.add("sendmsg", err)
        else:
            bufsize = r.choice([0, 1, 64, 65536])
            ancsize = r.choice([0, 1, 8, 16, socket.CMSG_SPACE(16) - 1, 256])
            flags = msg_flags(r) & ~socket.MSG_WAITALL
            with deadline(f"{label}: recvmsg({bufsize}, {ancsize}, flags {flags:#x})"):
                err = _errno_of(lambda: s.recvmsg(bufsize, ancsize, flags))  # noqa: B023
            tally.add("recvmsg", err)


def _errno_of(fn: Callable[[], object]) -> int:
    try:
        fn()
    except OSError as e:
        return e.errno or errno.EIO
    return 0


def fuzz_options(r: random.Random, s: socket.socket, rounds: int, tally: Tally,
                 label: str) -> None:
    opts = list(STRUCTS) + list(BOGUS_OPTS)
    for _ in range(rounds):
        opt = r.choice(opts)
        for n in lengths(r, opt):
            if r.random() < 0.5:
                tally.add("set", raw_setsockopt(s, opt, contents(r, opt, min(n, 4096)), n))
            else:
                check_get(s, opt, n, tally, label)


def fuzz_socket(r: random.Random, s: socket.socket, rounds: int, label: str) -> Tally:
    """Options, then messages, then options again on one socket."""
    tally = Tally()
    # blocking mode: a Python timeout would poll() before each call, so the
    # kernel's own SO_SNDTIMEO/SO_RCVTIMEO and MSG_DONTWAIT handling would
    # not be what bounds the call
    s.settimeout(None)
    with contextlib.suppress(OSError):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, SOCK_TIMEOUT)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, SOCK_TIMEOUT)
    fuzz_options(r, s, rounds, tally, label)
    fuzz_msgs(r, s, rounds, tally, label)
    fuzz_options(r, s, rounds // 2, tally, label)
    return tally


# ---- the socket states ---------------------------------------------------

State = Callable[[int, int], list[socket.socket]]


def _host(family: int) -> str:
    return "127.0.0.1" if family == socket.AF_INET else "::1"


def st_new(family: int, type_: int) -> list[socket.socket]:
    return [qt.quic_socket(family, type_)]


def st_bound(family: int, type_: int) -> list[socket.socket]:
    s = qt.quic_socket(family, type_)
    s.bind((_host(family), 0))
    return [s]


def st_listening(family: int, type_: int) -> list[socket.socket]:
    s = st_bound(family, type_)[0]
    s.listen(4)
    return [s]


def st_connecting(family: int, type_: int) -> list[socket.socket]:
    """connect() issued to a listener, handshake not started."""
    lsk = st_listening(family, type_)[0]
    c = qt.quic_socket(family, type_)
    c.connect(lsk.getsockname()[:2])
    return [c, lsk]


def st_established(family: int, type_: int) -> list[socket.socket]:
    lsk, c, s = qt.connect_pair(family, type_, timeout=15)
    return [c, s, lsk]


def st_closed(family: int, type_: int) -> list[socket.socket]:
    """A client whose peer closed the connection."""
    lsk, c, s = qt.connect_pair(family, type_, timeout=15)
    s.close()
    qt.wait_for(lambda: qt.state_of(c) == "CLOSED", 10, "the client to see the close")
    return [c, lsk]


STATES: dict[str, State] = {
    "new": st_new, "bound": st_bound, "listening": st_listening,
    "connecting": st_connecting, "established": st_established, "closed": st_closed,
}
FAMILIES = {"inet": socket.AF_INET, "inet6": socket.AF_INET6}
TYPES = {"stream": socket.SOCK_STREAM, "dgram": socket.SOCK_DGRAM}


def combos() -> Iterator[tuple[str, str, str]]:
    for state in STATES:
        for fam in FAMILIES:
            for typ in TYPES:
                yield state, fam, typ


def run_combo(seed: int, state: str, fam: str, typ: str, rounds: int) -> Tally:
    """Fuzz every socket of one state/family/type, then close them."""
    r = random.Random(f"{seed}/{state}/{fam}/{typ}")
    socks = STATES[state](FAMILIES[fam], TYPES[typ])
    total = Tally()
    try:
        for i, s in enumerate(socks):
            total.merge(fuzz_socket(r, s, rounds, f"{state}/{fam}/{typ}[{i}]"))
    finally:
        for s in socks:
            s.close()
    return total


def os_seed() -> int:
    return int.from_bytes(os.urandom(4), "little")
