"""The kernel's known-answer self-test of packet protection and transport parameters.

quic.ko runs RFC 9001 / RFC 9369 Appendix A vectors (Initial keys, client and
server Initial packets, ChaCha20-Poly1305 short header, Retry tags), "quic ku"
and a live key update for every cipher suite, token and reset-token helpers,
and transport-parameter encode/decode including malformed input when it is
loaded with ``selftest=1`` (kmod/selftest.c).  ``selftest=2`` corrupts one
expected vector, so that load must fail: this proves the comparisons really
detect broken crypto.

Runs inside the VM (scripts/vm-run): it reloads the module, and leaves it
loaded without parameters for the tests that follow.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

KO = Path(os.environ.get("KQUIC_KO",
                       Path(__file__).resolve().parents[2] / "kmod" / "quic.ko"))


def dmesg_lines() -> list[str]:
    out = subprocess.run(["dmesg"], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def rmmod() -> None:
    for _ in range(30):
        if not Path("/sys/module/quic").exists():
            return
        if subprocess.run(["rmmod", "quic"], capture_output=True).returncode == 0:
            return
        time.sleep(1)
    pytest.fail("quic.ko does not unload (sockets still open?)")


def insmod(*args: str) -> tuple[int, list[str]]:
    """Load quic.ko with args; return insmod's status and the new dmesg lines."""
    before = len(dmesg_lines())
    rc = subprocess.run(["insmod", str(KO), *args], capture_output=True).returncode
    return rc, dmesg_lines()[before:]


@pytest.fixture
def reload_module():
    out = subprocess.run(["modinfo", "-F", "parm", str(KO)], capture_output=True,
                         text=True, check=True).stdout
    if "selftest" not in out:
        pytest.skip("quic.ko is built without kmod/selftest.o")
    rmmod()
    yield
    rmmod()
    rc, lines = insmod()
    assert rc == 0, "quic.ko does not load again:\n" + "\n".join(lines)


@pytest.mark.parametrize("fast_aead", ["1", "0"])
def test_selftest_passes(reload_module, fast_aead: str) -> None:
    # AES-NI/VAES GCM is used through its SIMD wrapper when it runs inline
    # (fast_aead=1); fast_aead=0 checks the synchronous transforms alone.
    subprocess.run(["modprobe", "aesni_intel"], capture_output=True)
    rc, lines = insmod("selftest=1", f"fast_aead={fast_aead}")
    log = "\n".join(lines)
    assert rc == 0, "insmod selftest=1 failed:\n" + log
    assert "quic: selftest passed" in log, log
    assert "FAILED" not in log, log


def test_selftest_detects_a_corrupted_vector(reload_module) -> None:
    rc, lines = insmod("selftest=2")
    log = "\n".join(lines)
    assert rc != 0, "the load succeeded although a vector was corrupted:\n" + log
    assert "quic: selftest FAILED" in log, log
    assert "selftest passed" not in log, log
    assert not Path("/sys/module/quic").exists()


def test_selftest_off_by_default(reload_module) -> None:
    rc, lines = insmod()
    assert rc == 0
    assert not any("selftest" in line for line in lines), "\n".join(lines)
    assert Path("/sys/module/quic/parameters/selftest").read_text().strip() == "0"
