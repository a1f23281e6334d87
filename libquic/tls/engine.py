"""A sans-I/O TLS 1.3 handshake engine for QUIC (RFC 8446 as used by RFC 9001).

The engine never touches a socket.  Feed it handshake bytes with
:meth:`TLSEngine.receive` (a client starts with :meth:`TLSEngine.start`); each
call returns the resulting :class:`Event` objects, in order:

* :class:`SendData` -- handshake bytes to send at a QUIC encryption level;
  one event per handshake message, so a driver can mark all but the last
  message of a flight with MSG_MORE;
* :class:`InstallSecret` -- a traffic secret for one level and direction;
  install it before sending data that follows it (the events of one call
  form one step: the kernel driver installs every secret of a step before
  it sends the step's flight, as the reference implementation does);
* :class:`HandshakeComplete` -- the handshake finished successfully;
* :class:`SessionTicketReceived` -- (client) a NewSessionTicket was
  processed; it carries :class:`~libquic.tls.tickets.SessionData`.

QUIC specifics: no middlebox compatibility mode (empty legacy_session_id, no
ChangeCipherSpec), no EndOfEarlyData, KeyUpdate messages are rejected, the
quic_transport_parameters extension (0x39) is mandatory and treated as opaque
bytes, ALPN is mandatory when configured, and early data is advertised with
max_early_data_size 0xffffffff.

Server key secrets are released in the order the kernel needs: the server's
APP receive secret is only handed out after the client's Finished has been
verified, since installing both APP secrets marks the connection established.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets as _secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum, IntEnum

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from . import certs as _certs
from .certs import DEFAULT_SIGNATURE_SCHEMES, PrivateKey
from .ciphers import DEFAULT_SUITES, SUITES, CipherSuite, SuiteInfo, suite_info
from .errors import (
    AlertDescription,
    TLSError,
    decode_error,
    illegal_parameter,
    unexpected_message,
)
from .groups import (
    DEFAULT_GROUPS,
    DEFAULT_KEY_SHARE_GROUPS,
    SUPPORTED_GROUPS,
    Group,
    KeyShare,
    server_key_exchange,
)
from .keylog import KeyLogCallback
from .keyschedule import KeySchedule, exporter, transcript_hash, wipe
from .messages import (
    HRR_RANDOM,
    TLS_VERSION_1_2,
    TLS_VERSION_1_3,
    Certificate,
    CertificateEntry,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    EncryptedExtensions,
    ExtensionType,
    Finished,
    HandshakeType,
    NewSessionTicket,
    PskIdentity,
    PskKeyExchangeMode,
    ServerHello,
    decode_alpn,
    decode_key_share_ch,
    decode_key_share_sh,
    decode_pre_shared_key_ch,
    decode_psk_modes,
    decode_server_name,
    decode_supported_versions_ch,
    decode_u16,
    decode_u16_list,
    encode_alpn,
    encode_key_share_ch,
    encode_key_share_sh,
    encode_pre_shared_key_ch,
    encode_psk_modes,
    encode_server_name,
    encode_supported_versions_ch,
    encode_u16_list,
    encode_u32,
    frame,
    split_message,
)
from .psk import ExternalPSK, PskLookup
from .tickets import (
    DEFAULT_REPLAY_REGISTER,
    MAX_TICKET_LIFETIME,
    QUIC_MAX_EARLY_DATA,
    ReplayRegister,
    SessionData,
    TicketKey,
    TicketState,
    now_ms,
)

__all__ = [
    "ClientAuth",
    "Direction",
    "Event",
    "HandshakeComplete",
    "InstallSecret",
    "Level",
    "SendData",
    "SessionTicketReceived",
    "State",
    "TLSConfig",
    "TLSEngine",
    "TransportParameters",
]


class Level(Enum):
    """The encryption level handshake data and secrets belong to (RFC 9001 4).

    The engine knows no kernel numbers: ``libquic.handshake`` maps these to
    the UAPI's ``enum quic_crypto_level``.
    """

    INITIAL = "initial"
    EARLY = "early"
    HANDSHAKE = "handshake"
    APP = "app"


class Direction(Enum):
    """Whether a secret protects what we send or what we receive."""

    SEND = "send"
    RECV = "recv"


class ClientAuth(IntEnum):
    """Server policy for client certificates (as quic_config.certificate_request)."""

    NONE = 0
    REQUEST = 1
    REQUIRE = 2


@dataclass
class TLSConfig:
    """Configuration of one handshake.  See Documentation/tls.rst."""

    is_client: bool
    alpn_protocols: Sequence[str | bytes] = ()
    server_name: str | None = None
    transport_parameters: bytes = b""
    # server: its parameters computed from the client's (called once, as
    # the ClientHello is accepted, before anything is sent); overrides
    # transport_parameters.  A QUIC stack that negotiates the version from
    # the client's version_information (RFC 9368) needs this.
    transport_parameters_for: Callable[[bytes], bytes] | None = None
    # certificate mode
    certificate_chain: Sequence[x509.Certificate] = ()
    private_key: PrivateKey | None = None
    verify: bool = True
    cafile: str | None = None
    cadata: bytes | None = None
    client_auth: ClientAuth = ClientAuth.NONE
    # external PSKs: the client offers the first, the server looks identities up
    psks: Sequence[ExternalPSK] = ()
    # server: asked for the key of an offered identity that is not in psks
    # (and not a ticket), in the client's order until one is found
    psk_lookup: PskLookup | None = None
    # resumption
    session: SessionData | None = None
    ticket_key: bytes | None = None
    ticket_lifetime: int = 86400
    send_session_ticket: bool = True
    early_data: bool = False
    max_early_data_size: int = QUIC_MAX_EARLY_DATA
    replay_register: ReplayRegister = field(default_factory=lambda: DEFAULT_REPLAY_REGISTER)
    # algorithms, in preference order
    cipher_suites: Sequence[int] = DEFAULT_SUITES
    groups: Sequence[int] = DEFAULT_GROUPS
    key_share_groups: Sequence[int] = DEFAULT_KEY_SHARE_GROUPS
    signature_schemes: Sequence[int] = DEFAULT_SIGNATURE_SCHEMES
    keylog: KeyLogCallback | None = None


# ---------------------------------------------------------------------------
# events

@dataclass
class Event:
    pass


@dataclass
class SendData(Event):
    level: Level
    data: bytes


@dataclass
class InstallSecret(Event):
    level: Level
    direction: Direction
    suite: CipherSuite
    secret: bytearray = field(repr=False)

    def wipe(self) -> None:
        wipe(self.secret)


@dataclass
class TransportParameters(Event):
    """The peer's quic_transport_parameters extension body (opaque)."""

    data: bytes


@dataclass
class HandshakeComplete(Event):
    alpn: str | None
    session_resumed: bool
    early_data_accepted: bool


@dataclass
class SessionTicketReceived(Event):
    session: SessionData


class State(Enum):
    START = "start"
    CLIENT_WAIT_SH = "client wait ServerHello"
    CLIENT_WAIT_EE = "client wait EncryptedExtensions"
    CLIENT_WAIT_CERT_CR = "client wait Certificate or CertificateRequest"
    CLIENT_WAIT_CERT = "client wait Certificate"
    CLIENT_WAIT_CV = "client wait CertificateVerify"
    CLIENT_WAIT_FINISHED = "client wait Finished"
    SERVER_WAIT_CH = "server wait ClientHello"
    SERVER_WAIT_CH2 = "server wait second ClientHello"
    SERVER_WAIT_CERT = "server wait client Certificate"
    SERVER_WAIT_CV = "server wait client CertificateVerify"
    SERVER_WAIT_FINISHED = "server wait client Finished"
    CONNECTED = "connected"
    FAILED = "failed"


_STATE_LEVEL = {
    State.CLIENT_WAIT_SH: Level.INITIAL,
    State.SERVER_WAIT_CH: Level.INITIAL,
    State.SERVER_WAIT_CH2: Level.INITIAL,
    State.CONNECTED: Level.APP,
}

# Extensions a server may put into EncryptedExtensions (when the client offered them).
_EE_ALLOWED = {
    ExtensionType.server_name, ExtensionType.supported_groups,
    ExtensionType.application_layer_protocol_negotiation, ExtensionType.early_data,
    ExtensionType.quic_transport_parameters,
}
_EE_FORBIDDEN = {
    ExtensionType.key_share, ExtensionType.supported_versions, ExtensionType.pre_shared_key,
    ExtensionType.psk_key_exchange_modes, ExtensionType.signature_algorithms,
    ExtensionType.cookie, ExtensionType.certificate_authorities,
    ExtensionType.signature_algorithms_cert,
}


def _b(p: str | bytes) -> bytes:
    return p.encode() if isinstance(p, str) else bytes(p)


def _message_hash(hash_name: str, ch1: bytes) -> bytes:
    return frame(HandshakeType.message_hash, transcript_hash(hash_name, ch1))


@dataclass
class _PskOffer:
    """A PSK the client offers (or the server selected)."""

    psk: bytearray
    suite: SuiteInfo  # the hash to use (and for tickets, the original suite)
    identity: bytes
    obfuscated_age: int
    external: bool
    session: SessionData | None = None


class TLSEngine:
    """One TLS 1.3 handshake over QUIC, client or server side."""

    def __init__(self, config: TLSConfig) -> None:
        self.config = config
        self.is_client = config.is_client
        self.state = State.START if config.is_client else State.SERVER_WAIT_CH
        self._alpns = [_b(p) for p in config.alpn_protocols]
        self._suites = [s for s in config.cipher_suites if s in (0x1301, 0x1302, 0x1303)]
        self._groups = [g for g in config.groups if g in SUPPORTED_GROUPS]
        self._sig_schemes = list(config.signature_schemes)
        if not self._suites:
            raise ValueError("no usable cipher suite configured")
        if not self._groups:
            raise ValueError("no usable group configured")
        if not config.is_client and not config.psks and config.psk_lookup is None and not (
                config.certificate_chain and config.private_key):
            raise ValueError("a server needs a certificate and key, or PSKs")
        if config.certificate_chain and config.private_key is None:
            raise ValueError("certificate_chain given without private_key")
        self._ticket_key = TicketKey(config.ticket_key) if config.ticket_key else None

        self._rx: dict[Level, bytearray] = {lv: bytearray() for lv in Level}
        self._transcript = bytearray()
        self._suite: SuiteInfo | None = None
        self._ks: KeySchedule | None = None
        self._client_random = b""
        self._shares: dict[int, KeyShare] = {}
        self._ch: ClientHello | None = None
        self._ch1_raw = b""
        self._hrr = False
        self._psk: _PskOffer | None = None
        self._psk_accepted = False
        self._c_hs: bytearray | None = None
        self._s_hs: bytearray | None = None
        self._c_ap: bytearray | None = None
        self._s_ap: bytearray | None = None
        self._exp_master: bytearray | None = None
        self._res_master: bytearray | None = None
        self._cert_request: CertificateRequest | None = None
        self._peer_sig_schemes: list[int] = []
        self._early_offered = False
        self._ticket_nonce = 0
        self._client_psk_dhe = False

        # results
        self.alpn: str | None = None
        self.server_name: str | None = None
        self.peer_transport_parameters: bytes | None = None
        self.peer_certificates: list[x509.Certificate] = []
        self.group: Group | None = None
        self.session_resumed = False
        self.early_data_accepted = False
        self.session_data: SessionData | None = None
        self.psk_identity: bytes | None = None

    # -- public API -----------------------------------------------------------
    @property
    def handshake_complete(self) -> bool:
        return self.state == State.CONNECTED

    @property
    def cipher_suite(self) -> CipherSuite | None:
        return self._suite.suite if self._suite else None

    @property
    def early_data_offered(self) -> bool:
        return self._early_offered

    def start(self) -> list[Event]:
        """Client: produce the ClientHello (and the 0-RTT secret if offered)."""
        if not self.is_client:
            return []
        if self.state != State.START:
            raise RuntimeError("handshake already started")
        events: list[Event] = []
        try:
            self._client_start(events)
        except TLSError:
            self.state = State.FAILED
            raise
        return events

    def receive(self, level: Level, data: bytes) -> list[Event]:
        """Consume handshake bytes received at ``level``; returns new events."""
        if self.state == State.FAILED:
            raise TLSError(AlertDescription.internal_error, "the handshake already failed")
        if not isinstance(level, Level):
            raise TLSError(AlertDescription.internal_error,
                           f"bad level {level!r}: pass a libquic.tls.Level")
        lvl = level
        events: list[Event] = []
        try:
            if lvl == Level.EARLY:
                raise unexpected_message("no handshake data is sent at the 0-RTT level")
            buf = self._rx[lvl]
            buf += data
            while True:
                msg = split_message(buf)
                if msg is None:
                    break
                mtype, body, whole = msg
                expected = self._expected_level()
                if lvl != expected:
                    raise unexpected_message(
                        f"handshake message type {mtype} at level {lvl.name}, expected "
                        f"level {expected.name} in state '{self.state.value}'")
                self._dispatch(mtype, body, whole, events)
            if buf and lvl != self._expected_level():
                raise unexpected_message(
                    f"partial handshake message left at level {lvl.name} after a key change")
        except TLSError:
            self.state = State.FAILED
            raise
        except Exception as exc:
            # Peer input must never escape as anything but an alert.
            self.state = State.FAILED
            alert = (AlertDescription.decode_error if isinstance(exc, ValueError)
                     else AlertDescription.internal_error)
            raise TLSError(alert, f"cannot process peer data: {exc!r}") from exc
        return events

    def send_session_ticket(self) -> list[Event]:
        """Server: issue a NewSessionTicket (needs a ticket key); at level APP."""
        if self.is_client or self.state != State.CONNECTED:
            raise RuntimeError("only a connected server can send session tickets")
        if self._ticket_key is None:
            raise RuntimeError("no session ticket key configured")
        return [SendData(Level.APP, self._make_ticket())]

    def export_keying_material(self, label: bytes, context: bytes, length: int) -> bytes:
        if self._exp_master is None or self._suite is None:
            raise RuntimeError("keying material is available once the handshake completed")
        return exporter(self._suite.hash_name, self._exp_master, label, context, length)

    def close(self) -> None:
        """Wipe all remaining secrets."""
        for s in (self._c_hs, self._s_hs, self._c_ap, self._s_ap, self._exp_master,
                  self._res_master):
            wipe(s)
        if self._ks:
            self._ks.wipe()
        if self._psk:
            wipe(self._psk.psk)

    # -- helpers --------------------------------------------------------------
    def _expected_level(self) -> Level:
        return _STATE_LEVEL.get(self.state, Level.HANDSHAKE)

    def _thash(self) -> bytes:
        assert self._suite is not None
        return transcript_hash(self._suite.hash_name, self._transcript)

    def _keylog(self, label: str, secret: bytes | bytearray) -> None:
        if self.config.keylog is not None:
            self.config.keylog(label, self._client_random, bytes(secret))

    def _install(self, events: list[Event], level: Level, direction: Direction,
                 secret: bytearray, suite: SuiteInfo | None = None) -> None:
        suite = suite or self._suite
        assert suite is not None
        events.append(InstallSecret(level, direction, suite.suite, bytearray(secret)))

    def _dispatch(self, mtype: int, body: bytes, whole: bytes, events: list[Event]) -> None:
        st = self.state
        if mtype == HandshakeType.key_update:
            raise unexpected_message("KeyUpdate messages are not used in QUIC (RFC 9001 §6)")
        if mtype == HandshakeType.end_of_early_data:
            raise unexpected_message("EndOfEarlyData is not used in QUIC (RFC 9001 §8.3)")
        if self.is_client:
            if st == State.CLIENT_WAIT_SH and mtype == HandshakeType.server_hello:
                return self._client_server_hello(body, whole, events)
            if st == State.CLIENT_WAIT_EE and mtype == HandshakeType.encrypted_extensions:
                return self._client_ee(body, whole, events)
            if st == State.CLIENT_WAIT_CERT_CR and mtype == HandshakeType.certificate_request:
                return self._client_cr(body, whole)
            if st in (State.CLIENT_WAIT_CERT_CR, State.CLIENT_WAIT_CERT) and \
                    mtype == HandshakeType.certificate:
                return self._client_certificate(body, whole)
            if st == State.CLIENT_WAIT_CV and mtype == HandshakeType.certificate_verify:
                return self._client_cv(body, whole)
            if st == State.CLIENT_WAIT_FINISHED and mtype == HandshakeType.finished:
                return self._client_finished(body, whole, events)
            if st == State.CONNECTED and mtype == HandshakeType.new_session_ticket:
                return self._client_nst(body, events)
        else:
            if st in (State.SERVER_WAIT_CH, State.SERVER_WAIT_CH2) and \
                    mtype == HandshakeType.client_hello:
                return self._server_client_hello(body, whole, events)
            if st == State.SERVER_WAIT_CERT and mtype == HandshakeType.certificate:
                return self._server_certificate(body, whole)
            if st == State.SERVER_WAIT_CV and mtype == HandshakeType.certificate_verify:
                return self._server_cv(body, whole)
            if st == State.SERVER_WAIT_FINISHED and mtype == HandshakeType.finished:
                return self._server_finished(body, whole, events)
        try:
            name = HandshakeType(mtype).name
        except ValueError:
            name = f"type {mtype}"
        raise unexpected_message(f"unexpected handshake message {name} in state "
                                 f"'{st.value}'")

    # =========================================================================
    # client

    def _client_psk_offer(self) -> _PskOffer | None:
        cfg = self.config
        s = cfg.session
        same_server = s is not None and (not s.server_name or not cfg.server_name
                                          or s.server_name == cfg.server_name)
        if s is not None and same_server and s.suite in SUITES and not s.is_expired():
            info = suite_info(s.suite)
            if any(suite_info(x).hash_name == info.hash_name for x in self._suites):
                return _PskOffer(bytearray(s.psk), info, s.ticket, s.obfuscated_age(),
                                 external=False, session=s)
        if cfg.psks:
            p = cfg.psks[0]
            sha256 = [x for x in self._suites if suite_info(x).hash_name == "sha256"]
            if not sha256:
                raise ValueError("external PSKs need a SHA-256 cipher suite")
            return _PskOffer(bytearray(p.key), suite_info(sha256[0]), p.identity, 0,
                             external=True)
        return None

    def _client_start(self, events: list[Event]) -> None:
        cfg = self.config
        self._client_random = os.urandom(32)
        for g in cfg.key_share_groups:
            if g in self._groups and g not in self._shares:
                self._shares[g] = KeyShare(g)
        if not self._shares:
            self._shares[self._groups[0]] = KeyShare(self._groups[0])
        self._psk = self._client_psk_offer()
        s = self._psk.session if self._psk else None
        if (s is not None and cfg.early_data and s.max_early_data > 0
                and (not s.alpn or s.alpn in self._alpns)):
            self._early_offered = True
        raw = self._build_client_hello(events_prefix=b"")
        self._ch1_raw = raw
        self._transcript += raw
        events.append(SendData(Level.INITIAL, raw))
        if self._early_offered:
            assert self._psk is not None
            ks = KeySchedule(self._psk.suite)
            ks.early(self._psk.psk)
            secret = ks.client_early_traffic_secret(
                transcript_hash(self._psk.suite.hash_name, raw))
            self._keylog("CLIENT_EARLY_TRAFFIC_SECRET", secret)
            self._install(events, Level.EARLY, Direction.SEND, secret, self._psk.suite)
            wipe(secret)
            ks.wipe()
        self.state = State.CLIENT_WAIT_SH

    def _build_client_hello(self, events_prefix: bytes, cookie: bytes | None = None) -> bytes:
        cfg = self.config
        exts: dict[int, bytes] = {}
        host = cfg.server_name
        if host:
            try:
                ipaddress.ip_address(host)
            except ValueError:
                exts[ExtensionType.server_name] = encode_server_name(host)
        exts[ExtensionType.supported_groups] = encode_u16_list(self._groups)
        exts[ExtensionType.signature_algorithms] = encode_u16_list(self._sig_schemes)
        exts[ExtensionType.supported_versions] = encode_supported_versions_ch([TLS_VERSION_1_3])
        exts[ExtensionType.key_share] = encode_key_share_ch(
            [(g, ks.public) for g, ks in self._shares.items()])
        if self._alpns:
            exts[ExtensionType.application_layer_protocol_negotiation] = encode_alpn(self._alpns)
        exts[ExtensionType.quic_transport_parameters] = cfg.transport_parameters
        if cookie is not None:
            exts[ExtensionType.cookie] = cookie
        # always sent: servers issue tickets only to clients that list a mode
        exts[ExtensionType.psk_key_exchange_modes] = encode_psk_modes(
            [PskKeyExchangeMode.psk_dhe_ke])
        psk = self._psk
        if psk is not None:
            if self._early_offered and not self._hrr:
                exts[ExtensionType.early_data] = b""
            hlen = psk.suite.hash_len
            exts[ExtensionType.pre_shared_key] = encode_pre_shared_key_ch(
                [PskIdentity(psk.identity, psk.obfuscated_age)], [bytes(hlen)])
        ch = ClientHello(random=self._client_random, cipher_suites=list(self._suites),
                         extensions=exts)
        self._ch = ch
        raw = ch.encode()
        if psk is not None:
            blen = 2 + 1 + psk.suite.hash_len
            truncated = raw[:-blen]
            ks = KeySchedule(psk.suite)
            ks.early(psk.psk)
            bkey = ks.binder_key(psk.external)
            thash = transcript_hash(psk.suite.hash_name, events_prefix + truncated)
            binder = ks.finished_verify_data(bkey, thash)
            wipe(bkey)
            ks.wipe()
            raw = truncated + (1 + len(binder)).to_bytes(2, "big") + bytes([len(binder)]) \
                + binder
        return raw

    def _client_server_hello(self, body: bytes, whole: bytes, events: list[Event]) -> None:
        sh = ServerHello.decode(body)
        assert self._ch is not None
        if sh.legacy_version != TLS_VERSION_1_2:
            raise TLSError(AlertDescription.protocol_version,
                           f"ServerHello legacy_version 0x{sh.legacy_version:04x}")
        sv = sh.extensions.get(ExtensionType.supported_versions)
        if sv is None:
            raise TLSError(AlertDescription.protocol_version,
                           "server did not negotiate TLS 1.3 (no supported_versions)")
        if decode_u16(sv, "supported_versions") != TLS_VERSION_1_3:
            raise illegal_parameter("server selected a version other than TLS 1.3")
        if sh.legacy_session_id != self._ch.legacy_session_id:
            raise illegal_parameter("ServerHello legacy_session_id_echo mismatch")
        if sh.cipher_suite not in self._suites:
            raise illegal_parameter(f"server selected cipher suite 0x{sh.cipher_suite:04x} "
                                    "that we did not offer")
        if sh.compression_method != 0:
            raise illegal_parameter("ServerHello compression method is not null")
        if sh.is_hrr:
            return self._client_hrr(sh, whole, events)
        allowed = {ExtensionType.supported_versions, ExtensionType.key_share,
                   ExtensionType.pre_shared_key}
        for ext in sh.extensions:
            if ext not in allowed:
                raise TLSError(AlertDescription.unsupported_extension,
                               f"ServerHello carries unexpected extension {ext}")
        suite = suite_info(sh.cipher_suite)
        if self._hrr and self._suite is not None and suite.suite != self._suite.suite:
            raise illegal_parameter("ServerHello cipher suite differs from the "
                                    "HelloRetryRequest's")
        self._suite = suite
        # PSK
        psk_body = sh.extensions.get(ExtensionType.pre_shared_key)
        if psk_body is not None:
            if self._psk is None:
                raise TLSError(AlertDescription.unsupported_extension,
                               "server selected a PSK that we did not offer")
            if decode_u16(psk_body, "pre_shared_key") != 0:
                raise illegal_parameter("server selected an unknown PSK identity")
            if self._psk.suite.hash_name != suite.hash_name:
                raise illegal_parameter("selected cipher suite does not match the PSK hash")
            self._psk_accepted = True
            self.session_resumed = not self._psk.external
            self.psk_identity = self._psk.identity
        ks_body = sh.extensions.get(ExtensionType.key_share)
        if ks_body is None:
            raise TLSError(AlertDescription.missing_extension,
                           "ServerHello has no key_share (psk_ke is not supported)")
        group, share = decode_key_share_sh(ks_body)
        if group not in self._shares:
            raise illegal_parameter(f"server key share for group 0x{group:04x} "
                                    "that we did not send")
        shared = self._shares[group].shared_secret(share)
        self.group = Group(group)
        self._shares.clear()
        self._transcript += whole
        self._handshake_keys(suite, self._psk.psk if self._psk_accepted and self._psk else None,
                             shared, events)
        self.state = State.CLIENT_WAIT_EE

    def _client_hrr(self, sh: ServerHello, whole: bytes, events: list[Event]) -> None:
        if self._hrr:
            raise unexpected_message("second HelloRetryRequest")
        self._hrr = True
        allowed = {ExtensionType.supported_versions, ExtensionType.key_share,
                   ExtensionType.cookie}
        for ext in sh.extensions:
            if ext not in allowed:
                raise TLSError(AlertDescription.unsupported_extension,
                               f"HelloRetryRequest carries unexpected extension {ext}")
        suite = suite_info(sh.cipher_suite)
        self._suite = suite
        cookie = sh.extensions.get(ExtensionType.cookie)
        ks_body = sh.extensions.get(ExtensionType.key_share)
        if ks_body is None and cookie is None:
            raise illegal_parameter("HelloRetryRequest would not change the ClientHello")
        if ks_body is not None:
            group = decode_u16(ks_body, "key_share")
            if group not in self._groups:
                raise illegal_parameter(f"HelloRetryRequest selected group 0x{group:04x} "
                                        "that we did not offer")
            if group in self._shares:
                raise illegal_parameter("HelloRetryRequest selected a group we already "
                                        "sent a share for")
            self._shares = {group: KeyShare(group)}
        # transcript: message_hash(CH1) || HRR
        prefix = _message_hash(suite.hash_name, self._ch1_raw) + whole
        self._transcript = bytearray(prefix)
        self._early_offered = False
        if self._psk is not None and self._psk.suite.hash_name != suite.hash_name:
            self._psk = None
        elif self._psk is not None and self._psk.session is not None:
            self._psk.obfuscated_age = self._psk.session.obfuscated_age()
        raw = self._build_client_hello(events_prefix=prefix, cookie=cookie)
        self._transcript += raw
        events.append(SendData(Level.INITIAL, raw))

    def _client_ee(self, body: bytes, whole: bytes, events: list[Event]) -> None:
        ee = EncryptedExtensions.decode(body)
        assert self._ch is not None
        for ext in ee.extensions:
            if ext in _EE_FORBIDDEN:
                raise illegal_parameter(f"extension {ext} is not allowed in "
                                        "EncryptedExtensions")
            if ext not in _EE_ALLOWED or ext not in self._ch.extensions:
                raise TLSError(AlertDescription.unsupported_extension,
                               f"EncryptedExtensions carries unsolicited extension {ext}")
        alpn_body = ee.extensions.get(ExtensionType.application_layer_protocol_negotiation)
        if alpn_body is not None:
            names = decode_alpn(alpn_body)
            if len(names) != 1 or names[0] not in self._alpns:
                raise illegal_parameter(f"server selected ALPN {names!r} not in our list")
            self.alpn = names[0].decode(errors="replace")
        elif self._alpns:
            raise TLSError(AlertDescription.no_application_protocol,
                           "server did not select an application protocol (ALPN)")
        tp = ee.extensions.get(ExtensionType.quic_transport_parameters)
        if tp is None:
            raise TLSError(AlertDescription.missing_extension,
                           "server sent no QUIC transport parameters")
        self.peer_transport_parameters = tp
        events.append(TransportParameters(tp))
        ed = ee.extensions.get(ExtensionType.early_data)
        if ed is not None:
            if ed:
                raise decode_error("EncryptedExtensions early_data must be empty")
            if not self._early_offered or not self._psk_accepted:
                raise illegal_parameter("server accepted early data we did not send")
            self.early_data_accepted = True
        self._transcript += whole
        self.state = State.CLIENT_WAIT_FINISHED if self._psk_accepted else \
            State.CLIENT_WAIT_CERT_CR

    def _client_cr(self, body: bytes, whole: bytes) -> None:
        cr = CertificateRequest.decode(body)
        if cr.request_context:
            raise illegal_parameter("CertificateRequest context must be empty in the handshake")
        self._peer_sig_schemes = decode_u16_list(
            cr.extensions[ExtensionType.signature_algorithms], "signature_algorithms")
        self._cert_request = cr
        self._transcript += whole
        self.state = State.CLIENT_WAIT_CERT

    def _parse_certificate(self, body: bytes, server: bool) -> list[x509.Certificate]:
        cert = Certificate.decode(body)
        if cert.request_context:
            raise illegal_parameter("Certificate request context must be empty")
        chain = []
        for e in cert.entries:
            try:
                chain.append(x509.load_der_x509_certificate(e.cert_data))
            except ValueError as exc:
                raise TLSError(AlertDescription.bad_certificate,
                               f"cannot parse certificate: {exc}") from None
        if not chain and server:
            raise decode_error("server sent an empty Certificate message")
        return chain

    def _client_certificate(self, body: bytes, whole: bytes) -> None:
        chain = self._parse_certificate(body, server=True)
        cfg = self.config
        if cfg.verify:
            _certs.verify_chain(chain, server=True, hostname=cfg.server_name,
                                cafile=cfg.cafile, cadata=cfg.cadata)
        self.peer_certificates = chain
        self._transcript += whole
        self.state = State.CLIENT_WAIT_CV

    def _handshake_keys(self, suite: SuiteInfo, psk: bytes | bytearray | None,
                        shared: bytearray, events: list[Event]) -> KeySchedule:
        """Run the key schedule up to the handshake secrets (the transcript
        ends with ServerHello), wipe the (EC)DHE secret and install the
        HANDSHAKE keys: our secret for sending, the peer's for receiving."""
        ks = KeySchedule(suite)
        ks.early(psk)
        ks.handshake(shared)
        wipe(shared)
        self._ks = ks
        thash = self._thash()
        self._c_hs = ks.client_handshake_traffic_secret(thash)
        self._s_hs = ks.server_handshake_traffic_secret(thash)
        self._keylog("CLIENT_HANDSHAKE_TRAFFIC_SECRET", self._c_hs)
        self._keylog("SERVER_HANDSHAKE_TRAFFIC_SECRET", self._s_hs)
        ours, theirs = ((self._c_hs, self._s_hs) if self.is_client
                        else (self._s_hs, self._c_hs))
        self._install(events, Level.HANDSHAKE, Direction.SEND, ours)
        self._install(events, Level.HANDSHAKE, Direction.RECV, theirs)
        return ks

    def _peer_cv(self, body: bytes, whole: bytes, context: bytes, next_state: State) -> None:
        """Check the peer's CertificateVerify over the transcript so far."""
        cv = CertificateVerify.decode(body)
        content = _certs.verify_content(context, self._thash())
        _certs.verify_signature(self.peer_certificates[0], cv.algorithm, cv.signature,
                                content, self._sig_schemes)
        self._transcript += whole
        self.state = next_state

    def _client_cv(self, body: bytes, whole: bytes) -> None:
        self._peer_cv(body, whole, _certs.SERVER_CONTEXT, State.CLIENT_WAIT_FINISHED)

    def _client_finished(self, body: bytes, whole: bytes, events: list[Event]) -> None:
        ks = self._ks
        assert ks is not None and self._s_hs is not None and self._c_hs is not None
        expected = ks.finished_verify_data(self._s_hs, self._thash())
        if not hmac.compare_digest(expected, Finished.decode(body).verify_data):
            raise TLSError(AlertDescription.decrypt_error, "server Finished does not verify")
        self._transcript += whole
        ks.master()
        thash = self._thash()
        self._c_ap = ks.client_application_traffic_secret(thash)
        self._s_ap = ks.server_application_traffic_secret(thash)
        self._exp_master = ks.exporter_master_secret(thash)
        self._keylog("CLIENT_TRAFFIC_SECRET_0", self._c_ap)
        self._keylog("SERVER_TRAFFIC_SECRET_0", self._s_ap)
        self._keylog("EXPORTER_SECRET", self._exp_master)
        # our flight
        if self._cert_request is not None:
            chain = list(self.config.certificate_chain)
            key = self.config.private_key
            cmsg = Certificate(b"", [CertificateEntry(c.public_bytes(Encoding.DER)) for c in chain])
            raw = cmsg.encode()
            self._transcript += raw
            events.append(SendData(Level.HANDSHAKE, raw))
            if chain and key is not None:
                scheme = _certs.choose_scheme(chain[0], self._peer_sig_schemes,
                                              self._sig_schemes)
                content = _certs.verify_content(_certs.CLIENT_CONTEXT, self._thash())
                raw = CertificateVerify(scheme, _certs.sign(key, scheme, content)).encode()
                self._transcript += raw
                events.append(SendData(Level.HANDSHAKE, raw))
        fin = Finished(ks.finished_verify_data(self._c_hs, self._thash())).encode()
        self._transcript += fin
        events.append(SendData(Level.HANDSHAKE, fin))
        self._install(events, Level.APP, Direction.SEND, self._c_ap)
        self._install(events, Level.APP, Direction.RECV, self._s_ap)
        self._res_master = ks.resumption_master_secret(self._thash())
        self._complete(events)

    def _client_nst(self, body: bytes, events: list[Event]) -> None:
        nst = NewSessionTicket.decode(body)
        if nst.ticket_lifetime > MAX_TICKET_LIFETIME:
            raise illegal_parameter("NewSessionTicket lifetime exceeds 7 days")
        for ext in nst.extensions:
            if ext != ExtensionType.early_data and ext in ExtensionType._value2member_map_:
                raise illegal_parameter(f"extension {ext} is not allowed in NewSessionTicket")
        ks = self._ks
        assert ks is not None and self._res_master is not None and self._suite is not None
        psk = ks.resumption_psk(self._res_master, nst.ticket_nonce)
        session = SessionData(
            suite=self._suite.suite, psk=bytes(psk), ticket=nst.ticket,
            lifetime=nst.ticket_lifetime, age_add=nst.ticket_age_add,
            max_early_data=nst.max_early_data_size, received_ms=now_ms(),
            alpn=(self.alpn or "").encode(), server_name=self.config.server_name or "",
            peer_transport_parameters=self.peer_transport_parameters or b"")
        wipe(psk)
        self.session_data = session
        events.append(SessionTicketReceived(session))

    # =========================================================================
    # server

    def _server_client_hello(self, body: bytes, whole: bytes, events: list[Event]) -> None:
        cfg = self.config
        ch = ClientHello.decode(body)
        second = self.state == State.SERVER_WAIT_CH2
        exts = ch.extensions
        sv = exts.get(ExtensionType.supported_versions)
        if sv is None or TLS_VERSION_1_3 not in decode_supported_versions_ch(sv):
            raise TLSError(AlertDescription.protocol_version, "client does not offer TLS 1.3")
        if ch.legacy_version != TLS_VERSION_1_2:
            raise TLSError(AlertDescription.protocol_version,
                           f"ClientHello legacy_version 0x{ch.legacy_version:04x}")
        if ch.legacy_compression_methods != b"\x00":
            raise illegal_parameter("ClientHello compression methods must be [null]")
        if ch.legacy_session_id:
            raise illegal_parameter("non-empty legacy_session_id (middlebox compatibility "
                                    "mode is not used with QUIC, RFC 9001 §8.4)")
        tp = exts.get(ExtensionType.quic_transport_parameters)
        if tp is None:
            raise TLSError(AlertDescription.missing_extension,
                           "client sent no QUIC transport parameters")
        if second:
            assert self._ch is not None and self._suite is not None
            if ch.random != self._ch.random:
                raise illegal_parameter("second ClientHello changed the random")
            if ExtensionType.early_data in exts:
                raise illegal_parameter("early_data after HelloRetryRequest")
        self._client_random = ch.random
        self.peer_transport_parameters = tp
        sni = exts.get(ExtensionType.server_name)
        self.server_name = decode_server_name(sni) if sni is not None else None

        # ALPN: client preference order, mandatory when configured
        alpn: bytes | None = None
        alpn_body = exts.get(ExtensionType.application_layer_protocol_negotiation)
        client_alpns = decode_alpn(alpn_body) if alpn_body is not None else []
        if self._alpns:
            for p in client_alpns:
                if p in self._alpns:
                    alpn = p
                    break
            if alpn is None:
                raise TLSError(AlertDescription.no_application_protocol,
                               f"no common application protocol: client offers "
                               f"{client_alpns!r}, server supports {self._alpns!r}")

        groups_body = exts.get(ExtensionType.supported_groups)
        ks_body = exts.get(ExtensionType.key_share)
        if groups_body is None or ks_body is None:
            raise TLSError(AlertDescription.missing_extension,
                           "ClientHello lacks supported_groups or key_share "
                           "(only (EC)DHE key exchange is supported)")
        client_groups = decode_u16_list(groups_body, "supported_groups")
        client_shares = decode_key_share_ch(ks_body)
        for g, _ in client_shares:
            if g not in client_groups:
                raise illegal_parameter(f"key share for group 0x{g:04x} not in "
                                        "supported_groups")
        sig_body = exts.get(ExtensionType.signature_algorithms)
        self._peer_sig_schemes = (decode_u16_list(sig_body, "signature_algorithms")
                                  if sig_body is not None else [])

        # PSK
        psk_sel: _PskOffer | None = None
        psk_index = 0
        state: TicketState | None = None
        psk_body = exts.get(ExtensionType.pre_shared_key)
        modes_body = exts.get(ExtensionType.psk_key_exchange_modes)
        psk_modes = decode_psk_modes(modes_body) if modes_body is not None else []
        self._client_psk_dhe = PskKeyExchangeMode.psk_dhe_ke in psk_modes
        if psk_body is not None:
            if modes_body is None:
                raise TLSError(AlertDescription.missing_extension,
                               "pre_shared_key without psk_key_exchange_modes")
            idents, binders = decode_pre_shared_key_ch(psk_body)
            if self._client_psk_dhe:
                psk_sel, psk_index, state = self._server_select_psk(idents)
                if (psk_sel is not None and second and self._suite
                        and psk_sel.suite.hash_name != self._suite.hash_name):
                    wipe(psk_sel.psk)
                    psk_sel = None
                if psk_sel is not None:
                    assert ch.binders_offset is not None
                    prefix = bytes(self._transcript) if second else b""
                    ks = KeySchedule(psk_sel.suite)
                    ks.early(psk_sel.psk)
                    bkey = ks.binder_key(psk_sel.external)
                    expected = ks.finished_verify_data(bkey, transcript_hash(
                        psk_sel.suite.hash_name, prefix + whole[:ch.binders_offset]))
                    wipe(bkey)
                    ks.wipe()
                    if not hmac.compare_digest(expected, binders[psk_index]):
                        wipe(psk_sel.psk)
                        raise TLSError(AlertDescription.decrypt_error,
                                       "PSK binder does not verify")
        have_certs = bool(cfg.certificate_chain and cfg.private_key)
        if psk_sel is None and not have_certs:
            if psk_body is not None:
                raise TLSError(AlertDescription.unknown_psk_identity,
                               "no offered PSK identity is known to this server")
            raise TLSError(AlertDescription.handshake_failure,
                           "this server requires a pre-shared key")
        if psk_sel is None and sig_body is None:
            raise TLSError(AlertDescription.missing_extension,
                           "ClientHello lacks signature_algorithms")

        # cipher suite: server preference among the client's
        if second:
            assert self._suite is not None
            if self._suite.suite not in ch.cipher_suites:
                raise illegal_parameter("second ClientHello dropped the selected suite")
            suite = self._suite
        else:
            candidates = [s for s in self._suites if s in ch.cipher_suites]
            if psk_sel is not None:
                same_hash = [s for s in candidates
                             if suite_info(s).hash_name == psk_sel.suite.hash_name]
                if not psk_sel.external and psk_sel.suite.suite in same_hash:
                    same_hash.remove(psk_sel.suite.suite)
                    same_hash.insert(0, psk_sel.suite.suite)
                if same_hash:
                    candidates = same_hash
                elif have_certs:
                    wipe(psk_sel.psk)
                    psk_sel = None
                else:
                    wipe(psk_sel.psk)
                    raise TLSError(AlertDescription.handshake_failure,
                                   "no cipher suite matches the PSK hash")
            if not candidates:
                raise TLSError(AlertDescription.handshake_failure,
                               f"no common cipher suite (client offers "
                               f"{[hex(s) for s in ch.cipher_suites]})")
            suite = suite_info(candidates[0])

        # group: prefer a share the client sent
        share = None
        for g in self._groups:
            for cg, key in client_shares:
                if cg == g:
                    share = (g, key)
                    break
            if share:
                break
        if share is None:
            if second:
                raise illegal_parameter("second ClientHello has no share for the "
                                        "requested group")
            if psk_sel is not None:  # selected again from the second ClientHello
                wipe(psk_sel.psk)
            common = [g for g in self._groups if g in client_groups]
            if not common:
                raise TLSError(AlertDescription.handshake_failure,
                               f"no common key exchange group (client offers "
                               f"{[hex(g) for g in client_groups]})")
            return self._server_send_hrr(ch, whole, suite, common[0], events)
        if second and self.group is not None and share[0] != self.group:
            raise illegal_parameter("second ClientHello's key share is not the requested group")

        self._ch = ch
        self._suite = suite
        self.group = Group(share[0])
        events.append(TransportParameters(tp))
        if alpn is not None:
            self.alpn = alpn.decode(errors="replace")
        self._psk = psk_sel
        self._psk_accepted = psk_sel is not None
        if psk_sel is not None:
            self.session_resumed = not psk_sel.external
            self.psk_identity = psk_sel.identity
        self._transcript += whole

        # 0-RTT decision
        if (not second and state is not None and psk_index == 0
                and ExtensionType.early_data in exts):
            self._early_offered = True
            self.early_data_accepted = self._server_accept_early(state, psk_sel, suite, alpn)
        if self.early_data_accepted:
            assert psk_sel is not None
            eks = KeySchedule(suite)
            eks.early(psk_sel.psk)
            secret = eks.client_early_traffic_secret(self._thash())
            self._keylog("CLIENT_EARLY_TRAFFIC_SECRET", secret)
            self._install(events, Level.EARLY, Direction.RECV, secret)
            wipe(secret)
            eks.wipe()

        server_share, shared = server_key_exchange(share[0], share[1])
        sh_exts: dict[int, bytes] = {
            ExtensionType.supported_versions: TLS_VERSION_1_3.to_bytes(2, "big"),
            ExtensionType.key_share: encode_key_share_sh(share[0], server_share),
        }
        if psk_sel is not None:
            sh_exts[ExtensionType.pre_shared_key] = psk_index.to_bytes(2, "big")
        sh = ServerHello(random=os.urandom(32), cipher_suite=suite.suite,
                         legacy_session_id=ch.legacy_session_id, extensions=sh_exts)
        raw = sh.encode()
        self._transcript += raw
        events.append(SendData(Level.INITIAL, raw))

        ks = self._handshake_keys(suite, psk_sel.psk if psk_sel else None, shared, events)
        assert self._s_hs is not None

        ee_exts: dict[int, bytes] = {}
        if alpn is not None:
            ee_exts[ExtensionType.application_layer_protocol_negotiation] = encode_alpn([alpn])
        ee_exts[ExtensionType.quic_transport_parameters] = (
            cfg.transport_parameters_for(self.peer_transport_parameters or b"")
            if cfg.transport_parameters_for is not None else cfg.transport_parameters)
        if self.early_data_accepted:
            ee_exts[ExtensionType.early_data] = b""
        self._server_send(events, EncryptedExtensions(ee_exts).encode())

        if psk_sel is None:
            if cfg.client_auth != ClientAuth.NONE:
                cr = CertificateRequest(b"", {
                    ExtensionType.signature_algorithms: encode_u16_list(self._sig_schemes)})
                self._cert_request = cr
                self._server_send(events, cr.encode())
            chain = list(cfg.certificate_chain)
            skey = cfg.private_key
            assert skey is not None
            scheme = _certs.choose_scheme(chain[0], self._peer_sig_schemes, self._sig_schemes)
            self._server_send(events, Certificate(
                b"", [CertificateEntry(c.public_bytes(Encoding.DER)) for c in chain]).encode())
            content = _certs.verify_content(_certs.SERVER_CONTEXT, self._thash())
            self._server_send(events, CertificateVerify(
                scheme, _certs.sign(skey, scheme, content)).encode())
        self._server_send(events, Finished(
            ks.finished_verify_data(self._s_hs, self._thash())).encode())
        ks.master()
        thash = self._thash()
        self._c_ap = ks.client_application_traffic_secret(thash)
        self._s_ap = ks.server_application_traffic_secret(thash)
        self._exp_master = ks.exporter_master_secret(thash)
        self._keylog("CLIENT_TRAFFIC_SECRET_0", self._c_ap)
        self._keylog("SERVER_TRAFFIC_SECRET_0", self._s_ap)
        self._keylog("EXPORTER_SECRET", self._exp_master)
        self._install(events, Level.APP, Direction.SEND, self._s_ap)
        self.state = (State.SERVER_WAIT_CERT if self._cert_request is not None
                      else State.SERVER_WAIT_FINISHED)

    def _server_send(self, events: list[Event], raw: bytes) -> None:
        self._transcript += raw
        events.append(SendData(Level.HANDSHAKE, raw))

    def _server_send_hrr(self, ch: ClientHello, whole: bytes, suite: SuiteInfo, group: int,
                         events: list[Event]) -> None:
        self._hrr = True
        self._suite = suite
        self._ch = ch
        self.group = Group(group)
        hrr = ServerHello(random=HRR_RANDOM, cipher_suite=suite.suite,
                          legacy_session_id=ch.legacy_session_id, extensions={
                              ExtensionType.supported_versions:
                                  TLS_VERSION_1_3.to_bytes(2, "big"),
                              ExtensionType.key_share: group.to_bytes(2, "big"),
                          })
        raw = hrr.encode()
        self._transcript = bytearray(_message_hash(suite.hash_name, whole) + raw)
        events.append(SendData(Level.INITIAL, raw))
        self.state = State.SERVER_WAIT_CH2

    def _server_select_psk(self, idents: list[PskIdentity]
                           ) -> tuple[_PskOffer | None, int, TicketState | None]:
        cfg = self.config
        by_id = {p.identity: p for p in cfg.psks}
        now = now_ms()
        for i, ident in enumerate(idents):
            ext = by_id.get(ident.identity)
            if ext is not None:
                return (_PskOffer(bytearray(ext.key), suite_info(0x1301), ident.identity, 0,
                                  external=True), i, None)
            st = self._ticket_key.open(ident.identity) if self._ticket_key else None
            if st is not None:
                age = now - st.issued_ms
                if st.suite not in SUITES or age < 0 or age > st.lifetime * 1000:
                    continue
                offer = _PskOffer(bytearray(st.psk), suite_info(st.suite), ident.identity,
                                  ident.obfuscated_ticket_age, external=False)
                return offer, i, st
            if cfg.psk_lookup is not None:
                key = cfg.psk_lookup(ident.identity)
                if key:
                    secret = key if isinstance(key, bytearray) else bytearray(key)
                    return (_PskOffer(secret, suite_info(0x1301), ident.identity, 0,
                                      external=True), i, None)
        return None, 0, None

    def _server_accept_early(self, st: TicketState, psk: _PskOffer | None,
                             suite: SuiteInfo, alpn: bytes | None) -> bool:
        cfg = self.config
        if not cfg.early_data or psk is None or st.max_early_data == 0:
            return False
        if st.suite != suite.suite or st.alpn != (alpn or b""):
            return False
        if st.server_name != (self.server_name or "").encode():
            return False
        expected_age = now_ms() - st.issued_ms
        reported_age = (psk.obfuscated_age - st.age_add) & 0xFFFFFFFF
        reg = cfg.replay_register
        if not reg.is_fresh(expected_age, reported_age):
            return False
        return reg.first_use(psk.identity)

    def _server_certificate(self, body: bytes, whole: bytes) -> None:
        chain = self._parse_certificate(body, server=False)
        cfg = self.config
        if not chain:
            if cfg.client_auth == ClientAuth.REQUIRE:
                raise TLSError(AlertDescription.certificate_required,
                               "a client certificate is required")
            self._transcript += whole
            self.state = State.SERVER_WAIT_FINISHED
            return
        if cfg.verify:
            _certs.verify_chain(chain, server=False, cafile=cfg.cafile, cadata=cfg.cadata)
        self.peer_certificates = chain
        self._transcript += whole
        self.state = State.SERVER_WAIT_CV

    def _server_cv(self, body: bytes, whole: bytes) -> None:
        self._peer_cv(body, whole, _certs.CLIENT_CONTEXT, State.SERVER_WAIT_FINISHED)

    def _server_finished(self, body: bytes, whole: bytes, events: list[Event]) -> None:
        ks = self._ks
        assert ks is not None and self._c_hs is not None and self._c_ap is not None
        expected = ks.finished_verify_data(self._c_hs, self._thash())
        if not hmac.compare_digest(expected, Finished.decode(body).verify_data):
            raise TLSError(AlertDescription.decrypt_error, "client Finished does not verify")
        self._transcript += whole
        self._install(events, Level.APP, Direction.RECV, self._c_ap)
        self._res_master = ks.resumption_master_secret(self._thash())
        self._complete(events)
        if (self._ticket_key is not None and self.config.send_session_ticket
                and self._client_psk_dhe):
            events.append(SendData(Level.APP, self._make_ticket()))

    def _make_ticket(self) -> bytes:
        assert self._ks is not None and self._res_master is not None
        assert self._suite is not None and self._ticket_key is not None
        cfg = self.config
        self._ticket_nonce += 1
        nonce = self._ticket_nonce.to_bytes(8, "big")
        psk = self._ks.resumption_psk(self._res_master, nonce)
        age_add = _secrets.randbits(32)
        lifetime = min(cfg.ticket_lifetime, MAX_TICKET_LIFETIME)
        max_early = cfg.max_early_data_size if cfg.early_data else 0
        st = TicketState(self._suite.suite, bytes(psk), now_ms(), age_add, lifetime,
                         max_early, (self.alpn or "").encode(),
                         (self.server_name or "").encode())
        wipe(psk)
        exts: dict[int, bytes] = (
            {ExtensionType.early_data: encode_u32(max_early)} if max_early else {})
        return NewSessionTicket(lifetime, age_add, nonce, self._ticket_key.seal(st),
                                exts).encode()

    # =========================================================================
    def _complete(self, events: list[Event]) -> None:
        self.state = State.CONNECTED
        # handshake secrets are no longer needed
        wipe(self._c_hs)
        wipe(self._s_hs)
        wipe(self._c_ap)
        wipe(self._s_ap)
        if self._psk is not None:
            wipe(self._psk.psk)
        events.append(HandshakeComplete(self.alpn, self.session_resumed,
                                        self.early_data_accepted))

