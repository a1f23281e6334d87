"""quic-h3's pure parts: URL parsing, the folder mapping, the progress line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from libquic.h3 import H3Message
from libquic.tools.h3tool import FolderHandler, Progress, parse_url


def test_parse_url() -> None:
    assert parse_url("https://h.example:4433/a/b?x=1") == ("h.example", 4433, "/a/b?x=1",
                                                           "h.example:4433")
    assert parse_url("https://[::1]/") == ("::1", 443, "/", "[::1]")
    assert parse_url("https://h") == ("h", 443, "/", "h")


@pytest.mark.parametrize("url", ["http://h/", "h/x", "https:///x", "https://h:0x/"])
def test_parse_url_rejects(url: str) -> None:
    with pytest.raises(Exception, match=r"URL|port"):
        parse_url(url)


def req(path: str, method: str = "GET") -> H3Message:
    return H3Message([(b":method", method.encode()), (b":path", path.encode())])


def test_folder_handler_stays_inside_its_folder(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "d").mkdir(parents=True)
    (root / "f.txt").write_bytes(b"file")
    (root / "d" / "index.html").write_bytes(b"idx")
    (tmp_path / "secret").write_bytes(b"no")
    (root / "link").symlink_to(tmp_path / "secret")
    h = FolderHandler(root)
    assert b"".join(h(req("/f.txt")).chunks) == b"file"
    assert h(req("/f.txt")).header("content-length") == "4"
    assert b"".join(h(req("/d/")).chunks) == b"idx"
    assert h(req("/f%2Etxt?q=1")).status == 200
    for bad in ("/../secret", "/%2e%2e/secret", "/link", "/d/../../secret", "/missing"):
        assert h(req(bad)).status == 404, bad
    head = h(req("/f.txt", "HEAD"))
    assert head.status == 200 and head.header("content-length") == "4" and not head.body
    assert not list(head.chunks)
    assert h(req("/f.txt", "POST")).status == 405


def test_progress_line() -> None:
    out = io.StringIO()
    bar = Progress(1000, out, enabled=True)
    bar.add(500)
    bar.finish()
    text = out.getvalue()
    assert "\r[" in text and " 50%" in text and "100%" not in text
    assert text.endswith("\n")
    quiet = io.StringIO()
    Progress(None, quiet, enabled=False).finish()
    assert quiet.getvalue() == ""
