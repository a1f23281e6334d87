"""Running a command as a systemd service: readiness notification and
journal log priorities, without a dependency on libsystemd.

``notify()`` sends ``sd_notify(3)`` state strings to ``$NOTIFY_SOCKET``
(``Type=notify`` units); ``JournalFormatter`` prefixes each log line with
its syslog priority (``<3>`` error ... ``<7>`` debug), which journald reads
from a service's stderr (``SyslogLevelPrefix=``, on by default).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

__all__ = ["JournalFormatter", "notify", "setup_logging", "under_journal", "use_journal"]

_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Tell the service manager ``state`` (e.g. ``"READY=1"``); False when
    not started by one (no ``$NOTIFY_SOCKET``)."""
    env = os.environ if environ is None else environ
    path = env.get("NOTIFY_SOCKET", "")
    if not path:
        return False
    if path.startswith("@"):  # abstract namespace
        path = "\0" + path[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
        s.sendto(state.encode(), path)
    return True


def under_journal(environ: Mapping[str, str] | None = None) -> bool:
    """Whether stderr goes to the journal (systemd sets ``$JOURNAL_STREAM``)."""
    env = os.environ if environ is None else environ
    return bool(env.get("JOURNAL_STREAM"))


class JournalFormatter(logging.Formatter):
    """One ``<priority>`` prefix per line; no time stamp (journald adds it)."""

    def format(self, record: logging.LogRecord) -> str:
        prio = _PRIORITY.get(record.levelno, 6 if record.levelno < logging.WARNING else 3)
        return "\n".join(f"<{prio}>{line}" for line in super().format(record).splitlines())


def use_journal(target: str, environ: Mapping[str, str] | None = None) -> bool:
    """``--log`` choice: "journal", "stderr", or "auto" (journal under systemd)."""
    return target == "journal" or (target == "auto" and under_journal(environ))


def setup_logging(name: str, verbose: bool, journal: bool) -> None:
    """Log to stderr: with priorities for the journal, else as plain
    ``name: message`` lines."""
    handler = logging.StreamHandler()
    if journal:
        handler.setFormatter(JournalFormatter("%(message)s"))
    else:
        handler.setFormatter(logging.Formatter(f"{name}: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
