"""Co-inference planners at scale, each checked and compared with a slow twin or an exact pass.

- IP-SSA on 1,000,000 MobileNetV2 users (one deadline): partition of a seeded sample equals the
  per-user twin; extra_info holds the twin's extrapolated time as a ratio.
- OG on 1,000 MobileNetV2 users with spread deadlines: the plan passes the verifier and its cost
  equals the unbounded DP pass (no bounding grid); extra_info: the unbounded pass's time ratio.
- OG against the pure-Python twin (memoised recursion) at 7 users: same cost, time ratio.
- OG on a time grid: energy loss against the exact plan, time ratio.
"""

import time

import numpy as np
import pytest
from reference import ipssa_reference, og_reference
from timing import mean_seconds

from j3o_fast.coinference import _og
from j3o_fast.coinference import CoInferenceInstance, verify_plan
from j3o_fast.coinference.ipssa import solve_ipssa
from j3o_fast.coinference.og import OGInputs, run_dp, solve_og
from j3o_fast.coinference.profiles import generate


def _subset(inst, users):
    return CoInferenceInstance(
        subtasks=inst.subtasks, output_mbit=inst.output_mbit, edge_beta_s=inst.edge_beta_s,
        edge_alpha_s=inst.edge_alpha_s, local_latency_s=inst.local_latency_s[users],
        local_energy_j=inst.local_energy_j[users], uplink_mbps=inst.uplink_mbps[users],
        tx_power_w=inst.tx_power_w[users], deadline_s=inst.deadline_s[users], release_s=inst.release_s[users])


@pytest.mark.parametrize("profile", ["mobilenetv2", "vgg16"])
def test_bench_ipssa_million_users(benchmark, profile):
    inst = generate(profile, 1_000_000, deadline_spread=0.0, seed=1)
    solve_ipssa(inst)  # the instance's derived arrays (ready times, energies) are built once, untimed
    res = benchmark.pedantic(lambda: solve_ipssa(inst), rounds=3, iterations=1, warmup_rounds=0)
    sample = np.sort(np.random.default_rng(0).choice(inst.n_users, 500, replace=False))
    sub = _subset(inst, sample)
    t0 = time.perf_counter()
    _, twin_part = ipssa_reference(sub, float(inst.absolute_deadline[0]))
    twin_per_user = (time.perf_counter() - t0) / sample.size
    assert res.decision.partition[sample].tolist() == twin_part
    n = inst.n_subtasks
    assert [b.subtask for b in res.decision.batches] == list(range(int(res.decision.partition.min()) + 1, n + 1))
    benchmark.extra_info.update(
        users=inst.n_users, status=res.status, objective=res.objective,
        batch_members=sum(b.size for b in res.decision.batches),
        twin_over_kernel_extrapolated=twin_per_user * inst.n_users / mean_seconds(benchmark, lambda: solve_ipssa(inst)),
    )


@pytest.mark.parametrize("spread", [0.5, 2.0], ids=["spread0.5", "spread2"])
def test_bench_og_1000_mobilenetv2(benchmark, spread):
    inst = generate("mobilenetv2", 1000, deadline_spread=spread, seed=1)
    solve_og(inst)
    res = benchmark.pedantic(lambda: solve_og(inst), rounds=5, iterations=1, warmup_rounds=0)
    report = verify_plan(inst, res.decision)
    assert report.ok or [v.constraint for v in report.violations] == ["deadlines"], report.summary()
    inputs = OGInputs(inst)
    t0 = time.perf_counter()
    full = run_dp(inputs)  # the exact DP with no bound: every state kept
    full_time = time.perf_counter() - t0
    assert full[0] == _og.STATUS_OK
    assert res.objective + inputs.penalty * len(res.decision.infeasible_users) == pytest.approx(full[1], rel=1e-12)
    ip = solve_ipssa(inst)
    benchmark.extra_info.update(
        objective=res.objective, missed=len(res.decision.infeasible_users), groups=len(full[2]),
        dp_steps=res.iterations, unbounded_steps=int(full[6]),
        unbounded_over_solve=full_time / mean_seconds(benchmark, lambda: solve_og(inst)),
        ipssa_min_objective=ip.objective, ipssa_min_missed=len(ip.decision.infeasible_users),
    )


def test_bench_og_against_python_twin(benchmark):
    inst = generate("mobilenetv2", 7, deadline_spread=1.0, seed=1)
    res = benchmark(lambda: solve_og(inst))
    t0 = time.perf_counter()
    twin_cost, _, _ = og_reference(inst)
    twin_time = time.perf_counter() - t0
    assert (len(res.decision.infeasible_users), res.objective) == (twin_cost[0], pytest.approx(twin_cost[1], rel=1e-9))
    benchmark.extra_info.update(twin_s=twin_time, twin_over_compiled=twin_time / mean_seconds(benchmark, lambda: solve_og(inst)))


@pytest.mark.parametrize("grid", [1e-5, 1e-4, 5e-4], ids=["10us", "100us", "500us"])
def test_bench_og_time_grid(benchmark, grid):
    inst = generate("mobilenetv2", 1000, deadline_spread=1.0, seed=2)
    exact = solve_og(inst)
    t0 = time.perf_counter()
    solve_og(inst)
    exact_time = time.perf_counter() - t0
    res = benchmark.pedantic(lambda: solve_og(inst, time_grid_s=grid), rounds=3, iterations=1, warmup_rounds=1)
    report = verify_plan(inst, res.decision)
    assert report.ok or [v.constraint for v in report.violations] == ["deadlines"], report.summary()
    missed = len(res.decision.infeasible_users) - len(exact.decision.infeasible_users)
    assert missed > 0 or (missed == 0 and res.objective >= exact.objective - 1e-12)
    benchmark.extra_info.update(
        extra_missed=missed, energy_loss_j=res.objective - exact.objective,
        energy_loss_rel=(res.objective - exact.objective) / exact.objective,
        exact_over_grid_time=exact_time / mean_seconds(benchmark, lambda: solve_og(inst, time_grid_s=grid)),
    )
