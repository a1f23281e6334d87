"""The module skeleton: registration, bind/getsockname, procfs, sockopt rules.

Runs inside the VM with quic.ko loaded (scripts/vm-run).
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import time

import pytest

from kquictest.netns import Namespace
from kquictest.quic_testdriver import raw_bind
from libquic.sockopt import getsockopt_inout

IPPROTO_QUIC = 261
SOL_QUIC = 288
SO_PROTOCOL = 38

QUIC_SOCKOPT_EVENT = 0
QUIC_SOCKOPT_CONNECTION_CLOSE = 5
QUIC_SOCKOPT_TRANSPORT_PARAM = 8
QUIC_SOCKOPT_CONFIG = 9
QUIC_SOCKOPT_TOKEN = 10
QUIC_SOCKOPT_ALPN = 11

FAMILIES = [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")]
TYPES = [socket.SOCK_STREAM, socket.SOCK_DGRAM]

# struct quic_transport_param (56 bytes)
TP_FMT = "<8BHHIIHHQQQQ"
# struct quic_config (28 bytes)
CFG_FMT = "<IIIIBBBBB3xI"


def qsock(family=socket.AF_INET, type_=socket.SOCK_STREAM) -> socket.socket:
    s = socket.socket(family, type_, IPPROTO_QUIC)
    s.settimeout(5)
    return s


def read(path: str) -> str:
    with open(path) as f:
        return f.read()


def refcnt() -> int:
    with open("/sys/module/quic/refcnt") as f:
        return int(f.read())


def err_of(fn, *args) -> int:
    try:
        fn(*args)
    except OSError as e:
        return e.errno
    return 0


@pytest.mark.parametrize("family,addr", FAMILIES)
@pytest.mark.parametrize("type_", TYPES)
def test_create_bind_getsockname(family, addr, type_):
    with qsock(family, type_) as s:
        assert s.getsockopt(socket.SOL_SOCKET, SO_PROTOCOL) == IPPROTO_QUIC
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) == type_
        s.bind((addr, 0))
        name = s.getsockname()
        assert name[0] == addr
        assert name[1] != 0, "port 0 must autobind an ephemeral port"
        assert err_of(s.getpeername) == errno.ENOTCONN
        # a second bind is refused
        assert err_of(s.bind, (addr, 0)) == errno.EINVAL


@pytest.mark.parametrize("family,addr", FAMILIES)
def test_bind_wildcard_and_shared_port(family, addr):
    any_addr = "0.0.0.0" if family == socket.AF_INET else "::"
    with qsock(family) as a, qsock(family) as b:
        a.bind((any_addr, 0))
        port = a.getsockname()[1]
        assert port
        # QUIC sockets on one address share its UDP socket (CID demux)
        b.bind((any_addr, port))
        assert b.getsockname()[1] == port
        # a plain UDP socket cannot take the port any more
        with socket.socket(family, socket.SOCK_DGRAM) as u:
            assert err_of(u.bind, (any_addr, port)) == errno.EADDRINUSE


def test_bind_errors():
    with qsock() as s:
        sin6 = (
            struct.pack("<H", socket.AF_INET6)
            + bytes(2 + 4)
            + socket.inet_pton(socket.AF_INET6, "::1")
            + bytes(4)
        )
        assert err_of(raw_bind, s, sin6) == errno.EAFNOSUPPORT
        assert err_of(raw_bind, s, b"\x02") == errno.EINVAL
        # not a local address
        assert err_of(s.bind, ("192.0.2.1", 0)) == errno.EADDRNOTAVAIL
    with qsock(socket.AF_INET6) as s:
        # v4-mapped addresses only without IPV6_V6ONLY (see test_dual_stack)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        assert err_of(s.bind, ("::ffff:127.0.0.1", 0)) == errno.EAFNOSUPPORT
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        with qsock() as s:
            assert err_of(s.bind, ("127.0.0.1", port)) == errno.EADDRINUSE


def test_port_released_on_close():
    s = qsock()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    # the tunnel socket is released asynchronously (RCU grace period)
    deadline = time.monotonic() + 5
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            if not err_of(u.bind, ("127.0.0.1", port)):
                break
        assert time.monotonic() < deadline, "port not released after close"
        time.sleep(0.05)


def test_module_refcount():
    # let sockets of earlier tests finish their RCU-deferred free
    deadline = time.monotonic() + 5
    while refcnt() != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    base = refcnt()
    socks = [qsock(f, t) for f, _ in FAMILIES for t in TYPES]
    # each socket pins the module through its proto_ops and its proto
    assert refcnt() == base + 2 * len(socks)
    for s in socks:
        s.close()
    # sockets are freed after an RCU grace period
    deadline = time.monotonic() + 5
    while refcnt() != base and time.monotonic() < deadline:
        time.sleep(0.05)
    assert refcnt() == base


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_proc_entries():
    with qsock() as s, qsock(socket.AF_INET6, socket.SOCK_DGRAM) as s6:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        eps = read("/proc/net/quic/eps")
        lines = eps.splitlines()
        assert lines[0].startswith("INODE")
        ino = os.fstat(s.fileno()).st_ino
        ino6 = os.fstat(s6.fileno()).st_ino
        mine = [ln for ln in lines[1:] if ln.split()[0] == str(ino)]
        assert len(mine) == 1, eps
        assert f"127.0.0.1:{port}" in mine[0]
        assert "INET" in mine[0] and "STREAM" in mine[0] and "CLOSED" in mine[0]
        assert any(
            ln.split()[0] == str(ino6) and "INET6" in ln and "DGRAM" in ln for ln in lines[1:]
        )
    assert str(ino) not in [ln.split()[0] for ln in read("/proc/net/quic/eps").splitlines()[1:]]
    snmp = dict(ln.split() for ln in read("/proc/net/quic/snmp").splitlines())
    for name in ("QuicConnCurrentEstabs", "QuicPktRcv", "QuicPktSent"):
        assert name in snmp
        int(snmp[name])


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_proc_per_netns(netns: Namespace):
    out = netns.read("/proc/net/quic/snmp") + netns.read("/proc/net/quic/eps")
    assert "QuicConnCurrentEstabs" in out
    # a socket of ours is not listed in the other namespace
    with qsock() as s:
        ino = os.fstat(s.fileno()).st_ino
        out = netns.read("/proc/net/quic/eps")
        assert str(ino) not in [ln.split()[0] for ln in out.splitlines()[1:]]


def test_sockopt_rules():
    with qsock() as s:
        # unknown option numbers
        assert err_of(s.setsockopt, SOL_QUIC, 99, b"\0" * 4) == errno.ENOPROTOOPT
        assert err_of(s.getsockopt, SOL_QUIC, 99, 16) == errno.ENOPROTOOPT
        # optlen > 4096 is rejected
        assert err_of(s.setsockopt, SOL_QUIC, QUIC_SOCKOPT_CONFIG, b"\0" * 4097) == errno.EINVAL
        # but a long struct is accepted: the common prefix is used
        cfg = struct.pack(CFG_FMT, 0, 0, 100000, 0, 1, 0, 0, 0, 0, 0)
        s.setsockopt(SOL_QUIC, QUIC_SOCKOPT_CONFIG, cfg + b"\0" * 100)
        got = struct.unpack(CFG_FMT, s.getsockopt(SOL_QUIC, QUIC_SOCKOPT_CONFIG, 28))
        assert got[0] == 1 and got[2] == 100000 and got[4] == 1
        # a short struct is accepted too: only its prefix is overlaid
        s.setsockopt(SOL_QUIC, QUIC_SOCKOPT_CONFIG, struct.pack("<I", 0x6B3343CF))
        got = struct.unpack(CFG_FMT, s.getsockopt(SOL_QUIC, QUIC_SOCKOPT_CONFIG, 28))
        assert got[0] == 0x6B3343CF and got[2] == 100000
        # get copies at most what fits
        assert len(s.getsockopt(SOL_QUIC, QUIC_SOCKOPT_CONFIG, 8)) == 8
        assert len(s.getsockopt(SOL_QUIC, QUIC_SOCKOPT_CONFIG, 64)) == 28
        # validation
        bad = struct.pack(CFG_FMT, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        assert err_of(s.setsockopt, SOL_QUIC, QUIC_SOCKOPT_CONFIG, bad) == errno.EINVAL


def get_tp(s: socket.socket, remote: int = 0) -> tuple:
    # the get reads `remote` from the buffer passed in
    raw = getsockopt_inout(s, QUIC_SOCKOPT_TRANSPORT_PARAM, bytes([remote]) + bytes(55), 56)
    return struct.unpack(TP_FMT, raw)


def test_transport_param_overlay():
    with qsock() as s:
        tp = get_tp(s)
        assert tp[6] == 7 and tp[7] == 3 and tp[9] == 65527
        assert tp[10] == 30000000 and tp[11] == 25000
        assert tp[12] == 100 and tp[14] == 65535 * 32
        new = struct.pack(TP_FMT, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 60000000, 0, 0, 0, 0, 0, 0, 0)
        s.setsockopt(SOL_QUIC, QUIC_SOCKOPT_TRANSPORT_PARAM, new)
        tp = get_tp(s)
        assert tp[6] == 4 and tp[10] == 60000000 and tp[11] == 25000
        bad = struct.pack(TP_FMT, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        assert err_of(s.setsockopt, SOL_QUIC, QUIC_SOCKOPT_TRANSPORT_PARAM, bad) == errno.EINVAL
        assert get_tp(s, remote=1)[0] == 1
        # the peer's parameters start at the RFC defaults
        assert get_tp(s, remote=1)[6] == 2
        bad = struct.pack(TP_FMT, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1000, 0, 0, 0, 0, 0, 0, 0, 0)
        assert err_of(s.setsockopt, SOL_QUIC, QUIC_SOCKOPT_TRANSPORT_PARAM, bad) == errno.EINVAL


def test_alpn_token_event_close():
    with qsock() as s:
        s.setsockopt(SOL_QUIC, QUIC_SOCKOPT_ALPN, b"h3,smbd")
        assert s.getsockopt(SOL_QUIC, QUIC_SOCKOPT_ALPN, 128) == b"h3,smbd"
        assert err_of(s.setsockopt, SOL_QUIC, QUIC_SOCKOPT_ALPN, b"x" * 129) == errno.EINVAL
        # client socket: the token round-trips
        s.setsockopt(SOL_QUIC, QUIC_SOCKOPT_TOKEN, b"tok" * 10)
        assert s.getsockopt(SOL_QUIC, QUIC_SOCKOPT_TOKEN, 120) == b"tok" * 10
        assert err_of(s.setsockopt, SOL_QUIC, QUIC_SOCKOPT_TOKEN, b"x" * 121) == errno.EINVAL

        # events: off by default, per type
        def event(t):
            return getsockopt_inout(s, QUIC_SOCKOPT_EVENT, struct.pack("BB", t, 0), 2)

        assert event(5) == b"\x05\x00"
        s.setsockopt(SOL_QUIC, QUIC_SOCKOPT_EVENT, struct.pack("BB", 5, 1))
        assert event(5) == b"\x05\x01"
        assert (
            err_of(s.setsockopt, SOL_QUIC, QUIC_SOCKOPT_EVENT, struct.pack("BB", 10, 1))
            == errno.EINVAL
        )
        # close info: what was set is read back until the peer closes
        # (then the peer's); the frame type is 0, as in the reference
        s.setsockopt(
            SOL_QUIC, QUIC_SOCKOPT_CONNECTION_CLOSE, struct.pack("<IB3x", 42, 7) + b"bye\0"
        )
        got = s.getsockopt(SOL_QUIC, QUIC_SOCKOPT_CONNECTION_CLOSE, 72)
        assert len(got) == 72 and struct.unpack_from("<IB", got) == (42, 0)
        assert got[8:].split(b"\0", 1)[0] == b"bye"


def test_unconnected_operations_fail_cleanly():
    with qsock() as s:
        assert err_of(s.send, b"x") in (errno.EOPNOTSUPP, errno.ENOTCONN, errno.EPIPE)
        s.setblocking(False)
        assert err_of(s.recv, 10) in (errno.EOPNOTSUPP, errno.ENOTCONN, errno.EAGAIN)
        assert err_of(s.shutdown, socket.SHUT_RDWR) == errno.ENOTCONN
