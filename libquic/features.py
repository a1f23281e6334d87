"""What the loaded QUIC module offers beyond the socket API.

libquic's socket API (options, cmsgs, events, the handshake) works on any
module with the reference UAPI: kquic's ``kmod/quic.ko`` or the reference
implementation's (lxin/quic).  Some tools and tests read more than that:
kquic's ``/proc/net/quic`` columns, its ``net.quic.rmem_max_total`` sysctl
and its tracepoints.  They probe for them here instead of assuming them::

    from libquic.features import module_features
    if module_features().kquic_procfs:
        ...  # per-connection RTT and cwnd in /proc/net/quic/eps
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["ModuleFeatures", "loaded_module_is_kquic", "module_features"]

TRACEFS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")


@dataclass(frozen=True)
class ModuleFeatures:
    """The probe's answers (all False when no quic module is loaded)."""

    loaded: bool  # /sys/module/quic exists
    procfs: bool  # a /proc/net/quic directory (both modules have one)
    kquic_procfs: bool  # kquic's columns: eps starts with INODE and has CWND, RTT...
    rmem_sysctl: bool  # net.quic.rmem_max_total (kquic's receive-memory limit)
    tracepoints: bool  # events/quic in a mounted tracefs (kquic)

    @property
    def is_kquic(self) -> bool:
        """The loaded module is kquic (its procfs layout and sysctl)."""
        return self.kquic_procfs and self.rmem_sysctl


def _eps_header(proc: Path) -> list[str]:
    try:
        with open(proc / "net" / "quic" / "eps") as f:
            return f.readline().split()
    except OSError:
        return []


def module_features(proc: str | Path = "/proc", sys: str | Path = "/sys",
                    tracefs: tuple[str, ...] = TRACEFS) -> ModuleFeatures:
    """Probe the loaded quic module (the paths are parameters for tests)."""
    proc, sys = Path(proc), Path(sys)
    header = _eps_header(proc)
    return ModuleFeatures(
        loaded=(sys / "module" / "quic").exists(),
        procfs=(proc / "net" / "quic").is_dir(),
        kquic_procfs=header[:1] == ["INODE"] and "CWND" in header,
        rmem_sysctl=(proc / "sys" / "net" / "quic" / "rmem_max_total").exists(),
        tracepoints=any((Path(t) / "events" / "quic").is_dir() for t in tracefs),
    )


def loaded_module_is_kquic() -> bool:
    """Whether the loaded quic module is kquic rather than another
    implementation of the same UAPI (the reference module has a
    /proc/net/quic/eps too, with other columns, and no net.quic.rmem_max_total)."""
    return module_features().is_kquic
