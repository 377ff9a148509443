"""The C lazy greedy (csrc/greedy.c) equals its pure-Python lazy twin and the naive greedy."""

import numpy as np
import pytest
from reference import naive_greedy, python_lazy_greedy

from j3o_fast.errors import InvalidInputError
from j3o_fast.placement import _greedy

FIELDS = ("indptr", "slot", "value", "weight", "node", "memory", "fixed_cost", "fixed_use", "eligible",
          "cur", "best", "memory_left", "share_left")


def random_problem(rng, *, n_cand=None, n_slots=None, n_nodes=None, ties=False, fixed_costs=False,
                   shares=False, zero_weight_share=0.2, max_len=None):
    """A random facility-location greedy input. With ``ties`` values, weights and memories lie on
    coarse dyadic grids (sums are exact, so equal gains are really equal) and some candidates are
    exact copies of others."""
    n_cand = int(rng.integers(0, 40)) if n_cand is None else n_cand
    n_slots = int(rng.integers(1, 30)) if n_slots is None else n_slots
    n_nodes = int(rng.integers(1, 8)) if n_nodes is None else n_nodes
    max_len = min(n_slots, 8) if max_len is None else max_len
    lengths = rng.integers(0, max_len + 1, n_cand)
    slots = [np.sort(rng.choice(n_slots, size=k, replace=False)) for k in lengths]
    node = rng.integers(0, n_nodes, n_cand)
    if ties:
        values = [rng.integers(-2, 9, k) / 8.0 for k in lengths]
        memory = rng.choice([1.0, 2.0, 4.0], n_cand)
        weight = rng.integers(0, 5, n_slots) / 4.0
        for j in range(1, n_cand):
            if rng.random() < 0.3:  # an identical copy of an earlier candidate
                i = int(rng.integers(0, j))
                slots[j], values[j], memory[j], node[j] = slots[i], values[i], memory[i], node[i]
    else:
        values = [rng.uniform(-0.2, 1.0, k) for k in lengths]
        memory = rng.uniform(0.2, 3.0, n_cand)
        weight = rng.uniform(0.0, 5.0, n_slots) * (rng.random(n_slots) >= zero_weight_share)
    lengths = np.array([len(s) for s in slots], dtype=np.int64)
    indptr = np.zeros(n_cand + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    fixed_cost = np.zeros(n_cand)
    fixed_use = np.zeros(n_cand)
    if fixed_costs:
        fixed_cost = rng.uniform(0.0, 2.0, n_cand) * (rng.random(n_cand) < 0.6)
        if ties:
            fixed_cost = np.round(fixed_cost * 8) / 8
    if shares:
        fixed_use = rng.uniform(0.0, 0.7, n_cand) * (rng.random(n_cand) < 0.7)
    base = rng.uniform(0.0, 0.4, n_slots) * (rng.random(n_slots) < 0.5)
    if ties:
        base = np.round(base * 8) / 8
    return dict(
        indptr=indptr,
        slot=np.concatenate(slots).astype(np.int32) if n_cand else np.zeros(0, dtype=np.int32),
        value=np.concatenate(values).astype(np.float64) if n_cand else np.zeros(0),
        weight=weight.astype(np.float64), node=node.astype(np.int64), memory=memory.astype(np.float64),
        fixed_cost=fixed_cost, fixed_use=fixed_use,
        eligible=(rng.random(n_cand) < 0.9).astype(np.uint8),
        cur=base, best=np.full(n_slots, -1, dtype=np.int64),
        memory_left=rng.uniform(0.5, 6.0, n_nodes), share_left=np.ones(n_nodes),
    )


def grouped_problem(rng, n_groups, **kw):
    """A random problem made of independent groups: each node and slot belongs to one group
    and a candidate serves only slots of its node's group. Returns (problem, group per candidate)."""
    prob = random_problem(rng, **kw)
    n_nodes, n_slots = len(prob["memory_left"]), len(prob["weight"])
    node_group = rng.integers(0, n_groups, n_nodes)
    slot_group = rng.integers(0, n_groups, n_slots)
    group = node_group[prob["node"]]
    slots, values = [], []
    for j in range(len(prob["node"])):
        mine = np.flatnonzero(slot_group == group[j])
        k = min(len(mine), int(prob["indptr"][j + 1] - prob["indptr"][j]))
        slots.append(np.sort(rng.choice(mine, size=k, replace=False)))
        values.append(prob["value"][prob["indptr"][j]:prob["indptr"][j] + k])
    np.cumsum([len(x) for x in slots], out=prob["indptr"][1:])
    prob["slot"] = np.concatenate(slots).astype(np.int32) if slots else np.zeros(0, dtype=np.int32)
    prob["value"] = np.concatenate(values) if values else np.zeros(0)
    return prob, group.astype(np.int64)


def run_kernel(prob, key_mode, group=None, n_groups=0):
    args = {k: np.array(prob[k], copy=True) for k in FIELDS}
    status, order, gain, n_eval = _greedy.lazy_greedy(*(args[k] for k in FIELDS), key_mode, group, n_groups)
    assert status == _greedy.OK
    return order, args["cur"], args["best"], gain, args, n_eval


def assert_all_agree(prob, key_mode, group=None, n_groups=0):
    order, cur, best, gain, after, _ = run_kernel(prob, key_mode, group, n_groups)
    for twin in (python_lazy_greedy, naive_greedy):
        t_order, t_cur, t_best, t_gain = twin(*(prob[k] for k in FIELDS), key_mode)
        np.testing.assert_array_equal(order, t_order, err_msg=twin.__name__)
        np.testing.assert_allclose(cur, t_cur, rtol=0, atol=1e-12, err_msg=twin.__name__)
        np.testing.assert_array_equal(best, t_best, err_msg=twin.__name__)
        assert abs(gain - t_gain) <= 1e-12 * max(1.0, abs(gain)), twin.__name__
    # Certificate: the gain is f(S) - f(S0) of the accepted set, capacities were respected.
    f_gain = float(np.dot(prob["weight"], cur - prob["cur"])) - float(prob["fixed_cost"][order].sum())
    assert abs(f_gain - gain) <= 1e-9 * max(1.0, abs(gain))
    assert (after["memory_left"] >= -1e-9).all() or (prob["memory_left"] < 0).any()
    assert (after["share_left"] >= -1e-12).all()
    assert len(set(order.tolist())) == len(order)
    assert all(prob["eligible"][j] for j in order)
    # A slot changes its best candidate exactly when its value rises.
    np.testing.assert_array_equal(best == prob["best"], cur == prob["cur"])
    return order


@pytest.mark.parametrize("seed", range(320))
def test_kernel_equals_twins_random(seed):
    rng = np.random.default_rng(seed)
    prob = random_problem(rng, ties=seed % 4 == 1, fixed_costs=seed % 3 == 0, shares=seed % 5 < 2)
    assert_all_agree(prob, key_mode=seed % 2)


@pytest.mark.parametrize("seed", range(40))
def test_kernel_equals_twins_larger(seed):
    rng = np.random.default_rng(1000 + seed)
    prob = random_problem(rng, n_cand=150, n_slots=120, n_nodes=12, ties=seed % 2 == 0,
                          fixed_costs=True, shares=True, max_len=20)
    for key_mode in (0, 1):
        assert_all_agree(prob, key_mode)


@pytest.mark.parametrize("seed", range(80))
def test_grouped_kernel_equals_global_twins(seed):
    """Run group by group and merged, the kernel still reproduces the one-heap greedy exactly."""
    rng = np.random.default_rng(2000 + seed)
    n_groups = int(rng.integers(1, 6))
    prob, group = grouped_problem(rng, n_groups, n_cand=int(rng.integers(0, 60)), n_slots=30, n_nodes=8,
                                  ties=seed % 3 == 0, fixed_costs=seed % 2 == 0, shares=seed % 4 < 2)
    assert_all_agree(prob, seed % 2, group, n_groups)
    assert_all_agree(prob, 1 - seed % 2, group, n_groups + int(rng.integers(0, 3)))  # empty groups


def test_groups_that_share_a_slot_or_node_are_rejected():
    prob = _single([[0.5], [0.6]], [1.0], [1.0, 1.0], [5.0, 5.0], slots=[[0], [0]], node=[0, 1])
    args = [np.array(prob[k], copy=True) for k in FIELDS]
    with pytest.raises(InvalidInputError, match=r"group\[\d\]: .* serves slot 0, .*share no slot"):
        _greedy.lazy_greedy(*args, 0, np.array([0, 1]), 2)
    assert _greedy.lazy_greedy(*args, 0, np.array([0, 0]), 2)[0] == _greedy.OK
    prob = _single([[0.5], [0.6]], [1.0, 1.0], [1.0, 1.0], [5.0], slots=[[0], [1]], node=[0, 0])
    args = [np.array(prob[k], copy=True) for k in FIELDS]
    with pytest.raises(InvalidInputError, match=r"group\[\d\]: .* on node 0, .*share no node"):
        _greedy.lazy_greedy(*args, 0, np.array([0, 1]), 2)
    with pytest.raises(InvalidInputError, match=r"group\[1\]: must be a group index in \[0, 2\), got 2"):
        _greedy.lazy_greedy(*args, 0, np.array([0, 2]), 2)
    assert args[FIELDS.index("best")].tolist() == [-1, -1]  # nothing written


def test_random_inputs_select_something():
    # Guard against a generator that makes the comparison vacuous.
    sizes = [len(run_kernel(random_problem(np.random.default_rng(s)), s % 2)[0]) for s in range(60)]
    assert np.mean(sizes) > 2 and min(sizes) == 0


def _single(values, weight, memory, memory_left, *, slots=None, node=None, fixed_cost=None, fixed_use=None,
            cur=None, share_left=None):
    n_cand = len(values)
    slots = [list(range(len(v))) for v in values] if slots is None else slots
    n_slots = len(weight)
    indptr = np.zeros(n_cand + 1, dtype=np.int64)
    np.cumsum([len(s) for s in slots], out=indptr[1:])
    n_nodes = len(memory_left)
    return dict(
        indptr=indptr, slot=np.array([s for ss in slots for s in ss], dtype=np.int32),
        value=np.array([x for v in values for x in v], dtype=np.float64), weight=np.array(weight, dtype=np.float64),
        node=np.zeros(n_cand, dtype=np.int64) if node is None else np.array(node, dtype=np.int64),
        memory=np.array(memory, dtype=np.float64),
        fixed_cost=np.zeros(n_cand) if fixed_cost is None else np.array(fixed_cost, dtype=np.float64),
        fixed_use=np.zeros(n_cand) if fixed_use is None else np.array(fixed_use, dtype=np.float64),
        eligible=np.ones(n_cand, dtype=np.uint8),
        cur=np.zeros(n_slots) if cur is None else np.array(cur, dtype=np.float64),
        best=np.full(n_slots, -1, dtype=np.int64), memory_left=np.array(memory_left, dtype=np.float64),
        share_left=np.ones(n_nodes) if share_left is None else np.array(share_left, dtype=np.float64),
    )


@pytest.mark.parametrize("key_mode", [0, 1])
def test_no_candidates(key_mode):
    prob = _single([], [1.0, 2.0], [], [5.0])
    assert assert_all_agree(prob, key_mode).size == 0


@pytest.mark.parametrize("key_mode", [0, 1])
def test_one_slot(key_mode):
    prob = _single([[0.5], [0.7], [0.6]], [2.0], [1.0, 1.0, 1.0], [10.0], slots=[[0], [0], [0]])
    order = assert_all_agree(prob, key_mode)
    assert order.tolist() == [1]  # after the best, the others add nothing


@pytest.mark.parametrize("key_mode", [0, 1])
def test_zero_rates_select_nothing(key_mode):
    prob = _single([[0.5, 0.9], [0.7, 0.1]], [0.0, 0.0], [1.0, 1.0], [10.0])
    assert assert_all_agree(prob, key_mode).size == 0


@pytest.mark.parametrize("key_mode", [0, 1])
def test_candidate_that_fits_nowhere(key_mode):
    prob = _single([[0.9, 0.9], [0.1, 0.1]], [1.0, 1.0], [6.0, 1.0], [5.0])
    assert assert_all_agree(prob, key_mode).tolist() == [1]


@pytest.mark.parametrize("key_mode", [0, 1])
def test_memory_fit_tolerance(key_mode):
    # Two models of 2.5 MB on a 5 MB node whose capacity came out 1e-12 short by rounding.
    prob = _single([[0.9, 0.0], [0.0, 0.8]], [1.0, 1.0], [2.5, 2.5], [5.0 - 1e-12])
    assert assert_all_agree(prob, key_mode).tolist() == [0, 1]


@pytest.mark.parametrize("key_mode", [0, 1])
def test_identical_candidates_tie_to_smaller_index(key_mode):
    prob = _single([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]], [1.0, 1.0], [1.0, 1.0, 1.0], [10.0], node=[0, 0, 0])
    assert assert_all_agree(prob, key_mode).tolist() == [0]
    # Same on different nodes: still one, the smallest index, as the rest add nothing.
    prob["node"] = np.array([2, 1, 0], dtype=np.int64)
    prob["memory_left"] = np.full(3, 10.0)
    prob["share_left"] = np.ones(3)
    assert assert_all_agree(prob, key_mode).tolist() == [0]


def test_key_modes_differ_on_cost_benefit_instance():
    # One big model with the largest gain vs two small ones with more gain per MB.
    prob = _single([[1.0, 1.0, 1.0], [0.9, 0.0, 0.0], [0.0, 0.9, 0.0]], [1.0, 1.0, 1.0],
                   [4.0, 1.0, 1.0], [4.0])
    assert assert_all_agree(prob, 1).tolist() == [0]
    assert assert_all_agree(prob, 0).tolist() == [1, 2]


@pytest.mark.parametrize("key_mode", [0, 1])
def test_fixed_costs_make_gains_negative(key_mode):
    prob = _single([[0.5, 0.5], [0.4, 0.4]], [1.0, 1.0], [1.0, 1.0], [10.0], fixed_cost=[1.0, 0.5])
    # Candidate 0 has net gain 0 (never taken), candidate 1 has 0.3.
    assert assert_all_agree(prob, key_mode).tolist() == [1]
    prob["fixed_cost"] = np.array([5.0, 5.0])
    assert assert_all_agree(prob, key_mode).size == 0


@pytest.mark.parametrize("key_mode", [0, 1])
def test_fixed_share_limit(key_mode):
    prob = _single([[0.9, 0.0, 0.0], [0.0, 0.8, 0.0], [0.0, 0.0, 0.7]], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0],
                   [100.0], fixed_use=[0.5, 0.6, 0.5])
    # 0 (share 0.5) then 1 does not fit (0.6 > 0.5), 2 does (0.5 <= 0.5).
    assert assert_all_agree(prob, key_mode).tolist() == [0, 2]


@pytest.mark.parametrize("seed", range(30))
def test_preselected_set(seed):
    """Polish-style call: some candidates already onloaded (capacities reduced, cur/best set),
    excluded by the eligible mask; the kernel continues from there like the twins."""
    rng = np.random.default_rng(5000 + seed)
    prob = random_problem(rng, n_cand=30, n_slots=25, n_nodes=5, fixed_costs=seed % 2 == 0, shares=True)
    first, *_ = run_kernel(prob, seed % 2)
    pre = first[: max(1, len(first) // 2)] if len(first) else np.zeros(0, dtype=np.int64)
    cur, best = prob["cur"].copy(), prob["best"].copy()
    mem, share = prob["memory_left"].copy(), prob["share_left"].copy()
    for j in pre:
        for k in range(prob["indptr"][j], prob["indptr"][j + 1]):
            s = prob["slot"][k]
            if prob["value"][k] > cur[s]:
                cur[s], best[s] = prob["value"][k], j
        mem[prob["node"][j]] -= prob["memory"][j]
        share[prob["node"][j]] -= prob["fixed_use"][j]
    eligible = prob["eligible"].copy()
    eligible[pre] = 0
    prob2 = dict(prob, cur=cur, best=best, memory_left=mem, share_left=share, eligible=eligible)
    order = assert_all_agree(prob2, seed % 2)
    assert not set(order.tolist()) & set(pre.tolist())
    # Same key mode, continued from its own prefix: the same sequence.
    np.testing.assert_array_equal(np.concatenate([pre, order]), first)


def test_bad_input_is_refused_before_the_kernel_runs():
    prob = _single([[0.5]], [1.0], [1.0], [2.0])

    def refused(case, key_mode, match):
        args = [np.array(case[k], copy=True) for k in FIELDS]
        with pytest.raises(InvalidInputError, match=match):
            _greedy.lazy_greedy(*args, key_mode)
        assert args[FIELDS.index("cur")][0] == 0.0 and args[FIELDS.index("best")][0] == -1  # nothing written

    refused(dict(prob, slot=np.array([3], dtype=np.int32)), 0, r"slot\[0\]: must be a slot index in \[0, 1\), got 3")
    refused(prob, 7, r"key_mode: must be 0 .* or 1 .*, got 7")
    zero_mem = dict(prob, memory=np.array([0.0]))
    refused(zero_mem, 0, r"memory\[0\]: must be > 0 with key_mode 0")
    args = [np.array(zero_mem[k], copy=True) for k in FIELDS]
    assert _greedy.lazy_greedy(*args, 1)[0] == _greedy.OK  # plain gain needs no memory division
    refused(dict(prob, node=np.array([1], dtype=np.int64)), 0, r"node\[0\]: must be a node index in \[0, 1\), got 1")
    refused(dict(prob, indptr=np.array([0, 2], dtype=np.int64)), 0, r"slot: must have 2 entries \(indptr\[-1\]\), got 1")
    refused(dict(prob, indptr=np.array([1, 1], dtype=np.int64)), 0, r"indptr\[0\]: must be 0, got 1")
