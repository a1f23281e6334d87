"""Where the CPU time of a measurement went, from ``/proc/stat``.

``CpuTimes.now()`` reads the machine-wide ``cpu`` line (all CPUs, in
clock ticks); ``later.since(earlier)`` is the split of the time between
the two readings into user, system, softirq (with hardirq) and idle (with
iowait) percentages.  Steal and guest time are left out of the total.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from statistics import median

STAT = Path("/proc/stat")


@dataclass(frozen=True)
class CpuSplit:
    """Percentages of the CPU time of an interval."""

    user: float
    sys: float
    softirq: float
    idle: float

    def __str__(self) -> str:
        return (f"cpu usr {self.user:3.0f}% sys {self.sys:3.0f}% "
                f"sirq {self.softirq:3.0f}% idle {self.idle:3.0f}%")


@dataclass(frozen=True)
class CpuTimes:
    """Cumulative ticks of the ``cpu`` line of /proc/stat."""

    user: int
    sys: int
    softirq: int
    idle: int

    @classmethod
    def parse(cls, text: str) -> CpuTimes:
        for line in text.splitlines():
            fields = line.split()
            if fields and fields[0] == "cpu":
                user, nice, system, idle, iowait, irq, softirq = (int(v) for v in fields[1:8])
                return cls(user + nice, system, irq + softirq, idle + iowait)
        raise ValueError("no cpu line in /proc/stat")

    @classmethod
    def now(cls) -> CpuTimes:
        return cls.parse(STAT.read_text())

    def since(self, earlier: CpuTimes) -> CpuSplit:
        d = [self.user - earlier.user, self.sys - earlier.sys,
             self.softirq - earlier.softirq, self.idle - earlier.idle]
        total = sum(d) or 1
        return CpuSplit(*(100.0 * v / total for v in d))


def median_split(splits: list[CpuSplit]) -> CpuSplit:
    """Each column's median over several intervals (for the summary)."""
    return CpuSplit(median(c.user for c in splits), median(c.sys for c in splits),
                    median(c.softirq for c in splits), median(c.idle for c in splits))
