"""A time-stepped simulator that re-plans the placement every step, warm, as rates drift.

A day of ``--steps`` steps: client rates follow a daily cycle with seeded noise,
rate_k = base * (1 + 0.3*sin(2*pi*k/24)) * (1 + 0.1*noise). Each step the planner re-plans
from the previous step (``PlacementPlanner.update`` then ``solve``); for comparison a cold
``solve_j3o`` solves the same instance. Writes a CSV table (step, mean accuracy A warm and
cold, solve time warm and cold, model changes) and a PNG plot of accuracy and time per step.

    python examples/warm_replanning.py                       # 300 clients, 24 steps
    python examples/warm_replanning.py out.png --clients 1000 --edges 20 --csv out.csv
    python examples/warm_replanning.py --max-changes 20      # at most 20 models loaded/unloaded a step
"""

from __future__ import annotations

import argparse
import csv
import math
import os

import numpy as np

from j3o_fast.placement import PlacementPlanner, generate, verify
from j3o_fast.placement.j3o import solve_j3o


def daily_rate(base: np.ndarray, step: int, rng: np.random.Generator) -> np.ndarray:
    """Rates of step ``step`` of a 24-step day: +-30% cycle, 10% seeded noise, never negative."""
    noise = rng.standard_normal(base.shape)
    return np.maximum(base * (1 + 0.3 * math.sin(2 * math.pi * step / 24)) * (1 + 0.1 * noise), 0.0)


def write_atomic(path: str, write) -> None:
    """``write(tmp)`` a temporary file beside ``path``, then rename it into place: a reader never
    sees half a file, even if the run is interrupted."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("png", nargs="?", default="warm_replanning.png", help="plot path (PNG)")
    parser.add_argument("--csv", default="warm_replanning.csv", help="table path (CSV)")
    parser.add_argument("--family", default="taskonomy")
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--edges", type=int, default=6)
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--window", type=float, default=0.05, help="batching window in seconds")
    parser.add_argument("--max-changes", type=int, default=None, help="models loaded + unloaded per step")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    inst = generate(args.family, args.clients, args.edges, seed=args.seed, window=args.window)
    base = inst.rate
    rng = np.random.default_rng(args.seed)
    planner = PlacementPlanner(inst, max_model_changes=args.max_changes)
    planner.solve()                                   # step 0: a cold J3O, which the planner keeps

    rows = []
    for step in range(1, args.steps + 1):
        planner.update(rate=daily_rate(base, step, rng))   # the simulator's new rates
        warm = planner.solve()
        cold = solve_j3o(planner.instance)
        assert verify(planner.instance, warm.decision, claimed_objective=warm.objective).ok
        rows.append({"step": step, "A_warm": warm.objective, "A_cold": cold.objective,
                     "time_warm_s": warm.runtime_s, "time_cold_s": cold.runtime_s,
                     "model_changes": planner.last_changes})
        print(f"step {step:2d}  A warm {warm.objective:.4f}  cold {cold.objective:.4f}  "
              f"time warm {warm.runtime_s:.3f} s  cold {cold.runtime_s:.3f} s  changes {planner.last_changes}")

    def write_csv(tmp):
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)

    write_atomic(args.csv, write_csv)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in rows]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    top.plot(steps, [r["A_cold"] for r in rows], "o-", label="cold J3O")
    top.plot(steps, [r["A_warm"] for r in rows], "s--", label="warm re-plan")
    top.set_ylabel("mean accuracy A")
    top.legend()
    bottom.plot(steps, [r["time_cold_s"] for r in rows], "o-", label="cold J3O")
    bottom.plot(steps, [r["time_warm_s"] for r in rows], "s--", label="warm re-plan")
    bottom.set_ylabel("solve time (s)")
    bottom.set_xlabel("step")
    bottom.legend()
    fig.suptitle(f"{args.family}, {args.clients} clients, {args.edges} edges: re-planning over a day")
    fig.tight_layout()
    write_atomic(args.png, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    warm_t = sum(r["time_warm_s"] for r in rows)
    cold_t = sum(r["time_cold_s"] for r in rows)
    print(f"warm/cold time {warm_t / cold_t:.3f}, mean A warm/cold "
          f"{np.mean([r['A_warm'] / r['A_cold'] for r in rows]):.5f}; table {args.csv}, plot {args.png}")
    return rows


if __name__ == "__main__":
    main()
