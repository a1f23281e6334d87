#!/usr/bin/env bash
# The main job: install what is missing, build the module, boot the test
# kernel in a VM, load the module and run the demo (libquic/tools/demo.py).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
bash "$ROOT/scripts/setup.sh"
exec make -C "$ROOT" demo
