"""Presets: ready-made studies by name (``PRESETS``, ``preset``): a quick check of both domains,
the paper's placement and co-inference studies, and a large-scale placement study."""

from __future__ import annotations

from ..errors import InvalidInputError
from .study import LP_BOUND, Experiment, Limits, Study


def _placement(name, sizes, methods, *, family="nyu", windows=(None, 0.05), seeds=3, **params) -> Experiment:
    grid = {"n_clients": tuple(sizes), "window": tuple(windows)}
    if isinstance(family, tuple):
        grid = {"family": family, **grid}
        params = dict(params)
    else:
        params = {"family": family, **params}
    return Experiment(name=name, domain="placement", methods=tuple(methods), params=params, grid=grid, seeds=seeds)


def _quick() -> Study:
    return Study("quick", root_seed=2024, limits=Limits(time_limit_s=60.0), experiments=(
        _placement("placement", (10, 20, 50), ("j3o", "mip", "accuracy-greedy", "local-only"), n_edges=2, seeds=3),
        Experiment(name="coinference", domain="coinference", methods=("ip-ssa", "og", "lc"),
                   params={"profile": "mobilenetv2"}, grid={"n_users": (5, 10, 20, 50), "deadline_factor": (0.8, 1.5)},
                   seeds=3),
    ))


def _paper_placement() -> Study:
    baselines = ("accuracy-greedy", "local-only", "cloud-only", "edge-only", "single-task", "random")
    return Study("paper-placement", root_seed=2025, limits=Limits(time_limit_s=600.0), experiments=(
        _placement("accuracy-runtime", (10, 20, 50, 100, 200), ("j3o", "mip", *baselines),
                   family=("nyu", "taskonomy"), seeds=5),
        _placement("batching-awareness", (20, 50, 100), ("j3o", "j3o-unaware", "mip"), family=("nyu", "taskonomy"),
                   windows=(0.02, 0.05, 0.1), seeds=5),
    ))


def _scale() -> Study:
    methods = ("j3o", "accuracy-greedy", "local-only", "cloud-only", "random")
    return Study("scale", root_seed=2026, limits=Limits(time_limit_s=None), experiments=(
        _placement("scale", (100, 1_000, 10_000, 100_000), methods, family="random", seeds=3),
        # the LP bound of the same instances, where it is cheap enough to matter
        _placement("scale-bound", (100, 1_000, 10_000), (LP_BOUND,), family="random", seeds=3),
    ))


def _paper_coinference() -> Study:
    # the grids of the in-process study (coinference.study), run as a resumable parallel study
    from ..coinference.study import DEADLINE_FACTORS, PROFILES, SAVING_SPREAD, SPREAD_USERS, SPREADS, USERS

    methods = ("ip-ssa", "og", "fo", "ip-no-batch", "lc")
    return Study("paper-coinference", root_seed=2024, experiments=(
        Experiment(name="saving", domain="coinference", methods=methods, params={"deadline_spread": SAVING_SPREAD},
                   grid={"profile": PROFILES, "n_users": USERS, "deadline_factor": DEADLINE_FACTORS}, seeds=20),
        Experiment(name="spread", domain="coinference", methods=("ip-ssa-min", "og", "lc"),
                   grid={"profile": PROFILES, "n_users": SPREAD_USERS, "deadline_spread": SPREADS}, seeds=20),
        # batches capped at 8 with a per-member cost: IP-SSA and FO batch everyone at once, so OG
        Experiment(name="saving-capped", domain="coinference", methods=("og", "ip-no-batch", "lc"),
                   params={"profile": "vgg16", "max_batch": 8, "alpha": 0.05},
                   grid={"n_users": USERS, "deadline_factor": DEADLINE_FACTORS}, seeds=20),
    ))


#: Ready-made studies by name (each a function returning a fresh Study).
PRESETS = {"quick": _quick, "paper-placement": _paper_placement, "scale": _scale,
           "paper-coinference": _paper_coinference}


def preset(name: str) -> Study:
    """The preset study ``name`` (one of PRESETS)."""
    if name not in PRESETS:
        raise InvalidInputError("preset", f"must be one of {', '.join(PRESETS)}, got {name!r}")
    return PRESETS[name]()
