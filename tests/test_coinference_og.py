"""OG: the best contiguous grouping (enumerated), the compiled DP equals its slow twin, valid plans."""

import math

import numpy as np
import pytest
from coinference_cases import assert_valid, cost, replace, tiny
from reference import og_enumerate_groupings, og_reference

from j3o_fast.coinference import _og
from j3o_fast.coinference import verify_plan
from j3o_fast.coinference.ipssa import solve_ipssa
from j3o_fast.coinference.og import OGInputs, run_dp, solve_og
from j3o_fast.coinference.oracle import solve_oracle
from j3o_fast.coinference.profiles import generate
from j3o_fast.errors import InvalidInputError


def same_cost(a, b):
    """Lexicographic (missed deadlines, energy) costs agree up to rounding."""
    return a[0] == b[0] and math.isclose(a[1], b[1], rel_tol=1e-9, abs_tol=1e-12)


def test_equals_best_enumerated_grouping_on_tiny_instances():
    rng = np.random.default_rng(31)
    multi_group = 0
    for t in range(220):
        K, N = int(rng.integers(1, 6)), int(rng.integers(1, 4))
        inst = tiny(rng, K, N, common=False, releases=t % 3 == 0, max_batch=[None, None, 1, 2][t % 4])
        res = solve_og(inst)
        assert same_cost(cost(res), og_enumerate_groupings(inst)), t
        assert_valid(inst, res)
        multi_group += int(res.message.split()[0]) > 1
    assert multi_group > 20  # the instances do split into several groups


def test_never_worse_than_ipssa_at_the_minimum_deadline():
    rng = np.random.default_rng(32)
    better = 0
    for _ in range(150):
        inst = tiny(rng, int(rng.integers(1, 12)), int(rng.integers(1, 5)), common=False)
        og = solve_og(inst)
        ip = solve_ipssa(inst, deadline=float(inst.absolute_deadline.min()))
        assert cost(og)[0] <= cost(ip)[0]
        if cost(og)[0] == cost(ip)[0]:
            assert cost(og)[1] <= cost(ip)[1] + 1e-12
        better += cost(og) < cost(ip) and not same_cost(cost(og), cost(ip))
    assert better > 10


def test_equal_deadlines_match_ipssa_and_the_oracle():
    rng = np.random.default_rng(33)
    for _ in range(60):
        K, N = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        inst = tiny(rng, K, N, common=True, releases=rng.random() < 0.3)
        res = solve_og(inst)
        assert same_cost(cost(res), cost(solve_ipssa(inst)))
        assert same_cost(cost(res), cost(solve_oracle(inst)))
        assert res.status in ("optimal", "partial")


def test_never_better_than_the_oracle():
    rng = np.random.default_rng(34)
    for _ in range(60):
        inst = tiny(rng, int(rng.integers(1, 4)), int(rng.integers(1, 4)), common=False)
        og, opt = cost(solve_og(inst)), cost(solve_oracle(inst))
        assert og[0] > opt[0] or (og[0] == opt[0] and og[1] >= opt[1] - 1e-12)


def _kernel_cost(inst):
    res = solve_og(inst)
    assert_valid(inst, res)
    return cost(res)


def test_compiled_dp_equals_python_twin_on_seeded_inputs():
    rng = np.random.default_rng(35)
    for t in range(120):
        K, N = int(rng.integers(1, 8)), int(rng.integers(1, 5))
        inst = tiny(rng, K, N, common=t % 7 == 0, releases=t % 2 == 0, max_batch=[None, 1, 2, 3][t % 4])
        twin_cost, _, twin_part = og_reference(inst)
        assert same_cost(_kernel_cost(inst), twin_cost), t


@pytest.mark.parametrize("case", ["one user", "all infeasible", "equal deadlines", "max_batch 1", "alpha",
                                  "one sub-task", "ties"])
def test_compiled_dp_equals_python_twin_on_edge_cases(case):
    rng = np.random.default_rng(36)
    for _ in range(15):
        K, N = int(rng.integers(2, 7)), int(rng.integers(1, 4))
        inst = tiny(rng, K, N, common=False)
        if case == "one user":
            inst = tiny(rng, 1, N, common=False)
        elif case == "all infeasible":
            inst = replace(inst, deadline_s=np.full(K, 1e-3))
        elif case == "equal deadlines":
            inst = replace(inst, deadline_s=np.full(K, inst.deadline_s[0]))
        elif case == "max_batch 1":
            inst = replace(inst, max_batch=1)
        elif case == "alpha":
            inst = replace(inst, edge_alpha_s=rng.uniform(0.0, 0.03, N), max_batch=int(rng.integers(1, K + 1)))
        elif case == "one sub-task":
            inst = tiny(rng, K, 1, common=False)
        elif case == "ties":  # identical users: every grouping ties with its mirror images
            inst = replace(inst, local_latency_s=np.tile(inst.local_latency_s[:1], (K, 1)),
                           local_energy_j=np.tile(inst.local_energy_j[:1], (K, 1)),
                           uplink_mbps=np.full(K, inst.uplink_mbps[0]), tx_power_w=np.full(K, inst.tx_power_w[0]),
                           deadline_s=np.round(inst.deadline_s, 1) + 0.1)
        twin_cost, _, _ = og_reference(inst)
        got = _kernel_cost(inst)
        assert same_cost(got, twin_cost), case
        if case == "all infeasible":
            res = solve_og(inst)
            assert res.status == "partial" and res.decision.infeasible_users == tuple(range(K))
            assert (res.decision.partition == N).all() and res.decision.batches == ()


def test_bounded_pass_equals_unbounded_pass_on_a_real_profile():
    inst = generate("mobilenetv2", 150, deadline_spread=1.0, seed=5)
    inputs = OGInputs(inst)
    full = run_dp(inputs)
    res = solve_og(inst)
    assert full[0] == _og.STATUS_OK
    assert res.objective + inputs.penalty * len(res.decision.infeasible_users) == pytest.approx(full[1], rel=1e-12)
    assert_valid(inst, res)
    # a bound below the optimum cuts every state and says so
    low = run_dp(inputs, bound=full[1] * (1 - 1e-6))
    assert low[0] == _og.STATUS_NO_PLAN and low[1] == math.inf


def test_groups_partition_the_deadline_order_and_use_the_gpu_in_turn():
    inst = generate("mobilenetv2", 200, deadline_spread=2.0, seed=6)
    inputs = OGInputs(inst)
    status, _, start, first, finish, choice, _ = run_dp(inputs)
    assert status == _og.STATUS_OK
    assert start[0] == 0 and (np.diff(start) > 0).all()
    D = inputs.deadline
    for g in range(len(start)):
        assert finish[g] <= D[start[g]]
        if g + 1 < len(start):
            assert finish[g] <= finish[g + 1] - inputs.tail[first[g + 1]] + 1e-15
        end = start[g + 1] if g + 1 < len(start) else inst.n_users
        assert (choice[start[g]:end] >= first[g] - 1).all()
    res = solve_og(inst)
    assert len(start) > 1 and res.status == "feasible"
    assert_valid(inst, res)


def test_time_grid_is_feasible_and_never_better_than_exact():
    inst = generate("mobilenetv2", 120, deadline_spread=1.0, seed=7)
    exact = solve_og(inst)
    previous = None
    for q in (1e-3, 2e-4, 1e-5, 1e-7):
        res = solve_og(inst, time_grid_s=q)
        assert_valid(inst, res)
        assert cost(res) >= cost(exact) or same_cost(cost(res), cost(exact))
        assert res.status in ("feasible", "partial") and "time grid" in res.message
        previous = res
    assert same_cost(cost(previous), cost(exact))  # a fine grid loses nothing here


def test_alpha_plans_with_the_largest_batch_latency_and_stay_feasible():
    rng = np.random.default_rng(37)
    for _ in range(40):
        inst = tiny(rng, int(rng.integers(1, 10)), int(rng.integers(1, 4)), common=False, alpha=True,
                    max_batch=[None, 2][int(rng.integers(0, 2))])
        res = solve_og(inst)
        assert res.status in ("feasible", "partial")
        assert_valid(inst, res)
        if inst.max_batch is not None:
            assert all(b.size <= inst.max_batch for b in res.decision.batches)


def test_status_optimal_only_where_og_is_exact_for_p0():
    flat = generate("mobilenetv2", 30, deadline_spread=0.0, seed=8)
    assert solve_og(flat).status == "optimal"
    assert solve_og(generate("mobilenetv2", 30, deadline_spread=0.5, seed=8)).status == "feasible"
    assert solve_og(flat, time_grid_s=1e-4).status == "feasible"


@pytest.mark.parametrize("grid", [0.0, -1e-3, float("inf"), float("nan"), True, "1ms"])
def test_bad_time_grid_raises(grid):
    with pytest.raises(InvalidInputError) as err:
        solve_og(generate("mobilenetv2", 3, seed=1), time_grid_s=grid)
    assert err.value.path == "time_grid_s"


def test_plan_round_trip_through_the_verifier_reports_energy():
    inst = generate("vgg16", 50, deadline_spread=1.0, seed=2, max_batch=8)
    res = solve_og(inst)
    report = verify_plan(inst, res.decision)
    assert report.ok, report.summary()
    assert report.energy_j == pytest.approx(res.objective, rel=1e-12)
    assert max(b.size for b in res.decision.batches) <= 8


def test_compiled_dp_equals_python_twin_on_a_time_grid():
    rng = np.random.default_rng(38)
    for t in range(60):
        inst = tiny(rng, int(rng.integers(1, 7)), int(rng.integers(1, 4)), common=False, releases=t % 2 == 0,
                    max_batch=[None, 2][t % 2])
        q = float(rng.choice([0.003, 0.01, 0.04]))
        twin_cost, twin_groups, _ = og_reference(inst, grid=q)
        res = solve_og(inst, time_grid_s=q)
        assert same_cost(cost(res), twin_cost), t
        assert_valid(inst, res)
        # every group finish lies on the grid
        starts = [b.start_s + inst.tail_s[b.subtask] for b in res.decision.batches]
        assert np.allclose(np.round(np.array(starts) / q), np.array(starts) / q, rtol=0, atol=1e-6)
