"""The thread option: resolved in one place; the pool keeps item order."""

import threading
import time

import numpy as np
import pytest

from j3o_fast._threads import WorkerPool, resolve_jobs, resolve_threads, usable_cores
from j3o_fast.errors import InvalidInputError


def test_resolve_threads():
    assert resolve_threads(None) == usable_cores() >= 1
    assert resolve_threads(3) == 3


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_threads_are_refused_by_name(bad):
    with pytest.raises(InvalidInputError, match=r"threads: must be an integer >= 1 or None"):
        resolve_threads(bad)


def test_resolve_jobs():
    assert resolve_jobs(None) == resolve_jobs(1) == 1
    assert resolve_jobs(-1) == usable_cores() >= 1
    assert resolve_jobs(5) == 5
    assert isinstance(resolve_jobs(np.int64(2)), int)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2", np.bool_(True)])
def test_bad_jobs_are_refused_by_name(bad):
    with pytest.raises(InvalidInputError, match=r"jobs: must be an integer >= 1 or -1"):
        resolve_jobs(bad)


def test_pool_keeps_order_and_uses_threads():
    seen = set()

    def slow_square(i):
        seen.add(threading.current_thread().name)
        time.sleep(0.01 * (5 - i))  # later items finish first
        return i * i

    with WorkerPool(2) as pool:
        assert pool.map(slow_square, range(5)) == [0, 1, 4, 9, 16]
    assert len(seen) == 2 and all(name.startswith("j3o_fast") for name in seen)


def test_one_thread_runs_inline():
    with WorkerPool(1) as pool:
        assert pool.map(lambda _: threading.current_thread(), [0, 1]) == [threading.current_thread()] * 2


def test_close_drops_queued_items_after_an_interrupt():
    """An exception in the caller (e.g. Ctrl-C) while items are queued: close() runs no more of them."""
    started = []

    def slow(i):
        started.append(i)
        time.sleep(0.05)
        return i

    pool = WorkerPool(2)
    assert pool.map(lambda i: i, [1, 2]) == [1, 2]  # starts the threads
    futures = [pool._executor.submit(slow, i) for i in range(20)]
    time.sleep(0.01)
    pool.close()
    assert len(started) < 20 and any(f.cancelled() for f in futures)
