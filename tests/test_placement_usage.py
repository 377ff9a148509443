"""routing_usage (the program's coefficients summed by NumPy) equals its plain-Python twin."""

import numpy as np
import pytest
from reference import routing_usage_reference

from j3o_fast import InvalidInputError
from j3o_fast.placement import PlacementSolution, Routes, generate, routing_usage


def random_solution(inst, rng, n_entries):
    N, E, M, K = inst.n_clients, inst.n_edges, inst.n_models, inst.n_tasks

    def routes(count):
        return Routes(rng.integers(0, N, count), rng.integers(0, K, count), rng.integers(0, M, count),
                      rng.random(count) * rng.choice([0.0, 1.0, 1.0], count))

    return PlacementSolution(rng.random((N, M)) < 0.4, rng.random((E, M)) < 0.4, routes(n_entries),
                             routes(n_entries), rng.random((N, K)) * 0.5, rng.random((N, K)) * 0.5)


def assert_usage_equal(inst, sol):
    got = routing_usage(inst, sol)
    want = routing_usage_reference(inst, sol)
    for key, value in want.items():
        np.testing.assert_allclose(getattr(got, key), value, rtol=1e-12, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("seed", range(60))
def test_usage_equals_twin_random(seed):
    rng = np.random.default_rng(seed)
    family = ["nyu", "taskonomy", "random"][seed % 3]
    window = None if seed % 2 else 0.05
    inst = generate(family, int(rng.integers(1, 12)), int(rng.integers(1, 4)), seed=seed, window=window)
    assert_usage_equal(inst, random_solution(inst, rng, int(rng.integers(0, 60))))


@pytest.mark.parametrize("case", ["one-client-one-task", "zero-rates", "no-routes", "all-cloud"])
def test_usage_equals_twin_edge_cases(case):
    rng = np.random.default_rng(1)
    if case == "one-client-one-task":
        inst = generate("random", 1, 1, seed=4, n_tasks=1, n_models=2)
    elif case == "zero-rates":
        inst = generate("nyu", 5, 2, seed=3, task_absent_probability=0.9)
    else:
        inst = generate("nyu", 4, 1, seed=9, window=0.1)
    sol = random_solution(inst, rng, 10)
    if case == "no-routes":
        sol = PlacementSolution(sol.client_models, sol.edge_models, Routes.empty(), Routes.empty(), sol.cloud, sol.drop)
    if case == "all-cloud":
        sol = PlacementSolution(sol.client_models, sol.edge_models, Routes.empty(), Routes.empty(),
                                np.ones_like(sol.cloud), np.zeros_like(sol.cloud))
    assert_usage_equal(inst, sol)


def test_out_of_range_entry_is_reported_not_read():
    inst = generate("nyu", 3, 1, seed=0)
    sol = PlacementSolution.all_dropped(3, 1, inst.n_models, 3)
    bad = PlacementSolution(sol.client_models, sol.edge_models, Routes.empty(),
                            Routes([0, 1], [0, 0], [0, inst.n_models], [0.5, 0.5]), sol.cloud, sol.drop)
    with pytest.raises(InvalidInputError, match=r"routing.edge\[1\]: client, task or model index out of range"):
        routing_usage(inst, bad)


def test_solution_for_other_instance_is_refused():
    inst = generate("nyu", 3, 1, seed=0)
    other = PlacementSolution.all_dropped(4, 1, inst.n_models, 3)
    with pytest.raises(InvalidInputError, match="solution: is for 4 clients but the instance has 3"):
        routing_usage(inst, other)
