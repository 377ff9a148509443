"""Independent check of a placement solution against every constraint of (P), docs/placement.rst section 2.

Independent by construction: the row usages and the objective are recomputed here, in plain
NumPy, straight from the instance's fields and the solution's routing. No code the solvers use
(the program's coefficients, the compiled usage kernel, the repair) is called, so a slip in any
of them shows as a violation or as a claimed objective that does not match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._violations import Violation, summarize

from .instance import PlacementInstance
from .solution import PlacementSolution

#: Default tolerance: fractions absolutely, capacity rows relative to their capacity.
DEFAULT_TOL = 1e-9


@dataclass(frozen=True)
class VerificationReport:
    """``ok`` iff no constraint is violated beyond ``tol``; ``objective`` is A recomputed from the routing."""

    ok: bool
    objective: float
    violations: tuple
    tol: float

    def __bool__(self) -> bool:
        return self.ok

    def summary(self) -> str:
        return summarize(f"objective (recomputed) {self.objective:.6f}; ", self.violations, self.tol)


def _excess(report: list, name: str, excess: np.ndarray, where, tol: float) -> None:
    """Record rows whose ``excess`` (usage beyond the limit, normalised) is above ``tol``."""
    bad = excess > tol
    if bad.any():
        flat = np.where(bad, excess, -np.inf)
        worst = np.unravel_index(int(np.argmax(flat)), excess.shape)
        report.append(Violation(name, int(bad.sum()), where(*worst), float(excess[worst])))


@dataclass(frozen=True, eq=False)
class _Usage:
    assigned: np.ndarray        # (N, K) sum of the fractions of (n, t)
    compute: np.ndarray         # (N,) GFLOP/s on each client
    uplink: np.ndarray          # (N,) Mbit/s sent up by each client
    backhaul: np.ndarray        # (E,) Mbit/s sent to the cloud by each edge
    load: np.ndarray            # (E, M) queries/s on each edge model
    gpu: np.ndarray             # (E,) GPU time share
    objective: float            # mean accuracy per query A
    uncoupled: np.ndarray       # entries (local first, then edge) routed > tol on a model not onloaded or not serving t


def _recompute(instance: PlacementInstance, solution: PlacementSolution, tol: float) -> _Usage:
    """Left-hand sides of constraints 1 and 4-7 and the objective, from the instance's raw fields:

        compute_n  = sum_{t,m} r[n,t]*gflop[m,t]*l        uplink_n   = sum_t r[n,t]*payload[t]*(sum_m h + c)
        backhaul_e = sum_{n of e, t} r[n,t]*payload[t]*c   L[e,m]     = sum_{n of e, t} r[n,t]*h
        gpu_e      = sum_m (tau0[m]+tau1[m])*L[e,m]/speed_e                  (no batching)
                   = sum_m (tau0[m]*y[e,m]/W + tau1[m]*L[e,m])/speed_e      (window W)
        A = sum (r * accuracy * fraction) / sum r, over the routes whose model serves their task.
    """
    inst, sol = instance, solution
    N, E, M = inst.n_clients, inst.n_edges, inst.n_models
    rate, payload, edge_of = inst.rate, inst.payload_mbit, inst.client_edge
    lo, ed = sol.local, sol.edge
    r_lo, r_ed = rate[lo.client, lo.task], rate[ed.client, ed.task]
    serves_lo, serves_ed = inst.cover[lo.model, lo.task], inst.cover[ed.model, ed.task]

    assigned = sol.cloud + sol.drop
    np.add.at(assigned, (lo.client, lo.task), lo.fraction)
    np.add.at(assigned, (ed.client, ed.task), ed.fraction)
    compute = np.zeros(N)
    np.add.at(compute, lo.client, np.where(serves_lo, r_lo * np.nan_to_num(inst.gflop[lo.model, lo.task]) * lo.fraction, 0.0))
    cloud_mbps = (rate * payload[None, :] * sol.cloud).sum(axis=1)                     # (N,)
    uplink = cloud_mbps.copy()
    np.add.at(uplink, ed.client, r_ed * payload[ed.task] * ed.fraction)
    backhaul = np.zeros(E)
    np.add.at(backhaul, edge_of, cloud_mbps)
    load = np.zeros((E, M))
    np.add.at(load, (edge_of[ed.client], ed.model), r_ed * ed.fraction)
    y = sol.edge_models
    if inst.batching:
        busy = (inst.batch_tau0_s[None, :] * y / inst.batching_window_s + inst.batch_tau1_s[None, :] * load).sum(axis=1)
    else:
        busy = ((inst.batch_tau0_s + inst.batch_tau1_s)[None, :] * load).sum(axis=1)
    gpu = busy / inst.edge_speed

    accuracy = np.nan_to_num(inst.accuracy)
    served = ((rate * inst.cloud_accuracy[None, :] * sol.cloud).sum()
              + np.where(serves_lo, r_lo * accuracy[lo.model, lo.task] * lo.fraction, 0.0).sum()
              + np.where(serves_ed, r_ed * accuracy[ed.model, ed.task] * ed.fraction, 0.0).sum())
    total = rate.sum()
    uncoupled_lo = (lo.fraction > tol) & ~(sol.client_models[lo.client, lo.model] & serves_lo)
    uncoupled_ed = (ed.fraction > tol) & ~(y[edge_of[ed.client], ed.model] & serves_ed)
    return _Usage(assigned=assigned, compute=compute, uplink=uplink, backhaul=backhaul, load=load, gpu=gpu,
                  objective=float(served / total) if total > 0 else 0.0,
                  uncoupled=np.flatnonzero(np.concatenate([uncoupled_lo, uncoupled_ed])))


def verify(instance: PlacementInstance, decision: PlacementSolution, *, tol: float = DEFAULT_TOL,
           claimed_objective: float | None = None) -> VerificationReport:
    """Check ``decision`` against constraints 1-7 of (P) and recompute A from its routing.

    Fractions are checked absolutely (>= -tol, conservation |sum - 1| <= tol where rate > 0);
    capacity rows relatively ((usage - capacity) / capacity <= tol); the batch cap as
    L[e,m]*W/bmax[m] - y[e,m] <= tol. A ``claimed_objective`` must match the recomputed A
    within tol (relative to max(1, |A|)). Dimension or index errors in the decision raise
    InvalidInputError.
    """
    decision.check_fits(instance.n_clients, instance.n_edges, instance.n_models, instance.n_tasks)
    usage = _recompute(instance, decision, tol)
    x = decision.client_models.astype(np.float64)
    y = decision.edge_models.astype(np.float64)
    found: list[Violation] = []

    for name, routes in (("local", decision.local), ("edge", decision.edge)):
        f = routes.fraction
        _excess(found, f"fraction bounds ({name})", np.maximum(-f, f - 1.0), lambda i: f"routing.{name}[{i}]", tol)
    for name, arr in (("cloud", decision.cloud), ("drop", decision.drop)):
        _excess(found, f"fraction bounds ({name})", np.maximum(-arr, arr - 1.0),
                lambda n, t: f"client {n} task {t}", tol)

    active = instance.rate > 0
    _excess(found, "conservation (1)", np.where(active, np.abs(usage.assigned - 1.0), 0.0),
            lambda n, t: f"client {n} task {t}", tol)
    if len(usage.uncoupled):
        i = int(usage.uncoupled[0])
        where = f"routing.local[{i}]" if i < len(decision.local) else f"routing.edge[{i - len(decision.local)}]"
        found.append(Violation("coupling (2)", len(usage.uncoupled), where, float("nan")))

    _excess(found, "client memory (3)", x @ instance.memory_mb / instance.client_memory_mb - 1.0,
            lambda n: f"client {n}", tol)
    _excess(found, "edge memory (3)", y @ instance.memory_mb / instance.edge_memory_mb - 1.0,
            lambda e: f"edge {e}", tol)
    _excess(found, "client compute (4)", usage.compute / instance.client_gflops - 1.0,
            lambda n: f"client {n}", tol)
    _excess(found, "uplink (5)", usage.uplink / instance.client_uplink_mbps - 1.0,
            lambda n: f"client {n}", tol)
    _excess(found, "backhaul (6)", usage.backhaul / instance.edge_backhaul_mbps - 1.0,
            lambda e: f"edge {e}", tol)
    _excess(found, "edge GPU time (7)", usage.gpu - 1.0, lambda e: f"edge {e}", tol)
    if instance.batching:
        cap = usage.load * instance.batching_window_s / instance.max_batch - y
        _excess(found, "batch cap (7)", cap, lambda e, m: f"edge {e} model {m}", tol)

    if claimed_objective is not None:
        diff = abs(float(claimed_objective) - usage.objective) / max(1.0, abs(usage.objective))
        if not diff <= tol:  # also catches NaN
            found.append(Violation("objective", 1, f"claimed {claimed_objective!r}", diff))

    return VerificationReport(ok=not found, objective=usage.objective, violations=tuple(found), tol=tol)
