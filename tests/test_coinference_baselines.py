"""Baselines LC, FO and IP-no-batch (docs/coinference.rst section 5): hand-checked semantics, verified plans."""

import numpy as np
import pytest

from j3o_fast.coinference import CoInferenceInstance, generate, solve, verify_plan
from j3o_fast.coinference.baselines import solve_fo, solve_ip_no_batch, solve_lc
from j3o_fast.coinference.profiles import random_instance
from j3o_fast.errors import InvalidInputError


def _assert_verified(inst, res):
    """The plan holds every constraint, except the deadlines of the users it lists as infeasible."""
    plan = res.decision
    report = verify_plan(inst, plan)
    late = set(np.nonzero(report.finish_s > inst.absolute_deadline + 1e-9)[0].tolist())
    assert late == set(plan.infeasible_users), (late, plan.infeasible_users)
    assert all(v.constraint == "deadlines" for v in report.violations), report.summary()
    assert res.objective == pytest.approx(report.energy_j)
    assert res.status == ("partial" if plan.infeasible_users else "feasible")
    assert not set(plan.infeasible_users) - set(np.nonzero(plan.partition == inst.n_subtasks)[0].tolist())


def _chain(deadline, ready_s, *, local_s=None, release=None, beta=(0.01, 0.01), alpha=(0.0, 0.0), max_batch=None,
           out_mbit=(1.0, 1.0, 1.0)):
    """Two sub-tasks; user k's raw input (1 Mbit) is ready ready_s[k] seconds after its release."""
    K = len(deadline)
    local_s = [1.0] * K if local_s is None else local_s
    return CoInferenceInstance(
        subtasks=("a", "b"), output_mbit=list(out_mbit), edge_beta_s=list(beta), edge_alpha_s=list(alpha),
        local_latency_s=[[t / 2, t / 2] for t in local_s], local_energy_j=[[1.0, 1.0]] * K,
        uplink_mbps=[out_mbit[0] / r for r in ready_s], tx_power_w=[0.1] * K, deadline_s=list(deadline),
        release_s=release, max_batch=max_batch)


# ---- LC ------------------------------------------------------------------------------------------

def test_lc_runs_everyone_locally_and_lists_late_users():
    inst = _chain([2.0, 0.5], [0.1, 0.1], local_s=[1.0, 1.0])
    res = solve_lc(inst)
    assert res.method == "lc" and res.decision.partition.tolist() == [2, 2] and res.decision.batches == ()
    assert res.objective == pytest.approx(4.0) and res.decision.infeasible_users == (1,)
    _assert_verified(inst, res)


# ---- FO ------------------------------------------------------------------------------------------

def test_fo_as_late_as_possible_at_the_minimum_deadline():
    inst = _chain([0.3, 0.5], [0.1, 0.2], release=[0.0, 0.05])
    res = solve_fo(inst)
    plan = res.decision
    assert plan.partition.tolist() == [0, 0] and res.status == "feasible"
    # Ends at the minimum absolute deadline 0.3 s: starts 0.28 and 0.29.
    assert [(b.subtask, b.users, b.start_s) for b in plan.batches] == [
        (1, (0, 1), pytest.approx(0.28)), (2, (0, 1), pytest.approx(0.29))]
    _assert_verified(inst, res)


def test_fo_as_early_as_possible_when_late_does_not_fit():
    # Latest ready time 0.25 s + 0.02 s of edge work > 0.26 s: start at 0.25 s; user 0 misses
    # 0.26 s and falls back to local (1 s > 0.26 s: listed), user 1 (deadline 0.5 s) is served.
    inst = _chain([0.26, 0.5], [0.1, 0.25])
    res = solve_fo(inst)
    plan = res.decision
    assert [b.start_s for b in plan.batches] == [pytest.approx(0.25), pytest.approx(0.26)]
    assert plan.partition.tolist() == [2, 0] and plan.infeasible_users == (0,)
    assert all(b.users == (1,) for b in plan.batches)
    _assert_verified(inst, res)
    # If all-local meets the deadline, the late user falls back without being listed.
    inst = _chain([0.26, 0.5], [0.1, 0.25], local_s=[0.2, 1.0])
    res = solve_fo(inst)
    assert res.decision.partition.tolist() == [2, 0] and res.status == "feasible"
    _assert_verified(inst, res)


def test_fo_uses_the_full_batch_latency_and_needs_a_large_enough_cap():
    inst = _chain([0.3, 0.3], [0.1, 0.1], alpha=(0.005, 0.005))
    plan = solve_fo(inst).decision
    # te = 0.01 + 0.005*2 = 0.02 per sub-task: starts 0.26 and 0.28.
    assert [b.start_s for b in plan.batches] == [pytest.approx(0.26), pytest.approx(0.28)]
    with pytest.raises(InvalidInputError, match=r"^max_batch: FO runs all K = 2 users in one batch per sub-task "
                                                r"and needs max_batch >= K, got 1$"):
        solve_fo(_chain([0.3, 0.3], [0.1, 0.1], max_batch=1))


# ---- IP-no-batch ---------------------------------------------------------------------------------

def test_ip_no_batch_independent_choice_prefers_the_larger_cut_on_ties():
    # E(0) = 0.1 W * 1 Mbit / 10 Mbit/s = 0.01 J = E(1) = 0.005 J + 0.1 W * 0.5 Mbit / 10 Mbit/s.
    inst = CoInferenceInstance(
        subtasks=("a", "b"), output_mbit=[1.0, 0.5, 0.1], edge_beta_s=[0.01, 0.01], edge_alpha_s=[0.0, 0.0],
        local_latency_s=[[0.01, 0.5]], local_energy_j=[[0.005, 1.0]], uplink_mbps=[10.0], tx_power_w=[0.1],
        deadline_s=[1.0])
    assert inst.energy[0, 0] == pytest.approx(inst.energy[0, 1])
    assert solve_ip_no_batch(inst).decision.partition.tolist() == [1]


def test_ip_no_batch_edf_non_idling_at_subtask_level():
    # Users 0 and 1 ready at 0.1 s; user 1 has the earlier deadline so its sub-tasks run first.
    # User 2 becomes ready at 0.115 s, while user 1's second sub-task runs; EDF at sub-task level
    # then picks user 2 (deadline 0.2 s) over user 0 (0.3 s).
    inst = _chain([0.3, 0.15, 0.2], [0.1, 0.1, 0.115])
    res = solve_ip_no_batch(inst)
    seq = [(b.subtask, b.users[0], round(b.start_s, 9)) for b in res.decision.batches]
    assert seq == [(1, 1, 0.1), (2, 1, 0.11), (1, 2, 0.12), (2, 2, 0.13), (1, 0, 0.14), (2, 0, 0.15)]
    assert res.decision.partition.tolist() == [0, 0, 0] and res.status == "feasible"
    _assert_verified(inst, res)


def test_ip_no_batch_waits_for_the_next_ready_subtask():
    inst = _chain([1.0, 1.0], [0.1, 0.5])
    starts = [round(b.start_s, 9) for b in solve_ip_no_batch(inst).decision.batches]
    assert starts == [0.1, 0.11, 0.5, 0.51]


def test_ip_no_batch_fallbacks():
    # Three users ready at 0.1 s, deadlines 0.125, 0.135, 0.135 s: alone each ends at 0.12 s,
    # but without batching the GPU serves them one after another (EDF: user 0 first), so users
    # 1 and 2 end at 0.14 and 0.16 s, too late. User 1 can run locally in 0.1 s; user 2 cannot
    # and is listed.
    inst = _chain([0.125, 0.135, 0.135], [0.1, 0.1, 0.1], local_s=[1.0, 0.1, 1.0])
    res = solve_ip_no_batch(inst)
    plan = res.decision
    assert plan.partition.tolist() == [0, 2, 2] and plan.infeasible_users == (2,)
    assert {b.users for b in plan.batches} == {(0,)}
    _assert_verified(inst, res)


def test_ip_no_batch_user_with_no_option_alone():
    inst = _chain([0.05, 1.0], [0.1, 0.1])
    res = solve_ip_no_batch(inst)
    assert res.decision.partition.tolist() == [2, 0] and res.decision.infeasible_users == (0,)
    _assert_verified(inst, res)


# ---- all baselines on generated instances ---------------------------------------------------------

@pytest.mark.parametrize("method", ["lc", "fo", "ip-no-batch"])
@pytest.mark.parametrize("case", range(10))
def test_baselines_verify_on_generated_instances(method, case):
    if case < 6:
        profile = ["vgg16", "mobilenetv2"][case % 2]
        inst = generate(profile, [5, 40, 200][case // 2], seed=case, alpha=[0.0, 0.05][case % 2],
                        deadline_spread=[0.0, 0.5, 1.0][case % 3])
    else:
        inst = random_instance(8, 4, seed=case, alpha=case % 2 == 0, releases=True, tightness=[1.0, 0.7][case % 2])
    res = solve(inst, method)
    assert res.method == method and res.runtime_s >= 0
    _assert_verified(inst, res)


def test_batching_pays_on_the_default_profile():
    inst = generate("mobilenetv2", 60, seed=3)
    lc, nb = solve_lc(inst), solve_ip_no_batch(inst)
    assert nb.objective <= lc.objective
