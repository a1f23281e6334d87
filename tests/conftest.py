"""Test tiers: tests/host runs anywhere; tests/vm only inside the test VM."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Helpers shared by both tiers (certificates, ...) live in tests/support.
sys.path.insert(0, str(Path(__file__).parent / "support"))

# The VM tier needs the real kernel module: it is collected only inside the
# guest that scripts/vm-run boots (which sets KQUIC_IN_VM).  Run it with
# `make check-vm`, never directly on the host.
collect_ignore_glob = [] if os.environ.get("KQUIC_IN_VM") else ["vm/*"]
