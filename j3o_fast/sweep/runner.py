"""Running a study: ``run_study`` expands it, skips the tasks already stored, and runs the rest in
chunks of whole tasks with joblib on loky processes (default), Dask (through joblib's dask
backend) or Ray (``ray.util.joblib``), storing each finished chunk as it comes and assembling
the table at the end; workers come from ``n_jobs`` through the package's one ``resolve_jobs``."""

from __future__ import annotations

import math
import os
import sys
import time
import uuid
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    import pandas as pd

from .._threads import resolve_jobs
from ..errors import InvalidInputError
from ._common import _is_int
from .check import check_study
from .store import ResultStore
from .study import Study
from .table import assemble
from .tasks import expand
from .worker import _THREAD_VARS, run_chunk

BACKENDS = ("loky", "dask", "ray")


class StudyAborted(RuntimeError):
    """The run stopped early: a worker process died or a finished chunk could not be stored.

    Every chunk stored before stays readable, so running the same study into the same folder
    again resumes it with the same numbers.
    """


def _worker_died(exc: BaseException) -> bool:
    """True for the errors by which joblib (loky) and Dask report a lost worker process."""
    names = {"TerminatedWorkerError", "BrokenProcessPool", "KilledWorker"}
    return any(type(e).__name__ in names for e in (exc, exc.__cause__) if e is not None)


def _auto_chunk(n_tasks: int, workers: int) -> int:
    # about eight chunks per worker balances the load; 64 tasks bounds what an interruption loses
    return max(1, min(64, math.ceil(n_tasks / (8 * max(workers, 1)))))


def _chunks(tasks: list, size: int) -> list:
    return [tasks[i:i + size] for i in range(0, len(tasks), size)]


@contextmanager
def _parallel(backend: str, workers: int, scheduler: str | None) -> Iterator:
    """A callable taking joblib delayed calls and yielding their results as they finish."""
    from joblib import Parallel, parallel_config

    kw = dict(return_as="generator_unordered", batch_size=1, pre_dispatch="2*n_jobs")
    if backend == "loky":
        yield Parallel(n_jobs=workers, backend="loky", **kw)
    elif backend == "dask":
        with _dask_client(workers, scheduler):
            with parallel_config(backend="dask"):
                yield Parallel(**kw)
    elif backend == "ray":
        # Ray's joblib backend returns lists only: run waves of two chunks per worker, so that
        # results are still stored as they come and an interruption loses at most one wave.
        with _ray_cluster(workers, scheduler):
            with parallel_config(backend="ray", n_jobs=workers), \
                    Parallel(return_as="list", batch_size=1) as waves:   # one pool for every wave

                def by_waves(calls):
                    calls = list(calls)
                    for i in range(0, len(calls), 2 * workers):
                        yield from waves(calls[i:i + 2 * workers])

                yield by_waves
    else:
        raise InvalidInputError("backend", f"must be one of {', '.join(BACKENDS)}, got {backend!r}")


@contextmanager
def _dask_client(workers: int, scheduler: str | None):
    """The current Dask client, else one for ``scheduler``, else a local cluster of ``workers``
    single-threaded processes (closed afterwards)."""
    try:
        from distributed import Client, LocalCluster, get_client
    except ImportError:
        raise InvalidInputError("backend",
                                "dask needs the distributed extra: pip install 'j3o-fast[distributed]'") from None
    if scheduler is None:
        try:
            get_client()
            yield
            return
        except ValueError:
            pass
    if scheduler is not None:
        with Client(scheduler):
            yield
        return
    env = {var: "1" for var in _THREAD_VARS}
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      env=env) as cluster, Client(cluster):
        yield


@contextmanager
def _ray_cluster(workers: int, scheduler: str | None):
    """Ray's joblib backend on a running Ray (``scheduler``, or already initialised), else a
    local Ray of ``workers`` CPUs (shut down afterwards)."""
    try:
        import ray
        from ray.util.joblib import register_ray
    except ImportError:
        raise InvalidInputError("backend", "ray needs the ray extra: pip install 'j3o-fast[ray]'") from None
    register_ray()
    if ray.is_initialized():
        yield
        return
    # No runtime_env for the thread variables: it makes Ray start workers through its
    # runtime-env agent, ten times slower here; each task caps its threads itself.
    if scheduler is not None:
        ray.init(address=scheduler, log_to_driver=False)
    else:
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def run_study(study: Study, out: str | os.PathLike | None = None, *, n_jobs: int | None = 1,
              backend: str = "loky", scheduler: str | None = None, chunk_size: int | None = None,
              progress: bool | None = False, retry_failed: bool = False) -> pd.DataFrame:
    """Run every task of ``study`` not yet stored in ``out`` and return the whole table.

    ``out`` None keeps nothing on disk. ``n_jobs`` workers (-1: every core); ``backend`` loky,
    dask (``scheduler`` address, else the current client, else a local cluster of n_jobs
    processes) or ray (``scheduler`` address, else a local Ray). ``chunk_size`` tasks go to a
    worker at a time (default: about eight chunks per worker, at most 64 tasks). ``progress``
    True shows a bar and the count of failed tasks on standard error; None does so only when
    standard error is a terminal (the command line's choice); False, the default, prints
    nothing. ``retry_failed`` runs stored failures again.
    Returns a pandas DataFrame, one row per (instance, method), in task order.
    """
    if backend not in BACKENDS:
        raise InvalidInputError("backend", f"must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if scheduler is not None and backend == "loky":
        raise InvalidInputError("scheduler", "only the dask and ray backends take a scheduler address")
    workers = resolve_jobs(n_jobs)
    if chunk_size is not None and (not _is_int(chunk_size) or chunk_size < 1):
        raise InvalidInputError("chunk_size", f"must be an integer >= 1, got {chunk_size!r}")
    check_study(study)
    tasks = expand(study)
    store = ResultStore(out) if out is not None else None
    wanted = {t.key for t in tasks}
    stored = [r for r in store.finished() if r["task"] in wanted] if store else []
    if retry_failed:
        stored = [r for r in stored if r["status"] != "error"]
    done = {r["task"] for r in stored}
    todo = [t for t in tasks if t.key not in done]
    run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    rows = list(stored)
    from tqdm import tqdm

    quiet = progress is False or (progress is None and not sys.stderr.isatty())
    bar = tqdm(total=len(tasks), initial=len(done), unit="task", desc=study.name, disable=quiet,
               dynamic_ncols=True, file=sys.stderr)
    try:
        if todo:
            chunks = _chunks(todo, chunk_size or _auto_chunk(len(todo), workers))
            if workers == 1 and backend == "loky":   # in this process: nothing to pickle or spawn
                _consume((run_chunk(c, run_id) for c in chunks), store, run_id, rows, bar)
            else:
                from joblib import delayed

                with _parallel(backend, workers, scheduler) as parallel:
                    calls = (delayed(run_chunk)(c, run_id, worker=True) for c in chunks)
                    _consume(parallel(calls), store, run_id, rows, bar)
    except Exception as exc:
        if not _worker_died(exc):
            raise
        kept = f"the {len(rows)} tasks finished before are stored in {out}" if store else "nothing was stored"
        raise StudyAborted(f"a worker process died ({type(exc).__name__}); {kept}: run the same study "
                           "again to resume") from exc
    finally:
        bar.close()
    table = assemble(tasks, rows)
    if store is not None:
        store.write_table(table, study)
    failed = int((table["status"] == "error").sum()) if len(table) else 0
    if failed and not quiet:
        print(f"j3o-fast: {failed} of {len(table)} tasks failed (status 'error'; see the error column)",
              file=sys.stderr)
    return table


def _consume(results, store, run_id, rows, bar) -> None:
    failed = sum(r["status"] == "error" for r in rows)
    for chunk_rows in results:
        if store is not None:
            try:
                store.write_chunk(chunk_rows, run_id)
            except OSError as exc:   # disk full, read-only folder, ...: what is stored stays stored
                raise StudyAborted(f"cannot store a finished chunk in {store.chunks} ({exc.strerror or exc}); "
                                   f"the {len(rows)} tasks stored before are kept: fix the folder and run the "
                                   "same study again to resume") from None
        rows.extend(chunk_rows)
        bar.update(len(chunk_rows))
        failed += sum(r["status"] == "error" for r in chunk_rows)
        if failed:
            bar.set_postfix_str(f"{failed} failed", refresh=False)
