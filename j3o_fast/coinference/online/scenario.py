"""Online scenarios and the seeded arrival-trace generator (docs/coinference.rst section 7, "Scenario", "Arrivals").

A ``Scenario`` fixes the devices' profile and count, the arrival rate, the deadline range and the
episode (slot length Delta, S slots); ``generate_trace(scenario, seed=...)`` draws one
``OnlineTrace`` from it:

- devices: exactly those of ``profiles.generate(profile, n_devices, alpha=..., max_batch=...,
  seed=device_seed(seed))`` (its deadlines are not used);
- rate: lambda_t = ``rate_hz``, or, when ``rate_low_hz`` and ``rate_high_hz`` are given, a
  two-state Markov chain shared by all devices that starts low and switches state with
  probability ``switch_prob`` at each slot boundary (``rate_hz`` is then ignored);
- arrivals: device k releases one task in slot t iff U[t, k] < lambda_t * Delta, U an (S, K)
  matrix of U[0, 1) draws (common random numbers: the arrivals never depend on a policy);
- deadlines: T_i = D[a_i, k_i] with D ~ U[T_min, T_max] of shape (S, K), so a task keeps its
  deadline when the rate changes.

One ``numpy.random.SeedSequence(seed)`` is spawned into four independent children (devices, rate
chain, arrivals, deadlines), so changing e.g. ``n_slots`` or the rate leaves the devices as
they are, and a longer episode starts with the arrivals of a shorter one.
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, fields
from typing import cast

import numpy as np

from ..._validate import is_finite
from ... import _jsonfile as jf
from ...errors import InvalidInputError
from .. import profiles
from .trace import OnlineTrace


def _real(value, path: str, *, low: float, strict: bool) -> float:
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or not is_finite(value)
            or value < low or (strict and value == low)):
        raise InvalidInputError(path, f"must be a finite number {'>' if strict else '>='} {low:g}, got {value!r}")
    return float(value)


def _count(value, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InvalidInputError(path, f"must be an integer >= 1, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class Scenario:
    """One online setting of docs/coinference.rst section 7; ``generate_trace`` draws traces from it.

    Fields: ``profile`` ('mobilenetv2' or 'vgg16') and ``n_devices`` K; ``rate_hz`` lambda,
    tasks per second per device (per slot a device releases a task with probability
    lambda*Delta <= 1); bursty rate: ``rate_low_hz`` and ``rate_high_hz`` (both or neither,
    low <= high) with ``switch_prob`` per slot boundary, in which case ``rate_hz`` is ignored
    (``switch_prob`` must stay 0 without them); ``deadline_min_s``, ``deadline_max_s`` T_min,
    T_max in seconds (T_i ~ U[T_min, T_max], 0 < T_min <= T_max); ``slot_s`` Delta in seconds;
    ``n_slots`` S; ``alpha`` and ``max_batch`` of the edge GPU as in ``profiles.generate``.
    Bad values raise InvalidInputError naming the field.

    >>> sc = Scenario(n_devices=4, rate_hz=10.0, n_slots=100)
    >>> sc.arrival_prob, sc.bursty
    (0.05, False)
    >>> Scenario.from_dict(sc.to_dict()) == sc
    True
    """

    profile: str = "mobilenetv2"
    n_devices: int = 20
    rate_hz: float = 20.0
    rate_low_hz: float | None = None
    rate_high_hz: float | None = None
    switch_prob: float = 0.0
    deadline_min_s: float = 0.02
    deadline_max_s: float = 0.06
    slot_s: float = 0.005
    n_slots: int = 400
    alpha: float = 0.0
    max_batch: int | None = None

    def __post_init__(self):
        put = lambda key, value: object.__setattr__(self, key, value)  # noqa: E731 (frozen)

        if not isinstance(self.profile, str) or self.profile.lower() not in profiles.PROFILES:
            raise InvalidInputError("profile", f"must be one of {', '.join(profiles.PROFILES)}, got {self.profile!r}")
        put("profile", self.profile.lower())
        put("n_devices", _count(self.n_devices, "n_devices"))
        put("n_slots", _count(self.n_slots, "n_slots"))
        slot = _real(self.slot_s, "slot_s", low=0.0, strict=True)
        put("slot_s", slot)

        def rate(key, *, used=True):
            value = _real(getattr(self, key), key, low=0.0, strict=False)
            if used and value * slot > 1.0:
                raise InvalidInputError(key, f"must be at most 1/slot_s = {1.0 / slot:g} Hz (one task per device "
                                             f"per slot), got {value!r}")
            put(key, value)
            return value

        rate("rate_hz", used=self.rate_low_hz is None and self.rate_high_hz is None)
        if (self.rate_low_hz is None) != (self.rate_high_hz is None):
            missing = "rate_high_hz" if self.rate_high_hz is None else "rate_low_hz"
            raise InvalidInputError(missing, "must be given with "
                                             f"{'rate_low_hz' if missing == 'rate_high_hz' else 'rate_high_hz'} "
                                             "(a bursty rate needs both), got None")
        switch = _real(self.switch_prob, "switch_prob", low=0.0, strict=False)
        if switch > 1.0:
            raise InvalidInputError("switch_prob", f"must be in [0, 1], got {self.switch_prob!r}")
        put("switch_prob", switch)
        if self.rate_low_hz is not None:
            low, high = rate("rate_low_hz"), rate("rate_high_hz")
            if high < low:
                raise InvalidInputError("rate_high_hz", f"must be >= rate_low_hz = {low:g}, got {high!r}")
        elif switch != 0.0:
            raise InvalidInputError("switch_prob", f"applies only with rate_low_hz and rate_high_hz; must be 0 "
                                                   f"without them, got {self.switch_prob!r}")

        t_min = _real(self.deadline_min_s, "deadline_min_s", low=0.0, strict=True)
        t_max = _real(self.deadline_max_s, "deadline_max_s", low=0.0, strict=True)
        if t_max < t_min:
            raise InvalidInputError("deadline_max_s", f"must be >= deadline_min_s = {t_min:g}, got {self.deadline_max_s!r}")
        put("deadline_min_s", t_min)
        put("deadline_max_s", t_max)
        put("alpha", _real(self.alpha, "alpha", low=0.0, strict=False))
        if self.max_batch is not None:
            put("max_batch", _count(self.max_batch, "max_batch"))

    @property
    def bursty(self) -> bool:
        """True when the rate is the two-state chain of ``rate_low_hz`` and ``rate_high_hz``."""
        return self.rate_low_hz is not None

    @property
    def arrival_prob(self) -> float:
        """lambda*Delta, the per-slot release probability of one device (the low state's when bursty)."""
        return (self.rate_low_hz if self.rate_low_hz is not None else self.rate_hz) * self.slot_s  # bursty

    def to_dict(self) -> dict:
        """Every field as a plain JSON-able dict (None for unset bursty rates and batch cap)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Scenario":
        """The inverse of ``to_dict``: exactly its keys (a missing or unknown key is an error)."""
        keys = {f.name for f in fields(cls)}
        jf.check_keys(data, "", keys)
        d = dict(data)
        for key in ("n_devices", "n_slots"):
            d[key] = jf.integer(d[key], key)
        if d["max_batch"] is not None:
            d["max_batch"] = jf.integer(d["max_batch"], "max_batch")
        return cls(**d)


def _children(seed) -> list:
    """The four child seed sequences of ``seed``: devices, rate chain, arrivals, deadlines."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InvalidInputError("seed", f"must be an integer >= 0, got {seed!r}")
    return np.random.SeedSequence(int(seed)).spawn(4)


def device_seed(seed: int) -> int:
    """The integer seed ``generate_trace`` passes to ``profiles.generate`` for the devices."""
    return int(_children(seed)[0].generate_state(1)[0])


def rate_path(scenario: Scenario, *, seed: int) -> np.ndarray:
    """(S,) lambda_t in Hz for t = 0..S-1: constant, or the bursty chain drawn from ``seed``.

    Bursty: state_0 = low, state_t = state_{t-1} flipped iff u_t < ``switch_prob``, u_t ~ U[0, 1).
    """
    sc = scenario
    if not sc.bursty:
        return np.full(sc.n_slots, sc.rate_hz)
    u = np.random.default_rng(_children(seed)[1]).random(sc.n_slots - 1)
    high = np.zeros(sc.n_slots, dtype=bool)
    high[1:] = np.cumsum(u < sc.switch_prob) % 2 == 1
    return np.where(high, cast(float, sc.rate_high_hz), cast(float, sc.rate_low_hz))   # bursty: both set


def generate_trace(scenario: Scenario, *, seed: int) -> OnlineTrace:
    """Draw the seeded arrival trace of ``scenario`` (docs/coinference.rst section 7, "Arrivals").

    Task i = (k_i, a_i, T_i) exists iff U[a_i, k_i] < lambda_{a_i} * Delta, U ~ U[0, 1) of shape
    (S, K); T_i ~ U[T_min, T_max]; rows come out sorted by (slot, device). The expected number of
    tasks is K * Delta * sum_t lambda_t. Same scenario and seed, same trace on every machine.

    >>> tr = generate_trace(Scenario(n_devices=4, rate_hz=20.0, n_slots=200), seed=3)
    >>> tr.n_devices, tr.n_slots, tr.n_tasks > 0
    (4, 200, True)
    """
    if not isinstance(scenario, Scenario):
        raise InvalidInputError("scenario", f"must be a Scenario, got {type(scenario).__name__}")
    sc = scenario
    _, _, arrivals_ss, deadlines_ss = _children(seed)
    K, S = sc.n_devices, sc.n_slots
    inst = profiles.generate(sc.profile, K, deadline_s=sc.deadline_max_s, deadline_spread=0.0, alpha=sc.alpha,
                             max_batch=sc.max_batch, seed=device_seed(seed))

    p = rate_path(sc, seed=seed) * sc.slot_s
    released = np.random.default_rng(arrivals_ss).random((S, K)) < p[:, None]
    D = np.random.default_rng(deadlines_ss).uniform(sc.deadline_min_s, sc.deadline_max_s, (S, K))
    slot, device = np.nonzero(released)            # row-major: sorted by (slot, device)
    T = np.minimum(D[slot, device], sc.deadline_max_s)   # uniform() may round up to its upper end

    rate = (f"rate={sc.rate_low_hz:g}-{sc.rate_high_hz:g}Hz switch={sc.switch_prob:g}" if sc.bursty
            else f"rate={sc.rate_hz:g}Hz")
    cap = "" if sc.max_batch is None else f" max_batch={sc.max_batch}"
    name = (f"online {sc.profile} K={K} {rate} T=[{sc.deadline_min_s:g},{sc.deadline_max_s:g}]s "
            f"slot={sc.slot_s:g}s S={S} alpha={sc.alpha:g}{cap} seed={seed}")
    return OnlineTrace(
        subtasks=inst.subtasks, output_mbit=inst.output_mbit, edge_beta_s=inst.edge_beta_s,
        edge_alpha_s=inst.edge_alpha_s, local_latency_s=inst.local_latency_s, local_energy_j=inst.local_energy_j,
        uplink_mbps=inst.uplink_mbps, tx_power_w=inst.tx_power_w, slot_s=sc.slot_s, n_slots=S,
        deadline_max_s=sc.deadline_max_s, task_device=device, task_slot=slot, task_deadline_s=T,
        max_batch=sc.max_batch, name=name,
    )


#: Named scenarios. ``default`` is calibrated so that the dispatch decision matters (MobileNetV2,
#: 20 devices, a rate switching between 10 and 40 Hz per device with probability 0.02 per 5 ms
#: slot, deadlines 20-60 ms, 400 slots): on ten traces (seeds 100-109) dispatching every slot
#: keeps the GPU busy 59% of the time at 27.3 mJ per task and 144 violations, while the best
#: fixed threshold of the grid 0, 0.05, ..., 1 is 0.45 (18.0 mJ per task, 54 violations).
#: The others vary the load and the deadline spread around it, for the paper's grids.
SCENARIOS = {
    "default": Scenario(rate_low_hz=10.0, rate_high_hz=40.0, switch_prob=0.02),
    "low-load": Scenario(rate_low_hz=5.0, rate_high_hz=20.0, switch_prob=0.02),
    "high-load": Scenario(rate_low_hz=20.0, rate_high_hz=60.0, switch_prob=0.02),
    "low-spread": Scenario(rate_low_hz=10.0, rate_high_hz=40.0, switch_prob=0.02, deadline_min_s=0.035,
                           deadline_max_s=0.045),
    "high-spread": Scenario(rate_low_hz=10.0, rate_high_hz=40.0, switch_prob=0.02, deadline_min_s=0.015,
                            deadline_max_s=0.09),
}


def scenario(name: str) -> Scenario:
    """The named scenario of ``SCENARIOS``.

    >>> scenario("default").bursty
    True
    """
    if name not in SCENARIOS:
        raise InvalidInputError("scenario", f"must be one of {', '.join(SCENARIOS)}, got {name!r}")
    return SCENARIOS[name]
