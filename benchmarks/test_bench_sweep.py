"""The study runner on many small J3O instances (`nyu`, 10 clients, 1 edge): throughput with 1 and
2 loky workers, and the runner's overhead against generating and solving the same instances in a
plain loop.

extra_info: tasks per second; ``speedup`` = t(1 worker) / t(2 workers) of the same run;
``runner_over_loop`` = t(runner, 1 worker) / t(plain loop) and ``overhead_ms_per_task``. The
runner does more than the loop per task (it verifies every solution and stores a row), so part of
the overhead is that certificate. The 1,000-instance size is marked slow; 100 runs in CI.
"""

import time

import numpy as np
import pytest

from j3o_fast import sweep
from j3o_fast.placement import generate
from j3o_fast.placement.solve import solve
from j3o_fast.sweep import Experiment, Study

SIZES = [pytest.param(100, id="T100"), pytest.param(1000, id="T1000", marks=pytest.mark.slow)]
_TIMES: dict = {}


def study(n_tasks: int) -> Study:
    return Study(f"bench-{n_tasks}", root_seed=8, experiments=(
        Experiment("j3o", "placement", methods=("j3o",), params={"family": "nyu", "n_clients": 10, "n_edges": 1},
                   seeds=n_tasks),))


@pytest.fixture(scope="module", autouse=True)
def warm():
    # compile/load the kernels in this process and start the loky workers once, outside the timers
    sweep.run_study(study(4), None, n_jobs=1, progress=False)
    sweep.run_study(study(4), None, n_jobs=2, progress=False)


def _plain_loop(n_tasks: int) -> list:
    s = study(n_tasks)
    config = s.experiments[0].configurations()[0]
    out = []
    for r in range(n_tasks):
        seed, _ = sweep.instance_seeds(s.root_seed, "placement", config, r)
        inst = generate("nyu", 10, 1, seed=seed)
        out.append(solve(inst, "j3o", threads=1).objective)
    return out


@pytest.mark.parametrize("n_tasks", SIZES)
def test_bench_sweep_plain_loop(benchmark, n_tasks):
    t0 = time.perf_counter()
    objectives = benchmark.pedantic(lambda: _plain_loop(n_tasks), rounds=1, iterations=1)
    _TIMES[("loop", n_tasks)] = (time.perf_counter() - t0, objectives)
    assert len(objectives) == n_tasks and all(0 < a <= 1 for a in objectives)
    benchmark.extra_info.update(tasks_per_s=n_tasks / _TIMES[("loop", n_tasks)][0])


@pytest.mark.parametrize("workers", [1, 2], ids=["jobs1", "jobs2"])
@pytest.mark.parametrize("n_tasks", SIZES)
def test_bench_sweep_throughput(benchmark, n_tasks, workers):
    s = study(n_tasks)
    t0 = time.perf_counter()
    table = benchmark.pedantic(lambda: sweep.run_study(s, None, n_jobs=workers, progress=False), rounds=1,
                               iterations=1)
    elapsed = time.perf_counter() - t0
    _TIMES[(workers, n_tasks)] = (elapsed, table)
    assert len(table) == n_tasks and (table["status"] == "feasible").all() and table["verified"].all()
    info = {"tasks_per_s": n_tasks / elapsed, "workers_used": int(table["worker"].nunique())}
    if ("loop", n_tasks) in _TIMES:
        loop_s, objectives = _TIMES[("loop", n_tasks)]
        # the runner computes exactly what the plain loop computes
        assert np.array_equal(table["objective"].to_numpy(), np.array(objectives))
        if workers == 1:
            info.update(runner_over_loop=elapsed / loop_s, overhead_ms_per_task=1e3 * (elapsed - loop_s) / n_tasks)
    if workers == 2 and (1, n_tasks) in _TIMES:
        one_s, one = _TIMES[(1, n_tasks)]
        cols = sweep.deterministic_columns(table)
        assert table[cols].equals(one[cols])                   # same numbers with 1 and 2 workers
        info.update(speedup=one_s / elapsed)
    benchmark.extra_info.update(info)
