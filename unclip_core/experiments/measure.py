"""Seconds per image and peak memory of generation, measured around the generate calls only."""

from __future__ import annotations

import os
import resource
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from collections.abc import Iterator

import torch

MIB = 2**20
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass
class Usage:
    seconds: float = 0.0
    peak_memory_mib: float = 0.0


@contextmanager
def measured(device: torch.device, usage: Usage) -> Iterator[Usage]:
    """Adds the block's wall time to `usage.seconds` and raises `usage.peak_memory_mib` to its peak.

    On CUDA the peak is the memory torch allocated; elsewhere it is the process's resident set,
    sampled every 20 ms (model weights included, as a user would see it).
    """
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    watcher = _ResidentPeak() if device.type != "cuda" else None
    start = time.perf_counter()
    try:
        yield usage
    finally:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            peak = torch.cuda.max_memory_allocated(device) / MIB
        else:
            peak = watcher.stop() / MIB
        usage.seconds += time.perf_counter() - start
        usage.peak_memory_mib = max(usage.peak_memory_mib, peak)


class _ResidentPeak:
    """The highest resident set size of this process while it runs, from /proc (Linux) or getrusage."""

    def __init__(self, interval: float = 0.02) -> None:
        self.peak = _resident_bytes()
        self._done = threading.Event()
        self._interval = interval
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.wait(self._interval):
            self.peak = max(self.peak, _resident_bytes())

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        return float(max(self.peak, _resident_bytes()))


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except OSError:  # not Linux: the lifetime peak is the best the OS offers
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
