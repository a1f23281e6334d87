#!/usr/bin/env bash
# The whole test suite: install what is missing, build the module (W=1, no
# warnings), lint, run the host tier, then boot the VM once for the VM tier.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
bash "$ROOT/scripts/setup.sh"
command -v make >/dev/null || { echo "check: make is missing after setup" >&2; exit 1; }
exec make -C "$ROOT" check
