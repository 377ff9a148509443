"""The repair of a nearly feasible routing (placement/repair.py) against its slow twin, on LP
routings pushed over every row and sprinkled with entries the repair must drop."""

import numpy as np
import pytest
from reference import repair_routing_reference

from j3o_fast.placement import generate, verify
from j3o_fast.placement.j3o import solve_j3o
from j3o_fast.placement.offload import RoutingLP
from j3o_fast.placement.repair import repair_routing
from j3o_fast.placement.solution import PlacementSolution, Routes


def feasible_onloading(inst):
    decision = solve_j3o(inst, local_search=False).decision
    return decision.client_models, decision.edge_models


def spoiled(inst, solution, rng):
    """``solution`` with every fraction raised by up to 5%, a few out of [0, 1], and entries on
    models that are not onloaded or do not serve the task."""
    def spoil(routes):
        k = 6
        extra = (rng.integers(0, inst.n_clients, k), rng.integers(0, inst.n_tasks, k),
                 rng.integers(0, inst.n_models, k), rng.uniform(-0.2, 1.2, k))
        f = routes.fraction * rng.uniform(1.0, 1.05, len(routes))
        return Routes(*(np.concatenate([a, b]) for a, b in
                        zip((routes.client, routes.task, routes.model, f), extra)))

    cloud = solution.cloud * rng.uniform(1.0, 1.05, solution.cloud.shape)
    cloud[rng.random(cloud.shape) < 0.05] = 1.3
    return PlacementSolution(solution.client_models, solution.edge_models, spoil(solution.local),
                             spoil(solution.edge), cloud, np.zeros_like(cloud))


def as_entries(routes):
    return sorted(zip(routes.client.tolist(), routes.task.tolist(), routes.model.tolist(), routes.fraction.tolist()))


@pytest.mark.parametrize("seed", range(10))
def test_repair_equals_reference_and_verifies(seed):
    family = ["nyu", "taskonomy", "random"][seed % 3]
    inst = generate(family, 6 + seed, 1 + seed % 2, seed=seed, window=0.05 if seed % 2 else None)
    rng = np.random.default_rng(seed)
    x, y = feasible_onloading(inst)
    bad = spoiled(inst, RoutingLP(inst).solve(x, y).raw, rng)
    got = repair_routing(inst, bad)
    report = verify(inst, got)
    assert report.ok, report.summary()
    local, edge, cloud, drop = repair_routing_reference(inst, bad)
    for routes, want in ((got.local, local), (got.edge, edge)):
        have = as_entries(routes)
        assert [e[:3] for e in have] == [e[:3] for e in sorted(map(tuple, want))]
        np.testing.assert_allclose([e[3] for e in have], [e[3] for e in sorted(map(tuple, want))], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got.cloud, cloud, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got.drop, drop, rtol=1e-12, atol=1e-12)


def test_feasible_routing_is_kept():
    inst = generate("nyu", 12, 2, seed=5, window=0.05)
    x, y = feasible_onloading(inst)
    once = RoutingLP(inst).solve(x, y).repaired()
    twice = repair_routing(inst, once)
    for a, b in ((once.local, twice.local), (once.edge, twice.edge)):
        assert as_entries(a) == as_entries(b)
    assert np.array_equal(once.cloud, twice.cloud) and np.array_equal(once.drop, twice.drop)
