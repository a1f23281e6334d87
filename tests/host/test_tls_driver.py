"""The kernel-socket handshake driver (libquic.handshake) against a fake socket pair."""

from __future__ import annotations

import asyncio
import errno
import pathlib
import threading
from collections.abc import Callable
from typing import Any

import pytest

from kquictest.fake_quic_socket import APP, EARLY, HANDSHAKE, INITIAL, FakeQuicSocket, fake_pair
from kquictest.tls_fixtures import client_identity, key_pem, pem_of, server_identity, trusted_ca
from libquic import uapi
from libquic.handshake import (
    HandshakeResult,
    HandshakeSession,
    quic_client_handshake,
    quic_client_handshake_async,
    quic_handshake,
    quic_server_handshake,
    quic_server_handshake_async,
)
from libquic.tls import AlertDescription, ClientAuth, TLSError


@pytest.fixture
def files(tmp_path: pathlib.Path) -> dict[str, str]:
    chain, key = server_identity("p256")
    cchain, ckey = client_identity("p256")
    out = {
        "cert": tmp_path / "server.pem", "key": tmp_path / "server.key",
        "ca": tmp_path / "ca.pem", "ccert": tmp_path / "client.pem",
        "ckey": tmp_path / "client.key", "psk": tmp_path / "psk.txt",
        "spsk": tmp_path / "server-psk.txt",
    }
    out["cert"].write_bytes(pem_of(chain))
    out["key"].write_bytes(key_pem(key))
    out["ca"].write_bytes(trusted_ca().pem)
    out["ccert"].write_bytes(pem_of(cchain))
    out["ckey"].write_bytes(key_pem(ckey))
    out["psk"].write_text("alice:00112233445566778899aabbccddeeff\nbob:0102\n")
    out["spsk"].write_text("# server keys\ncarol:aa\nalice:00112233445566778899aabbccddeeff\n")
    return {k: str(v) for k, v in out.items()}


def in_thread(fn: Callable[[], HandshakeResult]) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


def run_both(client: Callable[[], HandshakeResult], server: Callable[[], HandshakeResult]
             ) -> tuple[HandshakeResult, HandshakeResult]:
    t, box = in_thread(server)
    try:
        c = client()
    finally:
        t.join(10)
    if "error" in box:
        raise box["error"]
    return c, box["result"]


def check_kernel_view(c: FakeQuicSocket, s: FakeQuicSocket) -> None:
    # transport parameters went through the sockopts both ways
    assert c.peer_tp == s.local_tp and s.peer_tp == c.local_tp
    # every secret was installed TX before RX at each level, buffers wiped
    for sock in (c, s):
        seen: list[tuple[int, bool]] = [(x.level, x.send) for x in sock.secret_calls]
        for level in (HANDSHAKE, APP):
            assert seen.index((level, True)) < seen.index((level, False))
        for call in sock.secret_calls:
            assert not any(bytes(call.buffer)), "secret buffer not wiped"
    # keys mirror each other
    for (level, send), call in c.keys.items():
        assert s.keys[(level, not send)].secret == call.secret
    # MSG_MORE on all but the last message of a flight, MSG_NOSIGNAL always
    for sock in (c, s):
        for _level, _data, flags in sock.sends:
            assert flags & uapi.MSG_NOSIGNAL
        assert not sock.sends[-1][2] & uapi.MSG_MORE
    # the server's handshake messages form one flight (two with a HelloRetryRequest)
    server_flight = [f for lv, _, f in s.sends if lv in (INITIAL, HANDSHAKE)]
    assert not server_flight[-1] & uapi.MSG_MORE
    flights = sum(1 for f in server_flight if not f & uapi.MSG_MORE)
    assert flights == (2 if c.keys and len(c.sends) > 1 and c.sends[1][0] == INITIAL else 1)


def test_x509_handshake(files: dict[str, str]) -> None:
    c, s = fake_pair(server_alpn="h3,smbd")
    cr, sr = run_both(
        lambda: quic_client_handshake(c, None, "localhost", ["smbd"], cafile=files["ca"]),
        lambda: quic_server_handshake(s, files["key"], files["cert"]))
    assert cr.alpn == sr.alpn == "smbd"
    assert s.alpn_set == b"smbd"
    assert not cr.is_server and sr.is_server
    check_kernel_view(c, s)
    # the server's NewSessionTicket went out at APP level into the client's ticket buffer
    assert s.sends[-1][0] == APP and c.nst
    data = cr.get_session_data()
    assert data is not None

    # resume with the ticket, then 0-RTT
    c2, s2 = fake_pair(server_alpn="smbd")
    cr2, sr2 = run_both(
        lambda: quic_client_handshake(c2, None, "localhost", "smbd", cafile=files["ca"],
                                      session_data=data),
        lambda: quic_server_handshake(s2, files["key"], files["cert"]))
    assert cr2.session_resumed and sr2.session_resumed
    check_kernel_view(c2, s2)


def test_zero_rtt(files: dict[str, str]) -> None:
    c, s = fake_pair(client_alpn="h3", server_alpn="h3")
    cr, _ = run_both(
        lambda: quic_client_handshake(c, None, "localhost", cafile=files["ca"]),
        lambda: quic_server_handshake(s, files["key"], files["cert"], early_data=True))
    data = cr.get_session_data(timeout=1)
    assert data
    c2, s2 = fake_pair(client_alpn="h3", server_alpn="h3")
    cr2, sr2 = run_both(
        lambda: quic_client_handshake(c2, None, "localhost", cafile=files["ca"],
                                      session_data=data, early_data=True),
        lambda: quic_server_handshake(s2, files["key"], files["cert"], early_data=True))
    assert cr2.early_data_accepted and sr2.early_data_accepted
    assert (EARLY, True) in c2.keys and (EARLY, False) in s2.keys
    assert c2.keys[(EARLY, True)].secret == s2.keys[(EARLY, False)].secret


def test_psk_handshake(files: dict[str, str]) -> None:
    c, s = fake_pair()
    cr, sr = run_both(lambda: quic_client_handshake(c, files["psk"]),
                      lambda: quic_server_handshake(s, files["spsk"], None))
    assert sr.engine.psk_identity == b"alice"
    assert not cr.peer_certificates
    check_kernel_view(c, s)


def test_client_certificate(files: dict[str, str]) -> None:
    c, s = fake_pair()
    _, sr = run_both(
        lambda: quic_client_handshake(c, None, "localhost", cafile=files["ca"],
                                      cert_file=files["ccert"], key_file=files["ckey"]),
        lambda: quic_server_handshake(s, files["key"], files["cert"], cafile=files["ca"],
                                      client_auth=ClientAuth.REQUIRE))
    assert sr.peer_certificates


def test_alpn_mismatch_sets_connection_close(files: dict[str, str]) -> None:
    c, s = fake_pair(client_alpn="h3", server_alpn="smbd")
    t, box = in_thread(lambda: quic_server_handshake(s, files["key"], files["cert"],
                                                     timeout=5))
    with pytest.raises(TimeoutError):
        quic_client_handshake(c, None, "localhost", cafile=files["ca"], timeout=1)
    t.join(10)
    err = box["error"]
    assert isinstance(err, TLSError) and err.alert == AlertDescription.no_application_protocol
    assert s.close_info is not None and s.close_info[0] == 0x178
    assert b"application protocol" in s.close_info[1]


def test_untrusted_server(files: dict[str, str]) -> None:
    c, s = fake_pair()
    t, _ = in_thread(lambda: quic_server_handshake(s, files["key"], files["cert"], timeout=2))
    with pytest.raises(TLSError) as info:
        quic_client_handshake(c, None, "localhost")  # system store
    t.join(10)
    assert info.value.alert == AlertDescription.unknown_ca
    assert c.close_info is not None and c.close_info[0] == 0x100 + 48


def test_timeout(files: dict[str, str]) -> None:
    c, _s = fake_pair()
    with pytest.raises(TimeoutError):
        quic_client_handshake(c, None, "localhost", cafile=files["ca"], timeout=0.3)


def test_session_dataclass(files: dict[str, str]) -> None:
    c, s = fake_pair()
    cr, sr = run_both(
        lambda: quic_handshake(HandshakeSession(sock=c, hostname="localhost",
                                                cafile=files["ca"], alpns=["x"])),
        lambda: quic_handshake(HandshakeSession(sock=s, cert_file=files["cert"],
                                                key_file=files["key"], alpns=["x"],
                                                session_tickets=False)))
    assert cr.alpn == "x" and sr.is_server
    assert not c.nst  # no ticket when disabled


def test_asyncio(files: dict[str, str]) -> None:
    c, s = fake_pair(server_alpn="h3")

    async def main() -> tuple[HandshakeResult, HandshakeResult]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        tick = asyncio.ensure_future(ticker())
        res = await asyncio.gather(
            quic_client_handshake_async(c, None, "localhost", "h3", cafile=files["ca"]),
            quic_server_handshake_async(s, files["key"], files["cert"]))
        data = await res[0].get_session_data_async(timeout=1)
        assert data
        tick.cancel()
        assert ticks > 0  # the loop kept running
        return res

    cr, sr = asyncio.run(main())
    assert cr.alpn == sr.alpn == "h3"
    assert not c.blocking and not s.blocking
    check_kernel_view(c, s)


def test_hrr_small_reads_and_cipher_hint(files: dict[str, str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import libquic.handshake as hs
    from libquic.tls import CipherSuite, Group
    monkeypatch.setattr(hs, "RECV_BUFSIZE", 97)  # messages arrive in pieces
    c, s = fake_pair()
    cr, sr = run_both(
        lambda: quic_client_handshake(c, None, "localhost", cafile=files["ca"],
                                      key_share_groups=[Group.x25519], cipher_type=54),
        lambda: quic_server_handshake(s, files["key"], files["cert"],
                                      groups=[Group.secp256r1]))
    assert cr.engine._hrr and sr.engine.group == Group.secp256r1
    assert cr.engine.cipher_suite == CipherSuite.TLS_CHACHA20_POLY1305_SHA256
    assert all(x.cipher == 54 for x in c.secret_calls)
    check_kernel_view(c, s)
    with pytest.raises(ValueError):
        quic_handshake(HandshakeSession(sock=fake_pair()[0], cipher_type=53))


def test_zero_rtt_rejected_by_server(files: dict[str, str]) -> None:
    c, s = fake_pair()
    cr, _ = run_both(
        lambda: quic_client_handshake(c, None, "localhost", cafile=files["ca"]),
        lambda: quic_server_handshake(s, files["key"], files["cert"], early_data=True))
    data = cr.get_session_data()
    c2, s2 = fake_pair()
    cr2, sr2 = run_both(
        lambda: quic_client_handshake(c2, None, "localhost", cafile=files["ca"],
                                      session_data=data, early_data=True),
        lambda: quic_server_handshake(s2, files["key"], files["cert"]))
    assert cr2.engine.early_data_offered and not cr2.early_data_accepted
    assert cr2.session_resumed and sr2.session_resumed
    assert (EARLY, True) in c2.keys and (EARLY, False) not in s2.keys


def test_struct_layouts_match_uapi_mirror() -> None:
    import ctypes

    import libquic.handshake as hs
    from libquic import sockopt

    class Recorder:
        def __init__(self) -> None:
            self.values: list[bytes] = []

        def fileno(self) -> int:
            return -1

        def getsockopt(self, level: int, optname: int, buflen: int) -> bytes:
            raise OSError(errno.ENOPROTOOPT, "not recorded")

        def setsockopt(self, level: int, optname: int, value: object, *args: object) -> None:
            self.values.append(bytes(value))  # type: ignore[call-overload]

    rec = Recorder()
    secret = bytearray(range(48))
    sockopt.set_crypto_secret(rec, 2, True, 52, secret)
    assert len(rec.values[0]) == ctypes.sizeof(uapi.QuicCryptoSecret) == 56
    parsed = uapi.QuicCryptoSecret.from_buffer_copy(rec.values[0])
    assert (parsed.send, parsed.level, parsed.type) == (1, 2, 52)
    assert bytes(parsed.secret) == bytes(range(48))
    assert secret == bytearray(48)

    sock = FakeQuicSocket(is_server=False, local_tp=b"")
    hs.set_connection_close(sock, 0x178, "no ALPN")
    assert sock.close_info == (0x178, b"no ALPN")
    hs.set_connection_close(rec, 0x178, "x" * 100)
    close = uapi.QuicConnectionClose.from_buffer_copy(rec.values[1])
    assert close.errcode == 0x178 and close.phrase_text == "x" * 63


@pytest.mark.parametrize("suite, cipher", [(0x1301, 51), (0x1302, 52), (0x1303, 54)])
def test_driver_maps_levels_and_suites_to_kernel_numbers(files: dict[str, str], suite: int,
                                                         cipher: int) -> None:
    """The engine knows no kernel numbers; the driver gives the kernel its own."""
    c, s = fake_pair()
    run_both(lambda: quic_client_handshake(c, None, "localhost", cafile=files["ca"],
                                           cipher_suites=[suite]),
             lambda: quic_server_handshake(s, files["key"], files["cert"]))
    for sock in (c, s):
        assert {x.cipher for x in sock.secret_calls} == {cipher}
        assert {x.level for x in sock.secret_calls} == {HANDSHAKE, APP}
        assert {lvl for lvl, _data, _flags in sock.sends} <= {INITIAL, HANDSHAKE, APP}
    assert c.sends[0][0] == INITIAL  # the ClientHello
