"""0-RTT test helpers: capturing the QUIC long-header packets sent to a port
on lo, and a libquic listener that serves one connection at a time."""

from __future__ import annotations

import hashlib
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from kquictest.quicpair import WAIT, Credentials
from libquic.connection import QuicConnection, QuicListener

ALPN = "zrtt"
ETH_P_IP = 0x0800
PACKET_HOST = 0
ZERO_RTT_V1 = 1  # long header packet type bits of 0-RTT in QUIC v1


# -- capturing QUIC long headers on lo ------------------------------------------

def _varint(buf: bytes, off: int) -> tuple[int, int]:
    n = 1 << (buf[off] >> 6)
    v = buf[off] & 0x3F
    for i in range(1, n):
        v = (v << 8) | buf[off + i]
    return v, off + n


def long_packets(dgram: bytes) -> list[tuple[int, int]]:
    """(type bits, payload length) of the coalesced long-header packets."""
    out: list[tuple[int, int]] = []
    off = 0
    while off < len(dgram) and dgram[off] & 0x80:
        ptype = (dgram[off] >> 4) & 3
        off += 5
        off += 1 + dgram[off]  # DCID
        off += 1 + dgram[off]  # SCID
        if ptype == 0:  # Initial: token
            tlen, off = _varint(dgram, off)
            off += tlen
        plen, off = _varint(dgram, off)
        out.append((ptype, plen))
        off += plen
    return out


def udp_payload(ip_packet: bytes) -> bytes:
    return ip_packet[(ip_packet[0] & 0xF) * 4 + 8:]


def zero_rtt_lengths(dgrams: list[list[tuple[int, int]]]) -> list[int]:
    return [plen for d in dgrams for ptype, plen in d if ptype == ZERO_RTT_V1]


class Capture:
    """UDP payloads sent to one port on lo (IPv4), read after the fact."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("lo", ETH_P_IP))

    def ip_packets_to(self, port: int) -> list[bytes]:
        """The IPv4 packets of the UDP datagrams to ``port`` seen so far."""
        out: list[bytes] = []
        self.sock.setblocking(False)
        while True:
            try:
                pkt, addr = self.sock.recvfrom(65535)
            except BlockingIOError:
                return out
            if addr[2] != PACKET_HOST or pkt[9] != socket.IPPROTO_UDP:
                continue
            ihl = (pkt[0] & 0xF) * 4
            if struct.unpack_from("!H", pkt, ihl + 2)[0] == port:
                out.append(pkt)

    def datagrams_to(self, port: int) -> list[bytes]:
        return [udp_payload(p) for p in self.ip_packets_to(port)]

    def long_headers(self, port: int) -> list[list[tuple[int, int]]]:
        """Per datagram to ``port``: its long-header packets (type, length)."""
        return [long_packets(d) for d in self.datagrams_to(port)]

    def zero_rtt_lengths(self, port: int) -> list[int]:
        return zero_rtt_lengths(self.long_headers(port))

    def close(self) -> None:
        self.sock.close()


# -- a listener that serves one connection at a time ----------------------------

@contextmanager
def zrtt_listener(creds: Credentials, **kw: Any) -> Iterator[QuicListener]:
    with QuicListener("127.0.0.1", 0, alpns=[ALPN], cert_file=creds.cert, key_file=creds.key,
                      **kw) as lsk:
        yield lsk


@contextmanager
def serving(lsk: QuicListener, serve: Callable[[QuicConnection], object]) -> Iterator[list[object]]:
    """Run ``serve`` on the next accepted connection in a thread; its result
    (or exception) is in the yielded list afterwards."""
    outcome: list[object] = []

    def run() -> None:
        try:
            with lsk.accept(WAIT) as conn:
                outcome.append(serve(conn))
        except BaseException as exc:  # checked by the caller
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield outcome
    finally:
        thread.join(WAIT * 2)
    assert outcome, "the server thread did not finish"


def hash_server(conn: QuicConnection) -> tuple[int, str, bool]:
    """Read the first stream to its end; answer with its SHA-256."""
    stream = conn.accept_stream(WAIT)
    data = stream.read_all(WAIT)
    digest = hashlib.sha256(data).hexdigest()
    stream.write(digest.encode(), fin=True)
    return len(data), digest, conn.early_data_accepted
