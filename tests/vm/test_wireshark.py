"""Wireshark decrypts our connections: with SSLKEYLOGFILE set, a tcpdump
capture of a transfer is decoded by tshark down to the stream bytes.

tshark's QUIC dissector (Debian's Wireshark) derives the Initial keys
itself and takes the handshake and 1-RTT secrets from the key log that
libquic writes; "follow,quic" then reassembles stream 0 both ways.
Without the key log the same capture shows no stream data.  The capture
is taken with net.quic.gso = 0, as Documentation/tls.rst tells users: on
loopback tcpdump sees UDP GSO super-datagrams whole, and tshark decodes
only the first QUIC packet of each.
"""

from __future__ import annotations

import hashlib
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kquictest.quic_testdriver import quic_sysctl
from kquictest.quicpair import WAIT, Credentials
from libquic.connection import QuicConnection, QuicListener

pytestmark = pytest.mark.timeout(300)

ALPN = "capture"
SIZE = 300_000


@pytest.fixture(autouse=True)
def no_gso() -> Iterator[None]:
    """net.quic.gso = 0 for the test (a module without it sends datagrams
    one by one anyway)."""
    with quic_sysctl("gso", 0, missing_ok=True):
        yield


def follow_stream0(cap: Path, port: int, keylog: Path | None) -> tuple[bytes, bytes]:
    """(client to server, server to client) bytes of stream 0, per tshark."""
    cmd = ["tshark", "-r", str(cap), "-d", f"udp.port=={port},quic", "-q",
           "-z", "follow,quic,raw,0,0"]
    if keylog is not None:
        cmd[3:3] = ["-o", f"tls.keylog_file:{keylog}"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    body = r.stdout.split("=" * 67)[1] if "=" * 67 in r.stdout else ""
    sent, back = bytearray(), bytearray()
    for line in body.splitlines():
        if not line.strip() or ":" in line:  # the Follow/Filter/Node header
            continue
        (back if line.startswith("\t") else sent).extend(bytes.fromhex(line.strip()))
    return bytes(sent), bytes(back)


def test_tshark_decrypts_a_capture_with_the_key_log(
    creds: Credentials, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    keylog = tmp_path / "keys.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(keylog))
    data = bytes((i * 7 + 3) % 251 for i in range(SIZE))
    cap = tmp_path / "transfer.pcap"
    errors: list[BaseException] = []
    with QuicListener("127.0.0.1", 0, alpns=[ALPN], cert_file=creds.cert,
                      key_file=creds.key) as lsk:
        port = lsk.address[1]
        dump = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-w", str(cap), f"udp port {port}"],
                                stderr=subprocess.PIPE, text=True)
        try:
            assert dump.stderr is not None
            assert "listening on" in dump.stderr.readline(), "tcpdump did not start"

            def serve() -> None:
                try:
                    with lsk.accept(WAIT) as conn:
                        stream = conn.accept_stream(WAIT)
                        got = stream.read_all(WAIT)
                        stream.write(hashlib.sha256(got).digest(), fin=True)
                        time.sleep(1)  # let the client read before closing
                except BaseException as exc:  # re-raised below
                    errors.append(exc)

            server = threading.Thread(target=serve)
            server.start()
            with QuicConnection.connect("127.0.0.1", port, alpns=[ALPN], hostname="localhost",
                                        cafile=creds.ca, timeout=WAIT) as conn:
                stream = conn.open_stream()
                stream.write(data, fin=True)
                digest = stream.read_all(WAIT)
            server.join(WAIT * 2)
            time.sleep(0.5)
        finally:
            dump.terminate()
            dump.wait(30)
    assert not errors, errors
    assert digest == hashlib.sha256(data).digest()

    labels = {line.split()[0] for line in keylog.read_text().splitlines()}
    assert {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"} <= labels

    sent, back = follow_stream0(cap, port, keylog)
    assert len(sent) == SIZE and sent == data, f"tshark decoded {len(sent)} of {SIZE} bytes"
    assert back == digest
    assert follow_stream0(cap, port, None) == (b"", b""), "decoded without the keys?"
