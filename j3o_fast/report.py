"""Summary tables and plots of a study's result table (``sweep.run_study``).

Per experiment, rows are grouped by method, instance size and the other parameters the grid
varies (e.g. the batching window). Placement (a maximisation): the median and the worst (lowest)
``ratio`` = A / A* to the exact optimum (or to the best upper bound where no optimum was
proved), the median runtime and the median ``runtime_ratio`` = t / t_MIP on the same instance.
Co-inference (a minimisation): the median and the worst (lowest) energy saving 1 - E/E_LC
against all-local, the mean number of users a plan leaves unserved, the median ratio E/E* to
the oracle where it ran, and the median runtime. Online (dispatch policies): energy per task,
saving, violations, wait and GPU use, and each policy's gain with OG over IP-SSA
(``report_online``). Plots need matplotlib (the ``plot`` extra).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from .errors import InvalidInputError
from .sweep.study import SIZE_KEY, _all_params

PLOTS_NEED = "plots need matplotlib: pip install 'j3o-fast[plot]'"


#: Columns the summaries read, per domain (besides the size column of ``SIZE_KEY``).
_COLUMNS = {
    "placement": ("verified", "runtime_s", "ratio", "runtime_ratio"),
    "coinference": ("verified", "runtime_s", "saving", "unserved", "ratio"),
    "online": ("instance", "solver", "options", "verified", "saving", "objective"),
}
_NUMERIC = ("runtime_s", "ratio", "runtime_ratio", "saving", "unserved")


def load_table(out: str | os.PathLike):
    """The table a study wrote to ``out`` (``results.parquet``), checked before any summary.

    A file that is not a readable Parquet table, a table without the columns the summaries read
    (``_COLUMNS``), an unknown domain or a metric that is not numeric raises InvalidInputError
    naming the file and the column, never an error from inside pandas.
    """
    import pandas as pd

    path = Path(out) / "results.parquet"
    if not path.is_file():
        raise InvalidInputError(str(out), "holds no results.parquet: run 'j3o-fast sweep ... --out DIR' first")
    try:
        table = pd.read_parquet(path)
    except Exception as exc:   # pyarrow's errors for garbage or truncated files have no common base
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInputError(str(path), f"not a readable Parquet table ({reason})") from None
    required = ["experiment", "domain", "method", "status"]
    missing = [c for c in required if c not in table.columns]
    if not missing:
        domains = table["domain"].dropna().unique().tolist()
        unknown = [d for d in domains if d not in SIZE_KEY]
        if unknown or table["domain"].isna().any():
            bad = unknown[0] if unknown else None
            raise InvalidInputError(f"{path}: domain", f"must be one of {', '.join(SIZE_KEY)}, got {bad!r}")
        for d in domains:
            extra = _COLUMNS[d] + (SIZE_KEY[d],)
            if d == "online":
                from .sweep.online import COLUMNS

                extra += COLUMNS
            missing += [c for c in extra if c not in table.columns and c not in missing]
    if missing:
        raise InvalidInputError(f"{path}: {missing[0]}", "required column is missing"
                                + (f" (also {', '.join(missing[1:])})" if missing[1:] else ""))
    for col in _NUMERIC:
        if col in table.columns:
            try:
                table[col].astype(float)
            except (TypeError, ValueError):
                raise InvalidInputError(f"{path}: {col}", f"must be a numeric column, got {table[col].dtype}") from None
    return table


def _facets(rows, size: str) -> list:
    """Parameters besides the size that take more than one value in these rows."""
    return [c for c in rows.columns if c in _all_params() and c != size and rows[c].nunique(dropna=False) > 1]


def _label(key) -> str:
    if isinstance(key, float) and math.isnan(key):
        return "none"
    return f"{key:g}" if isinstance(key, float) else str(key)


def summarise(table) -> list:
    """[(title, DataFrame)] per experiment: one row per (facets, method, size)."""
    import pandas as pd

    out = []
    for experiment, rows in table.groupby("experiment", sort=False):
        domain = rows["domain"].iloc[0]
        size = SIZE_KEY[domain]
        facets = _facets(rows, size)
        keys = facets + ["method", size]
        records = []
        if domain == "online":
            from .report_online import planner_gains, summarise_online

            out.append((f"{experiment} (online)", _sorted(pd.DataFrame.from_records(
                summarise_online(rows, keys, _label)), keys, size)))
            gains = planner_gains(rows, facets, size, _label)
            if gains is not None:
                out.append((f"{experiment} (online): OG against IP-SSA, same policy",
                            _sorted(gains, facets + [size], size)))
            continue
        for key, g in rows.groupby(keys, sort=True, dropna=False):
            key = key if isinstance(key, tuple) else (key,)
            ok = g[g["status"] != "error"]
            rec = {k: _label(v) for k, v in zip(keys, key)}
            rec.update(n=len(g), failed=int((g["status"] == "error").sum()),
                       unverified=int((ok["verified"] == False).sum()))  # noqa: E712 (nullable)
            runtime = ok["runtime_s"].astype(float)
            if domain == "placement":
                ratio = ok["ratio"].astype(float).dropna()
                rec.update(ratio_median=ratio.median() if len(ratio) else np.nan,
                           ratio_worst=ratio.min() if len(ratio) else np.nan,
                           runtime_median_s=runtime.median(),
                           runtime_ratio_median=ok["runtime_ratio"].astype(float).median())
            else:
                saving = ok["saving"].astype(float)
                ratio = ok["ratio"].astype(float).dropna()
                rec.update(saving_median=saving.median(), saving_worst=saving.min(),
                           unserved_mean=ok["unserved"].astype(float).mean(),
                           ratio_median=ratio.median() if len(ratio) else np.nan,
                           runtime_median_s=runtime.median())
            records.append(rec)
        frame = pd.DataFrame.from_records(records)
        if domain == "coinference" and frame["ratio_median"].isna().all():
            frame = frame.drop(columns="ratio_median")   # no oracle ran
        out.append((f"{experiment} ({domain})", _sorted(frame, keys, size)))
    return out


def _sorted(frame, keys: list, size: str):
    import pandas as pd

    return frame.sort_values([k for k in keys if k != size] + [size],
                             key=lambda c: pd.to_numeric(c, errors="coerce") if c.name == size else c,
                             kind="stable").reset_index(drop=True)


_FORMATS = {"ratio_median": "{:.4f}", "ratio_worst": "{:.4f}", "runtime_median_s": "{:.4g}",
            "runtime_ratio_median": "{:.3g}", "saving_median": "{:.1%}", "saving_worst": "{:.1%}",
            "unserved_mean": "{:.2f}", "energy_per_task_mj": "{:.3f}", "saving_mean": "{:.1%}",
            "violations_mean": "{:.1f}", "wait_ms": "{:.2f}", "gpu_busy_mean": "{:.2f}", "og_mj": "{:.3f}",
            "ip_ssa_mj": "{:.3f}", "gain": "{:+.2%}", "og_violations": "{:.1f}", "ip_ssa_violations": "{:.1f}"}


def format_tables(summary: list) -> str:
    """Plain-text tables of ``summarise``; missing values print as '-'."""
    blocks = []
    for title, frame in summary:
        shown = frame.copy()
        for col, fmt in _FORMATS.items():
            if col in shown:
                shown[col] = [("-" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v))
                              for v in frame[col]]
        blocks.append(f"{title}\n{shown.to_string(index=False)}")
    return "\n\n".join(blocks)


def write_plots(table, out: str | os.PathLike) -> list:
    """PNG plots per experiment into ``out/plots``: accuracy ratio vs size and runtime vs size
    (placement, log axes), energy saving vs users (co-inference), energy per task vs load and
    learning curves (online). Needs matplotlib."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError(PLOTS_NEED) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(out) / "plots"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for experiment, rows in table.groupby("experiment", sort=False):
        rows = rows[rows["status"] != "error"]
        if rows.empty:
            continue
        domain = rows["domain"].iloc[0]
        size = SIZE_KEY[domain]
        if domain == "online":
            from .report_online import figure_saver, write_online_plots

            written += write_online_plots(plt, experiment, rows, _facets(rows, size), folder, figure_saver(plt))
            continue
        if domain == "placement":
            kinds = [("ratio", "accuracy ratio A / A*  (median; dashed: worst)", "accuracy-ratio", False),
                     ("runtime_s", "runtime (s, median)", "runtime", True)]
        else:
            kinds = [("saving", "energy saving 1 - E/E_LC  (median; dashed: worst)", "energy-saving", False)]
        for column, ylabel, stem, logy in kinds:
            if rows[column].astype(float).notna().sum() == 0:
                continue
            path = folder / f"{experiment}-{stem}.png"
            _facet_plot(plt, rows, size, column, ylabel, f"{experiment}: {ylabel.split('  ')[0]}", logy, path)
            written.append(path)
    return written


def _facet_plot(plt, rows, size, column, ylabel, title, logy, path) -> None:
    facets = _facets(rows, size)
    groups = list(rows.groupby(facets, sort=True, dropna=False)) if facets else [((), rows)]
    n = len(groups)
    cols = min(n, 4)
    nrows = math.ceil(n / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.4 * nrows), squeeze=False, sharey=True)
    worst = column != "runtime_s"
    markers = "osD^v<>P*X"
    for ax, (key, g) in zip(axes.flat, groups):
        key = key if isinstance(key, tuple) else (key,)
        for i, (method, m) in enumerate(g.groupby("method", sort=False)):
            stats = m.groupby(size)[column].agg(["median", "min"]).sort_index()
            if stats["median"].notna().sum() == 0:
                continue
            line, = ax.plot(stats.index, stats["median"], marker=markers[i % len(markers)],
                            markersize=7 - 0.5 * (i % 4), label=method)
            if worst:
                ax.plot(stats.index, stats["min"], linestyle="--", linewidth=0.8, color=line.get_color())
        sizes = sorted(g[size].dropna().unique())
        if column != "saving":   # sizes span decades in placement studies
            ax.set_xscale("log")
            ax.minorticks_off()
        ax.set_xticks(sizes, [f"{int(v):,}" for v in sizes], fontsize=8)
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel(size.replace("_", " "))
        ax.set_title(", ".join(f"{f}={_label(v)}" for f, v in zip(facets, key)) or title, fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    axes[0, 0].set_ylabel(ylabel.split("  ")[0])
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    tmp = path.with_name(f".tmp-{path.name}")
    fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    os.replace(tmp, path)


def report(out: str | os.PathLike, *, plots: bool = True) -> tuple[str, list, str]:
    """(tables as text, plot paths, a note: '' or why plots were not written) for the study in ``out``."""
    table = load_table(out)
    if plots:   # before any work: a plots folder that cannot be written is bad input
        from ._jsonfile import check_folder

        check_folder(Path(out) / "plots", "plots")
    text = format_tables(summarise(table))
    paths, note = [], ""
    if plots:
        try:
            paths = write_plots(table, out)
        except ImportError as exc:
            note = str(exc)
    return text, paths, note


__all__ = ["PLOTS_NEED", "format_tables", "load_table", "report", "summarise", "write_plots"]
