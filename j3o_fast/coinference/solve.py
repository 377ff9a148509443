"""One entry point for every co-inference method: ``solve(instance, method="og", **options)``.

Methods: "ip-ssa", "ip-ssa-min" (IP-SSA at the minimum absolute deadline), "og", "lc", "fo",
"ip-no-batch", "oracle" (exact, K <= 4 and N <= 4). Each returns a ``SolveResult`` whose
decision is a ``CoInferencePlan`` and whose objective is the total user energy in joules.
Every method takes ``gpu_free_s`` H (absolute seconds, >= 0, default 0): the GPU runs work
committed earlier until H and the plan starts no batch before it (docs/coinference.rst section 7).
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import replace
from typing import Any, Callable

from ..errors import InvalidInputError
from ..result import SolveResult
from .instance import CoInferenceInstance

#: Method name -> (module of this package, function). Modules are imported when a method is
#: called, so the domain loads even where one of them is missing.
_TARGETS = {
    "ip-ssa": ("ipssa", "solve_ipssa"),
    "ip-ssa-min": ("ipssa", "solve_ipssa"),
    "og": ("og", "solve_og"),
    "lc": ("baselines", "solve_lc"),
    "fo": ("baselines", "solve_fo"),
    "ip-no-batch": ("baselines", "solve_ip_no_batch"),
    "oracle": ("oracle", "solve_oracle"),
}


def _function(method: str) -> Callable[..., SolveResult]:
    module, name = _TARGETS[method]
    return getattr(importlib.import_module(f"{__package__}.{module}"), name)


def _run(method: str, instance: CoInferenceInstance, **options: Any) -> SolveResult:
    func = _function(method)
    if method == "ip-ssa-min":
        if "deadline" in options:
            raise InvalidInputError("deadline", "ip-ssa-min sets the common deadline to the minimum; use ip-ssa")
        options["deadline"] = float(instance.absolute_deadline.min())
    try:
        inspect.signature(func).bind(instance, **options)
    except TypeError as exc:
        raise InvalidInputError("options", f"{method}: {exc}") from None
    result = func(instance, **options)
    return result if result.method == method else replace(result, method=method)


#: Method name -> callable(instance, **options) -> SolveResult.
METHODS: dict[str, Callable[..., SolveResult]] = {
    name: (lambda instance, _m=name, **options: _run(_m, instance, **options)) for name in _TARGETS
}


def option_target(method: str) -> Callable[..., SolveResult]:
    """The function whose signature lists ``method``'s options and whose ``option_rules``
    (``_validate.check_options``) declare their checks; it imports the method's module.
    ip-ssa-min takes IP-SSA's options but ``deadline``, which it sets itself.

    >>> sorted(option_target("og").option_rules)
    ['gpu_free_s', 'time_grid_s']
    """
    if not isinstance(method, str) or method not in METHODS:
        raise InvalidInputError("method", f"must be one of {', '.join(METHODS)}, got {method!r}")
    return _function(method)


def solve(instance: CoInferenceInstance, method: str = "og", **options: Any) -> SolveResult:
    """Run ``method`` (default OG) on ``instance`` with its keyword ``options`` (e.g. ``variant``
    for ip-ssa).

    Unknown methods and options a method does not take raise InvalidInputError. Every method
    takes ``gpu_free_s``, the absolute time from which the GPU is free (default 0).

    >>> from j3o_fast.coinference.profiles import generate
    >>> solve(generate("mobilenetv2", 3, deadline_s=0.05), "lc").method
    'lc'
    >>> res = solve(generate("mobilenetv2", 4, seed=1), "og", gpu_free_s=0.02)
    >>> min(b.start_s for b in res.decision.batches) >= 0.02 - 1e-12
    True
    """
    if not isinstance(instance, CoInferenceInstance):
        raise InvalidInputError("instance", f"must be a CoInferenceInstance, got {type(instance).__name__}")
    if not isinstance(method, str) or method not in METHODS:
        raise InvalidInputError("method", f"must be one of {', '.join(METHODS)}, got {method!r}")
    return METHODS[method](instance, **options)
