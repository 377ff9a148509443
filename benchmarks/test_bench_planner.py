"""Warm re-planning against a cold J3O over a simulated day.

`taskonomy`, 20 edges, window mode; 1,000 clients (and 10,000, slow). A 24-step daily cycle of
rates, rate_k = base * (1 + 0.3*sin(2*pi*k/24)) * (1 + 0.1*noise) with seeded standard normal
noise (clipped at 0): at each step the planner re-plans warm from the previous step and a cold
``solve_j3o`` solves the same changed instance. Per step: warm/cold time and warm/cold
objective; extra_info holds their mean and max (time) and mean and min (objective). Only
correctness (both decisions verify) is asserted; the ratios are reported as measured.
"""

import math

import numpy as np
import pytest

from j3o_fast.placement import PlacementPlanner, generate, verify
from j3o_fast.placement.j3o import solve_j3o

STEPS = 24


def daily_rates(base: np.ndarray, steps: int, seed: int):
    rng = np.random.default_rng(seed)
    for k in range(1, steps + 1):
        noise = rng.standard_normal(base.shape)
        yield k, np.maximum(base * (1 + 0.3 * math.sin(2 * math.pi * k / 24)) * (1 + 0.1 * noise), 0.0)


def _day(inst):
    planner = PlacementPlanner(inst)
    planner.solve()                                    # the cold first plan, outside the comparison
    rows = []
    for k, rate in daily_rates(inst.rate, STEPS, seed=0):
        planner.update(rate=rate)
        warm = planner.solve()
        cold = solve_j3o(planner.instance)
        rows.append((k, warm, cold, planner.last_changes, planner.instance))
    return rows


@pytest.mark.parametrize("n_clients", [1000, pytest.param(10_000, marks=pytest.mark.slow)],
                         ids=lambda n: f"N{n}")
def test_bench_warm_replanning_daily_cycle(benchmark, n_clients):
    inst = generate("taskonomy", n_clients, 20, seed=0, window=0.05)
    solve_j3o(generate("taskonomy", 50, 2, seed=0, window=0.05))   # JIT warm, outside the timer
    rows = benchmark.pedantic(lambda: _day(inst), rounds=1, iterations=1)
    time_ratio, objective_ratio = [], []
    for k, warm, cold, changes, step_inst in rows:
        for res in (warm, cold):
            report = verify(step_inst, res.decision, claimed_objective=res.objective)
            assert report.ok, report.summary()
        time_ratio.append(warm.runtime_s / cold.runtime_s)
        objective_ratio.append(warm.objective / cold.objective)
        print(f"step {k:2d}: warm {warm.runtime_s:.3f} s A={warm.objective:.5f} ({changes} changes), "
              f"cold {cold.runtime_s:.3f} s A={cold.objective:.5f}; time {time_ratio[-1]:.3f}, "
              f"objective {objective_ratio[-1]:.5f}")
    summary = dict(time_ratio_mean=float(np.mean(time_ratio)), time_ratio_max=float(np.max(time_ratio)),
                   objective_ratio_mean=float(np.mean(objective_ratio)),
                   objective_ratio_min=float(np.min(objective_ratio)),
                   warm_s_mean=float(np.mean([r[1].runtime_s for r in rows])),
                   cold_s_mean=float(np.mean([r[2].runtime_s for r in rows])))
    benchmark.extra_info.update(summary, time_ratio=time_ratio, objective_ratio=objective_ratio)
    print(f"\n{n_clients} clients, {STEPS} steps: warm/cold time mean {summary['time_ratio_mean']:.3f} "
          f"max {summary['time_ratio_max']:.3f}; warm/cold objective mean {summary['objective_ratio_mean']:.5f} "
          f"min {summary['objective_ratio_min']:.5f} (warm {summary['warm_s_mean']:.3f} s, "
          f"cold {summary['cold_s_mean']:.3f} s per step)")
