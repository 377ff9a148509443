"""Instance families of docs/placement.rst section 5, deterministic per seed.

``nyu`` (3 dense-prediction tasks) and ``taskonomy`` (5 tasks) build their model library from
four backbones (MobileNetV2, ResNet-18/34/50 sizes) times task subsets: a multi-task model shares
one backbone among its heads, trading about a point of accuracy per extra task for much less
memory than separate single-task models. Each model's batch latency on the reference GPU is a
``j3o_fast.batching.AffineBatchLatency`` (tau0 + tau1*b, at most max_batch), the batch-latency
model co-inference uses too, turned into instance arrays by ``batching.to_placement_tau``.
``random`` draws every size and ratio from parameters, for scaling studies. Edges get a
model-memory budget of a few percent of the library, so memory binds at clients and edges;
compute, uplink, backhaul or GPU time bind in most instances.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from .._validate import Seed
from ..batching import AffineBatchLatency, to_placement_tau
from ..errors import InvalidInputError
from .instance import PlacementInstance

FAMILIES = ("nyu", "taskonomy", "random")

# name, backbone memory (MB), backbone GFLOP per query, accuracy offset, tau0 (s), tau1 (s/query), max batch
_BACKBONES = (
    ("mbv2", 14.0, 1.2, 0.00, 0.0030, 0.0004, 64),
    ("r18", 45.0, 3.6, 0.04, 0.0040, 0.0008, 64),
    ("r34", 85.0, 7.3, 0.07, 0.0060, 0.0014, 48),
    ("r50", 98.0, 8.2, 0.09, 0.0080, 0.0020, 32),
)
_HEAD_MEMORY = 0.3      # a dense-prediction head's memory, as a share of its backbone's
_HEAD_GFLOP = 0.4       # a head's compute per query, as a share of its backbone's
_MULTITASK_PENALTY = 0.012  # accuracy lost per extra task sharing a backbone

_TASKS = {
    "nyu": (("segmentation", 0.38), ("depth", 0.62), ("normals", 0.48)),
    "taskonomy": (("segmentation", 0.45), ("depth", 0.58), ("normals", 0.55), ("edges", 0.70),
                  ("keypoints", 0.62)),
}

# Ranges shared by all families (docs/placement.rst section 5); each can be overridden by keyword.
DEFAULTS = {
    "client_memory_mb": (100.0, 2000.0),     # log-uniform
    "client_gflops": (5.0, 40.0),            # phone-class effective GFLOP/s
    "uplink_mbps": (10.0, 100.0),
    "client_rate": (5.0, 20.0),              # total queries/s per client (video frames)
    "task_mix_concentration": 0.6,           # Dirichlet; < 1 skews each client's task mix
    "task_absent_probability": 0.25,         # chance that a client never asks for a task
    "payload_mbit": (2.0, 4.0),              # one compressed frame, same for every task
    "edge_memory_fraction": (0.03, 0.12),    # edge model budget as a share of the library's memory
    "edge_speed": (0.5, 2.0),
    "backhaul_mbps": (100.0, 1000.0),
    "cloud_margin": (0.03, 0.08),            # cloud accuracy above the best library model
}
RANDOM_DEFAULTS = {
    "n_tasks": 3,
    "n_models": 24,
    "model_memory_mb": (10.0, 150.0),
    "model_gflop": (1.0, 15.0),
    "model_accuracy": (0.3, 0.85),
    "batch_tau0_s": (0.002, 0.010),
    "batch_tau1_s": (0.0003, 0.003),
    "max_batch": (16, 32, 64),
}


def _library(family: str, rng: np.random.Generator) -> dict[str, Any]:
    tasks = _TASKS[family]
    K = len(tasks)
    if family == "nyu":
        subsets = [s for k in range(1, K + 1) for s in combinations(range(K), k)]
    else:  # taskonomy: singles, three pairs, one triple, all five
        subsets = [(t,) for t in range(K)] + [(0, 1), (1, 2), (3, 4), (0, 1, 2), tuple(range(K))]
    names, acc, gflop, mem, latency = [], [], [], [], []
    base = np.array([b for _, b in tasks])
    for bb, bb_mem, bb_gflop, offset, t0, t1, bm in _BACKBONES:
        for s in subsets:
            k = len(s)
            a = np.full(K, np.nan)
            g = np.full(K, np.nan)
            idx = np.array(s)
            a[idx] = base[idx] + offset - _MULTITASK_PENALTY * (k - 1) + rng.normal(0.0, 0.008, k)
            g[idx] = bb_gflop * (1.0 + _HEAD_GFLOP)
            names.append(f"{bb}-" + "+".join(tasks[t][0][:4] for t in s))
            acc.append(np.clip(a, 0.05, 0.98))
            gflop.append(g)
            mem.append(bb_mem * (1.0 + _HEAD_MEMORY * k))
            # each extra head adds to a batch's fixed time; heads make every query 30% dearer
            latency.append(AffineBatchLatency(t0 + 0.0005 * (k - 1), t1 * 1.3, bm))
    tau0, tau1, bmax = to_placement_tau(latency)   # the table is for the reference GPU (speed 1)
    return dict(tasks=tuple(t for t, _ in tasks), model_names=tuple(names), accuracy=np.array(acc),
                gflop=np.array(gflop), memory_mb=np.array(mem), batch_tau0_s=tau0,
                batch_tau1_s=tau1, max_batch=bmax)


def _uniform(rng: np.random.Generator, bounds: tuple[float, float], size: int | tuple[int, ...] | None = None) -> Any:
    """``rng.uniform(low, high, size)`` for a parameter's (low, high) range."""
    low, high = bounds
    return rng.uniform(low, high, size)


def _random_library(p: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    K, M = int(p["n_tasks"]), int(p["n_models"])
    cover = rng.random((M, K)) < 0.5
    cover[np.arange(M), rng.integers(0, K, M)] = True          # every model serves a task
    cover[rng.integers(0, M, K), np.arange(K)] = True          # every task has a model
    k = cover.sum(axis=1)
    acc = np.where(cover, _uniform(rng, p["model_accuracy"], (M, K)), np.nan)
    gflop = np.where(cover, _uniform(rng, p["model_gflop"], (M, 1)) * np.ones((1, K)), np.nan)
    mem = _uniform(rng, p["model_memory_mb"], M) * np.sqrt(k)
    return dict(tasks=tuple(f"task{t}" for t in range(K)), model_names=tuple(f"model{m}" for m in range(M)),
                accuracy=acc, gflop=gflop, memory_mb=mem, batch_tau0_s=_uniform(rng, p["batch_tau0_s"], M),
                batch_tau1_s=_uniform(rng, p["batch_tau1_s"], M),
                max_batch=rng.choice(np.asarray(p["max_batch"]), M))


def _check_params(family: str, params: dict) -> dict[str, Any]:
    allowed = dict(DEFAULTS)
    if family == "random":
        allowed.update(RANDOM_DEFAULTS)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise InvalidInputError(unknown[0], f"unknown parameter for family {family!r} "
                                            f"(known: {', '.join(sorted(allowed))})")
    merged = {**allowed, **params}
    for key, value in merged.items():
        if isinstance(value, tuple) and key != "max_batch":
            lo, hi = value
            if not (np.isfinite(lo) and np.isfinite(hi) and 0 <= lo <= hi):
                raise InvalidInputError(key, f"must be a range (low, high) with 0 <= low <= high, got {value!r}")
    for key in ("n_tasks", "n_models"):
        if key in merged and (int(merged[key]) != merged[key] or merged[key] < 1):
            raise InvalidInputError(key, f"must be an integer >= 1, got {merged[key]!r}")
    return merged


def generate(family: str, n_clients: int, n_edges: int | None = None, *, seed: int = 0,
             window: float | None = None, **params: Any) -> PlacementInstance:
    """Draw one placement instance of ``family`` ('nyu', 'taskonomy' or 'random').

    ``n_edges`` defaults to one edge per 25 clients; ``window`` is the edge batching window W in
    seconds (None: no batching); ``seed`` (keyword-only, as every seed of the package) is an
    integer >= 0 or a numpy SeedSequence; ``params`` override the ranges in DEFAULTS (and
    RANDOM_DEFAULTS for 'random'). The same arguments give the same instance on every machine.

    >>> inst = generate("nyu", n_clients=50, n_edges=2, seed=7)
    >>> inst.n_tasks, inst.n_clients, inst.n_edges
    (3, 50, 2)
    """
    if family not in FAMILIES:
        raise InvalidInputError("family", f"must be one of {', '.join(FAMILIES)}, got {family!r}")
    if isinstance(n_clients, bool) or not isinstance(n_clients, (int, np.integer)) or n_clients < 1:
        raise InvalidInputError("n_clients", f"must be an integer >= 1, got {n_clients!r}")
    if n_edges is None:
        n_edges = max(1, round(n_clients / 25))
    if isinstance(n_edges, bool) or not isinstance(n_edges, (int, np.integer)) or n_edges < 1:
        raise InvalidInputError("n_edges", f"must be an integer >= 1, got {n_edges!r}")
    if window is not None and not (np.isfinite(window) and window > 0):
        raise InvalidInputError("window", f"must be > 0 seconds or None, got {window!r}")
    if not isinstance(seed, np.random.SeedSequence):
        Seed()(seed, "seed")
    p = _check_params(family, params)
    rng = np.random.default_rng(seed)

    lib = _random_library(p, rng) if family == "random" else _library(family, rng)
    K = len(lib["tasks"])
    best = np.nanmax(lib["accuracy"], axis=0)
    cloud = np.minimum(best + _uniform(rng, p["cloud_margin"], K), 0.99)
    payload = np.full(K, _uniform(rng, p["payload_mbit"]))

    N, E = int(n_clients), int(n_edges)
    lo, hi = np.log(p["client_memory_mb"])
    client_mem = np.exp(rng.uniform(lo, hi, N))
    client_gflops = _uniform(rng, p["client_gflops"], N)
    uplink = _uniform(rng, p["uplink_mbps"], N)
    mix = rng.dirichlet(np.full(K, p["task_mix_concentration"]), N)
    absent = rng.random((N, K)) < p["task_absent_probability"]
    absent[np.arange(N), np.argmax(mix, axis=1)] = False          # each client asks for something
    mix = np.where(absent, 0.0, mix)
    mix /= mix.sum(axis=1, keepdims=True)
    rate = _uniform(rng, p["client_rate"], (N, 1)) * mix
    rate = np.where(rate < 1e-3, 0.0, rate)  # no negligible sub-milli-query rates
    edge_of = rng.permutation(np.arange(N) % E)

    library_mb = lib["memory_mb"].sum()
    edge_mem = _uniform(rng, p["edge_memory_fraction"], E) * library_mb
    edge_mem = np.maximum(edge_mem, lib["memory_mb"].min())    # every edge can hold some model
    return PlacementInstance(
        name=f"{family}-N{N}-E{E}-seed{seed if isinstance(seed, (int, np.integer)) else 'ss'}"
             + (f"-W{window:g}" if window is not None else ""),
        payload_mbit=payload, cloud_accuracy=cloud, batching_window_s=window,
        edge_memory_mb=edge_mem, edge_speed=_uniform(rng, p["edge_speed"], E),
        edge_backhaul_mbps=_uniform(rng, p["backhaul_mbps"], E),
        client_edge=edge_of, client_memory_mb=client_mem, client_gflops=client_gflops,
        client_uplink_mbps=uplink, rate=rate, **lib,
    )
