"""The dispatch decision as a Gymnasium environment (docs/coinference.rst section 7, "Observation", "Action").

One environment step is one slot of an ``Episode``: the agent returns theta_t in [0, 1] and the
episode dispatches every pending task with slack_i(t) <= theta_t*T_max (plus the forced ones),
plans them with OG or IP-SSA and pays

    r_t = -(sum of E_i over the dispatched tasks) / E_ref - psi * (violations among them),

E_ref the mean all-local energy E_k(N) over the devices (joules over joules: unitless). An
episode of S slots takes exactly S steps; the last one also runs the final step S, which
dispatches everything still pending, and adds its reward.

This is the only module of the package that imports ``gymnasium`` (the ``rl`` extra): import
it as ``j3o_fast.coinference.online.env``.
"""

from __future__ import annotations

import numbers
from typing import cast

import gymnasium as gym
import numpy as np

from ...errors import InvalidInputError
from .episode import DEFAULT_PSI, OBS_SIZE, Episode, _check_planner, _check_psi
from .policies import trace_list
from .scenario import Scenario, generate_trace
from .trace import OnlineTrace

#: Trace seeds drawn from the environment's generator lie in [0, 2**32).
_SEED_SPACE = 2 ** 32


class DispatchEnv(gym.Env):
    """Slot-by-slot dispatch of arriving tasks (docs/coinference.rst section 7) for one agent.

    Give exactly one of ``scenario`` (each ``reset`` draws a fresh trace with
    ``generate_trace(scenario, seed=u)``, u an integer in [0, 2**32) from the environment's
    ``np_random``, so ``reset(seed=s)`` replays the same trace) or ``traces`` (a non-empty list
    of ``OnlineTrace``, played in order and then again from the first; ``reset(seed=s)`` starts
    the cycle again at trace 0 so that equal seeds give equal episodes, and
    ``reset(options={"trace": i})`` plays trace i, the cycle continuing with i + 1).
    ``planner`` is "og" or "ip-ssa"; ``psi`` >= 0 weighs a violation in the reward.

    Observation, float32 of shape (OBS_SIZE,) = (35,), every entry >= 0 (``Box(0, inf)``),
    describing slot t before its decision (tau = t*Delta, K devices, H the end of the committed
    GPU work, T_max the trace's ``deadline_max_s``):

    ====== =====================================================================
    [0]    pending tasks / K
    [1]    (H - tau)^+ / T_max, the GPU backlog
    [2]    tasks arrived in slot t / K
    [3+4j] 1 if the j-th pending task of least slack exists (ties: trace row), else 0
    [4+4j] its slack_i(t) / T_max
    [5+4j] its all-local energy E_k(N) / E_ref
    [6+4j] its least edge energy / E_ref: min E_k(s) over s < N reachable by its deadline
           with batches of one behind H, or E_k(N) / E_ref when none is
    ====== =====================================================================

    for j = 0..7; absent tasks are all zeros. The observation returned by the last step
    follows the final step S (nothing is pending); no decision is taken on it.

    Action: ``Box(0, 1, (1,), float32)``, theta_t; values outside [0, 1] are clipped. ``info`` of
    ``reset`` holds ``trace`` (its name) and ``trace_seed`` (scenario) or ``trace_index``
    (traces); ``info`` of ``step`` holds ``slot`` and ``theta``, and on the last step
    ``result``, the ``EpisodeResult.to_dict()`` of the episode. ``truncated`` is always False.

    >>> from j3o_fast.coinference.online import Scenario
    >>> env = DispatchEnv(Scenario(n_devices=3, n_slots=20), planner="og")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, env.action_space.contains(np.array([0.5], dtype=np.float32))
    ((35,), True)
    >>> steps, done = 0, False
    >>> while not done:
    ...     obs, reward, done, truncated, info = env.step(np.array([1.0], dtype=np.float32))
    ...     steps += 1
    >>> steps, sorted(info["result"])[:3]
    (20, ['batches', 'energy_j', 'energy_per_task_j'])
    """

    metadata = {"render_modes": []}

    def __init__(self, scenario: Scenario | None = None, traces: list | None = None, *, planner: str = "og",
                 psi: float = DEFAULT_PSI):
        if (scenario is None) == (traces is None):
            raise InvalidInputError("scenario", "give exactly one of scenario and traces")
        if scenario is not None and not isinstance(scenario, Scenario):
            raise InvalidInputError("scenario", f"must be a Scenario, got {type(scenario).__name__}")
        if traces is not None:
            traces = trace_list(traces)
        self.scenario = scenario
        self.traces = traces
        self.planner = _check_planner(planner)
        self.psi = _check_psi(psi)
        self.observation_space = gym.spaces.Box(0.0, np.inf, (OBS_SIZE,), np.float32)
        self.action_space = gym.spaces.Box(0.0, 1.0, (1,), np.float32)
        self.episode: Episode | None = None
        self._next = 0

    def _pick(self, seed, options) -> tuple[OnlineTrace, dict]:
        if self.scenario is not None:
            if options and "trace" in options:
                raise InvalidInputError("options.trace", "applies only to an environment built from traces")
            u = int(self.np_random.integers(_SEED_SPACE))
            trace = generate_trace(self.scenario, seed=u)
            return trace, {"trace": trace.name, "trace_seed": u}
        traces = cast("list[OnlineTrace]", self.traces)   # exactly one of scenario and traces is given
        n = len(traces)
        if seed is not None:
            self._next = 0
        i = self._next
        if options and "trace" in options:
            i = options["trace"]
            if isinstance(i, bool) or not isinstance(i, numbers.Integral) or not 0 <= int(i) < n:
                raise InvalidInputError("options.trace", f"must be a trace index in [0, {n - 1}], got {i!r}")
            i = int(i)
        self._next = (i + 1) % n
        trace = traces[i]
        return trace, {"trace": trace.name, "trace_index": i}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        trace, info = self._pick(seed, options)
        self.episode = Episode(trace, planner=self.planner, psi=self.psi)
        return self.episode.observation(), info

    def step(self, action):
        ep = self.episode
        if ep is None:
            raise RuntimeError("call reset() before step()")
        theta = float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], 0.0, 1.0))
        slot = ep.t
        reward = ep.step(theta)
        info = {"slot": slot, "theta": theta}
        if ep.done:
            info["result"] = ep.result().to_dict()
        return ep.observation(), float(reward), ep.done, False, info


__all__ = ["DispatchEnv"]
