# cython: language_level=3
"""Binding over csrc/coinference_og.c (the OG grouping DP): NumPy arrays in, checked, NumPy arrays out.

The binding checks every array's type, dtype, layout and shape before the kernel runs, raising
InvalidInputError named after the argument; a failure status of the kernel becomes MemoryError
(J3O_ERR_NOMEM) or RuntimeError.
"""

import math

import numpy as np

from libc.stdint cimport INT32_MAX, int64_t

from j3o_fast.errors import InvalidInputError


cdef extern from "status.h" nogil:
    int J3O_OK
    int J3O_NO_PLAN
    int J3O_ERR_NOMEM
    const char *j3o_status_name(int status)


cdef extern from "coinference_og.h" nogil:
    ctypedef struct og_problem:
        int64_t n_users, n_subtasks
        const double *deadline
        const double *threshold
        const double *energy
        const double *local_cost
        const double *tail
        int64_t cap
        double bound

    ctypedef struct og_plan:
        double cost
        int64_t n_groups
        int64_t *group_start
        int64_t *group_first
        double *group_finish
        int64_t *choice
        int64_t n_steps

    int og_solve(const og_problem *p, og_plan *out)


STATUS_OK = J3O_OK
STATUS_NO_MEMORY = J3O_ERR_NOMEM
STATUS_NO_PLAN = J3O_NO_PLAN


cdef object _float_array(str name, object a, int ndim):
    """``a`` if it is a C-contiguous float64 ndarray of ``ndim`` dimensions, else InvalidInputError."""
    if not isinstance(a, np.ndarray):
        raise InvalidInputError(name, f"must be a NumPy array, got {type(a).__name__}")
    if a.dtype != np.float64:
        raise InvalidInputError(name, f"must have dtype float64, got {a.dtype}")
    if a.ndim != ndim:
        raise InvalidInputError(name, f"must have {ndim} dimension(s), got shape {a.shape}")
    if not a.flags.c_contiguous:
        raise InvalidInputError(name, "must be C-contiguous")
    return a


def og_solve_sorted(deadline, threshold, energy, local_cost, tail, Py_ssize_t cap, double bound):
    """Run the grouping DP on users sorted by deadline; see csrc/coinference_og.h.

    Shapes: deadline (K,) non-decreasing, threshold (K, N), energy (K, N+1), local_cost (K,),
    tail (N+2,), all float64 and C-contiguous, with K >= 1 and N >= 1; cap >= 0; bound not NaN.
    Returns (status, cost, group_start, group_first, group_finish, choice, n_steps) with the
    group arrays cut to the number of groups; status is STATUS_OK or STATUS_NO_PLAN (no grouping
    costs <= bound). Raises InvalidInputError for bad arguments, MemoryError when the kernel runs
    out of memory.
    """
    deadline = _float_array("deadline", deadline, 1)
    threshold = _float_array("threshold", threshold, 2)
    energy = _float_array("energy", energy, 2)
    local_cost = _float_array("local_cost", local_cost, 1)
    tail = _float_array("tail", tail, 1)
    cdef Py_ssize_t K = threshold.shape[0], N = threshold.shape[1]
    if K < 1 or N < 1:
        raise InvalidInputError("threshold", f"must have shape (K, N) with K >= 1 and N >= 1, got {threshold.shape}")
    if K >= INT32_MAX or N >= INT32_MAX:  # the DP's step tags are 32-bit positions and sub-tasks
        raise InvalidInputError("threshold", f"shape {threshold.shape} is too large")
    for name, a, shape in (("deadline", deadline, (K,)), ("energy", energy, (K, N + 1)),
                           ("local_cost", local_cost, (K,)), ("tail", tail, (N + 2,))):
        if a.shape != shape:
            raise InvalidInputError(name, f"must have shape {shape} (threshold has shape {threshold.shape}), "
                                          f"got {a.shape}")
    sorted_ = deadline[1:] >= deadline[:K - 1]
    if not sorted_.all():
        i = int(np.flatnonzero(~sorted_)[0])
        raise InvalidInputError(f"deadline[{i + 1}]", f"deadlines must be sorted (non-decreasing), "
                                                      f"got {deadline[i + 1]!r} after {deadline[i]!r}")
    if cap < 0:
        raise InvalidInputError("cap", f"must be >= 0, got {cap}")
    if math.isnan(bound):
        raise InvalidInputError("bound", "must be a number or +inf, got nan")

    start = np.zeros(K, dtype=np.int64)
    first = np.zeros(K, dtype=np.int64)
    finish = np.zeros(K, dtype=np.float64)
    choice = np.zeros(K, dtype=np.int64)
    cdef int64_t[::1] start_v = start, first_v = first, choice_v = choice
    cdef double[::1] finish_v = finish
    cdef const double[::1] deadline_v = deadline, local_v = local_cost, tail_v = tail
    cdef const double[:, ::1] threshold_v = threshold, energy_v = energy

    cdef og_problem p
    p.n_users, p.n_subtasks = K, N
    p.deadline, p.threshold, p.energy = &deadline_v[0], &threshold_v[0, 0], &energy_v[0, 0]
    p.local_cost, p.tail = &local_v[0], &tail_v[0]
    p.cap, p.bound = cap, bound

    cdef og_plan out
    out.group_start, out.group_first, out.group_finish = &start_v[0], &first_v[0], &finish_v[0]
    out.choice = &choice_v[0]
    cdef int status
    with nogil:
        status = og_solve(&p, &out)
    if status == J3O_ERR_NOMEM:
        raise MemoryError(f"og_solve: out of memory for the DP's step functions ({K} users, {N} sub-tasks)")
    if status != J3O_OK and status != J3O_NO_PLAN:
        raise RuntimeError(f"og_solve failed with status {status} ({j3o_status_name(status).decode()})")
    g = out.n_groups
    return status, out.cost, start[:g], first[:g], finish[:g], choice, out.n_steps
