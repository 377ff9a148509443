"""Tables and plots of online experiments (``sweep.online``), which the online domain's adapter
gives ``report`` (``sweep.adapters.online``).

Per (configuration, method): the energy per task over every evaluation episode of every
replicate (total energy / total tasks, mJ), the mean saving 1 - E/E_LC, deadline violations per
replicate, the task-weighted mean wait and the mean GPU busy fraction. The planner comparison
pairs the two planners of one policy (same method and options but ``planner``, e.g. DDPG-OG and
DDPG-IP-SSA): gain = 1 - E_OG/E_IP-SSA on the energy per task. Plots: energy per task against
the mean arrival rate (or against the varied parameter when the rate does not vary), and the
learning curves of trained agents (energy per task of each training episode, averaged over
replicates, with a moving average).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

#: Training episodes in the learning curves' moving average.
CURVE_WINDOW = 5


def _energy_per_task_mj(g) -> float:
    tasks = g["tasks"].astype(float).sum()
    return 1e3 * g["objective"].astype(float).sum() / tasks if tasks else math.nan


def online_summary(ok) -> dict:
    """The metrics of one group of successful online rows (one method, one configuration)."""
    tasks = ok["tasks"].astype(float)
    return dict(energy_per_task_mj=_energy_per_task_mj(ok), saving_mean=ok["saving"].astype(float).mean(),
                violations_mean=ok["deadline_violations"].astype(float).mean(),
                wait_ms=1e3 * (ok["mean_wait_s"].astype(float) * tasks).sum() / tasks.sum() if len(ok) else math.nan,
                gpu_busy_mean=ok["gpu_busy_fraction"].astype(float).mean())


def _policy(options_json: str) -> tuple[str, str]:
    """(planner, the other options as canonical text) of a row's options."""
    options = json.loads(options_json) if options_json else {}
    planner = options.pop("planner", "og")
    options.pop("seed", None)   # the replicate's agent seed
    return planner, json.dumps(options, sort_keys=True)


def planner_gains(rows, facets: list, size: str, label):
    """DataFrame: per (facets, size, policy), energy per task with OG and with IP-SSA and the gain
    1 - E_OG/E_IP-SSA, over the replicates where both ran; None if no policy ran with both."""
    import pandas as pd

    ok = rows[(rows["status"] != "error") & (rows["solver"] != "clairvoyant")].copy()
    if ok.empty:
        return None
    planner, rest = zip(*(_policy(o) for o in ok["options"]))
    ok["planner"], ok["policy"] = planner, [f"{s} {r}" if r != "{}" else s for s, r in zip(ok["solver"], rest)]
    records = []
    for key, g in ok.groupby(facets + [size, "policy"], sort=True, dropna=False):
        og, ip = g[g["planner"] == "og"], g[g["planner"] == "ip-ssa"]
        both = sorted(set(og["instance"]) & set(ip["instance"]))
        if not both:
            continue
        e_og = _energy_per_task_mj(og[og["instance"].isin(both)])
        e_ip = _energy_per_task_mj(ip[ip["instance"].isin(both)])
        key = key if isinstance(key, tuple) else (key,)
        rec = {k: label(v) for k, v in zip(facets + [size, "policy"], key)}
        rec.update(replicates=len(both), og_mj=e_og, ip_ssa_mj=e_ip, gain=1.0 - e_og / e_ip,
                   og_violations=og[og["instance"].isin(both)]["deadline_violations"].astype(float).mean(),
                   ip_ssa_violations=ip[ip["instance"].isin(both)]["deadline_violations"].astype(float).mean())
        records.append(rec)
    return pd.DataFrame.from_records(records) if records else None


def write_online_plots(plt, experiment: str, rows, facets: list, folder: Path, save) -> list:
    """Energy per task against load, and learning curves; returns the paths written."""
    load_varies = rows["mean_rate_hz"].nunique() > 1
    x = "mean_rate_hz" if load_varies else (facets[0] if facets else "n_devices")
    # Panels split by the facets that do not set the load (a scenario name or a rate scale sets it:
    # those become points along the load axis).
    sets_load = lambda f: load_varies and rows.groupby(f, dropna=False)["mean_rate_hz"].nunique().max() == 1  # noqa: E731
    others = [f for f in facets if f != x and not sets_load(f)]

    def energy_panel(ax, g) -> None:
        for i, (method, m) in enumerate(g.groupby("method", sort=False)):
            points = m.groupby(x, sort=True).apply(_energy_per_task_mj)
            xs = points.index.to_numpy() if load_varies else np.arange(len(points))
            ax.plot(xs, points.to_numpy(), marker="osD^v<>P*X"[i % 10], label=method)
            if not load_varies:
                ax.set_xticks(xs, [str(v) for v in points.index], fontsize=8)
        ax.set_xlabel("mean arrival rate per device (Hz)" if load_varies else x.replace("_", " "))

    def curve_panel(ax, g) -> None:
        for method, m in g.groupby("method", sort=False):
            curves = [np.asarray(json.loads(c), dtype=float) for c in m["curve"]]
            n = min(len(c) for c in curves)
            if n == 0:
                continue
            steps = curves[0][:n, 0]
            energy = 1e3 * np.mean([c[:n, 1] for c in curves], axis=0)
            w = min(CURVE_WINDOW, n)
            smooth = np.convolve(energy, np.ones(w) / w, mode="valid")
            line, = ax.plot(steps, energy, alpha=0.25)
            ax.plot(steps[w - 1:], smooth, color=line.get_color(), label=f"{method} ({len(curves)} seeds)")
        ax.set_xlabel("training steps")

    written = [_panels(plt, rows, others, energy_panel, "energy per task (mJ)", f"{experiment}: energy per task",
                       folder / f"{experiment}-energy-per-task.png", save, experiment)]
    trained = rows[rows["curve"].fillna("").astype(str) != ""]
    if not trained.empty:
        written.append(_panels(plt, trained, facets, curve_panel, "energy per task in training (mJ)",
                               f"{experiment}: learning curves", folder / f"{experiment}-learning-curves.png",
                               save, experiment))
    return written


def _panels(plt, rows, by: list, draw, ylabel: str, title: str, path: Path, save, experiment: str) -> Path:
    """One panel per value of the ``by`` columns, drawn by ``draw(ax, rows)``; saved to ``path``."""
    groups = list(rows.groupby(by, sort=True, dropna=False)) if by else [((), rows)]
    fig, axes = plt.subplots(1, len(groups), figsize=(4.6 * len(groups), 3.6), squeeze=False, sharey=True)
    for ax, (key, g) in zip(axes.flat, groups):
        key = key if isinstance(key, tuple) else (key,)
        draw(ax, g)
        ax.set_title(", ".join(f"{f}={v}" for f, v in zip(by, key)) or experiment, fontsize=9)
        ax.grid(True, alpha=0.3)
    axes[0, 0].set_ylabel(ylabel)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    save(fig, path)
    return path


__all__ = ["CURVE_WINDOW", "online_summary", "planner_gains", "write_online_plots"]
