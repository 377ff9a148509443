"""The result table: ``assemble`` orders the rows by task, keeps the latest row of a task run
twice and adds each instance's reference (the exact optimum, else the tightest bound) with the
``ratio`` and ``runtime_ratio`` against it; ``deterministic_columns`` are the columns that agree
between any two runs of the same study (all but ``TIMING_COLUMNS`` and ``RUN_COLUMNS``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

import numpy as np

from .adapters import ADAPTERS, all_params
from .store import _frame
from .tasks import Task

#: Measured times: the only result columns that differ between runs of the same study.
TIMING_COLUMNS = ("runtime_s", "wall_s", "runtime_ratio", "train_s")
#: Which run, process and moment computed a row.
RUN_COLUMNS = ("run_id", "worker", "finished_at")

_ID_COLUMNS = ("study", "experiment", "domain", "instance", "replicate", "seed")
_RESULT_COLUMNS = ("method", "solver", "options", "status", "objective", "upper_bound", "gap", "iterations",
                   "verified", "violations", "message", "error", "unserved", "lc_energy_j", "saving")
_DERIVED_COLUMNS = ("reference", "reference_kind", "ratio", "runtime_ratio")


def assemble(tasks: list[Task], rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per task in task order, with the references and ratios of every instance."""
    import pandas as pd

    by_key: dict[str, dict[str, Any]] = {}
    for r in rows:
        old = by_key.get(r["task"])
        # a task run twice (a retried failure): the later row wins
        if old is None or r["finished_at"] >= old["finished_at"]:
            by_key[r["task"]] = r
    ordered = [by_key[t.key] for t in tasks if t.key in by_key]
    table = _frame(pd, ordered) if ordered else pd.DataFrame(columns=["task", *_ID_COLUMNS, *_RESULT_COLUMNS])
    table = table.reset_index(drop=True)
    reference, kind, runtime = _references(table)
    table["reference"] = reference
    table["reference_kind"] = kind
    table["ratio"] = table["objective"].astype(float) / table["reference"]
    table["runtime_ratio"] = table["runtime_s"].astype(float) / runtime
    return table[_column_order(table)]


def _references(table):
    """Per row: the reference value of its instance, its kind ("optimum", "bound" or ""), and the
    exact solver's runtime on that instance.

    The reference is the optimum the domain's exact method (``DomainAdapter.exact``) proved, else
    the tightest bound: the objective of a row with status "bound" (placement's LP relaxation)
    or, in a maximisation, the exact solver's best bound (the MIP's ``upper_bound``). Placement
    maximises accuracy, so its tightest bound is the least; co-inference minimises energy.
    """
    import pandas as pd

    ok = table[table["status"] != "error"]
    optima, bounds, runtimes = [], [], []
    for name, domain in ADAPTERS.items():
        rows = ok[ok["domain"] == name]
        exact = rows[rows["solver"] == domain.exact]
        best = "max" if domain.sense == "max" else "min"
        optimal = exact[exact["status"] == "optimal"]
        optima.append(optimal.groupby("instance")["objective"].agg(best).astype(float))
        bound_rows = rows[rows["status"] == "bound"]
        candidates = [_by_instance(bound_rows, "objective")]
        if domain.sense == "max":   # an upper bound bounds a maximisation only
            candidates.append(_by_instance(exact, "upper_bound"))
        candidates = pd.concat(candidates)
        candidates = candidates[np.isfinite(candidates.to_numpy())]
        # the tightest bound: the least upper bound of a maximisation, the greatest lower bound
        bounds.append(candidates.groupby(level=0).agg("min" if best == "max" else "max"))
        runtimes.append(exact.groupby("instance")["runtime_s"].first().astype(float))
    optimum, bound, runtime = (pd.concat(parts) for parts in (optima, bounds, runtimes))
    instance = table["instance"]
    is_opt = instance.isin(optimum.index)
    is_bound = ~is_opt & instance.isin(bound.index)
    reference = instance.map(optimum).where(is_opt, instance.map(bound)).astype(float)
    kind = np.where(is_opt, "optimum", np.where(is_bound, "bound", ""))
    return reference.to_numpy(), kind, instance.map(runtime).astype(float).to_numpy()


def _by_instance(rows, column: str):
    """A column of ``rows`` as floats indexed by instance."""
    import pandas as pd

    return pd.Series(rows[column].to_numpy(float), index=rows["instance"].to_numpy(), dtype=float)


def _column_order(table) -> list:
    fixed = ["task", *_ID_COLUMNS]
    params = [c for c in table.columns if c in all_params()]
    results = [c for c in _RESULT_COLUMNS if c in table.columns] + list(_DERIVED_COLUMNS)
    times = ["runtime_s", "wall_s"] + sorted(c for c in table.columns if c.startswith("time_"))
    run = [c for c in RUN_COLUMNS if c in table.columns]
    listed = set(fixed + params + results + times + run)
    rest = [c for c in table.columns if c not in listed]
    return fixed + params + results + [c for c in times if c in table.columns] + rest + run


def deterministic_columns(table: pd.DataFrame) -> list[str]:
    """The columns that must agree between any two runs of the same study."""
    return [c for c in table.columns
            if c not in TIMING_COLUMNS and c not in RUN_COLUMNS and not c.startswith("time_")]
