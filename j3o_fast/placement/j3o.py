"""J3O: the alternating onloading / offloading algorithm of docs/placement.rst section 3.

Outer loop: greedy onloading at prices theta (step i), routing LP for that onloading (step ii),
price update from the LP duals or a subgradient (step iii); keep the best (onloading, routing)
seen; stop when the onloading repeats, when A changes by less than ``tol`` (relative), when the
best has not improved by more than ``min_gain`` (relative) for ``patience`` rounds, or after
``max_iter`` rounds. Then polish: unload models that carry no traffic, refill the freed memory
greedily at the final prices, re-solve, keep it if better; then fill the clients' free memory
(``_fill_client_memory``, which never lowers A). Last, the edge-model search of local_search.py
alternated with the clients' fill until neither gains (or its budget of LP solves is spent).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from .._validate import Bool, Int, OneOf, Real, Threads, check_options
from ..result import SolveResult
from .instance import PlacementInstance
from .mip import lp_upper_bound
from .local_search import SearchBudget, improve_edges
from .offload import Offloading, RoutingLP
from .onload import build_candidates, greedy_onload
from .prices import Prices, dual_update, relaxed_usage, subgradient_update
from .usage import routing_usage

PRICE_UPDATES = ("dual", "subgradient")


def _key(x: np.ndarray, y: np.ndarray) -> bytes:
    return np.packbits(x).tobytes() + b"|" + np.packbits(y).tobytes()


def _polish(instance: PlacementInstance, cands, lp: RoutingLP, best: Offloading, theta: Prices) -> Offloading:
    """Unload the models that carry no traffic, refill the freed memory greedily at prices
    ``theta``, keep the better; then fill the clients' free memory."""
    keep_x, keep_y = best.client_models_used, best.edge_models_used
    refill = greedy_onload(instance, cands, theta, cloud_available=True, fixed=(keep_x, keep_y), pool=lp.pool)
    if _key(refill.x, refill.y) != _key(best.x, best.y):
        off = lp.solve(refill.x, refill.y)
        if off.objective > best.objective:
            best = off
    return _fill_client_memory(instance, cands, lp, best)


def _fill_client_memory(instance: PlacementInstance, cands, lp: RoutingLP, best: Offloading) -> Offloading:
    """Fill the clients' free memory with local models; the better of ``best`` and the result.

    A local model costs nothing but client memory (no fixed time, unlike an edge model), so more
    local models never lower the routing LP. The greedy that places them values a model against
    the cloud and the client's own models only, at the LP's duals: the edge's models are left
    out, because where the edge's capacity binds a local model takes the overflow, which the
    relaxed greedy (one best route per pair) cannot see.
    """
    x, y = best.x, best.y
    fill = greedy_onload(instance, cands, best.duals, cloud_available=True, fixed=(x, np.zeros_like(y)),
                         eligible=~cands.is_edge, pool=lp.pool)
    if not (fill.x & ~x).any():
        return best
    off = lp.solve(fill.x, y)
    return off if off.objective > best.objective else best


#: LP solves the edge search may spend on each edge, over all its passes (the ``search_solves``
#: option). Work, not seconds, so the result is the same on any machine and thread count. The main
#: loop spends about 10-15 solves per edge; the search converges within 60 on the generated
#: families up to 10,000 clients (at most 52 at 1,000, 5,000 and 10,000 clients in window mode).
SEARCH_SOLVES = 64


def _search_and_fill(instance: PlacementInstance, cands, lp: RoutingLP, best: Offloading, fill: bool, times: dict,
                     *, tol: float, budget: SearchBudget) -> Offloading:
    """Alternate the edge-model search and (``fill``) the clients' memory fill until neither gains.

    Block-coordinate ascent: new edge models change which local models pay, and new local
    models free edge capacity for other edge models, so each step can open moves for the other.
    Stops when the search finds nothing (or its ``budget`` is spent), or when the fill raises A
    by less than ``tol`` (relative; the main loop's stopping rule).
    """
    while True:
        if budget.deadline is not None and time.perf_counter() > budget.deadline:
            budget.timed_out = True   # the caller's limit has passed: no search at all
            break
        t0 = time.perf_counter()
        searched = improve_edges(instance, lp, best, budget=budget)
        times["local_search"] += time.perf_counter() - t0
        if searched is best:
            break
        best = searched
        if fill:  # new edge models: the clients' fill may differ
            t0 = time.perf_counter()
            filled = _fill_client_memory(instance, cands, lp, best)
            times["polish"] += time.perf_counter() - t0
            gained = filled.objective > best.objective * (1 + tol)
            best = filled
            if not gained:
                break
    return best


@dataclass
class LoopState:
    """Where J3O's main loop stopped: the final ``prices``, the ``best`` offloading seen, the
    greedy's last selection as ``incumbent`` (C,) bool over the candidates it was built on, the
    rounds run and the status ('feasible' or 'time_limit')."""

    prices: Prices
    best: Offloading | None
    incumbent: np.ndarray | None
    iterations: int
    status: str


def _main_loop(instance: PlacementInstance, cands, lp: RoutingLP, times: dict, prices: Prices, *, max_iter: int,
               patience: int, tol: float, min_gain: float, price_update: str, damping: float, step0: float,
               hysteresis: float, time_limit: float | None, t_start: float, best: Offloading | None = None,
               incumbent: np.ndarray | None = None, warm: bool = False) -> LoopState:
    """J3O's outer loop (module docstring) from ``prices``.

    Cold (``warm=False``, solve_j3o): from theta = 0, the first pass without the cloud and the
    first price update taking the duals whole. Warm (the planner): from kept prices, ``best``
    and ``incumbent`` (C,) bool, every pass with the cloud and every update damped.
    """
    best_iteration = 0
    seen: set[bytes] = set()
    previous = -math.inf if best is None else best.objective
    status = "feasible"
    iterations = 0

    def clock(phase, t0):
        times[phase] += time.perf_counter() - t0

    for k in range(max_iter):
        t0 = time.perf_counter()
        # At theta = 0 the cloud looks free and better than every model: the first pass treats it
        # as unavailable so that it onloads what the edge and clients can serve.
        onload = greedy_onload(instance, cands, prices, cloud_available=warm or k > 0, incumbent=incumbent,
                               incumbent_bonus=hysteresis, pool=lp.pool)
        incumbent = np.zeros(cands.n_candidates, dtype=bool)
        incumbent[onload.selected] = True
        clock("greedy", t0)
        key = _key(onload.x, onload.y)
        if key in seen:
            break
        seen.add(key)

        t0 = time.perf_counter()
        off = lp.solve(onload.x, onload.y)
        clock("lp", t0)
        iterations = k + 1
        if best is None or off.objective > best.objective * (1 + 1e-9):
            # Gains below min_gain are kept but do not reset patience: a loop creeping up by
            # 0.01% a round costs LP solves for what the polish and the search find anyway.
            if best is None or off.objective > best.objective * (1 + min_gain):
                best_iteration = k
            best = off

        t0 = time.perf_counter()
        if price_update == "dual":
            # Damping averages LP duals to calm their oscillation; the start theta = 0 is no
            # estimate of any price, so the first update takes the duals whole (damped toward
            # 0 they undervalue every resource and the second onloading collapses).
            prices = dual_update(prices, off.duals, 1.0 if (k == 0 and not warm) else damping)
        else:
            usage = relaxed_usage(instance, cands, onload)
            prices = subgradient_update(prices, usage, step0 / math.sqrt(k + 1))
        clock("prices", t0)
        if abs(off.objective - previous) <= tol * max(abs(off.objective), 1e-12):
            break
        previous = off.objective
        if k - best_iteration >= patience:
            break
        if time_limit is not None and time.perf_counter() - t_start > time_limit:
            status = "time_limit"
            break
    return LoopState(prices, best, incumbent, iterations, status)


def _finish(instance: PlacementInstance, cands, lp: RoutingLP, best: Offloading | None, prices: Prices, times: dict,
            *, polish: bool, local_search: bool, search_solves: int, tol: float, time_limit: float | None,
            t_start: float, status: str, refill: bool = True) -> tuple[Offloading | None, str]:
    """The polish at ``prices`` and the edge search with the clients' fill after the main loop;
    returns the best offloading and the status ('time_limit' if the search's deadline cut it).
    ``refill=False`` leaves out the polish's unload-and-refill (the clients' fill stays)."""
    if polish and best is not None:
        t0 = time.perf_counter()
        # At the final prices: a second refill at the best onloading's prices gained 1e-5
        # in mean J3O/OPT over the quality study, for a tenth more time.
        best = (_polish(instance, cands, lp, best, prices) if refill
                else _fill_client_memory(instance, cands, lp, best))
        times["polish"] += time.perf_counter() - t0

    if local_search and best is not None:
        budget = SearchBudget(solves_per_edge=search_solves,
                              deadline=None if time_limit is None else t_start + time_limit)
        best = _search_and_fill(instance, cands, lp, best, polish, times, tol=tol, budget=budget)
        if budget.timed_out:
            status = "time_limit"
    return best, status


@check_options(max_iter=Int(1), patience=Int(1), tol=Real(0.0), min_gain=Real(0.0),
               price_update=OneOf(*PRICE_UPDATES), damping=Real(0.0, 1.0, low_open=True),
               step0=Real(0.0, low_open=True), hysteresis=Real(0.0), polish=Bool(), local_search=Bool(),
               search_solves=Int(0), with_bound=Bool(),
               time_limit=Real(0.0, low_open=True, allow_none=True, unit="seconds"), threads=Threads())
def solve_j3o(instance: PlacementInstance, *, max_iter: int = 30, patience: int = 3, tol: float = 1e-5,
              min_gain: float = 1e-3, price_update: str = "dual",
              damping: float = 0.3, step0: float = 1.0, hysteresis: float = 0.003, polish: bool = True,
              local_search: bool = True, search_solves: int = SEARCH_SOLVES, with_bound: bool = False,
              time_limit: float | None = None, threads: int | None = None) -> SolveResult:
    """Solve (P) approximately by J3O; the returned solution always verifies.

    Parameters follow docs/placement.rst section 3: ``tol``, ``patience`` and ``min_gain`` the stopping
    rules of the module docstring; ``price_update`` 'dual' (theta <- (1-a)*theta + a*duals,
    a = ``damping``; the first update, from theta = 0, takes the duals whole) or 'subgradient'
    (eta_k = step0/sqrt(k+1)); ``hysteresis`` (accuracy per query) favours the models
    of the previous onloading in the greedy, so a price change swaps a model only for a real gain
    (fewer LP pivots, less oscillation); ``polish`` the unload-and-refill step and the clients'
    memory fill; ``local_search`` the edge-model moves of local_search.py alternated with the
    clients' fill, at most ``search_solves`` LP solves per edge (``SEARCH_SOLVES``); ``with_bound``
    also solves the LP relaxation for ``upper_bound``; ``threads`` edge LPs are solved at once
    (None: every usable core). Every budget counts work, so the same instance and options give
    the same decision whatever the machine's load or ``threads``; only ``time_limit`` (seconds)
    stops by the clock, between LP solves, and then the status says so.
    Status 'feasible' (a heuristic), or 'time_limit' when ``time_limit`` stopped the main loop or
    the search.

    >>> from j3o_fast.placement import generate, verify
    >>> inst = generate("nyu", 30, 2, seed=1, window=0.05)
    >>> res = solve_j3o(inst)
    >>> verify(inst, res.decision).ok, res.status
    (True, 'feasible')
    """
    t_start = time.perf_counter()
    times = {"candidates": 0.0, "greedy": 0.0, "lp": 0.0, "prices": 0.0, "polish": 0.0, "local_search": 0.0}

    def clock(phase, t0):
        times[phase] += time.perf_counter() - t0

    t0 = time.perf_counter()
    cands = build_candidates(instance)
    lp = RoutingLP(instance, threads=threads)
    clock("candidates", t0)

    try:
        state = _main_loop(instance, cands, lp, times, Prices.zeros(instance), max_iter=max_iter, patience=patience,
                           tol=tol, min_gain=min_gain, price_update=price_update, damping=damping, step0=step0,
                           hysteresis=hysteresis, time_limit=time_limit, t_start=t_start)
        best, status = _finish(instance, cands, lp, state.best, state.prices, times, polish=polish,
                               local_search=local_search, search_solves=search_solves, tol=tol,
                               time_limit=time_limit, t_start=t_start, status=state.status)
        iterations = state.iterations
    finally:
        lp.close()

    bound = None
    if with_bound:
        t0 = time.perf_counter()
        bound = lp_upper_bound(instance, threads=threads)
        times["bound"] = time.perf_counter() - t0
    assert best is not None   # set by the first iteration, which always runs
    solution = best.repaired()
    objective = routing_usage(instance, solution).objective
    return SolveResult(method="j3o", status=status, objective=objective, decision=solution,
                       runtime_s=time.perf_counter() - t_start, upper_bound=bound, iterations=iterations,
                       phase_times=times)
