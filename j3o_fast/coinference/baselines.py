"""Baselines of docs/coinference.rst section 5: all-local (LC), full offloading (FO) and IP-no-batch.

Every baseline returns a full plan. A user it cannot serve runs all-local (s = N), and when
that misses the deadline too it is listed in ``infeasible_users`` (status "partial": a usable
plan that leaves the listed users unserved).
Every baseline takes ``gpu_free_s`` H (absolute seconds, >= 0; default 0, an idle GPU): the GPU
runs committed work until H and no batch starts before it (docs/coinference.rst section 7, step 3).
"""

from __future__ import annotations

import heapq
import time

import numpy as np

from .._validate import check_options
from ..errors import InvalidInputError
from ..result import SolveResult
from .instance import CoInferenceInstance
from .ipssa import GPU_FREE_S
from .plan import Batch, make_result

#: Relative slack of time comparisons: a schedule built to end exactly at a deadline must not be
#: declared late because its end was summed in another order than the deadline test.
_EPS = 1e-12


def _late(t, deadline):
    """t ends after ``deadline`` beyond rounding."""
    return t > deadline + _EPS * np.maximum(1.0, np.abs(deadline))


def _local_ok(inst: CoInferenceInstance) -> np.ndarray:
    """(K,) all-local meets the deadline: L_k(N) <= T_k."""
    return inst.local_time[:, -1] <= inst.deadline_s


@check_options(gpu_free_s=GPU_FREE_S)
def solve_lc(instance: CoInferenceInstance, *, gpu_free_s: float = 0.0) -> SolveResult:
    """LC: every user runs all N sub-tasks on its device (s_k = N), energy sum_k E_k(N).

    Users with L_k(N) > T_k are listed as infeasible. ``gpu_free_s`` is checked and has no
    effect (LC uses no GPU).

    >>> from j3o_fast.coinference.profiles import generate
    >>> solve_lc(generate("mobilenetv2", 2, deadline_s=0.05)).status
    'feasible'
    """
    t0 = time.perf_counter()
    inst = instance
    part = np.full(inst.n_users, inst.n_subtasks, dtype=np.int64)
    infeasible = np.nonzero(~_local_ok(inst))[0]
    return make_result(inst, "lc", part, (), runtime_s=time.perf_counter() - t0, infeasible_users=infeasible)


@check_options(gpu_free_s=GPU_FREE_S)
def solve_fo(instance: CoInferenceInstance, *, gpu_free_s: float = 0.0) -> SolveResult:
    """FO: every user uploads its raw input (s_k = 0); one batch of all K users per sub-task.

    The batches run back to back, each of te[n](K) = beta[n] + alpha[n]*K seconds. They are
    placed as late as possible, ending at the minimum absolute deadline T_min (batch n starts
    at T_min - sum_{m>=n} te[m](K)), when that first start is no earlier than every user's
    ready time rho_k + a_k(0) and than H = ``gpu_free_s`` (when the GPU is free); else as early
    as possible, from max(max_k (rho_k + a_k(0)), H). A user whose last batch then ends after
    its deadline runs all-local instead (it leaves the batches, which keep their start times
    and only get shorter) and is listed as infeasible if all-local misses its deadline too. Needs max_batch >= K (InvalidInputError otherwise).
    """
    t0 = time.perf_counter()
    inst = instance
    K, N = inst.n_users, inst.n_subtasks
    if inst.max_batch is not None and inst.max_batch < K:
        raise InvalidInputError("max_batch", f"FO runs all K = {K} users in one batch per sub-task and needs "
                                             f"max_batch >= K, got {inst.max_batch}")
    te = inst.edge_beta_s + inst.edge_alpha_s * K
    tail = np.cumsum(te[::-1])[::-1]          # tail[n-1] = sum_{m>=n} te[m](K)
    H = gpu_free_s
    ready = max(float((inst.release_s + inst.ready_time[:, 0]).max()), H)
    first = float(inst.absolute_deadline.min()) - tail[0]
    if first < ready:
        first = ready
    starts = first + np.concatenate(([0.0], np.cumsum(te)[:-1]))
    end = first + tail[0]
    late = _late(end, inst.absolute_deadline)
    local_ok = _local_ok(inst)
    part = np.where(late, N, 0).astype(np.int64)
    members = tuple(int(k) for k in np.nonzero(~late)[0])
    batches = tuple(Batch(n + 1, members, float(starts[n])) for n in range(N)) if members else ()
    infeasible = np.nonzero(late & ~local_ok)[0]
    return make_result(inst, "fo", part, batches, runtime_s=time.perf_counter() - t0, infeasible_users=infeasible)


@check_options(gpu_free_s=GPU_FREE_S)
def solve_ip_no_batch(instance: CoInferenceInstance, *, gpu_free_s: float = 0.0) -> SolveResult:
    """IP-no-batch: independent partitioning, then an EDF GPU without batching.

    1. Each user k chooses alone, as if the GPU were its own from H = ``gpu_free_s`` on: the
       least-energy s with max(rho_k + a_k(s), H) + sum_{n>s} te[n](1) <= rho_k + T_k (s < N)
       or s = N when L_k(N) <= T_k; ties go to the larger s. A user with no such s runs
       all-local.
    2. From H on, the GPU runs batches of one, non-idling: whenever it is free it starts, among the
       sub-tasks whose data is ready, the one of the earliest absolute deadline (ties: lower
       user index), else waits for the next ready sub-task.
    3. A user whose last batch ends after its deadline falls back to all-local (its batches are
       dropped; the others keep their start times) and is listed as infeasible if all-local
       misses the deadline too.
    """
    t0 = time.perf_counter()
    inst = instance
    K, N = inst.n_users, inst.n_subtasks
    H = gpu_free_s
    te1 = inst.edge_beta_s + inst.edge_alpha_s   # te[n](1)
    tail1 = np.zeros(N + 2)
    tail1[1:N + 1] = np.cumsum(te1[::-1])[::-1]
    # Alone: finish time max(a_k(s), H - rho_k) + sum_{n>s} te[n](1) for s < N, L_k(N) for
    # s = N (relative). For H = 0 the max is a_k(s) itself.
    alone = np.maximum(inst.ready_time, H - inst.release_s[:, None]) + tail1[None, 1:]
    alone[:, N] = inst.local_time[:, N]
    ok = alone <= inst.deadline_s[:, None]
    energy = np.where(ok, inst.energy, np.inf)
    part = N - np.argmin(energy[:, ::-1], axis=1)     # reversed: ties go to the larger s
    part = np.where(ok.any(axis=1), part, N).astype(np.int64)

    # Non-idling EDF simulation at sub-task level.
    deadline = inst.absolute_deadline
    rel_ready = inst.release_s + inst.ready_time[np.arange(K), part]
    offloaded = [k for k in range(K) if part[k] < N]
    waiting = sorted(offloaded, key=lambda k: (rel_ready[k], k))   # not yet ready, by ready time
    heap: list = []                                               # ready: (deadline, user, sub-task, ready)
    nxt = {k: int(part[k]) + 1 for k in offloaded}
    batches, finish = [], {}
    t, w = H, 0
    while w < len(waiting) or heap:
        while w < len(waiting) and rel_ready[waiting[w]] <= t:
            k = waiting[w]
            heapq.heappush(heap, (deadline[k], k))
            w += 1
        if not heap:
            t = max(t, float(rel_ready[waiting[w]]))
            continue
        _, k = heapq.heappop(heap)
        n = nxt[k]
        batches.append(Batch(n, (k,), t))
        t = t + float(te1[n - 1])
        if n == N:
            finish[k] = t
        else:
            nxt[k] = n + 1
            heapq.heappush(heap, (deadline[k], k))   # its next sub-task is ready when this one ends

    missed = {k for k, f in finish.items() if _late(f, deadline[k])}
    local_ok = _local_ok(inst)
    for k in missed:
        part[k] = N
    never = [k for k in range(K) if not ok[k].any()]
    infeasible = [k for k in sorted(missed) + never if not local_ok[k]]
    batches = [b for b in batches if b.users[0] not in missed]
    return make_result(inst, "ip-no-batch", part, batches, runtime_s=time.perf_counter() - t0,
                       infeasible_users=infeasible)


BASELINES = {"lc": solve_lc, "fo": solve_fo, "ip-no-batch": solve_ip_no_batch}

__all__ = ["BASELINES", "solve_fo", "solve_ip_no_batch", "solve_lc"]

