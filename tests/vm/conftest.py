"""Fixtures for the VM tier: runs inside the guest with quic.ko loaded."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from kquictest.consumer import loaded_consumer
from kquictest.quicpair import Credentials, write_credentials
from libquic.features import loaded_module_is_kquic

if TYPE_CHECKING:
    from kquictest.netns import Namespace

_KQUIC = pytest.StashKey[bool]()


def pytest_sessionstart(session: pytest.Session) -> None:
    if not os.environ.get("KQUIC_IN_VM"):
        raise pytest.UsageError("tests/vm runs inside the VM: use `make check-vm`")
    if not Path("/sys/module/quic").exists():
        raise pytest.UsageError("the quic module is not loaded in this guest")


def pytest_configure(config: pytest.Config) -> None:
    ours = loaded_module_is_kquic()
    ko = os.environ.get("KQUIC_KO", "")
    if os.environ.get("KQUIC_IN_VM") and not ours and (not ko or ko.endswith("/kmod/quic.ko")):
        # never skip on our own module: a failed probe there is a bug
        raise pytest.UsageError(f"kmod/quic.ko is loaded but does not look like kquic ({ko})")
    config.stash[_KQUIC] = ours


def pytest_runtest_setup(item: pytest.Item) -> None:
    mark = item.get_closest_marker("kquic_only")
    if mark is None or item.config.stash[_KQUIC]:
        return
    reason = mark.args[0] if mark.args else "needs a kquic-only feature"
    pytest.skip(f"kquic only: {reason} (loaded module: {os.environ.get('KQUIC_KO', '?')})")


@pytest.fixture
def results_dir() -> Path:
    """A folder whose files reach the host (scripts/vm-run's results folder)."""
    return Path(os.environ["KQUIC_RESULTS"])


@pytest.fixture(scope="session")
def creds(tmp_path_factory: pytest.TempPathFactory) -> Credentials:
    """A test PKI and PSK file shared by every VM test (quicpair.Credentials)."""
    return write_credentials(tmp_path_factory.mktemp("creds"))


@pytest.fixture(scope="module")
def consumer() -> Iterator[Path]:
    """tests/kmod/quic_consumer.ko loaded for one test module; its /proc
    file (kquictest.consumer)."""
    with loaded_consumer() as proc:
        yield proc


@pytest.fixture
def netns() -> Iterator[Namespace]:
    """A new network namespace with lo up, removed after the test
    (kquictest.netns.namespace; ``netns.run(fn)`` calls fn inside it)."""
    from kquictest.netns import namespace  # pyroute2 is slow to import in the VM

    with namespace() as ns:
        yield ns
