"""Dispatch policies of docs/coinference.rst section 7, "Policies to compare", and DDPG training.

A policy maps an ``Episode`` at slot t to theta_t in [0, 1]; ``run_episode(trace, policy)``
plays it. Here:

- ``every_slot``: theta = 1, every pending task is dispatched at once;
- ``Threshold(x)``: theta = x in every slot; ``best_threshold`` grid-searches x on traces;
- ``clairvoyant``: not a policy but the reference that sees the future, OG run once over the
  whole trace as one offline P0 instance;
- ``DDPGPolicy``: a trained stable-baselines3 DDPG agent (DDPG-OG or DDPG-IP-SSA, after the
  planner it was trained with); ``train_ddpg`` trains one on ``DispatchEnv``.

``stable_baselines3`` (and through it ``torch`` and ``gymnasium``, the ``rl`` extra) is imported
only when an agent is trained or loaded.
"""

from __future__ import annotations

import numbers
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from ... import _jsonfile as jf
from ..._validate import one_or_many
from ...errors import InvalidInputError
from ..instance import CoInferenceInstance
from .episode import DEFAULT_PSI, OBS_SIZE, Episode, EpisodeResult, _check_planner, _check_psi, run_episode
from .scenario import Scenario
from .trace import OnlineTrace

if TYPE_CHECKING:
    from ...result import SolveResult

#: Default grid of ``best_threshold``: 0, 0.1, ..., 1.
DEFAULT_GRID = tuple(np.linspace(0.0, 1.0, 11).tolist())

#: Energies per task within this relative difference count as equal in ``best_threshold``.
_ENERGY_RTOL = 1e-12

#: DDPG hyper-parameters (docs/coinference.rst section 7: DDPG's usual values).
DDPG_HYPERPARAMETERS: dict[str, Any] = {
    "net_arch": [256, 256],       # actor and critic MLPs
    "actor_learning_rate": 1e-4,  # Adam
    "critic_learning_rate": 1e-3,  # Adam
    "gamma": 0.99,
    "tau": 0.005,
    "buffer_size": 100_000,
    "batch_size": 128,
    "action_noise_sigma": 0.1,    # Gaussian, on the agent's normalised action in [-1, 1]
    "learning_starts": 1000,      # warm-up steps of random actions before learning
}


# ---- fixed policies -----------------------------------------------------------------------

def every_slot(episode: Episode) -> float:
    """theta = 1 in every slot: each task is dispatched in the slot it arrives.

    >>> from j3o_fast.coinference.online import Scenario, generate_trace, run_episode
    >>> res = run_episode(generate_trace(Scenario(n_devices=3, n_slots=30), seed=0), every_slot)
    >>> res.mean_wait_s
    0.0
    """
    return 1.0


class Threshold:
    """theta = ``x`` in every slot, 0 <= x <= 1: dispatch a task once slack_i(t) <= x*T_max (or forced).

    >>> Threshold(0.4)
    Threshold(0.4)
    >>> Threshold(1.5)
    Traceback (most recent call last):
    ...
    j3o_fast.errors.InvalidInputError: threshold: must be a number in [0, 1], got 1.5
    """

    x: float

    def __init__(self, x: float) -> None:
        if isinstance(x, bool) or not isinstance(x, numbers.Real) or not 0.0 <= x <= 1.0:
            raise InvalidInputError("threshold", f"must be a number in [0, 1], got {x!r}")
        self.x = float(x)

    def __call__(self, episode: Episode) -> float:
        return self.x

    def __repr__(self) -> str:
        return f"Threshold({self.x:g})"


def best_threshold(traces: OnlineTrace | Iterable[OnlineTrace], *, planner: str = "og",
                   grid: Iterable[float] = DEFAULT_GRID,
                   psi: float = DEFAULT_PSI) -> tuple[float, list[dict[str, Any]]]:
    """The best fixed threshold of ``grid`` on ``traces`` (docs/coinference.rst section 7, "Policies to compare").

    Every x of ``grid`` (numbers in [0, 1]) plays every trace with ``planner``. The rule: keep
    the grid points with the fewest violations summed over the traces; among them take the least
    energy per task, sum of energy / sum of tasks over the traces (joules; equal within 1e-12
    relative counts as a tie); remaining ties go to the earlier grid point. ``psi`` only enters
    the recorded rewards.

    Returns ``(x, table)``: the chosen threshold and one dict per grid point, in grid order, with
    ``theta``, ``violations``, ``tasks``, ``energy_j``, ``energy_per_task_j``, ``reward`` (sums
    over the traces, except the ratio).

    >>> from j3o_fast.coinference.online import Scenario, generate_trace
    >>> traces = [generate_trace(Scenario(n_devices=3, n_slots=30, rate_hz=40.0), seed=s) for s in (1, 2)]
    >>> x, table = best_threshold(traces, grid=[0.0, 0.5, 1.0])
    >>> x in (0.0, 0.5, 1.0), len(table)
    (True, 3)
    """
    traces = trace_list(traces)
    try:
        points = [float(x) for x in grid]
    except (TypeError, ValueError):
        raise InvalidInputError("grid", f"must be a sequence of numbers in [0, 1], got {grid!r}") from None
    if not points:
        raise InvalidInputError("grid", "must hold at least one threshold, got []")
    for i, x in enumerate(points):
        if not 0.0 <= x <= 1.0:  # NaN fails too
            raise InvalidInputError(f"grid[{i}]", f"must be a number in [0, 1], got {x!r}")
    planner, psi = _check_planner(planner), _check_psi(psi)

    table = []
    for x in points:
        results = [run_episode(tr, x, planner=planner, psi=psi) for tr in traces]
        tasks = sum(r.tasks for r in results)
        energy = sum(r.energy_j for r in results)
        table.append({"theta": x, "violations": sum(r.violations for r in results), "tasks": tasks,
                      "energy_j": energy, "energy_per_task_j": energy / tasks if tasks else 0.0,
                      "reward": sum(r.reward for r in results)})
    fewest = min(row["violations"] for row in table)
    least = min(row["energy_per_task_j"] for row in table if row["violations"] == fewest)
    for row in table:
        if row["violations"] == fewest and row["energy_per_task_j"] <= least + _ENERGY_RTOL * abs(least):
            return row["theta"], table
    raise AssertionError("unreachable: the least energy belongs to some grid point")


def trace_list(traces: OnlineTrace | Iterable[OnlineTrace]) -> list[OnlineTrace]:
    """``traces`` (one OnlineTrace or an iterable of them, not empty) as a list; InvalidInputError otherwise."""
    return one_or_many(traces, OnlineTrace, "traces", "an OnlineTrace")


# ---- the clairvoyant reference -----------------------------------------------------------------

def clairvoyant_outcome(trace: OnlineTrace) -> tuple[CoInferenceInstance, SolveResult]:
    """OG over the whole trace as one offline P0 instance: (CoInferenceInstance, SolveResult).

    Users are the tasks in trace-row order, user i with its device's parameters, release
    rho_i = a_i*Delta (seconds) and relative deadline T_i; computation starts at the release.
    The plan (``solve_og``) passes ``verify`` except for its listed infeasible users, which
    run all-local past their deadlines (status "partial"). A trace without tasks raises InvalidInputError.
    """
    from ..og import solve_og

    if not isinstance(trace, OnlineTrace):
        raise InvalidInputError("trace", f"must be an OnlineTrace, got {type(trace).__name__}")
    if trace.n_tasks == 0:
        raise InvalidInputError("trace", "a trace without tasks has no offline instance")
    dev = trace.task_device
    inst = CoInferenceInstance(
        subtasks=trace.subtasks, output_mbit=trace.output_mbit, edge_beta_s=trace.edge_beta_s,
        edge_alpha_s=trace.edge_alpha_s, local_latency_s=trace.local_latency_s[dev],
        local_energy_j=trace.local_energy_j[dev], uplink_mbps=trace.uplink_mbps[dev],
        tx_power_w=trace.tx_power_w[dev], deadline_s=trace.task_deadline_s,
        release_s=trace.task_slot * trace.slot_s, max_batch=trace.max_batch,
        name=f"clairvoyant OG over {trace.name or 'a trace'}")
    return inst, solve_og(inst)


def clairvoyant(trace: OnlineTrace, *, psi: float = DEFAULT_PSI,
                outcome: tuple[CoInferenceInstance, SolveResult] | None = None) -> EpisodeResult:
    """The figures of clairvoyant OG (docs/coinference.rst section 7): an ``EpisodeResult``.

    energy_j = the OG plan's sum of E_i(s_i) (violations at all-local energy); violations = its
    infeasible users; mean_wait_s = 0 (every task is planned at its arrival); batches and
    gpu_busy_fraction = sum of (beta[n] + alpha[n]*b) / max(S*Delta, end of the last batch) from
    its batches; reward = -energy_j/E_ref - psi*violations, E_ref the mean all-local device
    energy. ``outcome``, the ``clairvoyant_outcome(trace)`` already computed, avoids solving
    again. A trace without tasks gives all zeros.

    >>> from j3o_fast.coinference.online import Scenario, generate_trace, run_episode
    >>> trace = generate_trace(Scenario(n_devices=3, n_slots=40, rate_hz=40.0), seed=2)
    >>> res = clairvoyant(trace)
    >>> res.tasks == trace.n_tasks, res.mean_wait_s, 0.0 < res.saving < 1.0
    (True, 0.0, True)
    """
    psi = _check_psi(psi)
    if not isinstance(trace, OnlineTrace):
        raise InvalidInputError("trace", f"must be an OnlineTrace, got {type(trace).__name__}")
    if trace.n_tasks == 0:
        return EpisodeResult(tasks=0, energy_j=0.0, energy_per_task_j=0.0, local_energy_j=0.0, saving=0.0,
                             violations=0, mean_wait_s=0.0, gpu_busy_fraction=0.0, batches=0, reward=0.0)
    inst, res = clairvoyant_outcome(trace) if outcome is None else outcome
    plan = res.decision
    N = trace.n_subtasks
    M = trace.n_tasks
    e_ref = float(trace.devices.energy[:, N].mean())
    energy = plan.total_energy_j
    local = float(inst.energy[:, N].sum())
    beta, alpha = trace.edge_beta_s, trace.edge_alpha_s
    ends = [b.start_s + beta[b.subtask - 1] + alpha[b.subtask - 1] * b.size for b in plan.batches]
    busy = sum(e - b.start_s for b, e in zip(plan.batches, ends))
    horizon = max(trace.n_slots * trace.slot_s, max(ends, default=0.0))
    violations = len(plan.infeasible_users)
    return EpisodeResult(
        tasks=M, energy_j=energy, energy_per_task_j=energy / M, local_energy_j=local, saving=1.0 - energy / local,
        violations=violations, mean_wait_s=0.0, gpu_busy_fraction=float(busy / horizon), batches=len(plan.batches),
        reward=-energy / e_ref - psi * violations)


# ---- DDPG ----------------------------------------------------------------------------------------

class MissingExtraError(ImportError):
    """The ``rl`` extra (gymnasium, stable-baselines3, torch) is not installed."""


def _sb3():
    try:
        import stable_baselines3
    except ImportError as exc:  # an environment problem, not bad input
        raise MissingExtraError(f"DDPG agents need the rl extra ({exc}): pip install 'j3o-fast[rl]'") from exc
    return stable_baselines3


class DDPGPolicy:
    """A trained stable-baselines3 DDPG agent as a policy: theta_t = its deterministic action.

    ``path`` is a ``.zip`` written by ``train_ddpg`` (or any DDPG agent on ``DispatchEnv``'s
    spaces). The agent sees ``episode.observation()`` (the layout of ``DispatchEnv``) and its
    action is clipped to [0, 1]. A missing file, a file that is not a DDPG agent or an agent
    for other spaces raises InvalidInputError naming the path.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        jf.check_regular_file(path)   # not a folder, a device or a FIFO, which would never load
        DDPG = _sb3().DDPG
        try:
            model = DDPG.load(self.path, device="cpu")
        except Exception as exc:  # a zip of something else, a truncated file, ...: all bad input
            raise InvalidInputError(self.path, f"not a stable-baselines3 DDPG agent ({type(exc).__name__}: "
                                               f"{exc})") from None
        obs, act = getattr(model, "observation_space", None), getattr(model, "action_space", None)
        if getattr(obs, "shape", None) != (OBS_SIZE,) or getattr(act, "shape", None) != (1,):
            raise InvalidInputError(self.path, f"agent spaces must be ({OBS_SIZE},) -> (1,), got "
                                               f"{getattr(obs, 'shape', None)} -> {getattr(act, 'shape', None)}")
        self.model = model
        import torch

        self._torch = torch

    def __call__(self, episode: Episode) -> float:
        torch = self._torch
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # one observation: threads only cost (see train_ddpg)
        try:
            action, _ = self.model.predict(episode.observation(), deterministic=True)
        finally:
            torch.set_num_threads(threads)
        return float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], 0.0, 1.0))

    def __repr__(self) -> str:
        return f"DDPGPolicy({self.path!r})"


@lru_cache(maxsize=None)
def _ddpg_class():
    """DDPG with separate actor and critic learning rates.

    Stable-baselines3's DDPG has one ``learning_rate`` and sets it on both Adam optimisers
    before every gradient step; this subclass then sets the critic's to
    ``critic_learning_rate``. A saved agent loads as a plain ``DDPG``.
    """
    DDPG = _sb3().DDPG

    class SplitRateDDPG(DDPG):
        critic_learning_rate = DDPG_HYPERPARAMETERS["critic_learning_rate"]

        def _update_learning_rate(self, optimizers) -> None:
            super()._update_learning_rate(optimizers)
            for group in self.critic.optimizer.param_groups:
                group["lr"] = self.critic_learning_rate

    return SplitRateDDPG


#: Output paths are checked as everywhere else (before any work).
check_writable = jf.check_writable


def _save_atomic(model, path: Path) -> None:
    """``model.save`` through a temporary file, then a rename: a reader never sees half a zip."""
    jf.write_atomic(path, model.save)


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``train_ddpg``: ``steps`` were taken and the checkpoint of step ``saved_step``
    (None: none yet) is at ``path``."""

    def __init__(self, path: str, steps: int, saved_step: int | None) -> None:
        self.path, self.steps, self.saved_step = path, steps, saved_step
        super().__init__(f"interrupted after {steps} steps")


def _count(value, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise InvalidInputError(name, f"must be an integer >= {low}, got {value!r}")
    return int(value)


def train_ddpg(source: Scenario | OnlineTrace | Iterable[OnlineTrace], *, planner: str = "og", steps: int,
               seed: int = 0, out_path: str | os.PathLike[str],
               checkpoint_every: int = 1000, progress: bool = False, psi: float = DEFAULT_PSI,
               learning_starts: int = DDPG_HYPERPARAMETERS["learning_starts"],
               episode_log: list | None = None) -> str:
    """Train a DDPG dispatch agent on ``DispatchEnv`` and save it to ``out_path``; returns the path.

    ``source``: a ``Scenario`` (a fresh trace per episode) or a list of ``OnlineTrace`` (played
    in turn). Hyper-parameters (docs/coinference.rst section 7, ``DDPG_HYPERPARAMETERS``): actor and
    critic MLPs 256-256, Adam with learning rate 1e-4 for the actor and 1e-3 for the critic,
    gamma 0.99, soft update tau 0.005, replay buffer 1e5, batch 128, Gaussian exploration noise
    of standard deviation 0.1 on the normalised action in [-1, 1] (0.05 in theta), one gradient
    step per environment step after ``learning_starts`` steps of uniform random actions (1,000
    by default). Seeded by ``seed`` (agent, noise, environment): same inputs, same agent. Torch
    runs on one thread while training (restored afterwards).

    Every ``checkpoint_every`` steps, and at the end, the agent is saved atomically (temporary
    file, then rename), so Ctrl-C leaves the last checkpoint at ``out_path``; the interrupt is
    re-raised as ``TrainingInterrupted`` (a KeyboardInterrupt) saying which step it holds.
    ``progress`` shows a tqdm bar. Load the result with ``DDPGPolicy(out_path)``.

    ``episode_log``, if given, is a list that receives one dict per finished training episode
    (the learning curve): ``step`` (environment steps so far), ``trace`` and the episode's
    ``EpisodeResult.to_dict()`` fields (energy per task, violations, reward, ...).
    """
    _sb3()
    import torch
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.noise import NormalActionNoise

    from .env import DispatchEnv

    if isinstance(source, Scenario):
        env = DispatchEnv(source, planner=planner, psi=psi)
    else:
        env = DispatchEnv(traces=trace_list(source), planner=planner, psi=psi)
    steps = _count(steps, "steps", 1)
    seed = _count(seed, "seed", 0)
    every = _count(checkpoint_every, "checkpoint_every", 1)
    learning_starts = _count(learning_starts, "learning_starts", 0)
    out = check_writable(out_path, "out_path")

    hp = DDPG_HYPERPARAMETERS
    model = _ddpg_class()(
        "MlpPolicy", env, learning_rate=hp["actor_learning_rate"], buffer_size=hp["buffer_size"],
        learning_starts=learning_starts, batch_size=hp["batch_size"], tau=hp["tau"], gamma=hp["gamma"],
        action_noise=NormalActionNoise(np.zeros(1), np.full(1, hp["action_noise_sigma"])),
        policy_kwargs={"net_arch": list(hp["net_arch"])}, seed=seed, device="cpu", verbose=0)
    model.critic_learning_rate = hp["critic_learning_rate"]

    class Checkpoint(BaseCallback):
        def __init__(self):
            super().__init__()
            self.saved = None
            self.bar = None

        def _on_training_start(self) -> None:
            if progress:
                from tqdm.auto import tqdm

                self.bar = tqdm(total=steps, unit="step", desc=f"DDPG-{planner}")

        def _on_step(self) -> bool:
            if self.bar is not None:
                self.bar.update(1)
            if episode_log is not None:
                for info in self.locals.get("infos", ()):
                    if "result" in info:
                        episode_log.append({"step": self.num_timesteps, **info["result"]})
            if self.num_timesteps % every == 0:
                _save_atomic(self.model, out)
                self.saved = self.num_timesteps
            return True

    callback = Checkpoint()
    # One intra-op thread: these networks are too small to gain from more, and spinning OpenMP
    # threads slow training many times over when another process holds a core.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model.learn(total_timesteps=steps, callback=callback)
    except KeyboardInterrupt:
        raise TrainingInterrupted(str(out), model.num_timesteps, callback.saved) from None
    finally:
        torch.set_num_threads(threads)
        if callback.bar is not None:
            callback.bar.close()
    # Always: a checkpoint taken at the last step precedes that step's gradient update.
    _save_atomic(model, out)
    return str(out)


__all__ = ["DDPGPolicy", "DDPG_HYPERPARAMETERS", "DEFAULT_GRID", "MissingExtraError", "Threshold",
           "TrainingInterrupted", "best_threshold", "check_writable", "clairvoyant", "clairvoyant_outcome",
           "every_slot", "train_ddpg"]
