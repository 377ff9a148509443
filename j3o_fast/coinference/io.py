"""Co-inference instance and plan files (docs/formats.rst): strict reading, atomic writing.

Readers accept exactly the keys of docs/formats.rst (an unknown key is an error, so a typo never falls
back to a default) and name the JSON path and the value of the first bad entry, e.g.
``users.deadline_s[3]: must be > 0, got -1.0``. NaN and infinities are refused with their path.
"""

from __future__ import annotations

import os

from .. import _jsonfile as jf
from ..errors import InvalidInputError
from ..result import SolveResult
from .instance import CoInferenceInstance
from .plan import Batch, CoInferencePlan

INSTANCE_FORMAT = "j3o-fast/coinference-instance"
PLAN_FORMAT = "j3o-fast/coinference-plan"
VERSION = 1

_TOP = {"format", "version", "subtasks", "output_mbit", "edge_beta_s", "edge_alpha_s", "users"}
_TOP_OPTIONAL = {"name", "max_batch"}
_USERS = {"local_latency_s", "local_energy_j", "uplink_mbps", "tx_power_w", "deadline_s"}
_USERS_OPTIONAL = {"release_s"}
_PLAN = {"format", "version", "method", "partition", "batches", "energy_j", "feasible"}
_PLAN_OPTIONAL = {"infeasible_users", "runtime_s"}


# ---- instances --------------------------------------------------------------------------------

def instance_to_dict(instance: CoInferenceInstance) -> dict:
    inst = instance
    return {
        "format": INSTANCE_FORMAT, "version": VERSION, "name": inst.name,
        "subtasks": list(inst.subtasks),
        "output_mbit": inst.output_mbit.tolist(),
        "edge_beta_s": inst.edge_beta_s.tolist(),
        "edge_alpha_s": inst.edge_alpha_s.tolist(),
        "max_batch": inst.max_batch,
        "users": {
            "local_latency_s": inst.local_latency_s.tolist(),
            "local_energy_j": inst.local_energy_j.tolist(),
            "uplink_mbps": inst.uplink_mbps.tolist(),
            "tx_power_w": inst.tx_power_w.tolist(),
            "deadline_s": inst.deadline_s.tolist(),
            "release_s": inst.release_s.tolist(),
        },
    }


def _string_list(value, path: str) -> tuple:
    if not isinstance(value, list):
        raise InvalidInputError(path, f"must be an array of strings, got {type(value).__name__}")
    return tuple(jf.string(s, f"{path}[{i}]") for i, s in enumerate(value))


def _max_batch(value):
    if value is None:
        return None
    cap = jf.integer(value, "max_batch")
    if cap < 1:
        raise InvalidInputError("max_batch", f"must be an integer >= 1 or null, got {value!r}")
    return cap


def instance_from_dict(data: dict) -> CoInferenceInstance:
    """Parse and validate a co-inference instance document; errors name the JSON path and value."""
    jf.check_keys(data, "", _TOP, _TOP_OPTIONAL)
    jf.check_header(data, INSTANCE_FORMAT, VERSION)
    subtasks = _string_list(data["subtasks"], "subtasks")
    N = len(subtasks)
    if N < 1:
        raise InvalidInputError("subtasks", "must list at least one sub-task, got []")
    users = jf.check_keys(data["users"], "users", _USERS, _USERS_OPTIONAL)
    if not isinstance(users["local_latency_s"], list):
        raise InvalidInputError("users.local_latency_s",
                                f"must be an array of rows, got {type(users['local_latency_s']).__name__}")
    K = len(users["local_latency_s"])
    if K < 1:
        raise InvalidInputError("users.local_latency_s", "must have at least one user row, got []")
    name = data.get("name", "")
    release = users.get("release_s")
    return CoInferenceInstance(
        name="" if name is None else jf.string(name, "name"),
        subtasks=subtasks,
        output_mbit=jf.vector(data["output_mbit"], "output_mbit", N + 1),
        edge_beta_s=jf.vector(data["edge_beta_s"], "edge_beta_s", N),
        edge_alpha_s=jf.vector(data["edge_alpha_s"], "edge_alpha_s", N),
        max_batch=_max_batch(data.get("max_batch")),
        local_latency_s=jf.matrix(users["local_latency_s"], "users.local_latency_s", K, N),
        local_energy_j=jf.matrix(users["local_energy_j"], "users.local_energy_j", K, N),
        uplink_mbps=jf.vector(users["uplink_mbps"], "users.uplink_mbps", K),
        tx_power_w=jf.vector(users["tx_power_w"], "users.tx_power_w", K),
        deadline_s=jf.vector(users["deadline_s"], "users.deadline_s", K),
        # None: no release times (CoInferenceInstance.release_s, stored as zeros)
        release_s=None if release is None else jf.vector(release, "users.release_s", K),  # type: ignore[arg-type]
    )


def save_instance(instance: CoInferenceInstance, path: str | os.PathLike) -> None:
    """Write a co-inference instance file atomically."""
    jf.write_json_atomic(instance_to_dict(instance), path)


def load_instance(path: str | os.PathLike) -> CoInferenceInstance:
    """Read and validate a co-inference instance file."""
    return instance_from_dict(jf.read_json(path))


# ---- plans ------------------------------------------------------------------------------------

def plan_to_dict(result: SolveResult) -> dict:
    """The plan document of a solve: its decision (a CoInferencePlan), method and runtime."""
    plan: CoInferencePlan = result.decision
    if not isinstance(plan, CoInferencePlan):
        raise InvalidInputError("decision", f"must be a CoInferencePlan, got {type(plan).__name__}")
    return {
        "format": PLAN_FORMAT, "version": VERSION, "method": result.method,
        "partition": plan.partition.tolist(),
        "batches": [[b.subtask, list(b.users), b.start_s] for b in plan.batches],
        "energy_j": plan.energy_j.tolist(),
        "feasible": plan.feasible,
        "infeasible_users": list(plan.infeasible_users),
        "runtime_s": float(result.runtime_s),
    }


def _batches(value, n_users: int | None, n_subtasks: int | None) -> tuple:
    if not isinstance(value, list):
        raise InvalidInputError("batches", f"must be an array, got {type(value).__name__}")
    out = []
    for i, row in enumerate(value):
        path = f"batches[{i}]"
        if not isinstance(row, list) or len(row) != 3:
            raise InvalidInputError(path, f"must be [subtask, [users], start_s], got {row!r}")
        n = jf.integer(row[0], f"{path}[0]")
        hi = "" if n_subtasks is None else f"..{n_subtasks}"
        if n < 1 or (n_subtasks is not None and n > n_subtasks):
            raise InvalidInputError(f"{path}[0]", f"must be a sub-task in 1{hi}, got {n}")
        if not isinstance(row[1], list) or not row[1]:
            raise InvalidInputError(f"{path}[1]", f"must be a non-empty array of user indices, got {row[1]!r}")
        users = []
        for j, u in enumerate(row[1]):
            u = jf.integer(u, f"{path}[1][{j}]")
            if u < 0 or (n_users is not None and u >= n_users):
                top = "" if n_users is None else f" < {n_users}"
                raise InvalidInputError(f"{path}[1][{j}]", f"must be a user index >= 0{top}, got {u}")
            if u in users:
                raise InvalidInputError(f"{path}[1][{j}]", f"repeats user {u} in the same batch, got {row[1]!r}")
            users.append(u)
        start = jf.number(row[2], f"{path}[2]")
        out.append(Batch(n, tuple(users), start))
    return tuple(out)


def plan_from_dict(data: dict, instance: CoInferenceInstance | None = None) -> SolveResult:
    """Parse a plan document into a SolveResult whose decision is the CoInferencePlan.

    With ``instance``, sizes and indices are checked against it (K users, sub-tasks 1..N,
    partition points 0..N). The file records no status: it is "partial" when users are
    listed as infeasible (a usable plan that leaves them unserved), else "feasible"; the
    objective is sum(energy_j).
    """
    jf.check_keys(data, "", _PLAN, _PLAN_OPTIONAL)
    jf.check_header(data, PLAN_FORMAT, VERSION)
    method = jf.string(data["method"], "method")
    K = None if instance is None else instance.n_users
    N = None if instance is None else instance.n_subtasks
    part = jf.vector(data["partition"], "partition", K, kind="int")
    K = len(part)
    for k, s in enumerate(part):
        if s < 0 or (N is not None and s > N):
            raise InvalidInputError(f"partition[{k}]", f"must be a partition point in 0..{N if N is not None else 'N'}, got {int(s)}")
    energy = jf.vector(data["energy_j"], "energy_j", K)
    batches = _batches(data["batches"], K, N)
    feasible = data["feasible"]
    if not isinstance(feasible, bool):
        raise InvalidInputError("feasible", f"must be true or false, got {feasible!r}")
    infeasible = data.get("infeasible_users", [])
    if not isinstance(infeasible, list):
        raise InvalidInputError("infeasible_users", f"must be an array, got {type(infeasible).__name__}")
    inf_users = []
    for j, u in enumerate(infeasible):
        u = jf.integer(u, f"infeasible_users[{j}]")
        if not 0 <= u < K:
            raise InvalidInputError(f"infeasible_users[{j}]", f"must be a user index in [0, {K - 1}], got {u}")
        inf_users.append(u)
    runtime = data.get("runtime_s", 0.0)
    runtime = jf.number(runtime, "runtime_s")
    if runtime < 0:
        raise InvalidInputError("runtime_s", f"must be >= 0, got {runtime!r}")
    plan = CoInferencePlan(partition=part, batches=batches, energy_j=energy, feasible=feasible,
                           infeasible_users=tuple(inf_users))
    status = "partial" if plan.infeasible_users else "feasible"
    return SolveResult(method=method, status=status, objective=plan.total_energy_j, decision=plan, runtime_s=runtime)


def save_solution(result: SolveResult, path: str | os.PathLike) -> None:
    """Write the plan of ``result`` atomically (method, runtime and the CoInferencePlan).

    The same name and shape as ``placement.save_solution``; ``save_plan`` is its alias.
    """
    jf.write_json_atomic(plan_to_dict(result), path)


def load_solution(path: str | os.PathLike, instance: CoInferenceInstance) -> SolveResult:
    """Read a plan file checked against ``instance`` (sizes and indices); see ``plan_from_dict``.

    The same name and shape as ``placement.load_solution``; ``load_plan`` also reads a plan
    without its instance.
    """
    if not isinstance(instance, CoInferenceInstance):
        raise InvalidInputError("instance", f"must be a CoInferenceInstance, got {type(instance).__name__}")
    return plan_from_dict(jf.read_json(path), instance)


def save_plan(result: SolveResult, path: str | os.PathLike) -> None:
    """Alias of ``save_solution``, kept for existing callers."""
    save_solution(result, path)


def load_plan(path: str | os.PathLike, instance: CoInferenceInstance | None = None) -> SolveResult:
    """Read a plan file, checked against ``instance`` when given (``load_solution`` needs it)."""
    return plan_from_dict(jf.read_json(path), instance)


__all__ = ["INSTANCE_FORMAT", "PLAN_FORMAT", "VERSION", "instance_from_dict", "instance_to_dict", "load_instance",
           "load_plan", "load_solution", "plan_from_dict", "plan_to_dict", "save_instance", "save_plan",
           "save_solution"]
