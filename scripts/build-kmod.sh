#!/usr/bin/env bash
# Build kmod/quic.ko, its known-answer test module kmod/test/quic_test.ko
# (CONFIG_QUIC_KUNIT_TEST=m) and the test consumer tests/kmod/quic_consumer.ko
# against the cached test kernel with W=1; any compiler warning fails the
# build.  Set KDIR to build against another kernel tree.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/env.sh
. "$ROOT/scripts/env.sh"
KDIR=${KDIR:-$(kernel_build)}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# build DIR [MAKEARGS...]: make the modules in DIR with W=1; any warning fails.
build() {
	local dir=$1
	shift
	if ! make -C "$dir" KDIR="$KDIR" W=1 -j"$(nproc)" "$@" 2>&1 | tee "$log"; then
		echo "build-kmod: the module in $dir failed to build" >&2
		exit 1
	fi
	if grep -E 'warning:' "$log" >/dev/null; then
		echo "build-kmod: the build printed compiler warnings (W=1 must be clean):" >&2
		grep -E 'warning:' "$log" >&2
		exit 1
	fi
}

# The test module links against internals that quic.ko exports only with
# CONFIG_QUIC_KUNIT_TEST (kmod/test_export.h).
build "$ROOT/kmod" CONFIG_QUIC_KUNIT_TEST=m
for ko in kmod/quic.ko kmod/test/quic_test.ko; do
	[ -f "$ROOT/$ko" ] || { echo "build-kmod: $ko was not produced" >&2; exit 1; }
done
# The test-only consumer (tests/kmod) links against quic.ko's symbols.
# Kbuild does not relink it when only their versions (CRCs) in
# kmod/Module.symvers change, and the stale module would then fail to load
# ("disagrees about version of symbol"): force it.
consumer=$ROOT/tests/kmod/quic_consumer.ko
if [ -f "$consumer" ] && [ "$ROOT/kmod/Module.symvers" -nt "$consumer" ]; then
	rm -f "$consumer" "$ROOT"/tests/kmod/quic_consumer.mod.o "$ROOT"/tests/kmod/Module.symvers
fi
build "$ROOT/tests/kmod"
[ -f "$ROOT/tests/kmod/quic_consumer.ko" ] ||
	{ echo "build-kmod: tests/kmod/quic_consumer.ko was not produced" >&2; exit 1; }
echo "build-kmod: kmod/quic.ko, kmod/test/quic_test.ko and tests/kmod/quic_consumer.ko built against $KDIR" >&2
