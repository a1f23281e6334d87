"""The kernel keyrings (keyctl(2)), for the PSKs of kernel users' handshakes:
read by key serial, or searched by description (the PSK identity).

Only the system calls are used (no libkeyutils); the numbers are x86_64's.
Key payloads are read straight into a ``bytearray`` that the caller wipes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from dataclasses import dataclass

__all__ = [
    "KEYCTL_DESCRIBE",
    "KEYCTL_LINK",
    "KEYCTL_READ",
    "KEYCTL_REVOKE",
    "KEYCTL_SEARCH",
    "KEYCTL_SETPERM",
    "KEYCTL_UNLINK",
    "KEY_MAX_DESC_SIZE",
    "KEY_SPEC_PROCESS_KEYRING",
    "KEY_SPEC_SESSION_KEYRING",
    "KEY_SPEC_THREAD_KEYRING",
    "KEY_SPEC_USER_KEYRING",
    "SYS_ADD_KEY",
    "SYS_KEYCTL",
    "KeyInfo",
    "add_key",
    "describe_key",
    "find_keyring",
    "link_key",
    "read_key",
    "revoke_key",
    "search_key",
    "set_perm",
    "unlink_key",
]

SYS_ADD_KEY = 248  # x86_64
SYS_KEYCTL = 250
KEYCTL_REVOKE = 3
KEYCTL_SETPERM = 5
KEYCTL_DESCRIBE = 6
KEYCTL_LINK = 8
KEYCTL_UNLINK = 9
KEYCTL_SEARCH = 10
KEYCTL_READ = 11
KEY_SPEC_THREAD_KEYRING = -1
KEY_SPEC_PROCESS_KEYRING = -2
KEY_SPEC_SESSION_KEYRING = -3
KEY_SPEC_USER_KEYRING = -4
KEY_MAX_DESC_SIZE = 4096  # descriptions are shorter (the kernel's limit, with the NUL)


@dataclass(frozen=True)
class KeyInfo:
    """A key's type and description (``keyctl describe``)."""

    type: str
    description: str


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _keyctl_buf(op: int, serial: int) -> bytes:
    libc = _libc()
    size = 256
    while True:
        buf = ctypes.create_string_buffer(size)
        n = libc.syscall(SYS_KEYCTL, op, ctypes.c_int32(serial), buf, ctypes.c_size_t(size))
        if n < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"keyctl({op}) on key {serial}: {os.strerror(err)}")
        if n <= size:
            data = buf.raw[:n]
            ctypes.memset(buf, 0, size)  # the payload may be a secret
            return data
        ctypes.memset(buf, 0, size)
        size = n


def describe_key(serial: int) -> KeyInfo:
    """Type and description of key ``serial`` (``type;uid;gid;perm;description``)."""
    raw = _keyctl_buf(KEYCTL_DESCRIBE, serial).rstrip(b"\0").decode()
    parts = raw.split(";", 4)
    if len(parts) != 5:
        raise ValueError(f"unexpected description of key {serial}: {raw!r}")
    return KeyInfo(type=parts[0], description=parts[4])


def read_key(serial: int) -> bytearray:
    """The payload of key ``serial``; the caller should wipe it after use.

    The payload is read straight into the returned buffer (its size asked
    first), so no other copy of it is left in this process.
    """
    libc = _libc()
    while True:
        size = _check(libc.syscall(SYS_KEYCTL, KEYCTL_READ, ctypes.c_int32(serial), None,
                                   ctypes.c_size_t(0)), f"keyctl read {serial}")
        out = bytearray(size)
        if not size:
            return out
        view = (ctypes.c_char * size).from_buffer(out)
        n = libc.syscall(SYS_KEYCTL, KEYCTL_READ, ctypes.c_int32(serial), view,
                         ctypes.c_size_t(size))
        err = ctypes.get_errno()
        del view
        if n == size:
            return out
        out[:] = bytes(size)
        if n < 0:
            raise OSError(err, f"keyctl read {serial}: {os.strerror(err)}")
        # the key was updated between the two calls: read it again


def _check(ret: int, what: str) -> int:
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


def add_key(key_type: str, description: str, payload: bytes,
            keyring: int = KEY_SPEC_USER_KEYRING) -> int:
    """Add a key (``add_key(2)``) and return its serial."""
    libc = _libc()
    return _check(libc.syscall(SYS_ADD_KEY, key_type.encode(), description.encode(),
                               payload, ctypes.c_size_t(len(payload)),
                               ctypes.c_int32(keyring)), f"add_key({description!r})")


def set_perm(serial: int, perm: int) -> None:
    _check(_libc().syscall(SYS_KEYCTL, KEYCTL_SETPERM, ctypes.c_int32(serial),
                           ctypes.c_uint32(perm)), f"keyctl setperm {serial}")


def revoke_key(serial: int) -> None:
    _check(_libc().syscall(SYS_KEYCTL, KEYCTL_REVOKE, ctypes.c_int32(serial)),
           f"keyctl revoke {serial}")


def link_key(serial: int, keyring: int) -> None:
    """Link key (or keyring) ``serial`` into ``keyring`` (``keyctl link``)."""
    _check(_libc().syscall(SYS_KEYCTL, KEYCTL_LINK, ctypes.c_int32(serial),
                           ctypes.c_int32(keyring)), f"keyctl link {serial} {keyring}")


def unlink_key(serial: int, keyring: int) -> None:
    """Remove the link to ``serial`` from ``keyring`` (``keyctl unlink``)."""
    _check(_libc().syscall(SYS_KEYCTL, KEYCTL_UNLINK, ctypes.c_int32(serial),
                           ctypes.c_int32(keyring)), f"keyctl unlink {serial} {keyring}")


def search_key(keyring: int, key_type: str, description: str | bytes,
               dest: int = 0) -> int:
    """The serial of the key of ``key_type`` whose description is exactly
    ``description``, searched for recursively from ``keyring`` (``keyctl
    search``); ``dest``, when not 0, is a keyring the key found is linked
    into.  Raises ``OSError`` (``ENOKEY`` when there is none)."""
    desc = description.encode() if isinstance(description, str) else description
    if b"\0" in desc or len(desc) >= KEY_MAX_DESC_SIZE:
        raise ValueError(f"{desc[:64]!r}... cannot be a key description")
    return _check(_libc().syscall(SYS_KEYCTL, KEYCTL_SEARCH, ctypes.c_int32(keyring),
                                  key_type.encode(), desc, ctypes.c_int32(dest)),
                  f"keyctl search {keyring} {key_type} {desc!r}")


def find_keyring(name: str, proc_keys: str = "/proc/keys") -> int | None:
    """The serial of the keyring called ``name`` (or given as a serial,
    decimal or 0x-hex), as tlshd's ``keyrings`` setting names them: searched
    for from our session and user keyrings, else the first one of that name
    ``/proc/keys`` shows us (kernel keyrings such as ``.nfs``).  None when
    there is none."""
    try:
        return int(name, 0)
    except ValueError:
        pass
    for start in (KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_KEYRING):
        try:
            return search_key(start, "keyring", name)
        except (OSError, ValueError):
            continue
    try:
        with open(proc_keys, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        # serial flags usage expiry perm uid gid type description: summary
        fields = line.split(None, 8)
        if len(fields) == 9 and fields[7] == "keyring":
            desc = fields[8].rpartition(": ")[0] or fields[8]
            if desc == name:
                return int(fields[0], 16)
    return None
