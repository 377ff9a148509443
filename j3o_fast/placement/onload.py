"""Step (i) of J3O (docs/placement.rst section 3): Lagrangian-relaxed onloading by lazy greedy.

For fixed prices theta the relaxed problem separates per (client, task) pair ("slot"), and the
value of an onloading set S is the weighted facility-location function

    f(S) = sum_s rate_s * max(0, max_{j in S serving s} v_js - base_s) - sum_{j in S} fixed_j

maximised under the per-node memory knapsacks and the per-edge fixed-GPU-share limit
sum_m tau0[m]*y[e,m]/(W*speed_e) <= 1. Candidates and their CSR map to slots are built once per
instance (NumPy); the per-entry values are recomputed at each price (Numba, j3o_fast.placement._nb_values, with program.py's coefficients)
and the greedy runs in C (csrc/greedy.c).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import _nb_values
from ._greedy import lazy_greedy
from .._threads import WorkerPool
from .._validate import readonly
from ..errors import InvalidInputError
from .instance import PlacementInstance
from .program import (CLOUD, DROP, EDGE, LOCAL, MAX_ROUTE_COEF, backhaul_per_query, cap_per_query, compute_per_query,
                      gpu_per_query, route_rows, routable, uplink_per_query)
from .prices import Prices

KEY_MODES = ("per_memory", "gain")  # index = the kernel's key_mode


@dataclass(frozen=True, eq=False)
class Candidates:
    """Onloading candidates of an instance and the slots each can serve (CSR).

    A slot is a pair (n, t) with rate[n,t] > 0, numbered row-major over (n, t). Candidate j is a
    client placement (n, m) -- m fits mem_n and covers a task n requests -- or an edge placement
    (e, m) -- m fits mem_e, covers a task some client of e requests and, in window mode, its
    batch's fixed share tau0[m]/(W*speed_e) <= 1. Knapsack node: n for a client placement, N + e
    for an edge placement.

    Candidates are ordered by (edge, node, model), ``edge`` being the node's edge (a client's
    edge_of[n]): each edge's clients' placements, then its own. An edge and its clients form an
    independent group -- no other candidate shares their slots or nodes -- and this order keeps
    each group's rows together in memory, which is what the greedy walks.

    Candidate j serves ``slot[indptr[j]:indptr[j+1]]`` (ascending): its client's covered
    requested tasks, or, for an edge placement, every client of the edge times those tasks.
    Per-entry fields (client, task, model, edge) are not stored per nonzero but reached through
    the slot and the candidate, which keeps the map at 4 bytes per nonzero; ``entry_fields``
    expands them.

    node, model, edge (C,) int64      edge = the node's edge (the group of the candidate)
    memory (C,) MB                    memory_mb[model]
    fixed_share (C,)                  tau0[m]/(W*speed_e) for edge placements in window mode, else 0
    indptr (C+1,) int64, slot (nnz,) int32
    slot_client, slot_task (S,) int64, slot_rate (S,) queries/s
    """

    n_clients: int
    n_edges: int
    n_models: int
    n_tasks: int
    node: np.ndarray
    model: np.ndarray
    edge: np.ndarray
    memory: np.ndarray
    fixed_share: np.ndarray
    indptr: np.ndarray
    slot: np.ndarray
    slot_client: np.ndarray
    slot_task: np.ndarray
    slot_rate: np.ndarray

    @property
    def n_candidates(self) -> int:
        return self.node.shape[0]

    @property
    def n_slots(self) -> int:
        return self.slot_client.shape[0]

    @property
    def nnz(self) -> int:
        return self.slot.shape[0]

    @property
    def n_nodes(self) -> int:
        return self.n_clients + self.n_edges

    @property
    def is_edge(self) -> np.ndarray:
        """(C,) True for edge placements."""
        return self.node >= self.n_clients

    @cached_property
    def _by_key(self) -> tuple[np.ndarray, np.ndarray]:
        keys = self.node * self.n_models + self.model
        order = np.argsort(keys, kind="stable")
        return keys[order], order

    def index_of(self, node, model) -> np.ndarray:
        """Candidate ids of the placements (node, model) (node: n, or N + e), -1 where none."""
        keys, order = self._by_key
        want = np.asarray(node, dtype=np.int64) * self.n_models + np.asarray(model, dtype=np.int64)
        if keys.size == 0:
            return np.full(want.shape, -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(keys, want), keys.size - 1)
        return np.where(keys[pos] == want, order[pos], -1)

    def entry_fields(self) -> dict:
        """Per-nonzero arrays: candidate, is_edge, client, task, model, edge (for inspection)."""
        cand = np.repeat(np.arange(self.n_candidates), np.diff(self.indptr))
        slot = self.slot.astype(np.int64)
        return {"candidate": cand, "is_edge": self.node[cand] >= self.n_clients,
                "client": self.slot_client[slot], "task": self.slot_task[slot], "model": self.model[cand],
                "edge": self.edge[cand]}


def build_candidates(instance: PlacementInstance) -> Candidates:
    """All onloading candidates of ``instance`` and their slots (see Candidates).

    Vectorised: client rows are filled task by task (K passes over the client placements), edge
    rows model by model (M passes over the slots); no loop over candidates. Memory beyond the
    result: an (N, M) int32 count matrix and a few arrays the length of the candidates.

    >>> from j3o_fast.placement import generate
    >>> cands = build_candidates(generate("nyu", 20, 2, seed=1))
    >>> int(cands.indptr[-1]) == cands.nnz and cands.n_slots == int((cands.slot_rate > 0).sum())
    True
    """
    inst = instance
    N, E, M, K = inst.n_clients, inst.n_edges, inst.n_models, inst.n_tasks
    requested = inst.rate > 0                                            # (N, K)
    slot_client, slot_task = np.nonzero(requested)                       # row-major = slot order
    S = slot_client.shape[0]
    if S >= np.iinfo(np.int32).max:
        raise InvalidInputError("clients.rate", f"must have fewer than 2**31-1 positive entries, got {S}")
    slot_of = (np.cumsum(requested.ravel(), dtype=np.int64) - 1).astype(np.int32)  # valid where requested
    cover = inst.cover
    cover_i = cover.T.astype(np.int32)                                   # (K, M)
    _, clients_sorted = inst.clients_by_edge                             # by (edge, n)

    # Client placements in (edge, n, m) order: fit and cover a requested task.
    served_c = requested[clients_sorted].astype(np.int32) @ cover_i     # (N, M), rows by edge
    served_c *= inst.memory_mb[None, :] <= inst.client_memory_mb[clients_sorted][:, None]
    rank, c_model = np.nonzero(served_c)
    c_client = clients_sorted[rank]
    c_edge = inst.client_edge[c_client]
    c_counts = served_c[rank, c_model]
    del served_c, rank

    # Edge placements in (e, m) order: fit (memory, fixed share) and cover a task asked at e.
    slot_edge = inst.client_edge[slot_client]
    per_edge_task = np.bincount(slot_edge * K + slot_task, minlength=E * K).reshape(E, K)
    ok_e = inst.memory_mb[None, :] <= inst.edge_memory_mb[:, None]
    if inst.batching:
        ok_e &= inst.edge_fixed_share <= 1.0
    served_e = (per_edge_task @ cover_i.astype(np.int64)) * ok_e         # (E, M)
    e_edge, e_model = np.nonzero(served_e)

    # Ids: group e holds its clients' placements, then its own.
    nc_e = np.bincount(c_edge, minlength=E)
    ne_e = np.bincount(e_edge, minlength=E)
    group_start = np.concatenate([[0], np.cumsum(nc_e + ne_e)])
    client_start = np.concatenate([[0], np.cumsum(nc_e)])
    edge_start = np.concatenate([[0], np.cumsum(ne_e)])
    c_id = group_start[c_edge] + np.arange(c_client.size) - client_start[c_edge]
    e_id = group_start[e_edge] + nc_e[e_edge] + np.arange(e_edge.size) - edge_start[e_edge]
    C = c_client.size + e_edge.size
    counts = np.zeros(C, dtype=np.int64)
    counts[c_id] = c_counts
    counts[e_id] = served_e[e_edge, e_model]
    indptr = np.zeros(C + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    del counts
    slot = np.empty(indptr[-1], dtype=np.int32)

    # Client rows, task by task: a client placement's entries are its covered requested tasks in
    # ascending order, so task t goes to row start + number of earlier tasks already written.
    row = indptr[c_id]
    filled = np.zeros(c_id.size, dtype=np.int64)
    cover_t, requested_t = np.ascontiguousarray(cover.T), np.ascontiguousarray(requested.T)
    for t in range(K):
        has = cover_t[t][c_model] & requested_t[t][c_client]
        j = np.flatnonzero(has)
        slot[row[j] + filled[j]] = slot_of[c_client[j] * K + t]
        filled += has
    del row, filled

    # Edge rows, model by model: over the slots sorted by edge, the entries of placement (e, m)
    # are a contiguous run of those covered by m; position = row start + rank inside the run.
    by_edge = np.argsort(slot_edge, kind="stable")          # slots grouped by edge, ascending inside
    edge_sorted, task_sorted = slot_edge[by_edge], slot_task[by_edge]
    row_e = np.full((E, M), -1, dtype=np.int64)
    row_e[e_edge, e_model] = indptr[e_id]
    for m in range(M):
        counts = served_e[:, m]
        if not counts.any():
            continue
        p = np.flatnonzero(cover[m, task_sorted] & (counts > 0)[edge_sorted])
        base = row_e[:, m] - (np.cumsum(counts) - counts)    # (E,): row start - run start
        slot[base[edge_sorted[p]] + np.arange(p.size)] = by_edge[p]

    node = np.empty(C, dtype=np.int64)
    model = np.empty(C, dtype=np.int64)
    edge = np.empty(C, dtype=np.int64)
    fixed_share = np.zeros(C)
    node[c_id], model[c_id], edge[c_id] = c_client, c_model, c_edge
    node[e_id], model[e_id], edge[e_id] = N + e_edge, e_model, e_edge
    fixed_share[e_id] = inst.edge_fixed_share[e_edge, e_model]
    return Candidates(
        n_clients=N, n_edges=E, n_models=M, n_tasks=K,
        node=readonly(node), model=readonly(model), edge=readonly(edge),
        memory=readonly(inst.memory_mb[model]), fixed_share=readonly(fixed_share),
        indptr=readonly(indptr), slot=readonly(slot),
        slot_client=readonly(slot_client.astype(np.int64)), slot_task=readonly(slot_task.astype(np.int64)),
        slot_rate=readonly(inst.rate[slot_client, slot_task]),
    )


@dataclass(frozen=True, eq=False)
class Onloading:
    """Result of one greedy onloading at fixed prices.

    x (N, M), y (E, M) bool   onloaded models (pre-selected ones included)
    value                     f(S), unnormalised (sum of rate * accuracy gain over base, minus
                              the fixed batch costs of S), accuracy * queries/s
    selected (k,) int64       candidate ids: the pre-selected ones, then in order of acceptance
    n_fixed                   how many of ``selected`` were pre-selected
    key_mode                  'per_memory' or 'gain': the greedy whose set was kept
    slot_candidate (S,)       candidate giving the best value of each slot, -1 = base
    slot_value (S,)           that best value, max(base, best candidate value)
    slot_base (S,)            max(cloud, 0), or 0 with the cloud unavailable
    slot_route (S,) int8      program.py's route kind (LOCAL, EDGE, CLOUD or DROP): the relaxed
                              best route of each pair at these prices
    slot_model (S,)           model of a local/edge route, -1 for cloud/drop
    n_evaluations             gain evaluations of both greedy runs
    """

    x: np.ndarray
    y: np.ndarray
    value: float
    selected: np.ndarray
    n_fixed: int
    key_mode: str
    slot_candidate: np.ndarray
    slot_value: np.ndarray
    slot_base: np.ndarray
    slot_route: np.ndarray
    slot_model: np.ndarray
    n_evaluations: int


def _check_candidates(inst: PlacementInstance, cands: Candidates) -> None:
    if not isinstance(cands, Candidates):
        raise InvalidInputError("candidates", f"must be a Candidates object, got {type(cands).__name__}")
    got = (cands.n_clients, cands.n_edges, cands.n_models, cands.n_tasks)
    want = (inst.n_clients, inst.n_edges, inst.n_models, inst.n_tasks)
    if got != want or cands.n_slots != int(np.count_nonzero(inst.rate > 0)):
        raise InvalidInputError("candidates", f"were built for another instance: (N, E, M, K) = {got}, "
                                              f"{cands.n_slots} slots; the instance has {want}")


def _price(value, path: str, shape: tuple) -> np.ndarray:
    arr = np.ascontiguousarray(value, dtype=np.float64)
    if arr.shape != shape:
        raise InvalidInputError(path, f"must have shape {shape}, got {arr.shape}")
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InvalidInputError(path + "".join(f"[{i}]" for i in idx), f"must be finite and >= 0, got {arr[idx]}")
    return arr


def _check_prices(inst: PlacementInstance, prices: Prices) -> tuple:
    N, E, M = inst.n_clients, inst.n_edges, inst.n_models
    return (_price(prices.mu, "prices.mu", (N,)), _price(prices.beta, "prices.beta", (N,)),
            _price(prices.nu, "prices.nu", (E,)), _price(prices.gamma, "prices.gamma", (E,)),
            _price(prices.kappa, "prices.kappa", (E, M)))


def _check_mask(value, path: str, shape: tuple) -> np.ndarray:
    arr = np.asarray(value)
    if arr.shape != shape:
        raise InvalidInputError(path, f"must have shape {shape}, got {arr.shape}")
    if arr.dtype != bool:
        if not np.isin(arr, (0, 1)).all():
            raise InvalidInputError(path, "must be boolean (0/1)")
        arr = arr.astype(bool)
    return arr


def unroutable(instance: PlacementInstance, candidates: Candidates) -> tuple[np.ndarray, np.ndarray] | None:
    """Entries (nnz,) and slots (S,) whose route the LP does not offer (program.routable): the local or
    edge route of each entry, the cloud route of each slot. None when no route can be unroutable,
    which a bound on the largest coefficient shows without looking at entries (every realistic
    instance)."""
    inst, c = instance, candidates
    top = float(c.slot_rate.max()) if c.n_slots else 0.0     # the largest pair rate
    bounds = [top * compute_per_query(float(inst.gflop.max()), float(inst.client_gflops.min())),
              top * uplink_per_query(float(inst.payload_mbit.max()), float(inst.client_uplink_mbps.min())),
              top * backhaul_per_query(float(inst.payload_mbit.max()), float(inst.edge_backhaul_mbps.min())),
              top * gpu_per_query(float(inst.edge_query_cost.max()), float(inst.edge_speed.min()))]
    if inst.batching_window_s is not None:
        bounds.append(top * cap_per_query(inst.batching_window_s, float(inst.max_batch.min())))
    if max(bounds) <= MAX_ROUTE_COEF:
        return None
    sn, st, rate = c.slot_client, c.slot_task, c.slot_rate
    cloud_ok = routable(route_rows(inst, CLOUD, sn, st, st, rate))
    cand = np.repeat(np.arange(c.n_candidates), np.diff(c.indptr))
    s = c.slot.astype(np.int64)
    n, t, r, m = sn[s], st[s], rate[s], c.model[cand]
    edge = c.node[cand] >= c.n_clients
    entry_ok = np.empty(s.shape, dtype=bool)
    loc = ~edge
    entry_ok[loc] = routable(route_rows(inst, LOCAL, n[loc], t[loc], m[loc], r[loc]))
    entry_ok[edge] = routable(route_rows(inst, EDGE, n[edge], t[edge], m[edge], r[edge]))
    return ~entry_ok, ~cloud_ok


def query_values(instance: PlacementInstance, candidates: Candidates, prices: Prices, *,
                 cloud_available: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Net values at prices theta (docs/placement.rst section 3).

    Returns (value (nnz,), base (S,), fixed_cost (C,)): the net value of one query of each slot
    via each candidate, base = max(cloud, 0) per slot (0 with ``cloud_available=False``), and
    the per-window fixed batch cost nu_e * tau0[m]/(W*speed_e) of edge placements (0 without
    batching and for clients).
    """
    inst = instance
    _check_candidates(inst, candidates)
    mu, beta, nu, gamma, kappa = _check_prices(inst, prices)
    c = candidates
    window = 0.0 if inst.batching_window_s is None else inst.batching_window_s
    value = _nb_values.candidate_values(
        c.indptr, c.slot, c.node, c.model, c.edge, inst.n_clients, c.slot_client, c.slot_task,
        inst.accuracy, inst.gflop,
        inst.client_gflops, inst.client_uplink_mbps, inst.payload_mbit, inst.edge_speed,
        inst.edge_query_cost, inst.max_batch, mu, beta, nu, kappa, float(window))
    base = _nb_values.slot_base(c.slot_client, c.slot_task, inst.client_edge, inst.cloud_accuracy,
                                inst.payload_mbit, inst.client_uplink_mbps, inst.edge_backhaul_mbps,
                                beta, gamma, bool(cloud_available))
    dead = unroutable(inst, c)
    if dead is not None:
        # Routes the LP does not offer are worth less than dropping: never chosen, no gain.
        value[dead[0]] = -1.0
        base[dead[1]] = 0.0
    fixed_cost = np.zeros(c.n_candidates)
    if inst.batching:
        on_edge = c.is_edge
        fixed_cost[on_edge] = nu[c.edge[on_edge]] * c.fixed_share[on_edge]
    return value, base, fixed_cost


def greedy_onload(instance: PlacementInstance, candidates: Candidates, prices: Prices, *,
                  cloud_available: bool = True, fixed=None, eligible=None, incumbent=None,
                  incumbent_bonus: float = 0.0, pool: WorkerPool | None = None) -> Onloading:
    """Maximise f(S) (module docstring) by lazy greedy, keyed by gain per MB and by plain gain;
    keep the set with the larger f(S) (ties: gain per MB).

    ``fixed`` = (x0 (N, M), y0 (E, M)) bool: placements already onloaded (e.g. kept by the
    polish step). They stay, use their memory and fixed share, set the starting best values and
    pay their fixed costs in f(S); the greedy only adds to them. ``eligible`` (C,) bool limits
    which candidates may be added (default: all). ``cloud_available=False`` sets base = 0
    (the first pass and the accuracy-greedy baseline, where the free-looking cloud would
    otherwise win every slot). ``incumbent`` (C,) bool with ``incumbent_bonus`` (accuracy per
    query) adds the bonus to the values of those candidates (hysteresis between iterations).
    ``pool`` runs the two greedy passes on its threads (the kernel releases the GIL).

    >>> from j3o_fast.placement import generate
    >>> from j3o_fast.placement.prices import Prices
    >>> inst = generate("nyu", 30, 2, seed=3)
    >>> cands = build_candidates(inst)
    >>> on = greedy_onload(inst, cands, Prices.zeros(inst), cloud_available=False)
    >>> bool(on.x.any() or on.y.any()), on.value > 0
    (True, True)
    """
    inst = instance
    N, E, M = inst.n_clients, inst.n_edges, inst.n_models
    if not isinstance(cloud_available, (bool, np.bool_)):
        raise InvalidInputError("cloud_available", f"must be a bool, got {cloud_available!r}")
    value, base, fixed_cost = query_values(inst, candidates, prices, cloud_available=cloud_available)
    if incumbent is not None and incumbent_bonus > 0:
        # Hysteresis: the candidates of the current onloading look slightly better, so that a
        # price change swaps a model only when the gain is real. Fewer needless swaps keep the
        # routing LP's warm start useful and damp oscillation between outer iterations.
        mask = _check_mask(incumbent, "incumbent", (candidates.n_candidates,))
        value = value + incumbent_bonus * np.repeat(mask, np.diff(candidates.indptr))
    c = candidates
    C, S = c.n_candidates, c.n_slots

    elig = np.ones(C, dtype=bool) if eligible is None else _check_mask(eligible, "eligible", (C,)).copy()
    memory_left = np.concatenate([inst.client_memory_mb, inst.edge_memory_mb]).astype(np.float64)
    share_left = np.ones(N + E)
    cur = base.copy()
    best = np.full(S, -1, dtype=np.int64)
    x0 = np.zeros((N, M), dtype=bool)
    y0 = np.zeros((E, M), dtype=bool)
    pre = np.zeros(0, dtype=np.int64)
    fixed_total = 0.0
    if fixed is not None:
        if not isinstance(fixed, (tuple, list)) or len(fixed) != 2:
            raise InvalidInputError("fixed", f"must be a pair (x, y) of boolean arrays, got {type(fixed).__name__}")
        x0 = _check_mask(fixed[0], "fixed.x", (N, M))
        y0 = _check_mask(fixed[1], "fixed.y", (E, M))
        memory_left[:N] -= x0 @ inst.memory_mb
        memory_left[N:] -= y0 @ inst.memory_mb
        share_used = (inst.edge_fixed_share * y0).sum(axis=1)
        share_left[N:] -= share_used
        over = np.flatnonzero(memory_left < -1e-9)
        if over.size:
            v = int(over[0])
            where = f"fixed.x[{v}]" if v < N else f"fixed.y[{v - N}]"
            raise InvalidInputError(where, f"exceeds the node's memory by {-memory_left[v]:.6g} MB")
        over = np.flatnonzero(share_used > 1.0 + 1e-12)
        if over.size:
            raise InvalidInputError(f"fixed.y[{int(over[0])}]", f"fixed batch share must be <= 1, "
                                                                f"got {share_used[over[0]]:.6g}")
        cn, cm = np.nonzero(x0)
        en, em = np.nonzero(y0)
        ids = c.index_of(np.concatenate([cn, N + en]), np.concatenate([cm, em]))
        pre = ids[ids >= 0]  # placements that serve no slot are not candidates but still hold memory
        _nb_values.apply_selection(c.indptr, c.slot, value, pre, cur, best)
        elig[pre] = False
        if inst.batching:
            nu = np.asarray(prices.nu, dtype=np.float64)  # validated by query_values
            fixed_total = float((nu[:, None] * inst.edge_fixed_share * y0).sum())

    # Edges with their clients are independent groups (no shared slot or node): the kernel runs
    # them one at a time on small heaps and merges, with the same result as one global greedy.
    def run(key_mode: int):
        cur_k, best_k, mem_k, share_k = cur.copy(), best.copy(), memory_left.copy(), share_left.copy()
        # The binding checks its inputs and raises for a failed kernel: the status is always OK here.
        _, order, gain, n_eval = lazy_greedy(
            c.indptr, c.slot, value, c.slot_rate, c.node, c.memory, fixed_cost, c.fixed_share,
            elig.view(np.uint8), cur_k, best_k, mem_k, share_k, key_mode, c.edge, E)
        f = float(np.dot(c.slot_rate, cur_k - base)) - fixed_total - float(fixed_cost[order].sum())
        return f, key_mode, order, cur_k, best_k, n_eval

    runs = (pool or WorkerPool(1)).map(run, (0, 1))
    f, key_mode, order, cur_k, best_k, _ = runs[1] if runs[1][0] > runs[0][0] else runs[0]

    selected = np.concatenate([pre, order])
    x, y = x0.copy(), y0.copy()
    on_edge_mask = c.node[order] >= N
    on_client, on_edge = order[~on_edge_mask], order[on_edge_mask]
    x[c.node[on_client], c.model[on_client]] = True
    y[c.edge[on_edge], c.model[on_edge]] = True

    has = best_k >= 0
    route = np.where(base > 0, CLOUD, DROP).astype(np.int8)
    route[has] = np.where(c.node[best_k[has]] >= N, EDGE, LOCAL)
    slot_model = np.full(S, -1, dtype=np.int64)
    slot_model[has] = c.model[best_k[has]]
    return Onloading(
        x=readonly(x), y=readonly(y), value=f, selected=readonly(selected), n_fixed=int(pre.size),
        key_mode=KEY_MODES[key_mode], slot_candidate=readonly(best_k), slot_value=readonly(cur_k),
        slot_base=readonly(base), slot_route=readonly(route), slot_model=readonly(slot_model),
        n_evaluations=int(runs[0][5] + runs[1][5]),
    )
