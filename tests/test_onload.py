"""Onloading (docs/placement.rst section 3, step (i)): candidates, values and greedy_onload."""

import numpy as np
import pytest
from reference import (
    python_lazy_greedy,
    reference_candidates,
    reference_onload_value,
    reference_query_value,
    reference_values,
)

from j3o_fast import InvalidInputError
from j3o_fast.placement import generate
from j3o_fast.placement.onload import build_candidates, greedy_onload, query_values
from j3o_fast.placement.prices import Prices
from j3o_fast.placement.program import CLOUD, DROP, EDGE, LOCAL


def random_instance(seed, **kw):
    rng = np.random.default_rng(seed)
    family = ["nyu", "taskonomy", "random"][seed % 3]
    window = 0.05 if seed % 2 == 0 else None
    params = {}
    if family == "random" and seed % 5 == 0:
        params["batch_tau0_s"] = (0.002, 0.2)  # some edge models whose batch exceeds the window
    return generate(family, int(rng.integers(1, 40)), int(rng.integers(1, 4)), seed=seed, window=window,
                    **params, **kw)


def random_prices(inst, rng, scale=0.3, zero_share=0.3):
    N, E, M = inst.n_clients, inst.n_edges, inst.n_models

    def draw(shape):
        return rng.exponential(scale, shape) * (rng.random(shape) >= zero_share)

    return Prices(draw(N), draw(N), draw(E), draw(E), draw((E, M)))


def candidate_list(c):
    return [(int(c.node[j]), int(c.model[j]), int(c.edge[j]), c.slot[c.indptr[j]:c.indptr[j + 1]].tolist())
            for j in range(c.n_candidates)]


# ---- candidates ------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(40))
def test_candidates_equal_twin(seed):
    inst = random_instance(seed)
    c = build_candidates(inst)
    slots, cands = reference_candidates(inst)
    assert candidate_list(c) == cands
    np.testing.assert_array_equal(np.column_stack([c.slot_client, c.slot_task]).reshape(-1, 2),
                                  np.array(slots, dtype=np.int64).reshape(-1, 2))
    np.testing.assert_array_equal(c.slot_rate, [inst.rate[n, t] for n, t in slots])
    np.testing.assert_array_equal(c.memory, inst.memory_mb[c.model])
    on_edge = c.is_edge
    np.testing.assert_array_equal(c.fixed_share[on_edge], inst.edge_fixed_share[c.edge[on_edge], c.model[on_edge]])
    assert (c.fixed_share[~on_edge] == 0).all()
    np.testing.assert_array_equal(c.edge[~on_edge], inst.client_edge[c.node[~on_edge]])
    assert c.indptr.dtype == np.int64 and c.slot.dtype == np.int32
    for arr in (c.node, c.indptr, c.slot, c.slot_rate):
        assert not arr.flags.writeable


def test_candidates_edge_cases():
    one = generate("random", 1, 1, seed=4, n_tasks=1, n_models=2)
    assert candidate_list(build_candidates(one)) == reference_candidates(one)[1]
    sparse = generate("nyu", 6, 2, seed=3, task_absent_probability=0.95)
    assert candidate_list(build_candidates(sparse)) == reference_candidates(sparse)[1]
    # A window so short that no edge batch fits: no edge candidates at all.
    tight = generate("nyu", 10, 2, seed=1, window=1e-4)
    c = build_candidates(tight)
    assert not c.is_edge.any() and candidate_list(c) == reference_candidates(tight)[1]
    # Clients too small for every model: only edge candidates.
    small = generate("nyu", 10, 2, seed=1, client_memory_mb=(1.0, 2.0))
    c = build_candidates(small)
    assert c.is_edge.all() and c.n_candidates > 0
    assert candidate_list(c) == reference_candidates(small)[1]


def test_index_of_and_entry_fields():
    inst = generate("taskonomy", 30, 2, seed=5, window=0.05)
    c = build_candidates(inst)
    j = np.arange(c.n_candidates)
    np.testing.assert_array_equal(c.index_of(c.node, c.model), j)
    assert c.index_of([inst.n_clients + inst.n_edges], [0])[0] == -1
    f = c.entry_fields()
    np.testing.assert_array_equal(f["client"], c.slot_client[c.slot])
    local = ~f["is_edge"]
    np.testing.assert_array_equal(f["client"][local], c.node[f["candidate"][local]])
    np.testing.assert_array_equal(inst.client_edge[f["client"]], f["edge"])  # one group per edge
    assert inst.cover[f["model"], f["task"]].all()


# ---- values ----------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(30))
def test_values_equal_twin(seed):
    inst = random_instance(seed)
    rng = np.random.default_rng(seed)
    prices = random_prices(inst, rng)
    c = build_candidates(inst)
    slots, cands = reference_candidates(inst)
    for cloud in (True, False):
        value, base, fixed = query_values(inst, c, prices, cloud_available=cloud)
        t_values, t_base, t_fixed = reference_values(inst, slots, cands, prices, cloud)
        flat = np.array([v for vs in t_values for v in vs])
        np.testing.assert_allclose(value, flat, rtol=0, atol=1e-12)
        np.testing.assert_allclose(base, t_base, rtol=0, atol=1e-12)
        np.testing.assert_allclose(fixed, t_fixed, rtol=0, atol=1e-12)
        if inst.batching and prices.nu.any():
            assert fixed.any() or not c.is_edge.any()


# ---- greedy onloading ------------------------------------------------------------------------

def check_onloading(inst, c, prices, on, cloud):
    # Memory and the fixed batch share hold.
    assert (on.x @ inst.memory_mb <= inst.client_memory_mb + 1e-9).all()
    assert (on.y @ inst.memory_mb <= inst.edge_memory_mb + 1e-9).all()
    assert ((inst.edge_fixed_share * on.y).sum(axis=1) <= 1 + 1e-12).all()
    # f(S) of the returned set equals a recomputation from scratch.
    want = reference_onload_value(inst, on.x, on.y, prices, cloud)
    assert abs(on.value - want) <= 1e-9 * max(1.0, abs(want))
    # Per-slot best value and route are consistent with x, y.
    value, base, fixed_cost = query_values(inst, c, prices, cloud_available=cloud)
    np.testing.assert_array_equal(on.slot_base, base)
    for s in range(c.n_slots):
        n, t = int(c.slot_client[s]), int(c.slot_task[s])
        j, route, m = int(on.slot_candidate[s]), int(on.slot_route[s]), int(on.slot_model[s])
        if j < 0:
            assert on.slot_value[s] == base[s] and m == -1
            assert route == (CLOUD if base[s] > 0 else DROP)
        else:
            on_edge = bool(c.is_edge[j])
            assert route == (EDGE if on_edge else LOCAL) and m == c.model[j]
            assert (on.y[inst.client_edge[n], m] if on_edge else on.x[n, m])
            assert abs(on.slot_value[s] - reference_query_value(inst, prices, n, t, m, on_edge)) <= 1e-12
            assert on.slot_value[s] > base[s]
    return value, base, fixed_cost


@pytest.mark.parametrize("seed", range(24))
def test_greedy_onload_on_families(seed):
    inst = random_instance(seed)
    rng = np.random.default_rng(100 + seed)
    c = build_candidates(inst)
    for prices, cloud in ((random_prices(inst, rng), True), (random_prices(inst, rng, scale=0.05), True),
                          (Prices.zeros(inst), False)):
        on = greedy_onload(inst, c, prices, cloud_available=cloud)
        value, base, fixed_cost = check_onloading(inst, c, prices, on, cloud)
        # The kept set is the better of the two key modes (ties: per MB).
        args = (c.indptr, c.slot, value, c.slot_rate, c.node, c.memory, fixed_cost, c.fixed_share,
                np.ones(c.n_candidates, bool), base, np.full(c.n_slots, -1),
                np.concatenate([inst.client_memory_mb, inst.edge_memory_mb]), np.ones(c.n_nodes))
        f = []
        for mode in (0, 1):
            order, cur, _, gain = python_lazy_greedy(*args, mode)
            f.append((float(np.dot(c.slot_rate, cur - base)) - float(fixed_cost[order].sum()), order))
        mode = 1 if f[1][0] > f[0][0] else 0
        assert on.key_mode == ("per_memory", "gain")[mode]
        np.testing.assert_array_equal(on.selected, f[mode][1])
        assert abs(on.value - f[mode][0]) <= 1e-9 * max(1.0, abs(on.value))


@pytest.mark.parametrize("family", ["nyu", "taskonomy", "random"])
@pytest.mark.parametrize("window", [None, 0.05])
def test_first_pass_without_cloud_onloads_models(family, window):
    inst = generate(family, 60, 3, seed=11, window=window)
    c = build_candidates(inst)
    on = greedy_onload(inst, c, Prices.zeros(inst), cloud_available=False)
    assert on.y.any() and on.value > 0
    # On these instances some onloaded model serves every pair: no relaxed route drops.
    assert (on.slot_route >= LOCAL).all()
    if family != "random":  # edge budgets hold only a few of the many realistic models
        assert on.x.any()
    check_onloading(inst, c, Prices.zeros(inst), on, False)
    # At zero prices with the cloud available, the cloud beats every library model (families
    # make it more accurate), so the literal first pass onloads nothing.
    on0 = greedy_onload(inst, c, Prices.zeros(inst), cloud_available=True)
    assert not on0.x.any() and not on0.y.any() and on0.value == 0.0
    assert (on0.slot_route == CLOUD).all()


def test_window_fixed_cost_keeps_useless_edge_models_out():
    inst = generate("nyu", 40, 2, seed=2, window=0.02)
    c = build_candidates(inst)
    cheap = greedy_onload(inst, c, Prices.zeros(inst), cloud_available=False)
    z = Prices.zeros(inst)
    pricey = Prices(z.mu, z.beta, np.full(inst.n_edges, 1e6), z.gamma, z.kappa)
    on = greedy_onload(inst, c, pricey, cloud_available=False)
    assert cheap.y.any() and not on.y.any() and on.x.any()
    check_onloading(inst, c, pricey, on, False)


@pytest.mark.parametrize("seed", range(12))
def test_fixed_set(seed):
    inst = random_instance(seed)
    rng = np.random.default_rng(300 + seed)
    c = build_candidates(inst)
    prices = random_prices(inst, rng, scale=0.1)
    full = greedy_onload(inst, c, prices, cloud_available=False)
    # Restarting from the greedy's own set adds nothing: everything left misfits or gains <= 0.
    again = greedy_onload(inst, c, prices, cloud_available=False, fixed=(full.x, full.y))
    np.testing.assert_array_equal(again.x, full.x)
    np.testing.assert_array_equal(again.y, full.y)
    assert again.n_fixed == len(again.selected) == len(full.selected)
    assert abs(again.value - full.value) <= 1e-9 * max(1.0, abs(full.value))
    # Polish-style: keep part of the set, refill.
    keep_x = full.x & (rng.random(full.x.shape) < 0.5)
    keep_y = full.y & (rng.random(full.y.shape) < 0.5)
    on = greedy_onload(inst, c, prices, cloud_available=True, fixed=(keep_x, keep_y))
    assert (on.x >= keep_x).all() and (on.y >= keep_y).all()
    assert on.n_fixed == int(keep_x.sum() + keep_y.sum())
    check_onloading(inst, c, prices, on, True)
    # A fixed placement that is not a candidate (serves nothing) still holds its memory.
    free_n = np.flatnonzero((c.index_of(np.arange(inst.n_clients)[:, None], np.arange(inst.n_models)[None, :]) < 0)
                            .reshape(inst.n_clients, inst.n_models).any(axis=1))
    fx = np.zeros_like(keep_x)
    for n in free_n:
        m = [m for m in range(inst.n_models) if c.index_of([n], [m])[0] < 0
             and inst.memory_mb[m] <= inst.client_memory_mb[n]]
        if m:
            fx[n, m[0]] = True
    if fx.any():
        on = greedy_onload(inst, c, prices, fixed=(fx, np.zeros_like(keep_y)))
        assert (on.x @ inst.memory_mb <= inst.client_memory_mb + 1e-9).all() and (on.x >= fx).all()


def test_eligible_mask():
    inst = generate("taskonomy", 30, 2, seed=8, window=0.05)
    c = build_candidates(inst)
    no_edges = ~c.is_edge
    on = greedy_onload(inst, c, Prices.zeros(inst), cloud_available=False, eligible=no_edges)
    assert not on.y.any() and on.x.any()


def test_invalid_inputs():
    inst = generate("nyu", 10, 2, seed=0)
    c = build_candidates(inst)
    z = Prices.zeros(inst)
    with pytest.raises(InvalidInputError, match=r"prices\.mu: must have shape"):
        greedy_onload(inst, c, Prices(np.zeros(3), z.beta, z.nu, z.gamma, z.kappa))
    with pytest.raises(InvalidInputError, match=r"prices\.gamma\[1\]: must be finite and >= 0, got -1.0"):
        greedy_onload(inst, c, Prices(z.mu, z.beta, z.nu, np.array([0.0, -1.0]), z.kappa))
    with pytest.raises(InvalidInputError, match=r"prices\.beta\[0\]"):
        greedy_onload(inst, c, Prices(z.mu, np.full(10, np.nan), z.nu, z.gamma, z.kappa))
    with pytest.raises(InvalidInputError, match="candidates"):
        greedy_onload(inst, build_candidates(generate("nyu", 11, 2, seed=0)), z)
    with pytest.raises(InvalidInputError, match="fixed.x"):
        greedy_onload(inst, c, z, fixed=(np.ones((10, inst.n_models), bool), np.zeros((2, inst.n_models), bool)))
    with pytest.raises(InvalidInputError, match="fixed.y"):
        greedy_onload(inst, c, z, fixed=(np.zeros((10, inst.n_models), bool), np.zeros((3, inst.n_models), bool)))
    with pytest.raises(InvalidInputError, match="eligible"):
        greedy_onload(inst, c, z, eligible=np.ones(3, bool))
    with pytest.raises(InvalidInputError, match="cloud_available"):
        greedy_onload(inst, c, z, cloud_available="no")


def test_share_limit_binds_with_long_batches():
    # Batches long against the window: each edge can hold only a few models by GPU share.
    inst = generate("random", 60, 2, seed=3, window=0.02, batch_tau0_s=(0.006, 0.012), n_models=20,
                    edge_memory_fraction=(0.9, 1.0))
    c = build_candidates(inst)
    on = greedy_onload(inst, c, Prices.zeros(inst), cloud_available=False)
    share = (inst.edge_fixed_share * on.y).sum(axis=1)
    assert (share <= 1 + 1e-12).all() and share.max() > 0.5
    check_onloading(inst, c, Prices.zeros(inst), on, False)
