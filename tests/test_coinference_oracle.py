"""The exhaustive oracle: equals a prune-free enumeration, hand-checked cases, bounds, guards."""

import numpy as np
import pytest
from reference import coinference_bruteforce

from j3o_fast.coinference import CoInferenceInstance, verify_plan
from j3o_fast.coinference.baselines import solve_fo, solve_ip_no_batch, solve_lc
from j3o_fast.coinference.oracle import solve_oracle
from j3o_fast.coinference.profiles import random_instance
from j3o_fast.errors import InvalidInputError


def _two_stage(deadline, ready_mbit, *, local_s=(1.0, 1.0), max_batch=None, beta=(0.01, 0.01), alpha=(0.0, 0.0)):
    """Two sub-tasks; user k uploads ready_mbit[k] Mbit at 1 Mbit/s (ready at that many seconds / 100)."""
    K = len(deadline)
    return CoInferenceInstance(
        subtasks=("a", "b"), output_mbit=[1.0, 1.0, 1.0], edge_beta_s=list(beta), edge_alpha_s=list(alpha),
        local_latency_s=[[local_s[k] / 2] * 2 for k in range(K)], local_energy_j=[[1.0, 1.0]] * K,
        uplink_mbps=[100.0 / m for m in ready_mbit], tx_power_w=[0.1] * K, deadline_s=list(deadline),
        max_batch=max_batch)


def _random(seed, K, N):
    return random_instance(K, N, seed=seed, alpha=seed % 2 == 0, max_batch=[None, 1, 2][seed % 3],
                           releases=seed % 4 == 0, common_deadline=seed % 5 == 0,
                           tightness=[1.0, 0.85, 1.2, 0.6][seed % 4])


def _check_against_enumeration(inst):
    missed, energy = coinference_bruteforce(inst)
    res = solve_oracle(inst)
    assert len(res.decision.infeasible_users) == missed
    assert res.objective == pytest.approx(energy, rel=1e-12)
    assert res.status == ("partial" if missed else "optimal")
    report = verify_plan(inst, res.decision)
    assert report.ok or [v.constraint for v in report.violations] == ["deadlines"], report.summary()


@pytest.mark.parametrize("seed", range(40))
def test_equals_prune_free_enumeration(seed):
    K, N = [(3, 3), (4, 2), (2, 4), (3, 2), (1, 4)][seed % 5]
    _check_against_enumeration(_random(seed, K, N))


# Instances on which the failed-state memo decides the answer: a dominance test pointing the
# wrong way changes the optimum here (found by a search over 1,200 seeds).
@pytest.mark.parametrize("K, N, seed", [(3, 3, 100), (3, 3, 104), (3, 3, 120), (4, 2, 40), (4, 2, 205), (2, 4, 156)])
def test_equals_prune_free_enumeration_where_pruning_matters(K, N, seed):
    _check_against_enumeration(_random(seed, K, N))


@pytest.mark.parametrize("seed", range(6))
def test_equals_prune_free_enumeration_at_full_size(seed):
    _check_against_enumeration(_random(seed, 4, 3))


def test_single_user_takes_the_least_energy_feasible_cut():
    # One user, two sub-tasks: E(0) = 0.1*1/10 = 0.01, E(1) = 1 + 0.01, E(2) = 2 (local, 1 s).
    inst = _two_stage([0.2], [10.0])          # ready at 0.1 s, edge 0.02 s: s = 0 ends at 0.12 s
    res = solve_oracle(inst)
    assert res.decision.partition.tolist() == [0] and res.objective == pytest.approx(0.01)
    assert [(b.subtask, b.users, b.start_s) for b in res.decision.batches] == [(1, (0,), 0.1), (2, (0,), pytest.approx(0.11))]
    # With a deadline of 0.11 s no offloading fits and local (1 s) misses too: listed, all-local.
    res = solve_oracle(_two_stage([0.11], [10.0]))
    assert res.status == "partial" and res.decision.infeasible_users == (0,)
    assert res.decision.partition.tolist() == [2]
    # A deadline of exactly the s = 0 finish time is met (rounding must not lose it).
    assert solve_oracle(_two_stage([0.12], [10.0])).status == "optimal"


def test_two_users_share_batches_when_they_can():
    # Both ready at 0.1 s, deadline 0.13 s: one batch per sub-task ends at 0.12 s; two separate
    # chains would need 0.14 s. With max_batch = 1 only one of them can offload.
    res = solve_oracle(_two_stage([0.13, 0.13], [10.0, 10.0]))
    assert res.status == "optimal" and res.decision.partition.tolist() == [0, 0]
    assert [b.users for b in res.decision.batches] == [(0, 1), (0, 1)]
    res = solve_oracle(_two_stage([0.13, 0.13], [10.0, 10.0], local_s=(0.05, 2.0), max_batch=1))
    assert res.status == "optimal" and sorted(res.decision.partition.tolist()) == [0, 2]
    assert res.decision.partition.tolist() == [2, 0]      # user 0 can run locally in time, user 1 cannot


def test_finds_non_ssa_schedules():
    # User 0: ready 0.0 s, deadline 0.025 s; user 1: ready 0.012 s, deadline 0.05 s; local is too slow.
    # One batch per sub-task would start at 0.012 s and end at 0.032 s, too late for user 0; the
    # optimum runs user 0's chain first and then user 1's (two batches for every sub-task).
    inst = _two_stage([0.025, 0.05], [1e-9, 1.2])
    res = solve_oracle(inst)
    assert res.status == "optimal" and res.decision.partition.tolist() == [0, 0]
    assert [(b.subtask, b.users) for b in res.decision.batches] == [(1, (0,)), (2, (0,)), (1, (1,)), (2, (1,))]
    assert verify_plan(inst, res.decision)


def test_affine_latency_can_make_splitting_better():
    # alpha large: a batch of two takes 0.01 + 0.02*2 = 0.05 s per sub-task; alone 0.03 s each.
    inst = _two_stage([0.07, 0.2], [1e-9, 1e-9], beta=(0.01, 0.01), alpha=(0.02, 0.02))
    res = solve_oracle(inst)
    assert res.status == "optimal" and res.decision.partition.tolist() == [0, 0]
    assert max(b.size for b in res.decision.batches) == 1
    assert verify_plan(inst, res.decision)


@pytest.mark.parametrize("seed", range(12))
def test_equal_deadlines_constant_latency_is_independent_partitioning(seed):
    # docs/coinference.rst section 2: with alpha = 0, one deadline, no releases and no cap, the optimum
    # is every user's independent least-energy cut with rho + a_k(s) + R[s+1] <= T.
    inst = random_instance(4, 3, seed=100 + seed, common_deadline=True, tightness=[1.0, 0.8, 0.6][seed % 3])
    N = inst.n_subtasks
    finish = inst.ready_time + inst.tail_s[None, 1:]
    finish[:, N] = inst.local_time[:, N]
    ok = finish <= inst.deadline_s[:, None] + 1e-12
    served = ok.any(axis=1)
    expected = np.where(served, np.where(ok, inst.energy, np.inf).min(axis=1), inst.energy[:, N]).sum()
    res = solve_oracle(inst)
    assert res.objective == pytest.approx(expected, rel=1e-12)
    assert len(res.decision.infeasible_users) == int((~served).sum())


@pytest.mark.parametrize("seed", range(16))
def test_never_worse_than_the_baselines(seed):
    inst = random_instance(4, 3, seed=200 + seed, alpha=seed % 2 == 0, releases=seed % 3 == 0,
                           tightness=[1.0, 0.7][seed % 2])
    res = solve_oracle(inst)
    missed = len(res.decision.infeasible_users)
    for base in (solve_lc(inst), solve_fo(inst), solve_ip_no_batch(inst)):
        b_missed = len(base.decision.infeasible_users)
        assert missed <= b_missed
        if b_missed == missed:
            assert res.objective <= base.objective + 1e-12, base.method


def test_worst_case_size_runs_quickly():
    # K = N = 4, contended GPU, affine latency and a cap: the largest size the oracle accepts.
    for seed in range(3):
        inst = random_instance(4, 4, seed=seed, alpha=True, max_batch=2, releases=True, tightness=0.8)
        res = solve_oracle(inst)
        assert verify_plan(inst, res.decision) or res.status == "partial"


@pytest.mark.parametrize("K, N", [(5, 2), (2, 5)])
def test_refuses_instances_beyond_its_limits(K, N):
    with pytest.raises(InvalidInputError, match=rf"^instance: the exhaustive oracle is limited to K <= 4 users and "
                                                rf"N <= 4 sub-tasks, got K = {K}, N = {N}$"):
        solve_oracle(random_instance(K, N))
