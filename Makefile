# Top-level entry points.  `make check` is what CI runs (through .ci/run).
PY := .venv/bin/python
VM_TIMEOUT ?= 1800

.PHONY: all setup kmod check check-host check-vm check-vm-ref demo bench bench-link bench-alpn lint docs install-man clean soak conformance

all: kmod

setup:
	bash scripts/setup.sh

kmod:
	bash scripts/build-kmod.sh

# The host tier runs first (fast, no VM); the VM tier runs in one boot and
# lists its 20 slowest tests (CI has a 30-minute aim).
check: kmod lint check-host check-vm

check-host: kmod
	$(PY) -m pytest -q tests/host

check-vm:
	scripts/vm-run --timeout $(VM_TIMEOUT) -- $(PY) -m pytest -q -p no:cacheprovider --durations=20 tests/vm

# The VM tier on another quic module, e.g. the reference's (optional, not in CI):
# make check-vm-ref REFMOD=/path/to/quic.ko
check-vm-ref:
	@test -n "$(REFMOD)" || { echo "usage: make check-vm-ref REFMOD=/path/to/quic.ko"; exit 2; }
	scripts/vm-run --timeout $(VM_TIMEOUT) --module $(REFMOD) -- $(PY) -m pytest -q -rs -p no:cacheprovider tests/vm

# The adversarial layer at soak size, in one VM boot (not in CI; about an
# hour): 60,000 hostile packets, 400 sockopt/cmsg rounds per socket.
SOAK_TESTS := tests/vm/test_hostile.py tests/vm/test_kernel_fuzz.py \
	tests/vm/test_sockopt_fuzz.py tests/vm/test_rmem.py tests/vm/test_replay.py \
	tests/vm/test_isolation.py
soak: kmod
	scripts/vm-run --timeout 7200 -- env KQUIC_HOSTILE_PACKETS=60000 \
		KQUIC_SOCKOPT_ROUNDS=400 $(PY) -m pytest -q -s -p no:cacheprovider $(SOAK_TESTS)

# The reference implementation's own test programs (and its kernel-side
# sample module) against our module, in one VM boot; prints a table (optional,
# not in CI): make conformance REF=/path/to/lxin-quic [CASES="func alpn"]
conformance:
	@test -n "$(REF)" || { echo "usage: make conformance REF=/path/to/lxin-quic [CASES=...]"; exit 2; }
	@$(MAKE) --no-print-directory kmod
	bash scripts/conformance.sh "$(REF)" $(CASES)

docs:
	$(PY) -m pytest -q tests/host/test_docs.py

# quic(7) and libquic(3); `make -C kmod install` installs quic(7) too.
MANDIR ?= /usr/share/man
install-man:
	install -D -m 0644 Documentation/man/quic.7 $(DESTDIR)$(MANDIR)/man7/quic.7
	install -D -m 0644 Documentation/man/libquic.3 $(DESTDIR)$(MANDIR)/man3/libquic.3

lint:
	$(PY) -m ruff check libquic tests benchmarks

demo: kmod
	scripts/vm-run --timeout 900 -- $(PY) -m libquic.tools.demo

# QUIC vs TCP vs kTLS in one VM boot (ratios; see benchmarks/bench.py);
# BENCH_ARGS=--quick checks that the benchmark runs.  The benchmarks use the
# namespace helpers of tests/kquictest, hence PYTHONPATH.
BENCH_ARGS ?=
bench: kmod
	scripts/vm-run --timeout 2400 -- env PYTHONPATH=tests $(PY) -m benchmarks.bench $(BENCH_ARGS)

# Goodput over a 10 Mbit/s, 30 ms netem link, alone and against TCP (benchmarks/link_bench.py).
bench-link: kmod
	scripts/vm-run --timeout 1200 -- env PYTHONPATH=tests $(PY) -m benchmarks.link_bench $(BENCH_ARGS)

# Handshakes/s to one port: 1 listener vs 8 ALPN listeners (benchmarks/alpn_bench.py).
bench-alpn: kmod
	scripts/vm-run --timeout 1200 -- $(PY) -m benchmarks.alpn_bench

clean:
	$(MAKE) -C kmod clean KDIR=$$(bash -c '. scripts/env.sh; kernel_build')
