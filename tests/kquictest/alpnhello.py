"""ClientHellos on the wire for the ALPN-routing tests: malformed ones
built with scapy and sent as properly protected client Initials (RFC 9001
Initial keys, a full-size datagram), and the analysis of a captured
client's Initials to show that its ClientHello spanned two packets."""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass

from scapy.layers.tls.extensions import (
    TLS_Ext_ALPN,
    TLS_Ext_SupportedGroups,
    TLS_Ext_SupportedVersion_CH,
    TLS_Ext_Unknown,
)
from scapy.layers.tls.handshake import TLSClientHello
from scapy.layers.tls.keyexchange_tls13 import KeyShareEntry, TLS_Ext_KeyShare_CH

from kquictest import quic_testdriver as qt
from libquic.varint import encode_varint

ALPN_EXT = 16
TRANSPORT_PARAMETERS_EXT = 0x39
MALFORMED = ("truncated-extension", "alpn-past-end", "129-extensions", "empty-protocol-name")


def _alpn(*names: bytes, **fields: int) -> TLS_Ext_ALPN:
    from scapy.layers.tls.extensions import ProtocolName

    return TLS_Ext_ALPN(protocols=[ProtocolName(protocol=n) for n in names], **fields)


def client_hello(kind: str, alpn: bytes) -> bytes:
    """A ClientHello (with its handshake header) offering ``alpn``: "good",
    or one of MALFORMED, where exactly that part is broken and the ALPN
    extension comes after it."""
    head = [TLS_Ext_SupportedVersion_CH(versions=[0x0304]),
            TLS_Ext_SupportedGroups(groups=[0x001D]),
            TLS_Ext_KeyShare_CH(client_shares=[KeyShareEntry(group=0x001D,
                                                             key_exchange=os.urandom(32))]),
            TLS_Ext_Unknown(type=TRANSPORT_PARAMETERS_EXT, val=b"\x04\x04\x80\x10\x00\x00")]
    if kind == "good":
        exts = [*head, _alpn(alpn)]
    elif kind == "truncated-extension":
        # its length runs past the end of the extensions, over the ALPN one
        exts = [*head, TLS_Ext_Unknown(type=0xFAF0, len=200, val=b"trunc"), _alpn(alpn)]
    elif kind == "alpn-past-end":
        exts = [*head, _alpn(alpn, protocolslen=len(alpn) + 40)]
    elif kind == "129-extensions":
        filler = [TLS_Ext_Unknown(type=0xFA00 + i, val=b"") for i in range(128 - len(head))]
        exts = [*head, *filler, _alpn(alpn)]
        assert len(exts) == 129
    elif kind == "empty-protocol-name":
        exts = [*head, _alpn(b"", alpn)]
    else:
        raise ValueError(f"unknown ClientHello kind {kind}")
    return bytes(TLSClientHello(version=0x0303, gmt_unix_time=0, random_bytes=os.urandom(28),
                                sid=b"", ciphers=[0x1301], comp=[0], ext=exts))


def send_client_initial(crypto: bytes, dest: tuple[str, int]) -> int:
    """``crypto`` in a CRYPTO frame of a client Initial (a new 8-byte DCID,
    its Initial keys, a 1200-byte datagram) sent from a new UDP socket on
    127.0.0.1; returns that socket's port."""
    dcid, scid = os.urandom(8), os.urandom(8)
    frame = b"\x06" + encode_varint(0) + encode_varint(len(crypto)) + crypto
    packet = qt.build_initial(dcid, scid, 0, frame, qt.initial_keys(dcid, server=False))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.sendto(packet, dest)
        return int(s.getsockname()[1])


# -- a captured ClientHello ------------------------------------------------------

def udp_from(ip_packets: list[bytes], port: int) -> list[bytes]:
    """The UDP payloads of the IPv4 packets sent from ``port``."""
    out = []
    for p in ip_packets:
        ihl = (p[0] & 0xF) * 4
        if struct.unpack_from("!H", p, ihl)[0] == port:
            out.append(p[ihl + 8:])
    return out


@dataclass
class HelloSpan:
    """How a client's first flight carried its ClientHello."""

    hello: bytes  # the whole message, reassembled
    packets: dict[int, tuple[int, int]]  # packet number -> CRYPTO [start, end) it carried
    alpn_offset: int  # where the ALPN extension starts in the message

    def packets_holding(self, start: int, end: int) -> set[int]:
        return {pn for pn, (s, e) in self.packets.items() if s < end and start < e}


def extension_offset(hello: bytes, ext_type: int) -> int:
    """Offset of extension ``ext_type`` in a ClientHello message."""
    i = 4 + 2 + 32
    i += 1 + hello[i]  # session id
    i += 2 + int.from_bytes(hello[i:i + 2], "big")  # cipher suites
    i += 1 + hello[i]  # compression
    end = i + 2 + int.from_bytes(hello[i:i + 2], "big")
    i += 2
    while i < end:
        typ, n = struct.unpack_from("!HH", hello, i)
        if typ == ext_type:
            return i
        i += 4 + n
    raise KeyError(ext_type)


def hello_span(datagrams: list[bytes]) -> HelloSpan:
    """Open the client Initials in ``datagrams`` (a client's, in order) with
    the keys of its first DCID and map its ClientHello to packet numbers."""
    first = datagrams[0]
    dcid = first[6:6 + first[5]]
    keys = qt.initial_keys(dcid, server=False)
    pieces: list[tuple[int, bytes]] = []
    packets: dict[int, tuple[int, int]] = {}
    for d in datagrams:
        off = 0
        while off < len(d) and d[off] & 0xF0 == 0xC0:  # an Initial (v1) long header
            pkt = qt.parse_initial(d, off, keys)
            for ftype, f in qt.parse_frames(pkt.payload):
                if ftype == 0x06:
                    start, end = f["offset"], f["offset"] + len(f["data"])
                    pieces.append((start, f["data"]))
                    s, e = packets.get(pkt.pn, (start, end))
                    packets[pkt.pn] = (min(s, start), max(e, end))
            off += pkt.length
    total = max(start + len(data) for start, data in pieces)
    stream, have = bytearray(total), bytearray(total)
    for start, data in pieces:
        stream[start:start + len(data)] = data
        have[start:start + len(data)] = b"\1" * len(data)
    size = 4 + int.from_bytes(stream[1:4], "big")
    assert stream[0] == 1 and size <= total and all(have[:size]), \
        "the capture lacks part of the ClientHello"
    hello = bytes(stream[:size])
    return HelloSpan(hello, packets, extension_offset(hello, ALPN_EXT))
