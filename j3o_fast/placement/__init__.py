"""Placement: joint model onloading and query offloading (docs/placement.rst).

The entry points have the names and shapes of ``j3o_fast.coinference``'s: ``solve(instance,
method="j3o", **options)``, ``verify`` (the instance, a decision, then keyword-only ``tol``), ``load_instance``,
``save_instance``, ``save_solution`` and ``load_solution(path, instance)``.
"""

from .families import FAMILIES, generate
from .instance import PlacementInstance
from .io import load_instance, load_solution, save_instance, save_solution
from .j3o import solve_j3o
from .mip import lp_upper_bound, solve_mip
from .planner import PlacementPlanner
from .solution import PlacementSolution, Routes
from .solve import METHODS, option_target, solve
from .usage import RoutingUsage, routing_usage
from .verify import VerificationReport, verify

__all__ = [
    "FAMILIES", "METHODS", "PlacementInstance", "PlacementPlanner", "PlacementSolution", "Routes", "RoutingUsage",
    "VerificationReport",
    "generate", "load_instance", "load_solution", "lp_upper_bound", "option_target", "routing_usage", "save_instance",
    "save_solution", "solve", "solve_j3o", "solve_mip", "verify",
]
