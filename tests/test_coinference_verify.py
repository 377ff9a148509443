"""The plan verifier: accepts correct plans, rejects plans broken on purpose (every check), recomputes energy."""

import copy

import numpy as np
import pytest

from j3o_fast.coinference import Batch, CoInferencePlan, io, verify_plan
from j3o_fast.coinference.oracle import solve_oracle
from j3o_fast.coinference.profiles import random_instance
from j3o_fast.errors import InvalidInputError

# docs/formats.rst example: user 0 uploads its raw input (ready at 4.8/20 = 0.24 s) and its three
# batches end exactly at its deadline 0.30 s; user 1 runs locally in 0.21 s <= 0.45 s.
DOC = {
    "format": "j3o-fast/coinference-instance", "version": 1,
    "subtasks": ["block1", "block2", "block3"], "output_mbit": [4.8, 25.7, 12.8, 0.03],
    "edge_beta_s": [0.004, 0.005, 0.001], "edge_alpha_s": [0.0, 0.0, 0.0], "max_batch": None,
    "users": {"local_latency_s": [[0.05, 0.07, 0.01], [0.08, 0.11, 0.02]],
              "local_energy_j": [[0.15, 0.21, 0.03], [0.20, 0.28, 0.05]],
              "uplink_mbps": [20.0, 8.0], "tx_power_w": [0.2, 0.1], "deadline_s": [0.30, 0.45],
              "release_s": [0.0, 0.0]},
}
GOOD = [(1, (0,), 0.29), (2, (0,), 0.294), (3, (0,), 0.299)]


def _inst(**users_or_top):
    doc = copy.deepcopy(DOC)
    for key, value in users_or_top.items():
        (doc["users"] if key in doc["users"] else doc)[key] = value
    return io.instance_from_dict(doc)


def _plan(inst, partition, batches, *, energy=None, feasible=True, infeasible=()):
    part = np.asarray(partition)
    e = inst.energy[np.arange(inst.n_users), part] if energy is None else energy
    return CoInferencePlan(partition=part, batches=tuple(Batch(*b) for b in batches), energy_j=e,
                           feasible=feasible, infeasible_users=infeasible)


def _checks(report):
    return [v.constraint for v in report.violations]


def test_accepts_the_example_plan():
    inst = _inst()
    report = verify_plan(inst, _plan(inst, [0, 3], GOOD))
    assert report.ok and bool(report) and report.violations == ()
    assert report.energy_j == pytest.approx(0.2 * 4.8 / 20 + 0.53)
    np.testing.assert_allclose(report.finish_s, [0.300, 0.21])
    assert "all constraints hold" in report.summary()


def test_coverage_missing_batch():
    inst = _inst()
    report = verify_plan(inst, _plan(inst, [0, 3], GOOD[:2]))
    assert _checks(report) == ["coverage", "feasible flag"]
    assert "user 0 has no batch for sub-task 3" in report.summary()
    assert np.isnan(report.finish_s[0])


def test_coverage_batch_for_a_local_subtask():
    inst = _inst()
    report = verify_plan(inst, _plan(inst, [1, 3], [(1, (0,), 0.0)] + GOOD[1:]))
    assert "coverage" in _checks(report)
    assert "for sub-task 1 it runs locally (s = 1)" in report.summary()


def test_coverage_two_batches_for_one_subtask():
    inst = _inst()
    report = verify_plan(inst, _plan(inst, [0, 3], GOOD + [(3, (0,), 0.2995)]))
    assert "coverage" in _checks(report)
    assert "user 0 in batches[2] and batches[3] for sub-task 3" in report.summary()


def test_readiness():
    inst = _inst()
    report = verify_plan(inst, _plan(inst, [0, 3], [(1, (0,), 0.20), (2, (0,), 0.294), (3, (0,), 0.299)]))
    assert _checks(report) == ["readiness", "feasible flag"]
    assert report.violations[0].worst_amount == pytest.approx(0.04)


def test_precedence():
    inst = _inst()
    report = verify_plan(inst, _plan(inst, [0, 3], [(1, (0,), 0.29), (2, (0,), 0.292), (3, (0,), 0.299)]))
    assert _checks(report) == ["precedence", "one batch at a time", "feasible flag"]
    assert report.violations[0].worst_amount == pytest.approx(0.002)


def test_one_batch_at_a_time():
    inst = _inst(deadline_s=[0.30, 1.5])
    # User 1 uploads its raw input too (ready 0.6 s) but its first batch overlaps one of user 0's.
    batches = GOOD + [(1, (1,), 0.6), (2, (1,), 0.6 + 0.001), (3, (1,), 0.7)]
    report = verify_plan(inst, _plan(inst, [0, 0], batches))
    assert "one batch at a time" in _checks(report) and "precedence" in _checks(report)
    # Separated in time, the same memberships are fine.
    report = verify_plan(inst, _plan(inst, [0, 0], GOOD + [(1, (1,), 0.6), (2, (1,), 0.604), (3, (1,), 0.7)]))
    assert report.ok, report.summary()
    report = verify_plan(inst, _plan(inst, [0, 0], GOOD + [(1, (1,), 0.6), (2, (1,), 0.604), (3, (1,), 0.2995)]))
    assert "one batch at a time" in _checks(report)


def test_deadline_of_an_offloaded_user():
    inst = _inst()
    late = [(n, u, t + 0.01) for n, u, t in GOOD]
    report = verify_plan(inst, _plan(inst, [0, 3], late))
    assert _checks(report) == ["deadlines", "feasible flag"]
    assert report.violations[0].worst_amount == pytest.approx(0.01)


def test_deadline_of_a_local_user_and_listed_infeasible_users():
    inst = _inst(deadline_s=[0.30, 0.2])
    report = verify_plan(inst, _plan(inst, [0, 3], GOOD))
    assert _checks(report) == ["deadlines", "feasible flag"]
    # Listed honestly: the deadline is still missed, the claims are consistent.
    report = verify_plan(inst, _plan(inst, [0, 3], GOOD, feasible=False, infeasible=(1,)))
    assert _checks(report) == ["deadlines"]
    assert "user 1 ends at 0.21 s after its deadline 0.2 s" in report.summary()


def test_batch_cap():
    inst = _inst(max_batch=1, deadline_s=[0.30, 0.9])
    both = [(1, (0, 1), 0.6), (2, (0, 1), 0.604), (3, (0, 1), 0.609)]
    report = verify_plan(inst, _plan(inst, [0, 0], both))
    assert "batch cap" in _checks(report)
    assert "batches[0] holds 2 > max_batch 1" in report.summary()


def test_energy():
    inst = _inst()
    report = verify_plan(inst, _plan(inst, [0, 3], GOOD, energy=[0.048, 0.5]))
    assert _checks(report) == ["energy"]
    assert report.violations[0].worst_amount == pytest.approx(0.03)
    assert report.energy_j == pytest.approx(0.048 + 0.53)


def test_infeasible_user_must_run_locally():
    inst = _inst()
    report = verify_plan(inst, _plan(inst, [0, 3], GOOD, infeasible=(0,)))
    assert "infeasible users" in _checks(report)


def test_feasible_flag_must_match():
    inst = _inst()
    report = verify_plan(inst, _plan(inst, [0, 3], GOOD, feasible=False))
    assert _checks(report) == ["feasible flag"]


def test_tolerance():
    inst = _inst()
    nudged = [(1, (0,), 0.29), (2, (0,), 0.294), (3, (0,), 0.299 + 1e-7)]
    assert not verify_plan(inst, _plan(inst, [0, 3], nudged))
    assert verify_plan(inst, _plan(inst, [0, 3], nudged), tol=1e-6)
    with pytest.raises(InvalidInputError, match=r"^tol: must be a finite number >= 0"):
        verify_plan(inst, _plan(inst, [0, 3], GOOD), tol=float("nan"))


def test_plans_that_do_not_fit_the_instance_raise():
    inst = _inst()
    with pytest.raises(InvalidInputError, match=r"^partition: must have 2 entries \(one per user\), got 3$"):
        verify_plan(inst, CoInferencePlan([0, 3, 3], (), [0.1, 0.1, 0.1], True))
    with pytest.raises(InvalidInputError, match=r"^partition\[1\]: must be a partition point in 0..3, got 4$"):
        verify_plan(inst, CoInferencePlan([0, 4], (), [0.1, 0.1], True))
    with pytest.raises(InvalidInputError, match=r"^batches\[0\]\[0\]: must be a sub-task in 1..3, got 4$"):
        verify_plan(inst, _plan(inst, [0, 3], [(4, (0,), 0.0)]))
    with pytest.raises(InvalidInputError, match=r"^batches\[0\]\[1\]: must hold user indices < 2, got 2$"):
        verify_plan(inst, _plan(inst, [0, 3], [(1, (2,), 0.0)]))


def test_affine_latency_uses_the_batch_size():
    inst = _inst(edge_alpha_s=[0.0, 0.002, 0.0], deadline_s=[0.30, 1.5])
    both = [(1, (0, 1), 0.6), (2, (0, 1), 0.604), (3, (0, 1), 0.613)]    # batch 2 takes 0.005 + 2*0.002
    report = verify_plan(inst, _plan(inst, [0, 0], both, feasible=False))
    assert report.finish_s[1] == pytest.approx(0.614)
    assert "deadlines" in _checks(report)                                   # user 0 (deadline 0.30) is late
    early = [(1, (0, 1), 0.6), (2, (0, 1), 0.604), (3, (0, 1), 0.612)]      # starts before batch 2 ends
    assert "precedence" in _checks(verify_plan(inst, _plan(inst, [0, 0], early, feasible=False)))


@pytest.mark.parametrize("seed", range(12))
def test_accepts_oracle_plans_and_rejects_them_perturbed(seed):
    inst = random_instance(3, 3, seed=seed, alpha=seed % 2 == 1, max_batch=[None, 2][seed % 2],
                           releases=seed % 3 == 0, tightness=0.8)
    res = solve_oracle(inst)
    report = verify_plan(inst, res.decision)
    if res.status == "partial":
        assert _checks(report) == ["deadlines"]
    else:
        assert report.ok, report.summary()
    assert report.energy_j == pytest.approx(res.objective)
    plan = res.decision
    if plan.batches:
        # Every batch one second earlier: the first batches start before their users' data is ready.
        early = [Batch(b.subtask, b.users, b.start_s - 1.0) for b in plan.batches]
        bad = CoInferencePlan(plan.partition, tuple(early), plan.energy_j, plan.feasible, plan.infeasible_users)
        assert "readiness" in _checks(verify_plan(inst, bad))
