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
move's LP value (weak duality, ``_pricing``): a move whose bound cannot beat the best so far is
dropped unsolved. Only the best ranked moves are judged exactly by the LP; the best improving
one is kept and the edge is searched again.
"""

from __future__ import annotations

import time

import numpy as np

from .instance import PlacementInstance
from .offload import Offloading, RoutingLP, _EdgeLP


def _pricing(inst: PlacementInstance, e_lp: _EdgeLP) -> tuple[np.ndarray, np.ndarray]:
    """LP pricing of the edge's models at the duals y of its current LP (module docstring).

    Returns, in accuracy * queries/s: ``column_gain`` (P, M), the positive part of the reduced
    value c - a'y of the edge column (pair, model) for every covered pair, and ``row_term`` (M,),
    how onloading m moves the dual objective through the bounds of its rows:
    -nu_e*tau0[m]/(W*speed_e) (GPU time left) + kappa_m (its batch cap opens from 0 to 1).
    Adding m is estimated at column_gain[:, m].sum() + row_term[m].

    Weak duality makes this a bound as well: y stays dual feasible for any other onloading of
    the edge, with each open column's bound multiplier max(0, c - a'y), so no onloading's LP
    value exceeds the current one plus the sum over models in of (column_gain.sum + row_term)
    minus the same over models out (``_move_bound``).
    """
    _, d, _ = e_lp.last
    pi = d[:e_lp.P]
    beta = d[e_lp.row_uplink:e_lp.row_uplink + e_lp.C][e_lp.pair_local_client]
    nu = d[e_lp.row_gpu]
    e, n, t, r = e_lp.edge, e_lp.pair_client, e_lp.pair_task, e_lp.pair_rate
    upload = beta * r * inst.payload_mbit[t] / inst.client_uplink_mbps[n]
    gpu = nu * r[:, None] * inst.edge_query_cost[None, :] / inst.edge_speed[e]         # (P, M)
    reduced = r[:, None] * inst.accuracy[:, t].T - pi[:, None] - upload[:, None] - gpu
    row_term = -nu * inst.edge_fixed_share[e]
    if inst.batching:
        kappa = d[e_lp.row_cap:e_lp.row_cap + inst.n_models]
        reduced -= kappa[None, :] * r[:, None] * (inst.batching_window_s / inst.max_batch)[None, :]
        row_term = row_term + kappa
    column_gain = np.where(inst.cover[:, t].T, np.maximum(reduced, 0.0), 0.0)
    return column_gain, row_term


def _move_bound(value: np.ndarray, out: tuple, into: tuple) -> float:
    """Upper bound on the change of the edge's LP value (accuracy * queries/s) by a move, from
    the per-model values column_gain.sum(axis=0) + row_term of ``_pricing``."""
    return float(value[list(into)].sum() - value[list(out)].sum())


def _propose_moves(inst: PlacementInstance, e: int, on: np.ndarray, ranked: list, column_gain: np.ndarray,
                   row_term: np.ndarray, carried: np.ndarray, mem_left: float,
                   share_left: float) -> tuple[list, list]:
    """Candidate moves (models out, models in) on edge ``e``, best estimated first: the single
    moves (add one, or swap one for one), then the multi-model moves.

    Out: nothing, one onloaded model, or two (least carried first). In, for each out: the two
    best-ranked models that fit the freed room alone, and the room packed greedily in rank order
    (two small models for one large one, or the reverse, in one move). ``ranked``: the models
    not onloaded, best single gain first. Estimate: the LP-pricing gain of the models in
    (``_pricing``) minus the carried value of the models out; the LP judges.
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
        column_gain, row_term = _pricing(inst, e_lp)
        value = column_gain.sum(axis=0) + row_term                     # (M,) see _move_bound
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
        # A move whose dual bound cannot beat the best so far is not solved (slack for the LP's
        # dual tolerance: the bound is exact for exact duals).
        slack = 1e-7 * max(abs(current), 1e-12)
        kept = e_lp.last
        # Multi-model moves cost as many LP solves and pay less often: tried only when no single
        # move improves (they are what escapes that local optimum).
        cut = False
        for moves in (singles[:moves_per_round], multis[:multi_moves_per_round]):
            for out, into in moves:
                if deadline is not None and time.perf_counter() > deadline:
                    cut = True
                    break
                if current + _move_bound(value, out, into) / inst.total_rate < best_obj - slack:
                    continue
                trial = on.copy()
                trial[list(out)] = False
                trial[list(into)] = True
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
