"""Hostile peers and generators shared by the adversarial VM tests.

Seeded: every run prints its seed; QUIC_FUZZ_SEED=N repeats one.
KQUIC_HOSTILE_PACKETS scales every run.

The hostile peer (``hostile_pair``): the kernel client (in a second
namespace) does the handshake with the test driver's fixed secrets; then
everything the server sends to it is dropped (netem, loss 100%), so it
never sees the acknowledgements of packets it did not send, and a raw
socket in its namespace sends 1-RTT packets built here, from the client's
address and port, with the client's keys and packet numbers far above its
own.
"""

from __future__ import annotations

import os
import random
import socket
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kquictest import quic_testdriver as qt
from kquictest.netemlink import HERE, Link, netem_link
from libquic.cmsg import quic_recvmsg

CIPHER = qt.TLS_CIPHER_AES_GCM_128

SEED = int(os.environ.get("QUIC_FUZZ_SEED", "0")) or random.randrange(1 << 30)
# The size of a hostile run in packets (CI: 3000; ``make soak``: 60000).
PACKETS = int(os.environ.get("KQUIC_HOSTILE_PACKETS", "3000"))


def rng() -> random.Random:
    print(f"fuzz seed {SEED} (QUIC_FUZZ_SEED to repeat)")
    return random.Random(SEED)


def mutations(r: random.Random, base: bytes, n: int) -> Iterator[bytes]:
    """Truncations, bit flips, byte stomps and splices of a valid packet."""
    for _ in range(n):
        b = bytearray(base)
        k = r.randrange(5)
        if k == 0:
            b = b[: r.randrange(len(b))]
        elif k == 1:
            for _ in range(r.randrange(1, 8)):
                i = r.randrange(len(b))
                b[i] ^= 1 << r.randrange(8)
        elif k == 2:
            i = r.randrange(min(len(b), 64))
            b[i : i + 4] = os.urandom(4)
        elif k == 3:
            b = b[: r.randrange(1, 64)] + os.urandom(r.randrange(0, 1400))
        else:
            i = r.randrange(len(b))
            b = b[:i] + b[i : i + r.randrange(1, 50)] * r.randrange(1, 5) + b[i:]
        yield bytes(b)


def random_headers(r: random.Random, dcid: bytes, n: int) -> Iterator[bytes]:
    for _ in range(n):
        k = r.randrange(6)
        if k == 0:  # pure noise
            yield os.urandom(r.randrange(0, 1500))
        elif k == 1:  # short header to a real CID
            yield bytes([0x40 | r.randrange(64)]) + dcid + os.urandom(r.randrange(0, 1300))
        elif k == 2:  # long header, huge CID lengths
            yield (
                bytes([0xC0 | r.randrange(64)])
                + struct.pack(">I", 1)
                + bytes([r.randrange(256)])
                + os.urandom(r.randrange(0, 100))
            )
        elif k == 3:  # Initial/Handshake to a real CID with a bogus Length
            t = r.choice([0xC3, 0xE3])
            h = bytes([t]) + struct.pack(">I", 1) + bytes([len(dcid)]) + dcid + b"\x08"
            h += os.urandom(8) + (b"\x00" if t == 0xC3 else b"")
            yield h + qt.varint(r.randrange(0, 1 << 14)) + os.urandom(r.randrange(0, 1300))
        elif k == 4:  # other versions / version negotiation / retry
            v = r.choice([0, 2, 0xFF00001D, 0x6B3343CF])
            yield (
                bytes([0xC0 | r.randrange(64)])
                + struct.pack(">I", v)
                + b"\x08"
                + dcid
                + (os.urandom(r.randrange(0, 1300)))
            )
        else:  # varint edge cases
            yield (
                bytes([0xC3])
                + struct.pack(">I", 1)
                + b"\x08"
                + dcid
                + b"\x00"
                + (b"\xff" * r.randrange(1, 20))
            )


def send_all(u: socket.socket, dst: tuple, pkts: Iterator[bytes]) -> int:
    n = 0
    for p in pkts:
        try:
            u.sendto(p, dst)
            n += 1
        except OSError:
            pass
    return n


def stream_frame(sid: int, off: int, data: bytes, fin: bool = False) -> bytes:
    return (bytes([0x0E | int(fin)]) + qt.varint(sid) + qt.varint(off)
            + qt.varint(len(data)) + data)


def crypto_frame(off: int, data: bytes) -> bytes:
    return b"\x06" + qt.varint(off) + qt.varint(len(data)) + data


def dgram_frame(data: bytes) -> bytes:
    return b"\x31" + qt.varint(len(data)) + data


@dataclass
class Hostile:
    """1-RTT packets from the client's address with the client's keys."""

    raw: socket.socket
    sport: int
    dst: tuple[str, int]
    dcid: bytes
    pn: int = 1 << 20
    keys: tuple[bytes, bytes, bytes] = field(init=False)

    def __post_init__(self) -> None:
        sec = qt.secret_for("client", qt.QUIC_CRYPTO_APP, CIPHER)
        self.keys = (qt.hkdf_expand_label(sec, "quic key", 16),
                     qt.hkdf_expand_label(sec, "quic iv", 12),
                     qt.hkdf_expand_label(sec, "quic hp", 16))

    def packet(self, frames: bytes) -> bytes:
        key, iv, hp = self.keys
        pn = self.pn
        self.pn += 1
        header = bytes([0x43]) + self.dcid + pn.to_bytes(4, "big")
        pn_off = 1 + len(self.dcid)
        nonce = bytes(x ^ y for x, y in zip(iv, pn.to_bytes(12, "big"), strict=True))
        pkt = bytearray(header + AESGCM(key).encrypt(nonce, frames, header))
        mask = qt.hp_mask(hp, bytes(pkt[pn_off + 4 : pn_off + 20]))
        pkt[0] ^= mask[0] & 0x1F
        for k in range(4):
            pkt[pn_off + k] ^= mask[1 + k]
        return bytes(pkt)

    def send(self, frames: bytes) -> None:
        self.send_packet(self.packet(frames))

    def send_packet(self, pkt: bytes) -> None:
        """Send an already protected packet (e.g. a replay of one)."""
        udp = struct.pack(">HHHH", self.sport, self.dst[1], 8 + len(pkt), 0)
        self.raw.sendto(udp + pkt, (self.dst[0], 0))

    def send_frames(self, frames: list[bytes], mtu: int = 1200) -> None:
        """Pack ``frames`` into packets of at most ``mtu`` bytes of frames."""
        buf = b""
        for f in frames:
            if buf and len(buf) + len(f) > mtu:
                self.send(buf)
                buf = b""
            buf += f
        if buf:
            self.send(buf)


@dataclass
class Victim:
    server: socket.socket
    client: socket.socket
    peer: Hostile
    link: Link


@contextmanager
def hostile_pair(server_tp: dict[str, int] | None = None,
                 rcvbuf: int | None = None, delay_ms: int = 0) -> Iterator[Victim]:
    """A server HERE whose peer is a Hostile in the namespace THERE
    (``rcvbuf``: the server's SO_RCVBUF once established; ``delay_ms``:
    the server's packets to THERE are delayed so much)."""
    with netem_link(delay_ms) as link:
        lsk = qt.quic_socket(socket.AF_INET)
        if server_tp:
            qt.set_tp(lsk, **server_tp)
        lsk.bind((HERE, 0))
        lsk.listen(1)
        c = link.ns.run(lambda: qt.quic_socket(socket.AF_INET))
        raw = link.ns.run(
            lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP))
        box: dict[str, socket.socket] = {}
        try:
            c.connect((HERE, lsk.getsockname()[1]))

            def server() -> None:
                lsk.settimeout(30)
                box["s"], _ = lsk.accept()
                qt.server_handshake(box["s"], cipher=CIPHER, timeout=30)

            qt.run_threads(lambda: qt.client_handshake(c, cipher=CIPHER, timeout=30),
                           server, timeout=45)
            s = box["s"]
            qt.wait_for(lambda: qt.state_of(s) == "ESTABLISHED", 10, "server ESTABLISHED")
            time.sleep(0.5)  # the last handshake packets settle
            link.loss(100)  # the client no longer hears the server
            if rcvbuf is not None:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            dcid = bytes.fromhex(qt.eps_row(s)["SCID"])
            peer = Hostile(raw, c.getsockname()[1], (HERE, lsk.getsockname()[1]), dcid)
            yield Victim(s, c, peer, link)
        finally:
            for k in box.values():
                k.close()
            raw.close()
            c.close()
            lsk.close()


# ---- what the victim holds ---------------------------------------------------

SO_MEMINFO = 55


def meminfo(s: socket.socket) -> tuple[int, int]:
    """(charged receive memory, receive budget) of ``s`` from SO_MEMINFO."""
    raw = s.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 9 * 4)
    rmem, rcvbuf = struct.unpack_from("<II", raw)
    return rmem, rcvbuf


def settle(s: socket.socket, timeout: float = 20) -> None:
    """Wait until the server has processed what was sent (rmem is still)."""
    last, still = -1, 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and still < 5:
        now = meminfo(s)[0]
        still = still + 1 if now == last else 0
        last = now
        time.sleep(0.2)


def drain(s: socket.socket, got: dict[int, bytearray], quiet: float = 0.5) -> int:
    """Read what is there into ``got`` (per stream); bytes read."""
    n = 0
    while qt.wait_readable(s, quiet):
        m = quic_recvmsg(s, 65536, socket.MSG_DONTWAIT)
        if m.is_event or m.is_datagram or m.stream_id is None:
            n += len(m.data)
            continue
        got.setdefault(m.stream_id, bytearray()).extend(m.data)
        n += len(m.data)
    return n


# ---- frames with random and extreme fields --------------------------------

EXTREMES = (0, 1, 63, 64, 16383, 16384, (1 << 30) - 1, 1 << 30, (1 << 62) - 1)
FRAME_TYPES = (0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, *range(0x08, 0x10), 0x10, 0x11,
               0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E,
               0x30, 0x31, 0x21, 0x3F, 0x4000)


def _value(r: random.Random) -> int:
    return r.choice(EXTREMES) if r.random() < 0.5 else r.randrange(1 << r.choice((6, 14, 30)))


def random_frame(r: random.Random) -> bytes:
    """One frame of any type (known, reserved or unknown) with random or
    extreme field values, sometimes cut short or with junk after it."""
    t = r.choice(FRAME_TYPES)
    body = b"".join(qt.varint(_value(r)) for _ in range(r.randrange(0, 5)))
    if r.random() < 0.3:
        body += os.urandom(r.randrange(0, 64))
    out = qt.varint(t) + body
    if r.random() < 0.1:
        out = out[: r.randrange(1, len(out) + 1)]
    return out


def random_frames(r: random.Random, n: int) -> list[bytes]:
    return [b"".join(random_frame(r) for _ in range(r.randrange(1, 4))) for _ in range(n)]


# ---- Initial floods --------------------------------------------------------

def initial_flood(r: random.Random, n: int) -> Iterator[tuple[int, bytes]]:
    """(source port, datagram): client Initials from many ports, most of them
    correctly protected (a ClientHello-like CRYPTO frame), some corrupted."""
    for _ in range(n):
        dcid, scid = os.urandom(8), os.urandom(8)
        hello = qt.msg(b"CH", os.urandom(r.randrange(0, 300)))
        pkt = qt.build_initial(dcid, scid, 0, b"\x06\x00" + qt.varint(len(hello)) + hello,
                               qt.initial_keys(dcid, server=False))
        if r.random() < 0.2:
            b = bytearray(pkt)
            b[r.randrange(len(b))] ^= 0xFF
            pkt = bytes(b)
        yield r.randrange(1024, 65536), pkt


def raw_udp(raw: socket.socket, sport: int, dst: tuple[str, int], payload: bytes) -> None:
    """Send ``payload`` from ``sport`` (any port: a raw socket spoofs it)."""
    udp = struct.pack(">HHHH", sport, dst[1], 8 + len(payload), 0)
    raw.sendto(udp + payload, (dst[0], 0))


def quic_socket_count() -> int:
    with open("/proc/net/quic/eps") as f:
        return sum(1 for _ in f) - 1
