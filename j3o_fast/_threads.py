"""The one place that turns a ``threads`` or ``n_jobs`` option into workers, and the pool that uses them.

``resolve_threads`` sizes the thread pool of one solve (None: every usable core);
``resolve_jobs`` sizes the worker processes of a study (None or 1: one, -1: every usable core),
following joblib's ``n_jobs``. Both count the cores this process may run on (``usable_cores``).

Threads, not processes: the work they share out is HiGHS solves, and HiGHS releases the GIL while
it runs, so edge LPs solved on separate threads run truly in parallel. Each HiGHS model itself
runs on one thread (its simplex gains nothing from more), so ``threads`` is the number of models
solved at once.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

import numpy as np

from .errors import InvalidInputError

T = TypeVar("T")
R = TypeVar("R")


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, where the platform tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resolve_threads(threads: int | None) -> int:
    """Worker threads for ``threads``: None -> every usable core, k >= 1 -> k."""
    if threads is None:
        return usable_cores()
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise InvalidInputError("threads", f"must be an integer >= 1 or None (every core), got {threads!r}")
    return int(threads)


def resolve_jobs(n_jobs: int | None) -> int:
    """Worker processes for ``n_jobs``: None or 1 -> 1, -1 -> every usable core, k >= 1 -> k.

    Errors name the option "jobs" (the CLI's ``--jobs``), e.g. ``jobs: must be an integer >= 1
    or -1 (every core), got 0``.

    >>> resolve_jobs(None), resolve_jobs(4), resolve_jobs(-1) == usable_cores()
    (1, 4, True)
    """
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 or n_jobs < -1:
        raise InvalidInputError("jobs", f"must be an integer >= 1 or -1 (every core), got {n_jobs!r}")
    return usable_cores() if n_jobs == -1 else int(n_jobs)


class WorkerPool:
    """``map`` over a fixed number of threads, kept alive between calls; plain ``map`` for one.

    Results come back in the order of the items, whatever order the threads finish in, so the
    outcome does not depend on the number of threads. Use as a context manager, or ``close()``.
    """

    def __init__(self, threads: int):
        self.threads = threads
        self._executor: ThreadPoolExecutor | None = None

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        items = list(items)
        if self.threads <= 1 or len(items) <= 1:
            return [fn(item) for item in items]
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="j3o_fast")
        return list(self._executor.map(fn, items))

    def close(self) -> None:
        """Wait for running items (a HiGHS solve cannot be abandoned halfway), drop queued ones."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
