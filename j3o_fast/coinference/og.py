"""OG: optimal grouping of users with different deadlines (docs/coinference.rst section 3).

Users are sorted by (absolute deadline D, index). A grouping splits that order into contiguous
groups g = 1..G; group g picks a first edge sub-task n_g in 1..N+1 and is served by SSA
batches n_g..N, back to back, finishing at

    F_G = min D over G_G,    F_g = min(min D over g, F_{g+1} - R[n_{g+1}]),

so the groups use the GPU one after another. Inside a group every user independently takes
its least-energy point s >= n_g - 1 with rho_k + a_k(s) + R[s+1] <= F_g, or all-local when
L_k(N) <= T_k (ties: the larger s); at most ``max_batch`` members upload (when more would,
those with the largest savings do). A user no choice serves runs all-local and is listed.
Cost is lexicographic: fewer such users first, then less energy.

OG is the exact dynamic programme over these groupings (csrc/coinference_og.c): V_i(F), the
least cost of the first i sorted users when their last group must finish by F, is a step
function of F built for i = 1..K; a first pass on a coarse time grid gives an upper bound that
cuts, exactly, every state whose cost plus the per-user lower bounds of the remaining users
exceeds it. OG is optimal among contiguous groupings of the deadline order; with equal
deadlines and alpha = 0 it is optimal for P0 (it then matches IP-SSA). With alpha > 0 it
plans every batch at te[n](min(K, max_batch)), which bounds the real batch length.

Online (docs/coinference.rst section 7, step 3) the GPU runs committed work until H
(``gpu_free_s``) and every threshold becomes max(rho_k + a_k(s), H) + R[s+1]; the DP itself
is unchanged. The plan's batches then start at or after H: a group's first batch, sub-task m
from F_g - R[m], holds a member with s = m - 1, whose threshold max(., H) + R[m] <= F_g.

An optional ``time_grid_s`` q rounds every finish time down to a multiple of q (thresholds
up, tails up), so the plan stays feasible; the DP is then smaller and its energy can only
rise (the result says it is not exact).

The kernel is plain C rather than Numba: its step functions grow and shrink with every user
(reallocated arrays, merge cursors over several of them at once), which C states directly,
and a compiled extension has no first-call JIT cost inside a planner that online dispatch
calls again and again.
"""

from __future__ import annotations

import math
import time

import numpy as np

from . import _og
from .._validate import Real, check_options
from ..errors import InvalidInputError
from ..result import SolveResult
from .instance import CoInferenceInstance
from .ipssa import GPU_FREE_S, tail_times
from .plan import Batch, make_result

#: Relative slack of deadline tests, as in IP-SSA and the oracle.
_EPS = 1e-12

#: The bounding pass uses a grid of this fraction of the longest edge chain R[1].
_BOUND_GRID_FRACTION = 0.1


class OGInputs:
    """The DP's arrays for one instance, users in (deadline, index) order.

    order (K,)           user index of each sorted position
    deadline (K,)        D of each position, absolute seconds
    threshold (K, N)     max(rho + a(s), H) + R[s+1] for s = 0..N-1, minus the rounding slack
    energy (K, N+1)      E(s)
    local_ok (K,)        L(N) <= T
    local_cost (K,)      E(N), plus ``penalty`` when all-local misses the deadline
    tail (N+2,)          R[n] of the planned latencies te[n](min(K, max_batch))
    cap                  uploading members per group (K: no cap)

    H = ``gpu_free_s``, absolute seconds from which the GPU is free (0: idle now).
    """

    def __init__(self, instance: CoInferenceInstance, gpu_free_s: float = 0.0):
        inst = instance
        K, N = inst.n_users, inst.n_subtasks
        D = inst.absolute_deadline
        self.order = np.lexsort((np.arange(K), D))
        self.tail = tail_times(inst.edge_beta_s + inst.edge_alpha_s * inst.batch_cap)
        th = inst.release_s[:, None] + inst.ready_time[:, :N] + self.tail[None, 1:N + 1]
        if gpu_free_s > 0:  # max(rho + a, H) + R = max(rho + a + R, H + R); the slack below covers both
            th = np.maximum(th, gpu_free_s + self.tail[None, 1:N + 1])
        th = th - _EPS * np.maximum(1.0, np.abs(th))
        self.deadline = np.ascontiguousarray(D[self.order])
        self.threshold = np.ascontiguousarray(th[self.order])
        self.energy = np.ascontiguousarray(inst.energy[self.order])
        self.local_ok = (inst.local_time[:, N] <= inst.deadline_s)[self.order]
        # Larger than any difference of total energies: one violation outweighs all energy.
        self.penalty = 1.0 + 2.0 * float(inst.energy.max(axis=1).sum())
        self.local_cost = np.ascontiguousarray(self.energy[:, N] + np.where(self.local_ok, 0.0, self.penalty))
        # Users that can never upload (no point meets their own deadline) need no layer of the cap.
        can_upload = int((self.threshold <= self.deadline[:, None]).any(axis=1).sum())
        self.cap = K if inst.max_batch is None or inst.max_batch >= can_upload else int(inst.max_batch)
        self.n_users, self.n_subtasks = K, N

    def on_grid(self, q: float):
        """(deadline, threshold, tail) in units of q: deadlines down, thresholds and tails up."""
        return (np.floor(self.deadline / q), np.ascontiguousarray(np.ceil(self.threshold / q)),
                np.ceil(self.tail / q))


def run_dp(inputs: OGInputs, *, grid: float | None = None, bound: float = math.inf):
    """One pass of the compiled DP. Returns (status, cost, start, first, finish_s, choice, n_steps).

    ``grid`` q > 0 runs the DP on multiples of q (finish times returned in seconds).
    """
    if grid is None:
        D, th, R = inputs.deadline, inputs.threshold, inputs.tail
    else:
        D, th, R = inputs.on_grid(grid)
    status, cost, start, first, finish, choice, steps = _og.og_solve_sorted(
        D, th, inputs.energy, inputs.local_cost, R, inputs.cap, bound)
    if status == _og.STATUS_NO_MEMORY:
        raise MemoryError("OG: out of memory for the DP's step functions")
    if grid is not None:
        finish = finish * grid
    return status, cost, start, first, finish, choice, steps


def og_batches(inputs: OGInputs, start, first, finish, choice) -> tuple:
    """SSA batches of every group: sub-task m = n_g..N holds the members with s < m, from F_g - R[m]."""
    # No batch starts before the GPU is free (H): a group's first non-empty batch m holds a member
    # with s = m - 1, whose threshold max(rho + a(s), H) + R[m] <= F_g; later batches start later.
    K, N = inputs.n_users, inputs.n_subtasks
    ends = np.append(start[1:], K)
    batches = []
    for j, e, n, F in zip(start.tolist(), ends.tolist(), first.tolist(), finish.tolist()):
        members = inputs.order[j:e]
        s = choice[j:e]
        for m in range(n, N + 1):
            users = members[s < m]
            if users.size:
                batches.append(Batch(m, tuple(users.tolist()), F - inputs.tail[m]))
    return tuple(batches)


@check_options(time_grid_s=Real(0.0, low_open=True, allow_none=True, unit="seconds"), gpu_free_s=GPU_FREE_S)
def solve_og(instance: CoInferenceInstance, *, time_grid_s: float | None = None,
             gpu_free_s: float = 0.0) -> SolveResult:
    """OG plan: the best contiguous grouping of the deadline order (see the module docstring).

    ``time_grid_s`` None solves exactly; q > 0 rounds finish times down to multiples of q
    (a feasible plan, possibly costlier). Status "optimal" when the plan is optimal for P0
    (alpha = 0, equal deadlines, no binding batch cap, no grid), "feasible" otherwise,
    "partial" when some user misses its deadline in every grouping (it runs all-local and
    is listed; the plan serves the others). ``gpu_free_s`` H (absolute seconds, >= 0): the GPU is busy with committed work
    until H; offloading at s needs max(rho_k + a_k(s), H) + R[s+1] <= F_g and every batch starts
    at or after H (the default 0: an idle GPU).

    >>> from j3o_fast.coinference.profiles import generate
    >>> res = solve_og(generate("mobilenetv2", 20, seed=1))
    >>> res.status, res.decision.feasible
    ('feasible', True)
    """
    t0 = time.perf_counter()
    inst = instance
    if not isinstance(inst, CoInferenceInstance):
        raise InvalidInputError("instance", f"must be a CoInferenceInstance, got {type(inst).__name__}")
    q, H = time_grid_s, gpu_free_s
    inputs = OGInputs(inst, H)
    K, N = inst.n_users, inst.n_subtasks
    t1 = time.perf_counter()
    # A coarse grid gives a feasible grouping; its cost bounds the optimum and lets the main
    # pass drop every state that cannot beat it. On a grid q the coarse step is a multiple of q,
    # so the coarse plan is a plan of the q-grid too and the bound stays valid there.
    coarse = _BOUND_GRID_FRACTION * float(inputs.tail[1])
    if q is not None:
        coarse = q * math.floor(coarse / q)
    bound = math.inf
    # The grid's times are whole multiples of it in float64: beyond 2**52 steps they are not
    # (times many orders of magnitude above the chain, e.g. edge blocks of 1e-300 s), and the
    # bound, only a speed-up, is left out.
    span = max(float(np.abs(inputs.deadline).max()), float(np.abs(inputs.threshold).max(initial=0.0)))
    if coarse > 0 and (q is None or coarse > q) and span / coarse < 2.0 ** 52:
        ub = run_dp(inputs, grid=coarse)
        if ub[0] == _og.STATUS_OK:
            bound = ub[1]
    t2 = time.perf_counter()
    status, cost, start, first, finish, choice, steps = run_dp(inputs, grid=q, bound=bound)
    if status != _og.STATUS_OK:  # cannot happen with a valid bound; stay exact regardless
        status, cost, start, first, finish, choice, steps = run_dp(inputs, grid=q)
    if status != _og.STATUS_OK:
        raise RuntimeError(f"OG: the DP found no grouping (status {status})")  # all-local always exists
    t3 = time.perf_counter()

    partition = np.empty(K, dtype=np.int64)
    partition[inputs.order] = choice
    batches = og_batches(inputs, start, first, finish, choice)
    infeasible = inputs.order[(choice == N) & ~inputs.local_ok]
    D = inst.absolute_deadline
    exact = (q is None and inst.constant_latency and inputs.cap >= K
             and bool(D.max() - D.min() <= _EPS * max(1.0, float(np.abs(D).max()))))
    note = f", time grid {q:g} s" if q is not None else ""
    if H > 0:
        note += f", GPU free from {H:.6g} s"
    msg = f"{len(start)} groups, {steps} DP steps{note}; optimal among contiguous groupings of the deadline order"
    return make_result(inst, "og", partition, batches, runtime_s=time.perf_counter() - t0, exact=exact,
                       infeasible_users=infeasible, message=msg, iterations=int(steps),
                       phase_times={"setup": t1 - t0, "bound": t2 - t1, "dp": t3 - t2,
                                    "plan": time.perf_counter() - t3})


__all__ = ["OGInputs", "og_batches", "run_dp", "solve_og"]
