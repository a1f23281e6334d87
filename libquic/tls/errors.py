"""TLS alerts and the exception raised by the handshake engine.

Every protocol failure raises :class:`TLSError` carrying the TLS alert that the
peer should see.  QUIC does not send TLS alerts as records: RFC 9001 §4.8 maps
alert ``A`` to the QUIC transport error ``CRYPTO_ERROR + A`` (0x100 + A), which
is what :attr:`TLSError.quic_error_code` returns.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "CRYPTO_ERROR_BASE",
    "AlertDescription",
    "TLSError",
    "decode_error",
    "illegal_parameter",
    "unexpected_message",
]

CRYPTO_ERROR_BASE = 0x100


class AlertDescription(IntEnum):
    """TLS 1.3 alert descriptions (RFC 8446 §6 plus RFC 7301)."""

    close_notify = 0
    unexpected_message = 10
    bad_record_mac = 20
    record_overflow = 22
    handshake_failure = 40
    bad_certificate = 42
    unsupported_certificate = 43
    certificate_revoked = 44
    certificate_expired = 45
    certificate_unknown = 46
    illegal_parameter = 47
    unknown_ca = 48
    access_denied = 49
    decode_error = 50
    decrypt_error = 51
    protocol_version = 70
    insufficient_security = 71
    internal_error = 80
    inappropriate_fallback = 86
    user_canceled = 90
    missing_extension = 109
    unsupported_extension = 110
    unrecognized_name = 112
    bad_certificate_status_response = 113
    unknown_psk_identity = 115
    certificate_required = 116
    no_application_protocol = 120


class TLSError(Exception):
    """A fatal handshake error.

    ``alert`` is the TLS alert to report, ``message`` a human readable reason.
    """

    def __init__(self, alert: AlertDescription | int, message: str) -> None:
        try:
            self.alert: AlertDescription | int = AlertDescription(alert)
        except ValueError:
            self.alert = alert
        self.message = message
        super().__init__(f"{self.alert_name}: {message}")

    @property
    def alert_name(self) -> str:
        if isinstance(self.alert, AlertDescription):
            return self.alert.name
        return f"alert_{int(self.alert)}"

    @property
    def quic_error_code(self) -> int:
        """The QUIC CRYPTO_ERROR code (0x100 + alert) for CONNECTION_CLOSE."""
        return CRYPTO_ERROR_BASE + int(self.alert)


def decode_error(message: str) -> TLSError:
    return TLSError(AlertDescription.decode_error, message)


def illegal_parameter(message: str) -> TLSError:
    return TLSError(AlertDescription.illegal_parameter, message)


def unexpected_message(message: str) -> TLSError:
    return TLSError(AlertDescription.unexpected_message, message)
