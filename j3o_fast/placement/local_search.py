"""Edge-model search after J3O's outer loop (placement.md section 3: closing the tail).

The routing LP separates by edge, so one edge's onloading can be changed and judged by
re-solving that edge's LP alone. Moves on edge e, within the edge's memory and fixed-GPU-time
limits: single moves (add a model, or swap an onloaded model for another) and, when none of those
improves, multi-model moves (take out one or two models, put in what fits of the best ranked:
two small models for one large one or the reverse: single swaps reach these only through a worse
onloading, which the search never accepts). Moves are ranked by LP pricing: the reduced value
of the columns a new model m would bring, at the duals of the edge's current LP,

    gain(m) = sum_s max(0, r_s*acc[m,t_s] - pi_s - beta_n*r_s*payload[t_s]/uplink_n - nu_e*r_s*g[m]/speed_e
                           - kappa_em*r_s*W/bmax[m])
              - nu_e*tau0[m]/(W*speed_e) + kappa_em          (kappa and tau0 terms: window mode)

(pi_s the dual of the slot's conservation row, kappa_em of m's batch-cap row, whose bound goes
from 0 to 1; objective in queries/s, not divided by the total rate). The same duals bound every
move's LP value (Lagrangian relaxation, ``_EdgeDuals.bound``): a move whose bound cannot beat
the best so far is dropped unsolved. Only the best ranked moves are judged exactly by the LP;
the best improving one is kept and the edge is searched again.
"""

from __future__ import annotations

import time

import numpy as np

from .instance import PlacementInstance
from .offload import Offloading, RoutingLP, _EdgeLP


class _EdgeDuals:
    """The edge LP's current duals, read as the value of each route (accuracy * queries/s).

    ``edge_value`` (P, M): the reduced value of routing pair s to edge model m, net of the
    coupling rows it uses (-inf where m does not serve s's task),

        v_sm = r_s*acc[m,t_s] - beta_n*r_s*payload[t_s]/uplink_n - nu_e*r_s*g[m]/speed_e
               - kappa_em*r_s*W/bmax[m]                           (kappa term: window mode)

    and ``fixed_best`` (P,) the best of the routes that do not depend on the edge's onloading:
    dropping (0), the cloud and the client's own models, likewise net of their rows' duals.
    """

    def __init__(self, inst: PlacementInstance, e_lp: _EdgeLP, x: np.ndarray):
        _, d, _ = e_lp.last
        C, M = e_lp.C, inst.n_models
        e, n, t, r, lc = e_lp.edge, e_lp.pair_client, e_lp.pair_task, e_lp.pair_rate, e_lp.pair_local_client
        self.total_rate = inst.total_rate
        self.pi = d[:e_lp.P]
        mu = d[e_lp.row_compute:e_lp.row_compute + C]
        beta = d[e_lp.row_uplink:e_lp.row_uplink + C]
        gamma, self.nu = d[e_lp.row_backhaul], d[e_lp.row_gpu]
        self.kappa = d[e_lp.row_cap:e_lp.row_cap + M] if inst.batching else np.zeros(M)
        self.share = inst.edge_fixed_share[e]
        upload = beta[lc] * r * inst.payload_mbit[t] / inst.client_uplink_mbps[n]
        acc = r[:, None] * inst.accuracy[:, t].T                      # (P, M), NaN where m does not serve t
        covered = inst.cover[:, t].T
        value = acc - upload[:, None] - self.nu * r[:, None] * inst.edge_query_cost[None, :] / inst.edge_speed[e]
        if inst.batching:
            value -= self.kappa[None, :] * r[:, None] * (inst.batching_window_s / inst.max_batch)[None, :]
        self.edge_value = np.where(covered, value, -np.inf)
        fixed_best = np.zeros(e_lp.P)
        if e_lp.cloud_upper > 0:
            fixed_best = np.maximum(fixed_best, r * inst.cloud_accuracy[t] - upload
                                    - gamma * r * inst.payload_mbit[t] / inst.edge_backhaul_mbps[e])
        own = covered & x[n]
        if own.any():
            local = acc - mu[lc][:, None] * r[:, None] * inst.gflop[:, t].T / inst.client_gflops[n][:, None]
            fixed_best = np.maximum(fixed_best, np.where(own, local, -np.inf).max(axis=1))
        self.fixed_best = fixed_best
        self.rows = mu.sum() + beta.sum() + gamma                     # b_i*lambda_i of the rows with b_i = 1

    def pricing(self) -> tuple[np.ndarray, np.ndarray]:
        """LP pricing of the edge's models (module docstring), in accuracy * queries/s.

        ``column_gain`` (P, M): the positive part of the reduced value v_sm - pi_s of the edge
        column (s, m), pi_s the dual of s's conservation row; ``row_term`` (M,): how onloading m
        moves the dual objective through its rows' bounds, -nu_e*tau0[m]/(W*speed_e) (GPU time
        left) + kappa_em (its batch cap opens from 0 to 1). Adding m is estimated at
        column_gain[:, m].sum() + row_term[m].
        """
        column_gain = np.maximum(self.edge_value - self.pi[:, None], 0.0)   # uncovered: -inf -> 0
        return column_gain, self.kappa - self.nu * self.share

    def bound(self, on: np.ndarray) -> float:
        """Upper bound on the edge LP's value (A) at onloading ``on`` (M,) bool.

        Lagrangian relaxation of the coupling rows (compute, uplink, backhaul, GPU time, batch
        caps) at their current duals lambda >= 0, the conservation rows kept, so that each pair
        takes its best route alone:

            L(on) = sum_i b_i(on)*lambda_i + sum_s max(fixed_best_s, max_{m in on} v_sm)

        with b_gpu = 1 - sum_{m in on} tau0[m]/(W*speed_e), b_cap,m = [m in on], b_i = 1 for
        the other rows. Every lambda >= 0 gives a bound, and at the current onloading it equals
        the LP's value (LP duality). Unlike the dual objective at the current duals, it sees what
        a move takes out: the pairs of a removed model fall back to their next best route.
        """
        best = np.maximum(self.fixed_best, self.edge_value[:, on].max(axis=1)) if on.any() else self.fixed_best
        value = (self.rows + self.nu * max(1.0 - float(self.share @ on), 0.0) + float(self.kappa[on].sum())
                 + float(best.sum()))
        return value / self.total_rate


def _propose_moves(inst: PlacementInstance, e: int, on: np.ndarray, ranked: list, column_gain: np.ndarray,
                   row_term: np.ndarray, carried: np.ndarray, mem_left: float,
                   share_left: float) -> tuple[list, list]:
    """Candidate moves (models out, models in) on edge ``e``, best estimated first: the single
    moves (add one, or swap one for one), then the multi-model moves.

    Out: nothing, one onloaded model, or two (least carried first). In, for each out: the two
    best-ranked models that fit the freed room alone, and the room packed greedily in rank order
    (two small models for one large one, or the reverse, in one move). ``ranked``: the models
    not onloaded, best single gain first. Estimate: the LP-pricing gain of the models in
    (``_EdgeDuals.pricing``) minus the carried value of the models out; the LP judges.
    """
    onloaded = sorted(np.nonzero(on)[0], key=lambda m: carried[m])
    outs = [()] + [(m,) for m in onloaded] + [(a, b) for i, a in enumerate(onloaded) for b in onloaded[i + 1:]]
    moves = {}
    for out in outs:
        free_mem = mem_left + float(inst.memory_mb[list(out)].sum())
        free_share = share_left + float(inst.edge_fixed_share[e, list(out)].sum())
        fitting = [m for m in ranked if inst.memory_mb[m] <= free_mem + 1e-9
                   and inst.edge_fixed_share[e, m] <= free_share + 1e-12]
        intos = [(m,) for m in fitting[:2]]
        pack, mem, share = [], free_mem, free_share
        for m in fitting:
            if inst.memory_mb[m] <= mem + 1e-9 and inst.edge_fixed_share[e, m] <= share + 1e-12:
                pack.append(m)
                mem -= inst.memory_mb[m]
                share -= inst.edge_fixed_share[e, m]
        if len(pack) > 1:
            intos.append(tuple(pack))
        for into in intos:
            gain = column_gain[:, list(into)].max(axis=1).sum() + row_term[list(into)].sum()
            moves[(out, into)] = float(gain - carried[list(out)].sum())
    ranked_moves = sorted(moves, key=lambda mv: -moves[mv])
    single = [mv for mv in ranked_moves if len(mv[0]) <= 1 and len(mv[1]) == 1]
    return single, [mv for mv in ranked_moves if not (len(mv[0]) <= 1 and len(mv[1]) == 1)]


def _search_edge(inst: PlacementInstance, e_lp: _EdgeLP, x: np.ndarray, on: np.ndarray, *, moves_per_round: int,
                 multi_moves_per_round: int, max_rounds: int, deadline: float | None, settled: dict) -> np.ndarray:
    """Best-improvement search on one edge from onloading ``on`` (M,); returns the kept onloading.

    ``settled`` maps an edge to the onloading (``onloading_key``) at which a full round found no
    improving move: searching there again would repeat that round, so it is skipped. Touches
    only this edge's LP (and its own ``settled`` entry), so edges can be searched on separate
    threads.
    """
    e = e_lp.edge
    on = on.copy()
    if settled.get(e) == e_lp.onloading_key:
        return on
    for _ in range(max_rounds):
        current = e_lp.last[2]
        duals = _EdgeDuals(inst, e_lp, x)
        column_gain, row_term = duals.pricing()
        value = column_gain.sum(axis=0) + row_term                     # (M,) estimated gain of adding m
        mem_left = inst.edge_memory_mb[e] - inst.memory_mb[on].sum()
        share_left = 1.0 - inst.edge_fixed_share[e][on].sum()
        ranked = [m for m in np.argsort(-value, kind="stable") if not on[m] and value[m] > 0]
        # carried value of each onloaded model: its routed queries times their accuracy
        values, _, _ = e_lp.last
        carried = np.zeros(inst.n_models)
        routed = (e_lp.col_kind == 1) & (values > 0)
        np.add.at(carried, e_lp.col_model[routed],
                  values[routed] * e_lp.pair_rate[e_lp.col_pair[routed]]
                  * inst.accuracy[e_lp.col_model[routed], e_lp.pair_task[e_lp.col_pair[routed]]])
        singles, multis = _propose_moves(inst, e, on, ranked, column_gain, row_term, carried, mem_left, share_left)
        best_move, best_obj = None, current + 1e-9 * max(abs(current), 1e-12)
        # A move whose Lagrangian bound cannot beat the best so far is not solved: the bound holds
        # for any duals >= 0, so the LP's tolerances do not weaken it.
        kept = e_lp.last
        # Multi-model moves cost as many LP solves and pay less often: tried only when no single
        # move improves (they are what escapes that local optimum).
        cut = False
        for moves in (singles[:moves_per_round], multis[:multi_moves_per_round]):
            for out, into in moves:
                if deadline is not None and time.perf_counter() > deadline:
                    cut = True
                    break
                trial = on.copy()
                trial[list(out)] = False
                trial[list(into)] = True
                if duals.bound(trial) <= best_obj:
                    continue
                e_lp.set_onloading(x, trial)
                obj = e_lp.solve()[2]
                if obj > best_obj:
                    best_move, best_obj, kept = trial, obj, e_lp.last
            if best_move is not None:
                break
        if best_move is not None:
            on = best_move
        e_lp.restore(x, on, kept)  # back to the kept onloading, whose solution is known
        if best_move is None:
            if not cut:
                settled[e] = e_lp.onloading_key
            break
    return on


def improve_edges(inst: PlacementInstance, lp: RoutingLP, off: Offloading, *, moves_per_round: int = 6,
                  multi_moves_per_round: int = 3, max_rounds: int = 4, time_budget: float | None = None,
                  settled: dict | None = None) -> Offloading:
    """Best-improvement edge-model search from ``off``; returns the better of ``off`` and the result.

    Per edge and round, the ``moves_per_round`` best single moves are judged by the LP, then, if
    none improves, the ``multi_moves_per_round`` best multi-model moves; at most ``max_rounds``
    rounds. Edges are searched independently (on the LP's worker threads). ``time_budget`` (seconds)
    stops the search between LP solves; edges not reached keep their onloading. ``settled``
    (edge -> onloading key, updated in place) carries over, from an earlier call on the same LP,
    which edges need no new search (``_search_edge``).
    """
    settled = {} if settled is None else settled
    deadline = None if time_budget is None else time.perf_counter() + time_budget
    x = off.x
    y = off.y.copy()
    lp.solve(x, y)  # every edge LP at the starting onloading, with its duals
    active = [e_lp for e_lp in lp.edges if e_lp.P > 0]
    found = lp.pool.map(lambda e_lp: _search_edge(inst, e_lp, x, y[e_lp.edge], moves_per_round=moves_per_round,
                                                  multi_moves_per_round=multi_moves_per_round,
                                                  max_rounds=max_rounds, deadline=deadline, settled=settled), active)
    for e_lp, on in zip(active, found):
        y[e_lp.edge] = on
    result = lp.solve(x, y)
    return result if result.objective > off.objective else off
