"""The ``quic-alpn-route`` command."""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Callable
from typing import TypeVar

from libquic.tools.alpnroute.check import ClientOutcome
from libquic.tools.alpnroute.harness import DEFAULT_TIMEOUT, DROP_TIMEOUT, Harness
from libquic.tools.alpnroute.report import client_table, first_violation, listener_table
from libquic.tools.alpnroute.serve import describe
from libquic.tools.alpnroute.spec import (
    ClientSpec,
    SpecError,
    parse_client,
    parse_listener,
)
from libquic.tools.cli import ToolParser
from libquic.uapi import quic_socket

__all__ = ["main"]

PROG = "quic-alpn-route"
SYNTAX = """\
LISTENER and CLIENT are NAME=[ALPN[,ALPN...]][@ADDRESS][/OPTION...]; an
empty ALPN part means no ALPN list.  Listeners start in the order given
(each in a process of its own), then all clients run at once.

listener options:
  /reuseport   set SO_REUSEPORT
  /v6only      set IPV6_V6ONLY (an IPv6 wildcard that takes no IPv4)
  /consumer    the kernel consumer (tests/kmod/quic_consumer.ko loaded);
               quic-handshaked is started for it
  /hold        listen but never accept
client options:
  /split       a ClientHello that spans two Initial packets

A listener without an ADDRESS binds 127.0.0.1; a client without one goes
to --to, by default the first listener's address (its loopback address if
that is a wildcard).

exit status: 0 when every listen() and client went as the rules say, 1
when one did not, 2 when the harness could not run.

example:
  quic-alpn-route -l files=smb@0.0.0.0 -l web=h3,h3-29 -l any= \\
                  -c a=h3 -c b=smb,h3 -c c=imap -c d= -c e=smb@127.0.0.2"""

T = TypeVar("T")


def _spec(parse: Callable[[str], T]) -> Callable[[str], T]:
    def convert(text: str) -> T:
        try:
            return parse(text)
        except SpecError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _parser() -> argparse.ArgumentParser:
    ap = ToolParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter, epilog=SYNTAX,
        description="Start QUIC listeners with ALPN lists on one port, send clients with "
                    "ALPN preferences at it, and check each against the kernel's ALPN "
                    "routing rules.")
    ap.add_argument("-l", "--listener", metavar="LISTENER", action="append", required=True,
                    type=_spec(parse_listener), help="a listener (repeat; in bind order)")
    ap.add_argument("-c", "--client", metavar="CLIENT", action="append", required=True,
                    type=_spec(parse_client), help="a client (repeat)")
    ap.add_argument("-p", "--port", type=int, default=0, help="the port (default: a free one)")
    ap.add_argument("--to", metavar="ADDRESS", help="where clients without an address go")
    ap.add_argument("-n", "--repeat", type=int, default=1, metavar="N",
                    help="run each client N times (named NAME.1 ... NAME.N)")
    ap.add_argument("--parallel", type=int, default=16, metavar="N",
                    help="clients under way at once (default 16)")
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                    help=f"seconds for a handshake the rules allow (default {DEFAULT_TIMEOUT:g})")
    ap.add_argument("--drop-timeout", type=float, default=DROP_TIMEOUT, metavar="S",
                    help="seconds a client the rules drop keeps trying "
                         f"(default {DROP_TIMEOUT:g})")
    return ap


def _repeated(clients: list[ClientSpec], n: int) -> list[ClientSpec]:
    if n == 1:
        return clients
    return [ClientSpec(f"{c.name}.{k}", c.alpns, c.address, c.kind, c.split)
            for c in clients for k in range(1, n + 1)]


def _check_module() -> None:
    quic_socket(socket.AF_INET).close()  # a clear error when quic.ko is not loaded


def main(argv: list[str] | None = None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    if args.repeat < 1 or args.parallel < 1 or not 0 <= args.port < 65536:
        ap.error("--repeat and --parallel must be at least 1, --port within 0..65535")
    try:
        _check_module()
        with Harness(port=args.port, timeout=args.timeout, drop_timeout=args.drop_timeout,
                     default_target=args.to, parallel=args.parallel) as h:
            listens = h.add_listeners(args.listener)
            print(f"listeners on port {h.port}:\n{listener_table(listens)}\n", flush=True)
            outcomes: list[ClientOutcome] = h.run(_repeated(args.client, args.repeat))
            print(f"clients:\n{client_table(outcomes)}", flush=True)
            strays = h.strays()
    except KeyboardInterrupt:
        return 130
    except (OSError, SpecError, RuntimeError) as exc:
        print(f"{PROG}: {describe(exc)}", file=sys.stderr)
        return 2
    for e in strays:
        print(f"stray: {e.listener} took a connection from port {e.peer_port} that no client "
              f"accounts for")
    broken = first_violation(listens, outcomes)
    if broken is None and strays:
        broken = f"{len(strays)} connection(s) no client accounts for"
    if broken is not None:
        print(f"{PROG}: {broken}", file=sys.stderr)
        return 1
    return 0
