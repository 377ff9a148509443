"""The result table: ``assemble`` orders the rows by task, keeps the latest row of a task run
twice and adds each instance's reference (the exact optimum, else the tightest bound) with the
``ratio`` and ``runtime_ratio`` against it; ``deterministic_columns`` are the columns that agree
between any two runs of the same study (all but ``TIMING_COLUMNS`` and ``RUN_COLUMNS``)."""

from __future__ import annotations

import numpy as np

from .store import _frame
from .study import EXACT, LP_BOUND, _all_params
from .tasks import Task

#: Measured times: the only result columns that differ between runs of the same study.
TIMING_COLUMNS = ("runtime_s", "wall_s", "runtime_ratio", "train_s")
#: Which run, process and moment computed a row.
RUN_COLUMNS = ("run_id", "worker", "finished_at")

_ID_COLUMNS = ("study", "experiment", "domain", "instance", "replicate", "seed")
_RESULT_COLUMNS = ("method", "solver", "options", "status", "objective", "upper_bound", "gap", "iterations",
                   "verified", "violations", "message", "error", "unserved", "lc_energy_j", "saving")
_DERIVED_COLUMNS = ("reference", "reference_kind", "ratio", "runtime_ratio")


def assemble(tasks: list[Task], rows: list[dict]):
    """One row per task in task order, with the references and ratios of every instance."""
    import pandas as pd

    by_key = {}
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

    Placement maximises accuracy: the reference is the MIP's optimum where it proved one, else
    the tightest upper bound (the MIP's best bound or the LP relaxation). Co-inference minimises
    energy: the reference is the oracle's optimum.
    """
    import pandas as pd

    ok = table[table["status"] != "error"]
    exact = ok[ok["solver"] == ok["domain"].map(EXACT)]
    optimal = exact[exact["status"] == "optimal"]
    optimum = pd.concat([optimal[optimal["domain"] == "placement"].groupby("instance")["objective"].max(),
                         optimal[optimal["domain"] == "coinference"].groupby("instance")["objective"].min()])
    place_exact = exact[exact["domain"] == "placement"]
    lp = ok[(ok["domain"] == "placement") & (ok["solver"] == LP_BOUND)]
    candidates = pd.concat([pd.Series(place_exact["upper_bound"].to_numpy(float), index=place_exact["instance"]),
                            pd.Series(lp["objective"].to_numpy(float), index=lp["instance"])])
    candidates = candidates[np.isfinite(candidates.to_numpy())]
    bound = candidates.groupby(level=0).min()
    instance = table["instance"]
    is_opt = instance.isin(optimum.index)
    is_bound = ~is_opt & instance.isin(bound.index)
    reference = instance.map(optimum).where(is_opt, instance.map(bound)).astype(float)
    kind = np.where(is_opt, "optimum", np.where(is_bound, "bound", ""))
    runtime = instance.map(exact.groupby("instance")["runtime_s"].first()).astype(float)
    return reference.to_numpy(), kind, runtime.to_numpy()


def _column_order(table) -> list:
    fixed = ["task", *_ID_COLUMNS]
    params = [c for c in table.columns if c in _all_params()]
    results = [c for c in _RESULT_COLUMNS if c in table.columns] + list(_DERIVED_COLUMNS)
    times = ["runtime_s", "wall_s"] + sorted(c for c in table.columns if c.startswith("time_"))
    run = [c for c in RUN_COLUMNS if c in table.columns]
    listed = set(fixed + params + results + times + run)
    rest = [c for c in table.columns if c not in listed]
    return fixed + params + results + [c for c in times if c in table.columns] + rest + run


def deterministic_columns(table) -> list:
    """The columns that must agree between any two runs of the same study."""
    return [c for c in table.columns
            if c not in TIMING_COLUMNS and c not in RUN_COLUMNS and not c.startswith("time_")]
