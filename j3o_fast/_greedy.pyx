# cython: language_level=3
"""Binding over csrc/greedy.c: typed memoryviews in, the lazy greedy run without the GIL."""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint8_t


cdef extern from "greedy.h" nogil:
    int J3O_GREEDY_OK
    int J3O_GREEDY_BAD_INPUT
    int J3O_GREEDY_NO_MEMORY

    ctypedef struct j3o_greedy_problem:
        int64_t n_cand, n_slots, n_nodes
        const int64_t *indptr
        const int32_t *slot
        const double *value
        const double *weight
        const int64_t *node
        const double *memory
        const double *fixed_cost
        const double *fixed_use
        const uint8_t *eligible
        const int64_t *group
        int64_t n_groups

    ctypedef struct j3o_greedy_state:
        double *cur
        int64_t *best
        double *memory_left
        double *share_left
        int64_t *order
        int64_t n_selected
        double total_gain
        int64_t n_evaluations

    int j3o_lazy_greedy(const j3o_greedy_problem *p, int key_mode, j3o_greedy_state *s)


OK = J3O_GREEDY_OK
BAD_INPUT = J3O_GREEDY_BAD_INPUT
NO_MEMORY = J3O_GREEDY_NO_MEMORY


cdef const double *_dptr(const double[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] > 0 else NULL


cdef const int64_t *_iptr(const int64_t[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] > 0 else NULL


def lazy_greedy(
    const int64_t[::1] indptr, const int32_t[::1] slot, const double[::1] value,
    const double[::1] weight, const int64_t[::1] node, const double[::1] memory,
    const double[::1] fixed_cost, const double[::1] fixed_use, const uint8_t[::1] eligible,
    double[::1] cur, int64_t[::1] best, double[::1] memory_left, double[::1] share_left,
    int key_mode, const int64_t[::1] group=None, int64_t n_groups=0,
):
    """Lazy greedy of csrc/greedy.h; ``cur``, ``best``, ``memory_left``, ``share_left`` are
    updated in place.

    Returns (status, order, total_gain, n_evaluations); ``order`` holds the accepted candidates
    in order of acceptance. Lengths are checked by the Python caller: indptr n_cand+1,
    slot/value nnz = indptr[-1], weight/cur/best n_slots, node/memory/fixed_cost/fixed_use/
    eligible n_cand, memory_left/share_left n_nodes. ``group`` (n_cand,) in [0, n_groups), or
    None: a partition into independent groups (sharing no slot and no node) that lets the kernel
    work group by group; the result is the same.
    """
    cdef Py_ssize_t n_cand = indptr.shape[0] - 1
    order = np.empty(max(n_cand, 0), dtype=np.int64)
    cdef int64_t[::1] order_v = order
    cdef int64_t empty_i = 0

    cdef j3o_greedy_problem p
    p.n_cand, p.n_slots, p.n_nodes = n_cand, weight.shape[0], memory_left.shape[0]
    p.indptr = &indptr[0]
    p.slot = &slot[0] if slot.shape[0] > 0 else NULL
    p.value = _dptr(value)
    p.weight = _dptr(weight)
    p.node, p.memory = _iptr(node), _dptr(memory)
    p.fixed_cost, p.fixed_use = _dptr(fixed_cost), _dptr(fixed_use)
    p.eligible = &eligible[0] if eligible.shape[0] > 0 else NULL
    p.group = &group[0] if group is not None and group.shape[0] > 0 else NULL
    p.n_groups = n_groups

    cdef j3o_greedy_state s
    s.cur = &cur[0] if cur.shape[0] > 0 else NULL
    s.best = &best[0] if best.shape[0] > 0 else NULL
    s.memory_left = &memory_left[0] if memory_left.shape[0] > 0 else NULL
    s.share_left = &share_left[0] if share_left.shape[0] > 0 else NULL
    s.order = &order_v[0] if n_cand > 0 else &empty_i
    s.n_selected, s.total_gain, s.n_evaluations = 0, 0.0, 0
    cdef int status
    with nogil:
        status = j3o_lazy_greedy(&p, key_mode, &s)
    return status, order[:s.n_selected].copy(), s.total_gain, s.n_evaluations
