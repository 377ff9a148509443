"""Seeded tiny co-inference instances and plan checks shared by the IP-SSA and OG tests."""

import numpy as np
import pytest

from j3o_fast.coinference import CoInferenceInstance, verify_plan


def tiny(rng, K, N, *, common=True, alpha=False, releases=False, max_batch=None):
    """Random instance whose deadlines make some cuts, and sometimes all of them, infeasible.

    Local blocks 20-200 ms, uploads of 0.5-5 Mbit at 5-50 Mbit/s, edge blocks 10-100 ms,
    relative deadlines 0.1-0.6 s (``common``: one absolute deadline for all users).
    """
    release = rng.uniform(0.0, 0.05, K) if releases else np.zeros(K)
    rel_deadline = rng.uniform(0.1, 0.6, K)
    if common:
        T = rng.uniform(0.15, 0.6)
        rel_deadline = T - release
    return CoInferenceInstance(
        subtasks=tuple(f"b{n}" for n in range(N)), output_mbit=rng.uniform(0.5, 5.0, N + 1),
        edge_beta_s=rng.uniform(0.01, 0.1, N),
        edge_alpha_s=rng.uniform(0.0, 0.03, N) if alpha else np.zeros(N),
        local_latency_s=rng.uniform(0.02, 0.2, (K, N)), local_energy_j=rng.uniform(0.1, 1.0, (K, N)),
        uplink_mbps=rng.uniform(5.0, 50.0, K), tx_power_w=rng.uniform(0.1, 1.0, K),
        deadline_s=rel_deadline, release_s=release, max_batch=max_batch)


def replace(inst, **changes):
    """A copy of ``inst`` with some constructor fields changed."""
    fields = dict(
        subtasks=inst.subtasks, output_mbit=inst.output_mbit, edge_beta_s=inst.edge_beta_s,
        edge_alpha_s=inst.edge_alpha_s, local_latency_s=inst.local_latency_s, local_energy_j=inst.local_energy_j,
        uplink_mbps=inst.uplink_mbps, tx_power_w=inst.tx_power_w, deadline_s=inst.deadline_s,
        release_s=inst.release_s, max_batch=inst.max_batch)
    fields.update(changes)
    return CoInferenceInstance(**fields)


def assert_valid(inst, res):
    """The plan passes the verifier; a plan listing unserved users fails only their deadlines."""
    plan = res.decision
    report = verify_plan(inst, plan)
    if plan.feasible:
        assert report.ok, report.summary()
        assert res.status in ("optimal", "feasible")
    else:
        assert res.status == "partial"
        assert [v.constraint for v in report.violations] == ["deadlines"], report.summary()
        assert report.violations[0].count == len(plan.infeasible_users)
    assert res.objective == pytest.approx(report.energy_j, rel=1e-12)


def cost(res):
    """Lexicographic cost of a result: (users missing their deadline, energy in J)."""
    return len(res.decision.infeasible_users), res.objective
