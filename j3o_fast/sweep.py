"""Scalability studies: a study description, its seeded tasks, a resumable parallel runner and one tidy table.

A ``Study`` names one or more experiments. An experiment is a domain ("placement" or
"coinference"), the instance generator's fixed ``params`` and its ``grid`` (every combination of
the listed values is one configuration), ``seeds`` instances per configuration and the methods
to run on each instance. A study is a frozen Python object or a TOML file of the same shape
(``load_study``, ``Study.to_toml``); ``PRESETS`` holds the ready-made ones.

``expand(study)`` turns it into tasks, one per (instance, method). Instance r of a
configuration c draws from the NumPy ``SeedSequence(root_seed, spawn_key=(h1(c), h2(c), r))``,
a child of the one root seed keyed by the configuration's content (h1, h2: two 32-bit words of
its SHA-256): the same configuration gives the same instance in every experiment, order and
grid of the study, and the seeds never depend on which worker runs a task. The first word of
the child's state seeds the generator (recorded as ``seed``, so ``j3o-fast generate ...
--seed S`` rebuilds the instance); the second seeds a stochastic method (the "random" baseline).

``run_study`` runs the tasks with joblib (loky processes by default; Dask through joblib's dask
backend; Ray through ``ray.util.joblib``), in chunks of whole tasks. Every finished chunk is
written at once to ``OUT/chunks/`` (a temporary file renamed into place), so an interrupted run
loses only the chunks in flight and a rerun skips every stored task (matched by a key over
the task's inputs). A task that raises is stored with status "error" and its message; the
study goes on. Inside a task, Numba, OpenMP, BLAS and HiGHS use one thread, whatever the
backend. The table (``OUT/results.parquet``, one row per (instance, method)) has every
parameter, the outcome (objective, bound, status, iterations, runtime, verification) and the
comparison with the best reference on the same instance (``ratio``, ``runtime_ratio``; for
co-inference ``saving`` = 1 - E/E_LC). Every column but the measured times
(``TIMING_COLUMNS``) and the run's bookkeeping (``RUN_COLUMNS``) is the same with 1 worker or
many, on any backend. Solves stopped by a time limit are the exception: where they stop
depends on the machine's speed, so presets give the exact solver sizes it finishes.

>>> study = preset("quick")
>>> len(expand(study)) > 0
True
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import socket
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterator, Mapping

import numpy as np

from .errors import InvalidInputError

DOMAINS = ("placement", "coinference")
BACKENDS = ("loky", "dask", "ray")

#: Generator parameters per domain: the generator's name, the size, and the rest. Placement
#: takes the range overrides of ``placement.families`` too (``DEFAULTS``, ``RANDOM_DEFAULTS``).
GENERATOR_KEY = {"placement": "family", "coinference": "profile"}
SIZE_KEY = {"placement": "n_clients", "coinference": "n_users"}
_BASIC_PARAMS = {
    "placement": ("family", "n_clients", "n_edges", "window"),
    "coinference": ("profile", "n_users", "deadline_s", "deadline_factor", "deadline_spread", "alpha", "max_batch"),
}
#: Parameters that may be None (written "none" in TOML, which has no null).
_NULLABLE = {"n_edges", "window", "deadline_s", "deadline_factor", "max_batch"}

#: Not a solver: the LP relaxation's value, an upper bound on every placement method, for
#: ratios where the MIP is not run.
LP_BOUND = "lp-bound"
#: Methods that take ``threads``: the runner passes threads=1 unless the options say otherwise
#: (single-task and j3o-unaware forward their options to J3O).
_THREADED = {"placement": {"j3o", "mip", "single-task", "j3o-unaware", LP_BOUND}, "coinference": set()}
#: Exact methods: their rows are the reference for ``ratio`` and ``runtime_ratio``.
EXACT = {"placement": "mip", "coinference": "oracle"}

#: Measured times: the only result columns that differ between runs of the same study.
TIMING_COLUMNS = ("runtime_s", "wall_s", "runtime_ratio")
#: Which run, process and moment computed a row.
RUN_COLUMNS = ("run_id", "worker", "finished_at")

_ID_COLUMNS = ("study", "experiment", "domain", "instance", "replicate", "seed")
_RESULT_COLUMNS = ("method", "solver", "options", "status", "objective", "upper_bound", "gap", "iterations",
                   "verified", "violations", "message", "error", "unserved", "lc_energy_j", "saving")
_DERIVED_COLUMNS = ("reference", "reference_kind", "ratio", "runtime_ratio")
_INTEGER_COLUMNS = ("replicate", "seed", "iterations", "unserved", "n_clients", "n_edges", "n_users", "max_batch",
                    "n_tasks", "n_models")


def _path(*parts) -> str:
    return ".".join(str(p) for p in parts if p != "")


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_jsonable)


def _jsonable(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def _freeze(value):
    """Lists become tuples (the generators take ranges as tuples), recursively."""
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(v)


# ----------------------------------------------------------------------------------------------
# The study description


@dataclass(frozen=True)
class Method:
    """One method of an experiment: ``method`` (a solver name of the domain, or "lp-bound" for
    placement), the ``label`` its rows carry (default: the method) and keyword ``options``."""

    method: str
    label: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.method, str) or not self.method:
            raise InvalidInputError("method", f"must be a non-empty string, got {self.method!r}")
        if not isinstance(self.label, str):
            raise InvalidInputError("label", f"must be a string, got {self.label!r}")
        if not isinstance(self.options, Mapping) or not all(isinstance(k, str) for k in self.options):
            raise InvalidInputError("options", f"must be a table of named options, got {self.options!r}")
        object.__setattr__(self, "label", self.label or self.method)
        object.__setattr__(self, "options", MappingProxyType({k: _freeze(v) for k, v in self.options.items()}))


@dataclass(frozen=True)
class Limits:
    """Budgets of exact solves: ``time_limit_s`` seconds per MIP solve (None: none) and its
    relative gap. A method's own options override them."""

    time_limit_s: float | None = 600.0
    mip_rel_gap: float = 1e-6

    def __post_init__(self):
        if self.time_limit_s is not None and not (_is_real(self.time_limit_s) and self.time_limit_s > 0):
            raise InvalidInputError("limits.time_limit_s", f"must be > 0 seconds or none, got {self.time_limit_s!r}")
        if not (_is_real(self.mip_rel_gap) and 0 <= self.mip_rel_gap < 1):
            raise InvalidInputError("limits.mip_rel_gap", f"must be in [0, 1), got {self.mip_rel_gap!r}")


@dataclass(frozen=True)
class Experiment:
    """One domain, one generator grid, the methods to compare on each instance.

    ``params`` are the generator's fixed keyword values, ``grid`` maps a parameter to the tuple
    of values it takes (the configurations are their Cartesian product, in the given order),
    ``seeds`` the instances per configuration. Placement parameters: family, n_clients,
    n_edges, window and the range overrides of ``placement.families``; co-inference: profile,
    n_users, deadline_s or deadline_factor (a multiple of the profile's default deadline),
    deadline_spread, alpha, max_batch.
    """

    name: str
    domain: str
    methods: tuple
    params: Mapping[str, Any] = field(default_factory=dict)
    grid: Mapping[str, tuple] = field(default_factory=dict)
    seeds: int = 3

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise InvalidInputError("name", f"must be a non-empty string, got {self.name!r}")
        if self.domain not in DOMAINS:
            raise InvalidInputError("domain", f"must be one of {', '.join(DOMAINS)}, got {self.domain!r}")
        if not _is_int(self.seeds) or self.seeds < 1:
            raise InvalidInputError("seeds", f"must be an integer >= 1, got {self.seeds!r}")
        methods = tuple(Method(m) if isinstance(m, str) else m for m in self.methods)
        if not methods or not all(isinstance(m, Method) for m in methods):
            raise InvalidInputError("methods", f"must be a non-empty list of methods, got {self.methods!r}")
        object.__setattr__(self, "methods", methods)
        params = {k: _freeze(v) for k, v in dict(self.params).items()}
        grid = {}
        for key, values in dict(self.grid).items():
            if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)) or not values:
                raise InvalidInputError(f"grid.{key}", f"must be a non-empty list of values, got {values!r}")
            values = tuple(_freeze(v) for v in values)
            seen = set()
            for i, v in enumerate(values):
                if _canonical(v) in seen:
                    raise InvalidInputError(f"grid.{key}[{i}]", f"repeats the value {v!r}")
                seen.add(_canonical(v))
            grid[key] = values
        object.__setattr__(self, "params", MappingProxyType(params))
        object.__setattr__(self, "grid", MappingProxyType(grid))
        self._check_structure()

    def _check_structure(self) -> None:
        known = _known_params(self.domain)
        for where, keys in (("params", self.params), ("grid", self.grid)):
            for key in keys:
                if key not in known:
                    raise InvalidInputError(f"{where}.{key}", f"unknown {self.domain} parameter "
                                                              f"(known: {', '.join(known)})")
        both = sorted(set(self.params) & set(self.grid))
        if both:
            raise InvalidInputError(f"grid.{both[0]}", "is also fixed in params; give it in one place")
        for key in (GENERATOR_KEY[self.domain], SIZE_KEY[self.domain]):
            if key not in self.params and key not in self.grid:
                raise InvalidInputError(f"params.{key}", "required: give it in params or grid")
        size = SIZE_KEY[self.domain]
        for i, v in enumerate(self.grid.get(size, (self.params.get(size),))):
            if not _is_int(v) or v < 1:
                where = f"grid.{size}[{i}]" if size in self.grid else f"params.{size}"
                raise InvalidInputError(where, f"must be an integer >= 1, got {v!r}")
        if "deadline_s" in set(self.params) | set(self.grid) and "deadline_factor" in set(self.params) | set(self.grid):
            raise InvalidInputError("deadline_factor", "give deadline_s or deadline_factor, not both")
        labels = set()
        for j, m in enumerate(self.methods):
            names = _method_names(self.domain)
            if m.method not in names:
                raise InvalidInputError(f"methods[{j}].method",
                                        f"must be one of {', '.join(names)} for {self.domain}, got {m.method!r}")
            if m.label in labels:
                raise InvalidInputError(f"methods[{j}].label", f"repeats the label {m.label!r}")
            labels.add(m.label)

    def configurations(self) -> list[dict]:
        """Every combination of the grid, each merged with the fixed params."""
        keys = list(self.grid)
        return [{**self.params, **dict(zip(keys, combo))} for combo in itertools.product(*self.grid.values())]


@dataclass(frozen=True)
class Study:
    """A named set of experiments, one root seed and the limits of exact solves."""

    name: str
    experiments: tuple
    root_seed: int = 0
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise InvalidInputError("name", f"must be a non-empty string, got {self.name!r}")
        if not _is_int(self.root_seed) or self.root_seed < 0:
            raise InvalidInputError("root_seed", f"must be an integer >= 0, got {self.root_seed!r}")
        experiments = tuple(self.experiments)
        if not experiments or not all(isinstance(e, Experiment) for e in experiments):
            raise InvalidInputError("experiment", "must be a non-empty list of experiments")
        names = [e.name for e in experiments]
        for i, n in enumerate(names):
            if n in names[:i]:
                raise InvalidInputError(f"experiment[{i}].name", f"repeats the name {n!r}")
        object.__setattr__(self, "experiments", experiments)
        if not isinstance(self.limits, Limits):
            raise InvalidInputError("limits", f"must be a Limits, got {self.limits!r}")

    def to_dict(self) -> dict:
        return {
            "name": self.name, "root_seed": self.root_seed,
            "limits": {"time_limit_s": self.limits.time_limit_s, "mip_rel_gap": self.limits.mip_rel_gap},
            "experiment": [{
                "name": e.name, "domain": e.domain, "seeds": e.seeds, "params": dict(e.params),
                "grid": {k: list(v) for k, v in e.grid.items()},
                "methods": [{"method": m.method, "label": m.label, "options": dict(m.options)} for m in e.methods],
            } for e in self.experiments],
        }

    def to_toml(self) -> str:
        """The study as a TOML document that ``study_from_toml`` reads back to an equal study."""
        d = self.to_dict()
        lines = [f"name = {_toml(d['name'])}", f"root_seed = {d['root_seed']}", "", "[limits]"]
        lines += [f"{k} = {_toml(v)}" for k, v in d["limits"].items()]
        for e in d["experiment"]:
            lines += ["", "[[experiment]]", f"name = {_toml(e['name'])}", f"domain = {_toml(e['domain'])}",
                      f"seeds = {e['seeds']}", "methods = ["]
            lines += [f"    {_toml(m)}," for m in e["methods"]]
            lines += ["]", "[experiment.params]"] + [f"{k} = {_toml(v)}" for k, v in e["params"].items()]
            lines += ["[experiment.grid]"] + [f"{k} = {_toml(v)}" for k, v in e["grid"].items()]
        return "\n".join(lines) + "\n"


def _toml(value) -> str:
    if value is None:
        return '"none"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    raise InvalidInputError("", f"cannot write {value!r} to TOML")


def _known_params(domain: str) -> tuple:
    if domain == "placement":
        from .placement.families import DEFAULTS, RANDOM_DEFAULTS

        return _BASIC_PARAMS[domain] + tuple(DEFAULTS) + tuple(RANDOM_DEFAULTS)
    return _BASIC_PARAMS[domain]


def _method_names(domain: str) -> tuple:
    if domain == "placement":
        from .placement.solve import METHODS

        return tuple(METHODS) + (LP_BOUND,)
    from .coinference.solve import METHODS

    return tuple(METHODS)


# ----------------------------------------------------------------------------------------------
# Reading studies


_STUDY_KEYS = ("name", "root_seed", "seeds", "limits", "experiment")
_EXPERIMENT_KEYS = ("name", "domain", "seeds", "params", "grid", "methods")
_METHOD_KEYS = ("method", "label", "options")
_LIMIT_KEYS = ("time_limit_s", "mip_rel_gap")


def _table(obj, path: str, known: tuple) -> dict:
    if not isinstance(obj, Mapping):
        raise InvalidInputError(path or "(top level)", f"must be a table, got {obj!r}")
    for key in obj:
        if key not in known:
            raise InvalidInputError(_path(path, key), f"unknown key (known: {', '.join(known)}), "
                                                      f"got value {obj[key]!r}")
    return dict(obj)


def _none(value):
    """TOML has no null: the string "none" stands for None."""
    if isinstance(value, str) and value.lower() == "none":
        return None
    if isinstance(value, list):
        return [_none(v) for v in value]
    if isinstance(value, dict):
        return {k: _none(v) for k, v in value.items()}
    return value


def _located(exc: InvalidInputError, prefix: str) -> InvalidInputError:
    return InvalidInputError(_path(prefix, exc.path), exc.reason)


def study_from_dict(doc: Mapping) -> Study:
    """Build and check a Study from a TOML-shaped mapping; errors name the key and the value."""
    doc = _none(_table(doc, "", _STUDY_KEYS))
    default_seeds = doc.get("seeds", 3)
    limits_doc = _table(doc.get("limits", {}), "limits", _LIMIT_KEYS)
    try:
        limits = Limits(**limits_doc)
    except InvalidInputError as exc:
        raise InvalidInputError(exc.path, exc.reason) from None
    experiments = doc.get("experiment")
    if not isinstance(experiments, list) or not experiments:
        raise InvalidInputError("experiment",
                                f"must be a non-empty array of tables ([[experiment]]), got {experiments!r}")
    built = []
    for i, e in enumerate(experiments):
        where = f"experiment[{i}]"
        e = _table(e, where, _EXPERIMENT_KEYS)
        if "domain" not in e:
            raise InvalidInputError(f"{where}.domain", f"required key is missing (one of {', '.join(DOMAINS)})")
        methods = []
        raw_methods = e.get("methods")
        if not isinstance(raw_methods, list) or not raw_methods:
            raise InvalidInputError(f"{where}.methods", f"must be a non-empty array of methods, got {raw_methods!r}")
        for j, m in enumerate(raw_methods):
            mwhere = f"{where}.methods[{j}]"
            if isinstance(m, str):
                m = {"method": m}
            m = _table(m, mwhere, _METHOD_KEYS)
            if "method" not in m:
                raise InvalidInputError(f"{mwhere}.method", "required key is missing")
            try:
                methods.append(Method(m["method"], m.get("label", ""), m.get("options", {})))
            except InvalidInputError as exc:
                raise _located(exc, mwhere) from None
        for key in ("params", "grid"):
            if key in e and not isinstance(e[key], Mapping):
                raise InvalidInputError(f"{where}.{key}", f"must be a table, got {e[key]!r}")
        try:
            built.append(Experiment(name=e.get("name", f"{e['domain']}-{i}"), domain=e["domain"],
                                    methods=tuple(methods), params=e.get("params", {}), grid=e.get("grid", {}),
                                    seeds=e.get("seeds", default_seeds)))
        except InvalidInputError as exc:
            raise _located(exc, where) from None
    return Study(name=doc.get("name", "study"), experiments=tuple(built), root_seed=doc.get("root_seed", 0),
                 limits=limits)


def study_from_toml(text: str, source: str = "study") -> Study:
    """Parse a TOML study (see ``Study.to_toml`` for the shape)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(source, f"invalid TOML: {exc}") from None
    return study_from_dict(doc)


def load_study(path: str | os.PathLike) -> Study:
    """Read a TOML study file and check it, generators and method options included (``check_study``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(str(path), "file not found") from None
    study = study_from_toml(text, str(path))
    check_study(study)
    return study


def check_study(study: Study) -> None:
    """Check what the structure cannot show, by building tiny instances and calling every method once:
    generator values (a family, a window, a range) and method options. Errors name the key and value."""
    for i, e in enumerate(study.experiments):
        where = f"experiment[{i}]"
        size = SIZE_KEY[e.domain]
        seen, tiny = set(), None
        for config in e.configurations():
            probe = {**config, size: 2}
            if _canonical(probe) in seen:
                continue
            seen.add(_canonical(probe))
            try:
                inst = make_instance(e.domain, probe, 0)
            except InvalidInputError as exc:
                key = exc.path if exc.path in config else None
                if key is None:
                    raise InvalidInputError(f"{where}.params", exc.reason) from None
                loc = f"grid.{key}[{e.grid[key].index(config[key])}]" if key in e.grid else f"params.{key}"
                raise InvalidInputError(f"{where}.{loc}", exc.reason) from None
            tiny = tiny or (inst, config)
        inst, config = tiny
        for j, m in enumerate(e.methods):
            options = effective_options(e.domain, m, study.limits, method_seed=0)
            try:
                run_method(e.domain, inst, m.method, options)
            except InvalidInputError as exc:
                if exc.path == "options" or exc.path in m.options:
                    key = f".options.{exc.path}" if exc.path in m.options else ".options"
                    raise InvalidInputError(f"{where}.methods[{j}]{key}", exc.reason) from None
                # Any other complaint is about this tiny instance (e.g. j3o-unaware without a
                # batching window): the real tasks will record it if it applies to them.


# ----------------------------------------------------------------------------------------------
# Tasks


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
    """The method's options as the solver gets them: limits for exact solves, one thread, a seed."""
    options = dict(method.options)
    if domain == "placement" and method.method == "mip":
        options.setdefault("time_limit", limits.time_limit_s)
        options.setdefault("mip_rel_gap", limits.mip_rel_gap)
    if method.method in _THREADED[domain]:
        options.setdefault("threads", 1)
    if domain == "placement" and method.method == "random":
        options.setdefault("seed", method_seed)
    return options


def expand(study: Study) -> list[Task]:
    """All tasks of the study in a fixed order: experiment, configuration, replicate, method.

    A task's key covers its experiment and every input (parameters, seed, method, options), not
    the package version: rerun into a fresh folder after changing a solver.
    """
    tasks = []
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


# ----------------------------------------------------------------------------------------------
# Work done inside a worker


def make_instance(domain: str, params: Mapping, seed: int):
    """The seeded instance of a configuration (the generator's keyword arguments in ``params``)."""
    p = dict(params)
    if domain == "placement":
        from .placement import generate

        return generate(p.pop("family"), p.pop("n_clients"), p.pop("n_edges", None), seed,
                        window=p.pop("window", None), **p)
    from .coinference.profiles import DEFAULT_DEADLINE_S, generate

    factor = p.pop("deadline_factor", None)
    if factor is not None:
        if p["profile"] not in DEFAULT_DEADLINE_S:
            raise InvalidInputError("profile", f"has no default deadline to scale, got {p['profile']!r}")
        if not (_is_real(factor) and factor > 0):
            raise InvalidInputError("deadline_factor", f"must be > 0, got {factor!r}")
        p["deadline_s"] = factor * DEFAULT_DEADLINE_S[p["profile"]]
    return generate(p.pop("profile"), p.pop("n_users"), seed=seed, **p)


def run_method(domain: str, instance, method: str, options: Mapping):
    """Run one method; returns a SolveResult."""
    if domain == "placement":
        if method == LP_BOUND:
            from .placement import lp_upper_bound
            from .result import SolveResult

            if set(options) - {"threads"}:
                raise InvalidInputError("options", f"{LP_BOUND} takes only threads, got {sorted(options)}")
            t0 = time.perf_counter()
            bound = lp_upper_bound(instance, **options)
            return SolveResult(method=LP_BOUND, status="optimal", objective=bound, decision=None,
                               runtime_s=time.perf_counter() - t0, upper_bound=bound,
                               message="LP relaxation: an upper bound, not a placement")
        from .placement.solve import solve
    else:
        from .coinference.solve import solve
    return solve(instance, method, **options)


def _verify(domain: str, instance, result) -> dict:
    """The independent verifier's verdict on a result (None where there is nothing to verify)."""
    if result.decision is None:
        return {"verified": None, "violations": ""}
    if domain == "placement":
        from .placement import verify

        report = verify(instance, result.decision, claimed_objective=result.objective)
        return {"verified": bool(report.ok), "violations": "; ".join(str(v) for v in report.violations)}
    from .coinference.verify import verify_plan

    plan = result.decision
    report = verify_plan(instance, plan)
    # A plan may list users it cannot serve (they run locally and miss their deadline): that is
    # a declared outcome, not a broken plan.
    late = set(np.nonzero(report.finish_s > instance.absolute_deadline + 1e-9)[0].tolist())
    declared = all(v.constraint == "deadlines" for v in report.violations) and late <= set(plan.infeasible_users)
    return {"verified": bool(report.ok or declared),
            "violations": "" if report.ok or declared else "; ".join(str(v) for v in report.violations),
            "unserved": len(plan.infeasible_users)}


_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


@contextmanager
def single_threaded(worker: bool = False):
    """Numba, OpenMP and BLAS on one thread for the duration (HiGHS gets threads=1 as an option).

    In a ``worker`` process that has not loaded Numba yet, the environment is set first, since
    Numba and OpenMP read it once when they load; Numba and the BLAS/OpenMP pools are then capped
    at run time and restored on exit, so a caller running tasks in its own process keeps its
    environment and thread counts.
    """
    if worker and "numba" not in sys.modules:
        for var in _THREAD_VARS:
            os.environ[var] = "1"
    import numba
    from threadpoolctl import threadpool_limits

    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        numba.set_num_threads(previous)


_WARM: set = set()


def _warm_up(task: Task) -> None:
    """Solve a 2-client (2-user) instance once per process and method, untimed, so that loading
    compiled kernels is not charged to the first task a worker runs."""
    if (task.domain, task.method) in _WARM:
        return
    _WARM.add((task.domain, task.method))
    try:
        tiny = make_instance(task.domain, {**dict(task.params), SIZE_KEY[task.domain]: 2}, 0)
        run_method(task.domain, tiny, task.method, dict(task.options))
    except Exception:  # the real task reports whatever goes wrong
        pass


def _result_row(task: Task, run_id: str, instance_cache: dict) -> dict:
    row = {"task": task.key, "study": task.study, "experiment": task.experiment, "domain": task.domain,
           "instance": task.instance, "replicate": task.replicate, "seed": task.seed, **_param_columns(task.params),
           "method": task.label, "solver": task.method, "options": _canonical(dict(task.options)),
           "status": "error", "objective": math.nan, "upper_bound": math.nan, "gap": math.nan,
           "iterations": 0, "verified": None, "violations": "", "message": "", "error": "",
           "unserved": None, "lc_energy_j": math.nan, "saving": math.nan, "runtime_s": math.nan}
    t0 = time.perf_counter()
    try:
        ident = (task.domain, task.params, task.seed)
        if ident not in instance_cache:
            instance_cache.clear()   # one instance at a time: tasks of an instance are adjacent
            instance_cache[ident] = make_instance(task.domain, dict(task.params), task.seed)
        inst = instance_cache[ident]
        result = run_method(task.domain, inst, task.method, dict(task.options))
        d = result.to_dict()
        row.update({k: v for k, v in d.items() if k != "method"})
        row.update(_verify(task.domain, inst, result))
        if task.domain == "coinference":
            lc = float(inst.energy[:, inst.n_subtasks].sum())
            row["lc_energy_j"] = lc
            row["saving"] = 1.0 - result.objective / lc
    except Exception as exc:  # a failing task is recorded; the study goes on
        row["status"] = "error"
        row["error"] = f"{type(exc).__name__}: {exc}"
    for k in ("upper_bound", "gap"):
        row[k] = math.nan if row[k] is None else float(row[k])
    row["wall_s"] = time.perf_counter() - t0
    row.update(run_id=run_id, worker=f"{socket.gethostname()}:{os.getpid()}", finished_at=time.time())
    return row


def _param_columns(params: tuple) -> dict:
    """Generator parameters as table columns: scalars as they are, ranges as JSON text."""
    return {k: (_canonical(v) if isinstance(v, (tuple, list)) else v) for k, v in params}


def run_chunk(tasks: list, run_id: str = "", on_task=None, worker: bool = False) -> list[dict]:
    """Run ``tasks`` one after the other on one thread; one row per task, failures included.

    ``on_task(task)`` is called before each task (e.g. to count executions in tests);
    ``worker`` says the process is a worker of its own (see ``single_threaded``).
    """
    rows, cache = [], {}
    with single_threaded(worker):
        for task in tasks:
            if on_task is not None:
                on_task(task)
            _warm_up(task)
            rows.append(_result_row(task, run_id, cache))
    return rows


# ----------------------------------------------------------------------------------------------
# Storage


class ResultStore:
    """A study's output folder: ``chunks/`` (one Parquet file per finished chunk, written to a
    temporary name and renamed), ``study.toml``, ``results.parquet`` and ``results.csv``."""

    def __init__(self, out: str | os.PathLike):
        self.root = Path(out)
        self.chunks = self.root / "chunks"
        self.chunks.mkdir(parents=True, exist_ok=True)
        for stale in self.chunks.glob(".tmp-*"):   # left by a run killed mid-write
            stale.unlink(missing_ok=True)
        self._seq = 0

    def finished(self) -> list[dict]:
        """Every stored row (possibly of other studies; the caller matches them by task key)."""
        import pandas as pd

        rows = []
        for path in sorted(self.chunks.glob("chunk-*.parquet")):
            try:
                rows.extend(pd.read_parquet(path).to_dict("records"))
            except Exception as exc:  # unreadable: its tasks are run again
                print(f"j3o-fast: warning: ignoring unreadable {path}: {exc}", file=sys.stderr)
        return rows

    def write_chunk(self, rows: list[dict], run_id: str) -> Path:
        import pandas as pd

        self._seq += 1
        path = self.chunks / f"chunk-{run_id}-{self._seq:06d}.parquet"
        _write_atomic(lambda tmp: _frame(pd, rows).to_parquet(tmp, index=False), path)
        return path

    def write_table(self, table, study: Study) -> None:
        _write_atomic(lambda tmp: table.to_parquet(tmp, index=False), self.root / "results.parquet")
        _write_atomic(lambda tmp: table.to_csv(tmp, index=False), self.root / "results.csv")
        _write_atomic(lambda tmp: Path(tmp).write_text(study.to_toml(), encoding="utf-8"), self.root / "study.toml")


def _frame(pd, rows: list[dict]):
    frame = pd.DataFrame.from_records(rows)
    # value-or-missing columns get nullable dtypes, so that counts stay integers next to the
    # other domain's empty cells and every column reads back from Parquet as it was written
    if "verified" in frame:
        frame["verified"] = frame["verified"].astype("boolean")
    for col in _INTEGER_COLUMNS:
        if col in frame:
            try:
                frame[col] = frame[col].astype("Int64")
            except (TypeError, ValueError):   # e.g. a range written as text in the same column
                pass
    return frame


def _write_atomic(write, path: Path) -> None:
    """``write(tmp)`` a temporary file next to ``path``, flush it to disk, then rename it into place."""
    tmp = path.parent / f".tmp-{path.name}-{uuid.uuid4().hex[:8]}"
    try:
        write(str(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# ----------------------------------------------------------------------------------------------
# The table


def assemble(tasks: list[Task], rows: list[dict]):
    """One row per task in task order, with the references and ratios of every instance."""
    import pandas as pd

    by_key = {}
    for r in rows:
        old = by_key.get(r["task"])
        # a task run twice (a retried failure): the later row wins
        if old is None or r["finished_at"] >= old["finished_at"]:
            by_key[r["task"]] = r
    ordered = [by_key[t.key] for t in tasks if t.key in by_key]
    table = _frame(pd, ordered) if ordered else pd.DataFrame(columns=["task", *_ID_COLUMNS, *_RESULT_COLUMNS])
    table = table.reset_index(drop=True)
    reference, kind, runtime = _references(table)
    table["reference"] = reference
    table["reference_kind"] = kind
    table["ratio"] = table["objective"].astype(float) / table["reference"]
    table["runtime_ratio"] = table["runtime_s"].astype(float) / runtime
    return table[_column_order(table)]


def _references(table):
    """Per row: the reference value of its instance, its kind ("optimum", "bound" or ""), and the
    exact solver's runtime on that instance.

    Placement maximises accuracy: the reference is the MIP's optimum where it proved one, else
    the tightest upper bound (the MIP's best bound or the LP relaxation). Co-inference minimises
    energy: the reference is the oracle's optimum.
    """
    import pandas as pd

    ok = table[table["status"] != "error"]
    exact = ok[ok["solver"] == ok["domain"].map(EXACT)]
    optimal = exact[exact["status"] == "optimal"]
    optimum = pd.concat([optimal[optimal["domain"] == "placement"].groupby("instance")["objective"].max(),
                         optimal[optimal["domain"] == "coinference"].groupby("instance")["objective"].min()])
    place_exact = exact[exact["domain"] == "placement"]
    lp = ok[(ok["domain"] == "placement") & (ok["solver"] == LP_BOUND)]
    candidates = pd.concat([pd.Series(place_exact["upper_bound"].to_numpy(float), index=place_exact["instance"]),
                            pd.Series(lp["objective"].to_numpy(float), index=lp["instance"])])
    candidates = candidates[np.isfinite(candidates.to_numpy())]
    bound = candidates.groupby(level=0).min()
    instance = table["instance"]
    is_opt = instance.isin(optimum.index)
    is_bound = ~is_opt & instance.isin(bound.index)
    reference = instance.map(optimum).where(is_opt, instance.map(bound)).astype(float)
    kind = np.where(is_opt, "optimum", np.where(is_bound, "bound", ""))
    runtime = instance.map(exact.groupby("instance")["runtime_s"].first()).astype(float)
    return reference.to_numpy(), kind, runtime.to_numpy()


def _column_order(table) -> list:
    fixed = ["task", *_ID_COLUMNS]
    params = [c for c in table.columns if c in _all_params()]
    results = [c for c in _RESULT_COLUMNS if c in table.columns] + list(_DERIVED_COLUMNS)
    times = ["runtime_s", "wall_s"] + sorted(c for c in table.columns if c.startswith("time_"))
    run = [c for c in RUN_COLUMNS if c in table.columns]
    listed = set(fixed + params + results + times + run)
    rest = [c for c in table.columns if c not in listed]
    return fixed + params + results + [c for c in times if c in table.columns] + rest + run


def _all_params() -> set:
    return set(_known_params("placement")) | set(_known_params("coinference"))


def deterministic_columns(table) -> list:
    """The columns that must agree between any two runs of the same study."""
    return [c for c in table.columns
            if c not in TIMING_COLUMNS and c not in RUN_COLUMNS and not c.startswith("time_")]


# ----------------------------------------------------------------------------------------------
# Running


def _auto_chunk(n_tasks: int, workers: int) -> int:
    # about eight chunks per worker balances the load; 64 tasks bounds what an interruption loses
    return max(1, min(64, math.ceil(n_tasks / (8 * max(workers, 1)))))


def _chunks(tasks: list, size: int) -> list:
    return [tasks[i:i + size] for i in range(0, len(tasks), size)]


def resolve_jobs(n_jobs: int | None) -> int:
    """Workers for ``n_jobs``: None or 1 -> 1, -1 -> every core, k -> k."""
    if n_jobs is None:
        return 1
    if not _is_int(n_jobs) or n_jobs == 0 or n_jobs < -1:
        raise InvalidInputError("jobs", f"must be an integer >= 1 or -1 (every core), got {n_jobs!r}")
    return (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)


@contextmanager
def _parallel(backend: str, workers: int, scheduler: str | None) -> Iterator:
    """A callable taking joblib delayed calls and yielding their results as they finish."""
    from joblib import Parallel, parallel_config

    kw = dict(return_as="generator_unordered", batch_size=1, pre_dispatch="2*n_jobs")
    if backend == "loky":
        yield Parallel(n_jobs=workers, backend="loky", **kw)
    elif backend == "dask":
        with _dask_client(workers, scheduler):
            with parallel_config(backend="dask"):
                yield Parallel(**kw)
    elif backend == "ray":
        # Ray's joblib backend returns lists only: run waves of two chunks per worker, so that
        # results are still stored as they come and an interruption loses at most one wave.
        with _ray_cluster(workers, scheduler):
            with parallel_config(backend="ray", n_jobs=workers), \
                    Parallel(return_as="list", batch_size=1) as waves:   # one pool for every wave

                def by_waves(calls):
                    calls = list(calls)
                    for i in range(0, len(calls), 2 * workers):
                        yield from waves(calls[i:i + 2 * workers])

                yield by_waves
    else:
        raise InvalidInputError("backend", f"must be one of {', '.join(BACKENDS)}, got {backend!r}")


@contextmanager
def _dask_client(workers: int, scheduler: str | None):
    """The current Dask client, else one for ``scheduler``, else a local cluster of ``workers``
    single-threaded processes (closed afterwards)."""
    try:
        from distributed import Client, LocalCluster, get_client
    except ImportError:
        raise InvalidInputError("backend",
                                "dask needs the distributed extra: pip install 'j3o-fast[distributed]'") from None
    if scheduler is None:
        try:
            get_client()
            yield
            return
        except ValueError:
            pass
    if scheduler is not None:
        with Client(scheduler):
            yield
        return
    env = {var: "1" for var in _THREAD_VARS}
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      env=env) as cluster, Client(cluster):
        yield


@contextmanager
def _ray_cluster(workers: int, scheduler: str | None):
    """Ray's joblib backend on a running Ray (``scheduler``, or already initialised), else a
    local Ray of ``workers`` CPUs (shut down afterwards)."""
    try:
        import ray
        from ray.util.joblib import register_ray
    except ImportError:
        raise InvalidInputError("backend", "ray needs the ray extra: pip install 'j3o-fast[ray]'") from None
    register_ray()
    if ray.is_initialized():
        yield
        return
    # No runtime_env for the thread variables: it makes Ray start workers through its
    # runtime-env agent, ten times slower here; each task caps its threads itself.
    if scheduler is not None:
        ray.init(address=scheduler, log_to_driver=False)
    else:
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def run_study(study: Study, out: str | os.PathLike | None = None, *, n_jobs: int | None = 1,
              backend: str = "loky", scheduler: str | None = None, chunk_size: int | None = None,
              progress: bool | None = None, retry_failed: bool = False):
    """Run every task of ``study`` not yet stored in ``out`` and return the whole table.

    ``out`` None keeps nothing on disk. ``n_jobs`` workers (-1: every core); ``backend`` loky,
    dask (``scheduler`` address, else the current client, else a local cluster of n_jobs
    processes) or ray (``scheduler`` address, else a local Ray). ``chunk_size`` tasks go to a
    worker at a time (default: about eight chunks per worker, at most 64 tasks). ``progress``
    None shows a bar only on a terminal. ``retry_failed`` runs stored failures again.
    Returns a pandas DataFrame, one row per (instance, method), in task order.
    """
    if backend not in BACKENDS:
        raise InvalidInputError("backend", f"must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if scheduler is not None and backend == "loky":
        raise InvalidInputError("scheduler", "only the dask and ray backends take a scheduler address")
    workers = resolve_jobs(n_jobs)
    if chunk_size is not None and (not _is_int(chunk_size) or chunk_size < 1):
        raise InvalidInputError("chunk_size", f"must be an integer >= 1, got {chunk_size!r}")
    check_study(study)
    tasks = expand(study)
    store = ResultStore(out) if out is not None else None
    wanted = {t.key for t in tasks}
    stored = [r for r in store.finished() if r["task"] in wanted] if store else []
    if retry_failed:
        stored = [r for r in stored if r["status"] != "error"]
    done = {r["task"] for r in stored}
    todo = [t for t in tasks if t.key not in done]
    run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    rows = list(stored)
    from tqdm import tqdm

    quiet = progress is False or (progress is None and not sys.stderr.isatty())
    bar = tqdm(total=len(tasks), initial=len(done), unit="task", desc=study.name, disable=quiet,
               dynamic_ncols=True, file=sys.stderr)
    try:
        if todo:
            chunks = _chunks(todo, chunk_size or _auto_chunk(len(todo), workers))
            if workers == 1 and backend == "loky":   # in this process: nothing to pickle or spawn
                _consume((run_chunk(c, run_id) for c in chunks), store, run_id, rows, bar)
            else:
                from joblib import delayed

                with _parallel(backend, workers, scheduler) as parallel:
                    calls = (delayed(run_chunk)(c, run_id, worker=True) for c in chunks)
                    _consume(parallel(calls), store, run_id, rows, bar)
    finally:
        bar.close()
    table = assemble(tasks, rows)
    if store is not None:
        store.write_table(table, study)
    failed = int((table["status"] == "error").sum()) if len(table) else 0
    if failed and not quiet:
        print(f"j3o-fast: {failed} of {len(table)} tasks failed (status 'error'; see the error column)",
              file=sys.stderr)
    return table


def _consume(results, store, run_id, rows, bar) -> None:
    failed = sum(r["status"] == "error" for r in rows)
    for chunk_rows in results:
        if store is not None:
            store.write_chunk(chunk_rows, run_id)
        rows.extend(chunk_rows)
        bar.update(len(chunk_rows))
        failed += sum(r["status"] == "error" for r in chunk_rows)
        if failed:
            bar.set_postfix_str(f"{failed} failed", refresh=False)


# ----------------------------------------------------------------------------------------------
# Presets


def _placement(name, sizes, methods, *, family="nyu", windows=(None, 0.05), seeds=3, **params) -> Experiment:
    grid = {"n_clients": tuple(sizes), "window": tuple(windows)}
    if isinstance(family, tuple):
        grid = {"family": family, **grid}
        params = dict(params)
    else:
        params = {"family": family, **params}
    return Experiment(name=name, domain="placement", methods=tuple(methods), params=params, grid=grid, seeds=seeds)


def _quick() -> Study:
    return Study("quick", root_seed=2024, limits=Limits(time_limit_s=60.0), experiments=(
        _placement("placement", (10, 20, 50), ("j3o", "mip", "accuracy-greedy", "local-only"), n_edges=2, seeds=3),
        Experiment(name="coinference", domain="coinference", methods=("ip-ssa", "og", "lc"),
                   params={"profile": "mobilenetv2"}, grid={"n_users": (5, 10, 20, 50), "deadline_factor": (0.8, 1.5)},
                   seeds=3),
    ))


def _paper_placement() -> Study:
    baselines = ("accuracy-greedy", "local-only", "cloud-only", "edge-only", "single-task", "random")
    return Study("paper-placement", root_seed=2025, limits=Limits(time_limit_s=600.0), experiments=(
        _placement("accuracy-runtime", (10, 20, 50, 100, 200), ("j3o", "mip", *baselines),
                   family=("nyu", "taskonomy"), seeds=5),
        _placement("batching-awareness", (20, 50, 100), ("j3o", "j3o-unaware", "mip"), family=("nyu", "taskonomy"),
                   windows=(0.02, 0.05, 0.1), seeds=5),
    ))


def _scale() -> Study:
    methods = ("j3o", "accuracy-greedy", "local-only", "cloud-only", "random")
    return Study("scale", root_seed=2026, limits=Limits(time_limit_s=None), experiments=(
        _placement("scale", (100, 1_000, 10_000, 100_000), methods, family="random", seeds=3),
        # the LP bound of the same instances, where it is cheap enough to matter
        _placement("scale-bound", (100, 1_000, 10_000), (LP_BOUND,), family="random", seeds=3),
    ))


def _paper_coinference() -> Study:
    # the grids of the in-process study (coinference.study), run as a resumable parallel study
    from .coinference.study import DEADLINE_FACTORS, PROFILES, SAVING_SPREAD, SPREAD_USERS, SPREADS, USERS

    methods = ("ip-ssa", "og", "fo", "ip-no-batch", "lc")
    return Study("paper-coinference", root_seed=2024, experiments=(
        Experiment(name="saving", domain="coinference", methods=methods, params={"deadline_spread": SAVING_SPREAD},
                   grid={"profile": PROFILES, "n_users": USERS, "deadline_factor": DEADLINE_FACTORS}, seeds=20),
        Experiment(name="spread", domain="coinference", methods=("ip-ssa-min", "og", "lc"),
                   grid={"profile": PROFILES, "n_users": SPREAD_USERS, "deadline_spread": SPREADS}, seeds=20),
        # batches capped at 8 with a per-member cost: IP-SSA and FO batch everyone at once, so OG
        Experiment(name="saving-capped", domain="coinference", methods=("og", "ip-no-batch", "lc"),
                   params={"profile": "vgg16", "max_batch": 8, "alpha": 0.05},
                   grid={"n_users": USERS, "deadline_factor": DEADLINE_FACTORS}, seeds=20),
    ))


#: Ready-made studies by name (each a function returning a fresh Study).
PRESETS = {"quick": _quick, "paper-placement": _paper_placement, "scale": _scale,
           "paper-coinference": _paper_coinference}


def preset(name: str) -> Study:
    """The preset study ``name`` (one of PRESETS)."""
    if name not in PRESETS:
        raise InvalidInputError("preset", f"must be one of {', '.join(PRESETS)}, got {name!r}")
    return PRESETS[name]()


__all__ = [
    "BACKENDS", "DOMAINS", "EXACT", "LP_BOUND", "Limits", "Method", "Experiment", "PRESETS", "ResultStore",
    "RUN_COLUMNS",
    "Study", "TIMING_COLUMNS", "Task", "assemble", "check_study", "deterministic_columns", "effective_options",
    "expand", "instance_seeds", "load_study", "make_instance", "preset", "resolve_jobs", "run_chunk", "run_method",
    "run_study", "single_threaded", "study_from_dict", "study_from_toml",
]
