"""The Cython bindings refuse bad arguments with an error naming the argument, before any C runs.

Each binding checks array types, dtypes, layouts and shapes, and every index the kernel would
use to address an array; a refused call writes nothing. Kernels and their slow twins agree in
the tests of each kernel (test_coinference_og, test_greedy).
"""

import math

import numpy as np
import pytest

from j3o_fast.coinference import _og
from j3o_fast.errors import InvalidInputError
from j3o_fast.placement import _greedy


def test_status_codes_are_shared():
    """One status header: the same code means the same thing in every binding."""
    assert _og.STATUS_OK == _greedy.OK == 0
    assert _og.STATUS_NO_MEMORY == _greedy.NO_MEMORY
    assert len({_og.STATUS_OK, _og.STATUS_NO_PLAN, _og.STATUS_NO_MEMORY, _greedy.BAD_INPUT}) == 4


# ----------------------------------------------------------------------------- OG

def og_args(K=3, N=2):
    rng = np.random.default_rng(0)
    return dict(deadline=np.sort(rng.uniform(1.0, 2.0, K)), threshold=rng.uniform(0.0, 1.5, (K, N)),
                energy=rng.uniform(0.1, 1.0, (K, N + 1)), local_cost=rng.uniform(0.5, 1.0, K),
                tail=np.append(np.linspace(0.3, 0.0, N + 1), 0.0)[: N + 2], cap=K, bound=math.inf)


def call_og(a):
    return _og.og_solve_sorted(a["deadline"], a["threshold"], a["energy"], a["local_cost"], a["tail"],
                               a["cap"], a["bound"])


def test_og_valid_call():
    status, cost, start, *_ = call_og(og_args())
    assert status == _og.STATUS_OK and math.isfinite(cost) and start[0] == 0


@pytest.mark.parametrize("field, value, match", [
    ("energy", np.zeros((3, 2)), r"energy: must have shape \(3, 3\)"),               # N, not N+1, points
    ("local_cost", np.zeros(4), r"local_cost: must have shape \(3,\)"),
    ("deadline", np.zeros(2), r"deadline: must have shape \(3,\)"),
    ("tail", np.zeros(3), r"tail: must have shape \(4,\)"),
    ("threshold", np.zeros((0, 2)), r"threshold: must have shape \(K, N\) with K >= 1 and N >= 1"),
    ("deadline", np.array([2.0, 1.0, 3.0]), r"deadline\[1\]: deadlines must be sorted"),
    ("deadline", np.array([1, 2, 3]), r"deadline: must have dtype float64, got int64"),       # wrong dtype
    ("threshold", np.zeros((2, 3)).T, r"threshold: must be C-contiguous"),
    ("energy", [[0.0] * 3] * 3, r"energy: must be a NumPy array, got list"),
    ("local_cost", None, r"local_cost: must be a NumPy array, got NoneType"),
    ("cap", -1, r"cap: must be >= 0, got -1"),
    ("bound", math.nan, r"bound: must be a number or \+inf"),
])
def test_og_refuses_bad_arguments(field, value, match):
    a = og_args()
    a[field] = value
    with pytest.raises(InvalidInputError, match=match):
        call_og(a)


# ------------------------------------------------------------------------- greedy

GREEDY_FIELDS = ("indptr", "slot", "value", "weight", "node", "memory", "fixed_cost", "fixed_use", "eligible",
                 "cur", "best", "memory_left", "share_left")


def greedy_args():
    """Two candidates on two nodes serving three slots: candidate 0 slots {0, 1}, candidate 1 slot {2}."""
    return dict(indptr=np.array([0, 2, 3]), slot=np.array([0, 1, 2], dtype=np.int32),
                value=np.array([0.5, 0.4, 0.9]), weight=np.ones(3), node=np.array([0, 1]),
                memory=np.array([1.0, 2.0]), fixed_cost=np.zeros(2), fixed_use=np.zeros(2),
                eligible=np.ones(2, dtype=np.uint8), cur=np.zeros(3), best=np.full(3, -1),
                memory_left=np.array([4.0, 4.0]), share_left=np.ones(2))


def call_greedy(a, key_mode=0, group=None, n_groups=0):
    return _greedy.lazy_greedy(*(a[k] for k in GREEDY_FIELDS), key_mode, group, n_groups)


def test_greedy_valid_call_and_bool_mask():
    a = greedy_args()
    a["eligible"] = np.ones(2, dtype=bool)  # a bool mask is read as uint8
    status, order, gain, _ = call_greedy(a, 0, np.array([0, 1]), 2)
    assert status == _greedy.OK and sorted(order.tolist()) == [0, 1] and gain == pytest.approx(1.8)
    assert a["best"].tolist() == [0, 0, 1]


@pytest.mark.parametrize("field, value, match", [
    ("value", np.zeros(2), r"value: must have 3 entries \(indptr\[-1\]\), got 2"),          # lengths differ
    ("fixed_use", np.zeros(3), r"fixed_use: must have 2 entries"),
    ("best", np.full(2, -1), r"best: must have 3 entries \(one per slot, as weight\)"),
    ("share_left", np.ones(3), r"share_left: must have 2 entries \(one per node, as memory_left\)"),
    ("indptr", np.array([0, 3, 2]), r"indptr\[2\]: must be >= indptr\[1\] = 3, got 2"),
    ("indptr", np.zeros(0, dtype=np.int64), r"indptr: must have n_cand \+ 1 >= 1 entries"),
    ("slot", np.array([0, 1, 3], dtype=np.int32), r"slot\[2\]: must be a slot index in \[0, 3\), got 3"),
    ("slot", np.array([0, -1, 2], dtype=np.int32), r"slot\[1\]: must be a slot index in \[0, 3\), got -1"),
    ("node", np.array([0, 2]), r"node\[1\]: must be a node index in \[0, 2\), got 2"),
    ("slot", np.array([0, 1, 2]), r"slot: must have dtype int32, got int64"),               # wrong dtype
    ("eligible", np.ones(2), r"eligible: must have dtype uint8, got float64"),
    ("value", np.zeros((3, 1)), r"value: must be one-dimensional"),
    ("weight", np.ones(6)[::2], r"weight: must be C-contiguous"),
    ("cur", None, r"cur: must be a NumPy array, got NoneType"),
    ("memory_left", [4.0, 4.0], r"memory_left: must be a NumPy array, got list"),
])
def test_greedy_refuses_bad_arguments(field, value, match):
    a = greedy_args()
    a[field] = value
    with pytest.raises(InvalidInputError, match=match):
        call_greedy(a)
    assert a["best"].tolist() == [-1] * len(a["best"])  # nothing written


def test_greedy_refuses_read_only_outputs_and_bad_groups():
    a = greedy_args()
    a["cur"].setflags(write=False)
    with pytest.raises(InvalidInputError, match="cur: must be writable"):
        call_greedy(a)
    a = greedy_args()
    with pytest.raises(InvalidInputError, match=r"group: must have 2 entries"):
        call_greedy(a, 0, np.array([0]), 1)
    with pytest.raises(InvalidInputError, match=r"group\[0\]: must be a group index in \[0, 2\), got -1"):
        call_greedy(a, 0, np.array([-1, 0]), 2)
    with pytest.raises(InvalidInputError, match=r"n_groups: must be >= 1"):
        call_greedy(a, 0, np.array([0, 0]), 0)
    with pytest.raises(InvalidInputError, match=r"group: must have dtype int64, got int32"):
        call_greedy(a, 0, np.array([0, 1], dtype=np.int32), 2)
    assert a["best"].tolist() == [-1, -1, -1]
