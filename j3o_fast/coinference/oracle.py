"""Exact oracle for tiny instances (docs/coinference.rst section 4): every partition, every batch sequence.

For K <= 4 users and N <= 4 sub-tasks it enumerates every partition vector and, for each, searches
every sequence of GPU batches: a batch is any non-empty subset (at most max_batch) of the users
whose next edge sub-task is n, started at max(GPU free, members' ready times). Starting a batch
later never helps (its length does not depend on when it starts), so left-shifted sequences
cover every schedule; orders that are not SSA (interleaved, partial or split batches) are all
included. It is the reference the heuristics are tested against, not a solver for real sizes.
With ``gpu_free_s`` H the GPU runs committed work until H: the search starts with the GPU free
at H, so every batch starts at max(GPU free, members' ready times) >= H.
"""

from __future__ import annotations

import itertools
import time

import numpy as np

from .._validate import check_options
from ..errors import InvalidInputError
from ..result import SolveResult
from .instance import CoInferenceInstance
from .ipssa import GPU_FREE_S
from .plan import Batch, make_result

MAX_USERS = 4
MAX_SUBTASKS = 4

#: Relative slack of deadline tests, so that a schedule ending exactly at a deadline (summed in
#: another order) is not lost to rounding; far below the verifier's default tolerance.
_EPS = 1e-12


class _Search:
    """Depth-first search over batch sequences for one partition vector (offloaded users only).

    State: next edge sub-task per user (N+1 when done), the time each user is free for it, and
    the time the GPU is free. Exact pruning: (1) a user that cannot end by its deadline even
    with batches of one started now fails the branch; (2) a state whose times are all no earlier
    than those of a state with the same progress that already failed fails too (times only
    delay what follows).
    """

    def __init__(self, inst: CoInferenceInstance, part: np.ndarray, users: list, gpu_free_s: float = 0.0):
        self.N = inst.n_subtasks
        self.beta = inst.edge_beta_s.tolist()
        self.alpha = inst.edge_alpha_s.tolist()
        self.cap = inst.max_batch if inst.max_batch is not None else len(users)
        self.users = users
        te1 = [b + a for b, a in zip(self.beta, self.alpha)]
        # min_tail[n] = least time to run sub-tasks n..N (batches of one), n = 1..N+1
        self.min_tail = [0.0] * (self.N + 2)
        for n in range(self.N, 0, -1):
            self.min_tail[n] = self.min_tail[n + 1] + te1[n - 1]
        self.deadline = [float(inst.absolute_deadline[k]) for k in users]
        self.slack = [_EPS * max(1.0, abs(d)) for d in self.deadline]
        self.start_ready = [float(inst.release_s[k] + inst.ready_time[k, part[k]]) for k in users]
        self.start_next = [int(part[k]) + 1 for k in users]
        self.gpu_free = gpu_free_s
        self.failed: dict[tuple, list] = {}
        self.nodes = 0

    def run(self):
        """A feasible batch list [(n, (users...), start)] or None."""
        # H = 0 starts no batch earlier than -inf would: every ready time is >= 0.
        return self._dfs(tuple(self.start_next), tuple(self.start_ready), self.gpu_free, [])

    def _dominated(self, nxt, ready, gpu) -> bool:
        for r, g in self.failed.get(nxt, ()):
            if g <= gpu and all(a <= b for a, b in zip(r, ready)):
                return True
        return False

    def _dfs(self, nxt, ready, gpu, seq):
        self.nodes += 1
        N = self.N
        active = [i for i in range(len(nxt)) if nxt[i] <= N]
        if not active:
            return list(seq)
        for i in active:
            if max(ready[i], gpu) + self.min_tail[nxt[i]] > self.deadline[i] + self.slack[i]:
                return None
        # Done users keep their finish time in ``ready``; it no longer matters for dominance.
        key_ready = tuple(ready[i] if nxt[i] <= N else -np.inf for i in range(len(nxt)))
        if self._dominated(nxt, key_ready, gpu):
            return None
        by_n: dict[int, list] = {}
        for i in active:
            by_n.setdefault(nxt[i], []).append(i)
        for n in sorted(by_n):
            group = by_n[n]
            beta, alpha = self.beta[n - 1], self.alpha[n - 1]
            for size in range(min(len(group), self.cap), 0, -1):
                for members in itertools.combinations(group, size):
                    start = max(gpu, max(ready[i] for i in members))
                    end = start + beta + alpha * size
                    if n == N and any(end > self.deadline[i] + self.slack[i] for i in members):
                        continue
                    new_next, new_ready = list(nxt), list(ready)
                    for i in members:
                        new_next[i] = n + 1
                        new_ready[i] = end
                    seq.append((n, tuple(self.users[i] for i in members), start))
                    found = self._dfs(tuple(new_next), tuple(new_ready), end, seq)
                    seq.pop()
                    if found is not None:
                        return found
        self.failed.setdefault(nxt, []).append((key_ready, gpu))
        return None


@check_options(gpu_free_s=GPU_FREE_S)
def solve_oracle(instance: CoInferenceInstance, *, gpu_free_s: float = 0.0) -> SolveResult:
    """The exact optimum of P0 for K <= 4 users and N <= 4 sub-tasks, by exhaustive search.

    Partition vectors s in {0..N}^K are tried in order of (users that miss their deadline,
    total energy sum_k E_k(s_k), then larger s first); the first whose offloaded users admit a
    feasible batch sequence is optimal. When no vector serves everyone, users that miss their
    deadline run all-local and are listed (status "partial"): the oracle serves as many users
    as any plan can and, among those plans, spends the least energy. Larger instances raise
    InvalidInputError. ``gpu_free_s`` H (absolute seconds, >= 0): the GPU is busy with
    committed work until H, so no batch starts before H (the default 0: an idle GPU).

    >>> from j3o_fast.coinference.instance import CoInferenceInstance
    >>> inst = CoInferenceInstance(subtasks=("a", "b"), output_mbit=[4.0, 1.0, 0.1],
    ...     edge_beta_s=[0.01, 0.01], edge_alpha_s=[0.0, 0.0],
    ...     local_latency_s=[[0.1, 0.1], [0.1, 0.1]], local_energy_j=[[0.2, 0.2], [0.2, 0.2]],
    ...     uplink_mbps=[40.0, 40.0], tx_power_w=[0.1, 0.1], deadline_s=[0.2, 0.2])
    >>> res = solve_oracle(inst)
    >>> res.status, res.decision.partition.tolist(), round(res.objective, 4)
    ('optimal', [0, 0], 0.02)
    """
    t0 = time.perf_counter()
    inst = instance
    K, N = inst.n_users, inst.n_subtasks
    H = gpu_free_s
    if K > MAX_USERS or N > MAX_SUBTASKS:
        raise InvalidInputError("instance", f"the exhaustive oracle is limited to K <= {MAX_USERS} users and "
                                            f"N <= {MAX_SUBTASKS} sub-tasks, got K = {K}, N = {N}")
    local_ok = inst.local_time[:, N] <= inst.deadline_s
    # A user can offload with partition s only if it could end in time with batches of one
    # started as soon as its data is ready; other choices cannot be part of any feasible plan.
    te1 = inst.edge_beta_s + inst.edge_alpha_s
    tail1 = np.concatenate((np.cumsum(te1[::-1])[::-1], [0.0]))
    alone_ok = inst.ready_time[:, :N] + tail1[None, :N] <= inst.deadline_s[:, None] * (1 + _EPS) + _EPS
    if H > 0:  # the chain cannot start before the GPU is free (the search's own first test)
        D = inst.absolute_deadline[:, None]
        start = np.maximum(inst.release_s[:, None] + inst.ready_time[:, :N], H)
        alone_ok &= ~(start + tail1[None, :N] > D + _EPS * np.maximum(1.0, np.abs(D)))
    choices = [[s for s in range(N) if alone_ok[k, s]] + [N] for k in range(K)]

    candidates = []
    for choice in itertools.product(*choices):
        part = np.array(choice, dtype=np.int64)
        missed = int(sum(1 for k in range(K) if part[k] == N and not local_ok[k]))
        energy = float(inst.energy[np.arange(K), part].sum())
        candidates.append((missed, energy, tuple(-part), part))
    candidates.sort(key=lambda c: c[:3])

    nodes = 0
    for missed, _energy, _tie, part in candidates:
        users = [k for k in range(K) if part[k] < N]
        search = _Search(inst, part, users, H)
        seq = search.run()
        nodes += search.nodes
        if seq is not None:
            batches = [Batch(n, members, start) for n, members, start in seq]
            infeasible = [k for k in range(K) if part[k] == N and not local_ok[k]]
            return make_result(inst, "oracle", part, batches, runtime_s=time.perf_counter() - t0, exact=True,
                               infeasible_users=infeasible, iterations=nodes,
                               message=f"{len(candidates)} partition vectors, {nodes} search nodes")
    raise AssertionError("all-local is always a valid plan")  # pragma: no cover


__all__ = ["MAX_SUBTASKS", "MAX_USERS", "solve_oracle"]

