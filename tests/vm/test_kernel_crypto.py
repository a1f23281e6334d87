"""The known-answer tests of quic.ko's packet protection, tokens, transport
parameters and ClientHello reader.

kmod/test/quic_test.ko (built by ``make kmod`` with CONFIG_QUIC_KUNIT_TEST=m)
runs KUnit-shaped suites when it is loaded next to quic.ko: RFC 9001 /
RFC 9369 Appendix A vectors (Initial keys, client and server Initial
packets, the ChaCha20-Poly1305 short header packet, "quic ku"), a 1-RTT
packet and a live key update for every cipher suite, HKDF, tokens, stateless
reset tokens and the session ticket key, and transport-parameter
encode/decode including malformed and random input, a first Initial opened
as a listener opens it (one context rekeyed per DCID), and the ClientHello
reader that ALPN routing uses (well-formed, every malformation, CRYPTO data
gathered over packets, random input).  It prints KTAP and its
load fails when a case fails.  ``corrupt=1`` breaks one expected vector, so
that load must fail: this proves the comparisons really detect broken
crypto.

The self-test used to be part of quic.ko (module parameter ``selftest``);
quic.ko no longer carries it.

Runs inside the VM (scripts/vm-run) against the loaded quic.ko, and leaves
no test module loaded.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KO = Path(os.environ.get("KQUIC_KO", ROOT / "kmod" / "quic.ko"))
TEST_KO = ROOT / "kmod" / "test" / "quic_test.ko"
FAST_AEAD = Path("/sys/module/quic/parameters/fast_aead")
SUITES = ("quic_crypto", "quic_token", "quic_tp", "quic_hello")
CIPHERS = ("AES-128-GCM", "AES-256-GCM", "AES-128-CCM", "ChaCha20-Poly1305")

pytestmark = pytest.mark.kquic_only("loads kmod/test/quic_test.ko, built against kquic's quic.ko")


def dmesg_lines() -> list[str]:
    out = subprocess.run(["dmesg"], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def ktap(*args: str) -> tuple[int, list[str]]:
    """Load the test module with args; return insmod's status and its KTAP lines
    (dmesg timestamps removed)."""
    before = len(dmesg_lines())
    rc = subprocess.run(["insmod", str(TEST_KO), *args], capture_output=True).returncode
    lines = [re.sub(r"^\[\s*[\d.]+\] ", "", line) for line in dmesg_lines()[before:]]
    start = [i for i, line in enumerate(lines) if line == "KTAP version 1"]
    assert start, "no KTAP output:\n" + "\n".join(lines)
    return rc, lines[start[0]:]


def results(lines: list[str], indent: int) -> dict[str, bool]:
    """The "ok N name" / "not ok N name" lines at one indentation: name -> passed."""
    pat = re.compile(r"^" + " " * indent + r"(not ok|ok) \d+ (.+?)(?: # SKIP.*)?$")
    return {m[2]: m[1] == "ok" for m in map(pat.match, lines) if m}


def cpu_has_aes() -> bool:
    flags = re.search(r"^flags\s*:(.*)$", Path("/proc/cpuinfo").read_text(), re.M)
    return bool(flags) and "aes" in flags[1].split()


def unload() -> None:
    for _ in range(10):
        if not Path("/sys/module/quic_test").exists():
            return
        subprocess.run(["rmmod", "quic_test"], capture_output=True)
        time.sleep(0.5)
    pytest.fail("quic_test.ko does not unload")


@pytest.fixture
def test_module():
    if not TEST_KO.exists():
        pytest.fail(f"{TEST_KO} is not built: run 'make kmod'")
    unload()
    fast = FAST_AEAD.read_text().strip()
    yield
    unload()
    FAST_AEAD.write_text(fast)


@pytest.mark.parametrize("fast_aead", ["1", "0"])
def test_known_answers_pass(test_module, fast_aead: str) -> None:
    # AES-NI/VAES GCM is used through its SIMD wrapper when it runs inline
    # (fast_aead=1); fast_aead=0 checks the synchronous transforms alone.
    # quic.ko reads the parameter whenever it installs keys.
    subprocess.run(["modprobe", "aesni_intel"], capture_output=True)
    FAST_AEAD.write_text(fast_aead)
    rc, lines = ktap()
    log = "\n".join(lines)
    assert rc == 0, "quic_test.ko failed to load:\n" + log
    assert Path("/sys/module/quic_test").exists()
    assert not any("not ok" in line or "FAILED" in line for line in lines), log
    assert results(lines, 0) == dict.fromkeys(SUITES, True), log
    for suite in SUITES:
        counts = re.search(rf"^# {suite}: pass:(\d+) fail:(\d+) skip:(\d+)", log, re.M)
        assert counts and int(counts[1]) > 0 and counts[2] == "0", log
    cases = results(lines, 4)
    for case in ("initial_keys", "client_initial", "server_initial", "chacha20_short_header",
                 "cipher_suites", "live_key_update", "new_token", "decode_cases",
                 "server_round_trip", "initial_open", "malformed_alpn", "gather", "retry_tag",
                 "token_verify"):
        assert cases.get(case), f"{case} did not pass:\n{log}"
    assert results(lines, 8).keys() >= {"v1", "v2", *CIPHERS}, log
    assert any(re.fullmatch(r"    ok \d+ bench_cipher_suites # SKIP bench=0", line)
               for line in lines), log

    # which AEAD implementation each suite used
    used = dict(re.findall(r"# cipher_suites: ([\w-]+): (.*)$", log, re.M))
    assert used.keys() == set(CIPHERS), log
    if fast_aead == "0":
        assert not any("SIMD" in impl for impl in used.values()), used
    elif cpu_has_aes() and Path("/sys/module/aesni_intel").exists():
        assert used["AES-128-GCM"].endswith("+ SIMD"), used


def test_corrupted_vector_fails_the_load(test_module) -> None:
    rc, lines = ktap("corrupt=1")
    log = "\n".join(lines)
    assert rc != 0, "the load succeeded although a vector was corrupted:\n" + log
    assert not Path("/sys/module/quic_test").exists()
    # exactly the corrupted vector fails; every other case still runs and passes
    assert results(lines, 0) == {"quic_crypto": False, "quic_token": True, "quic_tp": True,
                                 "quic_hello": True}, log
    failed = [case for case, ok in results(lines, 4).items() if not ok]
    assert failed == ["client_initial"], log
    assert "        not ok 1 v1" in lines and "        ok 2 v2" in lines, log
    assert re.search(r"# client_initial: ASSERTION FAILED at crypto_test\.c:\d+: "
                     r"digest == p->expect_sha256", log), log


def test_benchmark_runs_on_request(test_module) -> None:
    rc, lines = ktap("bench=1")
    log = "\n".join(lines)
    assert rc == 0, log
    assert results(lines, 4)["bench_cipher_suites"], log
    for cipher in CIPHERS:
        m = re.search(rf"# bench_cipher_suites: {cipher} \(.*\): seal (\d+) MB/s, open (\d+) MB/s",
                      log)
        assert m, log
        # plausible figures (a timing slip once gave 2.4e9 MB/s)
        assert all(0 < int(rate) < 100_000 for rate in m.groups()), m[0]


def test_quic_ko_has_no_selftest() -> None:
    assert not Path("/sys/module/quic/parameters/selftest").exists()
    parms = subprocess.run(["modinfo", "-F", "parm", str(KO)], capture_output=True, text=True,
                           check=True).stdout
    assert "fast_aead" in parms and "selftest" not in parms, parms
