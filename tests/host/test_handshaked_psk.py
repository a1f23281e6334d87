"""A kernel server's PSK chosen by the identity the client offers.

tls_server_hello_psk() gives the daemon no key (key serial 0, or none): the
daemon looks the offered identity up in the kernel keyrings, as tlshd does.
These tests replace the keyctl(2) calls with an in-memory keyring tree and
check the selection (order of keyrings and key types, possession links, bad
identities, errors), the TLS engine's look-up hook and the log lines.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kquictest.fake_quic_socket import fake_pair
from kquictest.tls_fixtures import run_pair
from libquic.handshake import HandshakeSession, quic_handshake
from libquic.tls import AlertDescription, ExternalPSK, TLSConfig, TLSEngine, TLSError
from libquic.tools import handshaked
from libquic.tools.handshake_nl import (
    AUTH_PSK,
    CMD_ACCEPT,
    MSG_TYPE_CLIENTHELLO,
    MSG_TYPE_SERVERHELLO,
    AcceptMsg,
    HandshakeRequest,
    parse_accept,
)
from libquic.tools.handshaked import (
    DaemonConfig,
    KeyctlOps,
    KeyringPSKs,
    build_session,
    handle,
    load_config,
    server_psk_keyrings,
)
from libquic.tools.keyring import KEY_SPEC_THREAD_KEYRING, KEY_SPEC_USER_KEYRING
from libquic.uapi import QuicConfig

KEY1 = bytes(range(32))
KEY2 = bytes(range(100, 132))


@dataclass
class FakeKeyrings:
    """Keyrings as {ring: {(type, description): serial}} and payloads by
    serial; records every call."""

    rings: dict[int, dict[tuple[str, bytes], int]] = field(default_factory=dict)
    payloads: dict[int, bytes] = field(default_factory=dict)
    names: dict[str, int] = field(default_factory=dict)
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    fail: dict[tuple[str, int], int] = field(default_factory=dict)  # (call, id) -> errno
    handed_out: list[bytearray] = field(default_factory=list)

    def _maybe_fail(self, call: str, ident: int) -> None:
        err = self.fail.get((call, ident))
        if err:
            raise OSError(err, f"{call} {ident}")

    def search(self, ring: int, key_type: str, desc: bytes) -> int:
        self.calls.append(("search", ring, key_type, desc))
        self._maybe_fail("search", ring)
        serial = self.rings.get(ring, {}).get((key_type, desc))
        if serial is None:
            raise OSError(errno.ENOKEY, "Required key not available")
        return serial

    def read(self, serial: int) -> bytearray:
        self.calls.append(("read", serial))
        self._maybe_fail("read", serial)
        out = bytearray(self.payloads[serial])
        self.handed_out.append(out)
        return out

    def link(self, key: int, ring: int) -> None:
        self.calls.append(("link", key, ring))
        self._maybe_fail("link", key)

    def unlink(self, key: int, ring: int) -> None:
        self.calls.append(("unlink", key, ring))

    def find_keyring(self, name: str) -> int | None:
        self.calls.append(("find", name))
        return self.names.get(name)

    def ops(self) -> KeyctlOps:
        return KeyctlOps(search=self.search, read=self.read, link=self.link,
                         unlink=self.unlink, find_keyring=self.find_keyring)

    def searches(self) -> list[tuple[Any, ...]]:
        return [c[1:] for c in self.calls if c[0] == "search"]


def reference_keyrings() -> FakeKeyrings:
    """The reference's test setup: "quic" (serial 500) linked to @u holds
    the user keys test1 (501) and test2 (502); the kernel search recurses."""
    tree = {("user", b"test1"): 501, ("user", b"test2"): 502}
    return FakeKeyrings(rings={KEY_SPEC_USER_KEYRING: tree, 500: tree},
                        payloads={501: KEY1, 502: KEY2}, names={"quic": 500})


# -- where to look ---------------------------------------------------------------

def _server_req(**kw: Any) -> HandshakeRequest:
    return HandshakeRequest(sockfd=3, message_type=MSG_TYPE_SERVERHELLO, auth_mode=AUTH_PSK,
                            **kw)


def test_keyrings_request_then_configuration_then_user_keyring() -> None:
    cfg = DaemonConfig(keyrings=(".nfs", "quic"))
    assert server_psk_keyrings(_server_req(keyring=77), cfg) == (
        [77], "keyring 77 of the request")
    rings, where = server_psk_keyrings(_server_req(), cfg)
    assert rings == [".nfs", "quic"] and ".nfs;quic" in where
    assert server_psk_keyrings(_server_req(), DaemonConfig()) == (
        [KEY_SPEC_USER_KEYRING], "the user keyring")


def test_config_keyrings(tmp_path: Path) -> None:
    conf = tmp_path / "tlshd.conf"
    conf.write_text("[authenticate]\nkeyrings = .nfs;quic ; 0x1f ;;@u\n"
                    "[authenticate.client]\nx509.truststore = \n")
    assert load_config(str(conf)).keyrings == (".nfs", "quic", "0x1f", "@u")
    conf.write_text("[authenticate.server]\n")
    assert load_config(str(conf)).keyrings == ()
    assert load_config(None).keyrings == ()


def test_parse_accept_keyring() -> None:
    msg = AcceptMsg()
    msg["cmd"] = CMD_ACCEPT
    msg["version"] = 1
    msg["attrs"] = [("HANDSHAKE_A_ACCEPT_SOCKFD", 5),
                    ("HANDSHAKE_A_ACCEPT_MESSAGE_TYPE", MSG_TYPE_SERVERHELLO),
                    ("HANDSHAKE_A_ACCEPT_AUTH_MODE", AUTH_PSK),
                    ("HANDSHAKE_A_ACCEPT_PEER_IDENTITY", 0),
                    ("HANDSHAKE_A_ACCEPT_KEYRING", 1234)]
    msg.encode()
    back = AcceptMsg(msg.data)
    back.decode()
    req = parse_accept(back)
    assert req.keyring == 1234 and req.peer_identities == [0]


# -- the look-up ---------------------------------------------------------------------

def test_identity_selects_the_key_in_the_user_keyring() -> None:
    fake = reference_keyrings()
    lookup = KeyringPSKs(*server_psk_keyrings(_server_req(), DaemonConfig()), fake.ops())
    key = lookup(b"test2")
    assert key == KEY2 and lookup.serial == 502 and not lookup.missing
    # "psk" keys first, then "user" keys, as tlshd's QUIC server
    assert fake.searches() == [(KEY_SPEC_USER_KEYRING, "psk", b"test2"),
                               (KEY_SPEC_USER_KEYRING, "user", b"test2")]
    # possessed while searched: linked into the thread keyring, then unlinked
    assert fake.calls[0] == ("link", KEY_SPEC_USER_KEYRING, KEY_SPEC_THREAD_KEYRING)
    assert fake.calls[-1] == ("unlink", KEY_SPEC_USER_KEYRING, KEY_SPEC_THREAD_KEYRING)
    lookup.wipe()
    assert key == bytes(32)


def test_psk_type_is_preferred() -> None:
    fake = reference_keyrings()
    fake.rings[KEY_SPEC_USER_KEYRING][("psk", b"test1")] = 503
    fake.payloads[503] = KEY2
    assert KeyringPSKs([KEY_SPEC_USER_KEYRING], "@u", fake.ops())(b"test1") == KEY2


def test_unknown_identity(caplog: pytest.LogCaptureFixture) -> None:
    fake = reference_keyrings()
    lookup = KeyringPSKs([KEY_SPEC_USER_KEYRING], "the user keyring", fake.ops())
    with caplog.at_level(logging.INFO, logger="handshaked"):
        assert lookup(b"nobody") is None
    assert lookup.missing == [b"nobody"] and lookup.serial is None
    assert "no PSK with identity 'nobody' in the user keyring" in caplog.text
    assert lookup.missing_reason() == "no PSK with identity 'nobody' in the user keyring"
    assert not any(c[0] == "read" for c in fake.calls)
    links = [c for c in fake.calls if c[0] in ("link", "unlink")]
    assert [c[0] for c in links] == ["link", "unlink"]


def test_configured_keyrings_in_order(caplog: pytest.LogCaptureFixture) -> None:
    fake = reference_keyrings()
    fake.rings[600] = {("user", b"test1"): 601}
    fake.payloads[601] = KEY2
    fake.names["other"] = 600
    cfg = DaemonConfig(keyrings=(".nfs", "other", "quic", "@u"))
    lookup = KeyringPSKs(*server_psk_keyrings(_server_req(), cfg), fake.ops())
    with caplog.at_level(logging.INFO, logger="handshaked"):
        assert lookup(b"test1") == KEY2  # "other" comes before "quic"
        assert lookup(b"test2") == KEY2 and lookup.serial == 502
    assert "keyring '.nfs' not found" in caplog.text
    assert [c[1] for c in fake.calls if c[0] == "find"] == [".nfs", "other", "quic"]
    assert {c[0] for c in fake.searches()} == {600, 500}  # @u not needed


@pytest.mark.parametrize("identity", [b"", b"te\0st1", b"x" * 4096])
def test_identity_that_cannot_be_a_description(identity: bytes) -> None:
    fake = reference_keyrings()
    lookup = KeyringPSKs([KEY_SPEC_USER_KEYRING], "@u", fake.ops())
    assert lookup(identity) is None
    assert lookup.missing == [identity] and not fake.calls


def test_long_identity_is_shown_shortened(caplog: pytest.LogCaptureFixture) -> None:
    lookup = KeyringPSKs([KEY_SPEC_USER_KEYRING], "@u", reference_keyrings().ops())
    with caplog.at_level(logging.INFO, logger="handshaked"):
        lookup(b"\n" + b"y" * 1000)
    assert "'\\nyyy" in caplog.text and "y" * 300 not in caplog.text


def test_lookups_per_handshake_are_bounded(caplog: pytest.LogCaptureFixture) -> None:
    fake = reference_keyrings()
    lookup = KeyringPSKs([KEY_SPEC_USER_KEYRING], "@u", fake.ops(), max_lookups=3)
    with caplog.at_level(logging.WARNING, logger="handshaked"):
        for i in range(6):
            assert lookup(f"x{i}".encode()) is None
        assert lookup(b"test1") is None
    assert {c[2] for c in fake.searches()} == {b"x0", b"x1", b"x2"}
    assert caplog.text.count("more than 3 PSK identities") == 1


def test_keyctl_errors_are_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    fake = reference_keyrings()
    fake.rings[600] = {("user", b"test1"): 601}
    fake.payloads[601] = KEY2
    fake.fail[("search", 700)] = errno.EACCES  # not searchable: skipped
    fake.fail[("read", 601)] = errno.EACCES  # found but unreadable: go on
    fake.fail[("link", 500)] = errno.EACCES  # not linked: searched all the same
    lookup = KeyringPSKs([700, 600, 500], "rings", fake.ops())
    with caplog.at_level(logging.WARNING, logger="handshaked"):
        assert lookup(b"test1") == KEY1 and lookup.serial == 501
    assert "keyring 700 cannot be searched" in caplog.text
    assert "key 601 cannot be read" in caplog.text
    assert ("unlink", 500, KEY_SPEC_THREAD_KEYRING) not in fake.calls
    assert ("unlink", 600, KEY_SPEC_THREAD_KEYRING) in fake.calls


def test_empty_key_is_not_used(caplog: pytest.LogCaptureFixture) -> None:
    fake = reference_keyrings()
    fake.payloads[501] = b""
    with caplog.at_level(logging.WARNING, logger="handshaked"):
        assert KeyringPSKs([KEY_SPEC_USER_KEYRING], "@u", fake.ops())(b"test1") is None
    assert "key 501 is empty" in caplog.text


# -- the TLS engine's look-up hook -------------------------------------------------

def _psk_configs(client_psk: ExternalPSK, lookup: Any, **skw: Any
                 ) -> tuple[TLSConfig, TLSConfig]:
    client = TLSConfig(is_client=True, alpn_protocols=["smbd"], transport_parameters=b"c",
                       psks=[client_psk])
    server = TLSConfig(is_client=False, alpn_protocols=["smbd"], transport_parameters=b"s",
                       psk_lookup=lookup, **skw)
    return client, server


def test_engine_looks_the_identity_up() -> None:
    fake = reference_keyrings()
    lookup = KeyringPSKs([KEY_SPEC_USER_KEYRING], "@u", fake.ops())
    ccfg, scfg = _psk_configs(ExternalPSK(b"test1", KEY1), lookup)
    server = TLSEngine(scfg)  # PSKs by look-up only: no certificate needed
    c, s = run_pair(TLSEngine(ccfg), server)
    assert c.completed() and s.completed()
    assert server.psk_identity == b"test1" and not server.session_resumed
    assert [c[2] for c in fake.searches()] == [b"test1", b"test1"]
    server.close()
    assert fake.handed_out == [bytearray(32)]  # the engine wiped the key it was given


@pytest.mark.parametrize(("identity", "key", "alert"), [
    (b"nobody", KEY1, AlertDescription.unknown_psk_identity),
    (b"test1", KEY2, AlertDescription.decrypt_error),  # the binder does not verify
])
def test_engine_refuses(identity: bytes, key: bytes, alert: AlertDescription) -> None:
    fake = reference_keyrings()
    ccfg, scfg = _psk_configs(ExternalPSK(identity, key),
                              KeyringPSKs([KEY_SPEC_USER_KEYRING], "@u", fake.ops()))
    with pytest.raises(TLSError) as info:
        run_pair(TLSEngine(ccfg), TLSEngine(scfg))
    assert info.value.alert == alert
    assert all(not any(k) for k in fake.handed_out)  # a key that failed is wiped


# -- the daemon ---------------------------------------------------------------------

@pytest.fixture
def no_sockopts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handshaked.sockopt, "get_config", lambda sock: QuicConfig())


@pytest.mark.parametrize("peer_ids", [[], [0]])
def test_server_without_key_looks_up(no_sockopts: None, peer_ids: list[int]) -> None:
    session = build_session(socket.socket(), _server_req(peer_identities=peer_ids),
                            DaemonConfig())
    session.sock.close()
    assert isinstance(session.psk_lookup, KeyringPSKs) and not session.psks
    assert session.psk_lookup.keyrings == [KEY_SPEC_USER_KEYRING]


def test_client_without_key_is_refused(no_sockopts: None) -> None:
    req = HandshakeRequest(sockfd=3, message_type=MSG_TYPE_CLIENTHELLO, auth_mode=AUTH_PSK,
                           peer_identities=[0])
    with socket.socket() as sock, pytest.raises(PermissionError) as info:
        build_session(sock, req, DaemonConfig())
    assert info.value.errno == errno.ENOKEY


def test_server_handshake_through_the_driver(no_sockopts: None) -> None:
    """The daemon's session on an in-memory kernel socket pair: the client
    offers test1, the server finds its key."""
    fake = reference_keyrings()
    c, s = fake_pair(server_alpn="smbd")
    session = build_session(s, _server_req(), DaemonConfig(), fake.ops())  # type: ignore[arg-type]
    box: dict[str, Any] = {}
    t = threading.Thread(target=lambda: box.update(result=quic_handshake(session)),
                         daemon=True)
    t.start()
    result = quic_handshake(HandshakeSession(sock=c, alpns=["smbd"],
                                             psks=[ExternalPSK(b"test1", KEY1)]))
    t.join(10)
    assert result.alpn == "smbd" and box["result"].engine.psk_identity == b"test1"


def test_unknown_identity_is_one_clear_line(monkeypatch: pytest.MonkeyPatch,
                                            no_sockopts: None,
                                            caplog: pytest.LogCaptureFixture) -> None:
    """handle(): the refusal names the identity, reports EACCES, no traceback."""
    fake = reference_keyrings()
    real_build = handshaked.build_session
    monkeypatch.setattr(handshaked, "build_session",
                        lambda sock, req, cfg: real_build(sock, req, cfg, fake.ops()))

    def handshake(session: HandshakeSession) -> None:
        assert session.psk_lookup is not None
        assert session.psk_lookup(b"test1")  # a first identity found, then dropped
        session.psk_lookup(b"nobody")
        raise TLSError(AlertDescription.unknown_psk_identity, "no offered PSK identity")

    monkeypatch.setattr(handshaked, "quic_handshake", handshake)
    reported: list[tuple[int, int]] = []
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    req = _server_req()
    req.sockfd = sock.detach()
    with caplog.at_level(logging.WARNING, logger="handshaked"):
        assert handle(req, DaemonConfig(), lambda fd, st: reported.append((fd, st))) is None
    assert reported == [(req.sockfd, errno.EACCES)]
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [f"fd {req.sockfd}: handshake failed (EACCES): no PSK with identity "
                     "'nobody' in the user keyring"]
    assert not any(r.exc_info for r in caplog.records)
    assert fake.handed_out and not any(fake.handed_out[0])  # wiped after the handshake
