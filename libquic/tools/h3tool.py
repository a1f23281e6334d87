"""quic-h3: fetch a URL over HTTP/3, or serve a folder, on kernel QUIC sockets.

    quic-h3 get https://example.net:4433/file.iso [-o FILE] [--cafile CA]
    quic-h3 serve ./htdocs --cert chain.pem --key key.pem [-p 4433]

``get`` verifies the server's certificate (against ``--cafile`` or the
system's CA store) and its name, streams the body to FILE (written as
FILE.part and renamed once complete) with a progress line on a terminal,
and exits non-zero unless the server answered 2xx.  ``serve`` answers GET
and HEAD for the files under the folder (never outside it), one thread
per connection up to ``--workers``, with a log line per request.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO
from urllib.parse import unquote, urlsplit

from libquic.connection import QuicConnection, QuicListener
from libquic.h3 import H3_ALPN, H3_MESSAGE_ERROR, H3Connection, H3Error, H3Message, response
from libquic.handshake import quic_server_handshake
from libquic.tls import TLSError
from libquic.tools.cli import ToolParser
from libquic.tools.perf import _rate, _size

__all__ = ["FolderHandler", "Progress", "fetch", "main", "parse_url", "serve_folder"]

CHUNK = 256 * 1024
DEFAULT_PORT = 443


class _UsageError(Exception):
    """Bad input from the command line: printed as one line, status 2."""


def parse_url(url: str) -> tuple[str, int, str, str]:
    """(host, port, path with query, authority) of an https URL."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise _UsageError(f"not an https URL: {url!r} (e.g. https://host:4433/path)")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise _UsageError(f"bad port in {url!r}") from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.hostname, port, path, parts.netloc


class Progress:
    """A progress line on a terminal: bytes, percent, rate."""

    def __init__(self, total: int | None, out: TextIO, enabled: bool) -> None:
        self.total = total
        self.out = out
        self.enabled = enabled
        self.done = 0
        self.start = time.monotonic()
        self._last = 0.0

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and now - self._last >= 0.2:
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        rate = self.done * 8 / max(now - self.start, 1e-6)
        if self.total:
            pct = min(100, self.done * 100 // self.total)
            bar = "#" * (pct // 4)
            line = f"[{bar:<25}] {pct:3d}% {_size(self.done)} of {_size(self.total).strip()}"
        else:
            line = f"{_size(self.done)}"
        self.out.write(f"\r{line}  {_rate(rate).strip()} ")
        self.out.flush()

    def finish(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            self.out.write("\n")
            self.out.flush()


def fetch(url: str, output: str | None, *, cafile: str | None, hostname: str | None,
          timeout: float, progress: Callable[[int | None], Progress]) -> tuple[int, int, str]:
    """GET ``url`` into ``output`` (the URL's file name if None, ``-`` for
    stdout); returns (status, bytes, where).  A non-2xx body is not kept."""
    host, port, path, authority = parse_url(url)
    target = output or (Path(unquote(path.split("?")[0])).name or "index.html")
    with QuicConnection.connect(host, port, alpns=[H3_ALPN], hostname=hostname or host,
                                cafile=cafile, timeout=timeout) as conn:
        resp = H3Connection(conn).stream_request("GET", authority, path, timeout=timeout)
        if not 200 <= resp.status < 300:
            for _ in resp.iter_body():
                pass
            return resp.status, 0, target
        bar = progress(resp.content_length)
        size = _write_body(resp.iter_body(), target, bar)
        bar.finish()
        if resp.content_length is not None and size != resp.content_length:
            raise H3Error(H3_MESSAGE_ERROR,
                          f"got {size} bytes of a {resp.content_length}-byte body")
        return resp.status, size, target


def _write_body(chunks: Iterator[bytes], target: str, bar: Progress) -> int:
    if target == "-":
        for chunk in chunks:
            sys.stdout.buffer.write(chunk)
            bar.add(len(chunk))
        sys.stdout.buffer.flush()
        return bar.done
    part = f"{target}.part"
    try:
        with open(part, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
                bar.add(len(chunk))
        os.replace(part, target)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise
    return bar.done


class FolderHandler:
    """Answers GET and HEAD with the files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def resolve(self, target: str) -> Path | None:
        """The file a request path names, or None (missing, or outside root)."""
        rel = unquote(target.split("?", 1)[0]).lstrip("/")
        path = (self.root / rel).resolve()
        if path != self.root and not path.is_relative_to(self.root):
            return None
        if path.is_dir():
            path = path / "index.html"
        return path if path.is_file() else None

    def __call__(self, req: H3Message) -> H3Message:
        method = req.header(":method") or ""
        if method not in ("GET", "HEAD"):
            return response(405, b"only GET and HEAD\n", [("allow", "GET, HEAD")])
        path = self.resolve(req.header(":path") or "/")
        if path is None:
            return response(404, b"not found\n")
        size = path.stat().st_size
        if method == "HEAD":
            return response(200, length=size)
        return response(200, chunks=_file_chunks(path), length=size)


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def serve_folder(root: Path, host: str, port: int, cert: str, key: str, *, workers: int,
                 timeout: float, log: Callable[[str], None],
                 max_connections: int | None = None) -> None:
    """Serve ``root`` until interrupted (or ``max_connections`` connections)."""
    handler = FolderHandler(root)
    slots = threading.BoundedSemaphore(workers)
    with QuicListener(host, port, alpns=[H3_ALPN], cert_file=cert, key_file=key,
                      backlog=64) as lsk:
        log(f"serving {handler.root} on {lsk.address[0]} port {lsk.address[1]}")
        threads: list[threading.Thread] = []
        count = 0
        while max_connections is None or count < max_connections:
            slots.acquire()  # a full pool leaves clients in the accept backlog
            sock, peer = lsk.sock.accept()
            count += 1
            t = threading.Thread(target=_serve_connection,
                                 args=(sock, peer, handler, cert, key, timeout, log, slots),
                                 daemon=True)
            t.start()
            threads.append(t)
        for t in threads:
            t.join()


def _serve_connection(sock: socket.socket, peer: tuple[str, int], handler: FolderHandler,
                      cert: str, key: str, timeout: float, log: Callable[[str], None],
                      slots: threading.BoundedSemaphore) -> None:
    who = f"{peer[0]} port {peer[1]}"
    try:
        sock.settimeout(timeout)
        try:
            result = quic_server_handshake(sock, key, cert, timeout=timeout)
        except (TLSError, OSError) as exc:
            log(f"{who}: handshake failed: {exc}")
            return
        conn = QuicConnection(sock, result)

        def logged(req: H3Message) -> H3Message:
            resp = handler(req)
            log(f"{who}: {req.header(':method')} {req.header(':path')} {resp.status} "
                f"{resp.header('content-length')}")
            return resp

        try:
            H3Connection(conn).serve(logged, timeout=None)
        except (H3Error, OSError) as exc:
            log(f"{who}: {exc}")
        finally:
            conn.close()
    finally:
        sock.close()
        slots.release()


def _parser() -> argparse.ArgumentParser:
    ap = ToolParser(prog="quic-h3", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    g = sub.add_parser("get", help="fetch a URL to a file")
    g.add_argument("url", help="https://host[:port]/path (port 443 by default)")
    g.add_argument("-o", "--output", help="file to write (default: the URL's file name; "
                   "- for standard output)")
    g.add_argument("--cafile", help="CA certificates to verify the server with "
                   "(default: the system's)")
    g.add_argument("--hostname", help="the name to check in the certificate (default: the "
                   "URL's host)")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    g.add_argument("--timeout", type=float, default=30.0, help="seconds for each wait")
    s = sub.add_parser("serve", help="serve the files of a folder")
    s.add_argument("folder")
    s.add_argument("--cert", required=True, help="certificate chain (PEM)")
    s.add_argument("--key", required=True, help="private key (PEM)")
    s.add_argument("-B", "--bind", default="0.0.0.0", help="address (default all)")
    s.add_argument("-p", "--port", type=int, default=DEFAULT_PORT)
    s.add_argument("--workers", type=int, default=16, help="connections served at once")
    s.add_argument("--timeout", type=float, default=60.0, help="seconds for each wait")
    s.add_argument("--connections", type=int, default=None,
                   help="exit after serving this many connections")
    return ap


def _check_readable(*paths: str) -> None:
    for p in paths:
        if not os.path.exists(p):
            raise _UsageError(f"{p} does not exist")
        if not os.access(p, os.R_OK):
            raise _UsageError(f"cannot read {p}: permission denied")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "get":
            if args.cafile:
                _check_readable(args.cafile)
            status, size, where = fetch(
                args.url, args.output, cafile=args.cafile, hostname=args.hostname,
                timeout=args.timeout,
                progress=lambda total: Progress(total, sys.stderr,
                                                not args.quiet and sys.stderr.isatty()))
            if not 200 <= status < 300:
                print(f"quic-h3: the server answered {status} for {args.url}", file=sys.stderr)
                return 1
            if where != "-" and not args.quiet:
                print(f"quic-h3: {size} bytes written to {where}", file=sys.stderr)
            return 0
        if not Path(args.folder).is_dir():
            raise _UsageError(f"{args.folder} is not a folder")
        _check_readable(args.cert, args.key)
        if args.workers < 1:
            raise _UsageError("--workers must be at least 1")
        serve_folder(Path(args.folder), args.bind, args.port, args.cert, args.key,
                     workers=args.workers, timeout=args.timeout,
                     log=lambda line: print(f"quic-h3: {line}", file=sys.stderr, flush=True),
                     max_connections=args.connections)
        return 0
    except _UsageError as exc:
        print(f"quic-h3: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:  # the h3 extra (pylsqpack) is missing
        print(f"quic-h3: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except (OSError, TLSError, H3Error, ValueError) as exc:
        where = f" ({args.url})" if args.command == "get" else ""
        print(f"quic-h3: {exc.__class__.__name__}{where}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
