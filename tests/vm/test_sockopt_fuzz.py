"""A buggy or hostile local program: every socket option and cmsg, with
every length and wild contents, on sockets in every state, as root and as
an unprivileged user (see sockfuzz.py for what each call must satisfy).

KQUIC_SOCKOPT_ROUNDS sets the rounds per socket (CI: 30; ``make soak``:
400); QUIC_FUZZ_SEED repeats a run.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

from kquictest import hostile, sockfuzz
from kquictest import quic_testdriver as qt
from libquic import uapi

pytestmark = [pytest.mark.timeout(3600),
              pytest.mark.kquic_only("reads socket states and counts from /proc/net/quic")]

ROUNDS = int(os.environ.get("KQUIC_SOCKOPT_ROUNDS", "30"))
NOBODY = 65534


def still_serving() -> None:
    lsk, c, s = qt.connect_pair()
    try:
        c.sendmsg([b"after the fuzz"], [], 0)
        assert s.recv(100) == b"after the fuzz"
    finally:
        for x in (c, s, lsk):
            x.close()


def report(who: str, tally: sockfuzz.Tally) -> None:
    print(f"{who}: {tally.calls} calls, {tally.checked} struct answers checked for padding")
    for outcome, n in sorted(tally.outcomes.items()):
        print(f"  {outcome:32} {n}")


def test_padding_check_knows_the_gaps() -> None:
    """The check itself: the offsets it demands zero are the real gaps."""
    assert sockfuzz.padding_bytes(uapi.QuicStreamInfo) == set(range(12, 16))
    assert sockfuzz.padding_bytes(uapi.QuicConnectionIdInfo) == {1, 2, 3}
    assert sockfuzz.padding_bytes(uapi.QuicConfig) == {21, 22, 23}


def test_every_option_and_cmsg_in_every_state() -> None:
    seed = hostile.SEED
    print(f"fuzz seed {seed} (QUIC_FUZZ_SEED to repeat), {ROUNDS} rounds per socket")
    baseline = hostile.quic_socket_count()
    total = sockfuzz.Tally()
    for state, fam, typ in sockfuzz.combos():
        total.merge(sockfuzz.run_combo(seed, state, fam, typ, ROUNDS))
    report("root", total)
    assert total.checked > 0, "no struct answer was checked for padding"
    assert any(k.endswith(":ok") for k in total.outcomes if k.startswith("sendmsg"))
    qt.wait_for(lambda: hostile.quic_socket_count() <= baseline, 60,
                f"the QUIC sockets to return to {baseline}")
    still_serving()


def test_every_option_as_unprivileged_user() -> None:
    seed = hostile.SEED

    def as_nobody() -> tuple[int, int, dict[str, int]]:
        total = sockfuzz.Tally()
        for state, fam, typ in sockfuzz.combos():
            total.merge(sockfuzz.run_combo(seed + 1, state, fam, typ, max(ROUNDS // 2, 5)))
        return total.calls, total.checked, dict(total.outcomes)

    baseline = hostile.quic_socket_count()
    out = qt.run_as(NOBODY, as_nobody, timeout=3000)
    assert not isinstance(out, OSError), f"the unprivileged fuzz failed: {out}"
    calls, checked, outcomes = out  # type: ignore[misc]
    tally = sockfuzz.Tally(calls, Counter(outcomes), checked)
    report(f"uid {NOBODY}", tally)
    assert tally.checked > 0, "no struct answer was checked for padding"
    qt.wait_for(lambda: hostile.quic_socket_count() <= baseline, 60,
                f"the QUIC sockets to return to {baseline}")
    still_serving()
