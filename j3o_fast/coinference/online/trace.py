"""The online arrival trace (docs/coinference.rst section 7, docs/formats.rst): frozen, validated, read-only arrays."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..._validate import is_finite
from ... import _validate as v
from ...errors import InvalidInputError
from ..instance import CoInferenceInstance


def _task_column(value, col: int, M: int, *, integer: bool) -> np.ndarray:
    """Column ``col`` of the task rows as a read-only int64 or float64 array; errors name ``tasks[i][col]``."""
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError):
        raise InvalidInputError("tasks", f"column {col} must be numeric, got {value!r}") from None
    if raw.shape != (M,):
        raise InvalidInputError("tasks", f"column {col} must have shape ({M},) like column 0, got {raw.shape}")
    if M == 0:
        return v.readonly(np.zeros(0), np.int64 if integer else np.float64)
    # A boolean inside a list is cast silently by NumPy; refuse it like a boolean array.
    mixed = not isinstance(value, np.ndarray) and any(isinstance(x, (bool, np.bool_)) for x in value)
    if mixed or raw.dtype == bool or not (np.issubdtype(raw.dtype, np.integer)
                                          or np.issubdtype(raw.dtype, np.floating)):
        items = list(value) if mixed else raw.tolist()
        i = next((j for j, x in enumerate(items) if isinstance(x, bool) or not isinstance(x, numbers.Real)), 0)
        raise InvalidInputError(f"tasks[{i}][{col}]", f"must be {'an integer' if integer else 'a number'}, "
                                                      f"got {items[i]!r}")
    bad = ~np.isfinite(raw) if np.issubdtype(raw.dtype, np.floating) else np.zeros(M, dtype=bool)
    if integer and np.issubdtype(raw.dtype, np.floating):
        bad |= raw != np.round(raw)
    if bad.any():
        i = int(np.argmax(bad))
        what = "an integer" if integer else "finite"
        raise InvalidInputError(f"tasks[{i}][{col}]", f"must be {what}, got {raw[i]}")
    return v.readonly(raw, np.int64 if integer else np.float64)


def _require_rows(ok: np.ndarray, values: np.ndarray, col: int, rule: str) -> None:
    bad = ~ok
    if bad.any():
        i = int(np.argmax(bad))
        raise InvalidInputError(f"tasks[{i}][{col}]", f"{rule}, got {values[i]}")


def _scalar(value, path: str, *, low: float, strict: bool) -> float:
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or not is_finite(value)
            or value < low or (strict and value == low)):
        raise InvalidInputError(path, f"must be a finite number {'>' if strict else '>='} {low:g}, got {value!r}")
    return float(value)


@dataclass(frozen=True, eq=False)
class OnlineTrace:
    """K devices of one profile, one edge GPU and M tasks arriving over S slots of ``slot_s`` seconds.

    Devices (docs/formats.rst, "Online arrival trace"): ``output_mbit`` (N+1,), ``edge_beta_s``,
    ``edge_alpha_s`` (N,), ``local_latency_s``, ``local_energy_j`` (K, N), ``uplink_mbps``,
    ``tx_power_w`` (K,), with the units and rules of ``CoInferenceInstance``. Tasks
    (docs/coinference.rst section 7) are the rows i = (k_i, a_i, T_i) stored column-wise:
    ``task_device`` (M,) int64 in [0, K), ``task_slot`` (M,) int64 in [0, S) and
    ``task_deadline_s`` (M,) float64 with 0 < T_i <= ``deadline_max_s`` (T_max), sorted by
    (slot, device), equal rows allowed, M = 0 allowed. Task i arrives at a_i * slot_s seconds.
    Errors name the JSON path of docs/formats.rst and the value, e.g. ``tasks[3][1]: ...``.

    Examples
    --------
    >>> tr = OnlineTrace(
    ...     subtasks=("b1", "b2"), output_mbit=[4.8, 2.0, 0.1],
    ...     edge_beta_s=[0.004, 0.002], edge_alpha_s=[0.0, 0.0],
    ...     local_latency_s=[[0.05, 0.03]], local_energy_j=[[0.10, 0.06]],
    ...     uplink_mbps=[20.0], tx_power_w=[0.2], slot_s=0.005, n_slots=10, deadline_max_s=0.1,
    ...     task_device=[0, 0], task_slot=[0, 3], task_deadline_s=[0.08, 0.1])
    >>> tr.n_devices, tr.n_tasks, tr.n_subtasks
    (1, 2, 2)
    >>> tr.devices.energy[0].round(4).tolist()   # E_0(s), as in CoInferenceInstance
    [0.048, 0.12, 0.16]
    """

    subtasks: tuple
    output_mbit: np.ndarray
    edge_beta_s: np.ndarray
    edge_alpha_s: np.ndarray
    local_latency_s: np.ndarray
    local_energy_j: np.ndarray
    uplink_mbps: np.ndarray
    tx_power_w: np.ndarray
    slot_s: float
    n_slots: int
    deadline_max_s: float
    task_device: np.ndarray
    task_slot: np.ndarray
    task_deadline_s: np.ndarray
    max_batch: int | None = None
    name: str = ""
    if TYPE_CHECKING:   # set by __post_init__, not a field: declared for the type checker only
        _devices: CoInferenceInstance = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        put = lambda key, value: object.__setattr__(self, key, value)  # noqa: E731 (frozen)

        t_max = _scalar(self.deadline_max_s, "deadline_max_s", low=0.0, strict=True)
        # The devices and the edge GPU are exactly the users and GPU of a co-inference instance:
        # its validation holds for them, with the trace's JSON paths (devices.*, not users.*).
        if np.ndim(self.uplink_mbps) != 1:
            raise InvalidInputError("devices.uplink_mbps", f"must be a non-empty array, got {self.uplink_mbps!r}")
        K = np.shape(self.uplink_mbps)[0]
        try:
            devices = CoInferenceInstance(
                subtasks=self.subtasks, output_mbit=self.output_mbit, edge_beta_s=self.edge_beta_s,
                edge_alpha_s=self.edge_alpha_s, local_latency_s=self.local_latency_s,
                local_energy_j=self.local_energy_j, uplink_mbps=self.uplink_mbps, tx_power_w=self.tx_power_w,
                deadline_s=np.full(K, t_max), release_s=np.zeros(K), max_batch=self.max_batch, name=self.name)
        except InvalidInputError as exc:
            path = "devices." + exc.path[len("users."):] if exc.path.startswith("users.") else exc.path
            raise InvalidInputError(path, exc.reason) from None
        for key in ("subtasks", "output_mbit", "edge_beta_s", "edge_alpha_s", "local_latency_s", "local_energy_j",
                    "uplink_mbps", "tx_power_w", "max_batch"):
            put(key, getattr(devices, key))
        put("_devices", devices)

        slot = _scalar(self.slot_s, "slot_s", low=0.0, strict=True)
        S = self.n_slots
        if isinstance(S, bool) or not isinstance(S, numbers.Integral) or S < 1:
            raise InvalidInputError("n_slots", f"must be an integer >= 1, got {S!r}")
        S = int(S)

        if np.ndim(self.task_device) != 1:
            raise InvalidInputError("tasks", f"must be rows [device, slot, relative_deadline_s], "
                                             f"got device column {self.task_device!r}")
        M = np.shape(self.task_device)[0]
        dev = _task_column(self.task_device, 0, M, integer=True)
        slots = _task_column(self.task_slot, 1, M, integer=True)
        T = _task_column(self.task_deadline_s, 2, M, integer=False)
        _require_rows((dev >= 0) & (dev < K), dev, 0, f"must be a device index in [0, {K - 1}]")
        _require_rows((slots >= 0) & (slots < S), slots, 1, f"must be a slot in [0, {S - 1}]")
        _require_rows(T > 0, T, 2, "must be > 0")
        _require_rows(T <= t_max, T, 2, f"must be <= deadline_max_s = {t_max:g}")
        if M > 1:
            down = (slots[1:] < slots[:-1]) | ((slots[1:] == slots[:-1]) & (dev[1:] < dev[:-1]))
            if down.any():
                i = int(np.argmax(down)) + 1
                raise InvalidInputError(
                    f"tasks[{i}]", f"rows must be sorted by (slot, device), got [{dev[i]}, {slots[i]}, {T[i]}] "
                                   f"after [{dev[i - 1]}, {slots[i - 1]}, {T[i - 1]}]")

        for key, value in [
            ("slot_s", slot), ("n_slots", S), ("deadline_max_s", t_max),
            ("task_device", dev), ("task_slot", slots), ("task_deadline_s", T),
        ]:
            put(key, value)

    # ---- sizes -----------------------------------------------------------------------------
    @property
    def n_devices(self) -> int:
        """K."""
        return self.uplink_mbps.shape[0]

    @property
    def n_tasks(self) -> int:
        """M, the number of task rows."""
        return self.task_device.shape[0]

    @property
    def n_subtasks(self) -> int:
        """N."""
        return len(self.subtasks)

    # ---- derived data, computed once -------------------------------------------------------
    @property
    def devices(self) -> CoInferenceInstance:
        """The K devices as the users of a ``CoInferenceInstance`` (deadline T_max, release 0, same max_batch).

        It carries the per-device derived arrays an episode needs: ``energy`` E_k(s),
        ``ready_time`` a_k(s), ``local_time`` L_k(s), ``tail_s`` R[n] and ``edge_latency``. Built
        and validated on construction.
        """
        return self._devices
