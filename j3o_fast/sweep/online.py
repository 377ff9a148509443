"""The online domain of the sweep (docs/coinference.rst section 7): policies as methods, agents trained
inside the tasks.

An instance of an online experiment is one replicate of a scenario: ``train_traces`` training
traces and ``eval_traces`` evaluation traces, drawn from the instance seed s as
``generate_trace(scenario, seed=u)`` with the words u of two children of ``SeedSequence(s)``
(one for training, one for evaluation; a training word equal to an evaluation word is skipped,
so the two sets are disjoint by construction). A method is a policy: it may learn from the
training traces only (the best threshold's grid search, DDPG's training, with the method seed of
the replicate as the agent's seed) and is then played on every evaluation trace. Its row sums
the evaluation episodes: ``objective`` is their total device energy (J), ``lc_energy_j`` the
all-local energy of the same tasks, ``saving`` = 1 - objective/lc_energy_j; the section 7
figures are columns of their own (``energy_per_task_j`` = total energy / total tasks,
``deadline_violations``, ``mean_wait_s`` weighted by tasks, ``gpu_busy_fraction`` averaged over
episodes, ``batches``, ``reward``), with ``theta`` (the chosen threshold), ``train_s`` and
``curve`` (DDPG's learning curve as JSON: [step, energy per task, violations, reward] per
training episode). ``verified`` says that every evaluation episode's outcome, as a P0 instance
and plan, passes the independent verifier (``plan_verdict``) with the episode's energy.

Parameters: ``scenario`` (a name of ``SCENARIOS``, the base), ``n_devices`` (the size key) and
any other ``Scenario`` field to override, ``rate_scale`` (multiplies every rate of the base,
the load axis), ``train_traces`` (default 50) and ``eval_traces`` (default 10).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from ..errors import InvalidInputError
from ._common import _is_int, _is_real

#: Scenario fields an experiment may override, besides the size ``n_devices``.
_SCENARIO_FIELDS = ("profile", "rate_hz", "rate_low_hz", "rate_high_hz", "switch_prob", "deadline_min_s",
                    "deadline_max_s", "slot_s", "n_slots", "alpha", "max_batch")
#: Generator parameters of the online domain.
PARAMS = ("scenario", "n_devices", *_SCENARIO_FIELDS, "rate_scale", "train_traces", "eval_traces")
DEFAULT_TRAIN_TRACES = 50
DEFAULT_EVAL_TRACES = 10

#: Methods and the options each takes (all take ``planner`` but clairvoyant, which is OG).
METHOD_OPTIONS = {
    "every-slot": ("planner", "psi"),
    "threshold": ("planner", "psi", "x"),
    "best-threshold": ("planner", "psi", "grid"),
    "ddpg": ("planner", "psi", "steps", "learning_starts", "seed"),
    "clairvoyant": ("psi",),
}
METHODS = tuple(METHOD_OPTIONS)
#: Methods that learn from the replicate's training traces (their rows carry ``train_s``).
LEARNS = {"best-threshold", "ddpg"}
#: Result columns of the online domain, besides the sweep's own.
COLUMNS = ("mean_rate_hz", "tasks", "energy_per_task_j", "deadline_violations", "mean_wait_s", "gpu_busy_fraction", "batches",
           "reward", "theta", "train_s", "curve")


@dataclass(frozen=True, eq=False)
class OnlineStudyInstance:
    """One replicate: the scenario, its training and evaluation traces and their seeds."""

    scenario: object
    train: tuple
    evaluation: tuple
    train_seeds: tuple
    eval_seeds: tuple


def _count(value, key: str, low: int) -> int:
    if not _is_int(value) or value < low:
        raise InvalidInputError(key, f"must be an integer >= {low}, got {value!r}")
    return int(value)


def _distinct_words(ss, n: int, taken) -> tuple:
    """The first ``n`` distinct 32-bit words of ``ss`` not in ``taken``."""
    size = n + len(taken)
    while True:
        out, seen = [], set(taken)
        for u in ss.generate_state(size, np.uint32).tolist():
            if u not in seen:
                out.append(u)
                seen.add(u)
                if len(out) == n:
                    return tuple(out)
        size *= 2


def make_online_instance(params: Mapping, seed: int) -> OnlineStudyInstance:
    """The replicate of ``params`` drawn from the instance ``seed`` (see the module docstring)."""
    from ..coinference.online import Scenario, generate_trace, scenario

    p = dict(params)
    base = scenario(p.pop("scenario"))
    n_train = _count(p.pop("train_traces", DEFAULT_TRAIN_TRACES), "train_traces", 1)
    n_eval = _count(p.pop("eval_traces", DEFAULT_EVAL_TRACES), "eval_traces", 1)
    scale = p.pop("rate_scale", 1.0)
    if not (_is_real(scale) and scale > 0):
        raise InvalidInputError("rate_scale", f"must be a number > 0, got {scale!r}")
    unknown = sorted(set(p) - {"n_devices", *_SCENARIO_FIELDS})
    if unknown:
        raise InvalidInputError(unknown[0], f"unknown online parameter (known: {', '.join(PARAMS)})")
    values = base.to_dict()
    values.update(p)
    for key in ("rate_hz", "rate_low_hz", "rate_high_hz"):
        if values[key] is not None and _is_real(values[key]):
            values[key] = float(values[key]) * float(scale)
    sc = Scenario(**values)
    train_ss, eval_ss = np.random.SeedSequence(seed).spawn(2)
    eval_seeds = _distinct_words(eval_ss, n_eval, ())
    train_seeds = _distinct_words(train_ss, n_train, eval_seeds)
    return OnlineStudyInstance(
        scenario=sc, train=tuple(generate_trace(sc, seed=u) for u in train_seeds),
        evaluation=tuple(generate_trace(sc, seed=u) for u in eval_seeds),
        train_seeds=tuple(train_seeds), eval_seeds=eval_seeds)


def check_options(method: str, options: Mapping) -> None:
    """Option names and values of an online method, checked without running it."""
    from ..coinference.online.episode import _check_planner, _check_psi, _check_theta

    allowed = METHOD_OPTIONS[method]
    for key in options:
        if key not in allowed:
            raise InvalidInputError(key, f"is not an option of {method} (options: {', '.join(allowed)})")
    checks = {"planner": _check_planner, "psi": _check_psi, "x": _check_theta}
    for key, check in checks.items():
        if key in options:
            _named(key, check, options[key])
    if method == "threshold" and "x" not in options:
        raise InvalidInputError("options", "threshold needs the option x, the threshold in [0, 1]")
    if "grid" in options:
        grid = options["grid"]
        if isinstance(grid, (str, bytes)) or not isinstance(grid, (list, tuple)) or not grid:
            raise InvalidInputError("grid", f"must be a non-empty list of thresholds in [0, 1], got {grid!r}")
        for x in grid:
            _named("grid", _check_theta, x)
    for key, low in (("steps", 1), ("learning_starts", 0), ("seed", 0)):
        if key in options:
            _count(options[key], key, low)


def _named(key: str, check, value):
    """``check(value)``, its error reported under the option's name."""
    try:
        return check(value)
    except InvalidInputError as exc:
        raise InvalidInputError(key, exc.reason) from None


#: Training steps of ``ddpg`` when its options do not say.
DEFAULT_DDPG_STEPS = 20_000


def run_online(instance: OnlineStudyInstance, method: str, options: Mapping) -> dict:
    """Run one policy of ``METHODS`` on a replicate; returns the row's result columns."""
    from ..coinference.online.episode import DEFAULT_PSI

    if method not in METHOD_OPTIONS:
        raise InvalidInputError("method", f"must be one of {', '.join(METHODS)} for online, got {method!r}")
    check_options(method, options)
    planner = options.get("planner", "og")
    psi = options.get("psi", DEFAULT_PSI)
    t0 = time.perf_counter()
    policy, extra = _learn(instance, method, options, planner, psi)
    extra["train_s"] = time.perf_counter() - t0 if method in LEARNS else math.nan
    t1 = time.perf_counter()
    results, verdicts, messages = _evaluate(instance, method, policy, planner, psi)
    tasks = sum(r.tasks for r in results)
    energy = sum(r.energy_j for r in results)
    local = sum(r.local_energy_j for r in results)
    violations = sum(r.violations for r in results)
    return {
        "status": "feasible", "objective": energy, "lc_energy_j": local,
        "saving": 1.0 - energy / local if local > 0 else math.nan,
        "verified": all(verdicts) if verdicts else None, "violations": "; ".join(messages),
        "unserved": violations, "runtime_s": time.perf_counter() - t1,
        "tasks": tasks, "energy_per_task_j": energy / tasks if tasks else math.nan,
        "deadline_violations": violations,
        "mean_wait_s": sum(r.mean_wait_s * r.tasks for r in results) / tasks if tasks else math.nan,
        "gpu_busy_fraction": float(np.mean([r.gpu_busy_fraction for r in results])) if results else math.nan,
        "batches": sum(r.batches for r in results), "reward": sum(r.reward for r in results),
        "mean_rate_hz": mean_rate_hz(instance.scenario),
        "message": f"{len(results)} evaluation episodes, planner {'og' if method == 'clairvoyant' else planner}",
        **extra,
    }


def _learn(instance: OnlineStudyInstance, method: str, options: Mapping, planner: str, psi: float):
    """(policy, extra columns ``theta`` and ``curve``): the policy of ``method``, learnt from the
    training traces by the methods of ``LEARNS``; None for clairvoyant."""
    from ..coinference.online.policies import DDPGPolicy, Threshold, best_threshold, every_slot, train_ddpg

    extra = {"theta": math.nan, "curve": ""}
    if method == "every-slot":
        return every_slot, extra
    if method == "threshold":
        extra["theta"] = float(options["x"])
        return Threshold(options["x"]), extra
    if method == "best-threshold":
        grid = options.get("grid")
        theta, _ = best_threshold(list(instance.train), planner=planner, psi=psi,
                                  **({} if grid is None else {"grid": tuple(grid)}))
        extra["theta"] = float(theta)
        return Threshold(theta), extra
    if method == "ddpg":
        log: list = []
        steps = options.get("steps", DEFAULT_DDPG_STEPS)
        with tempfile.TemporaryDirectory(prefix="j3o-fast-agent-") as folder:
            path = os.path.join(folder, "agent.zip")
            kw = {"learning_starts": options["learning_starts"]} if "learning_starts" in options else {}
            train_ddpg(list(instance.train), planner=planner, steps=steps, seed=int(options.get("seed", 0)),
                       out_path=path, checkpoint_every=steps, psi=psi, episode_log=log, **kw)
            policy = DDPGPolicy(path)
        extra["curve"] = json.dumps([[r["step"], r["energy_per_task_j"], r["violations"], r["reward"]] for r in log])
        return policy, extra
    return None, extra   # clairvoyant: no policy, it sees the whole trace


def _evaluate(instance: OnlineStudyInstance, method: str, policy, planner: str, psi: float):
    """(EpisodeResults, verdicts, messages) over the evaluation traces with tasks; a verdict holds
    when the outcome passes ``plan_verdict`` with the episode's energy."""
    from ..coinference.online import episode_outcome, play_episode
    from ..coinference.online.policies import clairvoyant, clairvoyant_outcome
    from ..coinference.verify import plan_verdict

    results, verdicts, messages = [], [], []
    for trace in instance.evaluation:
        if trace.n_tasks == 0:
            continue
        if method == "clairvoyant":
            outcome = clairvoyant_outcome(trace)
            res = clairvoyant(trace, psi=psi, outcome=outcome)
        else:
            ep = play_episode(trace, policy, planner=planner, psi=psi)
            res, outcome = ep.result(), episode_outcome(ep)
        inst, sol = outcome
        verdict = plan_verdict(inst, sol.decision)
        same_energy = abs(verdict.report.energy_j - res.energy_j) <= 1e-9 * max(1.0, abs(res.energy_j))
        verdicts.append(verdict.accepted and same_energy)
        if not verdict.accepted:
            messages.append(f"{trace.name}: " + "; ".join(str(v) for v in verdict.report.violations))
        elif not same_energy:
            messages.append(f"{trace.name}: energy {res.energy_j!r} J, recomputed {verdict.report.energy_j!r} J")
        results.append(res)
    return results, verdicts, messages


def mean_rate_hz(scenario) -> float:
    """The long-run mean arrival rate per device (Hz): rate_hz, or the bursty chain's mean
    (rate_low_hz + rate_high_hz)/2, since it switches both ways with the same probability."""
    if scenario.bursty and scenario.switch_prob > 0:
        return 0.5 * (scenario.rate_low_hz + scenario.rate_high_hz)
    return scenario.rate_low_hz if scenario.bursty else scenario.rate_hz


__all__ = ["COLUMNS", "METHODS", "METHOD_OPTIONS", "OnlineStudyInstance", "PARAMS", "check_options",
           "make_online_instance", "mean_rate_hz", "run_online"]
