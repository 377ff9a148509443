"""Summary tables and plots of a study's result table (``sweep.run_study``).

Per experiment, rows are grouped by method, instance size and the other parameters the grid
varies (e.g. the batching window). Placement (a maximisation): the median and the worst (lowest)
``ratio`` = A / A* to the exact optimum (or to the best upper bound where no optimum was
proved), the median runtime and the median ``runtime_ratio`` = t / t_MIP on the same instance.
Co-inference (a minimisation): the median and the worst (lowest) energy saving 1 - E/E_LC
against all-local, the mean number of users a plan leaves unserved, the median ratio E/E* to
the oracle where it ran, and the median runtime. Online (dispatch policies): energy per task,
saving, violations, wait and GPU use, and each policy's gain with OG over IP-SSA
(``report_online``). What each domain reports comes from its adapter (``sweep.adapters``:
columns, metrics, extra tables, plots); this module groups, formats and draws. Plots need
matplotlib (the ``plot`` extra).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from .errors import InvalidInputError
from .sweep.adapters import ADAPTERS, DOMAINS, all_params

PLOTS_NEED = "plots need matplotlib: pip install 'j3o-fast[plot]'"


_NUMERIC = ("runtime_s", "ratio", "runtime_ratio", "saving", "unserved")


def load_table(out: str | os.PathLike):
    """The table a study wrote to ``out`` (``results.parquet``), checked before any summary.

    A file that is not a readable Parquet table, a table without the columns the summaries read
    (each domain's ``report_columns`` and size column), an unknown domain or a metric that is not
    numeric raises InvalidInputError naming the file and the column, never an error from inside
    pandas.
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
        unknown = [d for d in domains if d not in ADAPTERS]
        if unknown or table["domain"].isna().any():
            bad = unknown[0] if unknown else None
            raise InvalidInputError(f"{path}: domain", f"must be one of {', '.join(DOMAINS)}, got {bad!r}")
        for d in domains:
            extra = ADAPTERS[d].report_columns + (ADAPTERS[d].size_key,)
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
    return [c for c in rows.columns if c in all_params() and c != size and rows[c].nunique(dropna=False) > 1]


def _label(key) -> str:
    if isinstance(key, float) and math.isnan(key):
        return "none"
    return f"{key:g}" if isinstance(key, float) else str(key)


def summarise(table) -> list:
    """[(title, DataFrame)] per experiment: one row per (facets, method, size) with the count of
    rows, failed and unverified ones and the domain's metrics (``DomainAdapter.summary``), then
    the domain's extra tables."""
    import pandas as pd

    out = []
    for experiment, rows in table.groupby("experiment", sort=False):
        name = rows["domain"].iloc[0]
        domain = ADAPTERS[name]
        size = domain.size_key
        facets = _facets(rows, size)
        keys = facets + ["method", size]
        records = []
        for key, g in rows.groupby(keys, sort=True, dropna=False):
            key = key if isinstance(key, tuple) else (key,)
            ok = g[g["status"] != "error"]
            rec = {k: _label(v) for k, v in zip(keys, key)}
            rec.update(n=len(g), failed=int((g["status"] == "error").sum()),
                       unverified=int((ok["verified"] == False).sum()))  # noqa: E712 (nullable)
            rec.update(domain.summary(ok))
            records.append(rec)
        frame = pd.DataFrame.from_records(records)
        empty = [c for c in domain.optional_summary if c in frame and frame[c].isna().all()]
        out.append((f"{experiment} ({name})", _sorted(frame.drop(columns=empty), keys, size)))
        if domain.extra_tables is not None:
            for subtitle, extra, sort_keys in domain.extra_tables(rows, facets, size, _label):
                out.append((f"{experiment} ({name}): {subtitle}", _sorted(extra, sort_keys, size)))
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
        domain = ADAPTERS[rows["domain"].iloc[0]]
        size = domain.size_key
        if domain.write_plots is not None:
            written += domain.write_plots(plt, experiment, rows, _facets(rows, size), folder, figure_saver(plt))
            continue
        for spec in domain.plots:
            if rows[spec.column].astype(float).notna().sum() == 0:
                continue
            path = folder / f"{experiment}-{spec.stem}.png"
            _facet_plot(plt, rows, size, spec, f"{experiment}: {spec.ylabel.split('  ')[0]}", domain.log_sizes, path)
            written.append(path)
    return written


def _facet_plot(plt, rows, size, spec, title, log_sizes: bool, path) -> None:
    """Median (and, dashed, the worst where ``spec.worst``) of ``spec.column`` against ``size``,
    one panel per combination of the facets, one line per method."""
    column, ylabel = spec.column, spec.ylabel
    facets = _facets(rows, size)
    groups = list(rows.groupby(facets, sort=True, dropna=False)) if facets else [((), rows)]
    n = len(groups)
    cols = min(n, 4)
    nrows = math.ceil(n / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.4 * nrows), squeeze=False, sharey=True)
    markers = "osD^v<>P*X"
    for ax, (key, g) in zip(axes.flat, groups):
        key = key if isinstance(key, tuple) else (key,)
        for i, (method, m) in enumerate(g.groupby("method", sort=False)):
            stats = m.groupby(size)[column].agg(["median", "min"]).sort_index()
            if stats["median"].notna().sum() == 0:
                continue
            line, = ax.plot(stats.index, stats["median"], marker=markers[i % len(markers)],
                            markersize=7 - 0.5 * (i % 4), label=method)
            if spec.worst:
                ax.plot(stats.index, stats["min"], linestyle="--", linewidth=0.8, color=line.get_color())
        sizes = sorted(g[size].dropna().unique())
        if log_sizes:
            ax.set_xscale("log")
            ax.minorticks_off()
        ax.set_xticks(sizes, [f"{int(v):,}" for v in sizes], fontsize=8)
        if spec.log_y:
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
    figure_saver(plt)(fig, path)


def figure_saver(plt):
    """save(fig, path): write a PNG atomically (temporary file, then rename) and close the figure."""
    def save(fig, path: Path) -> None:
        tmp = path.with_name(f".tmp-{path.name}")
        fig.savefig(tmp, dpi=110, format="png")
        plt.close(fig)
        os.replace(tmp, path)

    return save


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


__all__ = ["PLOTS_NEED", "figure_saver", "format_tables", "load_table", "report", "summarise", "write_plots"]
