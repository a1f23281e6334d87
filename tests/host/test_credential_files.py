"""CredentialFiles: a listener's certificate and key, parsed once and again
only when a file changes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from libquic.tls import CredentialFiles
from libquic.tools.certgen import write_test_pki


def test_parsed_once_then_again_when_a_file_changes(tmp_path: Path) -> None:
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
    first = write_test_pki(tmp_path / "a", ["localhost"])
    second = write_test_pki(tmp_path / "b", ["other.example"])
    creds = CredentialFiles(first.cert, first.key)
    chain, key = creds.load()
    assert creds.load()[0] is chain and creds.load()[1] is key  # not parsed again
    # a renewal: both files replaced (new inodes, as certbot's renames do)
    os.replace(second.cert, first.cert)
    os.replace(second.key, first.key)
    new_chain, new_key = creds.load()
    assert new_chain is not chain and new_key is not key
    assert new_chain[0].public_key() == new_key.public_key()
    assert new_chain[0].public_key() != chain[0].public_key()


def test_missing_file_raises(tmp_path: Path) -> None:
    creds = CredentialFiles(tmp_path / "none.pem", tmp_path / "none.key")
    with pytest.raises(FileNotFoundError):
        creds.load()
