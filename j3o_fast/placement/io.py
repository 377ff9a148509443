"""Placement instance and solution files (docs/formats.rst): strict reading, atomic writing."""

from __future__ import annotations

import math
import os

import numpy as np

from .. import _jsonfile as jf
from ..errors import InvalidInputError
from ..result import STATUSES, SolveResult
from .instance import PlacementInstance
from .solution import PlacementSolution, Routes

INSTANCE_FORMAT = "j3o-fast/placement-instance"
SOLUTION_FORMAT = "j3o-fast/placement-solution"
VERSION = 1

_TOP = {"format", "version", "tasks", "payload_mbit", "cloud_accuracy", "batching_window_s", "models",
        "edges", "clients"}
_MODELS = {"name", "accuracy", "gflop", "memory_mb", "batch_tau0_s", "batch_tau1_s", "max_batch"}
_EDGES = {"memory_mb", "speed", "backhaul_mbps"}
_CLIENTS = {"edge", "memory_mb", "gflops", "uplink_mbps", "rate"}


def _null_rows(a: np.ndarray) -> list:
    return [[None if np.isnan(v) else float(v) for v in row] for row in a]


def instance_to_dict(instance: PlacementInstance) -> dict:
    inst = instance
    acc = np.where(inst.cover, inst.accuracy, np.nan)
    gflop = np.where(inst.cover, inst.gflop, np.nan)
    return {
        "format": INSTANCE_FORMAT, "version": VERSION, "name": inst.name,
        "tasks": list(inst.tasks),
        "payload_mbit": inst.payload_mbit.tolist(),
        "cloud_accuracy": inst.cloud_accuracy.tolist(),
        "batching_window_s": inst.batching_window_s,
        "models": {
            "name": list(inst.model_names), "accuracy": _null_rows(acc), "gflop": _null_rows(gflop),
            "memory_mb": inst.memory_mb.tolist(), "batch_tau0_s": inst.batch_tau0_s.tolist(),
            "batch_tau1_s": inst.batch_tau1_s.tolist(), "max_batch": inst.max_batch.tolist(),
        },
        "edges": {"memory_mb": inst.edge_memory_mb.tolist(), "speed": inst.edge_speed.tolist(),
                  "backhaul_mbps": inst.edge_backhaul_mbps.tolist()},
        "clients": {
            "edge": inst.client_edge.tolist(), "memory_mb": inst.client_memory_mb.tolist(),
            "gflops": inst.client_gflops.tolist(), "uplink_mbps": inst.client_uplink_mbps.tolist(),
            "rate": inst.rate.tolist(),
        },
    }


def _string_list(value, path: str) -> tuple:
    if not isinstance(value, list):
        raise InvalidInputError(path, f"must be an array of strings, got {type(value).__name__}")
    return tuple(jf.string(s, f"{path}[{i}]") for i, s in enumerate(value))


def instance_from_dict(data: dict) -> PlacementInstance:
    """Parse and validate a placement-instance document; errors name the JSON path and value."""
    jf.check_keys(data, "", _TOP, {"name"})
    jf.check_header(data, INSTANCE_FORMAT, VERSION)
    tasks = _string_list(data["tasks"], "tasks")
    K = len(tasks)
    models = jf.check_keys(data["models"], "models", _MODELS)
    edges = jf.check_keys(data["edges"], "edges", _EDGES)
    clients = jf.check_keys(data["clients"], "clients", _CLIENTS)
    names = _string_list(models["name"], "models.name")
    M = len(names)
    if not isinstance(edges["memory_mb"], list):
        raise InvalidInputError("edges.memory_mb", "must be an array")
    if not isinstance(clients["edge"], list):
        raise InvalidInputError("clients.edge", "must be an array")
    E, N = len(edges["memory_mb"]), len(clients["edge"])
    # Empty sizes first, so the message names the real cause, not a length mismatch it causes.
    for path, size, what in (("tasks", K, "must list at least one task, got []"),
                             ("models.name", M, "must list at least one model, got []"),
                             ("edges.memory_mb", E, "must be a non-empty array, got []"),
                             ("clients.edge", N, "must be a non-empty array, got []")):
        if size == 0:
            raise InvalidInputError(path, what)
    window = data["batching_window_s"]
    if window is not None:
        window = jf.number(window, "batching_window_s")
    return PlacementInstance(
        name=jf.string(data.get("name", ""), "name") if data.get("name") is not None else "",
        tasks=tasks,
        payload_mbit=jf.vector(data["payload_mbit"], "payload_mbit", K),
        cloud_accuracy=jf.vector(data["cloud_accuracy"], "cloud_accuracy", K),
        batching_window_s=window,
        model_names=names,
        accuracy=jf.matrix(models["accuracy"], "models.accuracy", M, K, allow_null=True),
        gflop=jf.matrix(models["gflop"], "models.gflop", M, K, allow_null=True),
        memory_mb=jf.vector(models["memory_mb"], "models.memory_mb", M),
        batch_tau0_s=jf.vector(models["batch_tau0_s"], "models.batch_tau0_s", M),
        batch_tau1_s=jf.vector(models["batch_tau1_s"], "models.batch_tau1_s", M),
        max_batch=jf.vector(models["max_batch"], "models.max_batch", M, kind="int"),
        edge_memory_mb=jf.vector(edges["memory_mb"], "edges.memory_mb", E),
        edge_speed=jf.vector(edges["speed"], "edges.speed", E),
        edge_backhaul_mbps=jf.vector(edges["backhaul_mbps"], "edges.backhaul_mbps", E),
        client_edge=jf.vector(clients["edge"], "clients.edge", N, kind="int"),
        client_memory_mb=jf.vector(clients["memory_mb"], "clients.memory_mb", N),
        client_gflops=jf.vector(clients["gflops"], "clients.gflops", N),
        client_uplink_mbps=jf.vector(clients["uplink_mbps"], "clients.uplink_mbps", N),
        rate=jf.matrix(clients["rate"], "clients.rate", N, K),
    )


def save_instance(instance: PlacementInstance, path: str | os.PathLike) -> None:
    """Write a placement-instance file atomically."""
    jf.write_json_atomic(instance_to_dict(instance), path)


def load_instance(path: str | os.PathLike) -> PlacementInstance:
    """Read and validate a placement-instance file."""
    return instance_from_dict(jf.read_json(path))


# ---- solutions --------------------------------------------------------------------------------

def _route_rows(routes: Routes) -> list:
    keep = routes.fraction != 0
    return [[int(n), int(t), int(m), float(f)] for n, t, m, f in
            zip(routes.client[keep], routes.task[keep], routes.model[keep], routes.fraction[keep])]


def _dense_rows(arr: np.ndarray) -> list:
    n, t = np.nonzero(arr)
    return [[int(a), int(b), float(arr[a, b])] for a, b in zip(n, t)]


def solution_to_dict(result: SolveResult) -> dict:
    sol: PlacementSolution = result.decision
    bound = result.upper_bound
    return {
        "format": SOLUTION_FORMAT, "version": VERSION, "method": result.method, "status": result.status,
        "objective": float(result.objective),
        "upper_bound": None if bound is None or not math.isfinite(bound) else float(bound),
        "runtime_s": float(result.runtime_s),
        "client_models": [np.nonzero(row)[0].tolist() for row in sol.client_models],
        "edge_models": [np.nonzero(row)[0].tolist() for row in sol.edge_models],
        "routing": {"local": _route_rows(sol.local), "edge": _route_rows(sol.edge),
                    "cloud": _dense_rows(sol.cloud), "drop": _dense_rows(sol.drop)},
    }


def _model_sets(value, path: str, rows: int, n_models: int) -> np.ndarray:
    if not isinstance(value, list):
        raise InvalidInputError(path, f"must be an array, got {type(value).__name__}")
    if len(value) != rows:
        raise InvalidInputError(path, f"must have {rows} rows (one per node), got {len(value)}")
    out = np.zeros((rows, n_models), dtype=bool)
    for i, row in enumerate(value):
        if not isinstance(row, list):
            raise InvalidInputError(f"{path}[{i}]", f"must be an array of model indices, got {row!r}")
        for j, m in enumerate(row):
            m = jf.integer(m, f"{path}[{i}][{j}]")
            if not 0 <= m < n_models:
                raise InvalidInputError(f"{path}[{i}][{j}]", f"must be a model index in [0, {n_models - 1}], got {m}")
            out[i, m] = True
    return out


def _rows(value, path: str, width: int, limits: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Rows [i0, i1, (i2,) fraction]: integer indices within ``limits`` and a finite fraction."""
    if not isinstance(value, list):
        raise InvalidInputError(path, f"must be an array, got {type(value).__name__}")
    idx = np.zeros((len(value), width - 1), dtype=np.int64)
    frac = np.zeros(len(value))
    names = ("client", "task", "model")
    for r, row in enumerate(value):
        if not isinstance(row, list) or len(row) != width:
            raise InvalidInputError(f"{path}[{r}]", f"must be a row of {width} numbers, got {row!r}")
        for j in range(width - 1):
            k = jf.integer(row[j], f"{path}[{r}][{j}]")
            if not 0 <= k < limits[j]:
                raise InvalidInputError(f"{path}[{r}][{j}]", f"must be a {names[j]} index in [0, {limits[j] - 1}], got {k}")
            idx[r, j] = k
        frac[r] = jf.number(row[-1], f"{path}[{r}][{width - 1}]")
    return idx, frac


def solution_from_dict(data: dict, instance: PlacementInstance) -> SolveResult:
    """Parse a placement-solution document for ``instance`` (indices and sizes are checked)."""
    jf.check_keys(data, "", {"format", "version", "method", "status", "objective", "client_models",
                             "edge_models", "routing"}, {"upper_bound", "runtime_s"})
    jf.check_header(data, SOLUTION_FORMAT, VERSION)
    inst = instance
    N, E, M, K = inst.n_clients, inst.n_edges, inst.n_models, inst.n_tasks
    status = jf.string(data["status"], "status")
    if status not in STATUSES:
        raise InvalidInputError("status", f"must be one of {', '.join(STATUSES)}, got {status!r}")
    routing = jf.check_keys(data["routing"], "routing", {"local", "edge", "cloud", "drop"})
    routes = {}
    for key in ("local", "edge"):
        idx, frac = _rows(routing[key], f"routing.{key}", 4, (N, K, M))
        routes[key] = Routes(idx[:, 0], idx[:, 1], idx[:, 2], frac)
    dense = {}
    for key in ("cloud", "drop"):
        idx, frac = _rows(routing[key], f"routing.{key}", 3, (N, K))
        arr = np.zeros((N, K))
        np.add.at(arr, (idx[:, 0], idx[:, 1]), frac)
        dense[key] = arr
    decision = PlacementSolution(
        _model_sets(data["client_models"], "client_models", N, M),
        _model_sets(data["edge_models"], "edge_models", E, M),
        routes["local"], routes["edge"], dense["cloud"], dense["drop"],
    )
    bound = data.get("upper_bound")
    runtime = data.get("runtime_s")
    return SolveResult(
        method=jf.string(data["method"], "method"), status=status,
        objective=jf.number(data["objective"], "objective"), decision=decision,
        runtime_s=0.0 if runtime is None else jf.number(runtime, "runtime_s"),
        upper_bound=None if bound is None else jf.number(bound, "upper_bound"),
    )


def save_solution(result: SolveResult, path: str | os.PathLike) -> None:
    """Write a placement-solution file atomically from a solver result."""
    jf.write_json_atomic(solution_to_dict(result), path)


def load_solution(path: str | os.PathLike, instance: PlacementInstance) -> SolveResult:
    """Read a placement-solution file written for ``instance``."""
    return solution_from_dict(jf.read_json(path), instance)
