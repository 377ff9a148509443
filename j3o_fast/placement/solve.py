"""One entry point for every placement method: ``solve(instance, method="j3o", **options)``.

Methods: "j3o" (the package's algorithm), "mip" (exact), and the baselines of docs/placement.rst
section 4: "accuracy-greedy", "local-only", "cloud-only", "edge-only", "single-task", "random",
"j3o-unaware" (window instances). Each returns a ``SolveResult`` whose decision is a verified
``PlacementSolution`` and whose objective is the mean accuracy per query.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from ..errors import InvalidInputError
from ..result import SolveResult
from . import baselines
from .instance import PlacementInstance
from .j3o import solve_j3o
from .mip import solve_mip

#: Method name -> callable(instance, **options) -> SolveResult.
METHODS: dict[str, Callable[..., SolveResult]] = {
    "j3o": solve_j3o,
    "mip": solve_mip,
    "accuracy-greedy": baselines.solve_accuracy_greedy,
    "local-only": baselines.solve_local_only,
    "cloud-only": baselines.solve_cloud_only,
    "edge-only": baselines.solve_edge_only,
    "single-task": baselines.solve_single_task,
    "random": baselines.solve_random,
    "j3o-unaware": baselines.solve_j3o_unaware,
}


#: Methods that run J3O on a transformed instance and take J3O's options.
FORWARDS_TO_J3O = ("single-task", "j3o-unaware")


def option_target(method: str) -> Callable[..., SolveResult]:
    """The function whose signature lists ``method``'s options and whose ``option_rules``
    (``_validate.check_options``) declare their checks: J3O for the methods that forward to it.

    >>> option_target("j3o-unaware") is solve_j3o
    True
    """
    if not isinstance(method, str) or method not in METHODS:
        raise InvalidInputError("method", f"must be one of {', '.join(METHODS)}, got {method!r}")
    return solve_j3o if method in FORWARDS_TO_J3O else METHODS[method]


def solve(instance: PlacementInstance, method: str = "j3o", **options: Any) -> SolveResult:
    """Run ``method`` on ``instance`` with its keyword ``options``.

    Unknown methods and options a method does not take raise InvalidInputError.

    >>> from j3o_fast.placement import generate
    >>> solve(generate("nyu", 10, 1, seed=0), "cloud-only").method
    'cloud-only'
    """
    if not isinstance(instance, PlacementInstance):
        raise InvalidInputError("instance", f"must be a PlacementInstance, got {type(instance).__name__}")
    if not isinstance(method, str) or method not in METHODS:
        raise InvalidInputError("method", f"must be one of {', '.join(METHODS)}, got {method!r}")
    func = METHODS[method]
    # single-task and j3o-unaware hand their options to J3O: check them against J3O's signature
    takes = option_target(method)
    try:
        inspect.signature(takes).bind(instance, **options)
    except TypeError as exc:
        raise InvalidInputError("options", f"{method}: {exc}") from None
    return func(instance, **options)
