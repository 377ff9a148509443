"""The placement program (P), written once: its routes, their objective and their capacity rows.

docs/placement, section "The program (P)". A pair s = (client n, task t) with rate r_s > 0
(queries/s) is served by routes of three kinds: ``LOCAL`` (model m on client n), ``EDGE`` (model
m on n's edge e) and ``CLOUD``. The fraction of s a route carries is a column of (P). Its
objective is r_s * acc (accuracy * queries/s), and its entry in a capacity row, divided by the
row's capacity, is r_s times the per-query coefficient:

    row        routes        per-query coefficient                  constraint
    compute    LOCAL         gflop[m,t] / gflops_n                  (4)
    uplink     EDGE, CLOUD   payload[t] / uplink_n                  (5)
    backhaul   CLOUD         payload[t] / backhaul_e                (6)
    gpu        EDGE          g[m] / speed_e                         (7)
    cap        EDGE          W / bmax[m]   (window mode only)       (7), batch cap

with g[m] = tau0[m] + tau1[m] without batching and tau1[m] in window mode
(``PlacementInstance.edge_query_cost``). The per-query functions below serve NumPy arrays (the
MIP, the edge LPs, the search's pricing) and, compiled by Numba (the ``*_jit`` twins), the scalar
loops of the onloading and price kernels, so every solver reads the program from this one text.
The verifier (verify.py) deliberately recomputes all of it without this module.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._numba_cache import CACHE

#: Route kinds, the codes the edge LPs, the search, the greedy and the kernels share. ``DROP``
#: names only the greedy's relaxed best route of a pair (the LPs and the MIP have no drop
#: column: what a pair does not route is dropped).
LOCAL, EDGE, CLOUD, DROP = 0, 1, 2, 3

#: The capacity rows each route kind has an entry in, in this order.
ROWS = {LOCAL: ("compute",), EDGE: ("uplink", "gpu", "cap"), CLOUD: ("uplink", "backhaul")}

#: Largest coefficient of a route in a capacity row divided by its capacity. A route whose
#: coefficient is larger could carry less than 1/MAX_ROUTE_COEF of its pair's queries before
#: using up that capacity (a link of 1e-300 Mbit/s, a payload of 1e30 Mbit, a batching window of
#: 1e30 s): it is not offered to the LP, the MIP or J3O, which loses at most that share of the
#: pair's accuracy (the MIP's default relative gap is of the same size). HiGHS refuses matrix
#: entries above 1e15, and its simplex fails well below that with rows scaled by their
#: capacities. Realistic routes use a few capacities at most (the generated families: < 100).
MAX_ROUTE_COEF = 1e6


def compute_per_query(gflop, client_gflops):
    """Share of client n's compute one query/s of task t on local model m uses: gflop[m,t] / gflops_n."""
    return gflop / client_gflops


def uplink_per_query(payload, client_uplink):
    """Share of client n's uplink one query/s of task t sent off the client uses: payload[t] / uplink_n."""
    return payload / client_uplink


def backhaul_per_query(payload, edge_backhaul):
    """Share of edge e's backhaul one query/s of task t sent to the cloud uses: payload[t] / backhaul_e."""
    return payload / edge_backhaul


def gpu_per_query(query_cost, edge_speed):
    """Share of edge e's GPU time one query/s on edge model m uses: g[m] / speed_e."""
    return query_cost / edge_speed


def cap_per_query(window, max_batch):
    """Share of model m's batch cap one query/s uses (window mode): W / bmax[m]."""
    return window / max_batch


# Compiled twins for the kernels' scalar loops: the same text, inlined where they are called.
compute_per_query_jit = njit(cache=CACHE, inline="always")(compute_per_query)
uplink_per_query_jit = njit(cache=CACHE, inline="always")(uplink_per_query)
backhaul_per_query_jit = njit(cache=CACHE, inline="always")(backhaul_per_query)
gpu_per_query_jit = njit(cache=CACHE, inline="always")(gpu_per_query)
cap_per_query_jit = njit(cache=CACHE, inline="always")(cap_per_query)


def route_rows(instance, kind: int, client: np.ndarray, task: np.ndarray, model: np.ndarray,
               rate: np.ndarray) -> dict[str, np.ndarray]:
    """Capacity-row coefficients of routes (``kind``, client n, task t, model m) carrying pairs
    of rate r: ``{row: r * per-query coefficient}`` over the rows ``ROWS[kind]`` (no ``cap`` row
    without batching); ``model`` is ignored for the cloud. Arrays of one length."""
    inst = instance
    if kind == LOCAL:
        return {"compute": rate * compute_per_query(inst.gflop[model, task], inst.client_gflops[client])}
    uplink = rate * uplink_per_query(inst.payload_mbit[task], inst.client_uplink_mbps[client])
    edge = inst.client_edge[client]
    if kind == CLOUD:
        return {"uplink": uplink,
                "backhaul": rate * backhaul_per_query(inst.payload_mbit[task], inst.edge_backhaul_mbps[edge])}
    rows = {"uplink": uplink, "gpu": rate * gpu_per_query(inst.edge_query_cost[model], inst.edge_speed[edge])}
    if inst.batching:
        rows["cap"] = rate * cap_per_query(inst.batching_window_s, inst.max_batch[model])
    return rows


def route_objective(instance, kind: int, task: np.ndarray, model: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Objective coefficients r * acc of routes (accuracy * queries/s): acc[m,t], or the cloud's acc[t]."""
    if kind == CLOUD:
        return rate * instance.cloud_accuracy[task]
    return rate * instance.accuracy[model, task]


def routable(rows: dict[str, np.ndarray]) -> np.ndarray:
    """True for the routes whose every capacity-row coefficient is at most ``MAX_ROUTE_COEF``."""
    ok = None
    for coefficient in rows.values():
        ok = coefficient <= MAX_ROUTE_COEF if ok is None else ok & (coefficient <= MAX_ROUTE_COEF)
    return ok


def cost_unit(pair_rate: np.ndarray, total_rate: float) -> tuple[float, float]:
    """LP cost unit and objective scale for routing pairs with these rates (queries/s).

    Costs r * acc are divided by the mean pair rate, so they are of order one whatever the
    instance size: divided by the total rate they would shrink to ~1/P, and HiGHS' absolute dual
    tolerance (1e-7) would stop short of the optimum on large instances. The LP value times
    ``objective_scale`` = unit / total_rate is the pairs' contribution to A (0 without pairs).
    """
    if len(pair_rate) == 0:
        return 1.0, 0.0
    unit = float(pair_rate.mean())
    return unit, unit / total_rate
