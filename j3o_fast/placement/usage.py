"""Resource usage of a routing: the left-hand sides of constraints 1 and 4-7 of docs/placement.rst.

The accumulation runs in compiled code (csrc/placement_usage.c); this layer checks shapes and
turns edge loads into GPU time shares.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _placement_usage
from ..errors import InvalidInputError
from .instance import PlacementInstance
from .solution import PlacementSolution


@dataclass(frozen=True, eq=False)
class RoutingUsage:
    """Row usages of one solution. Units are those of the capacities they compare with.

    assigned (N, K)      sum of all fractions of (n, t) (constraint 1: must be 1 where rate > 0)
    client_gflops (N,)   sum_{t,m} rate*gflop*l                       vs clients.gflops
    uplink_mbps (N,)     sum_t rate*payload*(sum_m h + c)             vs clients.uplink_mbps
    backhaul_mbps (E,)   sum_{n of e, t} rate*payload*c              vs edges.backhaul_mbps
    edge_load (E, M)     L[e,m] = sum_{n of e, t} rate*h, queries/s   vs max_batch/W in window mode
    gpu_share (E,)       constraint 7's left-hand side                vs 1
    objective            mean accuracy per query A
    n_uncoupled          routed entries (> tol) on a model that is not onloaded or does not serve t
    """

    assigned: np.ndarray
    client_gflops: np.ndarray
    uplink_mbps: np.ndarray
    backhaul_mbps: np.ndarray
    edge_load: np.ndarray
    gpu_share: np.ndarray
    objective: float
    n_uncoupled: int
    first_uncoupled: int


def gpu_share(instance: PlacementInstance, edge_models: np.ndarray, edge_load: np.ndarray) -> np.ndarray:
    """Constraint 7 left-hand side per edge.

    no batching: sum_m (tau0[m]+tau1[m]) * L[e,m] / speed_e
    window W:    sum_m (tau0[m]*y[e,m]/W + tau1[m]*L[e,m]) / speed_e
    """
    variable = edge_load @ instance.edge_query_cost / instance.edge_speed
    fixed = (instance.edge_fixed_share * edge_models).sum(axis=1)
    return variable + fixed


def _check_shapes(instance: PlacementInstance, solution: PlacementSolution) -> None:
    N, E, M, K = instance.n_clients, instance.n_edges, instance.n_models, instance.n_tasks
    expected = {"clients": N, "edges": E, "models": M, "tasks": K}
    got = dict(zip(("clients", "edges", "models", "tasks"), solution.shape))
    for what, size in expected.items():
        if got[what] != size:
            raise InvalidInputError(
                "solution", f"is for {got[what]} {what} but the instance has {size}"
            )


def routing_usage(instance: PlacementInstance, solution: PlacementSolution, tol: float = 1e-9) -> RoutingUsage:
    """Compute every row usage of ``solution`` on ``instance`` (see RoutingUsage)."""
    _check_shapes(instance, solution)
    loc, edg = solution.local, solution.edge
    # The binding refuses out-of-range entries, naming them (routing.local[i] / routing.edge[i]).
    (_, _, assigned, client_gflops, uplink, backhaul, load, served, n_unc, first_unc) = (
        _placement_usage.routing_usage(
            instance.rate, instance.accuracy, instance.gflop, instance.cover.view(np.uint8),
            instance.payload_mbit, instance.cloud_accuracy, instance.client_edge, instance.n_edges,
            loc.client, loc.task, loc.model, loc.fraction,
            edg.client, edg.task, edg.model, edg.fraction,
            solution.cloud, solution.drop,
            solution.client_models.view(np.uint8), solution.edge_models.view(np.uint8), tol,
        )
    )
    total = instance.total_rate
    return RoutingUsage(
        assigned=assigned, client_gflops=client_gflops, uplink_mbps=uplink, backhaul_mbps=backhaul,
        edge_load=load, gpu_share=gpu_share(instance, solution.edge_models, load),
        objective=served / total if total > 0 else 0.0,
        n_uncoupled=int(n_unc), first_uncoupled=int(first_unc),
    )
