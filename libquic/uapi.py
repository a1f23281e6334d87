"""Mirror of the kernel UAPI header ``kmod/include/uapi/linux/quic.h``.

Every number and struct layout here is part of the binary ABI shared with the
reference implementation.  ``tests/host/test_abi_mirror.py`` compares this
module with the DWARF of the compiled ``quic.ko`` and with the header, so a
change on either side that is not made on the other fails the test suite.

Structs are :mod:`ctypes` structures: ``bytes(obj)`` gives the wire form for
``setsockopt``/cmsg payloads and ``Struct.from_buffer_copy(data)`` parses
what the kernel returns.
"""

from __future__ import annotations

import ctypes
import enum
import socket

__all__ = [
    "IPPROTO_QUIC",
    "MSG_BATCH",
    "MSG_CONFIRM",
    "MSG_DONTWAIT",
    "MSG_EOR",
    "MSG_ERRQUEUE",
    "MSG_FIN",
    "MSG_MORE",
    "MSG_NOSIGNAL",
    "MSG_QUIC_DATAGRAM",
    "MSG_QUIC_NOTIFICATION",
    "MSG_QUIC_STREAM_DONTWAIT",
    "MSG_QUIC_STREAM_FIN",
    "MSG_QUIC_STREAM_NEW",
    "MSG_QUIC_STREAM_SNDBLOCK",
    "MSG_QUIC_STREAM_UNI",
    "MSG_RST",
    "MSG_SYN",
    "MSG_WAITALL",
    "MSG_WAITFORONE",
    "QUIC_CLOSE_PHRASE_BUFFER_SIZE",
    "QUIC_CONG_ALG_CUBIC",
    "QUIC_CONG_ALG_MAX",
    "QUIC_CONG_ALG_RENO",
    "QUIC_CRYPTO_APP",
    "QUIC_CRYPTO_EARLY",
    "QUIC_CRYPTO_HANDSHAKE",
    "QUIC_CRYPTO_INITIAL",
    "QUIC_CRYPTO_MAX",
    "QUIC_CRYPTO_SECRET_BUFFER_SIZE",
    "QUIC_EVENT_CONNECTION_CLOSE",
    "QUIC_EVENT_CONNECTION_ID",
    "QUIC_EVENT_CONNECTION_MIGRATION",
    "QUIC_EVENT_KEY_UPDATE",
    "QUIC_EVENT_MAX",
    "QUIC_EVENT_NEW_SESSION_TICKET",
    "QUIC_EVENT_NEW_TOKEN",
    "QUIC_EVENT_NONE",
    "QUIC_EVENT_STREAM_MAX_DATA",
    "QUIC_EVENT_STREAM_MAX_STREAM",
    "QUIC_EVENT_STREAM_UPDATE",
    "QUIC_HANDSHAKE_INFO",
    "QUIC_SOCKOPT_ALPN",
    "QUIC_SOCKOPT_CONFIG",
    "QUIC_SOCKOPT_CONNECTION_CLOSE",
    "QUIC_SOCKOPT_CONNECTION_ID",
    "QUIC_SOCKOPT_CONNECTION_MIGRATION",
    "QUIC_SOCKOPT_CRYPTO_SECRET",
    "QUIC_SOCKOPT_EVENT",
    "QUIC_SOCKOPT_KEY_UPDATE",
    "QUIC_SOCKOPT_SESSION_TICKET",
    "QUIC_SOCKOPT_STREAM_OPEN",
    "QUIC_SOCKOPT_STREAM_RESET",
    "QUIC_SOCKOPT_STREAM_STOP_SENDING",
    "QUIC_SOCKOPT_TOKEN",
    "QUIC_SOCKOPT_TRANSPORT_PARAM",
    "QUIC_SOCKOPT_TRANSPORT_PARAM_EXT",
    "QUIC_STREAM_INFO",
    "QUIC_STREAM_RECV_STATE_READ",
    "QUIC_STREAM_RECV_STATE_RECV",
    "QUIC_STREAM_RECV_STATE_RECVD",
    "QUIC_STREAM_RECV_STATE_RESET_READ",
    "QUIC_STREAM_RECV_STATE_RESET_RECVD",
    "QUIC_STREAM_RECV_STATE_SIZE_KNOWN",
    "QUIC_STREAM_SEND_STATE_READY",
    "QUIC_STREAM_SEND_STATE_RECVD",
    "QUIC_STREAM_SEND_STATE_RESET_RECVD",
    "QUIC_STREAM_SEND_STATE_RESET_SENT",
    "QUIC_STREAM_SEND_STATE_SEND",
    "QUIC_STREAM_SEND_STATE_SENT",
    "QUIC_STREAM_TYPE_MASK",
    "QUIC_STREAM_TYPE_SERVER_MASK",
    "QUIC_STREAM_TYPE_UNI_MASK",
    "QUIC_VERSION_V1",
    "QUIC_VERSION_V2",
    "SOL_QUIC",
    "TLS_CIPHER_AES_CCM_128",
    "TLS_CIPHER_AES_GCM_128",
    "TLS_CIPHER_AES_GCM_256",
    "TLS_CIPHER_CHACHA20_POLY1305",
    "UAPI_CONSTANTS",
    "UAPI_ENUMS",
    "UAPI_STRUCTS",
    "QuicCmsgType",
    "QuicConfig",
    "QuicCongAlgo",
    "QuicConnectionClose",
    "QuicConnectionIdInfo",
    "QuicCryptoLevel",
    "QuicCryptoSecret",
    "QuicErrinfo",
    "QuicEvent",
    "QuicEventOption",
    "QuicEventType",
    "QuicHandshakeInfo",
    "QuicMsgFlag",
    "QuicSockopt",
    "QuicStreamInfo",
    "QuicStreamMaxData",
    "QuicStreamState",
    "QuicStreamUpdate",
    "QuicTransportError",
    "QuicTransportParam",
    "quic_socket",
]

IPPROTO_QUIC = 261
SOL_QUIC = 288

QUIC_VERSION_V1 = 0x1
QUIC_VERSION_V2 = 0x6B3343CF

QUIC_STREAM_TYPE_SERVER_MASK = 0x01
QUIC_STREAM_TYPE_UNI_MASK = 0x02
QUIC_STREAM_TYPE_MASK = 0x03

QUIC_CRYPTO_SECRET_BUFFER_SIZE = 48
QUIC_CLOSE_PHRASE_BUFFER_SIZE = 64

# TLS_CIPHER_* from <linux/tls.h>: the cipher types CRYPTO_SECRET accepts.
TLS_CIPHER_AES_GCM_128 = 51
TLS_CIPHER_AES_GCM_256 = 52
TLS_CIPHER_AES_CCM_128 = 53
TLS_CIPHER_CHACHA20_POLY1305 = 54

# Linux MSG_* bits reused by the QUIC flags (values from <linux/socket.h>).
MSG_SYN = 0x400
MSG_FIN = 0x200
MSG_CONFIRM = 0x800
MSG_WAITFORONE = 0x10000
MSG_ERRQUEUE = 0x2000
MSG_RST = 0x1000
MSG_MORE = 0x8000
MSG_EOR = 0x80
MSG_DONTWAIT = 0x40
MSG_NOSIGNAL = 0x4000
MSG_BATCH = 0x40000
MSG_WAITALL = 0x100


class QuicMsgFlag(enum.IntFlag):
    """``enum quic_msg_flags``: stream flags and the extended msg_flags."""

    STREAM_NEW = MSG_SYN
    STREAM_FIN = MSG_FIN
    STREAM_UNI = MSG_CONFIRM
    STREAM_DONTWAIT = MSG_WAITFORONE
    STREAM_SNDBLOCK = MSG_ERRQUEUE
    DATAGRAM = MSG_RST
    NOTIFICATION = MSG_MORE


MSG_QUIC_STREAM_NEW = QuicMsgFlag.STREAM_NEW
MSG_QUIC_STREAM_FIN = QuicMsgFlag.STREAM_FIN
MSG_QUIC_STREAM_UNI = QuicMsgFlag.STREAM_UNI
MSG_QUIC_STREAM_DONTWAIT = QuicMsgFlag.STREAM_DONTWAIT
MSG_QUIC_STREAM_SNDBLOCK = QuicMsgFlag.STREAM_SNDBLOCK
MSG_QUIC_DATAGRAM = QuicMsgFlag.DATAGRAM
MSG_QUIC_NOTIFICATION = QuicMsgFlag.NOTIFICATION


class QuicCryptoLevel(enum.IntEnum):
    """``enum quic_crypto_level`` (note: APP is 0)."""

    APP = 0
    INITIAL = 1
    HANDSHAKE = 2
    EARLY = 3
    MAX = 4


QUIC_CRYPTO_APP = QuicCryptoLevel.APP
QUIC_CRYPTO_INITIAL = QuicCryptoLevel.INITIAL
QUIC_CRYPTO_HANDSHAKE = QuicCryptoLevel.HANDSHAKE
QUIC_CRYPTO_EARLY = QuicCryptoLevel.EARLY
QUIC_CRYPTO_MAX = QuicCryptoLevel.MAX


class QuicCmsgType(enum.IntEnum):
    """``enum quic_cmsg_type``: cmsg types at level ``SOL_QUIC``."""

    STREAM_INFO = 0
    HANDSHAKE_INFO = 1


QUIC_STREAM_INFO = QuicCmsgType.STREAM_INFO
QUIC_HANDSHAKE_INFO = QuicCmsgType.HANDSHAKE_INFO


class QuicSockopt(enum.IntEnum):
    """Socket options at level ``SOL_QUIC``."""

    EVENT = 0
    STREAM_OPEN = 1
    STREAM_RESET = 2
    STREAM_STOP_SENDING = 3
    CONNECTION_ID = 4
    CONNECTION_CLOSE = 5
    CONNECTION_MIGRATION = 6
    KEY_UPDATE = 7
    TRANSPORT_PARAM = 8
    CONFIG = 9
    TOKEN = 10
    ALPN = 11
    SESSION_TICKET = 12
    CRYPTO_SECRET = 13
    TRANSPORT_PARAM_EXT = 14


QUIC_SOCKOPT_EVENT = QuicSockopt.EVENT
QUIC_SOCKOPT_STREAM_OPEN = QuicSockopt.STREAM_OPEN
QUIC_SOCKOPT_STREAM_RESET = QuicSockopt.STREAM_RESET
QUIC_SOCKOPT_STREAM_STOP_SENDING = QuicSockopt.STREAM_STOP_SENDING
QUIC_SOCKOPT_CONNECTION_ID = QuicSockopt.CONNECTION_ID
QUIC_SOCKOPT_CONNECTION_CLOSE = QuicSockopt.CONNECTION_CLOSE
QUIC_SOCKOPT_CONNECTION_MIGRATION = QuicSockopt.CONNECTION_MIGRATION
QUIC_SOCKOPT_KEY_UPDATE = QuicSockopt.KEY_UPDATE
QUIC_SOCKOPT_TRANSPORT_PARAM = QuicSockopt.TRANSPORT_PARAM
QUIC_SOCKOPT_CONFIG = QuicSockopt.CONFIG
QUIC_SOCKOPT_TOKEN = QuicSockopt.TOKEN
QUIC_SOCKOPT_ALPN = QuicSockopt.ALPN
QUIC_SOCKOPT_SESSION_TICKET = QuicSockopt.SESSION_TICKET
QUIC_SOCKOPT_CRYPTO_SECRET = QuicSockopt.CRYPTO_SECRET
QUIC_SOCKOPT_TRANSPORT_PARAM_EXT = QuicSockopt.TRANSPORT_PARAM_EXT


class QuicCongAlgo(enum.IntEnum):
    """``enum quic_cong_algo``."""

    RENO = 0
    CUBIC = 1
    MAX = 2


QUIC_CONG_ALG_RENO = QuicCongAlgo.RENO
QUIC_CONG_ALG_CUBIC = QuicCongAlgo.CUBIC
QUIC_CONG_ALG_MAX = QuicCongAlgo.MAX


class QuicEventType(enum.IntEnum):
    """``enum quic_event_type``."""

    NONE = 0
    STREAM_UPDATE = 1
    STREAM_MAX_DATA = 2
    STREAM_MAX_STREAM = 3
    CONNECTION_ID = 4
    CONNECTION_CLOSE = 5
    CONNECTION_MIGRATION = 6
    KEY_UPDATE = 7
    NEW_TOKEN = 8
    NEW_SESSION_TICKET = 9
    MAX = 10


QUIC_EVENT_NONE = QuicEventType.NONE
QUIC_EVENT_STREAM_UPDATE = QuicEventType.STREAM_UPDATE
QUIC_EVENT_STREAM_MAX_DATA = QuicEventType.STREAM_MAX_DATA
QUIC_EVENT_STREAM_MAX_STREAM = QuicEventType.STREAM_MAX_STREAM
QUIC_EVENT_CONNECTION_ID = QuicEventType.CONNECTION_ID
QUIC_EVENT_CONNECTION_CLOSE = QuicEventType.CONNECTION_CLOSE
QUIC_EVENT_CONNECTION_MIGRATION = QuicEventType.CONNECTION_MIGRATION
QUIC_EVENT_KEY_UPDATE = QuicEventType.KEY_UPDATE
QUIC_EVENT_NEW_TOKEN = QuicEventType.NEW_TOKEN
QUIC_EVENT_NEW_SESSION_TICKET = QuicEventType.NEW_SESSION_TICKET
QUIC_EVENT_MAX = QuicEventType.MAX


class QuicStreamState(enum.IntEnum):
    """Stream states reported by ``QUIC_EVENT_STREAM_UPDATE`` (one shared enum)."""

    SEND_READY = 0
    SEND_SEND = 1
    SEND_SENT = 2
    SEND_RECVD = 3
    SEND_RESET_SENT = 4
    SEND_RESET_RECVD = 5
    RECV_RECV = 6
    RECV_SIZE_KNOWN = 7
    RECV_RECVD = 8
    RECV_READ = 9
    RECV_RESET_RECVD = 10
    RECV_RESET_READ = 11


QUIC_STREAM_SEND_STATE_READY = QuicStreamState.SEND_READY
QUIC_STREAM_SEND_STATE_SEND = QuicStreamState.SEND_SEND
QUIC_STREAM_SEND_STATE_SENT = QuicStreamState.SEND_SENT
QUIC_STREAM_SEND_STATE_RECVD = QuicStreamState.SEND_RECVD
QUIC_STREAM_SEND_STATE_RESET_SENT = QuicStreamState.SEND_RESET_SENT
QUIC_STREAM_SEND_STATE_RESET_RECVD = QuicStreamState.SEND_RESET_RECVD
QUIC_STREAM_RECV_STATE_RECV = QuicStreamState.RECV_RECV
QUIC_STREAM_RECV_STATE_SIZE_KNOWN = QuicStreamState.RECV_SIZE_KNOWN
QUIC_STREAM_RECV_STATE_RECVD = QuicStreamState.RECV_RECVD
QUIC_STREAM_RECV_STATE_READ = QuicStreamState.RECV_READ
QUIC_STREAM_RECV_STATE_RESET_RECVD = QuicStreamState.RECV_RESET_RECVD
QUIC_STREAM_RECV_STATE_RESET_READ = QuicStreamState.RECV_RESET_READ


class QuicTransportError(enum.IntEnum):
    """Transport error codes (RFC 9000 section 20.1), ``QUIC_TRANSPORT_ERROR_*``."""

    NONE = 0x00
    INTERNAL = 0x01
    CONNECTION_REFUSED = 0x02
    FLOW_CONTROL = 0x03
    STREAM_LIMIT = 0x04
    STREAM_STATE = 0x05
    FINAL_SIZE = 0x06
    FRAME_ENCODING = 0x07
    TRANSPORT_PARAM = 0x08
    CONNECTION_ID_LIMIT = 0x09
    PROTOCOL_VIOLATION = 0x0A
    INVALID_TOKEN = 0x0B
    APPLICATION = 0x0C
    CRYPTO_BUF_EXCEEDED = 0x0D
    KEY_UPDATE = 0x0E
    AEAD_LIMIT_REACHED = 0x0F
    NO_VIABLE_PATH = 0x10
    VERSION_NEGOTIATION = 0x11
    CRYPTO = 0x0100  # plus the TLS alert


for _err in QuicTransportError:
    globals()[f"QUIC_TRANSPORT_ERROR_{_err.name}"] = _err
    __all__.append(f"QUIC_TRANSPORT_ERROR_{_err.name}")
del _err


class _Struct(ctypes.Structure):
    """Native-layout struct with a readable repr."""

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name, *_ in self._fields_
            if not name.startswith("reserved")
        )
        return f"{type(self).__name__}({fields})"


class QuicHandshakeInfo(_Struct):
    """``struct quic_handshake_info``: the ``QUIC_HANDSHAKE_INFO`` cmsg payload."""

    _fields_ = [("crypto_level", ctypes.c_uint8)]


class QuicStreamInfo(_Struct):
    """``struct quic_stream_info``: the ``QUIC_STREAM_INFO`` cmsg payload."""

    _fields_ = [("stream_id", ctypes.c_int64), ("stream_flags", ctypes.c_uint32)]


class QuicErrinfo(_Struct):
    """``struct quic_errinfo``: STREAM_RESET / STREAM_STOP_SENDING value."""

    _fields_ = [("stream_id", ctypes.c_int64), ("errcode", ctypes.c_uint32)]


class QuicConnectionIdInfo(_Struct):
    """``struct quic_connection_id_info``."""

    _fields_ = [
        ("dest", ctypes.c_uint8),
        ("reserved", ctypes.c_uint8 * 3),
        ("active", ctypes.c_uint32),
        ("prior_to", ctypes.c_uint32),
    ]


class QuicEventOption(_Struct):
    """``struct quic_event_option``: QUIC_SOCKOPT_EVENT value."""

    _fields_ = [("type", ctypes.c_uint8), ("on", ctypes.c_uint8)]


class QuicCryptoSecret(_Struct):
    """``struct quic_crypto_secret``: QUIC_SOCKOPT_CRYPTO_SECRET value."""

    _fields_ = [
        ("send", ctypes.c_uint8),
        ("level", ctypes.c_uint8),
        ("reserved", ctypes.c_uint16),
        ("type", ctypes.c_uint32),
        ("secret", ctypes.c_uint8 * QUIC_CRYPTO_SECRET_BUFFER_SIZE),
    ]


class QuicTransportParam(_Struct):
    """``struct quic_transport_param``: QUIC_SOCKOPT_TRANSPORT_PARAM value."""

    _fields_ = [
        ("remote", ctypes.c_uint8),
        ("disable_active_migration", ctypes.c_uint8),
        ("grease_quic_bit", ctypes.c_uint8),
        ("stateless_reset", ctypes.c_uint8),
        ("disable_1rtt_encryption", ctypes.c_uint8),
        ("disable_compatible_version", ctypes.c_uint8),
        ("active_connection_id_limit", ctypes.c_uint8),
        ("ack_delay_exponent", ctypes.c_uint8),
        ("max_datagram_frame_size", ctypes.c_uint16),
        ("max_udp_payload_size", ctypes.c_uint16),
        ("max_idle_timeout", ctypes.c_uint32),
        ("max_ack_delay", ctypes.c_uint32),
        ("max_streams_bidi", ctypes.c_uint16),
        ("max_streams_uni", ctypes.c_uint16),
        ("max_data", ctypes.c_uint64),
        ("max_stream_data_bidi_local", ctypes.c_uint64),
        ("max_stream_data_bidi_remote", ctypes.c_uint64),
        ("max_stream_data_uni", ctypes.c_uint64),
    ]


class QuicConfig(_Struct):
    """``struct quic_config``: QUIC_SOCKOPT_CONFIG value."""

    _fields_ = [
        ("version", ctypes.c_uint32),
        ("plpmtud_probe_interval", ctypes.c_uint32),
        ("initial_smoothed_rtt", ctypes.c_uint32),
        ("payload_cipher_type", ctypes.c_uint32),
        ("congestion_control_algo", ctypes.c_uint8),
        ("validate_peer_address", ctypes.c_uint8),
        ("stream_data_nodelay", ctypes.c_uint8),
        ("receive_session_ticket", ctypes.c_uint8),
        ("certificate_request", ctypes.c_uint8),
        ("reserved", ctypes.c_uint8 * 3),
        ("keepalive_probe_interval", ctypes.c_uint32),
    ]


class QuicStreamUpdate(_Struct):
    """``struct quic_stream_update``: QUIC_EVENT_STREAM_UPDATE payload."""

    _fields_ = [
        ("id", ctypes.c_int64),
        ("state", ctypes.c_uint8),
        ("reserved", ctypes.c_uint8 * 3),
        ("errcode", ctypes.c_uint32),
        ("finalsz", ctypes.c_uint64),
    ]


class QuicStreamMaxData(_Struct):
    """``struct quic_stream_max_data``: QUIC_EVENT_STREAM_MAX_DATA payload."""

    _fields_ = [("id", ctypes.c_int64), ("max_data", ctypes.c_uint64)]


class QuicConnectionClose(_Struct):
    """``struct quic_connection_close``: CONNECTION_CLOSE sockopt and event."""

    _fields_ = [
        ("errcode", ctypes.c_uint32),
        ("frame", ctypes.c_uint8),
        ("reserved", ctypes.c_uint8 * 3),
        ("phrase", ctypes.c_uint8 * QUIC_CLOSE_PHRASE_BUFFER_SIZE),
    ]

    @property
    def phrase_text(self) -> str:
        """The NUL-terminated phrase, decoded as UTF-8 (invalid bytes replaced)."""
        raw = bytes(self.phrase)
        return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


class QuicEvent(ctypes.Union):
    """``union quic_event``."""

    _fields_ = [
        ("update", QuicStreamUpdate),
        ("max_data", QuicStreamMaxData),
        ("close", QuicConnectionClose),
        ("info", QuicConnectionIdInfo),
        ("max_stream", ctypes.c_uint64),
        ("local_migration", ctypes.c_uint8),
        ("key_update_phase", ctypes.c_uint8),
    ]


# C struct name -> mirror, for the ABI checks.
UAPI_STRUCTS: dict[str, type[ctypes.Structure] | type[ctypes.Union]] = {
    "quic_handshake_info": QuicHandshakeInfo,
    "quic_stream_info": QuicStreamInfo,
    "quic_errinfo": QuicErrinfo,
    "quic_connection_id_info": QuicConnectionIdInfo,
    "quic_event_option": QuicEventOption,
    "quic_crypto_secret": QuicCryptoSecret,
    "quic_transport_param": QuicTransportParam,
    "quic_config": QuicConfig,
    "quic_stream_update": QuicStreamUpdate,
    "quic_stream_max_data": QuicStreamMaxData,
    "quic_connection_close": QuicConnectionClose,
    "quic_event": QuicEvent,
}

# C enum name -> mirror, for the ABI checks.  The C member name is
# prefix + Python member name.
UAPI_ENUMS: dict[str, tuple[type[enum.IntEnum] | type[enum.IntFlag], str]] = {
    "quic_msg_flags": (QuicMsgFlag, "MSG_QUIC_"),
    "quic_crypto_level": (QuicCryptoLevel, "QUIC_CRYPTO_"),
    "quic_cmsg_type": (QuicCmsgType, "QUIC_"),
    "quic_cong_algo": (QuicCongAlgo, "QUIC_CONG_ALG_"),
    "quic_event_type": (QuicEventType, "QUIC_EVENT_"),
}

# Anonymous C enums and #defines, by C name.
UAPI_CONSTANTS: dict[str, int] = {
    "IPPROTO_QUIC": IPPROTO_QUIC,
    "SOL_QUIC": SOL_QUIC,
    "QUIC_VERSION_V1": QUIC_VERSION_V1,
    "QUIC_VERSION_V2": QUIC_VERSION_V2,
    "QUIC_STREAM_TYPE_SERVER_MASK": QUIC_STREAM_TYPE_SERVER_MASK,
    "QUIC_STREAM_TYPE_UNI_MASK": QUIC_STREAM_TYPE_UNI_MASK,
    "QUIC_STREAM_TYPE_MASK": QUIC_STREAM_TYPE_MASK,
    "QUIC_CRYPTO_SECRET_BUFFER_SIZE": QUIC_CRYPTO_SECRET_BUFFER_SIZE,
    "QUIC_CLOSE_PHRASE_BUFFER_SIZE": QUIC_CLOSE_PHRASE_BUFFER_SIZE,
    **{f"QUIC_SOCKOPT_{o.name}": int(o) for o in QuicSockopt},
    **{f"QUIC_STREAM_{s.name[:4]}_STATE_{s.name[5:]}": int(s) for s in QuicStreamState},
    **{f"QUIC_TRANSPORT_ERROR_{e.name}": int(e) for e in QuicTransportError},
}


def quic_socket(family: int = socket.AF_INET, type: int = socket.SOCK_STREAM) -> socket.socket:
    """Open a kernel QUIC socket (``socket(family, type, IPPROTO_QUIC)``).

    Raises :class:`OSError` with a hint when the kernel has no QUIC support.
    """
    try:
        return socket.socket(family, type, IPPROTO_QUIC)
    except OSError as exc:
        if exc.errno in (93, 94, 97):  # EPROTONOSUPPORT, ESOCKTNOSUPPORT, EAFNOSUPPORT
            raise OSError(
                exc.errno,
                f"{exc.strerror}: the kernel has no QUIC support; load the module "
                "with 'insmod kmod/quic.ko' (or 'modprobe quic')",
            ) from exc
        raise
