"""The kernel's handshake upcall: generic netlink family "handshake".

The kernel (net/handshake) multicasts READY to the "tlshd" group when a
kernel user asks for a TLS handshake on a socket.  A daemon answers with
ACCEPT, which installs the socket in its file table and describes the
request; when the handshake is over it sends DONE with the status.  The
numbers are from <uapi/linux/handshake.h>.
"""

from __future__ import annotations

import select
from dataclasses import dataclass, field

from pyroute2.netlink import NLM_F_ACK, NLM_F_REQUEST, genlmsg, nla
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.generic import GenericNetlinkSocket

__all__ = [
    "AUTH_PSK",
    "AUTH_UNAUTH",
    "AUTH_X509",
    "CMD_ACCEPT",
    "CMD_DONE",
    "CMD_READY",
    "FAMILY",
    "HANDLER_CLASS_TLSHD",
    "MCGRP_TLSHD",
    "MSG_TYPE_CLIENTHELLO",
    "MSG_TYPE_SERVERHELLO",
    "AcceptMsg",
    "DoneMsg",
    "HandshakeNetlink",
    "HandshakeRequest",
    "parse_accept",
]

FAMILY = "handshake"
MCGRP_TLSHD = "tlshd"

CMD_READY = 1
CMD_ACCEPT = 2
CMD_DONE = 3

HANDLER_CLASS_TLSHD = 1

MSG_TYPE_CLIENTHELLO = 1
MSG_TYPE_SERVERHELLO = 2

AUTH_UNAUTH = 1
AUTH_PSK = 2
AUTH_X509 = 3


class AcceptMsg(genlmsg):
    """READY notifications and ACCEPT requests/replies (HANDSHAKE_A_ACCEPT_*)."""

    nla_map = (
        ("HANDSHAKE_A_ACCEPT_UNSPEC", "none"),
        ("HANDSHAKE_A_ACCEPT_SOCKFD", "int32"),
        ("HANDSHAKE_A_ACCEPT_HANDLER_CLASS", "uint32"),
        ("HANDSHAKE_A_ACCEPT_MESSAGE_TYPE", "uint32"),
        ("HANDSHAKE_A_ACCEPT_TIMEOUT", "uint32"),
        ("HANDSHAKE_A_ACCEPT_AUTH_MODE", "uint32"),
        ("HANDSHAKE_A_ACCEPT_PEER_IDENTITY", "int32"),
        ("HANDSHAKE_A_ACCEPT_CERTIFICATE", "x509"),
        ("HANDSHAKE_A_ACCEPT_PEERNAME", "asciiz"),
        ("HANDSHAKE_A_ACCEPT_KEYRING", "uint32"),  # newer kernels: the user's ta_keyring
    )

    class x509(nla):
        nla_map = (
            ("HANDSHAKE_A_X509_UNSPEC", "none"),
            ("HANDSHAKE_A_X509_CERT", "int32"),
            ("HANDSHAKE_A_X509_PRIVKEY", "int32"),
        )


class DoneMsg(genlmsg):
    """DONE requests (HANDSHAKE_A_DONE_*)."""

    nla_map = (
        ("HANDSHAKE_A_DONE_UNSPEC", "none"),
        ("HANDSHAKE_A_DONE_STATUS", "uint32"),
        ("HANDSHAKE_A_DONE_SOCKFD", "int32"),
        ("HANDSHAKE_A_DONE_REMOTE_AUTH", "int32"),
    )


@dataclass
class HandshakeRequest:
    """What ACCEPT tells about one pending handshake."""

    sockfd: int
    message_type: int
    auth_mode: int
    timeout_ms: int = 0
    peer_identities: list[int] = field(default_factory=list)
    cert: int = 0
    privkey: int = 0
    peername: str | None = None
    keyring: int = 0  # a keyring with the authentication material, 0 for none

    @property
    def is_client(self) -> bool:
        return self.message_type == MSG_TYPE_CLIENTHELLO


def parse_accept(msg: AcceptMsg) -> HandshakeRequest:
    """Turn an ACCEPT reply into a :class:`HandshakeRequest`."""
    sockfd = msg.get_attr("HANDSHAKE_A_ACCEPT_SOCKFD")
    mtype = msg.get_attr("HANDSHAKE_A_ACCEPT_MESSAGE_TYPE")
    if sockfd is None or mtype not in (MSG_TYPE_CLIENTHELLO, MSG_TYPE_SERVERHELLO):
        raise ValueError(f"ACCEPT reply without a socket or message type: {msg}")
    req = HandshakeRequest(
        sockfd=sockfd,
        message_type=mtype,
        auth_mode=msg.get_attr("HANDSHAKE_A_ACCEPT_AUTH_MODE") or AUTH_UNAUTH,
        timeout_ms=msg.get_attr("HANDSHAKE_A_ACCEPT_TIMEOUT") or 0,
        peer_identities=list(msg.get_attrs("HANDSHAKE_A_ACCEPT_PEER_IDENTITY")),
        peername=msg.get_attr("HANDSHAKE_A_ACCEPT_PEERNAME"),
        keyring=msg.get_attr("HANDSHAKE_A_ACCEPT_KEYRING") or 0,
    )
    cert = msg.get_attr("HANDSHAKE_A_ACCEPT_CERTIFICATE")
    if cert is not None:
        req.cert = cert.get_attr("HANDSHAKE_A_X509_CERT") or 0
        req.privkey = cert.get_attr("HANDSHAKE_A_X509_PRIVKEY") or 0
    return req


class HandshakeNetlink:
    """One generic netlink socket bound to the handshake family.

    Use one per thread: :meth:`listen` for the READY multicast, or
    :meth:`accept`/:meth:`done` for requests.
    """

    def __init__(self) -> None:
        self._sock = GenericNetlinkSocket()
        try:
            self._sock.bind(FAMILY, AcceptMsg)
        except NetlinkError as exc:
            self._sock.close()
            raise OSError(exc.code, "the kernel has no generic netlink family "
                          f"{FAMILY!r} (CONFIG_NET_HANDSHAKE): {exc}") from exc

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> HandshakeNetlink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def listen(self) -> None:
        """Join the "tlshd" multicast group (where READY is announced)."""
        self._sock.add_membership(MCGRP_TLSHD)

    def wait_ready(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for READY notifications; True if any came."""
        ready, _, _ = select.select([self._sock.fileno()], [], [], timeout)
        if not ready:
            return False
        return any(m.get("cmd") == CMD_READY for m in self._sock.get())

    def accept(self) -> HandshakeRequest | None:
        """Take the next pending request, or None when there is none."""
        msg = AcceptMsg()
        msg["cmd"] = CMD_ACCEPT
        msg["version"] = 1
        msg["attrs"] = [("HANDSHAKE_A_ACCEPT_HANDLER_CLASS", HANDLER_CLASS_TLSHD)]
        try:
            replies = list(self._sock.nlm_request(msg, msg_type=self._sock.prid,
                                                  msg_flags=NLM_F_REQUEST))
        except NetlinkError:
            return None  # nothing pending (another daemon may have taken it)
        for reply in replies:
            if reply.get("cmd") == CMD_ACCEPT:
                return parse_accept(reply)
        return None

    def done(self, sockfd: int, status: int, remote_ids: list[int] | None = None) -> None:
        """Report the outcome: ``status`` 0 or a positive errno."""
        msg = DoneMsg()
        msg["cmd"] = CMD_DONE
        msg["version"] = 1
        attrs: list[tuple[str, int]] = [("HANDSHAKE_A_DONE_STATUS", status),
                                        ("HANDSHAKE_A_DONE_SOCKFD", sockfd)]
        attrs += [("HANDSHAKE_A_DONE_REMOTE_AUTH", r) for r in remote_ids or []]
        msg["attrs"] = attrs
        for reply in self._sock.nlm_request(msg, msg_type=self._sock.prid,
                                            msg_flags=NLM_F_REQUEST | NLM_F_ACK):
            err = reply["header"].get("error")
            if err is not None:
                raise err
