"""Chain validation of CA certificates without keyUsage.

The reference's test CA (its keys/ca_cert_pkey_psk.sh, plain ``openssl req
-x509``) has no keyUsage; GnuTLS and OpenSSL accept it, and our kernel
users' daemon must too, or kernel clients cannot verify servers certified
by such a CA.  A CA whose keyUsage is present but lacks keyCertSign is
still refused.
"""

from __future__ import annotations

import pytest

from kquictest.tls_fixtures import make_ca, make_key
from libquic.tls import AlertDescription, TLSError
from libquic.tls.certs import verify_chain


@pytest.mark.parametrize("client", [False, True], ids=["server-cert", "client-cert"])
def test_ca_without_key_usage_is_accepted(client: bool) -> None:
    ca = make_ca(key_usage=None)
    leaf = ca.issue(make_key("p256"), ["server.test"], client=client)
    verify_chain([leaf], server=not client, hostname=None if client else "server.test",
                 cadata=ca.pem)


def test_ca_whose_key_usage_forbids_signing_is_refused() -> None:
    ca = make_ca(key_usage=False)
    leaf = ca.issue(make_key("p256"), ["server.test"])
    with pytest.raises(TLSError) as e:
        verify_chain([leaf], server=True, hostname="server.test", cadata=ca.pem)
    assert e.value.alert in (AlertDescription.unknown_ca, AlertDescription.bad_certificate)
    assert "keyCertSign" in str(e.value) or "verification failed" in str(e.value)


def test_wrong_name_still_fails_under_such_a_ca() -> None:
    ca = make_ca(key_usage=None)
    leaf = ca.issue(make_key("p256"), ["server.test"])
    with pytest.raises(TLSError):
        verify_chain([leaf], server=True, hostname="other.test", cadata=ca.pem)
