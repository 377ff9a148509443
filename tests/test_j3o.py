"""J3O: verified solutions, never above the exact optimum or the LP bound, and the quality bars."""

import numpy as np
import pytest

from j3o_fast import InvalidInputError
from j3o_fast.placement import FAMILIES, generate, lp_upper_bound, solve_mip, verify
from j3o_fast.placement.j3o import solve_j3o

MODES = [None, 0.05]
MODE_IDS = ["no-batching", "window"]


def quality_instance(family, seed, window):
    n_clients = (10, 20, 30, 40, 50)[seed % 5]
    return generate(family, n_clients, max(1, n_clients // 25), seed=seed, window=window)


@pytest.mark.parametrize("window", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("family", FAMILIES)
def test_small_instances_verify_and_respect_bounds(family, window):
    for seed in range(4):
        inst = generate(family, 12, 1 + seed % 2, seed=seed, window=window)
        res = solve_j3o(inst, with_bound=True)
        report = verify(inst, res.decision, claimed_objective=res.objective)
        assert report.ok, report.summary()
        assert res.status == "feasible" and res.iterations >= 1
        opt = solve_mip(inst, threads=1)
        assert res.objective <= opt.objective + 1e-7
        assert res.upper_bound == pytest.approx(lp_upper_bound(inst)) and res.objective <= res.upper_bound + 1e-9
        assert res.gap >= 0
        assert set(res.phase_times) >= {"greedy", "lp", "prices", "polish", "local_search", "bound"}


@pytest.mark.parametrize("window", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("family", FAMILIES)
def test_quality_against_the_exact_optimum(family, window):
    """30 seeded instances of 10-50 clients: median J3O/OPT >= 0.99 and minimum >= 0.97."""
    ratios = []
    for seed in range(30):
        inst = quality_instance(family, seed, window)
        res = solve_j3o(inst)
        assert verify(inst, res.decision).ok
        opt = solve_mip(inst, threads=1)
        assert opt.status == "optimal"
        assert res.objective <= opt.objective + 1e-7
        ratios.append(res.objective / opt.objective)
    ratios = np.array(ratios)
    print(f"\n{family} {window}: median {np.median(ratios):.4f} min {ratios.min():.4f} "
          f"share>=0.97 {np.mean(ratios >= 0.97):.2f}")
    assert np.median(ratios) >= 0.99
    assert ratios.min() >= 0.97


@pytest.mark.parametrize("window", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("n_clients,n_edges", [(200, 2), (1000, 5)], ids=["N200", "N1000"])
@pytest.mark.parametrize("family", FAMILIES)
def test_at_scale_against_the_lp_bound(family, n_clients, n_edges, window):
    """Hundreds of clients per edge, where the batch cap binds: J3O >= 0.97 of the LP relaxation."""
    inst = generate(family, n_clients, n_edges, seed=0, window=window)
    res = solve_j3o(inst)
    assert verify(inst, res.decision).ok
    bound = lp_upper_bound(inst)
    print(f"\n{family} N={n_clients} {window}: J3O/UB {res.objective / bound:.4f} in {res.runtime_s:.2f} s")
    assert res.objective / bound >= 0.97


@pytest.mark.parametrize("window", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("n_clients,n_edges", [(200, 2), (1000, 5)], ids=["N200", "N1000"])
@pytest.mark.parametrize("family", FAMILIES)
def test_at_scale_on_more_seeds(family, n_clients, n_edges, window):
    """Seeds 1-3 of the at-scale cases: no instance below 0.96 of the LP bound.

    A robustness guard beside the 0.97 bar of seed 0, not the bar itself: at 200 clients the LP
    relaxation can sit 3% above the optimum (``random``, 200 clients, window, seed 3: the MIP's
    proven optimum is 0.9714 of the bound, J3O 0.9945 of the optimum).
    """
    ratios = []
    for seed in (1, 2, 3):
        inst = generate(family, n_clients, n_edges, seed=seed, window=window)
        res = solve_j3o(inst)
        assert verify(inst, res.decision).ok
        ratios.append(res.objective / lp_upper_bound(inst))
    print(f"\n{family} N={n_clients} {window}: J3O/UB " + " ".join(f"{r:.4f}" for r in ratios))
    assert min(ratios) >= 0.96


def test_subgradient_prices():
    inst = generate("nyu", 20, 1, seed=3, window=0.05)
    res = solve_j3o(inst, price_update="subgradient", step0=0.5)
    assert verify(inst, res.decision).ok
    assert res.objective <= solve_mip(inst).objective + 1e-7


def test_deterministic():
    inst = generate("taskonomy", 30, 2, seed=5, window=0.05)
    a, b = solve_j3o(inst), solve_j3o(inst)
    assert a.objective == b.objective and a.iterations == b.iterations
    np.testing.assert_array_equal(a.decision.edge_models, b.decision.edge_models)


def test_threads_do_not_change_the_result():
    """Edge LPs on two threads: the same solution as on one."""
    inst = generate("random", 80, 4, seed=7, window=0.05)
    one, two = solve_j3o(inst, threads=1), solve_j3o(inst, threads=2)
    assert one.objective == two.objective and one.iterations == two.iterations
    np.testing.assert_array_equal(one.decision.client_models, two.decision.client_models)
    np.testing.assert_array_equal(one.decision.edge_models, two.decision.edge_models)


def _spin(stop):
    while not stop.is_set():
        sum(range(10_000))


def test_a_binding_search_budget_gives_the_same_decision_on_any_thread_count_and_load():
    """The search's budget counts LP solves per edge: where it binds (a budget of 3 solves, which
    the search would overrun here), one thread, two threads and two threads beside a busy core
    stop at the same move, so the decision is identical."""
    import multiprocessing

    inst = generate("taskonomy", 300, 6, seed=3, window=0.05)
    free = solve_j3o(inst, threads=1)
    runs = [solve_j3o(inst, threads=1, search_solves=3), solve_j3o(inst, threads=2, search_solves=3)]
    stop = multiprocessing.Event()
    busy = multiprocessing.Process(target=_spin, args=(stop,))
    busy.start()
    try:
        runs.append(solve_j3o(inst, threads=2, search_solves=3))
    finally:
        stop.set()
        busy.join()
    assert runs[0].objective < free.objective            # the budget binds
    for other in runs[1:]:
        assert other.objective == runs[0].objective and other.status == "feasible"
        np.testing.assert_array_equal(other.decision.client_models, runs[0].decision.client_models)
        np.testing.assert_array_equal(other.decision.edge_models, runs[0].decision.edge_models)
        np.testing.assert_array_equal(other.decision.edge.fraction, runs[0].decision.edge.fraction)
    assert verify(inst, runs[0].decision, claimed_objective=runs[0].objective).ok


def test_the_search_spends_at_most_its_budget_per_edge(monkeypatch):
    from j3o_fast.placement import local_search

    budgets = []
    original = local_search.improve_edges
    monkeypatch.setattr("j3o_fast.placement.j3o.improve_edges",
                        lambda *a, budget, **k: budgets.append(budget) or original(*a, budget=budget, **k))
    inst = generate("taskonomy", 300, 6, seed=3, window=0.05)
    for limit in (0, 2, 5):
        budgets.clear()
        res = solve_j3o(inst, threads=1, search_solves=limit)
        spent = budgets[0].spent
        assert all(v <= limit for v in spent.values()) and res.status == "feasible"
        assert verify(inst, res.decision).ok
    assert max(spent.values()) == 5                        # the largest budget is used up somewhere


def test_polish_and_local_search_never_hurt():
    for seed in range(6):
        inst = generate("nyu", 25, 1, seed=seed, window=0.05 if seed % 2 else None)
        plain = solve_j3o(inst, polish=False, local_search=False)
        full = solve_j3o(inst)
        assert full.objective >= plain.objective - 1e-12


@pytest.mark.parametrize("seed", range(6))
def test_client_memory_fill_keeps_the_onloading_and_never_lowers_a(seed):
    from j3o_fast.placement.j3o import _fill_client_memory
    from j3o_fast.placement.offload import RoutingLP
    from j3o_fast.placement.onload import build_candidates

    family = ["nyu", "taskonomy", "random"][seed % 3]
    inst = generate(family, 120, 2, seed=seed, window=0.05 if seed % 2 else None)
    start = solve_j3o(inst, polish=False, local_search=False, threads=1).decision
    cands = build_candidates(inst)
    with RoutingLP(inst) as lp:
        before = lp.solve(start.client_models, start.edge_models)
        after = _fill_client_memory(inst, cands, lp, before)
    x0, x1 = start.client_models, after.raw.client_models
    assert (x1 >= x0).all() and np.array_equal(after.raw.edge_models, start.edge_models)
    # These clients have spare memory after the main loop; filling it pays on every seed here.
    assert (x1 > x0).any() and after.objective > before.objective
    assert verify(inst, after.repaired()).ok  # client memory included


def test_time_limit_status():
    inst = generate("taskonomy", 200, 2, seed=0, window=0.05)
    res = solve_j3o(inst, time_limit=1e-6, local_search=False)
    assert res.status == "time_limit" and res.iterations == 1
    assert verify(inst, res.decision).ok


def test_time_limit_bounds_the_search():
    """The finishing search stops at the caller's time limit, whatever its own budget."""
    inst = generate("taskonomy", 200, 2, seed=0, window=0.05)
    res = solve_j3o(inst, time_limit=1e-6)
    assert res.status == "time_limit" and res.phase_times["local_search"] == 0.0
    assert verify(inst, res.decision).ok


def test_small_gains_do_not_prolong_the_loop():
    """This instance's main loop creeps up by less than 0.1% a round: with min_gain=0 every creep
    resets patience (14 rounds); by default the loop stops three rounds after its last real gain,
    and the polish and search that follow make up what the creeping rounds would have added."""
    inst = generate("taskonomy", 50, 2, seed=0)
    loop_only = dict(polish=False, local_search=False, threads=1)
    assert solve_j3o(inst, **loop_only).iterations < solve_j3o(inst, min_gain=0.0, **loop_only).iterations
    default = solve_j3o(inst, threads=1)
    assert default.objective >= solve_j3o(inst, min_gain=0.0, threads=1).objective * (1 - 1e-3)
    assert verify(inst, default.decision).ok


def test_no_demand():
    from dataclasses import replace

    inst = generate("nyu", 5, 1, seed=0)
    empty = replace(inst, rate=np.zeros_like(inst.rate))
    res = solve_j3o(empty)
    assert res.objective == 0.0 and verify(empty, res.decision).ok


@pytest.mark.parametrize("kwargs,message", [
    (dict(max_iter=0), "max_iter: must be an integer >= 1, got 0"),
    (dict(patience=0), "patience: must be an integer >= 1, got 0"),
    (dict(price_update="newton"), "price_update: must be one of dual, subgradient, got 'newton'"),
    (dict(damping=0.0), r"damping: must be a finite number in \(0, 1\], got 0.0"),
    (dict(tol=-1.0), r"tol: must be a finite number in \[0, inf\], got -1.0"),
    (dict(min_gain=float("nan")), r"min_gain: must be a finite number in \[0, inf\], got nan"),
    (dict(search_solves=-1), "search_solves: must be an integer >= 0, got -1"),
    (dict(time_limit=0), r"time_limit: must be a finite number in \(0, inf\] \(seconds\) or None, got 0"),
    (dict(tol="x"), r"tol: must be a finite number in \[0, inf\], got 'x'"),
    (dict(polish=1), "polish: must be True or False, got 1"),
    (dict(threads=0), r"threads: must be an integer >= 1 or None \(every core\), got 0"),
])
def test_bad_options(kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        solve_j3o(generate("nyu", 3, 1, seed=0), **kwargs)


def test_highs_thread_counts_in_any_order():
    """MIPs with any thread count and J3O's edge LPs share HiGHS' process-wide scheduler."""
    inst = generate("nyu", 10, 1, seed=0, window=0.05)
    a = solve_j3o(inst, threads=1).objective
    for threads in (2, None, 1):
        assert solve_mip(inst, threads=threads).status == "optimal"
        assert solve_j3o(inst, threads=threads).objective == a
