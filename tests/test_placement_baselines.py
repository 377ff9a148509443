"""Baselines of docs/placement.rst section 4 and the solve() entry point."""

import numpy as np
import pytest

from j3o_fast import InvalidInputError
from j3o_fast.placement import generate, routing_usage, verify
from j3o_fast.placement.solve import METHODS, solve


def shares(inst, sol):
    rate = inst.rate
    return dict(local=(rate[sol.local.client, sol.local.task] * sol.local.fraction).sum(),
                edge=(rate[sol.edge.client, sol.edge.task] * sol.edge.fraction).sum(),
                cloud=(rate * sol.cloud).sum())


@pytest.mark.parametrize("window", [None, 0.05], ids=["no-batching", "window"])
@pytest.mark.parametrize("family", ["nyu", "taskonomy", "random"])
def test_every_method_verifies(family, window):
    inst = generate(family, 15, 2, seed=1, window=window)
    for method in METHODS:
        if method == "j3o-unaware" and window is None:
            continue
        res = solve(inst, method)
        assert res.method == method
        report = verify(inst, res.decision, claimed_objective=res.objective)
        assert report.ok, f"{method}: {report.summary()}"


def test_baselines_keep_to_their_rules():
    inst = generate("nyu", 20, 2, seed=2, window=0.05)
    cloud = solve(inst, "cloud-only").decision
    assert not cloud.client_models.any() and not cloud.edge_models.any()
    local = solve(inst, "local-only").decision
    assert not local.edge_models.any() and shares(inst, local)["edge"] == 0 and shares(inst, local)["cloud"] == 0
    edge = solve(inst, "edge-only").decision
    assert not edge.client_models.any() and shares(inst, edge)["local"] == 0 and shares(inst, edge)["cloud"] == 0
    single = solve(inst, "single-task").decision
    used = single.client_models.any(axis=0) | single.edge_models.any(axis=0)
    assert (inst.cover[used].sum(axis=1) == 1).all()


def test_exact_is_best():
    inst = generate("taskonomy", 12, 1, seed=3, window=0.05)
    opt = solve(inst, "mip").objective
    for method in METHODS:
        assert solve(inst, method).objective <= opt + 1e-7, method


def test_random_is_seeded():
    inst = generate("nyu", 10, 1, seed=0)
    a, b, c = (solve(inst, "random", seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.decision.client_models, b.decision.client_models)
    assert not np.array_equal(a.decision.client_models, c.decision.client_models)


def test_batching_awareness_pays():
    """On window instances with hundreds of clients per edge, planning for batching beats ignoring it."""
    inst = generate("taskonomy", 200, 1, seed=0, window=0.05)
    aware, unaware = solve(inst, "j3o"), solve(inst, "j3o-unaware")
    assert aware.objective > unaware.objective


def test_accuracy_greedy_uses_the_edges():
    inst = generate("nyu", 30, 1, seed=4, window=0.05)
    res = solve(inst, "accuracy-greedy")
    assert res.decision.edge_models.any() and routing_usage(inst, res.decision).edge_load.sum() > 0


def test_errors():
    inst = generate("nyu", 5, 1, seed=0)
    with pytest.raises(InvalidInputError, match="method: must be one of j3o, mip"):
        solve(inst, "magic")
    with pytest.raises(InvalidInputError, match="options: mip: got an unexpected keyword argument 'colour'"):
        solve(inst, "mip", colour=1)
    with pytest.raises(InvalidInputError, match="batching_window_s: j3o-unaware compares against batching"):
        solve(inst, "j3o-unaware")
    with pytest.raises(InvalidInputError, match="instance: must be a PlacementInstance, got dict"):
        solve({}, "j3o")
