# cython: language_level=3
"""Binding over csrc/greedy.c: NumPy arrays in, checked, the lazy greedy run without the GIL.

The binding checks every array's type, dtype, layout and length, every index the kernel uses
to address an array (slots, nodes, groups) and the other preconditions of greedy.h before the
kernel runs, raising InvalidInputError named after the argument; a failure status of the kernel
becomes MemoryError (J3O_ERR_NOMEM) or RuntimeError.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint8_t

from j3o_fast.errors import InvalidInputError


cdef extern from "status.h" nogil:
    int J3O_OK
    int J3O_ERR_NOMEM
    int J3O_ERR_BAD_INPUT
    const char *j3o_status_name(int status)


cdef extern from "greedy.h" nogil:
    int J3O_KEY_PER_MEMORY
    int J3O_KEY_GAIN

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


OK = J3O_OK
BAD_INPUT = J3O_ERR_BAD_INPUT
NO_MEMORY = J3O_ERR_NOMEM
KEY_PER_MEMORY = J3O_KEY_PER_MEMORY
KEY_GAIN = J3O_KEY_GAIN


cdef object _array(str name, object a, object dtype, bint writable=False):
    """``a`` if it is a one-dimensional C-contiguous ndarray of ``dtype`` (writable if asked),
    else InvalidInputError. A bool array stands for uint8 (viewed, not copied)."""
    if not isinstance(a, np.ndarray):
        raise InvalidInputError(name, f"must be a NumPy array, got {type(a).__name__}")
    if dtype == np.uint8 and a.dtype == np.bool_:
        a = a.view(np.uint8)
    if a.dtype != dtype:
        raise InvalidInputError(name, f"must have dtype {np.dtype(dtype)}, got {a.dtype}")
    if a.ndim != 1:
        raise InvalidInputError(name, f"must be one-dimensional, got shape {a.shape}")
    if not a.flags.c_contiguous:
        raise InvalidInputError(name, "must be C-contiguous")
    if writable and not a.flags.writeable:
        raise InvalidInputError(name, "must be writable (the kernel updates it in place)")
    return a


cdef object _check_length(str name, object a, Py_ssize_t n, str what):
    if a.shape[0] != n:
        raise InvalidInputError(name, f"must have {n} entries ({what}), got {a.shape[0]}")


ctypedef fused index_t:
    int32_t
    int64_t


cdef Py_ssize_t _first_out_of_range(const index_t[::1] a, int64_t n) noexcept nogil:
    """Index of the first a[i] outside [0, n), or -1 (a typed loop: no NumPy temporaries)."""
    cdef Py_ssize_t i
    for i in range(a.shape[0]):
        if a[i] < 0 or a[i] >= n:
            return i
    return -1


cdef object _check_index(str name, object a, Py_ssize_t n, str what):
    """Every a[i] in [0, n); else InvalidInputError naming the first offending entry."""
    cdef Py_ssize_t i
    if a.dtype == np.int32:
        i = _first_out_of_range[int32_t](a, n)
    else:
        i = _first_out_of_range[int64_t](a, n)
    if i >= 0:
        raise InvalidInputError(f"{name}[{i}]", f"must be {what} in [0, {n}), got {a[i]}")


cdef const double *_dptr(const double[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] > 0 else NULL


cdef const int64_t *_iptr(const int64_t[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] > 0 else NULL


cdef Py_ssize_t _first_shared_node(const int64_t[::1] node, const int64_t[::1] group, Py_ssize_t n_nodes):
    """First candidate whose node another group also uses (the last writer in candidate order
    owns a node, as with NumPy fancy assignment), or -1."""
    owner = np.full(n_nodes, -1, dtype=np.int64)
    cdef int64_t[::1] own = owner
    cdef Py_ssize_t j
    for j in range(node.shape[0]):
        own[node[j]] = group[j]
    for j in range(node.shape[0]):
        if own[node[j]] != group[j]:
            return j
    return -1


cdef Py_ssize_t _first_shared_slot(const int64_t[::1] indptr, const int32_t[::1] slot, const int64_t[::1] group,
                                   Py_ssize_t n_slots):
    """First entry (CSR position) whose slot another group also serves, or -1."""
    owner = np.full(n_slots, -1, dtype=np.int64)
    cdef int64_t[::1] own = owner
    cdef Py_ssize_t j, k
    for j in range(indptr.shape[0] - 1):
        for k in range(indptr[j], indptr[j + 1]):
            own[slot[k]] = group[j]
    for j in range(indptr.shape[0] - 1):
        for k in range(indptr[j], indptr[j + 1]):
            if own[slot[k]] != group[j]:
                return k
    return -1


def lazy_greedy(indptr, slot, value, weight, node, memory, fixed_cost, fixed_use, eligible,
                cur, best, memory_left, share_left, int key_mode, group=None, int64_t n_groups=0):
    """Lazy greedy of csrc/greedy.h; ``cur``, ``best``, ``memory_left``, ``share_left`` are
    updated in place.

    One-dimensional C-contiguous arrays: indptr (n_cand+1,) int64 starting at 0, non-decreasing;
    slot (nnz,) int32 in [0, n_slots) and value (nnz,) float64, nnz = indptr[-1]; weight (n_slots,)
    float64; node (n_cand,) int64 in [0, n_nodes); memory, fixed_cost, fixed_use (n_cand,)
    float64; eligible (n_cand,) uint8 (or bool); cur (n_slots,) float64 and best (n_slots,)
    int64, writable; memory_left, share_left (n_nodes,) float64, writable. ``key_mode`` is
    KEY_PER_MEMORY (then every memory must be > 0) or KEY_GAIN. ``group`` (n_cand,) int64 in
    [0, n_groups), or None: a partition into independent groups (sharing no slot and no node)
    that lets the kernel work group by group; the result is the same.

    Returns (status, order, total_gain, n_evaluations) with status OK; ``order`` holds the
    accepted candidates in order of acceptance. Raises InvalidInputError for bad arguments
    (nothing is then written), MemoryError when the kernel runs out of memory.
    """
    indptr = _array("indptr", indptr, np.int64)
    slot = _array("slot", slot, np.int32)
    value = _array("value", value, np.float64)
    weight = _array("weight", weight, np.float64)
    node = _array("node", node, np.int64)
    memory = _array("memory", memory, np.float64)
    fixed_cost = _array("fixed_cost", fixed_cost, np.float64)
    fixed_use = _array("fixed_use", fixed_use, np.float64)
    eligible = _array("eligible", eligible, np.uint8)
    cur = _array("cur", cur, np.float64, True)
    best = _array("best", best, np.int64, True)
    memory_left = _array("memory_left", memory_left, np.float64, True)
    share_left = _array("share_left", share_left, np.float64, True)
    if group is not None:
        group = _array("group", group, np.int64)

    # Sizes: the candidates from indptr, the slots from weight, the nodes from memory_left.
    if indptr.shape[0] < 1:
        raise InvalidInputError("indptr", "must have n_cand + 1 >= 1 entries, got 0")
    cdef Py_ssize_t n_cand = indptr.shape[0] - 1
    cdef Py_ssize_t n_slots = weight.shape[0], n_nodes = memory_left.shape[0]
    if indptr[0] != 0:
        raise InvalidInputError("indptr[0]", f"must be 0, got {indptr[0]}")
    cdef const int64_t[::1] indptr_c = indptr
    cdef Py_ssize_t i
    for i in range(n_cand):
        if indptr_c[i + 1] < indptr_c[i]:
            raise InvalidInputError(f"indptr[{i + 1}]", f"must be >= indptr[{i}] = {indptr[i]}, got {indptr[i + 1]}")
    cdef Py_ssize_t nnz = indptr[n_cand]
    _check_length("slot", slot, nnz, "indptr[-1]")
    _check_length("value", value, nnz, "indptr[-1]")
    for name, a in (("node", node), ("memory", memory), ("fixed_cost", fixed_cost),
                    ("fixed_use", fixed_use), ("eligible", eligible)):
        _check_length(name, a, n_cand, "one per candidate, len(indptr) - 1")
    _check_length("cur", cur, n_slots, "one per slot, as weight")
    _check_length("best", best, n_slots, "one per slot, as weight")
    _check_length("share_left", share_left, n_nodes, "one per node, as memory_left")
    _check_index("slot", slot, n_slots, "a slot index")
    _check_index("node", node, n_nodes, "a node index")
    if key_mode != J3O_KEY_PER_MEMORY and key_mode != J3O_KEY_GAIN:
        raise InvalidInputError("key_mode", f"must be {J3O_KEY_PER_MEMORY} (gain per memory) or "
                                            f"{J3O_KEY_GAIN} (gain), got {key_mode}")
    cdef const double[::1] memory_c = memory
    if key_mode == J3O_KEY_PER_MEMORY:
        for i in range(n_cand):
            if not memory_c[i] > 0:   # NaN included
                raise InvalidInputError(f"memory[{i}]", f"must be > 0 with key_mode {J3O_KEY_PER_MEMORY} "
                                                        f"(gain per memory), got {memory[i]}")
    if group is not None and n_cand > 0:
        _check_length("group", group, n_cand, "one per candidate, len(indptr) - 1")
        if n_groups < 1:
            raise InvalidInputError("n_groups", f"must be >= 1 with a group array, got {n_groups}")
        _check_index("group", group, n_groups, "a group index")
        # Independent groups share no node and no slot: write each node's (slot's) group in
        # candidate order, and every candidate must read back its own group.
        j = _first_shared_node(node, group, n_nodes)
        if j >= 0:
            owner = np.full(n_nodes, -1, dtype=np.int64)
            owner[node] = group
            raise InvalidInputError(f"group[{j}]", f"candidate {j} of group {group[j]} is on node {node[j]}, which "
                                                   f"group {owner[node[j]]} also uses; groups must share no node")
        k = _first_shared_slot(indptr, slot, group, n_slots)
        if k >= 0:
            entry_group = np.repeat(group, np.diff(indptr))
            owner = np.full(n_slots, -1, dtype=np.int64)
            owner[slot] = entry_group
            j = int(np.searchsorted(indptr, k, side="right")) - 1
            raise InvalidInputError(f"group[{j}]", f"candidate {j} of group {group[j]} serves slot {slot[k]}, which "
                                                   f"group {owner[slot[k]]} also serves; groups must share no slot")

    order = np.empty(max(n_cand, 0), dtype=np.int64)
    cdef int64_t[::1] order_v = order
    cdef int64_t empty_i = 0
    cdef const int64_t[::1] indptr_v = indptr, node_v = node
    cdef const int32_t[::1] slot_v = slot
    cdef const double[::1] value_v = value, weight_v = weight, memory_v = memory
    cdef const double[::1] fixed_cost_v = fixed_cost, fixed_use_v = fixed_use
    cdef const uint8_t[::1] eligible_v = eligible
    cdef const int64_t[::1] group_v
    cdef double[::1] cur_v = cur, memory_left_v = memory_left, share_left_v = share_left
    cdef int64_t[::1] best_v = best

    cdef j3o_greedy_problem p
    p.n_cand, p.n_slots, p.n_nodes = n_cand, n_slots, n_nodes
    p.indptr = &indptr_v[0]
    p.slot = &slot_v[0] if nnz > 0 else NULL
    p.value = _dptr(value_v)
    p.weight = _dptr(weight_v)
    p.node, p.memory = _iptr(node_v), _dptr(memory_v)
    p.fixed_cost, p.fixed_use = _dptr(fixed_cost_v), _dptr(fixed_use_v)
    p.eligible = &eligible_v[0] if n_cand > 0 else NULL
    p.group = NULL
    if group is not None and n_cand > 0:
        group_v = group
        p.group = &group_v[0]
    p.n_groups = n_groups

    cdef j3o_greedy_state s
    s.cur = &cur_v[0] if n_slots > 0 else NULL
    s.best = &best_v[0] if n_slots > 0 else NULL
    s.memory_left = &memory_left_v[0] if n_nodes > 0 else NULL
    s.share_left = &share_left_v[0] if n_nodes > 0 else NULL
    s.order = &order_v[0] if n_cand > 0 else &empty_i
    s.n_selected, s.total_gain, s.n_evaluations = 0, 0.0, 0
    cdef int status
    with nogil:
        status = j3o_lazy_greedy(&p, key_mode, &s)
    if status == J3O_ERR_NOMEM:
        raise MemoryError(f"j3o_lazy_greedy: workspace for {n_cand} candidates could not be allocated")
    if status != J3O_OK:
        raise RuntimeError(f"j3o_lazy_greedy failed with status {status} ({j3o_status_name(status).decode()})")
    return status, order[:s.n_selected].copy(), s.total_gain, s.n_evaluations
