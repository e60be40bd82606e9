"""The serve work queue: at most `concurrency` at once, at most `max_waiting` waiting, the rest refused."""

import threading

import pytest

from unclip_core.serve.work_queue import QueueFull, WorkQueue


def test_runs_at_most_concurrency_at_once_and_refuses_past_the_waiting_line():
    queue = WorkQueue(concurrency=2, max_waiting=1)
    release, started = threading.Event(), threading.Semaphore(0)
    running, most = [0], [0]
    lock = threading.Lock()

    def work():
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        started.release()
        release.wait(10)
        with lock:
            running[0] -= 1
        return "done"

    results = []
    threads = [threading.Thread(target=lambda: results.append(queue.run(work))) for _ in range(3)]
    for thread in threads:
        thread.start()
    started.acquire(timeout=10)
    started.acquire(timeout=10)
    while queue.state()["waiting"] < 1:  # the third waits for a slot
        threading.Event().wait(0.01)
    assert queue.state() == {"running": 2, "waiting": 1, "concurrency": 2, "max_waiting": 1}
    with pytest.raises(QueueFull, match="busy"):
        queue.run(work)
    release.set()
    for thread in threads:
        thread.join(10)
    assert results == ["done"] * 3 and most[0] == 2
    assert queue.state()["running"] == 0 and queue.run(lambda: 5) == 5


def test_a_failing_operation_frees_its_slot():
    queue = WorkQueue(concurrency=1, max_waiting=0)
    with pytest.raises(ZeroDivisionError):
        queue.run(lambda: 1 / 0)
    assert queue.run(lambda: "next") == "next"
