"""The kernel module's layering, read from the built objects: which file
calls which (Documentation/networking/quic.rst, "Source layout and
layering").

Every call between two files of quic.ko must go down the layers below, or
stay inside the protocol engine, the one group of files that call each
other.  A new call upwards (a leaf calling the engine, the engine calling
the socket layer) fails here, with the call named."""

from __future__ import annotations

import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

KMOD = Path(__file__).resolve().parents[2] / "kmod"

# rank: a file may call files of a lower rank; the engine (rank 4) may
# also call itself.  Keep in step with quic.rst.
ENGINE_RANK = 4
LAYERS: dict[str, int] = {
    # leaves: call nothing else in the module
    "addr": 0, "cong": 0, "crypto": 0, "pnspace": 0, "tp": 0, "stream": 0,
    "trace": 0, "hello": 0,
    "connid": 1, "netns": 1, "pmtud": 1,
    "udp": 2, "inqueue": 2, "ecn": 2,
    "listen": 3,
    # the protocol engine
    "packet": 4, "frame": 4, "connection": 4, "outqueue": 4, "recovery": 4,
    "path": 4,
    "timer": 5,
    "socket": 6,
    "protocol": 7,
}
ENGINE = {name for name, rank in LAYERS.items() if rank == ENGINE_RANK}
ENGINE_MAX = 6


def objects() -> dict[str, Path]:
    objs = {p.stem: p for p in KMOD.glob("*.o")
            if p.name not in {"quic.o", "quic.mod.o"} and not p.name.startswith(".")}
    if not objs or not (KMOD / "quic.ko").exists():
        pytest.fail("kmod/ is not built: run `make kmod` first (make check does)")
    return objs


def call_graph() -> dict[tuple[str, str], set[str]]:
    """(caller file, callee file) -> the symbols, from nm's defined and
    undefined symbols of each object."""
    defined: dict[str, str] = {}
    undefined: dict[str, set[str]] = defaultdict(set)
    for name, path in objects().items():
        out = subprocess.run(["nm", str(path)], capture_output=True, text=True,
                             check=True, timeout=60).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "TDBR":
                defined[parts[2]] = name
            elif len(parts) == 2 and parts[0] == "U":
                undefined[name].add(parts[1])
    edges: dict[tuple[str, str], set[str]] = defaultdict(set)
    for caller, syms in undefined.items():
        for sym in syms:
            callee = defined.get(sym)
            if callee and callee != caller:
                edges[(caller, callee)].add(sym)
    return edges


def largest_cycle(edges: dict[tuple[str, str], set[str]]) -> set[str]:
    """The largest set of files that all reach each other."""
    adj: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        adj[a].add(b)

    def reach(start: str) -> set[str]:
        seen, todo = {start}, [start]
        while todo:
            for nxt in adj[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    files = {f for e in edges for f in e}
    best: set[str] = set()
    for f in files:
        group = {g for g in reach(f) if f in reach(g)}
        if len(group) > len(best):
            best = group
    return best


def test_every_file_has_a_layer() -> None:
    unknown = sorted(set(objects()) - set(LAYERS))
    assert not unknown, f"give these kmod files a layer in LAYERS and quic.rst: {unknown}"


def test_calls_go_down_the_layers() -> None:
    bad = []
    for (caller, callee), syms in sorted(call_graph().items()):
        rc, re_ = LAYERS.get(caller), LAYERS.get(callee)
        if rc is None or re_ is None:
            continue    # reported by test_every_file_has_a_layer
        if re_ < rc or (caller in ENGINE and callee in ENGINE):
            continue
        bad.append(f"{caller}.c -> {callee}.c: {', '.join(sorted(syms))}")
    assert not bad, "calls that go up the layers:\n" + "\n".join(bad)


def test_the_engine_is_the_only_loop_and_small() -> None:
    loop = largest_cycle(call_graph())
    assert loop <= ENGINE, f"files outside the engine call each other: {sorted(loop - ENGINE)}"
    assert len(loop) <= ENGINE_MAX, sorted(loop)
