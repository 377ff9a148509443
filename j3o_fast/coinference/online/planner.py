"""Planning one dispatch of the online setting (docs/coinference.rst section 7, step 3).

The dispatched tasks that are not hopeless form one P0 instance: every task released at the
slot's time tau with its slack as relative deadline, on a GPU that is free only from H (the end
of the work committed earlier). With the planned tail R[n] = sum_{m>=n} te[m](b), b =
min(planned tasks, max_batch), task i can offload at point s into a group finishing at F iff

    max(tau + a_i(s), H) + R[s+1] <= F,

so the grouping DP of OG is unchanged; only its thresholds move.

- ``og``: the grouping DP of section 3 (``csrc/coinference_og.c``), minimising lexicographically
  (unserved tasks, planned energy with unserved tasks at their all-local energy, planned GPU
  time sum_g R[n_g]); costs and GPU times within 1e-12 relative tie, then the larger last group,
  then its later first sub-task, and so on backwards.
- ``ip-ssa``: one group of every planned task finishing at T = min absolute deadline, first
  sub-task 1 (each task takes its own least-energy point), batches planned at te[n](b) (the
  conservative variant when alpha > 0).

Inside a group (both planners) a task would offload when its least-energy feasible choice,
made before the batch cap (ties to all-local), is an edge option; when more than max_batch
would, those whose all-local run misses the deadline go first, then larger all-local minus
edge energy, then the earlier task in (deadline, row) order; the others run all-local when that
meets their deadline and are violations otherwise.

Like the offline planners, every threshold is lowered by 1e-12 * max(1, |threshold|) so that a
chain ending exactly at a deadline, summed in another order, is not lost to rounding (the
verifier's tolerance is 1e-9 s).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _og
from ..ipssa import tail_times

PLANNERS = ("og", "ip-ssa")

#: Relative slack of the deadline tests (as in the offline OG and IP-SSA).
_EPS = 1e-12


@dataclass(frozen=True)
class DispatchPlan:
    """The plan of one dispatch, tasks indexed 0..M-1 in the order given.

    choice (M,)      partition point s (N: all local)
    served (M,)      False for a violation (no edge plan and all-local misses the deadline)
    batches          ((subtask, members (int64 array, ascending), planned start s), ...) in the
                     planned order, which is the order of execution
    """

    choice: np.ndarray
    served: np.ndarray
    batches: tuple


def planned_tail(beta: np.ndarray, alpha: np.ndarray, n_planned: int, max_batch: int | None) -> np.ndarray:
    """(N+2,) R[n] with every batch planned at te[n](min(n_planned, max_batch)), seconds."""
    b = n_planned if max_batch is None else min(n_planned, max_batch)
    return tail_times(beta + alpha * b)


def _group_batches(members: np.ndarray, choice: np.ndarray, first: int, finish: float, tail: np.ndarray,
                   n_subtasks: int, out: list) -> None:
    """SSA batches of one group: sub-task m = first..N holds the members with s < m, from F - R[m]."""
    for m in range(first, n_subtasks + 1):
        users = members[choice < m]
        if users.size:
            out.append((m, np.sort(users), finish - tail[m]))


def plan_dispatch(energy: np.ndarray, ready: np.ndarray, local_time: np.ndarray, slack: np.ndarray,
                  tau: float, gpu_free: float, beta: np.ndarray, alpha: np.ndarray, max_batch: int | None,
                  planner: str) -> DispatchPlan:
    """Plan the M tasks of one dispatch (section 7 step 3).

    energy, ready (M, N+1): E_i(s) in J and a_i(s) in s (relative to the release) of each
    task's device; local_time (M,): L_i(N); slack (M,): relative deadlines at dispatch;
    tau: the dispatch time; gpu_free: H, absolute seconds. The caller validates the arrays.
    """
    M, N = slack.shape[0], beta.shape[0]
    if M == 0:
        return DispatchPlan(np.zeros(0, np.int64), np.zeros(0, bool), ())
    tail = planned_tail(beta, alpha, M, max_batch)
    deadline = tau + slack
    order = np.lexsort((np.arange(M), deadline))
    th = np.maximum(tau + ready[:, :N], gpu_free) + tail[None, 1:N + 1]
    th = th - _EPS * np.maximum(1.0, np.abs(th))
    local_ok = local_time <= slack
    # Larger than any difference of total energies: one violation outweighs all energy.
    penalty = 1.0 + 2.0 * float(energy.max(axis=1).sum())
    local_cost = energy[:, N] + np.where(local_ok, 0.0, penalty)
    can_upload = int((th <= deadline[:, None]).any(axis=1).sum())
    cap = M if max_batch is None or max_batch >= can_upload else int(max_batch)

    batches: list = []
    if planner == "og":
        status, _cost, start, first, finish, sorted_choice, _steps = _og.og_solve_sorted(
            np.ascontiguousarray(deadline[order]), np.ascontiguousarray(th[order]),
            np.ascontiguousarray(energy[order]), np.ascontiguousarray(local_cost[order]), tail, cap, np.inf)
        if status != _og.STATUS_OK:
            raise MemoryError("OG: out of memory for the DP's step functions")
        choice = np.empty(M, dtype=np.int64)
        choice[order] = sorted_choice
        ends = np.append(start[1:], M)
        for j, e, n, F in zip(start.tolist(), ends.tolist(), first.tolist(), finish.tolist()):
            _group_batches(order[j:e], sorted_choice[j:e], n, F, tail, N, batches)
    elif planner == "ip-ssa":
        T = float(deadline[order[0]])
        choice = _ssa_choices(th, energy, local_cost, order, T, cap)
        _group_batches(order, choice[order], 1, T, tail, N, batches)
    else:
        raise ValueError(f"planner must be one of {PLANNERS}, got {planner!r}")
    served = (choice < N) | local_ok
    return DispatchPlan(choice, served, tuple(batches))


def _ssa_choices(th: np.ndarray, energy: np.ndarray, local_cost: np.ndarray, order: np.ndarray, T: float,
                 cap: int) -> np.ndarray:
    """Choices of one group finishing at T with first sub-task 1, under the batch cap rule."""
    M, N = th.shape
    # least-energy usable point, ties to the larger s: search the reversed columns
    usable = np.where(th <= T, energy[:, :N], np.inf)[:, ::-1]
    best_s = N - 1 - np.argmin(usable, axis=1)
    best_e = usable.min(axis=1)
    want = best_e < local_cost
    choice = np.where(want, best_s, N).astype(np.int64)
    if int(want.sum()) > cap:
        rank = np.empty(M, dtype=np.int64)
        rank[order] = np.arange(M)
        cand = np.flatnonzero(want)
        # largest saving first (the penalty puts tasks whose local run misses first), then rank
        keep = cand[np.lexsort((rank[cand], -(local_cost[cand] - best_e[cand])))]
        choice[keep[cap:]] = N
    return choice


__all__ = ["DispatchPlan", "PLANNERS", "plan_dispatch", "planned_tail"]
