"""Warm re-planning against a cold J3O, step by step.

`taskonomy`, 20 edges, window mode; 1,000 clients (and 10,000, slow). Two sequences of rates,
each step re-planned warm by one ``PlacementPlanner`` (from the previous step) while a cold
``solve_j3o`` solves the same changed instance:

- ``random``: 20 steps, each a 10% random change of every rate, rate <- rate * U(0.9, 1.1)
  (seeded). The planner's quality bar is asserted here: warm/cold objective >= 0.999 on
  average and >= 0.995 at every step (both solvers count work, not seconds, so the ratio is
  the same on any machine);
- ``daily``: a 24-step daily cycle, rate_k = base * (1 + 0.3*sin(2*pi*k/24)) * (1 + 0.1*noise),
  noise seeded standard normal (clipped at 0): larger, correlated swings, reported only.

Per step: warm/cold time and warm/cold objective; extra_info holds their mean and max (time),
mean and min (objective) and the model changes per step. Both decisions of every step verify.
The time ratios are measured, never asserted.

Small instances: 50 clients, 2 edges, `nyu` and `taskonomy`, seeds 0-2, 5 steps of the
``random`` sequence each: the warm re-plans' time as a share of the exact MIP's on the same
changed instances (and a cold J3O's, for scale), all on one thread, with warm/OPT.
"""

import math
import time

import numpy as np
import pytest

from j3o_fast.placement import PlacementPlanner, generate, solve_mip, verify
from j3o_fast.placement.j3o import solve_j3o


def random_rates(base: np.ndarray, seed: int, steps: int = 20):
    """Every rate changed by a random factor in [0.9, 1.1] at each step (a random walk)."""
    rng = np.random.default_rng(seed)
    rate = base
    for k in range(1, steps + 1):
        rate = rate * rng.uniform(0.9, 1.1, size=base.shape)
        yield k, rate


def daily_rates(base: np.ndarray, seed: int, steps: int = 24):
    """A daily cycle of +-30% with 10% noise, one step an hour."""
    rng = np.random.default_rng(seed)
    for k in range(1, steps + 1):
        noise = rng.standard_normal(base.shape)
        yield k, np.maximum(base * (1 + 0.3 * math.sin(2 * math.pi * k / 24)) * (1 + 0.1 * noise), 0.0)


SEQUENCES = {"random": random_rates, "daily": daily_rates}


def _steps(inst, sequence):
    planner = PlacementPlanner(inst)
    planner.solve()                                    # the cold first plan, outside the comparison
    rows = []
    for k, rate in SEQUENCES[sequence](inst.rate, seed=0):
        planner.update(rate=rate)
        warm = planner.solve()
        cold = solve_j3o(planner.instance)
        rows.append((k, warm, cold, planner.last_changes, planner.instance))
    return rows


@pytest.mark.parametrize("sequence", list(SEQUENCES))
@pytest.mark.parametrize("n_clients", [1000, pytest.param(10_000, marks=pytest.mark.slow)],
                         ids=lambda n: f"N{n}")
def test_bench_warm_replanning(benchmark, n_clients, sequence):
    inst = generate("taskonomy", n_clients, 20, seed=0, window=0.05)
    solve_j3o(generate("taskonomy", 50, 2, seed=0, window=0.05))   # JIT warm, outside the timer
    rows = benchmark.pedantic(lambda: _steps(inst, sequence), rounds=1, iterations=1)
    time_ratio, objective_ratio, changes = [], [], []
    for k, warm, cold, n_changes, step_inst in rows:
        for res in (warm, cold):
            report = verify(step_inst, res.decision, claimed_objective=res.objective)
            assert report.ok, report.summary()
        time_ratio.append(warm.runtime_s / cold.runtime_s)
        objective_ratio.append(warm.objective / cold.objective)
        changes.append(n_changes)
        print(f"step {k:2d}: warm {warm.runtime_s:.3f} s A={warm.objective:.5f} ({n_changes} changes), "
              f"cold {cold.runtime_s:.3f} s A={cold.objective:.5f}; time {time_ratio[-1]:.3f}, "
              f"objective {objective_ratio[-1]:.5f}")
    summary = dict(time_ratio_mean=float(np.mean(time_ratio)), time_ratio_max=float(np.max(time_ratio)),
                   objective_ratio_mean=float(np.mean(objective_ratio)),
                   objective_ratio_min=float(np.min(objective_ratio)),
                   changes_mean=float(np.mean(changes)),
                   warm_s_mean=float(np.mean([r[1].runtime_s for r in rows])),
                   cold_s_mean=float(np.mean([r[2].runtime_s for r in rows])))
    benchmark.extra_info.update(summary, time_ratio=time_ratio, objective_ratio=objective_ratio, changes=changes)
    print(f"\n{n_clients} clients, {sequence}, {len(rows)} steps: warm/cold time mean "
          f"{summary['time_ratio_mean']:.3f} max {summary['time_ratio_max']:.3f}; warm/cold objective mean "
          f"{summary['objective_ratio_mean']:.5f} min {summary['objective_ratio_min']:.5f}; "
          f"{summary['changes_mean']:.0f} model changes per step (warm {summary['warm_s_mean']:.3f} s, "
          f"cold {summary['cold_s_mean']:.3f} s per step)")
    if sequence == "random":
        assert summary["objective_ratio_mean"] >= 0.999 and summary["objective_ratio_min"] >= 0.995


@pytest.mark.parametrize("family", ["nyu", "taskonomy"])
def test_bench_warm_replanning_vs_mip_50_clients(benchmark, family):
    instances = [generate(family, 50, 2, seed=seed) for seed in (0, 1, 2)]
    solve_j3o(instances[0], threads=1)   # JIT and caches warm, outside the timer

    def replan_all():
        """Per step: (the changed instance, its warm re-plan, CPU seconds of that re-plan)."""
        out = []
        for seed, inst in enumerate(instances):
            planner = PlacementPlanner(inst, threads=1)
            planner.solve()                # the cold first plan, outside the comparison
            for _, rate in random_rates(inst.rate, seed=seed, steps=5):
                planner.update(rate=rate)
                t0 = time.process_time()
                warm = planner.solve()
                out.append((planner.instance, warm, time.process_time() - t0))
        return out

    steps = benchmark.pedantic(replan_all, rounds=1, iterations=1)
    warm_s = cold_s = mip_s = 0.0
    ratios = []
    for step_inst, warm, seconds in steps:
        assert verify(step_inst, warm.decision, claimed_objective=warm.objective).ok
        warm_s += seconds
        t0 = time.process_time()
        solve_j3o(step_inst, threads=1)
        cold_s += time.process_time() - t0
        t0 = time.process_time()
        opt = solve_mip(step_inst, threads=1)
        mip_s += time.process_time() - t0
        assert opt.status == "optimal" and warm.objective <= opt.objective + 1e-7
        ratios.append(warm.objective / opt.objective)
    benchmark.extra_info.update(warm_over_mip_time=warm_s / mip_s, cold_over_mip_time=cold_s / mip_s,
                                warm_ms_per_step=1000 * warm_s / len(steps), accuracy_ratio_min=min(ratios),
                                accuracy_ratio_median=float(np.median(ratios)))
    print(f"\n{family} 50 clients, {len(steps)} warm re-plans: {1000 * warm_s / len(steps):.1f} ms a step, "
          f"{warm_s / mip_s:.2%} of the MIP's time (cold J3O {cold_s / mip_s:.2%}); warm/OPT min "
          f"{min(ratios):.5f}, median {np.median(ratios):.5f}")
