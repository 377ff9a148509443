"""IP-SSA: equals the exhaustive oracle under its assumptions, equals its slow twin, valid plans, guards."""

import numpy as np
import pytest
from coinference_cases import assert_valid, cost, replace, tiny
from reference import ipssa_reference

from j3o_fast.coinference import CoInferenceInstance
from j3o_fast.coinference.ipssa import solve_ipssa
from j3o_fast.coinference.oracle import solve_oracle
from j3o_fast.coinference.profiles import generate
from j3o_fast.errors import InvalidInputError


def test_equals_oracle_on_tiny_constant_latency_common_deadline_instances():
    rng = np.random.default_rng(20240601)
    n_infeasible = n_shared = 0
    for _ in range(220):
        K, N = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        inst = tiny(rng, K, N, releases=rng.random() < 0.3)
        res, opt = solve_ipssa(inst), solve_oracle(inst)
        assert len(res.decision.infeasible_users) == len(opt.decision.infeasible_users)
        assert res.objective == pytest.approx(opt.objective, rel=1e-12, abs=1e-12)
        assert res.status == opt.status
        assert_valid(inst, res)
        n_infeasible += res.status == "partial"
        n_shared += int((res.decision.partition < N).sum()) > 1
    # both kinds of instance were exercised, and most plans batch several users
    assert 0 < n_infeasible < 200 and n_shared > 100


def test_equals_slow_twin_at_the_minimum_deadline():
    rng = np.random.default_rng(7)
    for _ in range(30):
        K, N = int(rng.integers(1, 60)), int(rng.integers(1, 7))
        inst = tiny(rng, K, N, common=False, releases=rng.random() < 0.5)
        T = float(inst.absolute_deadline.min())
        res = solve_ipssa(inst)
        twin_cost, twin_part = ipssa_reference(inst, T)
        assert res.decision.partition.tolist() == twin_part
        assert cost(res) == (twin_cost[0], pytest.approx(twin_cost[1], rel=1e-12))
        assert res.status in ("feasible", "partial")
        assert_valid(inst, res)


def test_batches_end_at_the_common_deadline_and_hold_every_user_below_them():
    inst = generate("mobilenetv2", 300, deadline_spread=0.0, seed=4)
    res = solve_ipssa(inst)
    T = float(inst.absolute_deadline[0])
    part, N = res.decision.partition, inst.n_subtasks
    batches = res.decision.batches
    assert [b.subtask for b in batches] == list(range(int(part.min()) + 1, N + 1))
    for b in batches:
        assert b.users == tuple(np.nonzero(part < b.subtask)[0].tolist())
        assert b.start_s == pytest.approx(T - inst.tail_s[b.subtask], abs=1e-15)
    last = batches[-1]
    assert last.start_s + inst.edge_beta_s[-1] == pytest.approx(T, abs=1e-15)
    assert res.status == "optimal"
    assert_valid(inst, res)


def test_deadline_override_later_than_a_users_deadline_keeps_that_user_off_the_gpu():
    rng = np.random.default_rng(3)
    inst = tiny(rng, 30, 4, common=False)
    T = float(np.median(inst.absolute_deadline))
    res = solve_ipssa(inst, deadline=T)
    early = inst.absolute_deadline < T
    assert (res.decision.partition[early] == inst.n_subtasks).all()
    assert res.status in ("feasible", "partial")
    assert_valid(inst, res)


def test_tie_goes_to_the_larger_partition_point():
    # E(0) = 0.1*1/1 = 0.1 and E(1) = 0.05 + 0.1*0.5/1 = 0.1 (equal); E(2) = 0.3.
    inst = CoInferenceInstance(
        subtasks=("a", "b"), output_mbit=[1.0, 0.5, 0.1], edge_beta_s=[0.01, 0.01], edge_alpha_s=[0.0, 0.0],
        local_latency_s=[[0.1, 0.1]], local_energy_j=[[0.05, 0.25]], uplink_mbps=[1.0], tx_power_w=[0.1],
        deadline_s=[5.0])
    assert inst.energy[0, 0] == pytest.approx(inst.energy[0, 1], rel=0, abs=0)
    res = solve_ipssa(inst)
    assert res.decision.partition.tolist() == [1]
    assert [b.subtask for b in res.decision.batches] == [2]


@pytest.mark.parametrize("variant", ["conservative", "iterative"])
def test_alpha_variants_give_valid_plans(variant):
    rng = np.random.default_rng(11 if variant == "conservative" else 12)
    for _ in range(60):
        K, N = int(rng.integers(1, 12)), int(rng.integers(1, 5))
        inst = tiny(rng, K, N, alpha=True, common=rng.random() < 0.5)
        try:
            res = solve_ipssa(inst, variant=variant)
        except InvalidInputError:  # pragma: no cover - uncapped here, so never raised
            raise
        assert res.status in ("feasible", "partial")
        assert_valid(inst, res)


def test_iterative_is_never_worse_than_conservative():
    rng = np.random.default_rng(13)
    improved = 0
    for _ in range(80):
        inst = tiny(rng, int(rng.integers(2, 30)), int(rng.integers(1, 5)), alpha=True)
        cons = solve_ipssa(inst, variant="conservative")
        it = solve_ipssa(inst, variant="iterative")
        key = lambda r: (-len(r.decision.infeasible_users), -r.objective)  # noqa: E731
        assert key(it) >= (key(cons)[0], key(cons)[1] - 1e-12)
        improved += key(it) > key(cons)
        assert 0 <= it.iterations <= 20
    assert improved > 0


def test_iterative_stops_at_once_when_everyone_offloads_everything():
    # alpha > 0 but every user uploads its raw input: batch sizes are K everywhere, so the
    # first re-plan reproduces the conservative partition (a fixed point after one round).
    inst = generate("vgg16", 40, deadline_spread=0.0, alpha=0.02, seed=2)
    cons, it = solve_ipssa(inst, variant="conservative"), solve_ipssa(inst, variant="iterative")
    assert (cons.decision.partition == 0).all()
    assert it.decision.partition.tolist() == cons.decision.partition.tolist()
    assert it.iterations == 1
    # real batch sizes are K = min(K, max_batch), the conservative planning size: same timing
    assert [b.start_s for b in it.decision.batches] == pytest.approx([b.start_s for b in cons.decision.batches])
    assert_valid(inst, it)


def test_auto_picks_exact_for_constant_latency_and_iterative_otherwise():
    flat = generate("mobilenetv2", 10, deadline_spread=0.0, seed=1)
    assert solve_ipssa(flat).message.startswith("exact")
    sloped = generate("mobilenetv2", 10, deadline_spread=0.0, alpha=0.05, seed=1)
    assert solve_ipssa(sloped).message.startswith("iterative")


def test_more_offloaders_than_a_batch_holds_raises_pointing_to_og():
    inst = generate("vgg16", 6, deadline_spread=0.0, seed=1, max_batch=2)
    with pytest.raises(InvalidInputError, match="OG") as err:
        solve_ipssa(inst)
    assert err.value.path == "max_batch"


@pytest.mark.parametrize("kwargs, path", [
    ({"variant": "fast"}, "variant"),
    ({"deadline": -1.0}, "deadline"),
    ({"deadline": float("nan")}, "deadline"),
    ({"deadline": True}, "deadline"),
])
def test_bad_options_raise(kwargs, path):
    inst = generate("mobilenetv2", 3, seed=1)
    with pytest.raises(InvalidInputError) as err:
        solve_ipssa(inst, **kwargs)
    assert err.value.path == path


def test_exact_refuses_alpha_and_different_deadlines_without_a_common_one():
    with pytest.raises(InvalidInputError, match="constant edge latency"):
        solve_ipssa(generate("mobilenetv2", 3, alpha=0.1, seed=1), variant="exact")
    spread = generate("mobilenetv2", 3, deadline_spread=0.5, seed=1)
    with pytest.raises(InvalidInputError, match="common absolute deadline"):
        solve_ipssa(spread, variant="exact")
    res = solve_ipssa(spread, variant="exact", deadline=float(spread.absolute_deadline.min()))
    assert res.status in ("feasible", "partial")  # exact for T, not for the users' own deadlines


def test_all_users_unservable_are_listed():
    rng = np.random.default_rng(5)
    # Deadlines far too short for anything: every user is listed and runs all-local.
    short = replace(tiny(rng, 4, 3), deadline_s=np.full(4, 1e-4))
    res = solve_ipssa(short)
    assert res.decision.infeasible_users == (0, 1, 2, 3)
    assert (res.decision.partition == 3).all() and res.decision.batches == ()
    assert_valid(short, res)


def test_million_users_is_vectorised():
    # Not a timing test (see benchmarks/): checks the big path against the twin on a sample.
    inst = generate("mobilenetv2", 20000, deadline_spread=0.0, seed=9)
    res = solve_ipssa(inst)
    sample = np.random.default_rng(0).choice(inst.n_users, 50, replace=False)
    T = float(inst.absolute_deadline[0])
    sub = CoInferenceInstance(
        subtasks=inst.subtasks, output_mbit=inst.output_mbit, edge_beta_s=inst.edge_beta_s,
        edge_alpha_s=inst.edge_alpha_s, local_latency_s=inst.local_latency_s[sample],
        local_energy_j=inst.local_energy_j[sample], uplink_mbps=inst.uplink_mbps[sample],
        tx_power_w=inst.tx_power_w[sample], deadline_s=inst.deadline_s[sample])
    _, part = ipssa_reference(sub, T)
    assert res.decision.partition[sample].tolist() == part
