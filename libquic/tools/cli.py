"""What every libquic command shares on its command line."""

from __future__ import annotations

import argparse
from typing import NoReturn

__all__ = ["ToolParser"]


class ToolParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr,
    ``PROG: MESSAGE (see PROG --help)``, with status 2, rather than the
    usage text followed by the message."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")
