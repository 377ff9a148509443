"""Work done inside a worker: ``run_chunk`` runs tasks one after the other on one thread
(``single_threaded``), building each seeded instance (``make_instance``), running the method
(``run_method``), checking the result with the independent verifier and turning it into a
table row; a task that raises becomes a row with status "error". Everything here is a
module-level function, so joblib can send it to loky, Dask or Ray workers by reference."""

from __future__ import annotations

import math
import os
import socket
import sys
import time
from contextlib import contextmanager
from typing import Mapping


from ..errors import InvalidInputError
from ._common import _canonical, _is_real
from .study import LP_BOUND, SIZE_KEY
from .tasks import Task


def make_instance(domain: str, params: Mapping, seed: int):
    """The seeded instance of a configuration (the generator's keyword arguments in ``params``)."""
    p = dict(params)
    if domain == "online":
        from .online import make_online_instance

        return make_online_instance(p, seed)
    if domain == "placement":
        from ..placement import generate

        return generate(p.pop("family"), p.pop("n_clients"), p.pop("n_edges", None), seed,
                        window=p.pop("window", None), **p)
    from ..coinference.profiles import DEFAULT_DEADLINE_S, generate

    factor = p.pop("deadline_factor", None)
    if factor is not None:
        if p["profile"] not in DEFAULT_DEADLINE_S:
            raise InvalidInputError("profile", f"has no default deadline to scale, got {p['profile']!r}")
        if not (_is_real(factor) and factor > 0):
            raise InvalidInputError("deadline_factor", f"must be > 0, got {factor!r}")
        p["deadline_s"] = factor * DEFAULT_DEADLINE_S[p["profile"]]
    return generate(p.pop("profile"), p.pop("n_users"), seed=seed, **p)


def run_method(domain: str, instance, method: str, options: Mapping):
    """Run one method; returns a SolveResult (online: the row's result columns, ``online.run_online``)."""
    if domain == "online":
        from .online import run_online

        return run_online(instance, method, options)
    if domain == "placement":
        if method == LP_BOUND:
            from ..placement import lp_upper_bound
            from ..result import SolveResult

            if set(options) - {"threads"}:
                raise InvalidInputError("options", f"{LP_BOUND} takes only threads, got {sorted(options)}")
            t0 = time.perf_counter()
            bound = lp_upper_bound(instance, **options)
            return SolveResult(method=LP_BOUND, status="optimal", objective=bound, decision=None,
                               runtime_s=time.perf_counter() - t0, upper_bound=bound,
                               message="LP relaxation: an upper bound, not a placement")
        from ..placement.solve import solve
    else:
        from ..coinference.solve import solve
    return solve(instance, method, **options)


def _verify(domain: str, instance, result) -> dict:
    """The independent verifier's verdict on a result (None where there is nothing to verify)."""
    if result.decision is None:
        return {"verified": None, "violations": ""}
    if domain == "placement":
        from ..placement import verify

        report = verify(instance, result.decision, claimed_objective=result.objective)
        return {"verified": bool(report.ok), "violations": "; ".join(str(v) for v in report.violations)}
    from ..coinference.verify import plan_verdict

    plan = result.decision
    # A plan may list users it cannot serve (they run locally and miss their deadline): that is
    # a declared outcome, not a broken plan.
    verdict = plan_verdict(instance, plan)
    return {"verified": verdict.accepted,
            "violations": "" if verdict.accepted else "; ".join(str(v) for v in verdict.report.violations),
            "unserved": len(plan.infeasible_users)}


_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


@contextmanager
def single_threaded(worker: bool = False):
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
    """Solve a 2-client (2-user) instance once per process and method, untimed, so that loading
    compiled kernels is not charged to the first task a worker runs."""
    if (task.domain, task.method) in _WARM or task.domain == "online":   # online tasks run for long
        return
    _WARM.add((task.domain, task.method))
    try:
        tiny = make_instance(task.domain, {**dict(task.params), SIZE_KEY[task.domain]: 2}, 0)
        run_method(task.domain, tiny, task.method, dict(task.options))
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
        ident = (task.domain, task.params, task.seed)
        if ident not in instance_cache:
            instance_cache.clear()   # one instance at a time: tasks of an instance are adjacent
            instance_cache[ident] = make_instance(task.domain, dict(task.params), task.seed)
        inst = instance_cache[ident]
        result = run_method(task.domain, inst, task.method, dict(task.options))
        if task.domain == "online":   # the policy's figures over the evaluation traces, verified
            row.update(result)
        else:
            row.update({k: v for k, v in result.to_dict().items() if k != "method"})
            row.update(_verify(task.domain, inst, result))
        if task.domain == "coinference":
            lc = float(inst.energy[:, inst.n_subtasks].sum())
            row["lc_energy_j"] = lc
            row["saving"] = 1.0 - result.objective / lc
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


def run_chunk(tasks: list, run_id: str = "", on_task=None, worker: bool = False) -> list[dict]:
    """Run ``tasks`` one after the other on one thread; one row per task, failures included.

    ``on_task(task)`` is called before each task (e.g. to count executions in tests);
    ``worker`` says the process is a worker of its own (see ``single_threaded``).
    """
    rows, cache = [], {}
    with single_threaded(worker):
        for task in tasks:
            if on_task is not None:
                on_task(task)
            _warm_up(task)
            rows.append(_result_row(task, run_id, cache))
    return rows
