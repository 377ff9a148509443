"""The placement domain in studies (docs/placement): J3O, the MIP, the baselines and the LP bound.

Instances come from ``placement.generate`` (``family``, ``n_clients``, ``n_edges``, ``window``
and the range overrides of ``placement.families``). Methods are those of ``placement.solve``
plus "lp-bound", the LP relaxation's value: an upper bound on the mean accuracy A of every
placement, whose row has the bound as objective and status "bound", for ratios where the MIP
is not run. A row is verified by ``placement.verify`` with the claimed objective. The reference
of an instance is the MIP's optimum A*, else the tightest upper bound; the report gives
``ratio`` = A / A* (median and worst) and ``runtime_ratio`` = t / t_MIP.
"""

from __future__ import annotations

import functools
import time
from typing import Mapping

import numpy as np

from ...errors import InvalidInputError
from ..adapter import DomainAdapter, PlotSpec, check_by_running, solver_columns

#: The LP relaxation's value as a method (not a placement).
LP_BOUND = "lp-bound"
#: Methods whose objective bounds the optimum instead of valuing a placement.
BOUNDS = frozenset({LP_BOUND})
_BASIC_KINDS = {"family": "str", "n_clients": "int", "n_edges": "int", "window": "real"}


@functools.cache
def parameters() -> dict:
    """Generator parameters and their kinds: the basic four, then the family range overrides
    (``DEFAULTS``, ``RANDOM_DEFAULTS``), whose kind is that of their default (a list for a range)."""
    from ...placement.families import DEFAULTS, RANDOM_DEFAULTS

    kinds = dict(_BASIC_KINDS)
    for key, default in {**DEFAULTS, **RANDOM_DEFAULTS}.items():
        kinds[key] = "list" if isinstance(default, tuple) else "int" if isinstance(default, int) else "real"
    return kinds


def make_instance(params: Mapping, seed: int):
    """``placement.generate(family, n_clients, n_edges, seed=seed, window=..., **overrides)``."""
    from ...placement import generate

    p = dict(params)
    return generate(p.pop("family"), p.pop("n_clients"), p.pop("n_edges", None), seed=seed,
                    window=p.pop("window", None), **p)


def methods() -> tuple:
    from ...placement.solve import METHODS

    return tuple(METHODS) + (LP_BOUND,)


def run_method(instance, method: str, options: Mapping):
    """``placement.solve``, or the LP bound (which takes only ``threads``)."""
    if method in BOUNDS:
        return _lp_bound(instance, options)
    from ...placement.solve import solve

    return solve(instance, method, **options)


def _lp_bound(instance, options: Mapping):
    from ...placement import lp_upper_bound
    from ...result import SolveResult

    if set(options) - {"threads"}:
        raise InvalidInputError("options", f"{LP_BOUND} takes only threads, got {sorted(options)}")
    t0 = time.perf_counter()
    bound = lp_upper_bound(instance, **options)
    return SolveResult(method=LP_BOUND, status="bound", objective=bound, decision=None,
                       runtime_s=time.perf_counter() - t0, upper_bound=bound,
                       message="LP relaxation: an upper bound, not a placement")


def verdict(instance, result) -> dict:
    """``placement.verify`` of the decision with the claimed objective (None: nothing to verify)."""
    if result.decision is None:
        return {"verified": None, "violations": ""}
    from ...placement import verify

    report = verify(instance, result.decision, claimed_objective=result.objective)
    return {"verified": bool(report.ok), "violations": "; ".join(str(v) for v in report.violations)}


def outcome(instance, result) -> dict:
    return {**solver_columns(result), **verdict(instance, result)}


def summary(rows) -> dict:
    """Median and worst (lowest) ratio A / A*, median runtime and runtime ratio t / t_MIP."""
    ratio = rows["ratio"].astype(float).dropna()
    return dict(ratio_median=ratio.median() if len(ratio) else np.nan,
                ratio_worst=ratio.min() if len(ratio) else np.nan,
                runtime_median_s=rows["runtime_s"].astype(float).median(),
                runtime_ratio_median=rows["runtime_ratio"].astype(float).median())


ADAPTER = DomainAdapter(
    name="placement", generator_key="family", size_key="n_clients", max_size=1_000_000,
    parameters=parameters, nullable=frozenset({"n_edges", "window", "max_batch"}),
    max_counts={"n_edges": 100_000, "n_tasks": 1_000, "n_models": 10_000},
    make_instance=make_instance, methods=methods, run_method=run_method,
    check_options=check_by_running(run_method),
    # single-task and j3o-unaware forward their options to J3O
    limited=frozenset({"mip"}), threaded=frozenset({"j3o", "mip", "single-task", "j3o-unaware", LP_BOUND}),
    seeded=frozenset({"random"}), exact="mip", sense="max", outcome=outcome,
    report_columns=("verified", "runtime_s", "ratio", "runtime_ratio"), summary=summary,
    plots=(PlotSpec("ratio", "accuracy ratio A / A*  (median; dashed: worst)", "accuracy-ratio"),
           PlotSpec("runtime_s", "runtime (s, median)", "runtime", log_y=True, worst=False)),
    log_sizes=True,   # sizes span decades in placement studies
)
