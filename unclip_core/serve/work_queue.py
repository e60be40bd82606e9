"""One bounded queue for all model work, from the page and the API alike.

At most `concurrency` operations run at once (each holds a slot while it samples), and at most
`max_waiting` more wait for a slot; a request beyond that is refused at once (QueueFull) rather
than piling up, so memory stays bounded however many clients call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from ..errors import UnclipError

T = TypeVar("T")


class QueueFull(UnclipError):
    """Every slot is busy and the waiting line is full."""


class WorkQueue:
    def __init__(self, concurrency: int = 1, max_waiting: int = 32) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if max_waiting < 0:
            raise ValueError(f"max_waiting must be 0 or more, got {max_waiting}")
        self.concurrency = concurrency
        self.max_waiting = max_waiting
        self._slots = threading.Semaphore(concurrency)
        self._lock = threading.Lock()
        self._admitted = 0
        self._running = 0

    def run(self, work: Callable[[], T]) -> T:
        """Run `work` in the calling thread once a slot is free; QueueFull if the line is full."""
        with self._lock:
            if self._admitted >= self.concurrency + self.max_waiting:
                raise QueueFull(
                    f"the server is busy ({self._running} running, {self._admitted - self._running} waiting); "
                    "try again shortly"
                )
            self._admitted += 1
        try:
            with self._slots:
                with self._lock:
                    self._running += 1
                try:
                    return work()
                finally:
                    with self._lock:
                        self._running -= 1
        finally:
            with self._lock:
                self._admitted -= 1

    def state(self) -> dict[str, int]:
        with self._lock:
            return {
                "running": self._running, "waiting": self._admitted - self._running,
                "concurrency": self.concurrency, "max_waiting": self.max_waiting,
            }
