# cython: language_level=3
"""Binding over csrc/coinference_og.c (the OG grouping DP): typed memoryviews in, NumPy arrays out."""

import numpy as np

from libc.stdint cimport int64_t


cdef extern from "coinference_og.h" nogil:
    int OG_OK
    int OG_NO_MEMORY
    int OG_NO_PLAN

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


STATUS_OK = OG_OK
STATUS_NO_MEMORY = OG_NO_MEMORY
STATUS_NO_PLAN = OG_NO_PLAN


def og_solve_sorted(const double[::1] deadline, const double[:, ::1] threshold,
                    const double[:, ::1] energy, const double[::1] local_cost,
                    const double[::1] tail, Py_ssize_t cap, double bound):
    """Run the grouping DP on users sorted by deadline; see csrc/coinference_og.h.

    Shapes (checked by the Python caller): deadline (K,), threshold (K, N), energy (K, N+1),
    local_cost (K,), tail (N+2,). Returns (status, cost, group_start, group_first,
    group_finish, choice, n_steps) with the group arrays cut to the number of groups.
    """
    cdef Py_ssize_t K = threshold.shape[0], N = threshold.shape[1]
    start = np.zeros(K, dtype=np.int64)
    first = np.zeros(K, dtype=np.int64)
    finish = np.zeros(K, dtype=np.float64)
    choice = np.zeros(K, dtype=np.int64)
    cdef int64_t[::1] start_v = start, first_v = first, choice_v = choice
    cdef double[::1] finish_v = finish

    cdef og_problem p
    p.n_users, p.n_subtasks = K, N
    p.deadline, p.threshold, p.energy = &deadline[0], &threshold[0, 0], &energy[0, 0]
    p.local_cost, p.tail = &local_cost[0], &tail[0]
    p.cap, p.bound = cap, bound

    cdef og_plan out
    out.group_start, out.group_first, out.group_finish = &start_v[0], &first_v[0], &finish_v[0]
    out.choice = &choice_v[0]
    cdef int status
    with nogil:
        status = og_solve(&p, &out)
    g = out.n_groups
    return status, out.cost, start[:g], first[:g], finish[:g], choice, out.n_steps
