"""The ALPN-routing harness without a kernel: its rule engine (which
listen() fails, where each client lands), the listener/client syntax of
``quic-alpn-route``, the verdicts and tables, and the catch-all listener's
reading of the ClientHello on in-memory sockets."""

from __future__ import annotations

import errno
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kquictest.fake_quic_socket import fake_pair
from libquic.handshake import HandshakeSession, quic_client_handshake, quic_handshake
from libquic.tls.groups import HAVE_MLKEM
from libquic.tools.alpnroute.check import (
    ClientResult,
    attribute,
    judge_client,
    judge_listen,
    reached_by,
)
from libquic.tools.alpnroute.cli import main
from libquic.tools.alpnroute.client import SPLIT_KEY_SHARES
from libquic.tools.alpnroute.events import ListenerEvent
from libquic.tools.alpnroute.report import client_table, first_violation, listener_table
from libquic.tools.alpnroute.rules import Rank, Route, candidates, listen_errno, route
from libquic.tools.alpnroute.serve import offered_alpns
from libquic.tools.alpnroute.spec import (
    ClientSpec,
    ListenerSpec,
    SpecError,
    parse_client,
    parse_listener,
)
from libquic.tools.certgen import write_test_pki

EADDRINUSE = errno.EADDRINUSE


def L(name: str, alpns: str = "", address: str = "127.0.0.1", **kw: bool) -> ListenerSpec:
    return ListenerSpec(name, tuple(alpns.split(",")) if alpns else (), address, **kw)


def C(alpns: str = "", address: str | None = None) -> ClientSpec:
    return ClientSpec("c", tuple(alpns.split(",")) if alpns else (), address)


def goes(listeners: list[ListenerSpec], alpns: str, dest: str = "127.0.0.1"
         ) -> tuple[set[str], str | None] | None:
    r = route(listeners, C(alpns), dest)
    return None if r is None else (set(r.listeners), r.alpn)


# -- rule 1: candidates and their rank ---------------------------------------------

def test_candidates_are_ranked_exact_then_wildcard_then_dual_stack() -> None:
    ls = [L("dual", "a", "::"), L("any4", "b", "0.0.0.0"), L("lo", "c"),
          L("other", "d", "127.0.0.2"), L("v6", "e", "::1")]
    assert [(r, lst.name) for r, lst in candidates(ls, "127.0.0.1")] == [
        (Rank.EXACT, "lo"), (Rank.WILDCARD, "any4"), (Rank.DUAL_STACK, "dual")]
    assert [(r, lst.name) for r, lst in candidates(ls, "::1")] == [
        (Rank.EXACT, "v6"), (Rank.WILDCARD, "dual")]


def test_a_v6only_wildcard_takes_no_ipv4_and_0000_no_ipv6() -> None:
    ls = [L("v6only", "a", "::", v6only=True), L("any4", "b", "0.0.0.0")]
    assert [lst.name for _, lst in candidates(ls, "127.0.0.1")] == ["any4"]
    assert [lst.name for _, lst in candidates(ls, "::1")] == ["v6only"]


def test_a_v4_mapped_address_is_the_ipv4_one() -> None:
    assert goes([L("m", "a", "::ffff:127.0.0.1")], "a") == ({"m"}, "a")
    assert goes([L("m", "a")], "a", "::ffff:127.0.0.1") == ({"m"}, "a")


def test_exact_address_beats_wildcards_for_the_same_alpn() -> None:
    ls = [L("any4", "x", "0.0.0.0"), L("dual", "x", "::"), L("lo", "x")]
    assert goes(ls, "x") == ({"lo"}, "x")
    assert goes(ls, "x", "127.0.0.2") == ({"any4"}, "x")
    assert goes([L("dual", "x", "::"), L("other", "x", "127.0.0.2")], "x") == ({"dual"}, "x")


# -- rule 2: ALPN preference first, then rank ---------------------------------------

def test_the_clients_preference_order_decides() -> None:
    ls = [L("A", "alpha"), L("B", "beta,gamma"), L("D", "delta")]
    assert goes(ls, "beta") == ({"B"}, "beta")
    assert goes(ls, "delta,alpha") == ({"D"}, "delta")
    assert goes(ls, "zeta,alpha,beta") == ({"A"}, "alpha")
    assert goes(ls, "gamma,delta") == ({"B"}, "gamma")
    assert goes(ls, "zeta") is None


def test_preference_beats_rank() -> None:
    """The first ALPN any candidate holds wins, even when only a worse-ranked
    candidate holds it and the exact address holds a later choice."""
    ls = [L("W", "x,y", "0.0.0.0"), L("E", "x")]
    assert goes(ls, "y,x") == ({"W"}, "y")
    assert goes(ls, "x,y") == ({"E"}, "x")


def test_a_reuseport_group_may_take_any_member() -> None:
    ls = [L("r1", "a", reuseport=True), L("r2", "a", reuseport=True), L("b", "b")]
    assert goes(ls, "a") == ({"r1", "r2"}, "a")


def test_no_alpn_match_falls_back_to_the_best_listener_without_a_list() -> None:
    ls = [L("a", "a"), L("any", "", "0.0.0.0"), L("bare", "")]
    assert goes(ls, "imap,pop") == ({"bare"}, "imap")  # it takes the first choice
    assert goes(ls, "imap,a") == ({"a"}, "a")  # an ALPN match still wins
    assert goes(ls, "imap", "127.0.0.2") == ({"any"}, "imap")
    assert goes([L("a", "a")], "imap") is None


def test_an_alpn_match_at_a_worse_rank_beats_an_exact_catch_all() -> None:
    assert goes([L("W", "a", "0.0.0.0"), L("bare", "")], "a") == ({"W"}, "a")


# -- rule 3: clients without ALPN ------------------------------------------------------

def test_a_client_without_alpn_goes_only_to_a_listener_without_a_list() -> None:
    assert goes([L("a", "a"), L("any", "", "0.0.0.0"), L("bare", "")], "") == ({"bare"}, None)
    assert goes([L("a", "a"), L("b", "b", "0.0.0.0")], "") is None


# -- rule 4: listen() conflicts --------------------------------------------------------

@pytest.mark.parametrize(("first", "second", "expected"), [
    (L("1", "a"), L("2", "a"), EADDRINUSE),
    (L("1", "a", reuseport=True), L("2", "a"), EADDRINUSE),
    (L("1", "a"), L("2", "a", reuseport=True), EADDRINUSE),
    (L("1", "a", reuseport=True), L("2", "a", reuseport=True), 0),
    (L("1", "a,b"), L("2", "b,c"), EADDRINUSE),
    (L("1", "a,b", reuseport=True), L("2", "b,a", reuseport=True), EADDRINUSE),
    (L("1", "a,b"), L("2", "c,d"), 0),
    (L("1", ""), L("2", "a"), 0),
    (L("1", "a"), L("2", ""), 0),
    (L("1", ""), L("2", ""), EADDRINUSE),
    (L("1", "", reuseport=True), L("2", "", reuseport=True), 0),
], ids=["identical", "identical-first-reuseport", "identical-second-reuseport",
        "identical-both-reuseport", "overlapping", "overlapping-reordered-reuseport",
        "disjoint", "empty-then-list", "list-then-empty", "both-empty",
        "both-empty-reuseport"])
def test_listeners_on_one_address(first: ListenerSpec, second: ListenerSpec,
                                  expected: int) -> None:
    assert listen_errno([first], second)[0] == expected


@pytest.mark.parametrize(("first", "second", "expected"), [
    (L("w", "a", "0.0.0.0"), L("s", "a"), 0),
    (L("s", "a"), L("w", "a", "0.0.0.0"), EADDRINUSE),
    (L("s", "a"), L("w", "b", "0.0.0.0"), EADDRINUSE),
    (L("w", "a", "::"), L("s", "a"), 0),
    (L("s", "a"), L("w", "a", "::"), EADDRINUSE),
    (L("s", "a"), L("w", "a", "::", v6only=True), 0),
    (L("s", "a", "::1"), L("w", "a", "0.0.0.0"), 0),
    (L("s", "a"), L("t", "a", "127.0.0.2"), 0),
    (L("w", "a", "::", v6only=True), L("d", "b", "::"), EADDRINUSE),
    (L("w", "a", "0.0.0.0"), L("d", "b", "::"), EADDRINUSE),
    (L("d", "a", "::"), L("w", "b", "0.0.0.0"), EADDRINUSE),
    (L("w", "a", "0.0.0.0"), L("v", "a", "::", v6only=True), 0),
], ids=["specific-after-wildcard", "wildcard-after-specific",
        "wildcard-after-specific-disjoint", "specific-after-dual-stack",
        "dual-stack-after-ipv4", "v6only-after-ipv4", "ipv4-wildcard-after-ipv6",
        "two-specific-addresses", "v6only-and-dual-stack", "dual-stack-after-0000",
        "0000-after-dual-stack", "v6only-after-0000"])
def test_listeners_on_different_addresses(first: ListenerSpec, second: ListenerSpec,
                                          expected: int) -> None:
    assert listen_errno([first], second)[0] == expected


def test_a_conflict_with_any_listener_counts_and_names_it() -> None:
    code, why = listen_errno([L("1", "a"), L("2", "b")], L("3", "c,b"))
    assert code == EADDRINUSE and "overlapping" in why and "2" in why


# -- the syntax ---------------------------------------------------------------------------

def test_listener_syntax() -> None:
    assert parse_listener("web=h3,h3-29") == ListenerSpec("web", ("h3", "h3-29"))
    assert parse_listener("any=@::/v6only/reuseport") == ListenerSpec(
        "any", (), "::", reuseport=True, v6only=True)
    assert parse_listener("s=smb@[::1]/hold").address == "::1"
    assert parse_listener("k=smb@0.0.0.0/consumer").kind == "consumer"
    assert parse_listener("m=a@::ffff:127.0.0.2").address == "127.0.0.2"


def test_client_syntax() -> None:
    assert parse_client("c=smb,h3") == ClientSpec("c", ("smb", "h3"))
    assert parse_client("c=") == ClientSpec("c", ())
    assert parse_client("c=h3@::1/split") == ClientSpec("c", ("h3",), "::1", split=True)


@pytest.mark.parametrize("text", [
    "noequals", "=a", "x=a,,b", "x=a@", "x=a@nowhere", "x=a/bogus", "x=a,a",
    "x=@127.0.0.1/v6only", "x=/consumer", "x=a/consumer/reuseport", "x=" + "a" * 129,
    "x y=a",
])
def test_bad_listeners_are_refused(text: str) -> None:
    with pytest.raises(SpecError):
        parse_listener(text)


@pytest.mark.parametrize("text", ["c=a@0.0.0.0", "c=a@::", "c=a/hold", "c=a b"])
def test_bad_clients_are_refused(text: str) -> None:
    with pytest.raises(SpecError):
        parse_client(text)


def test_the_command_refuses_bad_syntax_with_one_line(capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["-l", "a=x", "-c", "b=y/bogus"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "unknown option 'bogus'" in err[-1]


# -- verdicts ------------------------------------------------------------------------------

ROUTE = Route(frozenset({"r1", "r2"}), "a", "ALPN a")


def ok(alpn: str | None = "a", error: str = "") -> ClientResult:
    return ClientResult(local_port=1, handshake=True, alpn=alpn, seconds=0.1, error=error)


def failed(error: str = "TimeoutError: QUIC handshake timed out") -> ClientResult:
    return ClientResult(local_port=1, error=error)


@pytest.mark.parametrize(("rt", "reached", "result", "good", "words"), [
    (None, None, failed(), True, "dropped"),
    (None, "x", failed("ConnectionError: closed"), False, "reached x although"),
    (None, None, ok(), False, "although the rules drop"),
    (ROUTE, "r2", ok(), True, "ok"),
    (ROUTE, "x", ok(), False, "reached x, the rules say r1/r2"),
    (ROUTE, "x", failed(), False, "reached x, the rules say r1/r2"),
    (ROUTE, None, failed(), False, "reaching no listener"),
    (ROUTE, "r1", failed(), False, "failed at r1"),
    (ROUTE, None, ok(), False, "no listener reported"),
    (ROUTE, "r1", ok("b"), False, "negotiated b, the rules say a"),
    (ROUTE, "r1", ok(error="the answer named no listener"), False, "then the answer"),
])
def test_client_verdicts(rt: Route | None, reached: str | None, result: ClientResult,
                         good: bool, words: str) -> None:
    v = judge_client(rt, reached, result)
    assert v.ok == good and words in v.text, v


def test_listen_verdicts() -> None:
    assert judge_listen(0, 0, "").ok
    assert judge_listen(EADDRINUSE, EADDRINUSE, "x").ok
    assert "succeeded, the rules say EADDRINUSE (identical" in judge_listen(
        0, EADDRINUSE, "identical ALPN lists").text
    assert "failed with EADDRINUSE" in judge_listen(EADDRINUSE, 0, "").text


def test_tables_and_the_summary_line() -> None:
    from libquic.tools.alpnroute.check import ClientOutcome, ListenOutcome

    spec = L("web", "h3,hq", "::", v6only=True)
    lo = ListenOutcome(spec, EADDRINUSE, 0, "", judge_listen(EADDRINUSE, 0, ""))
    table = listener_table([lo])
    assert table.splitlines()[1].split() == ["web", "h3,hq", "::", "process", "v6only",
                                             "EADDRINUSE", "ok", "WRONG:", "listen()",
                                             "failed", "with", "EADDRINUSE,", "the", "rules",
                                             "allow", "it"]
    c = ClientOutcome(ClientSpec("c1", ("a",)), "127.0.0.1", ok(), "r1", ROUTE,
                      judge_client(ROUTE, "r1", ok()))
    assert client_table([c]).splitlines()[1].split() == ["c1", "a", "127.0.0.1", "r1", "a",
                                                         "100", "ms", "ok"]
    line = first_violation([lo], [c])
    assert line is not None and line.startswith("1 of 2 ") and "listener web" in line
    assert first_violation([], [c]) is None


# -- whose report is whose ------------------------------------------------------------

def E(listener: str, port: int | None = None, client: str | None = None) -> ListenerEvent:
    return ListenerEvent(listener, "accepted", peer_port=port, client=client)


def test_reports_go_to_clients_by_port_then_name() -> None:
    clients = [ClientSpec("a"), ClientSpec("b"), ClientSpec("c")]
    results = [ClientResult(local_port=1), ClientResult(local_port=2), ClientResult()]
    events = [E("X", 2), E("K", client="c"), E("Y", 1), E("Z", 99)]
    mine, rest = attribute(clients, results, events)
    assert {i: [e.listener for e in es] for i, es in mine.items()} == {
        0: ["Y"], 1: ["X"], 2: ["K"]}
    assert [e.listener for e in rest] == ["Z"]  # c has a report of its own already


def test_reports_go_by_elimination_only_when_one_client_can_own_them() -> None:
    clients = [ClientSpec("a"), ClientSpec("prog"), ClientSpec("dropped")]
    results = [ClientResult(local_port=1), ClientResult(), ClientResult(local_port=3)]
    mine, rest = attribute(clients, results, [E("Y", 1), E("X", 77)])
    assert [e.listener for e in mine[1]] == ["X"] and not rest  # the portless program's
    # a report of neither port nor name: the one client nothing was reported for
    mine, rest = attribute(clients[:1] + clients[2:], results[:1] + results[2:],
                           [E("Y", 1), E("K")])
    assert [e.listener for e in mine[1]] == ["K"] and not rest
    # two such clients: nobody's
    mine, rest = attribute(clients, results, [E("K")])
    assert not any(mine.values()) and [e.listener for e in rest] == ["K"]


def test_the_reporting_listener_is_the_one_reached() -> None:
    res = ClientResult(reply_from="kernel")
    assert reached_by([], res, "smb") == "smb"
    assert reached_by([], ClientResult(reply_from="web"), None) == "web"
    assert reached_by([], ClientResult(), None) is None
    res = ClientResult(reply_from="web")
    assert reached_by([E("other", 1)], res, None) == "other"
    assert res.error == "other reported it but web answered"


# -- the listener without an ALPN list ------------------------------------------------------

@pytest.mark.parametrize("split", [False, True], ids=["hello", "large-hello"])
def test_a_listener_without_a_list_negotiates_the_clients_first_choice(
        tmp_path: Path, split: bool) -> None:
    if split and not HAVE_MLKEM:
        pytest.skip("cryptography without ML-KEM")
    pki = write_test_pki(tmp_path, ["localhost"])
    c, s = fake_pair(server_alpn="")
    extra = {"key_share_groups": SPLIT_KEY_SHARES} if split else {}

    def server() -> str | None:
        sock, alpns = offered_alpns(s, 10)  # type: ignore[arg-type]
        assert alpns == ["imap", "smb"]
        return quic_handshake(HandshakeSession(sock=sock, is_server=True, alpns=alpns,
                                               cert_file=str(pki.cert), key_file=str(pki.key),
                                               timeout=10)).alpn

    with ThreadPoolExecutor(2) as pool:
        srv = pool.submit(server)
        cli = pool.submit(quic_client_handshake, c, None, "localhost", ["imap", "smb"],
                          cafile=str(pki.ca), timeout=10, **extra)
        assert srv.result(20) == cli.result(20).alpn == "imap"
