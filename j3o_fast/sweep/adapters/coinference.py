"""The co-inference domain in studies (docs/coinference): offline plans of IP-SSA, OG, the
baselines and the oracle.

Instances come from ``coinference.profiles.generate`` (``profile``, ``n_users``, ``deadline_s``
or ``deadline_factor``, a multiple of the profile's default deadline, ``deadline_spread``,
``alpha``, ``max_batch``). Methods are those of ``coinference.solve``. A row is verified by
``plan_verdict``; a plan may list users it cannot serve (they run locally and miss their
deadline): that is a declared outcome, counted in ``unserved``, not a broken plan. Every row
compares with all-local: ``lc_energy_j`` = E_LC and ``saving`` = 1 - E/E_LC. The oracle's
optimum E* is the reference (``ratio`` = E/E*) where it ran.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ...errors import InvalidInputError
from .._common import _is_real
from ..adapter import DomainAdapter, PlotSpec, check_by_running, solver_columns

_PARAMETERS = {"profile": "str", "n_users": "int", "deadline_s": "real", "deadline_factor": "real",
               "deadline_spread": "real", "alpha": "real", "max_batch": "int"}


def parameters() -> dict:
    return dict(_PARAMETERS)


def make_instance(params: Mapping, seed: int):
    """``profiles.generate``; ``deadline_factor`` f sets deadline_s = f x the profile's default."""
    from ...coinference.profiles import DEFAULT_DEADLINE_S, generate

    p = dict(params)
    factor = p.pop("deadline_factor", None)
    if factor is not None:
        if p["profile"] not in DEFAULT_DEADLINE_S:
            raise InvalidInputError("profile", f"has no default deadline to scale, got {p['profile']!r}")
        if not (_is_real(factor) and factor > 0):
            raise InvalidInputError("deadline_factor", f"must be > 0, got {factor!r}")
        p["deadline_s"] = factor * DEFAULT_DEADLINE_S[p["profile"]]
    return generate(p.pop("profile"), p.pop("n_users"), seed=seed, **p)


def methods() -> tuple:
    from ...coinference.solve import METHODS

    return tuple(METHODS)


def run_method(instance, method: str, options: Mapping):
    from ...coinference.solve import solve

    return solve(instance, method, **options)


def verdict(instance, result) -> dict:
    """``plan_verdict`` of the plan, and how many users it leaves unserved."""
    if result.decision is None:
        return {"verified": None, "violations": ""}
    from ...coinference.verify import plan_verdict

    plan = result.decision
    checked = plan_verdict(instance, plan)
    return {"verified": checked.accepted,
            "violations": "" if checked.accepted else "; ".join(str(v) for v in checked.report.violations),
            "unserved": len(plan.infeasible_users)}


def outcome(instance, result) -> dict:
    """The solver's columns, the verdict, and the saving 1 - E/E_LC against all-local."""
    lc = float(instance.energy[:, instance.n_subtasks].sum())
    return {**solver_columns(result), **verdict(instance, result),
            "lc_energy_j": lc, "saving": 1.0 - result.objective / lc}


def summary(rows) -> dict:
    """Median and worst (lowest) saving, mean unserved users, median E/E* and runtime."""
    saving = rows["saving"].astype(float)
    ratio = rows["ratio"].astype(float).dropna()
    return dict(saving_median=saving.median(), saving_worst=saving.min(),
                unserved_mean=rows["unserved"].astype(float).mean(),
                ratio_median=ratio.median() if len(ratio) else np.nan,
                runtime_median_s=rows["runtime_s"].astype(float).median())


ADAPTER = DomainAdapter(
    name="coinference", generator_key="profile", size_key="n_users", max_size=1_000_000,
    parameters=parameters, nullable=frozenset({"deadline_s", "deadline_factor", "max_batch"}),
    exclusive=(("deadline_s", "deadline_factor"),),
    make_instance=make_instance, methods=methods, run_method=run_method,
    check_options=check_by_running(run_method), exact="oracle", sense="min", outcome=outcome,
    report_columns=("verified", "runtime_s", "saving", "unserved", "ratio"), summary=summary,
    optional_summary=("ratio_median",),   # only where the oracle ran
    plots=(PlotSpec("saving", "energy saving 1 - E/E_LC  (median; dashed: worst)", "energy-saving"),),
)
