"""Warm re-planning: a stateful J3O for simulators whose rates and capacities drift step by step
(docs/placement.rst section 3, Warm re-planning).

A simulator re-plans the placement at every time step. Most of the previous plan is still good
after a small change, so the planner keeps, from each solve, J3O's final prices theta, the
decision's onloading (x, y) and the greedy's last selection (the incumbent of the hysteresis),
and starts the next solve from them:

1. the kept onloading, minus the models that no longer fit the changed capacities (client
   memory, or an edge's fixed batch share after a change of speed or window: least carried
   traffic first), is re-routed by the routing LP: the warm start's first candidate. With
   ``warm_basis`` each edge LP starts from the previous solve's columns and last basis when its
   pairs are the same (``RoutingLP.restart_from``): at 1,000 clients the first LP then takes
   ~30 times fewer simplex iterations, but the replayed columns (every column the previous
   solve ever added, ~35,000) cost more in building and in every later solve than that saves:
   a warm step took ~12% longer, so it is off by default;
2. J3O's main loop from the kept prices with the kept incumbent, every pass with the cloud and
   every price update damped, for ``warm_iter`` rounds at most (patience ``warm_patience``)
   after a change of rates only, ``warm_refit_iter`` after a change of a capacity, of the
   window or of which pairs have queries (a rate to or from 0), or when models no longer fit.
   After rates only, the default is 0 rounds: the prices then take one damped step toward the
   start's duals. Over a simulated day of rates
   (benchmarks/test_bench_planner.py) a round cost a fifth of the warm time and gained nothing
   over what steps 1 and 3 find; after capacities change (client memory halved, edge speed cut
   to 30%) the rounds are what keeps the plan within 0.1% of a cold J3O (1.7% below without);
3. the polish and the edge search, with ``warm_search_solves`` LP solves per edge.
   ``warm_refill=False`` leaves out the polish's unload-and-refill (the clients' fill stays):
   at 1,000 clients ~15 instead of ~50 model changes per step for ~0.05% lower accuracy;
4. the step's idle changes to the clients' models are undone: a client model loaded in this
   step that carries no traffic is not loaded, and the models the step unloaded are loaded again
   where memory allows. A client model costs only memory, so the routing and A stay exactly as
   they are; at 1,000 clients this cut the changes per step from ~260 (mostly idle local models
   re-drawn by the refill at every change of rates) to ~50;
5. with ``max_model_changes``, a plan that changes more models (loaded plus unloaded, over all
   nodes) than the limit is cut back to the kept onloading plus the best of its changes that
   fit in the limit: two cuts, each an exact 0/1 knapsack, and the better by the routing LP:
   by node (a node's new row of models as one item, valued by carried traffic; a node's
   memory and batch share depend on its row only, so every choice fits) and by edge (an edge
   with its clients as one item, valued exactly by its edge LP: the LP separates by edge). If
   neither beats the kept onloading re-routed, that is the plan. Models dropped in step 1
   because they no longer fit are changes too; when they alone exceed the limit, the plan keeps
   only them and its message says so.

Every budget counts work (rounds, LP solves), so the same sequence of updates gives the same
plans on any machine; ``time_limit`` stops a solve by the clock and then shows in its status.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validate import Bool, Int, check_options
from ..errors import InvalidInputError
from ..result import SolveResult
from .instance import PlacementInstance
from .j3o import SEARCH_SOLVES, LoopState, _finish, _main_loop, solve_j3o
from .mip import lp_upper_bound
from .offload import Offloading, RoutingLP
from .onload import build_candidates
from .prices import Prices, dual_update
from .repair import carried_traffic, fit_onloading
from .solution import PlacementSolution
from .usage import routing_usage

#: Instance fields ``PlacementPlanner.update`` may change (the shapes stay); the model and task
#: tables, the edges' memories and the clients' edges define the problem's structure.
CHANGEABLE = ("rate", "client_gflops", "client_memory_mb", "client_uplink_mbps", "edge_backhaul_mbps", "edge_speed",
              "batching_window_s")

_FIELDS = tuple(f.name for f in dataclasses.fields(PlacementInstance))
_PHASES = ("candidates", "fit", "greedy", "lp", "prices", "polish", "local_search", "churn")


@dataclass(frozen=True, eq=False)
class _Kept:
    """What one solve leaves for the next: final prices, the decision, the greedy's selection as
    placements (node: n, or N + e; model), and the instance it was solved on."""

    prices: Prices
    decision: PlacementSolution
    incumbent_node: np.ndarray
    incumbent_model: np.ndarray


def _changes(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray) -> int:
    """Models loaded plus unloaded between onloadings (x0, y0) and (x1, y1), over all nodes."""
    return int(np.count_nonzero(x0 != x1) + np.count_nonzero(y0 != y1))


def _keep_idle_client_models(inst: PlacementInstance, off: Offloading, old_x: np.ndarray,
                             old_carried_x: np.ndarray) -> Offloading:
    """``off`` with the step's idle changes to the clients' models undone (module docstring, step 4):
    a model loaded this step that carries no traffic is not loaded, and the models the step
    unloaded are loaded again where the client's memory allows (most traffic carried in the
    previous plan first). Client models cost only memory, so neither changes what is routed."""
    x = off.x & (old_x | off.client_models_used)
    back = old_x & ~x
    if back.any():
        free = inst.client_memory_mb - x @ inst.memory_mb
        for n in np.flatnonzero(back.any(axis=1)):
            for m in sorted(np.flatnonzero(back[n]), key=lambda m: (-old_carried_x[n, m], m)):
                if inst.memory_mb[m] <= free[n]:
                    x[n, m] = True
                    free[n] -= inst.memory_mb[m]
    if np.array_equal(x, off.x):
        return off
    return off.with_client_models(x)


def _knapsack(weights: list[int], values: list[float], capacity: int) -> list[int]:
    """Indices of the items of largest total value with total weight <= capacity (0/1, exact DP)."""
    best = np.zeros(capacity + 1)
    take = np.zeros((len(weights), capacity + 1), dtype=bool)
    for i, (w, v) in enumerate(zip(weights, values)):
        if w > capacity or v <= 0:
            continue
        with_i = best[:capacity + 1 - w] + v
        better = with_i > best[w:]
        take[i, w:] = better
        best[w:] = np.where(better, with_i, best[w:])
    chosen, c = [], capacity
    for i in range(len(weights) - 1, -1, -1):
        if take[i, c]:
            chosen.append(i)
            c -= weights[i]
    return chosen[::-1]


class PlacementPlanner:
    """J3O that re-plans from its previous solve (module docstring).

    ``PlacementPlanner(instance, **options)`` takes solve_j3o's options (checked by the same
    rules) and the warm start's: ``warm_iter`` (main-loop rounds of a warm solve after a change
    of rates only, default 0), ``warm_refit_iter`` (rounds after a change of capacities, 3),
    ``warm_patience`` (1), ``warm_search_solves`` (LP solves per edge of its edge search, 8),
    ``warm_basis`` (start the edge LPs from the last solve's bases, False), ``warm_refill`` (the
    polish's unload-and-refill in warm solves, True) and ``max_model_changes`` (models loaded
    plus unloaded per step over all nodes; None: no limit).
    ``solve()`` runs a cold J3O the first time (the same decision as ``solve_j3o`` with these
    options) and a warm re-plan after; ``update(**changes)`` changes fields of ``CHANGEABLE``.
    ``last_changes`` is the number of model changes of the last solve (0 after the first).

    >>> from j3o_fast.placement import generate, verify
    >>> inst = generate("nyu", 30, 2, seed=1, window=0.05)
    >>> planner = PlacementPlanner(inst, max_model_changes=4)
    >>> first = planner.solve()
    >>> planner.update(rate=inst.rate * 1.1)
    >>> res = planner.solve()
    >>> verify(planner.instance, res.decision, claimed_objective=res.objective).ok, planner.last_changes <= 4
    (True, True)
    """

    @check_options(**solve_j3o.option_rules, warm_iter=Int(0), warm_refit_iter=Int(0),
                   warm_patience=Int(1), warm_search_solves=Int(0),
                   max_model_changes=Int(0, allow_none=True), warm_basis=Bool(), warm_refill=Bool())
    def __init__(self, instance: PlacementInstance, *, max_iter: int = 30, patience: int = 3, tol: float = 1e-5,
                 min_gain: float = 1e-3, price_update: str = "dual", damping: float = 0.3, step0: float = 1.0,
                 hysteresis: float = 0.003, polish: bool = True, local_search: bool = True,
                 search_solves: int = SEARCH_SOLVES, with_bound: bool = False, time_limit: float | None = None,
                 threads: int | None = None, warm_iter: int = 0, warm_refit_iter: int = 3,
                 warm_patience: int = 1, warm_search_solves: int = 8,
                 max_model_changes: int | None = None, warm_basis: bool = False,
                 warm_refill: bool = True) -> None:
        if not isinstance(instance, PlacementInstance):
            raise InvalidInputError("instance", f"must be a PlacementInstance, got {type(instance).__name__}")
        self._instance = instance
        self._loop = dict(tol=tol, min_gain=min_gain, price_update=price_update, damping=damping, step0=step0,
                          hysteresis=hysteresis, time_limit=time_limit)
        self._cold = dict(max_iter=max_iter, patience=patience, search_solves=search_solves)
        self._warm = dict(max_iter=warm_iter, patience=warm_patience, search_solves=warm_search_solves)
        self._refit_iter = warm_refit_iter
        self._refit = False                  # a change since the last solve asks for main-loop rounds
        self._polish, self._local_search, self._with_bound = polish, local_search, with_bound
        self._threads = threads
        self.max_model_changes = max_model_changes
        self._warm_basis, self._warm_refill = warm_basis, warm_refill
        self._kept: _Kept | None = None
        self._lp: RoutingLP | None = None     # the last solve's routing LP (its columns and bases)
        self.last_changes = 0

    @property
    def instance(self) -> PlacementInstance:
        """The instance the next ``solve`` plans for."""
        return self._instance

    def update(self, **changes: Any) -> None:
        """Change fields of ``CHANGEABLE`` (same shapes) for the next solve.

        The changed instance is built by ``dataclasses.replace``, so its own validation names a
        bad field and value; unknown fields and fields that may not change raise
        InvalidInputError too. On any error nothing changes.
        """
        for name in changes:
            if name not in _FIELDS:
                raise InvalidInputError(name, f"is not a field of PlacementInstance; the planner may change "
                                              f"{', '.join(CHANGEABLE)}")
            if name not in CHANGEABLE:
                raise InvalidInputError(name, f"may not change between re-plans; the planner may change "
                                              f"{', '.join(CHANGEABLE)}")
        changed = dataclasses.replace(self._instance, **changes)
        structural = (any(name != "rate" for name in changes)
                      or not np.array_equal(changed.rate > 0, self._instance.rate > 0))
        self._instance = changed
        self._refit = self._refit or structural

    def solve(self) -> SolveResult:
        """Plan for the current instance: cold the first time, warm from the last solve after."""
        inst = self._instance
        t_start = time.perf_counter()
        times = dict.fromkeys(_PHASES, 0.0)
        kept = self._kept
        budget = self._cold if kept is None else self._warm

        t0 = time.perf_counter()
        cands = build_candidates(inst)
        lp = RoutingLP(inst, threads=self._threads)
        if kept is not None and self._warm_basis and self._lp is not None:
            lp.restart_from(self._lp)
        times["candidates"] = time.perf_counter() - t0
        message = "cold J3O solve"
        changes = 0
        try:
            if kept is None:
                state = _main_loop(inst, cands, lp, times, Prices.zeros(inst), max_iter=budget["max_iter"],
                                   patience=budget["patience"], t_start=t_start, **self._loop)
                start_x = start_y = None
            else:
                t0 = time.perf_counter()
                old_x, old_y = kept.decision.client_models, kept.decision.edge_models
                old_carried_x, old_carried_y = carried_traffic(inst, kept.decision.local, kept.decision.edge)
                start_x, start_y = fit_onloading(inst, old_x, old_y, old_carried_x, old_carried_y)
                forced = _changes(old_x, old_y, start_x, start_y)
                times["fit"] = time.perf_counter() - t0
                t0 = time.perf_counter()
                start = lp.solve(start_x, start_y)
                times["lp"] += time.perf_counter() - t0
                ids = cands.index_of(kept.incumbent_node, kept.incumbent_model)
                incumbent = np.zeros(cands.n_candidates, dtype=bool)
                incumbent[ids[ids >= 0]] = True
                rounds = self._refit_iter if (self._refit or forced) else budget["max_iter"]
                if rounds > 0:
                    state = _main_loop(inst, cands, lp, times, kept.prices, max_iter=rounds,
                                       patience=budget["patience"], t_start=t_start, best=start,
                                       incumbent=incumbent, warm=True, **self._loop)
                else:   # no round: the prices move toward the start's duals, as a round's update would
                    prices = (dual_update(kept.prices, start.duals, self._loop["damping"])
                              if self._loop["price_update"] == "dual" else kept.prices)
                    state = LoopState(prices, start, incumbent, 0, "feasible")
            best, status = _finish(inst, cands, lp, state.best, state.prices, times, polish=self._polish,
                                   local_search=self._local_search, search_solves=budget["search_solves"],
                                   tol=self._loop["tol"], time_limit=self._loop["time_limit"], t_start=t_start,
                                   status=state.status, refill=kept is None or self._warm_refill)
            if kept is not None:
                best = _keep_idle_client_models(inst, best, old_x, old_carried_x)
                changes = _changes(old_x, old_y, best.x, best.y)
                limit = self.max_model_changes
                message = f"warm re-plan: {changes} model changes"
                if limit is not None and changes > limit:
                    t0 = time.perf_counter()
                    best, changes = self._limit_churn(lp, start, best, old_x, old_y, max(limit - forced, 0))
                    times["churn"] = time.perf_counter() - t0
                    message = f"warm re-plan: {changes} model changes (cut to the limit {limit})"
                    if forced > limit:
                        message += f"; {forced} models no longer fit and were unloaded, above the limit"
        finally:
            lp.close()

        bound = None
        if self._with_bound:
            t0 = time.perf_counter()
            bound = lp_upper_bound(inst, threads=self._threads)
            times["bound"] = time.perf_counter() - t0
        decision = best.repaired()
        objective = routing_usage(inst, decision).objective
        self._keep(state, cands, decision)
        self._lp = lp if self._warm_basis else None
        self._refit = False
        self.last_changes = changes
        return SolveResult(method="j3o", status=status, objective=objective, decision=decision,
                           runtime_s=time.perf_counter() - t_start, upper_bound=bound, iterations=state.iterations,
                           message=message, phase_times=times)

    def _keep(self, state: LoopState, cands, decision: PlacementSolution) -> None:
        sel = np.flatnonzero(state.incumbent) if state.incumbent is not None else np.zeros(0, dtype=np.int64)
        self._kept = _Kept(prices=state.prices, decision=decision, incumbent_node=cands.node[sel].copy(),
                           incumbent_model=cands.model[sel].copy())

    def _limit_churn(self, lp: RoutingLP, start: Offloading, best: Offloading, old_x: np.ndarray,
                     old_y: np.ndarray, allowed: int) -> tuple[Offloading, int]:
        """The start onloading with the best of the new plan's changes that fit in ``allowed``
        model changes; never below the start (module docstring, step 5).

        Two cuts, each a 0/1 knapsack, the better by the LP kept: by node (a client's or an
        edge's new row of models as one item, valued by the traffic its new models carry in the
        new plan less what its unloaded models carried at the start; each node's memory and
        batch share depend on its own row only, so every choice fits) and by edge (an edge with
        its clients as one item, valued exactly by the edge LP's gain: the LP separates by edge).
        """
        inst = self._instance
        N = inst.n_clients
        cx_new, cy_new = carried_traffic(inst, best.raw.local, best.raw.edge)
        cx_old, cy_old = carried_traffic(inst, start.raw.local, start.raw.edge)
        rows_start = np.vstack([start.x, start.y])
        rows_best = np.vstack([best.x, best.y])
        carried_new, carried_old = np.vstack([cx_new, cy_new]), np.vstack([cx_old, cy_old])
        nodes = np.flatnonzero((rows_start != rows_best).any(axis=1))
        weights = [int(np.count_nonzero(rows_start[v] != rows_best[v])) for v in nodes]
        values = [float(carried_new[v][rows_best[v] & ~rows_start[v]].sum()
                        - carried_old[v][rows_start[v] & ~rows_best[v]].sum()) for v in nodes]
        rows = rows_start.copy()
        for i in _knapsack(weights, values, allowed):
            rows[nodes[i]] = rows_best[nodes[i]]
        candidates = [(rows[:N], rows[N:])]

        start_, order = inst.clients_by_edge
        groups = [np.sort(order[start_[e]:start_[e + 1]]) for e in range(inst.n_edges)]

        def per_edge(off: Offloading) -> np.ndarray:
            lp.solve(off.x, off.y)
            return np.array([e_lp.solution.objective if e_lp.P > 0 else 0.0 for e_lp in lp.edges])

        gain = per_edge(best) - per_edge(start)
        weights = [_changes(start.x[c], start.y[e], best.x[c], best.y[e]) for e, c in enumerate(groups)]
        x, y = np.array(start.x), np.array(start.y)
        for e in _knapsack(weights, list(gain), allowed):
            x[groups[e]], y[e] = best.x[groups[e]], best.y[e]
        candidates.append((x, y))

        result = start
        for x, y in candidates:
            off = lp.solve(x, y)
            if off.objective > result.objective:
                result = off
        return result, _changes(old_x, old_y, result.x, result.y)
