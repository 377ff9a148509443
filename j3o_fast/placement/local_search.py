"""Edge-model search after J3O's outer loop (docs/placement.rst section 3: closing the tail).

The routing LP separates by edge, so one edge's onloading can be changed and judged by
re-solving that edge's LP alone. Moves on edge e, within the edge's memory and fixed-GPU-time
limits: single moves (add a model, swap an onloaded model for another, or unload one: in window
mode its fixed batch share goes back to the other models) and, when none of those
improves, multi-model moves (take out one or two models, put in what fits of the best ranked:
two small models for one large one or the reverse: single swaps reach these only through a worse
onloading, which the search never accepts). Moves are ranked by LP pricing: the reduced value
of the columns a new model m would bring, at the duals of the edge's current LP,

    gain(m) = sum_s max(0, r_s*acc[m,t_s] - pi_s - beta_n*r_s*payload[t_s]/uplink_n - nu_e*r_s*g[m]/speed_e
                           - kappa_em*r_s*W/bmax[m])
              - nu_e*tau0[m]/(W*speed_e) + kappa_em          (kappa and tau0 terms: window mode)

(pi_s the dual of the slot's conservation row, kappa_em of m's batch-cap row, whose bound goes
from 0 to 1; objective in queries/s, not divided by the total rate). The same duals bound every
move's LP value (Lagrangian relaxation, ``EdgePricing.bound``): a move whose bound cannot beat
the best so far is dropped unsolved. Only the best ranked moves are judged exactly by the LP;
the best improving one is kept and the edge is searched again.

Each round has three steps: ``rank_moves`` (pricing and candidate moves), ``evaluate_moves``
(LP trials, each undone after), ``EdgeLP.accept`` (keep the best). The search's work is counted
in LP solves per edge (``SearchBudget``), never in seconds, so its result does not depend on
the machine's load or the number of threads; only a caller's ``deadline`` (J3O's
``time_limit``) stops it by the clock, and that shows in ``SearchBudget.timed_out``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .instance import PlacementInstance
from .offload import EdgeLP, EdgeSolution, Offloading, RoutingLP
from .program import EDGE, cap_per_query, gpu_per_query, uplink_per_query, backhaul_per_query, compute_per_query


class EdgePricing:
    """An edge LP's current duals, read as the value of each route (accuracy * queries/s).

    ``edge_value`` (P, M): the reduced value of routing pair s to edge model m, net of the
    coupling rows it uses (-inf where m does not serve s's task),

        v_sm = r_s*acc[m,t_s] - beta_n*r_s*payload[t_s]/uplink_n - nu_e*r_s*g[m]/speed_e
               - kappa_em*r_s*W/bmax[m]                           (kappa term: window mode)

    and ``fixed_best`` (P,) the best of the routes that do not depend on the edge's onloading:
    dropping (0), the cloud and the client's own models, likewise net of their rows' duals.
    Row coefficients are program.py's per-query coefficients times r_s.
    """

    def __init__(self, inst: PlacementInstance, e_lp: EdgeLP, x: np.ndarray):
        d = e_lp.solution.duals
        e, n, t, r, lc = e_lp.edge, e_lp.pair_client, e_lp.pair_task, e_lp.pair_rate, e_lp.pair_local_client
        self.total_rate = inst.total_rate
        self.pi = d.conservation
        mu, beta, gamma, self.nu, self.kappa = d.compute, d.uplink, d.backhaul, d.gpu, d.cap
        self.share = inst.edge_fixed_share[e]
        upload = beta[lc] * r * uplink_per_query(inst.payload_mbit[t], inst.client_uplink_mbps[n])
        acc = r[:, None] * inst.accuracy[:, t].T                      # (P, M), NaN where m does not serve t
        covered = inst.cover[:, t].T
        value = (acc - upload[:, None]
                 - self.nu * r[:, None] * gpu_per_query(inst.edge_query_cost, inst.edge_speed[e])[None, :])
        if inst.batching:
            value -= self.kappa[None, :] * r[:, None] * cap_per_query(inst.batching_window_s, inst.max_batch)[None, :]
        self.edge_value = np.where(covered, value, -np.inf)
        fixed_best = np.zeros(e_lp.P)
        if e_lp.cloud_upper > 0:
            fixed_best = np.maximum(fixed_best, r * inst.cloud_accuracy[t] - upload
                                    - gamma * r * backhaul_per_query(inst.payload_mbit[t], inst.edge_backhaul_mbps[e]))
        own = covered & x[n]
        if own.any():
            local = acc - mu[lc][:, None] * r[:, None] * compute_per_query(inst.gflop[:, t].T, inst.client_gflops[n][:, None])
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


@dataclass
class SearchBudget:
    """The search's work limit, carried across calls on the same LPs.

    ``solves_per_edge``: LP solves the search may spend on each edge in all (None: no limit);
    counted per edge, so edges searched on separate threads never race for it. ``deadline``
    (``time.perf_counter()`` value, None: none): a hard stop between LP solves, which sets
    ``timed_out``. ``settled`` maps an edge to the onloading (``EdgeLP.onloading_key``) at which
    a full round found no improving move: searching there again would repeat that round.
    """

    solves_per_edge: int | None = None
    deadline: float | None = None
    spent: dict = field(default_factory=dict)
    settled: dict = field(default_factory=dict)
    timed_out: bool = False

    def allows_solve(self, edge: int) -> bool:
        """True if edge ``edge`` may solve one more LP (and counts it)."""
        if self.deadline is not None and time.perf_counter() > self.deadline:
            self.timed_out = True
            return False
        if self.solves_per_edge is not None and self.spent.get(edge, 0) >= self.solves_per_edge:
            return False
        self.spent[edge] = self.spent.get(edge, 0) + 1
        return True


def _propose_moves(inst: PlacementInstance, e: int, on: np.ndarray, ranked: list, column_gain: np.ndarray,
                   row_term: np.ndarray, carried: np.ndarray, mem_left: float,
                   share_left: float) -> tuple[list, list]:
    """Candidate moves (models out, models in) on edge ``e``, best estimated first: the single
    moves (add one, swap one for one, or unload one), then the multi-model moves.

    Out: nothing, one onloaded model, or two (least carried first). In, for each out: the two
    best-ranked models that fit the freed room alone, the room packed greedily in rank order
    (two small models for one large one, or the reverse, in one move), and, for one model out,
    nothing (in window mode a model's fixed batch share is GPU time the others can use when the
    edge is loaded). ``ranked``: the models not onloaded, best single gain first. Estimate: the
    LP-pricing gain of the models in (``EdgePricing.pricing``: columns and rows) minus, for the
    models out, their carried value and their rows' part (fixed share back, batch cap closed);
    the LP judges.
    """
    # Plain floats: a round proposes dozens of moves, each a handful of sums over one or two models.
    memory, share = inst.memory_mb.tolist(), inst.edge_fixed_share[e].tolist()
    carried_of, row_of = carried.tolist(), row_term.tolist()
    # Column gain of each ranked model alone: one contiguous row per model, summed as a single
    # column would be (the same pairwise order), so the estimates do not depend on this shortcut.
    alone = dict(zip(ranked, np.ascontiguousarray(column_gain[:, ranked].T).sum(axis=1).tolist()))
    onloaded = sorted(np.nonzero(on)[0].tolist(), key=lambda m: carried_of[m])
    outs = [()] + [(m,) for m in onloaded] + [(a, b) for i, a in enumerate(onloaded) for b in onloaded[i + 1:]]
    moves = {}
    for out in outs:
        free_mem = mem_left + sum(memory[m] for m in out)
        free_share = share_left + sum(share[m] for m in out)
        fitting = [m for m in ranked if memory[m] <= free_mem + 1e-9 and share[m] <= free_share + 1e-12]
        intos = [(m,) for m in fitting[:2]]
        if len(out) == 1:
            intos.append(())    # unload alone: gives back its fixed GPU share when load is high
        pack, mem, left = [], free_mem, free_share
        for m in fitting:
            if memory[m] <= mem + 1e-9 and share[m] <= left + 1e-12:
                pack.append(m)
                mem -= memory[m]
                left -= share[m]
        if len(pack) > 1:
            intos.append(tuple(pack))
        carried_out, rows_out = sum(carried_of[m] for m in out), sum(row_of[m] for m in out)
        for into in intos:
            if len(into) > 1:
                gain = float(column_gain[:, list(into)].max(axis=1).sum() + row_term[list(into)].sum())
            else:
                gain = alone[into[0]] + row_of[into[0]] if into else 0.0
            moves[(out, into)] = gain - carried_out - rows_out
    ranked_moves = sorted(moves, key=lambda mv: -moves[mv])

    def single(move):   # add one, swap one for one, or unload one
        return len(move[0]) <= 1 and len(move[1]) <= 1

    return [mv for mv in ranked_moves if single(mv)], [mv for mv in ranked_moves if not single(mv)]


def carried_value(inst: PlacementInstance, e_lp: EdgeLP) -> np.ndarray:
    """Accuracy * queries/s each edge model carries in the edge LP's current solution, (M,)."""
    values = e_lp.solution.values
    carried = np.zeros(inst.n_models)
    routed = (e_lp.column_kind == EDGE) & (values > 0)
    pair = e_lp.column_pair[routed]
    np.add.at(carried, e_lp.column_model[routed],
              values[routed] * e_lp.pair_rate[pair] * inst.accuracy[e_lp.column_model[routed], e_lp.pair_task[pair]])
    return carried


def rank_moves(inst: PlacementInstance, e_lp: EdgeLP, x: np.ndarray, on: np.ndarray
               ) -> tuple[EdgePricing, list, list]:
    """Rank: the pricing at the edge LP's current duals and its candidate moves, best estimated
    first (``_propose_moves``): single moves, then multi-model moves."""
    e = e_lp.edge
    pricing = EdgePricing(inst, e_lp, x)
    column_gain, row_term = pricing.pricing()
    value = column_gain.sum(axis=0) + row_term                     # (M,) estimated gain of adding m
    mem_left = inst.edge_memory_mb[e] - inst.memory_mb[on].sum()
    share_left = 1.0 - inst.edge_fixed_share[e][on].sum()
    ranked = [m for m in np.argsort(-value, kind="stable") if not on[m] and value[m] > 0]
    singles, multis = _propose_moves(inst, e, on, ranked, column_gain, row_term, carried_value(inst, e_lp),
                                     mem_left, share_left)
    return pricing, singles, multis


def evaluate_moves(e_lp: EdgeLP, x: np.ndarray, on: np.ndarray, moves: list, pricing: EdgePricing,
                   best_objective: float, budget: SearchBudget) -> tuple[np.ndarray | None, EdgeSolution | None, bool]:
    """Evaluate: solve the LP of each move (a trial, undone after) whose Lagrangian bound can beat
    ``best_objective``; returns the best improving onloading and its solution (None, None if none
    improves) and whether the budget stopped the evaluation."""
    best_on, best_solution = None, None
    for out, into in moves:
        trial = on.copy()
        trial[list(out)] = False
        trial[list(into)] = True
        # The bound holds for any duals >= 0, so the LP's tolerances do not weaken the pruning.
        if pricing.bound(trial) <= best_objective:
            continue
        if not budget.allows_solve(e_lp.edge):
            return best_on, best_solution, True
        with e_lp.trial(x, trial) as solution:
            if solution.objective > best_objective:
                best_on, best_solution, best_objective = trial, solution, solution.objective
    return best_on, best_solution, False


def _search_edge(inst: PlacementInstance, e_lp: EdgeLP, x: np.ndarray, on: np.ndarray, *, moves_per_round: int,
                 multi_moves_per_round: int, max_rounds: int, budget: SearchBudget) -> np.ndarray:
    """Best-improvement search on one edge from onloading ``on`` (M,); returns the kept onloading.

    Touches only this edge's LP and its own entries of ``budget``, so edges can be searched on
    separate threads.
    """
    e = e_lp.edge
    on = on.copy()
    if budget.settled.get(e) == e_lp.onloading_key:
        return on
    for _ in range(max_rounds):
        current = e_lp.solution.objective
        pricing, singles, multis = rank_moves(inst, e_lp, x, on)
        threshold = current + 1e-9 * max(abs(current), 1e-12)
        # Multi-model moves cost as many LP solves and pay less often: tried only when no single
        # move improves (they are what escapes that local optimum).
        best_on, cut = None, False
        for moves in (singles[:moves_per_round], multis[:multi_moves_per_round]):
            best_on, best_solution, cut = evaluate_moves(e_lp, x, on, moves, pricing, threshold, budget)
            if best_on is not None or cut:
                break
        if best_on is None:
            if not cut:
                budget.settled[e] = e_lp.onloading_key
            break
        on = best_on
        e_lp.accept(x, on, best_solution)   # accept: its solution is known, no re-solve
        if cut:
            break
    return on


def improve_edges(inst: PlacementInstance, lp: RoutingLP, off: Offloading, *, moves_per_round: int = 6,
                  multi_moves_per_round: int = 3, max_rounds: int = 4,
                  budget: SearchBudget | None = None) -> Offloading:
    """Best-improvement edge-model search from ``off``; returns the better of ``off`` and the result.

    Per edge and round, the ``moves_per_round`` best single moves are judged by the LP, then, if
    none improves, the ``multi_moves_per_round`` best multi-model moves; at most ``max_rounds``
    rounds. Edges are searched independently (on the LP's worker threads). ``budget`` (updated
    in place; None: no limit) bounds the LP solves per edge and carries over, from an earlier
    call on the same LP, which edges need no new search; edges whose budget is spent keep their
    onloading.
    """
    budget = SearchBudget() if budget is None else budget
    x = off.x
    y = off.y.copy()
    lp.solve(x, y)  # every edge LP at the starting onloading, with its duals
    active = [e_lp for e_lp in lp.edges if e_lp.P > 0]
    found = lp.pool.map(lambda e_lp: _search_edge(inst, e_lp, x, y[e_lp.edge], moves_per_round=moves_per_round,
                                                  multi_moves_per_round=multi_moves_per_round,
                                                  max_rounds=max_rounds, budget=budget), active)
    for e_lp, on in zip(active, found):
        y[e_lp.edge] = on
    result = lp.solve(x, y)
    return result if result.objective > off.objective else off
