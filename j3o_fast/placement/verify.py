"""Independent check of a placement solution against every constraint of (P), placement.md section 2."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._violations import Violation, summarize

from .instance import PlacementInstance
from .solution import PlacementSolution
from .usage import routing_usage

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


def verify(instance: PlacementInstance, solution: PlacementSolution, *, tol: float = DEFAULT_TOL,
           claimed_objective: float | None = None) -> VerificationReport:
    """Check ``solution`` against constraints 1-7 of (P) and recompute A from its routing.

    Fractions are checked absolutely (>= -tol, conservation |sum - 1| <= tol where rate > 0);
    capacity rows relatively ((usage - capacity) / capacity <= tol); the batch cap as
    L[e,m]*W/bmax[m] - y[e,m] <= tol. A ``claimed_objective`` must match the recomputed A
    within tol (relative to max(1, |A|)). Dimension or index errors in the solution raise
    InvalidInputError.
    """
    usage = routing_usage(instance, solution, tol=tol)
    x = solution.client_models.astype(np.float64)
    y = solution.edge_models.astype(np.float64)
    found: list[Violation] = []

    for name, routes in (("local", solution.local), ("edge", solution.edge)):
        f = routes.fraction
        _excess(found, f"fraction bounds ({name})", np.maximum(-f, f - 1.0), lambda i: f"routing.{name}[{i}]", tol)
    for name, arr in (("cloud", solution.cloud), ("drop", solution.drop)):
        _excess(found, f"fraction bounds ({name})", np.maximum(-arr, arr - 1.0),
                lambda n, t: f"client {n} task {t}", tol)

    active = instance.rate > 0
    _excess(found, "conservation (1)", np.where(active, np.abs(usage.assigned - 1.0), 0.0),
            lambda n, t: f"client {n} task {t}", tol)
    if usage.n_uncoupled:
        i = usage.first_uncoupled
        where = f"routing.local[{i}]" if i < len(solution.local) else f"routing.edge[{i - len(solution.local)}]"
        found.append(Violation("coupling (2)", usage.n_uncoupled, where, float("nan")))

    _excess(found, "client memory (3)", x @ instance.memory_mb / instance.client_memory_mb - 1.0,
            lambda n: f"client {n}", tol)
    _excess(found, "edge memory (3)", y @ instance.memory_mb / instance.edge_memory_mb - 1.0,
            lambda e: f"edge {e}", tol)
    _excess(found, "client compute (4)", usage.client_gflops / instance.client_gflops - 1.0,
            lambda n: f"client {n}", tol)
    _excess(found, "uplink (5)", usage.uplink_mbps / instance.client_uplink_mbps - 1.0,
            lambda n: f"client {n}", tol)
    _excess(found, "backhaul (6)", usage.backhaul_mbps / instance.edge_backhaul_mbps - 1.0,
            lambda e: f"edge {e}", tol)
    _excess(found, "edge GPU time (7)", usage.gpu_share - 1.0, lambda e: f"edge {e}", tol)
    if instance.batching:
        cap = usage.edge_load * instance.batching_window_s / instance.max_batch - y
        _excess(found, "batch cap (7)", cap, lambda e, m: f"edge {e} model {m}", tol)

    if claimed_objective is not None:
        diff = abs(float(claimed_objective) - usage.objective) / max(1.0, abs(usage.objective))
        if not diff <= tol:  # also catches NaN
            found.append(Violation("objective", 1, f"claimed {claimed_objective!r}", diff))

    return VerificationReport(ok=not found, objective=usage.objective, violations=tuple(found), tol=tol)
