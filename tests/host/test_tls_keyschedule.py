"""Key schedule against the RFC 8448 traces (§3 simple 1-RTT, §4 resumption)."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric import x25519

from kquictest.tls_fixtures import CLIENT_HELLO, SERVER_HELLO
from libquic.tls.ciphers import SUITES, CipherSuite
from libquic.tls.keyschedule import (
    KeySchedule,
    exporter,
    hkdf_expand,
    hkdf_expand_label,
    hkdf_extract,
    wipe,
)
from libquic.tls.messages import ClientHello, ServerHello

H = bytes.fromhex

# RFC 8448 §3 inputs (and CLIENT_HELLO, SERVER_HELLO from kquictest.tls_fixtures)
CLIENT_PRIV = H("49af42ba7f7994852d713ef2784bcbcaa7911de26adc5642cb634540e7ea5005")
SERVER_PRIV = H("b1580eeadf6dd589b8ef4f2d5652578cc810e9980191ec8d058308cea216a21e")
# RFC 8448 §3 outputs
SHARED = "8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d"
HELLO_HASH = "860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8"
SERVER_FIN_HASH = "9608102a0f1ccc6db6250b7b7e417b1a000eaada3daae4777a7686c9ff83df13"
CLIENT_FIN_HASH = "209145a96ee8e2a122ff810047cc952684658d6049e86429426db87c54ad143d"
EARLY = "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a"
DERIVED = "6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba"
HANDSHAKE = "1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac"
C_HS = "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21"
S_HS = "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38"
S_HS_KEY = "3fce516009c21727d0f2e4e86ee403bc"
S_HS_IV = "5d313eb2671276ee13000b30"
C_HS_KEY = "dbfaa693d1762c5b666af5d950258d01"
C_HS_IV = "5bd3c71b836e0b76bb73265f"
MASTER = "18df06843d13a08bf2a449844c5f8a478001bc4d4c627984d5a41da8d0402919"
C_AP = "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5"
S_AP = "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643"
EXP_MASTER = "fe22f881176eda18eb8f44529e6792c50c9a3f89452f68d8ae311b4309d3cf50"
RES_MASTER = "7df235f2031d2a051287d02b0241b0bfdaf86cc856231f2d5aba46c434ec196c"
CLIENT_FIN_VD = "a8ec436d677634ae525ac1fcebe11a039ec17694fac6e98527b642f2edd5ce61"
# RFC 8448 §4: PSK from the §3 ticket (nonce 00 00) and the resulting early secret
RES_PSK = "4ecd0eb6ec3b4d87f5d6028f922ca4c5851a277fd41311c9e62d2c9492e1c4f3"
RES_EARLY = "9b2188e9b2fc6d64d71dc329900e20bb41915000f678aa839cbb797cb7d8332c"

SHA256 = SUITES[CipherSuite.TLS_AES_128_GCM_SHA256]


def test_rfc8448_inputs() -> None:
    c = x25519.X25519PrivateKey.from_private_bytes(CLIENT_PRIV)
    s = x25519.X25519PrivateKey.from_private_bytes(SERVER_PRIV)
    assert c.exchange(s.public_key()).hex() == SHARED
    assert hashlib.sha256(CLIENT_HELLO + SERVER_HELLO).hexdigest() == HELLO_HASH
    # the codecs parse the RFC messages and reproduce them byte for byte
    ch = ClientHello.decode(CLIENT_HELLO[4:])
    assert ch.encode() == CLIENT_HELLO
    assert ch.cipher_suites == [0x1301, 0x1303, 0x1302]
    sh = ServerHello.decode(SERVER_HELLO[4:])
    assert sh.encode() == SERVER_HELLO and sh.cipher_suite == 0x1301 and not sh.is_hrr


def test_rfc8448_simple_1rtt_schedule() -> None:
    ks = KeySchedule(SHA256)
    assert ks.early().hex() == EARLY
    empty = hashlib.sha256().digest()
    assert ks.derive_secret(ks.early_secret or b"", b"derived", empty).hex() == DERIVED
    assert ks.handshake(H(SHARED)).hex() == HANDSHAKE
    c_hs = ks.client_handshake_traffic_secret(H(HELLO_HASH))
    s_hs = ks.server_handshake_traffic_secret(H(HELLO_HASH))
    assert c_hs.hex() == C_HS and s_hs.hex() == S_HS
    assert ks.expand_label(s_hs, b"key", b"", 16).hex() == S_HS_KEY
    assert ks.expand_label(s_hs, b"iv", b"", 12).hex() == S_HS_IV
    assert ks.expand_label(c_hs, b"key", b"", 16).hex() == C_HS_KEY
    assert ks.expand_label(c_hs, b"iv", b"", 12).hex() == C_HS_IV
    assert ks.master().hex() == MASTER
    assert ks.client_application_traffic_secret(H(SERVER_FIN_HASH)).hex() == C_AP
    assert ks.server_application_traffic_secret(H(SERVER_FIN_HASH)).hex() == S_AP
    assert ks.exporter_master_secret(H(SERVER_FIN_HASH)).hex() == EXP_MASTER
    assert ks.finished_verify_data(c_hs, H(SERVER_FIN_HASH)).hex() == CLIENT_FIN_VD
    res = ks.resumption_master_secret(H(CLIENT_FIN_HASH))
    assert res.hex() == RES_MASTER
    assert ks.resumption_psk(res, b"\x00\x00").hex() == RES_PSK


def test_rfc8448_resumption_early_secret() -> None:
    ks = KeySchedule(SHA256)
    assert ks.early(H(RES_PSK)).hex() == RES_EARLY


def test_rfc5869_case1() -> None:
    ikm = bytes([0x0B] * 22)
    salt = bytes(range(13))
    info = bytes(range(0xF0, 0xFA))
    prk = hkdf_extract("sha256", salt, ikm)
    assert prk.hex() == "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"
    okm = hkdf_expand("sha256", prk, info, 42)
    assert okm.hex() == ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                         "34007208d5b887185865")


def test_quic_initial_secrets_rfc9001_a1() -> None:
    # RFC 9001 A.1: the same HKDF-Expand-Label gives the QUIC Initial secrets
    salt = H("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")
    initial = hkdf_extract("sha256", salt, H("8394c8f03e515708"))
    assert initial.hex() == "7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44"
    client = hkdf_expand_label("sha256", initial, b"client in", b"", 32)
    assert client.hex() == "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea"
    assert hkdf_expand_label("sha256", client, b"quic key", b"", 16).hex() == \
        "1f369613dd76d5467730efcbe3b1a22d"


def test_exporter_and_wipe() -> None:
    out = exporter("sha256", H(EXP_MASTER), b"EXPORTER-test", b"ctx", 20)
    assert len(out) == 20
    assert out != exporter("sha256", H(EXP_MASTER), b"EXPORTER-test", b"ctx2", 20)
    buf = bytearray(b"secret")
    wipe(buf)
    assert buf == bytearray(6)


def test_sha384_suite_lengths() -> None:
    ks = KeySchedule(SUITES[CipherSuite.TLS_AES_256_GCM_SHA384])
    assert len(ks.early()) == 48
    assert len(ks.handshake(b"x" * 32)) == 48
    assert len(ks.client_handshake_traffic_secret(hashlib.sha384().digest())) == 48
