"""Make a nearly feasible routing exactly feasible (docs/placement.rst section 3, Certificate).

LP and MIP solvers meet rows to about 1e-7; the package promises 1e-9. Each over-full row is
scaled down to its capacity and the excess moves to drop. Scaling only lowers usage, so one pass
in a fixed order suffices and never breaks a row already mended.
"""

from __future__ import annotations

import numpy as np

from .instance import PlacementInstance
from .solution import PlacementSolution, Routes
from .program import CLOUD, EDGE, LOCAL, route_rows


def _shrink(usage_over_cap: np.ndarray) -> np.ndarray:
    """Factor per row that brings usage/capacity down to at most 1."""
    return np.where(usage_over_cap > 1.0, 1.0 / np.maximum(usage_over_cap, 1.0), 1.0)


def repair_routing(instance: PlacementInstance, solution: PlacementSolution) -> PlacementSolution:
    """Return ``solution`` with a routing that satisfies constraints 1, 2 and 4-7 of (P) to rounding.

    Keeps the onloading; clips fractions to [0, 1], removes entries on models that are not
    onloaded or do not serve the task and routing of zero-rate pairs, then scales down the
    fractions feeding any over-capacity row (conservation, client compute, backhaul, uplink, batch
    cap, GPU time) and sets drop = 1 - the rest.
    """
    inst = instance
    x, y = solution.client_models, solution.edge_models
    edge_of = inst.client_edge
    active = inst.rate > 0

    def clean(routes: Routes, onloaded: np.ndarray, node: np.ndarray) -> tuple:
        n, t, m = routes.client, routes.task, routes.model
        f = np.clip(routes.fraction, 0.0, 1.0)
        keep = (f > 0) & onloaded[node, m] & inst.cover[m, t] & active[n, t]
        return n[keep], t[keep], m[keep], f[keep]

    ln, lt, lm, lf = clean(solution.local, x, solution.local.client)
    hn, ht, hm, hf = clean(solution.edge, y, edge_of[solution.edge.client])
    cloud = np.where(active, np.clip(solution.cloud, 0.0, 1.0), 0.0)

    # Every entry's row coefficients (program.route_rows, as usage.py sums them), once: the
    # steps below only scale fractions.
    # After clean() every entry is onloaded and serves its task, so each counts in all its rows.
    N, M, K = inst.n_clients, inst.n_models, inst.n_tasks
    n_all, t_all = np.divmod(np.arange(N * K), K)
    cloud_rows = route_rows(inst, CLOUD, n_all, t_all, t_all, inst.rate.ravel())
    local_rows = route_rows(inst, LOCAL, ln, lt, lm, inst.rate[ln, lt])
    edge_rows = route_rows(inst, EDGE, hn, ht, hm, inst.rate[hn, ht])

    def add(index, weights, size):
        return np.bincount(index, weights=weights, minlength=size)

    def assigned():
        return (cloud.ravel() + add(ln * K + lt, lf, N * K) + add(hn * K + ht, hf, N * K)).reshape(N, K)

    # 1. conservation: the routed share of each (n, t) is at most 1
    k = _shrink(assigned())
    lf, hf, cloud = lf * k[ln, lt], hf * k[hn, ht], cloud * k
    # 4. client compute
    k = _shrink(add(ln, local_rows["compute"] * lf, N))
    lf = lf * k[ln]
    # 6. backhaul (before uplink: it scales cloud only)
    k = _shrink(add(edge_of[n_all], cloud_rows["backhaul"] * cloud.ravel(), inst.n_edges))
    cloud = cloud * k[edge_of][:, None]
    # 5. uplink: edge and cloud traffic of the client
    k = _shrink(add(n_all, cloud_rows["uplink"] * cloud.ravel(), N) + add(hn, edge_rows["uplink"] * hf, N))
    hf, cloud = hf * k[hn], cloud * k[:, None]
    he = edge_of[hn]
    # 7. batch cap per (edge, model): L[e,m]*W/bmax[m] <= y[e,m]
    if inst.batching:
        cap = add(he * M + hm, edge_rows["cap"] * hf, inst.n_edges * M).reshape(inst.n_edges, M)
        over = cap > y
        k = np.ones_like(cap)
        k[over] = y[over] / cap[over]   # only where it scales (no overflow from tiny loads elsewhere)
        hf = hf * k[he, hm]
    # 7. GPU time: shrink the variable part so that fixed + variable <= 1
    fixed = (inst.edge_fixed_share * y).sum(axis=1)
    variable = add(he, edge_rows["gpu"] * hf, inst.n_edges)
    room = np.maximum(1.0 - fixed, 0.0)
    k = np.where(variable > room, room / np.maximum(variable, 1e-300), 1.0)
    hf = hf * k[he]

    local, edge = Routes(ln, lt, lm, lf), Routes(hn, ht, hm, hf)
    drop = np.where(active, np.clip(1.0 - assigned(), 0.0, 1.0), 0.0)
    return PlacementSolution(x, y, local, edge, cloud, drop)


def carried_traffic(instance: PlacementInstance, local: Routes, edge: Routes) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy * queries/s each onloaded model carries in routes ``local`` and ``edge``
    (fractions clipped to [0, 1]): (N, M) for the clients' models, (E, M) for the edges'."""
    inst = instance
    carried_x, carried_y = np.zeros((inst.n_clients, inst.n_models)), np.zeros((inst.n_edges, inst.n_models))
    for routes, carried, node in ((local, carried_x, local.client), (edge, carried_y, inst.client_edge[edge.client])):
        np.add.at(carried, (node, routes.model), np.clip(routes.fraction, 0.0, 1.0)
                  * inst.rate[routes.client, routes.task] * inst.accuracy[routes.model, routes.task])
    return carried_x, carried_y


#: Relative excess of a node's memory (or an edge's fixed GPU share) an onloading may keep and
#: still count as fitting: the verifier's default tolerance.
ONLOAD_TOL = 1e-9


def fit_onloading(instance: PlacementInstance, x: np.ndarray, y: np.ndarray, carried_x: np.ndarray,
                  carried_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Onloading (x (N, M), y (E, M)) cut to the instance's capacities.

    On each client over its memory, and each edge over its memory or (window mode) with fixed
    batch shares above 1, models are unloaded in order of the traffic they carry
    (``carried_x``, ``carried_y``: accuracy * queries/s, ``carried_traffic``), the smallest first
    on ties, until the node fits. Used on a MIP's rounded onloading and on a re-plan's kept one
    after capacities change. Returns the inputs themselves when every node fits, else copies.
    """
    inst = instance
    share = (inst.edge_fixed_share * y).sum(axis=1)
    over_x = x @ inst.memory_mb > inst.client_memory_mb * (1 + ONLOAD_TOL)
    over_y = (y @ inst.memory_mb > inst.edge_memory_mb * (1 + ONLOAD_TOL)) | (share > 1 + ONLOAD_TOL)
    if not (over_x.any() or over_y.any()):
        return x, y
    x, y = x.copy(), y.copy()
    for n in np.flatnonzero(over_x):
        for m in sorted(np.flatnonzero(x[n]), key=lambda m: (carried_x[n, m], inst.memory_mb[m], m)):
            if x[n] @ inst.memory_mb <= inst.client_memory_mb[n]:
                break
            x[n, m] = False
    for e in np.flatnonzero(over_y):
        for m in sorted(np.flatnonzero(y[e]), key=lambda m: (carried_y[e, m], inst.memory_mb[m], m)):
            if y[e] @ inst.memory_mb <= inst.edge_memory_mb[e] and inst.edge_fixed_share[e] @ y[e] <= 1.0:
                break
            y[e, m] = False
    return x, y
