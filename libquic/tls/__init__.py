"""Sans-I/O TLS 1.3 handshake engine for QUIC (RFC 8446, RFC 9001)."""

from .certs import CredentialFiles, SignatureScheme, load_certificate_chain, load_private_key
from .ciphers import CipherSuite
from .engine import (
    ClientAuth,
    Direction,
    Event,
    HandshakeComplete,
    InstallSecret,
    Level,
    SendData,
    SessionTicketReceived,
    TLSConfig,
    TLSEngine,
    TransportParameters,
)
from .errors import AlertDescription, TLSError
from .groups import HAVE_MLKEM, Group
from .keylog import KeyLogFile, keylog_from_env
from .psk import ExternalPSK, PskLookup, load_psk_file, parse_psk_lines
from .tickets import ReplayRegister, SessionData

__all__ = [
    "HAVE_MLKEM",
    "AlertDescription",
    "CipherSuite",
    "ClientAuth",
    "CredentialFiles",
    "Direction",
    "Event",
    "ExternalPSK",
    "Group",
    "HandshakeComplete",
    "InstallSecret",
    "KeyLogFile",
    "Level",
    "PskLookup",
    "ReplayRegister",
    "SendData",
    "SessionData",
    "SessionTicketReceived",
    "SignatureScheme",
    "TLSConfig",
    "TLSEngine",
    "TLSError",
    "TransportParameters",
    "keylog_from_env",
    "load_certificate_chain",
    "load_private_key",
    "load_psk_file",
    "parse_psk_lines",
]
