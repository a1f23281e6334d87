"""Test tiers: tests/host runs anywhere; tests/vm only inside the test VM."""

from __future__ import annotations

import os

# Helpers shared by both tiers live in the package tests/kquictest, which
# pyproject.toml's `pythonpath` makes importable as `kquictest`.

# The VM tier needs the real kernel module: it is collected only inside the
# guest that scripts/vm-run boots (which sets KQUIC_IN_VM).  Run it with
# `make check-vm`, never directly on the host.
collect_ignore_glob = [] if os.environ.get("KQUIC_IN_VM") else ["vm/*"]
