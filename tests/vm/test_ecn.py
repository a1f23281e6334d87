"""ECN (RFC 9000 13.4, RFC 9002 7.1): 1-RTT datagrams leave marked ECT(0),
the receiver counts the marks and reports them in ACK_ECN frames, and the
sender validates the path with them.  On a link that marks CE instead of
dropping, the CE reports reduce the window without any loss; on a path
that bleaches the ECN field, validation fails and marking stops."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from kquictest import quic_testdriver as qt
from kquictest.bulk import MB, transfer
from kquictest.netemlink import HERE, THERE, Link, connected_across
from kquictest.netns import no_udp_gso, veth_link
from kquictest.nftables import counter, nft
from kquictest.quicpair import Credentials
from libquic.tools.trace import Tracer

pytestmark = pytest.mark.timeout(240)

DELAY_MS = 20
TESTING_PKTS = 10  # datagrams marked before the path is validated
TABLE = "kqecn"
HERE6, THERE6 = "fd78::1", "fd78::2"


@contextmanager
def ecn_link(*netem: str) -> Iterator[Link]:
    """HERE -- veth -- THERE, ``netem`` (tc(8) words) on HERE's end, and
    counters of what arrives THERE by ECN field, before ``bleach`` (an
    empty chain, or a rule clearing the field) runs."""
    with veth_link([f"{HERE}/24", f"{HERE6}/64"], [f"{THERE}/24", f"{THERE6}/64"],
                   prefix="qe") as link:
        subprocess.run(["tc", "qdisc", "replace", "dev", link.dev, "root", "netem",
                        "delay", f"{DELAY_MS}ms", *netem], check=True, capture_output=True)
        no_udp_gso(link.dev)  # THERE counts datagrams, not GSO batches
        nft(f"add table inet {TABLE}\n"
            f"add counter inet {TABLE} n_all\n"
            f"add counter inet {TABLE} n_ect0\n"
            f"add counter inet {TABLE} n_ce\n"
            f"add chain inet {TABLE} pre {{ type filter hook prerouting priority -300; }}\n"
            f"add chain inet {TABLE} bleach\n"
            f"add rule inet {TABLE} pre meta l4proto udp counter name n_all\n"
            f"add rule inet {TABLE} pre ip ecn ect0 counter name n_ect0\n"
            f"add rule inet {TABLE} pre ip6 ecn ect0 counter name n_ect0\n"
            f"add rule inet {TABLE} pre ip ecn ce counter name n_ce\n"
            f"add rule inet {TABLE} pre ip6 ecn ce counter name n_ce\n"
            f"add rule inet {TABLE} pre meta l4proto udp jump bleach\n", link.ns)
        yield link


def arrived(link: Link) -> dict[str, int]:
    """UDP datagrams that reached THERE: all, ECT(0), CE."""
    return {name: counter(TABLE, f"n_{name}", link.ns)[0] for name in ("all", "ect0", "ce")}


def ecn_state(sk: socket.socket) -> tuple[str, int]:
    """The ECN column (validation state) and the CE count the peer reported."""
    row = qt.eps_row(sk)
    return row["ECN"], int(row["CE"])


def there_ecn_state(link: Link, sk: socket.socket) -> str:
    """ecn_state()'s first column for a socket THERE (its namespace's eps)."""
    lines = link.ns.read("/proc/net/quic/eps").splitlines()
    header, ino = lines[0].split(), str(os.fstat(sk.fileno()).st_ino)
    row = next(dict(zip(header, ln.split(), strict=True))
               for ln in lines[1:] if ln.split()[0] == ino)
    return row["ECN"]


def there_snmp(link: Link) -> dict[str, int]:
    """The MIB counters of THERE's namespace."""
    text = link.ns.read("/proc/net/quic/snmp")
    return {k: int(v) for k, v in (ln.split() for ln in text.splitlines())}


@pytest.mark.kquic_only("reads kquic's ECN columns, MIB and quic_cwnd_update tracepoint")
def test_ce_marks_reduce_the_window_without_loss(creds: Credentials) -> None:
    # netem marks an ECT packet CE where it would drop it (Not-ECT: dropped);
    # it decides per skb, so datagrams go one by one (net.quic.gso=0): a
    # dropped Not-ECT GSO batch would be dozens of losses at once
    with qt.quic_sysctl("gso", 0), ecn_link("loss", "2%", "ecn") as link, \
            connected_across(link, creds) as p:
        before, lost = qt.snmp(), qt.snmp()["QuicPktLost"]
        ce_rcvd = there_snmp(link)["QuicEcnCeRcvd"]
        tracer = Tracer(ino=os.fstat(p.client.fileno()).st_ino, events=("quic_cwnd_update",))
        try:
            transfer(p.client, p.server, 4 * MB, 120)  # SHA-256 checked
            trace = tracer.read()
        finally:
            tracer.close()
        state, ce = ecn_state(p.client)
        got = arrived(link)
        after = qt.snmp()
        ce_rcvd = there_snmp(link)["QuicEcnCeRcvd"] - ce_rcvd
    print(f"\nclient ECN {state}, CE reported {ce}; arrived {got}; "
          f"server counted {ce_rcvd} CE; lost {after['QuicPktLost'] - lost}")
    assert state == "capable"
    assert after["QuicEcnCapable"] >= before["QuicEcnCapable"] + 1
    # nearly every datagram arrived marked: ECT(0), or CE where netem "lost" it
    assert got["ect0"] + got["ce"] >= 0.9 * got["all"], got
    assert got["ce"] > 10, got
    # the receiver counted the CE marks (give or take datagrams on their way
    # while the counters were read), the sender saw them in ACK_ECN
    assert abs(ce_rcvd - got["ce"]) <= 3, (ce_rcvd, got)
    assert 0 < ce <= got["ce"], (ce, got)
    ce_events = after["QuicEcnCeEvents"] - before["QuicEcnCeEvents"]
    assert ce_events >= 1
    # ... and reduced the window, without declaring the marked packets lost
    reductions = [ev for ev in trace if ev.fields.get("event") == "ecn"]
    assert reductions, [ev.fields for ev in trace if ev.fields.get("event") != "ack"][:20]
    assert after["QuicPktLost"] - lost < len(reductions), (after["QuicPktLost"] - lost,
                                                           len(reductions))


@pytest.mark.kquic_only("reads kquic's ECN columns and MIB")
def test_bleaching_path_disables_ecn(creds: Credentials) -> None:
    with ecn_link() as link, connected_across(link, creds) as p:
        nft(f"add rule inet {TABLE} bleach ip ecn set not-ect\n", link.ns)
        failed = qt.snmp()["QuicEcnFailed"]
        transfer(p.client, p.server, 2 * MB, 120)  # SHA-256 checked
        state, _ = ecn_state(p.client)
        got = arrived(link)
        failed = qt.snmp()["QuicEcnFailed"] - failed
    print(f"\nclient ECN {state}; arrived {got}")
    assert state == "failed"
    assert failed == 1
    # the test packets went out marked, nothing after validation failed
    assert 1 <= got["ect0"] <= TESTING_PKTS + 6, got  # and a few ACK-only
    assert got["all"] > 1000, got


@pytest.mark.kquic_only("reads kquic's ECN columns")
@pytest.mark.parametrize("there", [THERE, THERE6], ids=["ipv4", "ipv6"])
def test_clean_path_is_capable_and_marks_everything(creds: Credentials, there: str) -> None:
    # IPv6 carries the field in the traffic class, both ways
    with ecn_link() as link, connected_across(link, creds, there=there) as p:
        transfer(p.client, p.server, 2 * MB, 120)
        client = ecn_state(p.client)[0]
        server = there_ecn_state(link, p.server)
        got = arrived(link)
    print(f"\nclient ECN {client}, server ECN {server}; arrived {got}")
    assert (client, server) == ("capable", "capable")
    assert got["ce"] == 0
    # all but the handshake and the wait for the first ACK_ECN
    assert got["ect0"] >= got["all"] - 30, got


@pytest.mark.kquic_only("kquic's net.quic.ecn sysctl and ECN columns")
def test_sysctl_turns_marking_off_in_its_namespace(creds: Credentials) -> None:
    """net.quic.ecn=0 HERE: the client's datagrams leave unmarked; THERE's
    namespace keeps its own setting (1), so the server still marks, and the
    client still counts and reports those marks, which validates the
    server's path."""
    path = "/proc/sys/net/quic/ecn"
    with open(path) as f:
        saved = f.read().strip()
    assert saved == "1"  # on by default
    assert ecn_sysctl_rejects("2")
    try:
        with open(path, "w") as f:
            f.write("0\n")
        with ecn_link() as link, connected_across(link, creds) as p:
            assert link.ns.read(path).strip() == "1"
            transfer(p.client, p.server, 1 * MB, 120)  # SHA-256 checked
            client = ecn_state(p.client)[0]
            server = there_ecn_state(link, p.server)
            got = arrived(link)
    finally:
        with open(path, "w") as f:
            f.write(saved + "\n")
    print(f"\nclient ECN {client}, server ECN {server}; arrived THERE {got}")
    assert (client, server) == ("off", "capable")
    assert got["ect0"] == 0 and got["ce"] == 0, got
    assert got["all"] > 500, got


def ecn_sysctl_rejects(value: str) -> bool:
    """Writing ``value`` to net.quic.ecn fails with EINVAL (0 and 1 only)."""
    try:
        with open("/proc/sys/net/quic/ecn", "w") as f:
            f.write(value + "\n")
    except OSError as exc:
        return exc.errno == 22
    return False
