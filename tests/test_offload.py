"""The per-edge routing LPs equal an independently built routing LP, warm re-solves included."""

import numpy as np
import pytest
from reference import lagrangian_bound_reference, routing_lp_reference

from j3o_fast.placement import generate, solve_mip, verify
from j3o_fast.placement.offload import RoutingLP
from j3o_fast.placement.onload import build_candidates, greedy_onload
from j3o_fast.placement.prices import Prices, dual_update
from j3o_fast.placement.usage import routing_usage


def random_onloading(inst, rng, density):
    """Random models per node while they fit memory (and the fixed batch time at edges)."""
    x = np.zeros((inst.n_clients, inst.n_models), bool)
    y = np.zeros((inst.n_edges, inst.n_models), bool)
    for out, caps, share in ((x, inst.client_memory_mb, None), (y, inst.edge_memory_mb, inst.edge_fixed_share)):
        for v in range(out.shape[0]):
            left, share_left = caps[v], 1.0
            for m in rng.permutation(inst.n_models):
                s = share[v, m] if share is not None else 0.0
                if rng.random() < density and inst.memory_mb[m] <= left and s <= share_left:
                    out[v, m] = True
                    left -= inst.memory_mb[m]
                    share_left -= s
    return x, y


@pytest.mark.parametrize("seed", range(12))
def test_routing_lp_equals_reference_across_warm_resolves(seed):
    family = ["nyu", "taskonomy", "random"][seed % 3]
    inst = generate(family, 8 + seed, 1 + seed % 3, seed=seed, window=0.05 if seed % 2 else None)
    lp = RoutingLP(inst)
    rng = np.random.default_rng(seed)
    onloadings = [random_onloading(inst, rng, d) for d in (0.5, 0.1, 0.9, 0.3)]
    onloadings.append(onloadings[0])  # back to an earlier onloading: cached edges, warm model
    for x, y in onloadings:
        off = lp.solve(x, y)
        want = routing_lp_reference(inst, x.tolist(), y.tolist())
        assert off.objective == pytest.approx(want, abs=1e-7)
        solution = off.repaired()
        report = verify(inst, solution)
        assert report.ok, report.summary()
        assert report.objective == pytest.approx(want, abs=1e-6)
        for field in ("mu", "beta", "nu", "gamma", "kappa"):
            assert (getattr(off.duals, field) >= 0).all()


def test_optimal_onloading_gives_the_mip_optimum():
    inst = generate("nyu", 15, 2, seed=4, window=0.05)
    mip = solve_mip(inst)
    off = RoutingLP(inst).solve(mip.decision.client_models, mip.decision.edge_models)
    assert off.objective == pytest.approx(mip.objective, abs=1e-7)


def test_no_cloud_option():
    inst = generate("nyu", 10, 1, seed=2)
    x, y = random_onloading(inst, np.random.default_rng(0), 0.5)
    solution = RoutingLP(inst, cloud=False).solve(x, y).repaired()
    assert solution.cloud.sum() == 0
    assert verify(inst, solution).ok


def test_duals_price_the_binding_rows():
    """A binding backhaul row has a positive price; a client with spare compute has none."""
    inst = generate("nyu", 30, 1, seed=1)
    none = np.zeros((30, inst.n_models), bool), np.zeros((1, inst.n_models), bool)
    off = RoutingLP(inst).solve(*none)  # cloud only: the backhaul binds
    assert off.duals.gamma[0] > 0
    assert (off.duals.mu == 0).all()  # nothing runs locally


@pytest.mark.parametrize("family, n_clients, n_edges, window", [
    ("taskonomy", 1500, 1, 0.05), ("nyu", 1500, 2, None), ("random", 800, 3, 0.05), ("taskonomy", 600, 2, None)])
def test_large_lps_are_solved_to_optimality(family, n_clients, n_edges, window):
    """Objective and duals close the weak-duality gap on instances with thousands of pairs.

    The LP costs must stay of order one at this size: divided by the total rate they shrink to
    ~1e-5, and HiGHS' absolute dual tolerance then stops about 1e-5 (relative) short.
    """
    inst = generate(family, n_clients, n_edges, seed=3, window=window)
    cands = build_candidates(inst)
    lp = RoutingLP(inst)
    prices = Prices.zeros(inst)
    for k in range(3):  # a few J3O-like onloadings, each from the last duals
        on = greedy_onload(inst, cands, prices, cloud_available=k > 0)
        off = lp.solve(on.x, on.y)
        bound = lagrangian_bound_reference(inst, on.x, on.y, off.duals)
        assert off.objective <= bound + 1e-12
        assert bound - off.objective <= 1e-8 * bound
        prices = dual_update(prices, off.duals, 0.5)


def test_threads_give_the_same_routing():
    inst = generate("random", 60, 5, seed=2, window=0.05)
    rng = np.random.default_rng(5)
    onloadings = [random_onloading(inst, rng, d) for d in (0.4, 0.8, 0.2)]
    with RoutingLP(inst, threads=1) as one, RoutingLP(inst, threads=2) as two:
        for x, y in onloadings:
            a, b = one.solve(x, y), two.solve(x, y)
            assert a.objective == b.objective
            for field in ("client", "task", "model", "fraction"):
                assert np.array_equal(getattr(a.raw.edge, field), getattr(b.raw.edge, field))
                assert np.array_equal(getattr(a.raw.local, field), getattr(b.raw.local, field))
            assert np.array_equal(a.raw.cloud, b.raw.cloud)
            for field in ("mu", "beta", "nu", "gamma", "kappa"):
                assert np.array_equal(getattr(a.duals, field), getattr(b.duals, field))


def two_onloadings(family, n_clients, *, seed, rng_seed, densities):
    """A one-edge window instance, an onloading (x, y) and another edge onloading y_other."""
    inst = generate(family, n_clients, 1, seed=seed, window=0.05)
    rng = np.random.default_rng(rng_seed)
    (x, y), (_, y_other) = (random_onloading(inst, rng, d) for d in densities)
    return inst, x, y, y_other


def test_accept_stands_for_a_solve_at_that_onloading():
    """After trying other onloadings, going back to a known solution needs no solve, sized to the new columns."""
    inst, x, y, y_other = two_onloadings("taskonomy", 40, seed=6, rng_seed=6, densities=(0.5, 0.9))
    with RoutingLP(inst) as lp:
        e_lp = lp.edges[0]
        first = lp.solve(x, y)
        kept = e_lp.solution
        lp.solve(x, y_other)  # adds columns, moves the basis
        e_lp.accept(x, y[0], kept)
        runs = []
        original = e_lp._run
        e_lp._run = lambda: runs.append(1) or original()
        restored = lp.solve(x, y)  # nothing changed since accept: the known solution, no re-solve
        assert runs == []
        assert len(e_lp.solution.values) == len(e_lp.column_kind)
        assert restored.objective == first.objective
        assert verify(inst, restored.repaired()).ok
        fresh = RoutingLP(inst).solve(x, y)
        assert restored.objective == pytest.approx(fresh.objective, abs=1e-9)


def test_a_trial_goes_back_to_the_onloading_and_solution_before_it():
    inst, x, y, y_other = two_onloadings("random", 50, seed=2, rng_seed=3, densities=(0.4, 0.8))
    with RoutingLP(inst) as lp:
        e_lp = lp.edges[0]
        before = lp.solve(x, y)
        key, solution = e_lp.onloading_key, e_lp.solution
        with e_lp.trial(x, y_other[0]) as trial:
            assert trial.objective == pytest.approx(RoutingLP(inst).solve(x, y_other).objective, abs=1e-9)
            assert e_lp.onloading_key != key
        assert e_lp.onloading_key == key
        assert e_lp.solution.objective == solution.objective
        assert len(e_lp.solution.values) == len(e_lp.column_kind)    # padded for the trial's new columns
        again = lp.solve(x, y)
        assert again.objective == before.objective
        assert verify(inst, again.repaired()).ok


def test_routing_read_after_later_solves_is_that_solves_routing():
    """An outcome assembles its routing on first read, after later solves have added columns to
    the same edge LPs: it must still be the routing of its own onloading, worth its objective."""
    inst = generate("taskonomy", 40, 2, seed=3, window=0.05)
    rng = np.random.default_rng(11)
    lp = RoutingLP(inst)
    given, outcomes = [], []
    for density in (0.2, 0.5, 0.8, 0.3):  # denser onloadings open columns the earlier ones lacked
        x, y = random_onloading(inst, rng, density)
        outcomes.append(lp.solve(x, y))
        given.append((x.copy(), y.copy()))
        x[:] = True  # the caller's arrays may change after the solve; the outcome keeps its own
    for (x, y), off in zip(given, outcomes):
        assert np.array_equal(off.raw.client_models, x) and np.array_equal(off.raw.edge_models, y)
        assert routing_usage(inst, off.raw).objective == pytest.approx(off.objective, rel=1e-9)
        assert verify(inst, off.repaired()).ok


@pytest.mark.parametrize("seed", range(6))
def test_models_used_are_the_ones_the_routing_needs(seed):
    """Unloading every onloaded model the routing does not use leaves the LP's value as it was;
    each used model carries a positive fraction of some pair."""
    inst = generate(["nyu", "taskonomy", "random"][seed % 3], 12, 2, seed=seed, window=0.05 if seed % 2 else None)
    x, y = random_onloading(inst, np.random.default_rng(seed), 0.6)
    off = RoutingLP(inst).solve(x, y)
    used_x, used_y = off.client_models_used, off.edge_models_used
    assert not (used_x & ~x).any() and not (used_y & ~y).any()
    assert RoutingLP(inst).solve(used_x, used_y).objective == pytest.approx(off.objective, abs=1e-7)
    local, edge = off.raw.local, off.raw.edge
    for n, m in zip(*np.nonzero(used_x)):
        assert (local.fraction[(local.client == n) & (local.model == m)] > 0).any()
    for e, m in zip(*np.nonzero(used_y)):
        assert (edge.fraction[(inst.client_edge[edge.client] == e) & (edge.model == m)] > 0).any()
