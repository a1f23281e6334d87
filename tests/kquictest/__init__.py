"""Helpers shared by the test tiers, imported as ``kquictest.<module>``
from tests/host and tests/vm alike (pytest puts ``tests/`` on ``sys.path``:
``pythonpath`` in pyproject.toml).  A test module imports helpers from
here, never from another test module.

Any tier:

``tls_fixtures``
    Certificates and keys made at test time, in-memory TLS engine pairs,
    engine configurations, the RFC 8448 hello messages.
``fake_quic_socket``
    An in-memory stand-in for a pair of kernel QUIC sockets in the
    handshake phase (drives libquic's handshake without the module).
``install``
    The project installed as ``pip install .`` installs it, from a copy of
    its files, with its commands.

VM tier only (they need the loaded module):

``quic_testdriver``
    A TLS-free handshake with fixed secrets through libquic.uapi, RFC 9001
    Initial protection in Python, /proc/net/quic readers, ``run_as``.
``quicpair``, ``streampair``, ``bulk``
    Connected kernel socket pairs with a real (PSK or certificate)
    handshake; stream and event reads and writes with deadlines; bulk
    transfers checked by SHA-256.
``aiopeer``, ``ngtcp2peer``, ``zerortt``
    A kernel server in a thread for tests against aioquic; ngtcp2's
    example peers; 0-RTT packet capture on lo and a one-connection server.
``handshaked_proc``, ``consumer``
    quic-handshaked as a child process; the kernel consumer module
    tests/kmod/quic_consumer.ko (the ``consumer`` fixture) and its peers.
``netns``
    Network namespaces, veth links, netem qdiscs and extra addresses on
    pyroute2, each undone when its ``with`` block ends (the VM tier's
    ``netns`` fixture is ``netns.namespace()``).
``netemlink``
    A kernel connection across a delayed veth link to a namespace.
``nftables``, ``natpath``
    nftables scripts and counters in any namespace, one prepared ahead to
    commit at once; a client namespace behind an nftables NAT router
    namespace, a server namespace, a kernel connection across them and
    NAT rebindings.
``hostile``, ``sockfuzz``
    The hostile peer, its generators and receive-memory probes, and the
    socket-option/cmsg fuzzer.
"""
