"""Work done inside a worker: ``run_chunk`` runs tasks one after the other on one thread
(``single_threaded``), building each seeded instance (``make_instance``), running the method
(``run_method``) and turning the result into a table row checked by the independent verifier,
all through the domain's adapter (``DomainAdapter.outcome``); a task that raises becomes a row
with status "error". Everything here is a module-level function, so joblib can send it to loky,
Dask or Ray workers by reference."""

from __future__ import annotations

import math
import os
import socket
import sys
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping

from ._common import _canonical
from .adapters import adapter
from .tasks import Task


def make_instance(domain: str, params: Mapping[str, Any], seed: int) -> Any:
    """The seeded instance of a configuration (the generator's keyword arguments in ``params``)."""
    return adapter(domain).make_instance(params, seed)


def run_method(domain: str, instance: Any, method: str, options: Mapping[str, Any]) -> Any:
    """Run one method of the domain; returns its result (a SolveResult; online: the row's result
    columns, ``online.run_online``)."""
    return adapter(domain).run_method(instance, method, options)


_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


@contextmanager
def single_threaded(worker: bool = False) -> Iterator[None]:
    """Numba, OpenMP and BLAS on one thread for the duration (HiGHS gets threads=1 as an option).

    In a ``worker`` process that has not loaded Numba yet, the environment is set first, since
    Numba and OpenMP read it once when they load; Numba and the BLAS/OpenMP pools are then capped
    at run time and restored on exit, so a caller running tasks in its own process keeps its
    environment and thread counts.
    """
    if worker and "numba" not in sys.modules:
        for var in _THREAD_VARS:
            os.environ[var] = "1"
    import numba
    from threadpoolctl import threadpool_limits

    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        numba.set_num_threads(previous)


_WARM: set = set()


def _warm_up(task: Task) -> None:
    """Solve an instance of size 2 once per process and method, untimed, so that loading compiled
    kernels is not charged to the first task a worker runs (where the domain's adapter asks for it)."""
    domain = adapter(task.domain)
    if (task.domain, task.method) in _WARM or not domain.warm_up:
        return
    _WARM.add((task.domain, task.method))
    try:
        tiny = domain.make_instance({**dict(task.params), domain.size_key: 2}, 0)
        domain.run_method(tiny, task.method, dict(task.options))
    except Exception:  # the real task reports whatever goes wrong
        pass


def _result_row(task: Task, run_id: str, instance_cache: dict) -> dict:
    row = {"task": task.key, "study": task.study, "experiment": task.experiment, "domain": task.domain,
           "instance": task.instance, "replicate": task.replicate, "seed": task.seed, **_param_columns(task.params),
           "method": task.label, "solver": task.method, "options": _canonical(dict(task.options)),
           "status": "error", "objective": math.nan, "upper_bound": math.nan, "gap": math.nan,
           "iterations": 0, "verified": None, "violations": "", "message": "", "error": "",
           "unserved": None, "lc_energy_j": math.nan, "saving": math.nan, "runtime_s": math.nan}
    t0 = time.perf_counter()
    try:
        domain = adapter(task.domain)
        ident = (task.domain, task.params, task.seed)
        if ident not in instance_cache:
            instance_cache.clear()   # one instance at a time: tasks of an instance are adjacent
            instance_cache[ident] = domain.make_instance(dict(task.params), task.seed)
        inst = instance_cache[ident]
        result = domain.run_method(inst, task.method, dict(task.options))
        row.update(domain.outcome(inst, result))   # verified by the domain's own verifier
    except Exception as exc:  # a failing task is recorded; the study goes on
        row["status"] = "error"
        row["error"] = f"{type(exc).__name__}: {exc}"
    for k in ("upper_bound", "gap"):
        row[k] = math.nan if row[k] is None else float(row[k])
    row["wall_s"] = time.perf_counter() - t0
    row.update(run_id=run_id, worker=f"{socket.gethostname()}:{os.getpid()}", finished_at=time.time())
    return row


def _param_columns(params: tuple) -> dict:
    """Generator parameters as table columns: scalars as they are, ranges as JSON text."""
    return {k: (_canonical(v) if isinstance(v, (tuple, list)) else v) for k, v in params}


def run_chunk(tasks: list[Task], run_id: str = "", on_task: Callable[[Task], object] | None = None,
              worker: bool = False) -> list[dict[str, Any]]:
    """Run ``tasks`` one after the other on one thread; one row per task, failures included.

    ``on_task(task)`` is called before each task (e.g. to count executions in tests);
    ``worker`` says the process is a worker of its own (see ``single_threaded``).
    """
    rows: list[dict[str, Any]] = []
    cache: dict[Any, Any] = {}
    with single_threaded(worker):
        for task in tasks:
            if on_task is not None:
                on_task(task)
            _warm_up(task)
            rows.append(_result_row(task, run_id, cache))
    return rows
