"""quic-alpn-route: several QUIC listeners with their ALPN lists on one
port, clients with ALPN preference lists sent at it, and a verdict on each
from the kernel's routing rules (:mod:`.rules`)."""

from libquic.tools.alpnroute.rules import Route, listen_errno, route
from libquic.tools.alpnroute.spec import ClientSpec, ListenerSpec, SpecError

__all__ = ["ClientSpec", "ListenerSpec", "Route", "SpecError", "listen_errno", "route"]
