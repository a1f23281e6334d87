"""The main job, run inside the test VM by ``scripts/demo.sh``.

It shows what the loaded module registered and exercises the socket calls it
supports: a QUIC socket per family and type, bound to loopback, with the
address the kernel chose.
"""

from __future__ import annotations

import platform
import socket
import sys
from pathlib import Path

from libquic.uapi import IPPROTO_QUIC, quic_socket

FAMILIES = {"IPv4": (socket.AF_INET, "127.0.0.1"), "IPv6": (socket.AF_INET6, "::1")}
TYPES = {"SOCK_STREAM": socket.SOCK_STREAM, "SOCK_DGRAM": socket.SOCK_DGRAM}


def section(title: str) -> None:
    print(f"\n== {title}")


def show_module() -> None:
    section("module")
    print(f"kernel {platform.release()}")
    mod = Path("/sys/module/quic")
    if not mod.exists():
        raise SystemExit("quic module is not loaded")
    for attr in ("srcversion", "refcnt", "coresize"):
        p = mod / attr
        if p.exists():
            print(f"{attr}: {p.read_text().strip()}")
    protocols = Path("/proc/net/protocols").read_text().splitlines()
    for line in protocols:
        if line.startswith("QUIC"):
            print("registered protocol:", " ".join(line.split()[:3]))


def show_sockets() -> None:
    section(f"sockets (IPPROTO_QUIC = {IPPROTO_QUIC})")
    for fname, (family, addr) in FAMILIES.items():
        for tname, stype in TYPES.items():
            with quic_socket(family, stype) as s:
                s.bind((addr, 0))
                name = s.getsockname()
                print(f"{fname:4} {tname:11} socket() ok, bound to {name[0]} port {name[1]}")


def show_procfs() -> None:
    section("/proc/net/quic")
    base = Path("/proc/net/quic")
    if not base.is_dir():
        print("(no /proc/net/quic directory)")
        return
    for entry in sorted(base.iterdir()):
        print(f"-- {entry.name}")
        print(entry.read_text().rstrip() or "(empty)")


def main() -> int:
    show_module()
    show_sockets()
    show_procfs()
    print("\ndemo: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
