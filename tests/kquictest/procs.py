"""Peer processes the tests start."""

from __future__ import annotations

import subprocess
from typing import Any

__all__ = ["stop"]


def stop(proc: subprocess.Popen[Any], grace: float = 10) -> None:
    """Terminate ``proc``, killing it if it has not exited after ``grace``
    seconds; whatever it wrote to pipes is read and dropped."""
    proc.terminate()
    try:
        proc.communicate(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
