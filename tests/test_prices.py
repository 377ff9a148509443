"""Price updates of J3O: the relaxed-usage kernel equals its twin; the update rules."""

import numpy as np
import pytest
from reference import relaxed_usage_reference

from j3o_fast.placement import generate
from j3o_fast.placement.onload import build_candidates, greedy_onload
from j3o_fast.placement.prices import Prices, dual_update, relaxed_usage, subgradient_update


def random_prices(inst, rng, scale=2.0):
    N, E, M = inst.n_clients, inst.n_edges, inst.n_models
    return Prices(rng.random(N) * scale, rng.random(N) * scale, rng.random(E) * scale, rng.random(E) * scale,
                  rng.random((E, M)) * scale * (rng.random((E, M)) < 0.3))


@pytest.mark.parametrize("seed", range(30))
def test_relaxed_usage_equals_twin(seed):
    rng = np.random.default_rng(seed)
    family = ["nyu", "taskonomy", "random"][seed % 3]
    window = 0.05 if seed % 2 else None
    inst = generate(family, int(rng.integers(1, 40)), int(rng.integers(1, 4)), seed=seed, window=window)
    cands = build_candidates(inst)
    on = greedy_onload(inst, cands, random_prices(inst, rng), cloud_available=bool(seed % 3))
    got = relaxed_usage(inst, cands, on)
    want = relaxed_usage_reference(inst, cands.slot_client, cands.slot_task, cands.slot_rate, on.slot_route,
                                   on.slot_model, on.y)
    for key, value in want.items():
        np.testing.assert_allclose(getattr(got, key), value, rtol=1e-12, atol=1e-14, err_msg=key)


def test_relaxed_usage_one_client_one_task():
    inst = generate("random", 1, 1, seed=3, n_tasks=1, n_models=2, window=0.1)
    cands = build_candidates(inst)
    on = greedy_onload(inst, cands, Prices.zeros(inst), cloud_available=False)
    got = relaxed_usage(inst, cands, on)
    want = relaxed_usage_reference(inst, cands.slot_client, cands.slot_task, cands.slot_rate, on.slot_route,
                                   on.slot_model, on.y)
    np.testing.assert_allclose(got.nu, want["nu"], rtol=1e-12)


def test_dual_update_is_a_convex_combination():
    inst = generate("nyu", 5, 2, seed=0, window=0.05)
    rng = np.random.default_rng(0)
    old, duals = random_prices(inst, rng), random_prices(inst, rng)
    new = dual_update(old, duals, 0.3)
    np.testing.assert_allclose(new.mu, 0.7 * old.mu + 0.3 * duals.mu)
    np.testing.assert_allclose(new.kappa, 0.7 * old.kappa + 0.3 * duals.kappa)
    same = dual_update(old, duals, 1.0)
    np.testing.assert_array_equal(same.nu, duals.nu)


def test_subgradient_update_raises_prices_of_overused_rows_only():
    inst = generate("nyu", 4, 1, seed=0)
    zero = Prices.zeros(inst)
    usage = Prices(np.array([2.0, 0.5, 1.0, 0.0]), np.ones(4), np.array([3.0]), np.array([0.2]), np.zeros((1, 28)))
    new = subgradient_update(zero, usage, 0.5)
    np.testing.assert_allclose(new.mu, [0.5, 0.0, 0.0, 0.0])   # over by 1 -> +0.5; under -> clipped at 0
    np.testing.assert_allclose(new.nu, [1.0])
    np.testing.assert_allclose(new.gamma, [0.0])
    assert (new.kappa == 0).all()
