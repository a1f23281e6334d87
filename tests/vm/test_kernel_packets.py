"""Wire format: decrypt what the kernel sends with RFC 9001 keys in Python.

A plain UDP socket stands in for the peer, scapy captures the datagram on
lo, and the packets are unprotected with the Initial keys derived from the
DCID, independently of the kernel's crypto code.
"""

from __future__ import annotations

import os
import socket
import struct
import time

import pytest

from kquictest import quic_testdriver as qt

scapy_all = pytest.importorskip("scapy.all")


def udp_peer(family=socket.AF_INET, host="127.0.0.1"):
    u = socket.socket(family, socket.SOCK_DGRAM)
    u.bind((host, 0))
    u.settimeout(5)
    return u


def crypto_data(frames):
    """Concatenated CRYPTO data, checking offsets are contiguous from 0."""
    out = b""
    for t, f in frames:
        if t == 0x06:
            assert f["offset"] == len(out), "CRYPTO data not in order from offset 0"
            out += f["data"]
    return out


def test_client_initial_format():
    u = udp_peer()
    port = u.getsockname()[1]
    sniffer = scapy_all.AsyncSniffer(
        iface="lo",
        lfilter=lambda p: p.haslayer(scapy_all.UDP) and p[scapy_all.UDP].dport == port,
        count=1,
    )
    sniffer.start()
    time.sleep(0.3)
    c = qt.quic_socket(socket.AF_INET)
    try:
        c.connect(("127.0.0.1", port))
        hello = qt.msg(b"CH", os.urandom(300))
        qt.hs_send(c, qt.QUIC_CRYPTO_INITIAL, hello)
        dgram = u.recv(65536)
        sniffer.join(timeout=5)
        pkts = sniffer.results or []

        # RFC 9000 14.1: client datagrams with Initials are >= 1200 bytes
        assert len(dgram) >= 1200
        assert dgram[0] & 0xF0 == 0xC0, "long header, fixed bit, type Initial"
        dcid = dgram[6 : 6 + dgram[5]]
        assert len(dcid) == 8, "8-byte random DCID"
        p = qt.parse_initial(dgram, 0, qt.initial_keys(dcid, server=False))
        assert p.version == 1
        assert len(p.scid) == 8
        assert p.token == b""
        assert p.pn == 0
        assert p.first & 0x0C == 0, "reserved bits"
        frames = qt.parse_frames(p.payload)
        assert frames[0][0] == 0x06 and frames[0][1]["offset"] == 0
        assert crypto_data(frames) == hello
        assert all(t in (0x00, 0x06) for t, _ in frames), frames

        # the same datagram as scapy saw it on lo
        assert pkts, "scapy did not capture the Initial"
        cap = pkts[0]
        assert bytes(cap[scapy_all.UDP].payload) == dgram
        assert cap[scapy_all.UDP].sport == c.getsockname()[1]
        assert cap[scapy_all.UDP].len == 8 + len(dgram)
        assert cap[scapy_all.IP].src == "127.0.0.1"

        # nobody answers: the PTO resends the same CRYPTO data, new pn
        u.settimeout(5)
        again = u.recv(65536)
        assert len(again) >= 1200
        p2 = qt.parse_initial(again, 0, qt.initial_keys(dcid, server=False))
        assert p2.pn > p.pn
        assert crypto_data(qt.parse_frames(p2.payload)) == hello
    finally:
        c.close()
        u.close()


def fake_client_initial(server, dcid, scid, pn, frames, pad_to=1200):
    return qt.build_initial(dcid, scid, pn, frames, qt.initial_keys(dcid, server=False), pad_to)


def listener(family=socket.AF_INET, host="127.0.0.1"):
    lsk = qt.quic_socket(family)
    lsk.bind((host, 0))
    lsk.listen(8)
    lsk.settimeout(10)
    return lsk


def test_server_initial_format_and_amplification():
    lsk = listener()
    u = udp_peer()
    dcid, scid = os.urandom(8), os.urandom(8)
    hello = qt.msg(b"CH", bytes(100))
    frames = b"\x06\x00" + qt.varint(len(hello)) + hello
    u.sendto(fake_client_initial(None, dcid, scid, 0, frames), lsk.getsockname())
    s, _ = lsk.accept()
    try:
        kind, _ = qt.Reader(s).message(qt.QUIC_CRYPTO_INITIAL, time.monotonic() + 10)
        assert kind == b"CH"
        sh = qt.msg(b"SH", bytes(50))
        qt.hs_send(s, qt.QUIC_CRYPTO_INITIAL, sh, more=True)
        qt.install(s, True, qt.QUIC_CRYPTO_HANDSHAKE, True, qt.TLS_CIPHER_AES_GCM_128)
        qt.install(s, True, qt.QUIC_CRYPTO_HANDSHAKE, False, qt.TLS_CIPHER_AES_GCM_128)
        # a flight far beyond 3 x 1200 bytes
        qt.hs_send(s, qt.QUIC_CRYPTO_HANDSHAKE, qt.msg(b"EE", bytes(9000)))

        got = qt.udp_recv_all(u, quiet=1.5, total=6)
        total = sum(len(d) for d in got)
        # RFC 9000 8.1: at most three times what the client sent (1200)
        assert 0 < total <= 3 * 1200, (total, [len(d) for d in got])

        fr = []
        coalesced = False
        for d in got:
            if d[0] & 0xF0 != 0xC0:  # starts with a Handshake packet
                continue
            p = qt.parse_initial(d, 0, qt.initial_keys(dcid, server=True))
            assert p.dcid == scid, "the server sends to the client's SCID"
            assert len(p.scid) == 8 and p.scid != dcid, "the server picks its own CID"
            frames_ = qt.parse_frames(p.payload)
            if any(t not in (0x00, 0x02, 0x03) for t, _ in frames_):
                assert len(d) >= 1200, "ack-eliciting server Initial padded"
            if len(d) > p.length:
                coalesced = coalesced or d[p.length] & 0xF0 == 0xE0
            fr += frames_
        acks = [f for t, f in fr if t == 0x02]
        assert acks and acks[0]["largest"] == 0, "the client Initial is acknowledged"
        assert crypto_data(fr) == sh
        assert coalesced, "a Handshake packet is coalesced after an Initial"

        # another 1200 bytes from the client unlock more (ack + padding)
        ack = b"\x02\x00\x00\x00\x00"
        u.sendto(fake_client_initial(None, dcid, scid, 1, ack), lsk.getsockname())
        more = qt.udp_recv_all(u, quiet=1.5, total=6)
        total2 = sum(len(d) for d in more)
        assert total2 > 0 and total + total2 <= 3 * 2400, (total, total2)
    finally:
        s.close()
        lsk.close()
        u.close()


MALFORMED = [
    # (frames, expected transport error code)
    (b"\x06\x00\x4f\xff" + b"x" * 10, 0x07),  # CRYPTO longer than the packet
    (b"\x02\x05\x00\x00\x09", 0x07),  # ACK first range above largest
    (b"\x06\x00\x50\x00", 0x07),  # CRYPTO length past the end of the packet
    (b"\x02\x40\x50\x00\x00\x00", 0x0A),  # ACK of a packet never sent
    (b"\x08\x00\x41", 0x0A),  # STREAM in an Initial packet
    (b"\x1e", 0x0A),  # HANDSHAKE_DONE in an Initial packet
    (b"\x40\x40", 0x0A),  # unknown frame type (not allowed in Initial)
    (b"\x06\x80\x02\x00\x00\x05hello", 0x0D),  # CRYPTO far ahead: buffer exceeded
]


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
@pytest.mark.parametrize(
    "frames,code", MALFORMED, ids=[f"{c:#x}-{i}" for i, (_, c) in enumerate(MALFORMED)]
)
def test_malformed_frames_close_with_error(frames, code):
    lsk = listener()
    u = udp_peer()
    dcid, scid = os.urandom(8), os.urandom(8)
    hello = qt.msg(b"CH")
    good = b"\x06\x00" + qt.varint(len(hello)) + hello
    u.sendto(fake_client_initial(None, dcid, scid, 0, good), lsk.getsockname())
    s, _ = lsk.accept()
    try:
        qt.Reader(s).message(qt.QUIC_CRYPTO_INITIAL, time.monotonic() + 10)
        u.sendto(fake_client_initial(None, dcid, scid, 1, frames), lsk.getsockname())
        got = qt.udp_recv_all(u, quiet=1.0, total=5)
        assert got, "no CONNECTION_CLOSE"
        closes = []
        for d in got:
            p = qt.parse_initial(d, 0, qt.initial_keys(dcid, server=True))
            closes += [f for t, f in qt.parse_frames(p.payload) if t == 0x1C]
        assert closes and closes[-1]["code"] == code, closes
        qt.wait_for(lambda: qt.state_of(s) == "CLOSED", 5, "server socket CLOSED")
        # closing state: a further packet is answered with the close again
        u.sendto(fake_client_initial(None, dcid, scid, 2, b"\x01"), lsk.getsockname())
        again = qt.udp_recv_all(u, quiet=1.0, total=3)
        assert again, "no CONNECTION_CLOSE in the closing state"
        p = qt.parse_initial(again[0], 0, qt.initial_keys(dcid, server=True))
        assert [f["code"] for t, f in qt.parse_frames(p.payload) if t == 0x1C] == [code]
        s.settimeout(5)
        qt.expect_errno(lambda: s.recv(10), 103)  # ECONNABORTED
    finally:
        s.close()
        lsk.close()
        u.close()


def test_forged_initials_are_not_accepted():
    """Initials that cannot be opened never turn into accepted sockets."""
    lsk = listener()
    u = udp_peer()
    try:
        for _ in range(5):
            junk = bytes([0xC3]) + struct.pack(">I", 1) + b"\x08" + os.urandom(8)
            junk += b"\x08" + os.urandom(8) + b"\x00" + struct.pack(">H", 0x4000 | 1170)
            junk += os.urandom(1200 - len(junk))
            u.sendto(junk, lsk.getsockname())
        lsk.settimeout(1.5)
        with pytest.raises(TimeoutError):
            lsk.accept()
        # a real client still gets through
        lsk2, c, s = qt.connect_pair()
        for x in (lsk2, c, s):
            x.close()
    finally:
        lsk.close()
        u.close()


def test_version_negotiation():
    lsk = listener()
    u = udp_peer()
    try:
        dcid, scid = os.urandom(8), os.urandom(8)
        pkt = bytes([0xC0]) + struct.pack(">I", 0x1A2A3A4A) + b"\x08" + dcid + b"\x08" + scid
        u.sendto(pkt + os.urandom(1200 - len(pkt)), lsk.getsockname())
        vn = u.recv(2048)
        assert vn[0] & 0x80
        assert struct.unpack(">I", vn[1:5])[0] == 0
        assert vn[5] == 8 and vn[6:14] == scid, "VN goes back to the client's SCID"
        assert vn[14] == 8 and vn[15:23] == dcid
        versions = struct.unpack(f">{(len(vn) - 23) // 4}I", vn[23:])
        # v1, v2 and one reserved version (RFC 9000 15), anywhere
        grease = [v for v in versions if v & 0x0F0F0F0F == 0x0A0A0A0A]
        assert len(versions) == 3 and len(grease) == 1, [hex(v) for v in versions]
        assert set(versions) - set(grease) == {1, 0x6B3343CF}
        assert grease[0] != 0x1A2A3A4A, "not the version the client asked for"
        # too small a datagram gets no answer
        u.sendto(pkt + bytes(100), lsk.getsockname())
        u.settimeout(1)
        with pytest.raises(TimeoutError):
            u.recv(2048)
    finally:
        lsk.close()
        u.close()


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_connect_sends_nothing_until_the_handshake():
    """connect() sends nothing; closing such a socket sends nothing either."""
    u = udp_peer()
    c = qt.quic_socket(socket.AF_INET)
    try:
        c.connect(u.getsockname())
        assert qt.state_of(c) == "ESTABLISHING"
        c.close()
        u.settimeout(1)
        with pytest.raises(TimeoutError):
            u.recv(2048)
    finally:
        u.close()
