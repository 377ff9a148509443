"""Edge-model search: moves fit, multi-model moves escape what single swaps cannot, settled edges are
not searched again, and the result never lowers A and verifies."""

import numpy as np
import pytest
import scipy.sparse as sp

from j3o_fast.placement import PlacementInstance, generate, verify
from j3o_fast.placement import offload
from j3o_fast.placement.j3o import solve_j3o
from j3o_fast.placement.local_search import EdgePricing, SearchBudget, _propose_moves, improve_edges
from j3o_fast.placement.offload import RoutingLP

NAN = float("nan")


def one_large_or_two_small(window=None):
    """One edge of 100 MB: a two-task model L (100 MB, accuracy 0.7) or two single-task models
    S0, S1 (50 MB each, 0.9). Clients hold no model and the cloud is poor, so {S0, S1} is best,
    and from {L} no single move helps: adding does not fit, swapping L for one S loses a task."""
    return PlacementInstance(
        tasks=("a", "b"), payload_mbit=[0.1, 0.1], cloud_accuracy=[0.3, 0.3],
        model_names=("L", "S0", "S1"), accuracy=[[0.7, 0.7], [0.9, NAN], [NAN, 0.9]],
        gflop=[[1.0, 1.0], [1.0, NAN], [NAN, 1.0]], memory_mb=[100.0, 50.0, 50.0],
        batch_tau0_s=[0.001] * 3, batch_tau1_s=[0.0005] * 3, max_batch=[64] * 3,
        edge_memory_mb=[100.0], edge_speed=[1.0], edge_backhaul_mbps=[1000.0],
        client_edge=[0] * 4, client_memory_mb=[10.0] * 4, client_gflops=[10.0] * 4,
        client_uplink_mbps=[50.0] * 4, rate=[[2.0, 3.0], [1.0, 1.0], [3.0, 2.0], [2.0, 2.0]],
        batching_window_s=window)


@pytest.mark.parametrize("window", [None, 0.05], ids=["no-batching", "window"])
def test_a_multi_model_move_replaces_one_large_model_by_two_small(window):
    inst = one_large_or_two_small(window)
    x = np.zeros((4, 3), dtype=bool)
    with RoutingLP(inst) as lp:
        start = lp.solve(x, np.array([[True, False, False]]))
        for single in ([[False, True, False]], [[False, False, True]]):  # every single move loses
            assert lp.solve(x, np.array(single)).objective < start.objective
        found = improve_edges(inst, lp, start)
        assert found.y.tolist() == [[False, True, True]]
        assert found.objective > start.objective
        assert verify(inst, found.repaired()).ok


def test_proposed_moves_fit_the_edge():
    inst = generate("random", 60, 2, seed=4, window=0.05)
    on = solve_j3o(inst, threads=1).decision.edge_models
    rng = np.random.default_rng(0)
    for e in range(inst.n_edges):
        column_gain = rng.random((30, inst.n_models)) * (rng.random((30, inst.n_models)) < 0.3)
        row_term = rng.random(inst.n_models) * 0.2 - 0.1
        gains = column_gain.sum(axis=0) + row_term
        carried = np.where(on[e], rng.random(inst.n_models), 0.0)
        ranked = [m for m in np.argsort(-gains) if not on[e, m]]
        mem_left = inst.edge_memory_mb[e] - inst.memory_mb[on[e]].sum()
        share_left = 1.0 - inst.edge_fixed_share[e][on[e]].sum()
        singles, multis = _propose_moves(inst, e, on[e], ranked, column_gain, row_term, carried, mem_left, share_left)
        assert singles and all(len(out) <= 1 and len(into) <= 1 and out + into for out, into in singles)
        assert {out for out, into in singles if not into} == {(m,) for m in np.flatnonzero(on[e])}   # unload each
        assert all(len(out) == 2 or len(into) >= 2 for out, into in multis)
        for out, into in singles + multis:
            assert all(on[e, m] for m in out) and not any(on[e, m] for m in into)
            trial = on[e].copy()
            trial[list(out)] = False
            trial[list(into)] = True
            assert inst.memory_mb[trial].sum() <= inst.edge_memory_mb[e] + 1e-9
            assert inst.edge_fixed_share[e][trial].sum() <= 1.0 + 1e-12
        for moves in (singles, multis):  # best estimate first; a set's pairs take their best column
            estimates = [(column_gain[:, list(into)].max(axis=1).sum() if into else 0.0) + row_term[list(into)].sum()
                         - carried[list(out)].sum() - row_term[list(out)].sum() for out, into in moves]
            assert estimates == sorted(estimates, reverse=True)


def test_settled_edges_are_not_searched_again(monkeypatch):
    inst = generate("taskonomy", 80, 3, seed=3, window=0.05)
    res = solve_j3o(inst, threads=1, local_search=False)
    solves = []
    original = offload.EdgeLP._run
    monkeypatch.setattr(offload.EdgeLP, "_run", lambda self: solves.append(self.edge) or original(self))
    with RoutingLP(inst) as lp:
        start = lp.solve(res.decision.client_models, res.decision.edge_models)
        solves.clear()
        budget = SearchBudget()
        first = improve_edges(inst, lp, start, budget=budget)
        assert set(budget.settled) == {e.edge for e in lp.edges if e.P > 0}  # no limit: every edge ends settled
        assert sum(budget.spent.values()) == len(solves) > 0  # every search solve is counted
        solves.clear()
        again = improve_edges(inst, lp, first, budget=budget)
        assert solves == [] and again is first
        assert first.objective >= start.objective and verify(inst, first.repaired()).ok


@pytest.mark.parametrize("seed", range(4))
def test_search_never_lowers_a_and_verifies(seed):
    family = ["nyu", "taskonomy", "random", "random"][seed]
    inst = generate(family, 40 + 20 * seed, 2, seed=seed, window=0.05 if seed % 2 else None)
    res = solve_j3o(inst, threads=1, polish=False, local_search=False)
    with RoutingLP(inst) as lp:
        start = lp.solve(res.decision.client_models, res.decision.edge_models)
        found = improve_edges(inst, lp, start)
        assert found.objective >= start.objective
        assert np.array_equal(found.x, start.x)
        assert verify(inst, found.repaired()).ok


def dual_vector(e_lp, duals):
    """The named duals back in the LP's row order: conservation, compute, uplink, backhaul, GPU, caps."""
    caps = duals.cap if e_lp.inst.batching else []
    return np.concatenate([duals.conservation, duals.compute, duals.uplink, [duals.backhaul, duals.gpu], caps])


def lagrangian_bound(e_lp, duals):
    """max over x of the edge LP as HiGHS holds it, with its coupling rows (all but the pairs'
    conservation rows [0, P)) priced at ``duals`` instead of enforced, in units of A: each pair's
    open columns compete for its one unit, so the pair takes max(0, max_j c_j - a_j'y)."""
    lp = e_lp.highs.getLp()
    a = sp.csc_matrix((np.asarray(lp.a_matrix_.value_), np.asarray(lp.a_matrix_.index_),
                       np.asarray(lp.a_matrix_.start_)), shape=(lp.num_row_, lp.num_col_))
    y = duals / e_lp.unit
    y[:e_lp.P] = 0.0                                    # the conservation rows stay constraints
    reduced = np.asarray(lp.col_cost_) - a.T @ y
    pair = a[:e_lp.P].tocsc().indices                   # every column has one conservation entry first
    assert len(pair) == lp.num_col_
    best = np.zeros(e_lp.P)
    is_open = np.asarray(lp.col_upper_) > 0
    np.maximum.at(best, pair[is_open], reduced[is_open])
    return (np.asarray(lp.row_upper_) @ y + best.sum()) * e_lp.objective_scale


def bound_instances():
    for window in (None, 0.05):
        for seed, family in enumerate(["nyu", "taskonomy", "random"]):
            yield generate(family, 40, 2, seed=seed, window=window)
        yield generate("random", 120, 2, seed=0, window=window)                        # GPU time binds
        for seed in range(2):
            yield generate("random", 80, 2, seed=seed, window=window, max_batch=(2, 4, 8))  # batch caps bind


def test_move_bound_is_the_lagrangian_bound_at_the_current_duals():
    """The bound that prunes moves is the LP with its coupling rows priced at the current duals,
    computed here from HiGHS' own copy of each trial LP; it is never below the trial's optimum,
    and at the current onloading it is the LP's value (on instances where the GPU and batch-cap
    duals are positive, so that every term counts)."""
    rng = np.random.default_rng(7)
    checked, priced_gpu, priced_cap, moved = 0, False, False, 0
    for inst in bound_instances():
        res = solve_j3o(inst, threads=1, local_search=False)
        x, y = res.decision.client_models, res.decision.edge_models
        with RoutingLP(inst) as lp:
            lp.solve(x, y)
            for e_lp in (e for e in lp.edges if e.P > 0):
                on = y[e_lp.edge]
                current, named = e_lp.solution.objective, e_lp.solution.duals
                duals = dual_vector(e_lp, named)
                priced_gpu |= named.gpu > 0
                priced_cap |= inst.batching and (named.cap > 0).any()
                edge_duals = EdgePricing(inst, e_lp, x)
                assert edge_duals.bound(on) == pytest.approx(current, rel=1e-9)
                for _ in range(12):
                    out = rng.choice(np.flatnonzero(on), size=min(int(rng.integers(0, 3)), int(on.sum())), replace=False)
                    into = rng.choice(np.flatnonzero(~on), size=int(rng.integers(0, 3)), replace=False)
                    trial = on.copy()
                    trial[out] = False
                    trial[into] = True
                    if inst.edge_fixed_share[e_lp.edge][trial].sum() > 1 or (trial == on).all():
                        continue   # (a trial at the current onloading is its known solution, unsolved)
                    bound = edge_duals.bound(trial)
                    with e_lp.trial(x, trial) as solution:
                        assert bound == pytest.approx(lagrangian_bound(e_lp, duals), rel=1e-9, abs=1e-12)
                        optimum = solution.objective
                    assert optimum <= bound + 1e-9
                    moved += bound < current - 1e-6  # the bound falls where a model is taken out
                    checked += 1
    assert checked >= 100 and priced_gpu and priced_cap and moved >= 10
