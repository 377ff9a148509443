"""Tasks and seeds: ``expand`` turns a study into one ``Task`` per (instance, method), in a
fixed order, each keyed by its inputs; ``instance_seeds`` derives an instance's generator and
method seeds from the root seed and the configuration's content, so that they never depend on
the order of the study or on the worker that runs the task; ``effective_options`` gives the
options a solver receives (limits of exact solves, one thread, a seed)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from ._common import _canonical
from .adapters import ADAPTERS
from .study import Limits, Method, Study


@dataclass(frozen=True)
class Task:
    """One (instance, method) pair: everything a worker needs, and the key the store knows it by."""

    key: str
    index: int
    study: str
    experiment: str
    domain: str
    params: tuple          # ((name, value), ...) of the generator, sorted
    replicate: int
    seed: int
    instance: str
    label: str
    method: str
    options: tuple         # ((name, value), ...) as passed to the solver, sorted


def _words(text: str, n: int) -> tuple:
    digest = hashlib.sha256(text.encode()).digest()
    return tuple(int.from_bytes(digest[4 * i:4 * i + 4], "little") for i in range(n))


def instance_seeds(root_seed: int, domain: str, params: Mapping, replicate: int) -> tuple[int, int]:
    """(generator seed, method seed) of instance ``replicate`` of a configuration, from the root seed.

    Both are words of ``SeedSequence(root_seed, spawn_key=(h1, h2, replicate))``, the child of
    the root keyed by the configuration's content.
    """
    key = _words(_canonical({"domain": domain, **params}), 2)
    state = np.random.SeedSequence(root_seed, spawn_key=(*key, replicate)).generate_state(2, np.uint32)
    return int(state[0]), int(state[1])


def effective_options(domain: str, method: Method, limits: Limits, method_seed: int) -> dict:
    """The method's options as the solver gets them: the study's limits for the domain's
    ``limited`` (exact) methods, one thread for its ``threaded`` ones, the replicate's method
    seed for its ``seeded`` (stochastic) ones; options the study gives win."""
    spec = ADAPTERS[domain]
    options = dict(method.options)
    if method.method in spec.limited:
        options.setdefault("time_limit", limits.time_limit_s)
        options.setdefault("mip_rel_gap", limits.mip_rel_gap)
    if method.method in spec.threaded:
        options.setdefault("threads", 1)
    if method.method in spec.seeded:
        options.setdefault("seed", method_seed)
    return options


def expand(study: Study) -> list[Task]:
    """All tasks of the study in a fixed order: experiment, configuration, replicate, method.

    A task's key covers its experiment and every input (parameters, seed, method, options), not
    the package version: rerun into a fresh folder after changing a solver.
    """
    tasks: list[Task] = []
    for e in study.experiments:
        for config in e.configurations():
            params = tuple(sorted(config.items()))
            for r in range(e.seeds):
                seed, method_seed = instance_seeds(study.root_seed, e.domain, config, r)
                instance = hashlib.sha256(_canonical([e.domain, params, seed]).encode()).hexdigest()[:12]
                for m in e.methods:
                    options = tuple(sorted(effective_options(e.domain, m, study.limits, method_seed).items()))
                    key = hashlib.sha256(_canonical(
                        [e.name, e.domain, params, r, seed, m.label, m.method, options]).encode()).hexdigest()[:20]
                    tasks.append(Task(key=key, index=len(tasks), study=study.name, experiment=e.name,
                                      domain=e.domain, params=params, replicate=r, seed=seed, instance=instance,
                                      label=m.label, method=m.method, options=options))
    return tasks
