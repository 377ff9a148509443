"""Presets: ready-made studies by name (``PRESETS``, ``preset``): a quick check of every domain,
the paper's placement, co-inference and online studies, and a large-scale placement study; and
``coinference_energy``, the offline co-inference energy study with its grids as arguments (the
first two experiments of "paper-coinference"; ``coinference.study`` runs it in process)."""

from __future__ import annotations

from typing import Sequence

from ..errors import InvalidInputError
from .adapters.placement import LP_BOUND
from .study import Experiment, Limits, Method, Study

#: Grids of the co-inference energy study: profiles, users and deadline factors of the saving
#: experiment (deadlines in [T, (1 + SAVING_SPREAD) T]), spreads and users of the spread one.
PROFILES = ("mobilenetv2", "vgg16")
USERS = (5, 10, 20, 50)
DEADLINE_FACTORS = (0.6, 0.8, 1.0, 1.5, 2.0)
SPREADS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
SPREAD_USERS = (20, 50)
SAVING_SPREAD = 0.5


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
        # fixed policies only: the quick study runs without the rl extra
        Experiment(name="online", domain="online", methods=_online_methods(ddpg_steps=None),
                   params={"n_devices": 10, "n_slots": 200, "train_traces": 5, "eval_traces": 5},
                   grid={"scenario": ("low-load", "default", "high-load")}, seeds=2),
    ))


def _online_methods(ddpg_steps: int | None) -> tuple:
    """Every section 7 policy, with both planners where it takes one; DDPG if ``ddpg_steps``."""
    methods = [Method("every-slot", "every-slot-og", {"planner": "og"}),
               Method("every-slot", "every-slot-ip-ssa", {"planner": "ip-ssa"}),
               Method("best-threshold", "best-threshold-og", {"planner": "og"}),
               Method("best-threshold", "best-threshold-ip-ssa", {"planner": "ip-ssa"})]
    if ddpg_steps is not None:
        methods += [Method("ddpg", "ddpg-og", {"planner": "og", "steps": ddpg_steps}),
                    Method("ddpg", "ddpg-ip-ssa", {"planner": "ip-ssa", "steps": ddpg_steps})]
    return tuple(methods) + (Method("clairvoyant"),)


def _paper_online() -> Study:
    # three replicates: three agent seeds per planner, each with its own 50 training and 10
    # evaluation traces; the default scenario is the middle point of both grids
    methods = _online_methods(ddpg_steps=20_000)
    params = {"n_devices": 20, "train_traces": 50, "eval_traces": 10}
    return Study("paper-online", root_seed=2027, experiments=(
        Experiment(name="load", domain="online", methods=methods, params=params,
                   grid={"scenario": ("low-load", "default", "high-load")}, seeds=3),
        Experiment(name="deadline-spread", domain="online", methods=methods, params=params,
                   grid={"scenario": ("low-spread", "default", "high-spread")}, seeds=3),
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


def coinference_energy(name: str = "coinference-energy", *, seeds: int = 20, root_seed: int = 2024,
                       profiles: Sequence[str] = PROFILES, users: Sequence[int] = USERS,
                       deadline_factors: Sequence[float] = DEADLINE_FACTORS, spreads: Sequence[float] = SPREADS,
                       spread_users: Sequence[int] = SPREAD_USERS, saving_methods: Sequence[str] = ("ip-ssa", "og", "lc"),
                       spread_methods: Sequence[str] = ("ip-ssa", "og", "lc")) -> Study:
    """The offline co-inference energy study: two experiments over ``profiles``.

    "saving": ``users`` x ``deadline_factors`` (deadline_s = factor x the profile's default T,
    relative deadlines in [T, (1 + SAVING_SPREAD) T]), for the saving 1 - E/E_LC of each method;
    "spread": ``spread_users`` x ``spreads`` at the default T, for OG's gain over IP-SSA at the
    minimum deadline as deadlines spread. ``seeds`` instances per configuration.
    """
    return Study(name, root_seed=root_seed, experiments=(
        Experiment(name="saving", domain="coinference", methods=tuple(saving_methods),
                   params={"deadline_spread": SAVING_SPREAD},
                   grid={"profile": tuple(profiles), "n_users": tuple(users),
                         "deadline_factor": tuple(deadline_factors)}, seeds=seeds),
        Experiment(name="spread", domain="coinference", methods=tuple(spread_methods),
                   grid={"profile": tuple(profiles), "n_users": tuple(spread_users),
                         "deadline_spread": tuple(spreads)}, seeds=seeds),
    ))


def _paper_coinference() -> Study:
    energy = coinference_energy(saving_methods=("ip-ssa", "og", "fo", "ip-no-batch", "lc"),
                                spread_methods=("ip-ssa-min", "og", "lc"))
    return Study("paper-coinference", root_seed=2024, experiments=energy.experiments + (
        # batches capped at 8 with a per-member cost: IP-SSA and FO batch everyone at once, so OG
        Experiment(name="saving-capped", domain="coinference", methods=("og", "ip-no-batch", "lc"),
                   params={"profile": "vgg16", "max_batch": 8, "alpha": 0.05},
                   grid={"n_users": USERS, "deadline_factor": DEADLINE_FACTORS}, seeds=20),
    ))


#: Ready-made studies by name (each a function returning a fresh Study).
PRESETS = {"quick": _quick, "paper-placement": _paper_placement, "scale": _scale,
           "paper-coinference": _paper_coinference, "paper-online": _paper_online}


def preset(name: str) -> Study:
    """The preset study ``name`` (one of PRESETS)."""
    if name not in PRESETS:
        raise InvalidInputError("preset", f"must be one of {', '.join(PRESETS)}, got {name!r}")
    return PRESETS[name]()
