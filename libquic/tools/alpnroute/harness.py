"""The harness: listeners sharing one port, clients sent against it, and a
verdict on every listen() and every client from the routing rules.

Each listener runs in a process of its own (forked: start the listeners
before sending clients), or is the kernel consumer; all report to the
harness, which matches their reports to the clients by the client's port
(or, for the kernel consumer, by the client's name in its message).
"""

from __future__ import annotations

import multiprocessing
import socket
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from queue import Empty
from subprocess import Popen
from typing import Any

from libquic.tools.alpnroute.check import (
    ClientOutcome,
    ClientResult,
    ListenOutcome,
    attribute,
    judge_client,
    judge_listen,
    reached_by,
)
from libquic.tools.alpnroute.client import ClientDriver, libquic_client
from libquic.tools.alpnroute.consumer import (
    PROC,
    ConsumerListener,
    start_handshaked,
    stop_process,
)
from libquic.tools.alpnroute.events import ListenerEvent
from libquic.tools.alpnroute.rules import listen_errno, route
from libquic.tools.alpnroute.serve import listener_main
from libquic.tools.alpnroute.spec import ClientSpec, ListenerSpec, SpecError, Trust
from libquic.tools.certgen import write_test_pki

__all__ = [
    "DEFAULT_TIMEOUT",
    "DROP_TIMEOUT",
    "EventLog",
    "Harness",
    "PendingRun",
    "free_port",
    "loopback_for",
]

DEFAULT_TIMEOUT = 30.0  # a handshake the rules let through (emulated VMs are slow)
DROP_TIMEOUT = 5.0  # how long a client the rules drop keeps trying
START_TIMEOUT = 120.0  # a listener process reporting its listen()
REPORT_WAIT = 5.0  # listeners reporting the handshakes their clients completed
SETTLE = 0.3  # further reports (a client's stray retransmission) after that


def free_port() -> int:
    """A UDP port free on both families at this moment."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.bind(("::", 0))
            return int(s.getsockname()[1])
    except OSError:  # no IPv6
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("0.0.0.0", 0))
            return int(s.getsockname()[1])


def loopback_for(address: str) -> str:
    """Where a client reaches a listener bound to ``address``."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(address, address)


class EventLog:
    """The listeners' events in arrival order.  Listener processes and
    threads put them into one queue; the harness's own thread drains it
    while it waits (so no thread of ours is running when a listener
    process is forked)."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue
        self._events: list[ListenerEvent] = []

    def put(self, event: ListenerEvent) -> None:
        self._queue.put(event)

    def _pull(self, timeout: float) -> bool:
        try:
            self._events.append(self._queue.get(timeout=timeout) if timeout > 0
                                else self._queue.get_nowait())
        except Empty:
            return False
        return True

    def since(self, t: float) -> list[ListenerEvent]:
        while self._pull(0):
            pass
        return [e for e in self._events if e.at >= t]

    def wait_for(self, pred: Callable[[list[ListenerEvent]], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            while self._pull(0):
                pass
            if pred(self._events):
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._pull(left)


class _ProcessListener:
    def __init__(self, ctx: Any, spec: ListenerSpec, port: int, trust: Trust, timeout: float,
                 queue: Any) -> None:
        self._stop = ctx.Event()
        self._proc = ctx.Process(target=listener_main, name=f"alpnroute-{spec.name}",
                                 args=(spec, port, trust, timeout, queue, self._stop),
                                 daemon=True)
        self._proc.start()

    def close(self, wait: float = 10.0) -> None:
        self._stop.set()
        self._proc.join(wait)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join()


class PendingRun:
    """Clients under way; :meth:`finish` waits for them and judges them."""

    def __init__(self, harness: Harness, clients: Sequence[ClientSpec], dests: list[str],
                 futures: list[Future[ClientResult]], pool: ThreadPoolExecutor,
                 started: float) -> None:
        self._harness = harness
        self.clients = list(clients)
        self._dests = dests
        self._futures = futures
        self._pool = pool
        self._started = started

    def finish(self) -> list[ClientOutcome]:
        try:
            results = [f.result() for f in self._futures]
        finally:
            self._pool.shutdown()
        return self._harness._judge(self.clients, self._dests, results, self._started)


class Harness:
    """Listeners on one port and clients against it, judged by the rules.

    ``drivers`` adds client implementations by kind (``libquic`` is built
    in); ``timeout`` bounds a handshake the rules let through,
    ``drop_timeout`` how long a client the rules drop keeps trying.
    """

    def __init__(self, *, port: int = 0, timeout: float = DEFAULT_TIMEOUT,
                 drop_timeout: float = DROP_TIMEOUT, default_target: str | None = None,
                 drivers: Mapping[str, ClientDriver] | None = None, parallel: int = 16,
                 consumer_proc: Path = PROC) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="alpnroute-")
        self.folder = Path(self._tmp.name)
        pki = write_test_pki(self.folder, ["localhost", "127.0.0.1", "::1"])
        self.trust = Trust(str(pki.ca), str(pki.cert), str(pki.key))
        self.port = port or free_port()
        self.timeout = timeout
        self.drop_timeout = drop_timeout
        self.parallel = parallel
        self._default_target = default_target
        self._drivers: dict[str, ClientDriver] = {"libquic": libquic_client, **(drivers or {})}
        self._consumer_proc = consumer_proc
        # fork: a listener starts at once, with everything imported already
        self._ctx = multiprocessing.get_context("fork")
        self._queue = self._ctx.Queue()
        self.events = EventLog(self._queue)
        self._specs: dict[str, ListenerSpec] = {}
        self._listening: dict[str, bool] = {}  # by the rules
        self._running: dict[str, _ProcessListener | ConsumerListener] = {}
        self._claimed: set[int] = set()
        self._handshaked: Popen[bytes] | None = None
        self.listen_outcomes: list[ListenOutcome] = []

    # -- listeners ---------------------------------------------------------------
    def active(self) -> list[ListenerSpec]:
        """The listeners listening on the port as the rules have it."""
        return [s for name, s in self._specs.items() if self._listening[name]]

    def add_listener(self, spec: ListenerSpec) -> ListenOutcome:
        """Start ``spec``'s listener (after those before it) and judge its listen()."""
        if spec.name in self._specs:
            raise SpecError(f"two listeners are named {spec.name}")
        expected, why = listen_errno(self.active(), spec)
        got = self._start_consumer(spec) if spec.kind == "consumer" else self._start(spec)
        self._specs[spec.name] = spec
        self._listening[spec.name] = not expected
        outcome = ListenOutcome(spec, got, expected, why, judge_listen(got, expected, why))
        self.listen_outcomes.append(outcome)
        return outcome

    def add_listeners(self, specs: Iterable[ListenerSpec]) -> list[ListenOutcome]:
        return [self.add_listener(s) for s in specs]

    def _start(self, spec: ListenerSpec) -> int:
        since = time.monotonic()
        self._running[spec.name] = _ProcessListener(self._ctx, spec, self.port, self.trust,
                                                    self.timeout, self._queue)

        def listened(events: list[ListenerEvent]) -> bool:
            return any(e.listener == spec.name and e.kind == "listen" and e.at >= since
                       for e in events)

        if not self.events.wait_for(listened, START_TIMEOUT):
            raise TimeoutError(f"listener {spec.name} did not report in {START_TIMEOUT:.0f} s")
        (event,) = [e for e in self.events.since(since)
                    if e.listener == spec.name and e.kind == "listen"]
        return event.errno

    def _start_consumer(self, spec: ListenerSpec) -> int:
        if any(s.kind == "consumer" for s in self._specs.values()):
            raise SpecError("the kernel consumer serves one listener at a time")
        consumer = ConsumerListener(spec, self.port, self._queue, self._consumer_proc)
        if self._handshaked is None:
            self._handshaked = start_handshaked(self.trust, self.folder)
        self._running[spec.name] = consumer
        return consumer.start()

    def close_listener(self, name: str) -> None:
        """Close one listener (its queued requests with it)."""
        self._listening[name] = False
        running = self._running.pop(name, None)
        if isinstance(running, ConsumerListener):
            spec = running.spec
            poke = ClientSpec("alpnroute-stop", spec.alpns[:1], loopback_for(spec.address))
            running.stop(lambda: libquic_client(poke, (loopback_for(spec.address), self.port),
                                                self.trust, self.drop_timeout))
        elif running is not None:
            running.close()

    # -- clients -------------------------------------------------------------------
    def target_of(self, client: ClientSpec) -> str:
        if client.address is not None:
            return client.address
        if self._default_target is not None:
            return self._default_target
        first = next(iter(self._specs.values()), None)
        return loopback_for(first.address) if first else "127.0.0.1"

    def start(self, clients: Sequence[ClientSpec], timeout: float | None = None) -> PendingRun:
        """Send ``clients`` at the port, all at once (up to ``parallel``).
        Each tries for ``timeout`` seconds, by default ``self.timeout`` when
        the rules let it through and ``drop_timeout`` when they drop it."""
        names = [c.name for c in clients]
        if len(set(names)) != len(names):
            raise SpecError("two clients of one run have the same name")
        unknown = sorted({c.kind for c in clients} - set(self._drivers))
        if unknown:
            raise SpecError(f"no client driver of kind {unknown[0]!r} "
                            f"(known: {', '.join(sorted(self._drivers))})")
        dests = [self.target_of(c) for c in clients]
        active = self.active()
        started = time.monotonic()
        pool = ThreadPoolExecutor(max_workers=max(1, min(self.parallel, len(clients))))
        futures = []
        for c, dest in zip(clients, dests, strict=True):
            wait = timeout if timeout is not None else (
                self.timeout if route(active, c, dest) else self.drop_timeout)
            futures.append(pool.submit(self._drivers[c.kind], c, (dest, self.port),
                                       self.trust, wait))
        return PendingRun(self, clients, dests, futures, pool, started)

    def run(self, clients: Sequence[ClientSpec], timeout: float | None = None
            ) -> list[ClientOutcome]:
        """:meth:`start` and :meth:`PendingRun.finish`."""
        return self.start(clients, timeout).finish()

    def _judge(self, clients: list[ClientSpec], dests: list[str], results: list[ClientResult],
               started: float) -> list[ClientOutcome]:
        def all_reported(events: list[ListenerEvent]) -> bool:
            mine, _ = attribute(clients, results,
                                      [e for e in events if e.kind == "handshake"
                                       and e.at >= started and id(e) not in self._claimed])
            return all(any(e.kind == "handshake" for e in mine[i])
                       for i, r in enumerate(results) if r.handshake)

        self.events.wait_for(all_reported, REPORT_WAIT)
        time.sleep(SETTLE)
        mine, _ = attribute(clients, results, [e for e in self.events.since(started)
                                               if e.kind != "listen" and id(e) not in
                                               self._claimed])
        consumer = next((s.name for s in self._specs.values() if s.kind == "consumer"), None)
        active = self.active()
        outcomes = []
        for i, (c, dest, res) in enumerate(zip(clients, dests, results, strict=True)):
            self._claimed.update(id(e) for e in mine[i])
            reached = reached_by(mine[i], res, consumer)
            rt = route(active, c, dest)
            outcomes.append(ClientOutcome(c, dest, res, reached, rt,
                                          judge_client(rt, reached, res)))
        return outcomes

    def strays(self) -> list[ListenerEvent]:
        """Connections no finished client accounts for (a crafted packet
        that a listener accepted, say)."""
        return [e for e in self.events.since(0.0)
                if e.kind != "listen" and id(e) not in self._claimed]

    # -- the end -------------------------------------------------------------------
    def close(self) -> None:
        for name in list(self._running):
            self.close_listener(name)
        if self._handshaked is not None:
            stop_process(self._handshaked)
            self._handshaked = None
        self._queue.close()
        self._tmp.cleanup()

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
