"""Baselines of docs/placement.rst section 4, each an onloading rule followed by the routing LP.

accuracy-greedy  one greedy pass valuing each model by its accuracy alone (no prices, no cloud)
local-only       client models only (greedy at zero prices), no offloading at all
cloud-only       nothing onloaded; every query goes to the cloud as bandwidth allows
edge-only        edge models only (greedy at zero prices), no local models and no cloud
single-task      J3O restricted to the single-task models of the library
random           each node onloads models in a seeded random order while they fit
j3o-unaware      window instances: J3O's onloading for the same instance without batching,
                 evaluated with the batching constraints (the value of batching awareness)
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from .._validate import Seed, check_options
from ..errors import InvalidInputError
from ..result import SolveResult
from .instance import PlacementInstance
from .offload import RoutingLP
from .onload import build_candidates, greedy_onload
from .prices import Prices
from .solution import PlacementSolution, Routes
from .usage import routing_usage


def _finish(method: str, instance: PlacementInstance, x, y, t0: float, *, cloud: bool = True,
            message: str = "") -> SolveResult:
    """Route the onloading (x, y) optimally with the LP and package the verified result."""
    solution = RoutingLP(instance, cloud=cloud).solve(x, y).repaired()
    return SolveResult(method=method, status="feasible", objective=routing_usage(instance, solution).objective,
                       decision=solution, runtime_s=time.perf_counter() - t0, message=message)


def _greedy_at_zero(instance: PlacementInstance, clients: bool, edges: bool):
    cands = build_candidates(instance)
    eligible = np.where(cands.is_edge, edges, clients)
    on = greedy_onload(instance, cands, Prices.zeros(instance), cloud_available=False, eligible=eligible)
    return on.x, on.y


@check_options()
def solve_accuracy_greedy(instance: PlacementInstance) -> SolveResult:
    t0 = time.perf_counter()
    x, y = _greedy_at_zero(instance, clients=True, edges=True)
    return _finish("accuracy-greedy", instance, x, y, t0)


@check_options()
def solve_local_only(instance: PlacementInstance) -> SolveResult:
    t0 = time.perf_counter()
    x, y = _greedy_at_zero(instance, clients=True, edges=False)
    return _finish("local-only", instance, x, y, t0, cloud=False)


@check_options()
def solve_edge_only(instance: PlacementInstance) -> SolveResult:
    t0 = time.perf_counter()
    x, y = _greedy_at_zero(instance, clients=False, edges=True)
    return _finish("edge-only", instance, x, y, t0, cloud=False)


@check_options()
def solve_cloud_only(instance: PlacementInstance) -> SolveResult:
    t0 = time.perf_counter()
    N, E, M = instance.n_clients, instance.n_edges, instance.n_models
    return _finish("cloud-only", instance, np.zeros((N, M), bool), np.zeros((E, M), bool), t0)


@check_options(seed=Seed())
def solve_random(instance: PlacementInstance, *, seed=0) -> SolveResult:
    """Each client and edge takes models in a random order (seeded) while they fit memory and,
    at edges in window mode, the fixed batch time."""
    t0 = time.perf_counter()
    inst = instance
    rng = np.random.default_rng(seed)
    N, E, M = inst.n_clients, inst.n_edges, inst.n_models
    x = np.zeros((N, M), bool)
    y = np.zeros((E, M), bool)
    for nodes, out, capacity, share in ((range(N), x, inst.client_memory_mb, None),
                                        (range(E), y, inst.edge_memory_mb, inst.edge_fixed_share)):
        for v in nodes:
            left, share_left = capacity[v], 1.0
            for m in rng.permutation(M):
                need_share = share[v, m] if share is not None else 0.0
                if inst.memory_mb[m] <= left and need_share <= share_left:
                    out[v, m] = True
                    left -= inst.memory_mb[m]
                    share_left -= need_share
    return _finish("random", inst, x, y, t0)


def solve_single_task(instance: PlacementInstance, **options) -> SolveResult:
    """J3O on the sub-library of models that serve exactly one task (section 4)."""
    from .j3o import solve_j3o

    t0 = time.perf_counter()
    inst = instance
    single = np.nonzero(inst.cover.sum(axis=1) == 1)[0]
    if single.size == 0:
        raise InvalidInputError("models", "single-task needs at least one single-task model, got none")
    sub = replace(inst, model_names=tuple(inst.model_names[m] for m in single),
                  accuracy=inst.accuracy[single], gflop=inst.gflop[single], cover=inst.cover[single],
                  memory_mb=inst.memory_mb[single], batch_tau0_s=inst.batch_tau0_s[single],
                  batch_tau1_s=inst.batch_tau1_s[single], max_batch=inst.max_batch[single])
    res = solve_j3o(sub, **options)
    s = res.decision
    N, E, M = inst.n_clients, inst.n_edges, inst.n_models
    x = np.zeros((N, M), bool)
    y = np.zeros((E, M), bool)
    x[:, single] = s.client_models
    y[:, single] = s.edge_models
    remap = lambda r: Routes(r.client, r.task, single[r.model], r.fraction)  # noqa: E731
    solution = PlacementSolution(x, y, remap(s.local), remap(s.edge), s.cloud, s.drop)
    return SolveResult(method="single-task", status=res.status, objective=routing_usage(inst, solution).objective,
                       decision=solution, runtime_s=time.perf_counter() - t0, iterations=res.iterations)


def solve_j3o_unaware(instance: PlacementInstance, **options) -> SolveResult:
    """J3O planned as if the edge did not batch, then routed under the real batching constraints."""
    from .j3o import solve_j3o

    t0 = time.perf_counter()
    if not instance.batching:
        raise InvalidInputError("batching_window_s", "j3o-unaware compares against batching; the instance has none")
    plain = replace(instance, batching_window_s=None)
    res = solve_j3o(plain, **options)
    y = res.decision.edge_models.copy()
    # keep the fixed batch time of each edge feasible: drop the least used models first
    share = instance.edge_fixed_share
    for e in np.nonzero((share * y).sum(axis=1) > 1.0)[0]:
        load = routing_usage(plain, res.decision).edge_load[e]
        for m in sorted(np.nonzero(y[e])[0], key=lambda m: load[m]):
            if (share[e] * y[e]).sum() <= 1.0:
                break
            y[e, m] = False
    return _finish("j3o-unaware", instance, res.decision.client_models, y, t0)
