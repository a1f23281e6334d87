"""A kernel QUIC server authenticating clients by PSK with no key given.

A kernel server calling tls_server_hello_psk() usually passes no key
(ta_my_peerids[0] is 0): as with tlshd, the daemon takes the PSK identity
the client offers and looks it up, by description, in the kernel keyrings.
The keys are set up as the reference implementation's tests do it::

    KEYRING=`keyctl newring quic @s`; keyctl setperm $KEYRING 0x3f1f1f1f
    keyctl link $KEYRING @u
    keyctl add user test1 <32 bytes> %:quic; keyctl add user test2 <32 bytes> %:quic
    keyctl unlink $KEYRING @s

(the keys keep their default permissions: only their possessor reads them),
except that this process's own keyring holds the new keyring for a while
instead of the session keyring: on first use of @s a process without a
session keyring joins a new one, which would hide @u from this process and
the later tests in it.

tests/kmod/quic_consumer.ko is the kernel server, libquic/tools/handshaked.py
the daemon, and a userspace libquic client offers an identity and key.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kquictest.aiopeer import free_udp_port
from kquictest.consumer import kernel_server
from kquictest.handshaked_proc import running_handshaked
from kquictest.quicpair import WAIT
from libquic.connection import QuicConnection
from libquic.tools.keyring import (
    KEY_SPEC_PROCESS_KEYRING,
    KEY_SPEC_USER_KEYRING,
    add_key,
    link_key,
    revoke_key,
    set_perm,
    unlink_key,
)

pytestmark = [pytest.mark.timeout(300),
              pytest.mark.kquic_only("loads tests/kmod/quic_consumer.ko, built against "
                                     "kquic's Module.symvers")]

KEYS = {"test1": bytes(range(32)), "test2": bytes(range(100, 132)),
        "test3": bytes(range(200, 232))}


@dataclass
class Daemon:
    proc: subprocess.Popen[bytes]
    conf: Path
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def reconfigure(self, conf: str) -> None:
        """Write a new configuration and have it reloaded (SIGHUP)."""
        before = self.text().count("configuration reloaded")
        self.conf.write_text(conf)
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + WAIT
        while self.text().count("configuration reloaded") == before:
            assert self.proc.poll() is None and time.monotonic() < deadline, self.text()
            time.sleep(0.1)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    folder = tmp_path_factory.mktemp("handshaked")
    conf = folder / "tlshd.conf"
    conf.write_text("")  # server PSKs need no configuration
    logfile = folder / "log"
    with running_handshaked(conf, logfile) as proc:
        yield Daemon(proc, conf, logfile)
    text = logfile.read_text(errors="replace")
    if os.environ.get("KQUIC_RESULTS"):
        Path(os.environ["KQUIC_RESULTS"], "handshaked-psk-server.log").write_text(text)
    assert proc.returncode == 0, text
    assert "Traceback" not in text, text


@pytest.fixture(scope="module")
def quic_keyring() -> Iterator[int]:
    """The reference's keyring "quic", linked to @u, holding test1 and test2."""
    ring = add_key("keyring", "quic", b"", KEY_SPEC_PROCESS_KEYRING)
    set_perm(ring, 0x3F1F1F1F)
    link_key(ring, KEY_SPEC_USER_KEYRING)
    for name in ("test1", "test2"):
        add_key("user", name, KEYS[name], ring)
    unlink_key(ring, KEY_SPEC_PROCESS_KEYRING)
    try:
        yield ring
    finally:
        # the keys are the keyring's alone (we no longer possess them, so
        # cannot revoke them): they go with it
        unlink_key(ring, KEY_SPEC_USER_KEYRING)


def kernel_psk_server(consumer: Path, port: int
                      ) -> tuple[threading.Thread, list[dict[str, str] | BaseException]]:
    """The kernel consumer serving one PSK connection with no key given
    (key serial 0), in a thread, once its listener is bound."""
    started = kernel_server(consumer, port, auth="psk")
    time.sleep(0.5)  # the kernel listener binds; Initials are retransmitted anyway
    return started


def psk_file(tmp_path: Path, identity: str, key: bytes) -> str:
    path = tmp_path / f"{identity}.psk"
    path.write_text(f"{identity}:{key.hex()}\n")
    return str(path)


def exchange(consumer: Path, tmp_path: Path, identity: str, key: bytes) -> None:
    """A userspace client offering ``identity`` talks to the kernel server."""
    port = free_udp_port()
    thread, outcome = kernel_psk_server(consumer, port)
    with QuicConnection.connect("127.0.0.1", port, alpns=["smbd"], timeout=WAIT,
                                pkey_file=psk_file(tmp_path, identity, key)) as conn:
        assert conn.handshake.alpn == "smbd"
        stream = conn.open_stream()
        stream.write(f"ping from {identity}".encode(), fin=True)
        assert stream.read_all(timeout=WAIT) == f"kernel got: ping from {identity}".encode()
    thread.join(WAIT * 2)
    assert outcome == [{"status": "0", "alpn": "smbd", "message": f"ping from {identity}"}]


def refused(consumer: Path, tmp_path: Path, identity: str, key: bytes) -> None:
    """The client offering ``identity`` is refused: the kernel server gets EACCES."""
    port = free_udp_port()
    thread, outcome = kernel_psk_server(consumer, port)
    with pytest.raises((OSError, ConnectionError)):
        QuicConnection.connect("127.0.0.1", port, alpns=["smbd"], timeout=WAIT,
                               pkey_file=psk_file(tmp_path, identity, key)).close()
    thread.join(WAIT * 2)
    assert len(outcome) == 1 and isinstance(outcome[0], OSError), outcome
    assert outcome[0].errno == errno.EACCES, outcome


@pytest.mark.parametrize("identity", ["test1", "test2"])
def test_kernel_server_psk_by_identity(consumer: Path, daemon: Daemon, quic_keyring: int,
                                       tmp_path: Path, identity: str) -> None:
    """No key from the kernel user: the key whose description is the offered
    identity is found in the user keyring (through the linked "quic")."""
    exchange(consumer, tmp_path, identity, KEYS[identity])
    assert "keyctl" not in daemon.text()


def test_kernel_server_psk_unknown_identity(consumer: Path, daemon: Daemon,
                                            quic_keyring: int, tmp_path: Path) -> None:
    refused(consumer, tmp_path, "nobody", KEYS["test1"])
    text = daemon.text()
    assert "no PSK with identity 'nobody'" in text, text
    assert "handshake failed (EACCES)" in text


def test_kernel_server_psk_wrong_key(consumer: Path, daemon: Daemon, quic_keyring: int,
                                     tmp_path: Path) -> None:
    refused(consumer, tmp_path, "test1", KEYS["test2"])
    assert "PSK binder does not verify" in daemon.text()


def test_kernel_server_psk_configured_keyrings(consumer: Path, daemon: Daemon,
                                               quic_keyring: int, tmp_path: Path) -> None:
    """With ``[authenticate] keyrings`` set, those keyrings are searched (by
    name here) instead of the user keyring.  "quic-conf" is only in this
    process's keyring, which the daemon does not share: it finds the keyring
    by name and links it to possess (read) its keys, as the keyring's
    permissions let any process of its user do."""
    ring = add_key("keyring", "quic-conf", b"", KEY_SPEC_PROCESS_KEYRING)
    set_perm(ring, 0x3F1F1F1F)
    key = add_key("user", "test3", KEYS["test3"], ring)
    try:
        daemon.reconfigure("[authenticate]\nkeyrings = .nfs;quic-conf\n")
        exchange(consumer, tmp_path, "test3", KEYS["test3"])
        refused(consumer, tmp_path, "test1", KEYS["test1"])  # only in @u
        assert "no PSK with identity 'test1'" in daemon.text()
    finally:
        daemon.reconfigure("")
        revoke_key(key)
        unlink_key(ring, KEY_SPEC_PROCESS_KEYRING)
