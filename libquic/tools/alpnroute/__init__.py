"""quic-alpn-route: several QUIC listeners with their ALPN lists on one
port, clients with ALPN preference lists sent at it, and a verdict on each
from the kernel's routing rules (:mod:`.rules`).

From Python::

    from libquic.tools.alpnroute import ClientSpec, Harness, ListenerSpec

    with Harness() as h:
        h.add_listeners([ListenerSpec("web", ("h3",)), ListenerSpec("smb", ("smb",))])
        for o in h.run([ClientSpec("c1", ("smb", "h3"))]):
            print(o.spec.name, o.reached, o.verdict.text)
"""

from libquic.tools.alpnroute.check import ClientOutcome, ClientResult, ListenOutcome, Verdict
from libquic.tools.alpnroute.harness import Harness, PendingRun
from libquic.tools.alpnroute.rules import Route, listen_errno, route
from libquic.tools.alpnroute.spec import (
    ClientSpec,
    ListenerSpec,
    SpecError,
    Trust,
    parse_client,
    parse_listener,
)

__all__ = [
    "ClientOutcome",
    "ClientResult",
    "ClientSpec",
    "Harness",
    "ListenOutcome",
    "ListenerSpec",
    "PendingRun",
    "Route",
    "SpecError",
    "Trust",
    "Verdict",
    "listen_errno",
    "parse_client",
    "parse_listener",
    "route",
]
