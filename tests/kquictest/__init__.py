"""Helpers shared by the test tiers, imported as ``kquictest.<module>``
from tests/host and tests/vm alike (pytest puts ``tests/`` on ``sys.path``:
``pythonpath`` in pyproject.toml).

Any tier:

``tls_fixtures``
    Certificates and keys made at test time, in-memory TLS engine pairs.
``fake_quic_socket``
    An in-memory stand-in for a pair of kernel QUIC sockets in the
    handshake phase (drives libquic's handshake without the module).

VM tier only (they need the loaded module):

``quic_testdriver``
    A TLS-free handshake with fixed secrets through the raw UAPI, RFC 9001
    Initial protection in Python, /proc/net/quic readers, ``run_as``.
``quicpair``, ``streampair``
    Connected kernel socket pairs with a real (PSK or certificate)
    handshake, and stream read/write helpers with deadlines.
``aiopeer``
    A kernel server in a thread for tests against aioquic.
``handshaked_proc``
    quic-handshaked as a child process.
``netns``
    Network namespaces, veth links, netem qdiscs and extra addresses on
    pyroute2, each undone when its ``with`` block ends (the VM tier's
    ``netns`` fixture is ``netns.namespace()``).
``netemlink``
    A kernel connection across a delayed veth link to a namespace.
``hostile``, ``sockfuzz``
    The hostile peer and generators, and the socket-option/cmsg fuzzer.
"""
