"""The one result type every solver of the package returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

#: Statuses a solver may report, one vocabulary for both domains. A time limit or an iteration
#: cap is an outcome, not an error.
#:
#: optimal          proven optimal (within the method's stated tolerance)
#: feasible         a usable decision that meets every constraint, optimality not proven
#: partial          a usable decision that leaves the users it lists unserved (co-inference:
#:                  ``infeasible_users`` run all-local and miss their deadlines; no plan could
#:                  serve them), every other constraint met
#: time_limit       stopped by a time limit; the decision is the best found
#: iteration_limit  stopped by an iteration cap; the decision is the best found
#: interrupted      stopped from outside (e.g. Ctrl-C); the decision is the best found
#: infeasible       no usable decision exists
#: bound            no decision: the objective is a proven bound on the optimum (the placement
#:                  LP relaxation, method lp-bound of studies)
#: error            the solver failed; the decision is a placeholder
STATUSES = ("optimal", "feasible", "partial", "time_limit", "iteration_limit", "interrupted", "infeasible", "bound",
            "error")


@dataclass(frozen=True, eq=False)
class SolveResult:
    """Outcome of one solve.

    objective    the method's objective (placement: mean accuracy A; co-inference: energy, J)
    upper_bound  a proven bound on the optimum where the method has one (MIP best bound, LP
                 relaxation), else None; ``gap`` is |bound - objective| / |bound|
    decision     the solution object (PlacementSolution or CoInferencePlan)
    phase_times  seconds per phase (e.g. build, solve), next to the total ``runtime_s``
    """

    method: str
    status: str
    objective: float
    decision: Any
    runtime_s: float
    upper_bound: float | None = None
    iterations: int = 0
    message: str = ""
    phase_times: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        object.__setattr__(self, "phase_times", MappingProxyType(dict(self.phase_times)))

    @property
    def gap(self) -> float | None:
        if self.upper_bound is None or not math.isfinite(self.upper_bound):
            return None
        denom = max(abs(self.upper_bound), 1e-12)
        return abs(self.upper_bound - self.objective) / denom

    def to_dict(self) -> dict:
        """Scalars only, for tables and records (the decision is left out)."""
        out = {
            "method": self.method, "status": self.status, "objective": self.objective,
            "upper_bound": self.upper_bound, "gap": self.gap, "runtime_s": self.runtime_s,
            "iterations": self.iterations, "message": self.message,
        }
        out.update({f"time_{k}_s": t for k, t in self.phase_times.items()})
        return out
