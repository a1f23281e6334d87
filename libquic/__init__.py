"""libquic: Python API for the Linux in-kernel QUIC socket.

``libquic.uapi`` mirrors the kernel UAPI (constants and structs).
"""

from libquic.uapi import IPPROTO_QUIC, SOL_QUIC, quic_socket

__all__ = ["IPPROTO_QUIC", "SOL_QUIC", "quic_socket"]
