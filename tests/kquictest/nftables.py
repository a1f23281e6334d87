"""nftables scripts for the VM tests, through Debian's ``nft`` (installed
by scripts/setup.sh), in this network namespace or another one
(kquictest.netns): the command runs in a child forked from a thread that
joined the namespace.

``nft(script)``
    Run a script (``nft -f -``: one transaction) now.
``counter(table, name)``
    A named counter of an inet table: (packets, bytes).
``prepared(script)``
    An ``nft -f -`` started ahead and fed the script, which it commits
    when ``commit()`` closes its input: an exec of ``nft`` takes up to
    seconds in the emulated VM, a commit of a loaded one milliseconds.
    Killed, uncommitted, if the block ends first.

Whoever adds a table deletes it, however the test ends (or removes the
namespace it is in).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from kquictest.netns import Namespace

T = TypeVar("T")
NFT_WAIT = 30.0  # seconds for one nft command in the emulated VM


def _in(ns: Namespace | None, fn: Callable[[], T]) -> T:
    return fn() if ns is None else ns.run(fn, timeout=NFT_WAIT + 5)


def _check(args: list[str], script: str, rc: int, stderr: str) -> None:
    if rc != 0:
        raise RuntimeError(f"nft {' '.join(args)} failed ({rc}): {stderr.strip()}\n{script}")


def _nft(args: list[str], script: str = "", ns: Namespace | None = None) -> str:
    def run() -> str:
        done = subprocess.run(["nft", *args], input=script, capture_output=True,
                              text=True, timeout=NFT_WAIT, check=False)
        _check(args, script, done.returncode, done.stderr)
        return done.stdout
    return _in(ns, run)


def nft(script: str, ns: Namespace | None = None) -> None:
    """Run an nftables script (one transaction) in ``ns`` (None: here)."""
    _nft(["-f", "-"], script, ns)


def counter(table: str, name: str, ns: Namespace | None = None) -> tuple[int, int]:
    """Named counter ``name`` of inet table ``table``: (packets, bytes),
    the bytes counted from the IP header on."""
    out = _nft(["-j", "list", "counter", "inet", table, name], ns=ns)
    for item in json.loads(out)["nftables"]:
        if "counter" in item:
            return int(item["counter"]["packets"]), int(item["counter"]["bytes"])
    raise KeyError(f"no counter {name} in table {table}")


@dataclass
class Prepared:
    """An ``nft -f -`` waiting for the end of its input (``prepared()``)."""

    proc: subprocess.Popen[str]
    script: str

    def commit(self) -> None:
        """Close its input: the script runs; an error if it failed."""
        _, err = self.proc.communicate(timeout=NFT_WAIT)  # closes its input
        _check(["-f", "-"], self.script, self.proc.returncode, err)


@contextmanager
def prepared(script: str, ns: Namespace | None = None) -> Iterator[Prepared]:
    """``script`` for an nft started now in ``ns``, run at ``commit()``."""
    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(["nft", "-f", "-"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    proc = _in(ns, start)
    try:
        assert proc.stdin is not None
        proc.stdin.write(script)
        proc.stdin.flush()
        yield Prepared(proc, script)
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.communicate(timeout=NFT_WAIT)
