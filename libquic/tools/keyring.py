"""Reading keys from the kernel keyring (keyctl(2)), for PSKs that kernel
users hand to the handshake by key serial."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from dataclasses import dataclass

__all__ = [
    "KEYCTL_DESCRIBE",
    "KEYCTL_READ",
    "KEYCTL_REVOKE",
    "KEYCTL_SETPERM",
    "KEY_SPEC_USER_KEYRING",
    "SYS_ADD_KEY",
    "SYS_KEYCTL",
    "KeyInfo",
    "add_key",
    "describe_key",
    "read_key",
    "revoke_key",
    "set_perm",
]

SYS_ADD_KEY = 248  # x86_64
SYS_KEYCTL = 250
KEYCTL_REVOKE = 3
KEYCTL_SETPERM = 5
KEYCTL_DESCRIBE = 6
KEYCTL_READ = 11
KEY_SPEC_USER_KEYRING = -4


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
    """The payload of key ``serial``; the caller should wipe it after use."""
    return bytearray(_keyctl_buf(KEYCTL_READ, serial))


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
