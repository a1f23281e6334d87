#!/usr/bin/env bash
# Build kmod/quic.ko against the cached test kernel with W=1; any compiler
# warning fails the build.  Set KDIR to build against another kernel tree.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/env.sh
. "$ROOT/scripts/env.sh"
KDIR=${KDIR:-$(kernel_build)}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! make -C "$ROOT/kmod" KDIR="$KDIR" W=1 -j"$(nproc)" 2>&1 | tee "$log"; then
	echo "build-kmod: the module failed to build" >&2
	exit 1
fi
if grep -E 'warning:' "$log" >/dev/null; then
	echo "build-kmod: the build printed compiler warnings (W=1 must be clean):" >&2
	grep -E 'warning:' "$log" >&2
	exit 1
fi
[ -f "$ROOT/kmod/quic.ko" ] || { echo "build-kmod: kmod/quic.ko was not produced" >&2; exit 1; }
echo "build-kmod: kmod/quic.ko built against $KDIR" >&2
