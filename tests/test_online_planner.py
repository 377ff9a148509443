"""The planner of one online dispatch (docs/coinference.rst section 7 step 3) against its twin and the oracle."""

from __future__ import annotations

import numpy as np
import pytest
from reference import online_plan

from j3o_fast.coinference import Batch, CoInferenceInstance, CoInferencePlan, verify_plan
from j3o_fast.coinference.online.planner import plan_dispatch, planned_tail
from j3o_fast.coinference.oracle import solve_oracle
from j3o_fast.coinference.profiles import generate, random_instance


def _dispatch(seed: int, *, max_users: int = 8, common_deadline: bool = False, constant: bool = False,
              uncapped: bool = False, small: bool = False):
    """A seeded dispatch: device arrays of M tasks, slacks, tau, H and max_batch."""
    rng = np.random.default_rng(seed)
    M = int(rng.integers(1, max_users))
    if small:
        inst = random_instance(6, int(rng.integers(1, 5)), seed=seed, alpha=not constant and seed % 2 == 0)
    elif seed % 2:
        inst = generate("mobilenetv2", 10, seed=seed, alpha=0.0 if constant or seed % 3 else 0.1)
    else:
        inst = random_instance(10, int(rng.integers(1, 5)), seed=seed, alpha=not constant and seed % 4 == 0)
    N = inst.n_subtasks
    ks = rng.integers(0, inst.n_users, M)
    lo = float(inst.local_time[:, N].min())
    slack = rng.uniform(0.5 * lo, 2.5 * lo, M)
    if common_deadline or seed % 5 == 0:
        slack[:] = slack[0]
    tau = float(rng.uniform(0.0, 1.0))
    gpu_free = max(0.0, tau + float(rng.uniform(-0.02, 0.02)))
    max_batch = None if uncapped or seed % 3 else int(rng.integers(1, 4))
    return dict(energy=inst.energy[ks], ready=inst.ready_time[ks], local_time=inst.local_time[ks, N].copy(),
                slack=slack, tau=tau, gpu_free=gpu_free, beta=inst.edge_beta_s, alpha=inst.edge_alpha_s,
                max_batch=max_batch, ks=ks, inst=inst)


def _plan(d, planner):
    return plan_dispatch(d["energy"], d["ready"], d["local_time"], d["slack"], d["tau"], d["gpu_free"], d["beta"],
                         d["alpha"], d["max_batch"], planner)


def _as_p0(d, plan):
    """The dispatch as a P0 instance (released at tau) and the plan with its planned batch starts."""
    inst, ks = d["inst"], d["ks"]
    p0 = CoInferenceInstance(
        subtasks=inst.subtasks, output_mbit=inst.output_mbit, edge_beta_s=inst.edge_beta_s,
        edge_alpha_s=inst.edge_alpha_s, local_latency_s=inst.local_latency_s[ks],
        local_energy_j=inst.local_energy_j[ks], uplink_mbps=inst.uplink_mbps[ks], tx_power_w=inst.tx_power_w[ks],
        deadline_s=d["slack"], release_s=np.full(ks.size, d["tau"]), max_batch=d["max_batch"])
    unserved = tuple(np.flatnonzero(~plan.served).tolist())
    cp = CoInferencePlan(partition=plan.choice, batches=[Batch(m, u, s) for m, u, s in plan.batches],
                         energy_j=p0.energy[np.arange(ks.size), plan.choice], feasible=not unserved,
                         infeasible_users=unserved)
    return p0, cp


@pytest.mark.parametrize("planner", ["og", "ip-ssa"])
def test_equals_twin_on_seeded_dispatches(planner):
    for seed in range(150):
        d = _dispatch(seed)
        got = _plan(d, planner)
        choice, served, batches = online_plan(
            d["energy"].tolist(), d["ready"].tolist(), d["local_time"].tolist(), d["slack"].tolist(), d["tau"],
            d["gpu_free"], d["beta"].tolist(), d["alpha"].tolist(), d["max_batch"], planner)
        assert got.choice.tolist() == choice, seed
        assert got.served.tolist() == served, seed
        assert [(m, u.tolist()) for m, u, _ in got.batches] == [(m, u) for m, u, _ in batches], seed
        np.testing.assert_allclose([s for *_, s in got.batches], [s for *_, s in batches], rtol=0, atol=1e-12)


@pytest.mark.parametrize("planner", ["og", "ip-ssa"])
def test_plans_verify_from_gpu_free_time(planner):
    for seed in range(120):
        d = _dispatch(seed)
        plan = _plan(d, planner)
        p0, cp = _as_p0(d, plan)
        report = verify_plan(p0, cp, gpu_free_s=d["gpu_free"])
        failed = {v.constraint for v in report.violations}
        if cp.infeasible_users:
            assert failed == {"deadlines"}, (seed, report.summary())
        else:
            assert report.ok, (seed, report.summary())
        for m, users, start in plan.batches:
            assert start >= d["gpu_free"] - 1e-11
            assert users.size <= (d["max_batch"] or users.size)


def _key(unserved, energy):
    return unserved, round(energy, 9)


def test_og_between_oracle_and_ip_ssa():
    """Oracle <= OG <= IP-SSA in (unserved, energy): IP-SSA's single group is one of OG's groupings."""
    for seed in range(60):
        d = _dispatch(seed, max_users=5, small=True)
        og, ssa = _plan(d, "og"), _plan(d, "ip-ssa")
        p0, cp_og = _as_p0(d, og)
        _, cp_ssa = _as_p0(d, ssa)
        oracle = solve_oracle(p0, gpu_free_s=d["gpu_free"])
        k_or = _key(len(oracle.decision.infeasible_users), oracle.objective)
        k_og = _key(len(cp_og.infeasible_users), cp_og.total_energy_j)
        k_ssa = _key(len(cp_ssa.infeasible_users), cp_ssa.total_energy_j)
        assert k_or <= k_og <= k_ssa, seed


def test_ip_ssa_and_og_exact_with_one_deadline_and_constant_latency():
    """One deadline, alpha = 0, no cap: SSA batching is optimal for P0 with a busy GPU too."""
    for seed in range(40):
        d = _dispatch(seed, max_users=5, small=True, common_deadline=True, constant=True, uncapped=True)
        p0, _ = _as_p0(d, _plan(d, "og"))
        oracle = solve_oracle(p0, gpu_free_s=d["gpu_free"])
        for planner in ("og", "ip-ssa"):
            plan = _plan(d, planner)
            _, cp = _as_p0(d, plan)
            assert len(cp.infeasible_users) == len(oracle.decision.infeasible_users), (seed, planner)
            assert cp.total_energy_j == pytest.approx(oracle.objective, rel=1e-9, abs=1e-12), (seed, planner)


def test_equal_energy_groupings_plan_less_gpu_time():
    """Two identical tasks offloading at the same point share one batch chain, not two."""
    inst = generate("mobilenetv2", 1, seed=3)
    N = inst.n_subtasks
    E, A, L = inst.energy[[0, 0]], inst.ready_time[[0, 0]], inst.local_time[[0, 0], N]
    slack = np.full(2, 0.2)  # loose: each takes its least-energy point
    plan = plan_dispatch(E, A, L, slack, 0.0, 0.0, inst.edge_beta_s, inst.edge_alpha_s, None, "og")
    s = int(plan.choice[0])
    assert plan.choice.tolist() == [s, s] and s < N
    assert len(plan.batches) == N - s
    assert all(u.tolist() == [0, 1] for _, u, _ in plan.batches)


def test_everyone_local_plans_no_batch():
    inst = generate("mobilenetv2", 3, seed=2)
    N = inst.n_subtasks
    E, A, L = inst.energy, inst.ready_time, inst.local_time[:, N].copy()
    slack = L * 1.5
    # the GPU is busy far beyond every deadline: no edge option
    plan = plan_dispatch(E, A, L, slack, 0.0, 10.0, inst.edge_beta_s, inst.edge_alpha_s, None, "og")
    assert plan.choice.tolist() == [N] * 3 and plan.served.all() and plan.batches == ()


def test_planned_tail_uses_capped_batch_size():
    beta, alpha = np.array([1.0, 2.0]), np.array([0.5, 0.25])
    assert planned_tail(beta, alpha, 5, 2).tolist() == [4.5, 4.5, 2.5, 0.0]
    assert planned_tail(beta, alpha, 1, None).tolist() == [3.75, 3.75, 2.25, 0.0]


def test_empty_dispatch():
    plan = plan_dispatch(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0), np.zeros(0), 0.0, 0.0,
                         np.ones(2), np.zeros(2), None, "og")
    assert plan.choice.size == 0 and plan.batches == ()
