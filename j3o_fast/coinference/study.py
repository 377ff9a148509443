"""Offline energy study: IP-SSA and OG against all-local (LC), and OG against IP-SSA at T_min.

Two tables, both profiles (``profiles.generate``), seeded per instance from one root seed
(``numpy.random.SeedSequence.spawn``), so the numbers do not depend on ``n_jobs``:

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
import time
from dataclasses import dataclass

import numpy as np

from .baselines import solve_lc
from .ipssa import solve_ipssa
from .og import solve_og
from .profiles import DEFAULT_DEADLINE_S, generate

PROFILES = ("mobilenetv2", "vgg16")
USERS = (5, 10, 20, 50)
DEADLINE_FACTORS = (0.6, 0.8, 1.0, 1.5, 2.0)
SPREADS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
SPREAD_USERS = (20, 50)
SAVING_SPREAD = 0.5


@dataclass(frozen=True)
class Case:
    table: str
    profile: str
    users: int
    deadline_s: float
    spread: float
    seed: int


def _seeds(root: int, n: int) -> list:
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(root).spawn(n)]


def cases(*, seeds: int = 20, root_seed: int = 2024, profiles=PROFILES, users=USERS,
          deadline_factors=DEADLINE_FACTORS, spreads=SPREADS, spread_users=SPREAD_USERS) -> list:
    """Every instance of both tables, each with its own seed spawned from ``root_seed``."""
    grid = []
    for p in profiles:
        base = DEFAULT_DEADLINE_S[p]
        for K in users:
            for f in deadline_factors:
                grid.append(("saving", p, K, base * f, SAVING_SPREAD))
        for K in spread_users:
            for s in spreads:
                grid.append(("spread", p, K, base, s))
    child = _seeds(root_seed, len(grid) * seeds)
    return [Case(*g, seed=child[i * seeds + r]) for i, g in enumerate(grid) for r in range(seeds)]


def run_case(case: Case) -> dict:
    """Energies (J) and unserved users of LC, IP-SSA at T_min and OG on one instance."""
    inst = generate(case.profile, case.users, deadline_s=case.deadline_s, deadline_spread=case.spread,
                    seed=case.seed)
    out = dict(table=case.table, profile=case.profile, users=case.users, deadline_s=case.deadline_s,
               spread=case.spread, seed=case.seed)
    for name, res in (("lc", solve_lc(inst)), ("ipssa", solve_ipssa(inst)), ("og", solve_og(inst))):
        out[f"{name}_j"] = res.objective
        out[f"{name}_missed"] = len(res.decision.infeasible_users)
        out[f"{name}_s"] = res.runtime_s
    return out


def run(*, seeds: int = 20, root_seed: int = 2024, n_jobs: int = 1, **grid) -> list:
    """All records (one dict per instance); ``n_jobs`` > 1 runs instances in joblib workers."""
    todo = cases(seeds=seeds, root_seed=root_seed, **grid)
    if n_jobs == 1:
        return [run_case(c) for c in todo]
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs)(delayed(run_case)(c) for c in todo)


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
