"""IP-SSA: independent partitioning, same sub-task aggregating (docs/coinference.rst section 2).

With a common deadline T and constant edge latency (alpha = 0), user k can offload at
partition point s < N iff

    rho_k + a_k(s) + R[s+1] <= T,   R[n] = sum_{m=n..N} beta[m]  (R[N+1] = 0),

and can run all-local iff L_k(N) <= T_k. Each user takes its feasible point of least energy
E_k(s) (ties: the larger s, which needs less GPU time), then one batch per sub-task
n = min_k s_k + 1 .. N holds every user with s_k < n, back to back and ending exactly at T
(batch n starts at T - R[n]). Every user's choice is a lower bound on its energy in any plan
and the batches achieve all of them, so the plan is optimal, in O(K*N) vectorised work.

With alpha > 0 a batch's length depends on its size and IP-SSA becomes a heuristic:
``conservative`` plans every batch at te[n](min(K, max_batch)); ``iterative`` starts there and
re-plans with the batch sizes of the current partition (te[n](1) for sub-tasks nobody
offloads), keeping a new partition only if it serves more users or, serving as many, uses
less energy (at most 20 rounds). A partition that offloads more users than one batch may hold
(``max_batch``) is outside IP-SSA's assumptions and raises InvalidInputError naming OG.

Online (docs/coinference.rst section 7, step 3) the GPU is busy with committed work until H
(``gpu_free_s``, absolute seconds) and every offloading test becomes

    max(rho_k + a_k(s), H) + R[s+1] <= T.

The batches still end at T, so the first one, T - R[min_k s_k + 1], starts at or after H: its
members passed the test. H = 0 changes nothing (rho_k + a_k(s) >= 0), and with equal deadlines
and alpha = 0 the plan stays optimal (the same bound holds in every plan that starts at H).
"""

from __future__ import annotations

import time

import numpy as np

from .._validate import OneOf, Real, check_options
from ..errors import InvalidInputError
from ..result import SolveResult
from .instance import CoInferenceInstance
from .plan import Batch, make_result

VARIANTS = ("auto", "exact", "conservative", "iterative")

#: Rounds of the iterative variant.
MAX_ROUNDS = 20

#: Relative slack of deadline tests (as in the oracle): a batch chain ending exactly at T, summed
#: in another order, must not be declared late. Far below the verifier's tolerance.
_EPS = 1e-12


def tail_times(te: np.ndarray) -> np.ndarray:
    """(N+2,) R[n] = sum_{m=n..N} te[m] for n = 1..N+1 (R[N+1] = 0); entry 0 repeats R[1].

    ``te`` (N,) holds one latency per sub-task (``te[n-1]`` for sub-task n), seconds.

    >>> tail_times(np.array([1.0, 2.0, 4.0])).tolist()
    [7.0, 7.0, 6.0, 4.0, 0.0]
    """
    N = te.shape[0]
    out = np.zeros(N + 2)
    out[1:N + 1] = np.cumsum(te[::-1])[::-1]
    out[0] = out[1]
    return out


#: The rule of ``gpu_free_s``, an option of every co-inference method: a finite number >= 0,
#: absolute seconds on the clock of release_s.
GPU_FREE_S = Real(0.0, unit="absolute seconds, the clock of release_s")


def _late(t, bound):
    """t > bound beyond rounding (relative slack _EPS)."""
    return t > bound + _EPS * np.maximum(1.0, np.abs(bound))


def independent_partition(instance: CoInferenceInstance, tail: np.ndarray, T: float, gpu_free_s: float = 0.0):
    """Each user's least-energy partition point when the edge chain from s+1 ends by T.

    Offloading at s < N needs max(rho_k + a_k(s), H) + tail[s+1] <= T (H = ``gpu_free_s``,
    when the GPU is free) and T <= rho_k + T_k (the chain ends at T); all-local needs
    L_k(N) <= T_k. Ties go to the larger s. Returns (partition (K,) int64, served (K,) bool);
    an unserved user gets s = N.
    """
    inst = instance
    N = inst.n_subtasks
    energy = inst.energy
    # Users whose own deadline is before T cannot join batches that end at T.
    joins = ~_late(T, inst.absolute_deadline)
    # The (K, N) passes below are the whole cost; one temporary, updated in place.
    th = inst.ready_time[:, :N] + tail[None, 1:N + 1]
    th += inst.release_s[:, None]
    if gpu_free_s > 0:  # max(rho + a, H) + R = max(rho + a + R, H + R)
        np.maximum(th, gpu_free_s + tail[None, 1:N + 1], out=th)
    ok = th <= T + _EPS * max(1.0, abs(T))
    ok &= joins[:, None]
    local_ok = inst.local_time[:, N] <= inst.deadline_s
    # Columns reversed (s = N first) so that argmin's first hit is the largest s among equal energies.
    cost = np.empty_like(energy)
    cost[:, 0] = np.where(local_ok, energy[:, N], np.inf)
    np.copyto(cost[:, 1:], energy[:, N - 1::-1])
    cost[:, 1:][~ok[:, ::-1]] = np.inf
    part = (N - np.argmin(cost, axis=1)).astype(np.int64)
    served = ok.any(axis=1) | local_ok
    part[~served] = N
    return part, served


def ssa_batches(partition: np.ndarray, tail: np.ndarray, T: float, n_subtasks: int) -> list:
    """One batch per sub-task n = min_k s_k + 1 .. N with every user of s_k < n, from T - tail[n]."""
    N = n_subtasks
    off = np.nonzero(partition < N)[0]
    if off.size == 0:
        return []
    s_off = partition[off]
    first = int(s_off.min()) + 1
    batches = []
    for n in range(first, N + 1):
        members = off if n > s_off.max() else off[s_off < n]
        # Batch takes a NumPy index array (its vectorised path) and stores it as a tuple.
        batches.append(Batch(n, members, T - tail[n]))  # type: ignore[arg-type]
    return batches


def _check_cap(inst: CoInferenceInstance, partition: np.ndarray) -> None:
    n_off = int((partition < inst.n_subtasks).sum())
    if inst.max_batch is not None and n_off > inst.max_batch:
        raise InvalidInputError(
            "max_batch",
            f"IP-SSA puts every offloading user in one batch per sub-task, but {n_off} users offload and a "
            f"batch holds at most {inst.max_batch}; use OG (method 'og'), which groups users into batches of "
            f"at most max_batch")


def _actual(inst: CoInferenceInstance, partition: np.ndarray, T: float, gpu_free_s: float = 0.0):
    """Time a partition with its real batch sizes; offloaded users that end after T go local.

    A user's chain can start at max(rho_k + a_k(s_k), H) at the earliest (H = ``gpu_free_s``).
    Batch n holds b[n] = #{k: s_k < n} users and takes te[n](b[n]). Moving a late user to
    all-local only shortens batches, so the loop ends. Returns (partition, served, tail).
    """
    N = inst.n_subtasks
    beta, alpha = inst.edge_beta_s, inst.edge_alpha_s
    part = partition.copy()
    local_ok = inst.local_time[:, N] <= inst.deadline_s
    while True:
        sizes = np.bincount(part, minlength=N + 1)
        # b[n] = users with s < n, n = 1..N
        b = np.cumsum(sizes)[:N]
        tail = tail_times(beta + alpha * b)
        off = part < N
        idx = np.nonzero(off)[0]
        start = np.maximum(inst.release_s[idx] + inst.ready_time[idx, part[idx]], gpu_free_s)
        late = _late(start + tail[part[idx] + 1], T)
        if not late.any():
            break
        part[idx[late]] = N
    served = (part < N) | local_ok
    return part, served, tail


@check_options(variant=OneOf(*VARIANTS), deadline=Real(0.0, low_open=True, allow_none=True, unit="absolute seconds"),
               gpu_free_s=GPU_FREE_S)
def solve_ipssa(instance: CoInferenceInstance, *, variant: str = "auto", deadline: float | None = None,
                gpu_free_s: float = 0.0) -> SolveResult:
    """IP-SSA plan for the common deadline T (absolute seconds).

    T is ``deadline`` when given, else the users' common absolute deadline, or their minimum
    when they differ (the one-group special case of OG). Variants: ``exact`` (alpha = 0; the
    optimum of P0 when all absolute deadlines equal T), ``conservative`` and ``iterative``
    (alpha >= 0, see the module docstring), ``auto``: exact when alpha = 0, else iterative.
    Users who cannot finish by T run all-local when L_k(N) <= T_k, else they are listed in
    ``infeasible_users`` (status "partial"). Raises InvalidInputError for a bad variant or
    deadline, for ``exact`` with alpha > 0 or with different deadlines and no ``deadline``,
    and when more users offload than ``max_batch`` (use OG then).

    ``gpu_free_s`` H (absolute seconds, >= 0): the GPU runs committed work until H, so a user
    offloads at s only if max(rho_k + a_k(s), H) + R[s+1] <= T; every batch starts at or after
    H. The default 0 is an idle GPU.

    >>> from j3o_fast.coinference.profiles import generate
    >>> res = solve_ipssa(generate("mobilenetv2", 5, deadline_spread=0.0, seed=3))
    >>> res.status, len(res.decision.batches) > 0
    ('optimal', True)
    """
    t0 = time.perf_counter()
    inst = instance
    if not isinstance(inst, CoInferenceInstance):
        raise InvalidInputError("instance", f"must be a CoInferenceInstance, got {type(inst).__name__}")
    H = gpu_free_s
    D = inst.absolute_deadline
    equal = bool(D.max() - D.min() <= _EPS * max(1.0, float(np.abs(D).max())))
    T = float(D.min()) if deadline is None else deadline
    if variant == "exact":
        if not inst.constant_latency:
            raise InvalidInputError(
                "variant", f"'exact' needs constant edge latency (edge_alpha_s all 0), got alpha up to "
                           f"{float(inst.edge_alpha_s.max()):g} s; use 'conservative' or 'iterative'")
        if deadline is None and not equal:
            raise InvalidInputError(
                "variant", f"'exact' needs one common absolute deadline, got {float(D.min()):g}..{float(D.max()):g} s; "
                           f"pass deadline= for a common deadline or use OG (method 'og')")
    if variant == "auto":  # different deadlines: the one-group plan at T (exact for T only)
        variant = "exact" if inst.constant_latency else "iterative"
    N = inst.n_subtasks
    rounds = 0

    if variant in ("exact", "conservative"):
        # exact: alpha = 0, so te = beta; conservative: te[n](min(K, max_batch)) bounds every batch
        te = inst.edge_beta_s + inst.edge_alpha_s * inst.batch_cap
        tail = tail_times(te)
        part, served = independent_partition(inst, tail, T, H)
        _check_cap(inst, part)
    else:
        tail = tail_times(inst.edge_beta_s + inst.edge_alpha_s * inst.batch_cap)
        part, served = independent_partition(inst, tail, T, H)
        _check_cap(inst, part)
        part, served, tail = _actual(inst, part, T, H)
        key = (int(served.sum()), -float(inst.energy[np.arange(inst.n_users), part].sum()))
        for rounds in range(1, MAX_ROUNDS + 1):
            b = np.cumsum(np.bincount(part, minlength=N + 1))[:N]
            planned = tail_times(inst.edge_beta_s + inst.edge_alpha_s * np.maximum(b, 1))
            new, _ = independent_partition(inst, planned, T, H)
            if np.array_equal(new, part):
                break                                      # fixed point
            if inst.max_batch is not None and int((new < N).sum()) > inst.max_batch:
                break                                      # a change IP-SSA cannot batch
            cand, cand_served, cand_tail = _actual(inst, new, T, H)
            cand_key = (int(cand_served.sum()), -float(inst.energy[np.arange(inst.n_users), cand].sum()))
            if cand_key <= key:
                break                                      # no better: the previous plan stays
            part, served, tail, key = cand, cand_served, cand_tail, cand_key

    batches = ssa_batches(part, tail, T, N)
    infeasible = np.nonzero(~served)[0]
    exact = variant == "exact" and equal and abs(T - float(D.min())) <= _EPS * max(1.0, abs(T))
    msg = f"{variant}: common deadline T = {T:.6g} s"
    if variant == "iterative":
        msg += f", {rounds} rounds"
    if H > 0:
        msg += f", GPU free from {H:.6g} s"
    return make_result(inst, "ip-ssa", part, batches, runtime_s=time.perf_counter() - t0, exact=exact,
                       infeasible_users=infeasible, message=msg, iterations=rounds)


__all__ = ["GPU_FREE_S", "MAX_ROUNDS", "VARIANTS", "independent_partition", "solve_ipssa", "ssa_batches", "tail_times"]
