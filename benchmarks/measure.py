"""Timing and resident-memory helpers for the benchmarks (standard library + torch only)."""
from __future__ import annotations

import ctypes
import os
import statistics
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int:
    """Current resident set size of this process (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def trim_heap() -> None:
    """Give freed heap pages back to the OS (glibc), so each run's peak starts from a clean base."""
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


@dataclass
class Sample:
    """One timed run: wall seconds, RSS before and the peak RSS seen while it ran."""

    seconds: float
    rss_before: int
    rss_peak: int


class PeakRSS:
    """Polls the RSS in a background thread while a block runs."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval, self.peak, self._stop = interval, 0, threading.Event()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            self._stop.wait(self.interval)

    @contextmanager
    def watch(self) -> Iterator["PeakRSS"]:
        self.peak = rss_bytes()
        self._stop.clear()
        thread = threading.Thread(target=self._poll, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            self.peak = max(self.peak, rss_bytes())


def timed(fn, *args, **kwargs) -> tuple[object, Sample]:
    """Run ``fn`` once with a clean heap; return its result and the timing/memory sample."""
    trim_heap()
    before = rss_bytes()
    watcher = PeakRSS()
    with watcher.watch():
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        seconds = time.perf_counter() - start
    return result, Sample(seconds, before, watcher.peak)


@dataclass
class Series:
    """All samples of one measurement (a mode, or a branch forward)."""

    samples: list[Sample] = field(default_factory=list)

    def add(self, sample: Sample) -> None:
        self.samples.append(sample)

    @property
    def min(self) -> float:
        return min(s.seconds for s in self.samples)

    @property
    def median(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def peak(self) -> int:
        return max(s.rss_peak for s in self.samples)

    @property
    def transient(self) -> int:
        """Largest growth of the RSS during a run (activations, temporary copies)."""
        return max(s.rss_peak - s.rss_before for s in self.samples)

    def as_dict(self) -> dict:
        return {"seconds": [round(s.seconds, 4) for s in self.samples], "min": round(self.min, 4),
                "median": round(self.median, 4), "peak_rss": self.peak, "transient_rss": self.transient}


def cpu_load() -> str:
    """The 1/5/15-minute load averages and the CPU count, to state the contention of a run."""
    try:
        one, five, fifteen = os.getloadavg()
        return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"
    except OSError:
        return f"{os.cpu_count()} CPUs"
