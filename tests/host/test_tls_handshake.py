"""Full in-memory handshakes: our client against our server in every mode."""

from __future__ import annotations

import pathlib
import shutil
from typing import Any

import pytest

from kquictest.tls_fixtures import (
    Side,
    client_cfg,
    client_identity,
    make_ca,
    run_pair,
    server_cfg,
    trusted_ca,
    untrusted_ca,
)
from libquic.tls import (
    HAVE_MLKEM,
    AlertDescription,
    CipherSuite,
    ClientAuth,
    Direction,
    ExternalPSK,
    Group,
    InstallSecret,
    Level,
    ReplayRegister,
    SignatureScheme,
    TLSConfig,
    TLSEngine,
    TLSError,
)

TICKET_KEY = bytes(range(64))


def handshake(ccfg: TLSConfig, scfg: TLSConfig) -> tuple[Side, Side]:
    c, s = run_pair(TLSEngine(ccfg), TLSEngine(scfg))
    assert c.completed() and s.completed()
    assert c.engine.handshake_complete and s.engine.handshake_complete
    cs, ss = c.secrets(), s.secrets()
    for (level, direction), secret in cs.items():
        if level == Level.EARLY and not s.engine.early_data_accepted:
            continue
        other = Direction.RECV if direction == Direction.SEND else Direction.SEND
        assert ss[(level, other)] == secret, (level, direction)
    assert c.engine.peer_transport_parameters == b"server-tp"
    assert s.engine.peer_transport_parameters == b"client-tp"
    return c, s


def fails(ccfg: TLSConfig, scfg: TLSConfig) -> TLSError:
    with pytest.raises(TLSError) as info:
        run_pair(TLSEngine(ccfg), TLSEngine(scfg))
    return info.value


def test_basic_handshake() -> None:
    c, s = handshake(client_cfg(), server_cfg())
    assert c.engine.alpn == s.engine.alpn == "h3"
    assert s.engine.server_name == "localhost"
    assert c.engine.cipher_suite == CipherSuite.TLS_AES_128_GCM_SHA256
    assert c.engine.group == Group.x25519
    assert not c.engine.session_resumed
    keys = set(c.secrets())
    assert keys == {(Level.HANDSHAKE, Direction.SEND), (Level.HANDSHAKE, Direction.RECV),
                    (Level.APP, Direction.SEND), (Level.APP, Direction.RECV)}
    assert c.engine.export_keying_material(b"x", b"", 16) == \
        s.engine.export_keying_material(b"x", b"", 16)


@pytest.mark.parametrize("group", [g for g in Group if g != Group.X25519MLKEM768 or HAVE_MLKEM])
def test_each_group(group: Group) -> None:
    c, s = handshake(client_cfg(groups=[group], key_share_groups=[group]), server_cfg())
    assert c.engine.group == s.engine.group == group


@pytest.mark.parametrize("suite", list(CipherSuite))
def test_each_suite(suite: CipherSuite) -> None:
    c, s = handshake(client_cfg(cipher_suites=[suite]), server_cfg())
    assert c.engine.cipher_suite == s.engine.cipher_suite == suite
    sec = c.secrets()[(Level.APP, Direction.SEND)]
    assert len(sec) == (48 if suite == CipherSuite.TLS_AES_256_GCM_SHA384 else 32)
    installs = [e for e in c.events if isinstance(e, InstallSecret)]
    assert installs and all(e.suite == suite for e in installs)


def test_server_suite_preference() -> None:
    c, _ = handshake(client_cfg(), server_cfg(
        cipher_suites=[CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
                       CipherSuite.TLS_AES_128_GCM_SHA256]))
    assert c.engine.cipher_suite == CipherSuite.TLS_CHACHA20_POLY1305_SHA256


@pytest.mark.parametrize("kind,scheme", [
    ("p256", SignatureScheme.ecdsa_secp256r1_sha256),
    ("p384", SignatureScheme.ecdsa_secp384r1_sha384),
    ("ed25519", SignatureScheme.ed25519),
    ("rsa", SignatureScheme.rsa_pss_rsae_sha256),
])
def test_each_signature_scheme(kind: str, scheme: SignatureScheme) -> None:
    c, _ = handshake(client_cfg(signature_schemes=[scheme]), server_cfg(kind))
    assert c.engine.peer_certificates


def test_rsa_pss_sha384_only() -> None:
    handshake(client_cfg(signature_schemes=[SignatureScheme.rsa_pss_rsae_sha384]),
              server_cfg("rsa"))


def test_no_common_signature_scheme() -> None:
    err = fails(client_cfg(signature_schemes=[SignatureScheme.ed25519]), server_cfg("p256"))
    assert err.alert == AlertDescription.handshake_failure


def test_hello_retry_request() -> None:
    c, s = handshake(client_cfg(key_share_groups=[Group.x25519]),
                     server_cfg(groups=[Group.secp384r1]))
    assert c.engine.group == Group.secp384r1
    assert s.engine._hrr and c.engine._hrr


def test_server_prefers_existing_share_over_hrr() -> None:
    c, s = handshake(client_cfg(key_share_groups=[Group.x25519]),
                     server_cfg(groups=[Group.secp384r1, Group.x25519]))
    assert c.engine.group == Group.x25519 and not s.engine._hrr


def test_hrr_with_resumption() -> None:
    c0, _ = run_pair(TLSEngine(client_cfg()), TLSEngine(server_cfg(ticket_key=TICKET_KEY)))
    session = c0.tickets()[0]
    c, s = handshake(client_cfg(session=session, key_share_groups=[Group.x25519]),
                     server_cfg(ticket_key=TICKET_KEY, groups=[Group.secp256r1]))
    assert c.engine._hrr and c.engine.session_resumed and s.engine.session_resumed


def test_no_common_group() -> None:
    err = fails(client_cfg(groups=[Group.secp256r1], key_share_groups=[Group.secp256r1]),
                server_cfg(groups=[Group.x25519]))
    assert err.alert == AlertDescription.handshake_failure


def test_no_common_suite() -> None:
    err = fails(client_cfg(cipher_suites=[CipherSuite.TLS_AES_128_GCM_SHA256]),
                server_cfg(cipher_suites=[CipherSuite.TLS_AES_256_GCM_SHA384]))
    assert err.alert == AlertDescription.handshake_failure
    assert err.quic_error_code == 0x100 + 40


# -- ALPN -------------------------------------------------------------------

def test_alpn_client_preference() -> None:
    c, s = handshake(client_cfg(alpn_protocols=["smbd", "h3"]),
                     server_cfg(alpn_protocols=["h3", "smbd"]))
    assert c.engine.alpn == s.engine.alpn == "smbd"


def test_alpn_mismatch() -> None:
    err = fails(client_cfg(alpn_protocols=["h3"]), server_cfg(alpn_protocols=["smbd"]))
    assert err.alert == AlertDescription.no_application_protocol
    assert err.quic_error_code == 0x178


def test_alpn_missing_from_client() -> None:
    err = fails(client_cfg(alpn_protocols=[]), server_cfg(alpn_protocols=["h3"]))
    assert err.alert == AlertDescription.no_application_protocol


def test_alpn_server_without_alpn_rejected_by_client() -> None:
    err = fails(client_cfg(alpn_protocols=["h3"]), server_cfg(alpn_protocols=[]))
    assert err.alert == AlertDescription.no_application_protocol


def test_no_alpn_anywhere() -> None:
    c, s = handshake(client_cfg(alpn_protocols=[]), server_cfg(alpn_protocols=[]))
    assert c.engine.alpn is None and s.engine.alpn is None


# -- certificates -------------------------------------------------------------

def test_bad_hostname() -> None:
    err = fails(client_cfg(server_name="example.org"), server_cfg())
    assert err.alert == AlertDescription.bad_certificate
    assert "does not match host name 'example.org'" in err.message


def test_ip_hostname() -> None:
    _c, s = handshake(client_cfg(server_name="127.0.0.1"), server_cfg())
    assert s.engine.server_name is None  # no SNI for IP literals


def test_untrusted_ca() -> None:
    err = fails(client_cfg(cadata=untrusted_ca().pem), server_cfg())
    assert err.alert == AlertDescription.unknown_ca


def test_system_store_does_not_trust_test_ca() -> None:
    err = fails(client_cfg(cadata=None), server_cfg())
    assert err.alert == AlertDescription.unknown_ca


def test_verification_disabled() -> None:
    handshake(client_cfg(cadata=untrusted_ca().pem, verify=False, server_name="wrong.name"),
              server_cfg())


def test_expired_certificate() -> None:
    import datetime

    from kquictest.tls_fixtures import NOW, make_key
    key = make_key("p256")
    cert = trusted_ca().issue(key, ["localhost"], not_before=NOW - datetime.timedelta(days=10),
                              not_after=NOW - datetime.timedelta(days=1))
    err = fails(client_cfg(), server_cfg(certificate_chain=[cert], private_key=key))
    assert err.alert == AlertDescription.certificate_expired
    assert "expired" in err.message


def test_intermediate_chain() -> None:
    from kquictest.tls_fixtures import CA, make_key
    root = make_ca("p384", "Root")
    ikey = make_key("p256")
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID
    now = datetime.datetime.now(datetime.UTC)
    icert = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Inter")]))
             .issuer_name(root.cert.subject).public_key(ikey.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(days=1))
             .not_valid_after(now + datetime.timedelta(days=10))
             .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
             .add_extension(x509.KeyUsage(True, False, False, False, False, True, True,
                                          False, False), critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(ikey.public_key()),
                            critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 root.key.public_key()), critical=False)  # type: ignore[arg-type]
             .sign(root.key, hashes.SHA256()))  # type: ignore[arg-type]
    inter = CA(ikey, icert)
    lkey = make_key("p256")
    leaf = inter.issue(lkey, ["localhost"])
    handshake(client_cfg(cadata=root.pem),
              server_cfg(certificate_chain=[leaf, icert], private_key=lkey))
    err = fails(client_cfg(cadata=root.pem),
                server_cfg(certificate_chain=[leaf], private_key=lkey))
    assert err.alert == AlertDescription.unknown_ca


@pytest.mark.parametrize("mode", [ClientAuth.REQUEST, ClientAuth.REQUIRE])
def test_client_certificate(mode: ClientAuth) -> None:
    chain, key = client_identity()
    _c, s = handshake(client_cfg(certificate_chain=chain, private_key=key),
                     server_cfg(client_auth=mode))
    assert s.engine.peer_certificates[0] == chain[0]


def test_client_certificate_ed25519() -> None:
    chain, key = client_identity("ed25519")
    _, s = handshake(client_cfg(certificate_chain=chain, private_key=key),
                     server_cfg(client_auth=ClientAuth.REQUIRE))
    assert s.engine.peer_certificates


def test_client_certificate_requested_but_absent() -> None:
    _, s = handshake(client_cfg(), server_cfg(client_auth=ClientAuth.REQUEST))
    assert s.engine.peer_certificates == []


def test_client_certificate_required_but_absent() -> None:
    err = fails(client_cfg(), server_cfg(client_auth=ClientAuth.REQUIRE))
    assert err.alert == AlertDescription.certificate_required


def test_client_certificate_untrusted() -> None:
    from kquictest.tls_fixtures import make_key
    key = make_key("p256")
    cert = untrusted_ca().issue(key, ["client.example"], client=True)
    err = fails(client_cfg(certificate_chain=[cert], private_key=key),
                server_cfg(client_auth=ClientAuth.REQUIRE))
    assert err.alert == AlertDescription.unknown_ca


# -- PSK ------------------------------------------------------------------------

PSK = ExternalPSK(b"alice", bytes.fromhex("00112233445566778899aabbccddeeff"))


def test_external_psk() -> None:
    c, s = handshake(client_cfg(psks=[PSK]),
                     server_cfg(psks=[ExternalPSK(b"bob", b"x" * 16), PSK],
                                certificate_chain=(), private_key=None))
    assert s.engine.psk_identity == b"alice"
    assert not c.engine.peer_certificates and not c.engine.session_resumed


def test_external_psk_unknown_identity() -> None:
    err = fails(client_cfg(psks=[ExternalPSK(b"mallory", b"k" * 16)]),
                server_cfg(psks=[PSK], certificate_chain=(), private_key=None))
    assert err.alert == AlertDescription.unknown_psk_identity


def test_external_psk_wrong_key() -> None:
    err = fails(client_cfg(psks=[ExternalPSK(b"alice", b"k" * 16)]),
                server_cfg(psks=[PSK], certificate_chain=(), private_key=None))
    assert err.alert == AlertDescription.decrypt_error


def test_psk_server_without_client_psk() -> None:
    err = fails(client_cfg(), server_cfg(psks=[PSK], certificate_chain=(), private_key=None))
    assert err.alert == AlertDescription.handshake_failure


def test_external_psk_with_sha384_only_client() -> None:
    # external PSKs are SHA-256 (RFC 8446 §4.2.11): a SHA-384-only client is a config error
    with pytest.raises(ValueError, match="SHA-256"):
        TLSEngine(client_cfg(psks=[PSK], cipher_suites=[CipherSuite.TLS_AES_256_GCM_SHA384])
                  ).start()


# -- resumption and 0-RTT -----------------------------------------------------

def first_session(**skw: object) -> Any:
    c, _ = handshake(client_cfg(), server_cfg("p256", ticket_key=TICKET_KEY, **skw))
    tickets = c.tickets()
    assert len(tickets) == 1
    return tickets[0]


def test_resumption() -> None:
    session = first_session()
    c, s = handshake(client_cfg(session=session), server_cfg(ticket_key=TICKET_KEY))
    assert c.engine.session_resumed and s.engine.session_resumed
    assert not c.engine.peer_certificates
    assert not c.engine.early_data_offered
    # the resumed connection gets a fresh ticket
    assert c.tickets()


def test_session_data_roundtrip() -> None:
    from libquic.tls import SessionData
    session = first_session()
    assert isinstance(session, SessionData)
    again = SessionData.from_bytes(session.to_bytes())
    assert again == session
    assert "psk" not in repr(session).replace("psk=<hidden>", "")


def test_resumption_wrong_ticket_key_falls_back() -> None:
    session = first_session()
    c, _s = handshake(client_cfg(session=session), server_cfg(ticket_key=bytes(64)))
    assert not c.engine.session_resumed and c.engine.peer_certificates


def test_resumption_without_ticket_key_falls_back() -> None:
    session = first_session()
    c, _ = handshake(client_cfg(session=session), server_cfg())
    assert not c.engine.session_resumed


def test_zero_rtt_accept() -> None:
    session = first_session(early_data=True)
    assert session.max_early_data == 0xFFFFFFFF  # type: ignore[attr-defined]
    c, s = handshake(client_cfg(session=session, early_data=True),
                     server_cfg(ticket_key=TICKET_KEY, early_data=True,
                                replay_register=ReplayRegister()))
    assert c.engine.early_data_accepted and s.engine.early_data_accepted
    assert (Level.EARLY, Direction.SEND) in c.secrets()
    assert c.secrets()[(Level.EARLY, Direction.SEND)] == s.secrets()[(Level.EARLY,
                                                                       Direction.RECV)]


def test_zero_rtt_replay_rejected() -> None:
    session = first_session(early_data=True)
    reg = ReplayRegister()
    c, _ = handshake(client_cfg(session=session, early_data=True),
                     server_cfg(ticket_key=TICKET_KEY, early_data=True, replay_register=reg))
    assert c.engine.early_data_accepted
    c, s = handshake(client_cfg(session=session, early_data=True),
                     server_cfg(ticket_key=TICKET_KEY, early_data=True, replay_register=reg))
    assert c.engine.early_data_offered and not c.engine.early_data_accepted
    assert c.engine.session_resumed
    assert (Level.EARLY, Direction.RECV) not in s.secrets()


def test_zero_rtt_rejected_by_server_config() -> None:
    session = first_session(early_data=True)
    c, _s = handshake(client_cfg(session=session, early_data=True),
                     server_cfg(ticket_key=TICKET_KEY, early_data=False))
    assert c.engine.early_data_offered and not c.engine.early_data_accepted
    assert c.engine.session_resumed


def test_zero_rtt_stale_ticket_age_rejected() -> None:
    session = first_session(early_data=True)
    session.received_ms -= 60_000  # type: ignore[attr-defined]  # client thinks it is older
    c, _ = handshake(client_cfg(session=session, early_data=True),
                     server_cfg(ticket_key=TICKET_KEY, early_data=True,
                                replay_register=ReplayRegister()))
    assert c.engine.early_data_offered and not c.engine.early_data_accepted


def test_zero_rtt_not_offered_without_permission() -> None:
    session = first_session()  # ticket without early_data
    c, _ = handshake(client_cfg(session=session, early_data=True),
                     server_cfg(ticket_key=TICKET_KEY, early_data=True))
    assert not c.engine.early_data_offered


def test_zero_rtt_alpn_change_rejected() -> None:
    session = first_session(early_data=True)
    c, _ = handshake(client_cfg(session=session, early_data=True, alpn_protocols=["h3", "x"]),
                     server_cfg(ticket_key=TICKET_KEY, early_data=True,
                                alpn_protocols=["x", "h3"], replay_register=ReplayRegister()))
    assert c.engine.alpn == "h3" and c.engine.early_data_accepted
    c, _ = handshake(client_cfg(session=session, early_data=True, alpn_protocols=["x", "h3"]),
                     server_cfg(ticket_key=TICKET_KEY, early_data=True,
                                alpn_protocols=["x", "h3"], replay_register=ReplayRegister()))
    assert c.engine.alpn == "x" and not c.engine.early_data_accepted


def test_keylog() -> None:
    lines: list[tuple[str, bytes, bytes]] = []
    c, _ = handshake(client_cfg(keylog=lambda *a: lines.append(a)), server_cfg())
    labels = {x[0] for x in lines}
    assert labels == {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                      "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"}
    sec = dict((x[0], x[2]) for x in lines)
    assert sec["CLIENT_TRAFFIC_SECRET_0"] == c.secrets()[(Level.APP, Direction.SEND)]


def test_keylog_file(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    import pathlib

    from libquic.tls import keylog_from_env
    path = pathlib.Path(str(tmp_path)) / "keys.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(path))
    handshake(client_cfg(keylog=keylog_from_env()), server_cfg())
    text = path.read_text().splitlines()
    assert len(text) == 5 and text[0].startswith("CLIENT_HANDSHAKE_TRAFFIC_SECRET ")
    assert len(text[0].split()[1]) == 64


def test_secrets_wiped_after_use() -> None:
    c, _s = handshake(client_cfg(), server_cfg())
    assert c.engine._c_hs is not None and not any(c.engine._c_hs)
    c.engine.close()
    assert c.engine._exp_master is not None and not any(c.engine._exp_master)


def _openssl_pss_identity(tmp: pathlib.Path) -> tuple[list[Any], Any]:
    import subprocess

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from kquictest.tls_fixtures import key_pem
    ca = trusted_ca()
    (tmp / "ca.pem").write_bytes(ca.pem)
    (tmp / "ca.key").write_bytes(key_pem(ca.key))
    (tmp / "ext").write_text(
        "subjectAltName=DNS:localhost\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n")

    def run(*args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, cwd=tmp)

    run("openssl", "genpkey", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048",
        "-out", "k.pem")
    run("openssl", "req", "-new", "-key", "k.pem", "-subj", "/CN=localhost", "-out", "c.csr")
    run("openssl", "x509", "-req", "-in", "c.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "ext", "-out", "c.pem")
    cert = x509.load_pem_x509_certificate((tmp / "c.pem").read_bytes())
    key = serialization.load_pem_private_key((tmp / "k.pem").read_bytes(), None)
    return [cert], key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
def test_rsa_pss_pss_certificate(tmp_path: pathlib.Path) -> None:
    chain, key = _openssl_pss_identity(tmp_path)
    c, _ = handshake(client_cfg(), server_cfg(certificate_chain=chain, private_key=key))
    assert c.engine.peer_certificates == chain
    # a client that only accepts rsae schemes cannot talk to a PSS-only key
    err = fails(client_cfg(signature_schemes=[SignatureScheme.rsa_pss_rsae_sha256]),
                server_cfg(certificate_chain=chain, private_key=key))
    assert err.alert == AlertDescription.handshake_failure


def test_rsae_certificate_never_uses_pss_schemes() -> None:
    err = fails(client_cfg(signature_schemes=[SignatureScheme.rsa_pss_pss_sha256]),
                server_cfg("rsa"))
    assert err.alert == AlertDescription.handshake_failure


def test_verify_without_hostname() -> None:
    c, _ = handshake(client_cfg(server_name=None), server_cfg())
    assert c.engine.peer_certificates
    err = fails(client_cfg(server_name=None, cadata=untrusted_ca().pem), server_cfg())
    assert err.alert == AlertDescription.unknown_ca


@pytest.mark.skipif(not HAVE_MLKEM, reason="cryptography without ML-KEM")
def test_mlkem_hybrid_via_hrr() -> None:
    c, _s = handshake(client_cfg(key_share_groups=[Group.x25519]),
                     server_cfg(groups=[Group.X25519MLKEM768]))
    assert c.engine.group == Group.X25519MLKEM768 and c.engine._hrr


def test_session_expiry_and_unknown_session_blob() -> None:
    from libquic.tls import SessionData
    session = first_session()
    assert isinstance(session, SessionData)
    session.received_ms -= (session.lifetime + 1) * 1000
    assert session.is_expired()
    c, _ = handshake(client_cfg(session=session), server_cfg(ticket_key=TICKET_KEY))
    assert not c.engine.session_resumed  # expired tickets are not offered
    with pytest.raises(ValueError):
        SessionData.from_bytes(b"nope")


def test_ticket_key_checks() -> None:
    from libquic.tls.tickets import TicketKey, TicketState
    with pytest.raises(ValueError):
        TicketKey(b"short")
    k1, k2 = TicketKey(bytes(64)), TicketKey(b"\x01" * 64)
    st = TicketState(0x1301, b"p" * 32, 1, 2, 3, 4, b"h3", b"host")
    t = k1.seal(st)
    assert k1.open(t) == st
    assert k2.open(t) is None
    assert k1.open(t[:-1] + bytes([t[-1] ^ 1])) is None
    assert k1.open(b"") is None


def test_psk_file_parsing(tmp_path: pathlib.Path) -> None:
    from libquic.tls import load_psk_file, parse_psk_lines
    p = tmp_path / "psk"
    p.write_text("# comment\n\nalice:0011\nbob:ff\n")
    keys = load_psk_file(str(p))
    assert [k.identity for k in keys] == [b"alice", b"bob"]
    assert keys[0].key == b"\x00\x11" and "0011" not in repr(keys[0])
    for bad in ("nocolon", "x:zz", "x:", ""):
        with pytest.raises(ValueError):
            parse_psk_lines(bad)
    # identities may contain colons; the key is after the last one
    assert parse_psk_lines("a:b:00")[0].identity == b"a:b"


def test_server_config_validation() -> None:
    with pytest.raises(ValueError):
        TLSEngine(TLSConfig(is_client=False))
    with pytest.raises(ValueError):
        TLSEngine(client_cfg(cipher_suites=[0x1304]))


def test_session_for_other_server_not_offered() -> None:
    session = first_session()
    c, _ = handshake(client_cfg(session=session, server_name="127.0.0.1", verify=False),
                     server_cfg(ticket_key=TICKET_KEY))
    assert not c.engine.session_resumed


def test_session_data_keeps_kernel_state_and_reads_v1() -> None:
    from libquic.tls import SessionData
    session = first_session()
    session.transport_param = bytes(range(56))
    session.token = b"tok"
    again = SessionData.from_bytes(session.to_bytes())
    assert again.transport_param == bytes(range(56)) and again.token == b"tok"
    # version 1 data (no transport_param/token) still loads
    session.transport_param = session.token = b""
    raw = bytearray(session.to_bytes()[:-2])
    raw[3] = 1
    old = SessionData.from_bytes(bytes(raw))
    assert old == session
