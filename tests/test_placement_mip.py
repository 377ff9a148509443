"""The exact MIP: equal to brute force on tiny instances, verified, bounded by its LP relaxation."""

import numpy as np
import pytest
from reference import brute_force_placement

from j3o_fast import InvalidInputError
from j3o_fast.placement import generate, lp_upper_bound, solve_mip, verify

# Tiny random instances where every constraint can bind: slow edges, small batch caps, thin
# backhaul, memory for one or two models per node.
TINY = dict(n_tasks=2, n_models=3, client_memory_mb=(20.0, 250.0), model_memory_mb=(10.0, 150.0),
            backhaul_mbps=(10.0, 80.0), edge_memory_fraction=(0.2, 0.6), client_gflops=(5.0, 40.0),
            edge_speed=(0.03, 0.3), max_batch=(2, 4, 8))


def tiny(seed, window):
    return generate("random", 2 + seed % 2, 1 + (seed % 5 == 0), seed=seed, window=window, **TINY)


@pytest.mark.parametrize("window", [None, 0.5], ids=["no-batching", "window"])
def test_mip_equals_brute_force(window):
    lp_above = 0
    for seed in range(60):
        inst = tiny(seed, window)
        result = solve_mip(inst, mip_rel_gap=0.0)
        assert result.status == "optimal"
        report = verify(inst, result.decision, claimed_objective=result.objective)
        assert report.ok, report.summary()
        best = brute_force_placement(inst)
        assert result.objective == pytest.approx(best, abs=1e-7), f"seed {seed}"
        bound = lp_upper_bound(inst)
        assert bound >= result.objective - 1e-9
        lp_above += bound > best + 1e-6
    # the integrality of the onloading matters in a fair share of these instances
    assert lp_above >= 5


def test_batching_changes_the_optimum():
    """The window-mode rows are really in the model: the two edge modes differ on some instances."""
    differ = sum(abs(solve_mip(tiny(s, None)).objective - solve_mip(tiny(s, 0.5)).objective) > 1e-6
                 for s in range(20))
    assert differ >= 3


@pytest.mark.parametrize("family,window", [("nyu", None), ("nyu", 0.05), ("taskonomy", 0.05), ("random", None)])
def test_mip_on_families_verifies_and_respects_bounds(family, window):
    inst = generate(family, 15, 2, seed=2, window=window)
    result = solve_mip(inst)
    assert result.status == "optimal"
    assert verify(inst, result.decision, claimed_objective=result.objective).ok
    assert result.upper_bound >= result.objective - 1e-6
    assert lp_upper_bound(inst) >= result.objective - 1e-9
    assert set(result.phase_times) == {"build", "solve", "repair"}


def test_time_limit_returns_verified_incumbent():
    inst = generate("taskonomy", 60, 2, seed=0, window=0.05)
    result = solve_mip(inst, time_limit=0.05)
    assert result.status in ("time_limit", "optimal")
    assert verify(inst, result.decision, claimed_objective=result.objective).ok
    if result.status == "time_limit" and result.upper_bound is not None:  # None: stopped before a bound
        assert result.upper_bound >= result.objective


@pytest.mark.parametrize("kwargs,message", [
    (dict(time_limit=0), r"time_limit: must be a finite number in \(0, inf\] \(seconds\) or None, got 0"),
    (dict(mip_rel_gap=1.5), r"mip_rel_gap: must be a finite number in \[0, 1\), got 1.5"),
    (dict(time_limit=10**400), r"time_limit: must be a finite number in \(0, inf\]"),
    (dict(threads=0), "threads: must be an integer >= 1 or None, got 0"),
])
def test_bad_options(kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        solve_mip(generate("nyu", 3, 1, seed=0), **kwargs)


def test_no_demand_instance():
    inst = generate("nyu", 3, 1, seed=0)
    from dataclasses import replace

    empty = replace(inst, rate=np.zeros_like(inst.rate))
    result = solve_mip(empty)
    assert result.status == "optimal" and result.objective == 0.0
    assert verify(empty, result.decision).ok


def test_thread_counts_may_change_between_runs():
    """HiGHS sizes its scheduler once per process; asking for other thread counts later still solves."""
    inst = generate("nyu", 8, 1, seed=2, window=0.05)
    results = [solve_mip(inst, threads=t) for t in (2, 1, 2)]
    assert [r.status for r in results] == ["optimal"] * 3
    assert results[0].objective == pytest.approx(results[1].objective, abs=1e-9)
    bounds = [lp_upper_bound(inst, threads=t) for t in (1, 2)]
    assert bounds[0] == pytest.approx(bounds[1]) and bounds[0] >= results[0].objective - 1e-9
