"""Fixtures for the VM tier: runs inside the guest with quic.ko loaded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from quicpair import Credentials, write_credentials


def pytest_sessionstart(session: pytest.Session) -> None:
    if not os.environ.get("KQUIC_IN_VM"):
        raise pytest.UsageError("tests/vm runs inside the VM: use `make check-vm`")
    if not Path("/sys/module/quic").exists():
        raise pytest.UsageError("the quic module is not loaded in this guest")


@pytest.fixture
def results_dir() -> Path:
    """A folder whose files reach the host (scripts/vm-run's results folder)."""
    return Path(os.environ["KQUIC_RESULTS"])


@pytest.fixture(scope="session")
def creds(tmp_path_factory: pytest.TempPathFactory) -> Credentials:
    """A test PKI and PSK file shared by every VM test (quicpair.Credentials)."""
    return write_credentials(tmp_path_factory.mktemp("creds"))
