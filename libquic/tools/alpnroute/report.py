"""The harness's tables and its one-line summary of what broke the rules."""

from __future__ import annotations

from collections.abc import Sequence

from libquic.tools.alpnroute.check import ClientOutcome, ListenOutcome, errno_name

__all__ = ["client_table", "first_violation", "listener_table"]


def _alpns(alpns: Sequence[str]) -> str:
    return ",".join(alpns) or "-"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in [header, *rows]]
    return "\n".join(lines)


def listener_table(outcomes: Sequence[ListenOutcome]) -> str:
    rows = []
    for o in outcomes:
        s = o.spec
        opts = [n for n, on in (("reuseport", s.reuseport), ("v6only", s.v6only),
                                ("hold", s.hold)) if on]
        rows.append([s.name, _alpns(s.alpns), s.address, s.kind, ",".join(opts) or "-",
                     errno_name(o.errno), errno_name(o.expected),
                     "ok" if o.verdict.ok else f"WRONG: {o.verdict.text}"])
    return _table(["listener", "ALPNs", "address", "kind", "options", "listen()", "rules",
                   "verdict"], rows)


def client_table(outcomes: Sequence[ClientOutcome]) -> str:
    rows = []
    for o in outcomes:
        r = o.result
        seconds = f"{r.seconds * 1000:.0f} ms" if r.seconds is not None else "-"
        negotiated = (r.alpn or "(none)") if r.handshake else "-"
        rows.append([o.spec.name, _alpns(o.spec.alpns), o.target, o.reached or "-",
                     negotiated, seconds,
                     o.verdict.text if o.verdict.ok else f"WRONG: {o.verdict.text}"])
    return _table(["client", "ALPNs", "to", "reached", "ALPN", "handshake", "verdict"], rows)


def first_violation(listens: Sequence[ListenOutcome],
                    clients: Sequence[ClientOutcome]) -> str | None:
    """One line naming how many broke the rules and the first of them; None
    when everything went as the rules say."""
    bad = [f"listener {o.spec.name}: {o.verdict.text}" for o in listens if not o.verdict.ok]
    bad += [f"client {o.spec.name}: {o.verdict.text}" for o in clients if not o.verdict.ok]
    if not bad:
        return None
    total = len(listens) + len(clients)
    return f"{len(bad)} of {total} listeners and clients broke the routing rules; " \
           f"first: {bad[0]}"
