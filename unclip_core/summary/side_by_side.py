"""Measuring a graph's stages side by side, one process per CPU core.

Each stage is measured on its own (built, moved to the pretend GPU, one forward pass), and the
work is Python dispatching shapes: one core per stage. The processes are forked from this one,
so they start with everything already imported (torch, Lightning and the plugins take seconds
to import; a fresh process per stage would spend that again). Where forking is not safe (off
Linux, where system libraries may not survive it; after this process made a CUDA context, which
a forked child cannot use), the stages are measured one after another in this process, with
the same results.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

import torch

Result = TypeVar("Result")

_jobs: Sequence[Callable[[], object]] = ()  # set while a pool runs; forked workers inherit it


def default_processes() -> int:
    """One per core this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_side_by_side(jobs: Sequence[Callable[[], Result]], processes: int) -> list[Result]:
    """`[job() for job in jobs]`, in up to `processes` forked processes at once, in order."""
    global _jobs
    processes = min(processes, len(jobs))
    if processes < 2 or not _can_fork():
        return [job() for job in jobs]
    _jobs = jobs
    try:
        with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_run, range(len(jobs))))
    finally:
        _jobs = ()


def _run(index: int):
    # Each process has a core of its own: more threads per process would only contend.
    torch.set_num_threads(1)
    return _jobs[index]()


def _can_fork() -> bool:
    return sys.platform == "linux" and not torch.cuda.is_initialized()
