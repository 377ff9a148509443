"""Resource usage of a routing: the left-hand sides of constraints 1 and 4-7 of docs/placement.rst.

Every route entry adds its fraction times its row coefficients, taken from the program
(program.route_rows), to the rows it uses; the sums are NumPy bincounts. Rows are shares of
their capacity, as in the program: a row is met when its usage is at most 1. The verifier
(verify.py) recomputes all of this on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .instance import PlacementInstance
from .program import CLOUD, EDGE, LOCAL, route_objective, route_rows
from .solution import PlacementSolution


@dataclass(frozen=True, eq=False)
class RoutingUsage:
    """Row usages of one solution, as shares of the row's capacity unless a unit is given.

    assigned (N, K)   sum of all fractions of (n, t) (constraint 1: must be 1 where rate > 0)
    compute (N,)      client compute: sum_{t,m} rate*gflop*l / gflops_n               (4)
    uplink (N,)       uplink: sum_t rate*payload*(sum_m h + c) / uplink_n              (5)
    backhaul (E,)     backhaul: sum_{n of e, t} rate*payload*c / backhaul_e            (6)
    gpu (E,)          GPU time: sum_m g[m]*L[e,m]/speed_e (+ tau0[m]*y[e,m]/(W*speed_e)) (7)
    edge_load (E, M)  L[e,m] = sum_{n of e, t} rate*h, queries/s
    cap (E, M)        batch caps: L[e,m]*W/bmax[m], to be at most y[e,m] (window mode; else 0)
    objective         mean accuracy per query A
    n_uncoupled       routed entries (> tol) on a model that is not onloaded or does not serve t
    first_uncoupled   the first of them (local entries first, then edge entries), or -1
    """

    assigned: np.ndarray
    compute: np.ndarray
    uplink: np.ndarray
    backhaul: np.ndarray
    gpu: np.ndarray
    edge_load: np.ndarray
    cap: np.ndarray
    objective: float
    n_uncoupled: int
    first_uncoupled: int


def routing_usage(instance: PlacementInstance, solution: PlacementSolution, tol: float = 1e-9) -> RoutingUsage:
    """Every row usage of ``solution`` on ``instance`` (see RoutingUsage).

    An entry on a model that does not serve its task adds to the conservation sums and, at an
    edge, to the uplink and the edge's load, but carries no accuracy and no local compute.
    """
    solution.check_fits(instance.n_clients, instance.n_edges, instance.n_models, instance.n_tasks)
    inst, sol = instance, solution
    N, E, M, K = inst.n_clients, inst.n_edges, inst.n_models, inst.n_tasks
    lo, ed = sol.local, sol.edge
    edge_of = inst.client_edge

    def add(index, weights, size):
        return np.bincount(index, weights=weights, minlength=size)

    assigned = (sol.cloud + sol.drop).ravel() + add(lo.client * K + lo.task, lo.fraction, N * K) \
        + add(ed.client * K + ed.task, ed.fraction, N * K)

    # Cloud routes: every (n, t), dense.
    n_all, t_all = np.divmod(np.arange(N * K), K)
    rate_all, cloud = inst.rate.ravel(), sol.cloud.ravel()
    c_rows = route_rows(inst, CLOUD, n_all, t_all, t_all, rate_all)
    uplink = add(n_all, c_rows["uplink"] * cloud, N)
    backhaul = add(edge_of[n_all], c_rows["backhaul"] * cloud, E)
    served = float(route_objective(inst, CLOUD, t_all, t_all, rate_all) @ cloud)

    # Local routes: compute and accuracy only where the model serves the task.
    serves = inst.cover[lo.model, lo.task]
    n, t, m, f = lo.client[serves], lo.task[serves], lo.model[serves], lo.fraction[serves]
    r = inst.rate[n, t]
    compute = add(n, route_rows(inst, LOCAL, n, t, m, r)["compute"] * f, N)
    served += float(route_objective(inst, LOCAL, t, m, r) @ f)

    # Edge routes: uplink, GPU time and batch cap for every entry, accuracy where the model serves.
    n, t, m, f = ed.client, ed.task, ed.model, ed.fraction
    r = inst.rate[n, t]
    rows = route_rows(inst, EDGE, n, t, m, r)
    uplink += add(n, rows["uplink"] * f, N)
    e = edge_of[n]
    gpu = add(e, rows["gpu"] * f, E) + (inst.edge_fixed_share * sol.edge_models).sum(axis=1)
    edge_load = add(e * M + m, r * f, E * M).reshape(E, M)
    cap = add(e * M + m, rows["cap"] * f, E * M).reshape(E, M) if inst.batching else np.zeros((E, M))
    serves_edge = inst.cover[m, t]
    served += float(route_objective(inst, EDGE, t[serves_edge], m[serves_edge], r[serves_edge]) @ f[serves_edge])

    uncoupled = np.flatnonzero(np.concatenate([
        (lo.fraction > tol) & ~(sol.client_models[lo.client, lo.model] & inst.cover[lo.model, lo.task]),
        (ed.fraction > tol) & ~(sol.edge_models[e, m] & serves_edge)]))
    total = inst.total_rate
    return RoutingUsage(
        assigned=assigned.reshape(N, K), compute=compute, uplink=uplink, backhaul=backhaul, gpu=gpu,
        edge_load=edge_load, cap=cap, objective=served / total if total > 0 else 0.0,
        n_uncoupled=len(uncoupled), first_uncoupled=int(uncoupled[0]) if len(uncoupled) else -1)
