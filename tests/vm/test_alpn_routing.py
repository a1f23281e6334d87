"""ALPN routing of new clients among listeners sharing a port (issue 13).

Every test runs the harness of ``quic-alpn-route``
(libquic.tools.alpnroute): listeners, each in a process of its own (or the
kernel consumer), on one port; clients with ALPN preference lists sent at
it with real TLS handshakes; and a verdict on every listen() and every
client from the rules engine (libquic/tools/alpnroute/rules.py, tested on
the host by tests/host/test_alpn_rules.py).  A test fails with both tables
when anything went otherwise than the rules say.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from kquictest import quic_testdriver as qt
from kquictest.alpnhello import MALFORMED, client_hello, hello_span, send_client_initial, udp_from
from kquictest.alpnpeers import aioquic_client, ngtcp2_client
from kquictest.zerortt import Capture
from libquic.tools.alpnroute import ClientOutcome, ClientSpec, Harness, ListenerSpec
from libquic.tools.alpnroute.check import ListenOutcome
from libquic.tools.alpnroute.report import client_table, first_violation, listener_table

pytestmark = [pytest.mark.timeout(600),
              pytest.mark.kquic_only("kquic's ALPN routing, its MIB counters and eps")]

WAIT = 30.0  # a handshake the rules allow
DROP = 5.0  # how long a client the rules drop keeps trying
HELLO_DROPS = "QuicConnHelloDrops"


@pytest.fixture
def harness() -> Iterator[Harness]:
    """The ALPN-routing harness on a free port, with aioquic's and ngtcp2's
    clients besides libquic's."""
    with Harness(timeout=WAIT, drop_timeout=DROP,
                 drivers={"aioquic": aioquic_client, "ngtcp2": ngtcp2_client}) as h:
        yield h


def L(name: str, alpns: str = "", address: str = "127.0.0.1", **kw: object) -> ListenerSpec:
    return ListenerSpec(name, tuple(alpns.split(",")) if alpns else (), address, **kw)  # type: ignore[arg-type]


def C(name: str, alpns: str = "", address: str | None = None, **kw: object) -> ClientSpec:
    return ClientSpec(name, tuple(alpns.split(",")) if alpns else (), address, **kw)  # type: ignore[arg-type]


def as_the_rules_say(h: Harness, clients: Sequence[ClientOutcome] = ()) -> None:
    listens: list[ListenOutcome] = h.listen_outcomes
    broken = first_violation(listens, clients)
    strays = "".join(f"\nstray: {e.listener} {e.kind} from port {e.peer_port}: {e.error}"
                     for e in h.strays())
    assert broken is None, (f"{broken}\n\nlisteners on port {h.port}:\n{listener_table(listens)}"
                            f"\n\nclients:\n{client_table(clients)}{strays}")


def route_all(h: Harness, listeners: Sequence[ListenerSpec], clients: Sequence[ClientSpec],
              expect: dict[str, str | None]) -> list[ClientOutcome]:
    """Start ``listeners``, run ``clients``, check everything against the
    rules, and ``expect`` (client -> listener, None: dropped) against what
    the engine said, so a test also shows its scenario."""
    h.add_listeners(listeners)
    outcomes = h.run(clients)
    as_the_rules_say(h, outcomes)
    for o in outcomes:
        if o.spec.name in expect:
            want = expect[o.spec.name]
            assert (o.reached == want) if want else o.route is None, (o.spec.name, o)
    return outcomes


def snmp(name: str) -> int:
    counters = qt.snmp()
    assert name in counters, f"the module has no {name} counter in /proc/net/quic/snmp"
    return counters[name]


# -- rule 2: the client's preference order ------------------------------------------

def test_preference_order_across_three_listener_processes(harness: Harness) -> None:
    """Three listeners, three processes; each client goes to the listener of
    the first ALPN of its list that any listener has."""
    route_all(harness, [L("A", "alpha"), L("B", "beta,gamma"), L("D", "delta")],
              [C("c1", "beta"), C("c2", "delta,alpha"), C("c3", "zeta,alpha,beta"),
               C("c4", "gamma,delta"), C("c5", "zeta"), C("c6", "alpha")],
              {"c1": "B", "c2": "D", "c3": "A", "c4": "B", "c5": None, "c6": "A"})


# -- rule 4: listen() conflicts on one address -----------------------------------------

CONFLICTS = {
    "disjoint": ([L("X", "a,b"), L("Y", "c")],
                 [C("c1", "a"), C("c2", "c"), C("c3", "c,a"), C("c4", "b")]),
    "identical": ([L("X", "a"), L("Y", "a")], [C("c1", "a")]),
    "identical-one-reuseport": ([L("X", "a", reuseport=True), L("Y", "a")], [C("c1", "a")]),
    "identical-reuseport": ([L("X", "a", reuseport=True), L("Y", "a", reuseport=True),
                             L("Z", "b")],
                            [C(f"c{i}", "a") for i in range(6)] + [C("c9", "b")]),
    "overlapping": ([L("X", "a,b"), L("Y", "b,c")], [C("c1", "b"), C("c2", "c")]),
    "no-list-beside-a-list": ([L("X", "a"), L("Y", "")],
                              [C("c1", "a"), C("c2", "imap"), C("c3", "")]),
    "two-without-a-list": ([L("X", ""), L("Y", "")], [C("c1", "")]),
    "two-without-a-list-reuseport": ([L("X", "", reuseport=True), L("Y", "", reuseport=True)],
                                     [C(f"c{i}", "") for i in range(4)]),
}


@pytest.mark.parametrize("case", sorted(CONFLICTS))
def test_listen_conflicts_on_one_address(harness: Harness, case: str) -> None:
    """Identical lists need SO_REUSEPORT on both (then either member takes a
    client), overlapping ones are refused, disjoint ones share, and no list
    is disjoint from any list; the clients then land as the rules say."""
    listeners, clients = CONFLICTS[case]
    route_all(harness, listeners, clients, {})


# -- rule 1: addresses ---------------------------------------------------------------

def test_ipv4_exact_address_wildcard_and_preference(harness: Harness) -> None:
    """The exact address beats the wildcard for one ALPN, but the client's
    first ALPN beats the rank; a specific address bound after the wildcard
    shares the port."""
    route_all(harness,
              [L("W", "x,y", "0.0.0.0"), L("E", "x"), L("F", "z", "127.0.0.2")],
              [C("c1", "x"), C("c2", "y,x"), C("c3", "x", "127.0.0.2"),
               C("c4", "z", "127.0.0.2"), C("c5", "z")],
              {"c1": "E", "c2": "W", "c3": "W", "c4": "F", "c5": None})


def test_a_wildcard_after_a_specific_address_is_refused(harness: Harness) -> None:
    route_all(harness, [L("S", "a"), L("W", "b", "0.0.0.0")], [C("c1", "a"), C("c2", "b")],
              {"c1": "S", "c2": None})


def test_ipv6_exact_address_and_v6only_wildcard(harness: Harness) -> None:
    from kquictest.netns import address  # pyroute2 is slow to import in the VM

    with address("fd00:a1::2/128", "lo"):
        route_all(harness,
                  [L("W", "x,y", "::", v6only=True), L("E", "x", "::1"),
                   L("F", "z", "fd00:a1::2")],
                  [C("c1", "x", "::1"), C("c2", "y,x", "::1"), C("c3", "x", "fd00:a1::2"),
                   C("c4", "z", "fd00:a1::2"), C("c5", "x", "127.0.0.1")],
                  {"c1": "E", "c2": "W", "c3": "W", "c4": "F", "c5": None})


def test_dual_stack_wildcard_takes_ipv4_below_the_exact_address(harness: Harness) -> None:
    route_all(harness, [L("D", "x,y", "::"), L("E", "y")],
              [C("c1", "x", "127.0.0.1"), C("c2", "y", "127.0.0.1"), C("c3", "y", "::1"),
               C("c4", "x", "::1")],
              {"c1": "D", "c2": "E", "c3": "D", "c4": "D"})


# -- rules 2 and 3: clients without a matching ALPN, or without ALPN --------------------

def test_clients_without_alpn_and_the_listener_without_a_list(harness: Harness) -> None:
    """A client without ALPN and one whose ALPNs no listener has go to the
    listener without a list (which takes the client's first choice)."""
    route_all(harness, [L("A", "a"), L("N", "")],
              [C("c1", ""), C("c2", "a"), C("c3", "imap,pop"), C("c4", "pop,a")],
              {"c1": "N", "c2": "A", "c3": "N", "c4": "A"})


def test_clients_without_alpn_are_dropped_without_such_a_listener(harness: Harness) -> None:
    # the wildcard first: bound after the specific address it would be refused
    route_all(harness, [L("B", "b", "0.0.0.0"), L("A", "a")],
              [C("c1", ""), C("c2", "imap"), C("c3", "b")],
              {"c1": None, "c2": None, "c3": "B"})


# -- rule 6: a ClientHello in two Initial packets --------------------------------------------

def test_client_hello_split_over_two_initials(harness: Harness) -> None:
    """A hybrid ML-KEM key share makes libquic's ClientHello larger than an
    Initial packet; the ALPN extension, after the key share, is in the
    second packet.  The capture shows both, and the client still reaches
    its listener."""
    harness.add_listeners([L("A", "a"), L("B", "b")])
    capture = Capture()
    try:
        outcomes = harness.run([C("big", "b", split=True), C("small", "a")])
        big = outcomes[0].result
        assert big.local_port is not None
        span = hello_span(udp_from(capture.ip_packets_to(harness.port), big.local_port))
    finally:
        capture.close()
    assert len(span.packets_holding(0, len(span.hello))) >= 2, span.packets
    first_pn = min(span.packets)
    assert span.packets[first_pn][1] <= span.alpn_offset, \
        f"the ALPN extension (at {span.alpn_offset}) is in the first packet: {span.packets}"
    as_the_rules_say(harness, outcomes)
    assert [o.reached for o in outcomes] == ["B", "A"]


# -- rule 5: malformed ClientHellos ----------------------------------------------------------

@pytest.mark.parametrize("kind", MALFORMED)
def test_a_malformed_client_hello_is_counted_and_dropped(harness: Harness, kind: str) -> None:
    """A properly protected client Initial whose ClientHello is broken is
    dropped and counted (QuicConnHelloDrops); no listener gets it and they
    all still serve."""
    harness.add_listeners([L("A", "a"), L("B", "b")])
    as_the_rules_say(harness)
    before = snmp(HELLO_DROPS)
    sender = send_client_initial(client_hello(kind, b"b"), ("127.0.0.1", harness.port))
    qt.wait_for(lambda: snmp(HELLO_DROPS) > before, 10,
                f"{HELLO_DROPS} did not rise for a ClientHello with {kind}")
    outcomes = harness.run([C("good", "b"), C("other", "a")])
    as_the_rules_say(harness, outcomes)
    assert snmp(HELLO_DROPS) == before + 1
    assert [e for e in harness.strays() if e.peer_port == sender] == []


def test_the_crafted_initial_is_otherwise_well_formed(harness: Harness) -> None:
    """The control for the test above: the same Initial with a sound
    ClientHello is routed to B (whose handshake then fails: it is no whole
    TLS client) and counts no drop."""
    harness.add_listeners([L("A", "a"), L("B", "b")])
    before = snmp(HELLO_DROPS)
    sender = send_client_initial(client_hello("good", b"b"), ("127.0.0.1", harness.port))
    qt.wait_for(lambda: any(e.peer_port == sender for e in harness.strays()), 10,
                "no listener accepted the crafted Initial")
    assert {e.listener for e in harness.strays() if e.peer_port == sender} == {"B"}
    assert snmp(HELLO_DROPS) == before


# -- a listener closing with requests queued ---------------------------------------------------

def _eps_rows() -> int:
    return len(Path("/proc/net/quic/eps").read_text().splitlines()) - 1


def _kernel_complaints(before: int) -> list[str]:
    lines = subprocess.run(["dmesg"], capture_output=True, text=True, check=True)
    return [ln for ln in lines.stdout.splitlines()[before:]
            if any(w in ln for w in ("WARNING", "BUG", "refcount", "leak", "KFENCE"))]


def test_a_listener_closing_with_requests_queued() -> None:
    """Clients queue on a listener that does not accept; it closes: they are
    dropped (no listener with their ALPN is left), the other listener keeps
    serving, and afterwards every socket and receive buffer is gone."""
    dmesg_before = len(subprocess.run(["dmesg"], capture_output=True, text=True,
                                      check=True).stdout.splitlines())
    rows, before = _eps_rows(), qt.snmp()
    with Harness(timeout=WAIT, drop_timeout=DROP) as h:
        h.add_listeners([L("H", "held", hold=True), L("B", "b")])
        requests = qt.snmp()["QuicConnRequests"]
        queued = h.start([C(f"q{i}", "held") for i in range(3)], timeout=4 * DROP)
        qt.wait_for(lambda: qt.snmp()["QuicConnRequests"] >= requests + 3, 2 * DROP,
                    "the held listener did not queue three requests")
        h.close_listener("H")
        outcomes = queued.finish()
        outcomes += h.run([C("after", "b")])
        as_the_rules_say(h, outcomes)
    assert [o.route for o in outcomes[:3]] == [None] * 3
    # at most as many as before: earlier tests' sockets may still be closing
    qt.wait_for(lambda: _eps_rows() <= rows, 30, "QUIC sockets are left over")
    qt.wait_for(lambda: qt.snmp()["QuicRcvMemAlloc"] <= before["QuicRcvMemAlloc"], 10,
                "receive memory is still charged")
    assert qt.snmp()["QuicConnCurrentEstabs"] <= before["QuicConnCurrentEstabs"]
    assert _kernel_complaints(dmesg_before) == []


# -- a kernel user and a userspace listener on one port ---------------------------------------

def test_kernel_consumer_and_userspace_listener_share_a_port(consumer: Path,
                                                             harness: Harness) -> None:
    """The kernel consumer (tests/kmod/quic_consumer.ko, handshakes by
    quic-handshaked) listens with "smb" and a userspace listener with "h3"
    on the same address and port: each gets its own clients."""
    harness.add_listeners([L("web", "h3"), ListenerSpec("smb", ("smb",), kind="consumer")])
    as_the_rules_say(harness)
    outcomes = harness.run([C("s1", "smb"), C("w1", "h3"), C("w2", "imap,h3")])
    as_the_rules_say(harness, outcomes)
    assert [o.reached for o in outcomes] == ["smb", "web", "web"]
    assert [o.result.reply_from for o in outcomes] == ["kernel", "web", "web"]


# -- other implementations' ClientHellos -----------------------------------------------------

def test_aioquic_and_ngtcp2_clients_are_routed_by_their_alpn(harness: Harness) -> None:
    route_all(harness, [L("H", "h3"), L("E", "echo,hq-interop")],
              [C("aio1", "hq-interop", kind="aioquic"), C("aio2", "zzz,echo", kind="aioquic"),
               C("aio3", "h3", kind="aioquic"), C("aio4", "zzz", kind="aioquic"),
               C("ng", "h3", kind="ngtcp2")],
              {"aio1": "E", "aio2": "E", "aio3": "H", "aio4": None, "ng": "H"})

