"""Offline energy study: IP-SSA and OG against all-local (LC), and OG against IP-SSA at T_min.

Two tables, both profiles (``profiles.generate``), from the sweep's co-inference energy study
(``sweep.presets.coinference_energy``, the first two experiments of the "paper-coinference"
preset), run in process or in joblib workers by ``sweep.run_study``: every instance is seeded
the sweep's way, from the root seed and its configuration's content, so the numbers do not
depend on ``n_jobs`` or on the order of the grids.

1. ``saving``: users K in 5..50, base deadlines as multiples of the profile's default and the
   generator's default spread 0.5 (T_k in [T, 1.5 T]); IP-SSA plans at the minimum deadline.
   Saving of a method = 1 - E_method / E_LC per instance; the table gives the median and the
   best over seeds, and the mean number of users each plan leaves unserved (they run
   all-local, as in LC, so the energies compare like for like).
2. ``spread``: deadlines T_k = base * (1 + spread*u_k); OG's gain over IP-SSA at the minimum
   deadline, 1 - E_OG / E_IP-SSA-min, as the spread grows (OG is never worse, so >= 0 when
   both serve the same users; fewer unserved users count first and are reported).

Run ``python -m j3o_fast.coinference.study`` (``--help`` for sizes and seeds); a couple of
minutes at most on 2 cores with the defaults.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from ..sweep.presets import (DEADLINE_FACTORS, PROFILES, SAVING_SPREAD, SPREAD_USERS, SPREADS, USERS,
                             coinference_energy)
from .profiles import DEFAULT_DEADLINE_S

#: The study's methods and their names in the records (``<name>_j``, ``_missed``, ``_s``).
_METHODS = (("lc", "lc"), ("ip-ssa", "ipssa"), ("og", "og"))


def run(*, seeds: int = 20, root_seed: int = 2024, n_jobs: int = 1, **grid) -> list:
    """All records, one dict per instance: its table, profile, users, deadline_s, spread and seed,
    and per method (lc, ipssa, og) the energy ``<m>_j`` (J), the unserved users ``<m>_missed`` and
    the runtime ``<m>_s``. ``grid`` overrides the grids of ``coinference_energy`` (profiles,
    users, deadline_factors, spreads, spread_users); ``n_jobs`` > 1 runs in joblib workers."""
    from ..sweep import run_study

    methods = tuple(m for m, _ in _METHODS)
    study = coinference_energy(seeds=seeds, root_seed=root_seed, saving_methods=methods, spread_methods=methods,
                               **grid)
    return records(run_study(study, None, n_jobs=n_jobs, progress=False))


def records(table) -> list:
    """The study's table (one row per instance and method) as one record per instance."""
    failed = table[table["status"] == "error"]
    if len(failed):
        raise RuntimeError(f"{len(failed)} of {len(table)} tasks failed, e.g. {failed['error'].iloc[0]}")
    out = []
    for _, rows in table.groupby(["experiment", "instance"], sort=False):
        first = rows.iloc[0]
        factor = first.get("deadline_factor", math.nan)
        base = DEFAULT_DEADLINE_S[first["profile"]]
        # as the generator computes it: factor x the profile's default, else the default
        deadline_s = base if factor is None or math.isnan(factor) else factor * base
        rec = dict(table=first["experiment"], profile=first["profile"], users=int(first["n_users"]),
                   deadline_s=deadline_s, spread=float(first["deadline_spread"]), seed=int(first["seed"]))
        by_method = rows.set_index("method")
        for method, name in _METHODS:
            row = by_method.loc[method]
            rec[f"{name}_j"] = float(row["objective"])
            rec[f"{name}_missed"] = int(row["unserved"])
            rec[f"{name}_s"] = float(row["runtime_s"])
        out.append(rec)
    return out


def _saving(a, b):
    return 1.0 - a / b


def summarise(records: list) -> tuple[list, list]:
    """(saving rows, spread rows): medians, bests and means over seeds per configuration."""
    saving, spread = [], []
    config = lambda r: (r["table"], r["profile"], r["users"], r["deadline_s"], r["spread"])  # noqa: E731
    for key in sorted({config(r) for r in records}):
        table, p, K, T, s = key
        rs = [r for r in records if config(r) == key]
        lc = np.array([r["lc_j"] for r in rs])
        ip = np.array([r["ipssa_j"] for r in rs])
        og = np.array([r["og_j"] for r in rs])
        missed = {m: float(np.mean([r[f"{m}_missed"] for r in rs])) for m in ("lc", "ipssa", "og")}
        if table == "saving":
            si, so = _saving(ip, lc), _saving(og, lc)
            saving.append(dict(profile=p, users=K, deadline_ms=1e3 * T, n=len(rs),
                               ipssa_median=float(np.median(si)), ipssa_best=float(si.max()),
                               og_median=float(np.median(so)), og_best=float(so.max()),
                               missed_lc=missed["lc"], missed_ipssa=missed["ipssa"], missed_og=missed["og"]))
        else:
            same = np.array([r["og_missed"] == r["ipssa_missed"] for r in rs])
            gain = _saving(og, ip)[same] if same.any() else np.array([np.nan])
            spread.append(dict(profile=p, users=K, spread=s, n=len(rs), gain_mean=float(np.mean(gain)),
                               gain_median=float(np.median(gain)), gain_best=float(np.max(gain)),
                               fewer_missed=float(np.mean([r["ipssa_missed"] - r["og_missed"] for r in rs])),
                               og_saving_median=float(np.median(_saving(og, lc))),
                               og_ms_mean=1e3 * float(np.mean([r["og_s"] for r in rs]))))
    return saving, spread


def format_tables(saving: list, spread: list) -> str:
    """Plain-text tables of ``summarise``."""
    lines = [f"Energy saving against all-local (LC); deadlines in [T, {1 + SAVING_SPREAD:g} T], IP-SSA at the minimum",
             f"{'profile':<12}{'K':>4}{'T (ms)':>8}  {'IP-SSA med':>10}{'best':>8}  {'OG med':>8}{'best':>8}"
             f"  {'unserved LC/IP/OG':>18}"]
    for r in saving:
        lines.append(f"{r['profile']:<12}{r['users']:>4}{r['deadline_ms']:>8.1f}  {r['ipssa_median']:>10.1%}"
                     f"{r['ipssa_best']:>8.1%}  {r['og_median']:>8.1%}{r['og_best']:>8.1%}"
                     f"  {r['missed_lc']:>6.2f}/{r['missed_ipssa']:.2f}/{r['missed_og']:.2f}")
    lines += ["", "OG's gain over IP-SSA at the minimum deadline, 1 - E_OG/E_IP-SSA-min (instances serving "
                  "the same users), as the deadline spread grows",
              f"{'profile':<12}{'K':>4}{'spread':>7}  {'mean':>7}{'median':>8}{'best':>8}  {'fewer unserved':>14}"
              f"  {'OG vs LC med':>12}{'OG ms':>7}"]
    for r in spread:
        lines.append(f"{r['profile']:<12}{r['users']:>4}{r['spread']:>7.2f}  {r['gain_mean']:>7.1%}"
                     f"{r['gain_median']:>8.1%}{r['gain_best']:>8.1%}  {r['fewer_missed']:>14.2f}"
                     f"  {r['og_saving_median']:>12.1%}{r['og_ms_mean']:>7.2f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m j3o_fast.coinference.study", description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20, help="instances per configuration (default 20)")
    ap.add_argument("--root-seed", type=int, default=2024)
    ap.add_argument("--n-jobs", type=int, default=1)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    records = run(seeds=args.seeds, root_seed=args.root_seed, n_jobs=args.n_jobs)
    print(format_tables(*summarise(records)))
    print(f"\n{len(records)} instances in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())


__all__ = ["DEADLINE_FACTORS", "PROFILES", "SAVING_SPREAD", "SPREADS", "SPREAD_USERS", "USERS", "format_tables", "main",
           "records", "run", "summarise"]
