"""NSS key log format output (SSLKEYLOGFILE), for Wireshark and friends.

Lines look like ``CLIENT_HANDSHAKE_TRAFFIC_SECRET <client_random> <secret>``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

__all__ = [
    "KeyLogCallback",
    "KeyLogFile",
    "keylog_from_env",
]

KeyLogCallback = Callable[[str, bytes, bytes], None]

_lock = threading.Lock()


class KeyLogFile:
    """Append key log lines to a file (opened per write, so it is fork safe)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)

    def __call__(self, label: str, client_random: bytes, secret: bytes) -> None:
        line = f"{label} {client_random.hex()} {bytes(secret).hex()}\n"
        with _lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)


def keylog_from_env() -> KeyLogCallback | None:
    """A writer for ``$SSLKEYLOGFILE`` if the variable is set."""
    path = os.environ.get("SSLKEYLOGFILE")
    return KeyLogFile(path) if path else None
