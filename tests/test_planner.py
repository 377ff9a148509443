"""Warm re-planning: warm results verify, never lose to the kept plan, stay close to a cold J3O,
respect the churn limit, and bad updates change nothing."""

import dataclasses

import numpy as np
import pytest

from j3o_fast import InvalidInputError
from j3o_fast.placement import PlacementPlanner, generate, verify
from j3o_fast.placement.j3o import solve_j3o
from j3o_fast.placement.offload import RoutingLP
from j3o_fast.placement.planner import CHANGEABLE, _keep_idle_client_models, _knapsack
from j3o_fast.placement.repair import carried_traffic, fit_onloading
from j3o_fast.placement.solution import Routes

MODES = [None, 0.05]
MODE_IDS = ["no-batching", "window"]


def _drift(rate, rng, scale=0.1):
    """Rates changed by up to ``scale`` (relative, uniform), seeded."""
    return rate * (1 + rng.uniform(-scale, scale, rate.shape))


def _verified(planner, res):
    report = verify(planner.instance, res.decision, claimed_objective=res.objective)
    assert report.ok, report.summary()
    assert res.status == "feasible" and res.method == "j3o"


@pytest.mark.parametrize("window", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("family", ["nyu", "taskonomy", "random"])
def test_warm_within_cold_after_random_rate_changes(family, window):
    """10% random rate changes over 5 steps: every warm plan verifies and is within 0.995 of a
    cold J3O of the same instance."""
    inst = generate(family, 60, 2, seed=3, window=window)
    planner = PlacementPlanner(inst)
    first = planner.solve()
    _verified(planner, first)
    assert first.objective == solve_j3o(inst).objective          # the first solve is J3O's
    rng = np.random.default_rng(7)
    for _ in range(5):
        planner.update(rate=_drift(planner.instance.rate, rng))
        res = planner.solve()
        _verified(planner, res)
        cold = solve_j3o(planner.instance)
        assert res.objective >= 0.995 * cold.objective, (res.objective, cold.objective)
        assert "warm re-plan" in res.message and planner.last_changes >= 0


@pytest.mark.parametrize("window", MODES, ids=MODE_IDS)
def test_no_change_keeps_the_objective(window):
    inst = generate("taskonomy", 80, 3, seed=1, window=window)
    planner = PlacementPlanner(inst)
    previous = planner.solve().objective
    for _ in range(2):
        res = planner.solve()
        _verified(planner, res)
        assert res.objective >= previous - 1e-9
        previous = res.objective


def test_other_capacities_change_and_models_that_no_longer_fit_go():
    """Client memory halved and edge speed cut: the kept onloading no longer fits; the warm plan
    unloads what does not fit and still verifies."""
    inst = generate("taskonomy", 60, 2, seed=2, window=0.05)
    planner = PlacementPlanner(inst)
    planner.solve()
    planner.update(client_memory_mb=inst.client_memory_mb * 0.5, edge_speed=inst.edge_speed * 0.3,
                   client_gflops=inst.client_gflops * 0.8, client_uplink_mbps=inst.client_uplink_mbps * 1.2,
                   edge_backhaul_mbps=inst.edge_backhaul_mbps * 0.7, batching_window_s=0.04)
    res = planner.solve()
    _verified(planner, res)
    assert res.objective >= 0.995 * solve_j3o(planner.instance).objective


def test_fit_onloading_unloads_least_carried_first():
    inst = generate("nyu", 10, 1, seed=0)
    M = inst.n_models
    x = np.zeros((10, M), dtype=bool)
    small = np.argsort(inst.memory_mb)[:3]
    x[0, small] = True
    carried = np.zeros((10, M))
    carried[0, small] = [3.0, 1.0, 2.0]
    tight = inst.memory_mb[small].sum() - 0.5 * inst.memory_mb[small[1]]   # one model must go
    mem = np.array(inst.client_memory_mb)
    mem[0] = tight
    changed = dataclasses.replace(inst, client_memory_mb=mem)
    fx, fy = fit_onloading(changed, x, np.zeros((1, M), bool), carried, np.zeros((1, M)))
    assert not fx[0, small[1]] and fx[0, small[0]] and fx[0, small[2]]
    assert (fx[1:] == x[1:]).all()


@pytest.mark.parametrize("limit", [0, 3, 10])
def test_churn_limit_holds(limit):
    inst = generate("taskonomy", 80, 4, seed=5, window=0.05)
    planner = PlacementPlanner(inst, max_model_changes=limit)
    planner.solve()
    rng = np.random.default_rng(11)
    messages = []
    for _ in range(3):
        before = planner._kept.decision
        rate = _drift(planner.instance.rate, rng, 0.4)
        planner.update(rate=rate)
        res = planner.solve()
        _verified(planner, res)
        d = res.decision
        changed = int((d.client_models != before.client_models).sum() + (d.edge_models != before.edge_models).sum())
        assert changed == planner.last_changes <= limit
        # never below the kept onloading re-routed
        lp = RoutingLP(planner.instance)
        kept = lp.solve(before.client_models, before.edge_models).objective
        assert res.objective >= kept - 1e-7
        messages.append(res.message)
    assert any("cut to the limit" in m for m in messages)   # the unlimited plan changes more
    if limit == 10:
        assert planner.last_changes > 0                      # and the cut keeps some of its changes


@pytest.mark.parametrize("window", MODES, ids=MODE_IDS)
def test_idle_client_model_changes_are_undone_and_route_nothing(window):
    """Undoing the idle changes: the routing and A stay exactly, new client models that carry
    nothing are not loaded, the old ones come back where memory allows, and nothing else moves."""
    inst = generate("taskonomy", 60, 2, seed=2, window=window)
    old = solve_j3o(inst).decision
    changed = PlacementPlanner(inst)
    changed.update(rate=_drift(inst.rate, np.random.default_rng(3), 0.5))
    step = changed.instance
    lp = RoutingLP(step)
    fresh = solve_j3o(step).decision
    off = lp.solve(fresh.client_models, fresh.edge_models)            # a plan that differs from ``old``
    old_carried_x, _ = carried_traffic(step, old.local, old.edge)
    kept = _keep_idle_client_models(step, off, old.client_models, old_carried_x)
    assert kept.objective == off.objective and np.array_equal(kept.y, off.y)
    raw, new_raw = off.raw, kept.raw
    for a, b in ((raw.local, new_raw.local), (raw.edge, new_raw.edge)):
        assert all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("client", "task", "model", "fraction"))
    used = np.zeros_like(off.x)
    routed = raw.local.fraction > 0
    used[raw.local.client[routed], raw.local.model[routed]] = True
    used &= off.x                                                   # a closed column's solver noise is no use
    x, old_x = kept.x, old.client_models
    assert (x[used]).all() and not (x & ~old_x & ~used).any()     # loaded this step: only models that carry
    assert (x @ step.memory_mb <= step.client_memory_mb).all()
    back = old_x & ~x                                               # an old model stays out only if it cannot fit
    free = step.client_memory_mb - x @ step.memory_mb
    assert all(step.memory_mb[m] > free[n] for n, m in zip(*np.nonzero(back)))
    assert (off.x & ~old_x & ~used).any()                          # the case at hand: idle new loads
    assert int((x != old_x).sum()) < int((off.x != old_x).sum())
    report = verify(step, kept.repaired(), claimed_objective=None)
    assert report.ok, report.summary()


def test_with_client_models_keeps_every_used_model():
    inst = generate("nyu", 30, 2, seed=1)
    res = solve_j3o(inst)
    off = RoutingLP(inst).solve(res.decision.client_models, res.decision.edge_models)
    local = off.raw.local
    assert (local.fraction > 0).any()                                # some local traffic to take away
    x = np.array(off.x)
    k = int(np.flatnonzero(local.fraction > 0)[0])
    x[local.client[k], local.model[k]] = False
    with pytest.raises(ValueError, match="every client model the routing uses"):
        off.with_client_models(x)


def test_solver_noise_on_a_closed_column_is_not_a_use():
    """A closed column may come back from the LP at ~1e-14: that model is not in use (the repair
    drops the entry), so leaving it out of the onloading is allowed and the result verifies."""
    inst = generate("nyu", 30, 2, seed=1)
    res = solve_j3o(inst)
    off = RoutingLP(inst).solve(res.decision.client_models, res.decision.edge_models)
    n, m = map(int, np.argwhere(~off.x & inst.cover[:, 0][None, :])[0])
    lo = off.raw.local
    noisy = Routes(np.append(lo.client, n), np.append(lo.task, 0), np.append(lo.model, m), np.append(lo.fraction, 1.5e-14))
    off.__dict__["raw"] = dataclasses.replace(off.raw, local=noisy)      # as if the LP had returned it
    assert not off.client_models_used[n, m]
    again = off.with_client_models(off.x)
    assert again.objective == off.objective and verify(inst, again.repaired()).ok


def test_knapsack_is_exact():
    rng = np.random.default_rng(0)
    from itertools import combinations
    for _ in range(30):
        n = int(rng.integers(1, 7))
        w = [int(v) for v in rng.integers(0, 6, n)]
        v = list(rng.uniform(-1, 3, n))
        cap = int(rng.integers(0, 12))
        best = max(sum(v[i] for i in s) for k in range(n + 1) for s in combinations(range(n), k)
                   if sum(w[i] for i in s) <= cap)
        chosen = _knapsack(w, v, cap)
        assert sum(w[i] for i in chosen) <= cap
        assert sum(v[i] for i in chosen) == pytest.approx(max(best, 0.0))


def _state(planner):
    return planner.instance, planner._kept, planner._lp, planner.last_changes, planner._refit


def _negative_gflops(inst):
    g = np.array(inst.client_gflops)
    g[4] = -1.0
    return dict(client_gflops=g)


@pytest.mark.parametrize("make", [
    lambda inst: dict(rate=np.zeros((3, 3))),                                   # wrong shape
    lambda inst: dict(rate="x"),
    _negative_gflops,
    lambda inst: dict(edge_speed=np.full(inst.n_edges, np.nan)),
    lambda inst: dict(batching_window_s=-0.05),
    lambda inst: dict(rate=inst.rate * 2, client_memory_mb=np.zeros(inst.n_clients)),   # second one bad
    lambda inst: dict(accuracy=np.zeros((2, 2))),                              # may not change
    lambda inst: dict(client_edge=np.zeros(inst.n_clients, dtype=int)),
    lambda inst: dict(edge_memory_mb=np.full(inst.n_edges, 1000.0)),
    lambda inst: dict(no_such_field=1.0),
], ids=["shape", "type", "negative", "nan", "window", "second-field", "accuracy", "client-edge", "edge-memory",
        "unknown"])
def test_bad_update_raises_and_changes_nothing(make):
    inst = generate("nyu", 30, 2, seed=1, window=0.05)
    planner = PlacementPlanner(inst)
    first = planner.solve()
    before = _state(planner)
    with pytest.raises(InvalidInputError):
        planner.update(**make(inst))
    assert all(a is b for a, b in zip(_state(planner), before))   # bools are singletons too
    assert planner.instance is inst
    res = planner.solve()   # the planner still works, on the old instance
    _verified(planner, res)
    assert res.objective >= first.objective - 1e-9


def test_bad_update_names_the_field_and_value():
    inst = generate("nyu", 30, 2, seed=1)
    planner = PlacementPlanner(inst)
    rate = np.array(inst.rate)
    rate[3, 0] = -2.0
    with pytest.raises(InvalidInputError, match=r"clients\.rate\[3\]\[0\].*-2"):
        planner.update(rate=rate)
    with pytest.raises(InvalidInputError, match="may not change"):
        planner.update(memory_mb=inst.memory_mb)
    with pytest.raises(InvalidInputError, match="not a field"):
        planner.update(rates=inst.rate)
    assert set(CHANGEABLE) == {"rate", "client_gflops", "client_memory_mb", "client_uplink_mbps",
                               "edge_backhaul_mbps", "edge_speed", "batching_window_s"}


def test_options_are_checked_like_j3o():
    inst = generate("nyu", 20, 1, seed=0)
    with pytest.raises(InvalidInputError, match="damping"):
        PlacementPlanner(inst, damping=2.0)
    with pytest.raises(InvalidInputError, match="max_model_changes"):
        PlacementPlanner(inst, max_model_changes=-1)
    with pytest.raises(InvalidInputError, match="warm_iter"):
        PlacementPlanner(inst, warm_iter=-1)
    with pytest.raises(InvalidInputError, match="instance"):
        PlacementPlanner("not an instance")


def test_update_before_the_first_solve_and_determinism():
    inst = generate("taskonomy", 50, 2, seed=4, window=0.05)
    rng = np.random.default_rng(3)
    rates = [_drift(inst.rate, rng) for _ in range(3)]

    def run(basis):
        planner = PlacementPlanner(inst, threads=1, warm_basis=basis)
        planner.update(rate=rates[0])
        out = [planner.solve()]
        assert out[0].objective == solve_j3o(planner.instance, threads=1).objective
        for r in rates[1:]:
            planner.update(rate=r)
            out.append(planner.solve())
        return out

    a, b = run(True), run(True)
    assert [r.objective for r in a] == [r.objective for r in b]
    assert [r.objective for r in a] == [r.objective for r in run(True)]
    for with_basis, without in zip(a, run(False)):   # without the basis restart: same quality
        assert without.objective == pytest.approx(with_basis.objective, rel=5e-3)


def test_time_limit_is_a_status():
    inst = generate("taskonomy", 60, 2, seed=0)
    planner = PlacementPlanner(inst, time_limit=1e-9)
    res = planner.solve()
    assert res.status == "time_limit"
    assert verify(planner.instance, res.decision, claimed_objective=res.objective).ok


def test_pairs_appear_and_vanish_and_the_window_switches():
    """Rates to and from 0 (other pairs, other candidates and edge LPs built afresh) and batching
    turned off and on: every plan verifies and stays within 1% of a cold J3O."""
    inst = generate("random", 60, 3, seed=1, window=0.05)
    planner = PlacementPlanner(inst)
    planner.solve()
    rng = np.random.default_rng(0)
    rate = np.array(inst.rate)
    gone = rng.random(rate.shape) < 0.2
    rate[gone] = 0.0
    rate[~gone & (rate == 0)] = 1.0
    for changes in (dict(rate=rate), dict(batching_window_s=None), dict(batching_window_s=0.1, rate=inst.rate)):
        planner.update(**changes)
        res = planner.solve()
        _verified(planner, res)
        assert res.objective >= 0.99 * solve_j3o(planner.instance).objective
