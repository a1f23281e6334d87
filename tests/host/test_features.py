"""libquic.features: the probe for what the loaded quic module offers."""

from __future__ import annotations

from pathlib import Path

from libquic.features import ModuleFeatures, module_features


def _tree(root: Path, eps_header: str | None, sysctl: bool, trace: bool) -> None:
    (root / "sys" / "module" / "quic").mkdir(parents=True)
    quic = root / "proc" / "net" / "quic"
    quic.mkdir(parents=True)
    if eps_header is not None:
        (quic / "eps").write_text(eps_header + "\n")
    if sysctl:
        (root / "proc" / "sys" / "net" / "quic").mkdir(parents=True)
        (root / "proc" / "sys" / "net" / "quic" / "rmem_max_total").write_text("1\n")
    if trace:
        (root / "tracing" / "events" / "quic").mkdir(parents=True)


def _probe(root: Path) -> ModuleFeatures:
    return module_features(root / "proc", root / "sys", (str(root / "tracing"),))


def test_kquic_layout(tmp_path: Path) -> None:
    _tree(tmp_path, "INODE\tUID\tSTATE\tLOCAL\tREMOTE\tCWND\tSRTT", sysctl=True, trace=True)
    f = _probe(tmp_path)
    assert f.loaded and f.procfs and f.kquic_procfs and f.rmem_sysctl and f.tracepoints
    assert f.is_kquic


def test_reference_layout(tmp_path: Path) -> None:
    # the reference module: eps with other columns, no rmem sysctl, no tracepoints
    _tree(tmp_path, "SOCK\tSTATE\tLOCAL_ADDRESS\tUDP_ADDRESS\tUID\tINODE", sysctl=False,
          trace=False)
    f = _probe(tmp_path)
    assert f.loaded and f.procfs
    assert not (f.kquic_procfs or f.rmem_sysctl or f.tracepoints or f.is_kquic)


def test_nothing_loaded(tmp_path: Path) -> None:
    f = _probe(tmp_path)
    assert not (f.loaded or f.procfs or f.is_kquic)
