"""Who may do what to whom: local users and network namespaces.

A port one user's QUIC sockets hold is not another user's to share
(bind, listen, migration), privileged ports need CAP_NET_BIND_SERVICE on
every path that picks a local port, and QUIC state in one network
namespace is invisible and unreachable from another
(Documentation/networking/quic.rst, "Threat model")."""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator

import pytest

from kquictest import quic_testdriver as qt
from kquictest.netns import Namespace
from libquic import sockopt

pytestmark = pytest.mark.timeout(180)

NOBODY = 65534
OTHER = 65533


def bind_listen(host: str, port: int, alpn: bytes | None = None,
                reuseport: bool = False) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = qt.quic_socket(family)
    if alpn is not None:
        s.setsockopt(qt.SOL_QUIC, qt.QUIC_SOCKOPT_ALPN, alpn)
    if reuseport:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind((host, port))
    s.listen(8)
    return s


def try_listen(host: str, port: int, alpn: bytes | None = None,
               reuseport: bool = False) -> int:
    """0 when a listener could be set up on host:port, else the errno."""
    try:
        bind_listen(host, port, alpn, reuseport).close()
    except OSError as e:
        return e.errno or -1
    return 0


@pytest.fixture
def root_listener() -> Iterator[socket.socket]:
    s = bind_listen("127.0.0.1", 0, b"echo")
    yield s
    s.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])
def test_other_user_cannot_bind_or_listen_on_roots_port(
        root_listener: socket.socket, host: str) -> None:
    port = root_listener.getsockname()[1]
    # a disjoint ALPN list on the same address was the hijack
    assert qt.run_as(NOBODY, lambda: try_listen(host, port, b"evil")) == errno.EADDRINUSE
    assert qt.run_as(NOBODY, lambda: try_listen(host, port, b"echo", True)) == errno.EADDRINUSE


def test_port_sharing_is_for_the_owner_or_net_admin() -> None:
    """The owner shares its own port (disjoint ALPN lists), another user
    may not, root (CAP_NET_ADMIN) may."""
    def owner() -> tuple[int, int]:
        a = bind_listen("127.0.0.1", 0, b"one")
        port = a.getsockname()[1]
        shared = try_listen("127.0.0.1", port, b"two")
        # keep the port: the parent tries it while this child waits
        os.write(w, port.to_bytes(2, "big"))
        os.read(r2, 1)
        a.close()
        return port, shared

    r, w = os.pipe()
    r2, w2 = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setresgid(NOBODY, NOBODY, NOBODY)
            os.setresuid(NOBODY, NOBODY, NOBODY)
            _, shared = owner()
            code = 0 if shared == 0 else 10 + shared
        finally:
            os._exit(code)
    try:
        port = int.from_bytes(os.read(r, 2), "big")
        assert port, "the owner could not listen"
        assert qt.run_as(OTHER, lambda: try_listen("127.0.0.1", port, b"three")) \
            == errno.EADDRINUSE
        assert try_listen("127.0.0.1", port, b"four") == 0  # root: CAP_NET_ADMIN
    finally:
        os.write(w2, b"x")
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the owner could not share its own port"


def established_client_as(uid: int, then: Callable[[socket.socket], object]) -> object:
    """A client of uid `uid` completes a handshake with a root listener,
    then runs `then` on its socket; root plays the server meanwhile."""
    lsk = bind_listen("127.0.0.1", 0)
    lsk.settimeout(30)
    port = lsk.getsockname()[1]
    done_r, done_w = os.pipe()

    def client() -> object:
        c = qt.quic_socket(socket.AF_INET)
        c.connect(("127.0.0.1", port))
        qt.client_handshake(c)
        try:
            return then(c)
        finally:
            os.write(done_w, b"x")
            c.close()

    def server() -> None:
        a, _ = lsk.accept()
        qt.server_handshake(a)
        os.read(done_r, 1)  # hold the connection until the client is done
        a.close()

    t = threading.Thread(target=server, daemon=True)
    t.start()
    try:
        return qt.run_as(uid, client)
    finally:
        t.join(30)
        lsk.close()
        os.close(done_r)
        os.close(done_w)


def test_migration_applies_binds_checks() -> None:
    """An unprivileged client may not move onto a privileged port, nor onto
    a port another user's QUIC socket holds; a new port of its own is fine."""
    roots_443 = bind_listen("127.0.0.1", 443)
    roots_other = bind_listen("127.0.0.1", 0)
    other_port = roots_other.getsockname()[1]

    def attempts(c: socket.socket) -> list[int]:
        out = []
        for addr in (("127.0.0.1", 443), ("127.0.0.1", other_port)):
            try:
                sockopt.migrate(c, addr)
                out.append(0)
            except OSError as e:
                out.append(e.errno or -1)
        return out

    try:
        result = established_client_as(NOBODY, attempts)
    finally:
        roots_443.close()
        roots_other.close()
    assert result == [errno.EACCES, errno.EADDRINUSE]


def test_unprivileged_bind_of_a_privileged_port() -> None:
    assert qt.run_as(NOBODY, lambda: try_listen("127.0.0.1", 444)) == errno.EACCES


# ---- network namespaces -------------------------------------------------


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_namespaces_do_not_share_ports_sockets_or_traffic(netns: Namespace) -> None:
    """The same port binds in both namespaces; neither sees the other's
    sockets in /proc/net/quic or in its MIB; a client in one cannot reach
    a listener in the other."""
    here = bind_listen("127.0.0.1", 0, b"echo")
    port = here.getsockname()[1]
    try:
        # no ALPN list: the test driver's handshake has no real ClientHello
        # to route by
        there = netns.run(lambda: bind_listen("127.0.0.1", port))
        eps_there = netns.read("/proc/net/quic/eps")
        assert len(eps_there.splitlines()) == 2, eps_there  # header and its own listener
        before = qt.snmp()
        # a handshake in the other namespace: its listener answers, ours never sees it
        _, c, s = netns.run(lambda: qt.connect_pair(listener=there))
        for sk in (c, s):
            sk.close()
        after = qt.snmp()
        assert after.get("QuicConnPassiveOpens") == before.get("QuicConnPassiveOpens")
        assert after.get("QuicConnActiveOpens") == before.get("QuicConnActiveOpens")
        with open("/proc/net/quic/eps") as f:
            assert len(f.read().splitlines()) == 2  # only `here`
        there.close()
        # a port bound only over there is not reachable from here
        only_there = netns.run(lambda: bind_listen("127.0.0.1", 0))
        c = qt.quic_socket(socket.AF_INET)
        c.connect(("127.0.0.1", only_there.getsockname()[1]))
        with pytest.raises((qt.HandshakeError, TimeoutError, OSError)):
            qt.client_handshake(c, timeout=2)
        only_there.settimeout(0.5)
        with pytest.raises(TimeoutError):
            only_there.accept()
        c.close()
        only_there.close()
    finally:
        here.close()


@pytest.mark.kquic_only("reads the /proc/net/quic or net.quic sysctl layout of kquic")
def test_a_containers_root_cannot_raise_the_namespace_memory_limit() -> None:
    """net.quic.rmem_max_total protects the host: in a network namespace
    owned by a new user namespace, its root may read it but not write it."""
    script = ("cat /proc/sys/net/quic/rmem_max_total && "
              "echo 4096 > /proc/sys/net/quic/rmem_max_total")
    r = subprocess.run(["unshare", "--user", "--map-root-user", "--net", "sh", "-c", script],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout.strip().isdigit(), r.stderr  # readable
    assert r.returncode != 0, "the container's root raised the host's limit"
