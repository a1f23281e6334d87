"""The benchmark's pure helpers: the /proc/stat CPU split, the share of
a competing flow over a period (benchmarks/cpustat.py, link_bench.py), and
the section filter of benchmarks/bench.py."""

from __future__ import annotations

import pytest

from benchmarks.bench import Samples, Transport, parse_args, report, settings
from benchmarks.cpustat import CpuSplit, CpuTimes, median_split
from benchmarks.link_bench import RATE_KBIT, Flow, bytes_between
from benchmarks.paths import NetPath

STAT = """cpu  100 20 300 1000 50 10 90 7 0 0
cpu0 50 10 150 500 25 5 45 3 0 0
intr 12345
"""


def test_cpu_split_from_proc_stat_deltas() -> None:
    before = CpuTimes.parse(STAT)
    assert before == CpuTimes(user=120, sys=300, softirq=100, idle=1050)
    after = CpuTimes(user=120 + 30, sys=300 + 40, softirq=100 + 20, idle=1050 + 10)
    split = after.since(before)
    assert split == CpuSplit(user=30.0, sys=40.0, softirq=20.0, idle=10.0)
    assert str(split) == "cpu usr  30% sys  40% sirq  20% idle  10%"


def test_cpu_split_of_an_empty_interval_is_zero() -> None:
    t = CpuTimes.parse(STAT)
    assert t.since(t) == CpuSplit(0.0, 0.0, 0.0, 0.0)


def test_cpu_times_need_the_cpu_line() -> None:
    with pytest.raises(ValueError):
        CpuTimes.parse("intr 1\n")


def test_median_split_takes_each_column_alone() -> None:
    splits = [CpuSplit(10, 50, 30, 10), CpuSplit(20, 40, 10, 30), CpuSplit(30, 60, 20, 20)]
    assert median_split(splits) == CpuSplit(20, 50, 20, 20)


def test_bytes_between_reads_the_timeline_at_both_ends() -> None:
    points = [(1.0, 100), (2.0, 300), (3.0, 600), (4.0, 1000)]
    assert bytes_between(points, 2.0, 3.0) == 300
    assert bytes_between(points, 1.5, 3.5) == 700  # the next point at or after each end
    assert bytes_between(points, 0.0, 9.0) == 900


def test_flow_share_is_a_fraction_of_the_link_rate() -> None:
    one_second_at_rate = RATE_KBIT * 1000 // 8
    assert Flow(one_second_at_rate, 10.0, 11.0).share() == pytest.approx(1.0)
    assert Flow(one_second_at_rate, 10.0, 12.0).share() == pytest.approx(0.5)
    assert Flow(0, 1.0, 1.0).share() == 0.0


def test_bench_runs_only_the_sections_asked_for() -> None:
    s = settings(parse_args(["--only", "bulk", "rr", "--mtus", "1500", "--sizes", "1024"]))
    assert s.sections == ("bulk", "rr") and s.mtus == (1500,) and s.sizes == (1024,)
    assert settings(parse_args([])).sections == ("bulk", "rr", "par", "hs")
    with pytest.raises(SystemExit):
        parse_args(["--only", "nosuch"])


def test_bench_report_leaves_out_what_was_not_measured() -> None:
    s = settings(parse_args(["--only", "rr", "--mtus"]))
    assert s.mtus == ()
    samples = Samples()
    samples.values[("rr", "QUIC")] = [50.0]
    samples.values[("rr", "kTLS")] = [100.0]
    transports = [Transport(n, lambda path: (None, None)) for n in ("QUIC", "TCP", "kTLS")]
    text = "\n".join(report(s, [NetPath("loopback", "127.0.0.1")], transports, samples))
    assert "request/response" in text and "0.50x" in text
    assert "bulk throughput" not in text and "handshakes/s" not in text
    assert "parallel" not in text
