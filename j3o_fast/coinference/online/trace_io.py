"""Online arrival trace files (docs/formats.rst, "Online arrival trace"): strict reading, atomic writing.

The reader accepts exactly the keys of docs/formats.rst (``name`` and ``max_batch`` optional, any
unknown key is an error) and names the JSON path and the value of the first bad entry, e.g.
``tasks[3][1]: must be a slot in [0, 399], got 400``. Task rows are
``[device, slot, relative_deadline_s]``: device and slot integers (a whole float such as 1.0 is
read as 1, a boolean is refused), the deadline a finite number.
"""

from __future__ import annotations

import os

import numpy as np

from ... import _jsonfile as jf
from ...errors import InvalidInputError
from ..io import _max_batch, _string_list
from .trace import OnlineTrace

TRACE_FORMAT = "j3o-fast/online-trace"
VERSION = 1

_TOP = {"format", "version", "slot_s", "n_slots", "deadline_max_s", "subtasks", "output_mbit", "edge_beta_s",
        "edge_alpha_s", "devices", "tasks"}
_TOP_OPTIONAL = {"name", "max_batch"}
_DEVICES = {"local_latency_s", "local_energy_j", "uplink_mbps", "tx_power_w"}


def trace_to_dict(trace: OnlineTrace) -> dict:
    """The trace document of docs/formats.rst (tasks as ``[device, slot, relative_deadline_s]`` rows)."""
    tr = trace
    return {
        "format": TRACE_FORMAT, "version": VERSION, "name": tr.name,
        "slot_s": tr.slot_s, "n_slots": tr.n_slots, "deadline_max_s": tr.deadline_max_s,
        "subtasks": list(tr.subtasks),
        "output_mbit": tr.output_mbit.tolist(),
        "edge_beta_s": tr.edge_beta_s.tolist(),
        "edge_alpha_s": tr.edge_alpha_s.tolist(),
        "max_batch": tr.max_batch,
        "devices": {
            "local_latency_s": tr.local_latency_s.tolist(),
            "local_energy_j": tr.local_energy_j.tolist(),
            "uplink_mbps": tr.uplink_mbps.tolist(),
            "tx_power_w": tr.tx_power_w.tolist(),
        },
        "tasks": [[k, a, T] for k, a, T in zip(tr.task_device.tolist(), tr.task_slot.tolist(),
                                                tr.task_deadline_s.tolist())],
    }


def _index(value, path: str) -> int:
    x = jf.integer(value, path)
    if not -2**63 <= x < 2**63:   # beyond int64: out of every range the trace checks
        raise InvalidInputError(path, f"must be a 64-bit integer, got {x}")
    return x


def _tasks(value) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(value, list):
        raise InvalidInputError("tasks", f"must be an array of [device, slot, relative_deadline_s] rows, "
                                         f"got {type(value).__name__}")
    M = len(value)
    dev = np.empty(M, dtype=np.int64)
    slot = np.empty(M, dtype=np.int64)
    T = np.empty(M, dtype=np.float64)
    for i, row in enumerate(value):
        if not isinstance(row, list) or len(row) != 3:
            raise InvalidInputError(f"tasks[{i}]", f"must be [device, slot, relative_deadline_s], got {row!r}")
        dev[i] = _index(row[0], f"tasks[{i}][0]")
        slot[i] = _index(row[1], f"tasks[{i}][1]")
        T[i] = jf.number(row[2], f"tasks[{i}][2]")
    return dev, slot, T


def trace_from_dict(data: dict) -> OnlineTrace:
    """Parse and validate an online trace document; errors name the JSON path and value."""
    jf.check_keys(data, "", _TOP, _TOP_OPTIONAL)
    jf.check_header(data, TRACE_FORMAT, VERSION)
    subtasks = _string_list(data["subtasks"], "subtasks")
    N = len(subtasks)
    if N < 1:
        raise InvalidInputError("subtasks", "must list at least one sub-task, got []")
    devices = jf.check_keys(data["devices"], "devices", _DEVICES)
    if not isinstance(devices["local_latency_s"], list):
        raise InvalidInputError("devices.local_latency_s",
                                f"must be an array of rows, got {type(devices['local_latency_s']).__name__}")
    K = len(devices["local_latency_s"])
    if K < 1:
        raise InvalidInputError("devices.local_latency_s", "must have at least one device row, got []")
    name = data.get("name", "")
    dev, slot, T = _tasks(data["tasks"])
    return OnlineTrace(
        name="" if name is None else jf.string(name, "name"),
        subtasks=subtasks,
        output_mbit=jf.vector(data["output_mbit"], "output_mbit", N + 1),
        edge_beta_s=jf.vector(data["edge_beta_s"], "edge_beta_s", N),
        edge_alpha_s=jf.vector(data["edge_alpha_s"], "edge_alpha_s", N),
        max_batch=_max_batch(data.get("max_batch")),
        local_latency_s=jf.matrix(devices["local_latency_s"], "devices.local_latency_s", K, N),
        local_energy_j=jf.matrix(devices["local_energy_j"], "devices.local_energy_j", K, N),
        uplink_mbps=jf.vector(devices["uplink_mbps"], "devices.uplink_mbps", K),
        tx_power_w=jf.vector(devices["tx_power_w"], "devices.tx_power_w", K),
        slot_s=jf.number(data["slot_s"], "slot_s"),
        n_slots=jf.integer(data["n_slots"], "n_slots"),
        deadline_max_s=jf.number(data["deadline_max_s"], "deadline_max_s"),
        task_device=dev, task_slot=slot, task_deadline_s=T,
    )


def save_trace(trace: OnlineTrace, path: str | os.PathLike) -> None:
    """Write an online trace file atomically."""
    jf.write_json_atomic(trace_to_dict(trace), path)


def load_trace(path: str | os.PathLike) -> OnlineTrace:
    """Read and validate an online trace file."""
    return trace_from_dict(jf.read_json(path))


__all__ = ["TRACE_FORMAT", "VERSION", "load_trace", "save_trace", "trace_from_dict", "trace_to_dict"]
