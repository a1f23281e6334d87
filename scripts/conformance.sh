#!/usr/bin/env bash
# Conformance run: the reference implementation's (lxin/quic) own userspace
# test programs against our kmod/quic.ko, in one VM boot.
#
# usage: scripts/conformance.sh REF [CASE...]
#   REF   a checkout of the reference (github.com/lxin/quic) whose userspace
#         the user has built as its README says (autogen, configure, make,
#         and make http3_test for the HTTP/3 case) and whose test keys exist
#         (its tests/keys/ca_cert_pkey_psk.sh).  Nothing here builds or
#         copies the reference: this project ships no recipe for it.
#   CASE  run only these cases (names as printed in the table, or a prefix
#         such as "func" or "alpn"); default: all
#
# Environment:
#   KQUIC_CONF_RESULTS    results folder (default $KQUIC_CACHE/conformance/results):
#                         table.txt, one log per case, the VM's console and dmesg
#   KQUIC_CONF_FULL=1     runtest.sh's transfer sizes (1 GiB bulk, 100,000
#                         requests) instead of the VM-sized 16 MiB / 5,000
#   KQUIC_CONF_SCALE      multiply every per-case timeout (default 1)
#   KQUIC_CONF_SAMPLE_KO  the reference's kernel-side sample test module,
#                         built by the user against this module
#                         (kmod/Module.symvers): adds the in-kernel cases,
#                         with our handshake daemon as tlshd
#
# Exit status: 0 when every case passed, 1 when any failed, 2 on a usage or
# setup error.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/env.sh
. "$ROOT/scripts/env.sh"

die() { echo "conformance: $*" >&2; exit 2; }
log() { echo "[conformance] $*" >&2; }

REF=${1:-}
[ -n "$REF" ] || die "usage: make conformance REF=/path/to/lxin-quic (a built checkout of github.com/lxin/quic)"
shift
[ -d "$REF" ] || die "REF=$REF is not a directory"
REF=$(cd "$REF" && pwd)
[ -f "$REF/tests/func_test.c" ] && [ -f "$REF/libquic/netinet/quic.h" ] ||
	die "REF=$REF is not a reference checkout (lxin/quic): no tests/func_test.c"
[ -x "$ROOT/.venv/bin/python" ] || die "no venv: run scripts/setup.sh"
[ -f "$ROOT/kmod/quic.ko" ] || die "kmod/quic.ko is not built: run make kmod"

for p in func_test perf_test alpn_test ticket_test sample_test; do
	[ -x "$REF/tests/$p" ] ||
		die "$REF/tests/$p is not built: build the reference's userspace as its README says, then run again"
done
[ -f "$REF/tests/keys/server-key.pem" ] && [ -f "$REF/tests/keys/client-psk.txt" ] ||
	die "no test keys in $REF/tests/keys: run its ca_cert_pkey_psk.sh there first"
[ -x "$REF/tests/http3_test" ] || log "no $REF/tests/http3_test (make http3_test in its tests/): the HTTP/3 case is reported as not run"

sample_ko=${KQUIC_CONF_SAMPLE_KO:-}
if [ -n "$sample_ko" ]; then
	[ -f "$sample_ko" ] || die "KQUIC_CONF_SAMPLE_KO=$sample_ko does not exist"
	sample_ko=$(cd "$(dirname "$sample_ko")" && pwd)/$(basename "$sample_ko")
fi

WORK=$KQUIC_CACHE/conformance
RESULTS=${KQUIC_CONF_RESULTS:-$WORK/results}

# 3. One VM boot runs every case (tests/conformance/driver.py).
mkdir -p "$RESULTS"
rm -f "$RESULTS"/*.log "$RESULTS"/table.txt "$RESULTS"/handshaked.conf
args=(--bin "$REF/tests" --logs "$RESULTS")
[ -n "$sample_ko" ] && args+=(--sample-ko "$sample_ko")
[ "${KQUIC_CONF_FULL:-0}" = 1 ] && args+=(--full)
args+=(--scale "${KQUIC_CONF_SCALE:-1}")
log "running the reference's tests in the VM; logs in $RESULTS"
set +e
"$ROOT/scripts/vm-run" --timeout "${KQUIC_CONF_VM_TIMEOUT:-5400}" --results "$RESULTS" -- \
	"$ROOT/.venv/bin/python" "$ROOT/tests/conformance/driver.py" "${args[@]}" "$@"
rc=$?
set -e
if [ -f "$RESULTS/table.txt" ]; then
	echo
	cat "$RESULTS/table.txt"
fi
exit $rc
