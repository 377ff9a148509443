"""Placement: joint model onloading and query offloading (placement.md)."""

from .families import FAMILIES, generate
from .instance import PlacementInstance
from .io import load_instance, load_solution, save_instance, save_solution
from .j3o import solve_j3o
from .mip import lp_upper_bound, solve_mip
from .solution import PlacementSolution, Routes
from .solve import METHODS, solve
from .usage import RoutingUsage, routing_usage
from .verify import VerificationReport, verify

__all__ = [
    "FAMILIES", "METHODS", "PlacementInstance", "PlacementSolution", "Routes", "RoutingUsage", "VerificationReport",
    "generate", "load_instance", "load_solution", "lp_upper_bound", "routing_usage", "save_instance",
    "save_solution", "solve", "solve_j3o", "solve_mip", "verify",
]
