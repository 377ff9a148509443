"""Profiles of real networks and a seeded instance generator (docs/coinference.rst section 6).

A profile is the block table of a DNN: MACs per block and the size of every block's output.
The generator draws K users (device speed and power, channel) and turns the table into a
``CoInferenceInstance``:

- device: tl[k,n] = MAC[n] / speed_k, el[k,n] = power_k * tl[k,n]
  (speed in GMAC/s, compute power in W, both drawn per user);
- channel: r_k = B_k * log2(1 + p_k*g_k / (N0*B_k)), g_k = 10^(-PL(d_k)/10),
  PL(d) = 128.1 + 37.6*log10(d in km) dB, N0 = -174 dBm/Hz (no noise figure or fading);
- edge: one batch of b copies of block n takes beta[n] + alpha[n]*b with
  beta[n] = overhead + MAC[n]/edge_speed and alpha[n] = alpha * beta[n].

The edge model is this module's assumption, stated here because the source gives only the
affine form: the GPU runs one member of block n at ``edge_gmacs`` GMAC/s (default 1000, a
mid-range data-centre GPU at batch size 1, where it is far from saturated) plus a fixed
``edge_overhead_s`` per batch and block (default 0.5 ms: kernel launches and weight reads
that a batch shares), and each further member adds the fraction ``alpha`` of that batch-1
time (default 0: the constant-latency case in which IP-SSA is optimal; measured GPUs at
moderate batch sizes show a few per cent per member). The blocks' latencies are
``j3o_fast.batching.AffineBatchLatency`` models (``edge_latency_models``), the package's one
batch-latency model, shared with placement; ``batching.fit_affine`` fits such models to
measured tables and ``batching.to_coinference_edge`` turns either into instance arrays.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._validate import is_finite
from ..errors import InvalidInputError
from .instance import CoInferenceInstance

#: Raw input: 224x224x3 float32 = 4,816,896 bit.
INPUT_MBIT = 224 * 224 * 3 * 32 / 1e6

#: Thermal noise density, dBm/Hz.
NOISE_DBM_PER_HZ = -174.0


@dataclass(frozen=True, eq=False)
class Profile:
    """Block table of one network: ``gmac`` (N,) per block, ``output_mbit`` (N+1,) with the raw input first."""

    name: str
    blocks: tuple
    gmac: np.ndarray
    output_mbit: np.ndarray

    def __post_init__(self):
        gmac = np.array(self.gmac, dtype=np.float64)
        out = np.array(self.output_mbit, dtype=np.float64)
        if gmac.shape != (len(self.blocks),) or out.shape != (len(self.blocks) + 1,):
            raise InvalidInputError("profile", f"needs N MAC counts and N+1 output sizes for {len(self.blocks)} blocks")
        for arr in (gmac, out):
            arr.setflags(write=False)
        object.__setattr__(self, "blocks", tuple(self.blocks))
        object.__setattr__(self, "gmac", gmac)
        object.__setattr__(self, "output_mbit", out)

    @property
    def n_blocks(self) -> int:
        return len(self.blocks)

    @property
    def total_gmac(self) -> float:
        return float(self.gmac.sum())


VGG16 = Profile(
    name="vgg16",
    blocks=("conv1+pool", "conv2+pool", "conv3+pool", "conv4+pool", "conv5+pool", "classifier"),
    gmac=np.array((1.936, 2.775, 4.624, 4.624, 1.387, 0.124)),
    output_mbit=np.array((INPUT_MBIT, 25.690, 12.845, 6.423, 3.211, 0.803, 0.032)),
)

MOBILENETV2 = Profile(
    name="mobilenetv2",
    blocks=("stem", "bottleneck-c16", "stage-c24", "stage-c32", "stage-c64", "stage-c96",
            "stage-c160", "stage-c320", "conv1x1-1280", "pool+fc"),
    gmac=np.array([m / 1000.0 for m in (10.8, 10.0, 54.9, 37.4, 38.5, 58.1, 46.6, 23.0, 20.1, 1.3)]),
    output_mbit=np.array((INPUT_MBIT, 12.845, 6.423, 2.408, 0.803, 0.401, 0.602, 0.251, 0.502, 2.007, 0.032)),
)

PROFILES = {p.name: p for p in (VGG16, MOBILENETV2)}

#: Base relative deadline per profile (s): tight enough that slow devices cannot run all-local
#: and slow channels cannot upload the raw input in time, loose enough that most users can
#: offload somewhere (see ``generate``).
DEFAULT_DEADLINE_S = {"vgg16": 0.35, "mobilenetv2": 0.025}


def path_loss_db(distance_m):
    """PL(d) = 128.1 + 37.6*log10(d / 1000 m), dB (macro-cell model, d in metres)."""
    return 128.1 + 37.6 * np.log10(np.asarray(distance_m, dtype=np.float64) / 1000.0)


def shannon_rate_mbps(bandwidth_hz: ArrayLike, tx_power_w: ArrayLike, distance_m: ArrayLike,
                      noise_dbm_per_hz: float = NOISE_DBM_PER_HZ) -> Any:
    """r = B*log2(1 + p*g/(N0*B)) in Mbit/s, g = 10^(-PL(d)/10), N0 in dBm/Hz converted to W/Hz.

    >>> round(float(shannon_rate_mbps(10e6, 0.2, 100.0)), 1)
    121.3
    """
    B = np.asarray(bandwidth_hz, dtype=np.float64)
    gain = 10.0 ** (-path_loss_db(distance_m) / 10.0)
    n0_w = 10.0 ** ((noise_dbm_per_hz - 30.0) / 10.0)
    snr = np.asarray(tx_power_w, dtype=np.float64) * gain / (n0_w * B)
    return B * np.log2(1.0 + snr) / 1e6


@dataclass(frozen=True)
class Ranges:
    """Uniform ranges of the per-user draws (low, high)."""

    device_gmacs: tuple = (10.0, 40.0)       # GMAC/s
    device_power_w: tuple = (2.0, 4.0)       # W while computing
    bandwidth_hz: tuple = (5e6, 10e6)        # Hz
    tx_power_w: tuple = (0.1, 0.2)           # W
    distance_m: tuple = (50.0, 200.0)        # m from the base station


@dataclass(frozen=True)
class EdgeGPU:
    """Edge assumption: beta[n] = overhead_s + MAC[n]/gmacs, alpha[n] = alpha * beta[n]."""

    gmacs: float = 1000.0
    overhead_s: float = 0.0005


def edge_latency_models(profile: Profile, alpha: float = 0.0, gpu: EdgeGPU = EdgeGPU()) -> list:
    """One ``AffineBatchLatency`` per block: beta[n] = overhead + MAC[n]/edge speed, alpha[n] = alpha*beta[n].

    >>> [round(m(4), 6) for m in edge_latency_models(MOBILENETV2, 0.1)][:2]
    [0.000715, 0.000714]
    """
    from ..batching import AffineBatchLatency

    beta = gpu.overhead_s + profile.gmac / gpu.gmacs
    return [AffineBatchLatency(b, a) for b, a in zip(beta.tolist(), (alpha * beta).tolist())]


def edge_latency_table(profile: Profile, alpha: float = 0.0, gpu: EdgeGPU = EdgeGPU()) -> tuple[np.ndarray, np.ndarray]:
    """(beta, alpha) per block in seconds, the instance arrays of ``edge_latency_models``."""
    from ..batching import to_coinference_edge

    beta, alpha_s, _ = to_coinference_edge(edge_latency_models(profile, alpha, gpu))
    return beta, alpha_s


def _profile(profile) -> Profile:
    if isinstance(profile, Profile):
        return profile
    if isinstance(profile, str) and profile.lower() in PROFILES:
        return PROFILES[profile.lower()]
    raise InvalidInputError("profile", f"must be one of {', '.join(PROFILES)}, got {profile!r}")


def _real(x, path: str, *, low: float, strict: bool) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not is_finite(x) or x < low or (strict and x == low):
        raise InvalidInputError(path, f"must be a finite number {'>' if strict else '>='} {low:g}, got {x!r}")
    return float(x)


def generate(profile: Profile | str, n_users: int, *, deadline_s: float | None = None, deadline_spread: float = 0.5,
             alpha: float = 0.0, max_batch: int | None = None, seed: int = 0,
             ranges: Ranges = Ranges(), gpu: EdgeGPU = EdgeGPU()) -> CoInferenceInstance:
    """Draw a seeded co-inference instance of ``n_users`` users running ``profile``.

    Per user, uniformly: device speed 10-40 GMAC/s at 2-4 W, bandwidth 5-10 MHz, transmit
    power 0.1-0.2 W, distance 50-200 m (``ranges``). Relative deadlines are
    T_k = deadline_s * (1 + deadline_spread*u_k), u_k ~ U[0, 1], so they lie in
    [deadline_s, deadline_s*(1 + deadline_spread)]; spread 0 gives one common deadline (the
    IP-SSA case). Releases are 0 (offline). Edge latency per ``edge_latency_table``.

    Defaults: ``deadline_s`` None takes the profile's base (VGG16 0.35 s, MobileNetV2 25 ms),
    the spread is 0.5, alpha 0 and no batch cap. With them offloading pays and deadlines bind.
    MobileNetV2: all-local takes 7.5-30 ms, the raw-input upload 30-110 ms (44-150 Mbit/s), so
    no user can upload the raw input in time and about nine users in ten cannot take their
    least-energy cut (blocks 0-4) either; the deadline pushes them to later cuts, and the
    best plan saves about 60% of the all-local energy. VGG16: the device spends 0.05-0.4 J
    per GMAC while the radio spends a few mJ per Mbit, so uploading the raw input (s = 0) is
    the cheapest and also the fastest choice for everyone (about 99% saving); all-local
    (0.39-1.55 s) meets the deadline for about 15-45% of the devices, so the others depend
    on the GPU, and the deadlines bind through GPU time once batches are capped
    (``max_batch``) or grow with their size (``alpha`` > 0).

    >>> inst = generate("mobilenetv2", 4, seed=1)
    >>> inst.n_users, inst.n_subtasks, inst.constant_latency
    (4, 10, True)
    """
    prof = _profile(profile)
    if isinstance(n_users, bool) or not isinstance(n_users, numbers.Integral) or n_users < 1:
        raise InvalidInputError("n_users", f"must be an integer >= 1, got {n_users!r}")
    base = DEFAULT_DEADLINE_S[prof.name] if deadline_s is None and prof.name in DEFAULT_DEADLINE_S else deadline_s
    if base is None:
        raise InvalidInputError("deadline_s", f"profile {prof.name!r} has no default deadline; give one")
    base = _real(base, "deadline_s", low=0.0, strict=True)
    spread = _real(deadline_spread, "deadline_spread", low=0.0, strict=False)
    alpha = _real(alpha, "alpha", low=0.0, strict=False)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InvalidInputError("seed", f"must be an integer >= 0, got {seed!r}")
    K = int(n_users)

    rng = np.random.default_rng(seed)
    draw = lambda lo_hi: rng.uniform(lo_hi[0], lo_hi[1], size=K)  # noqa: E731
    speed = draw(ranges.device_gmacs)
    power = draw(ranges.device_power_w)
    bandwidth = draw(ranges.bandwidth_hz)
    tx = draw(ranges.tx_power_w)
    dist = draw(ranges.distance_m)
    u = rng.uniform(0.0, 1.0, size=K)

    tl = prof.gmac[None, :] / speed[:, None]
    el = power[:, None] * tl
    rate = shannon_rate_mbps(bandwidth, tx, dist)
    beta, alpha_s = edge_latency_table(prof, alpha, gpu)
    deadline = base * (1.0 + spread * u)
    name = f"{prof.name} K={K} T={base:g}s spread={spread:g} alpha={alpha:g} seed={seed}"
    return CoInferenceInstance(
        subtasks=prof.blocks, output_mbit=prof.output_mbit, edge_beta_s=beta, edge_alpha_s=alpha_s,
        local_latency_s=tl, local_energy_j=el, uplink_mbps=rate, tx_power_w=tx, deadline_s=deadline,
        release_s=np.zeros(K), max_batch=max_batch, name=name,
    )


def random_instance(n_users: int, n_subtasks: int, *, seed: int = 0, alpha: bool = False,
                    max_batch: int | None = None, common_deadline: bool = False,
                    releases: bool = False, tightness: float = 1.0) -> CoInferenceInstance:
    """A small synthetic instance with contended GPU time, for tests and exact comparisons.

    Per user and sub-task: tl ~ U[10, 40] ms, el = tl * U[1, 4] W; output sizes U[0.5, 5]
    Mbit; rates U[20, 100] Mbit/s at U[0.1, 0.3] W; beta ~ U[4, 15] ms and, with ``alpha``,
    alpha ~ U[0, 5] ms per member. Deadlines (times ``tightness``) are U[60, 180] ms, or one
    common deadline of 120 ms; releases U[0, 20] ms when ``releases``, else 0. Edge work
    is long next to the deadlines, so batching and its order matter.

    >>> random_instance(3, 2, seed=4).n_users
    3
    """
    for key, x in (("n_users", n_users), ("n_subtasks", n_subtasks)):
        if isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < 1:
            raise InvalidInputError(key, f"must be an integer >= 1, got {x!r}")
    tightness = _real(tightness, "tightness", low=0.0, strict=True)
    K, N = int(n_users), int(n_subtasks)
    rng = np.random.default_rng(seed)
    tl = rng.uniform(0.010, 0.040, (K, N))
    el = tl * rng.uniform(1.0, 4.0, (K, 1))
    out = rng.uniform(0.5, 5.0, N + 1)
    rate = rng.uniform(20.0, 100.0, K)
    tx = rng.uniform(0.1, 0.3, K)
    beta = rng.uniform(0.004, 0.015, N)
    alpha_s = rng.uniform(0.0, 0.005, N) if alpha else np.zeros(N)
    deadline = np.full(K, 0.120) if common_deadline else rng.uniform(0.060, 0.180, K)
    release = rng.uniform(0.0, 0.020, K) if releases else np.zeros(K)
    return CoInferenceInstance(
        subtasks=tuple(f"block{n + 1}" for n in range(N)), output_mbit=out, edge_beta_s=beta,
        edge_alpha_s=alpha_s, local_latency_s=tl, local_energy_j=el, uplink_mbps=rate, tx_power_w=tx,
        deadline_s=deadline * tightness, release_s=release, max_batch=max_batch,
        name=f"random K={K} N={N} seed={seed}",
    )
