"""The study description: ``Method``, ``Limits``, ``Experiment`` and ``Study`` (frozen, checked
on construction against the domain's adapter: parameter names and kinds, sizes, method names)
and their TOML form (``Study.to_toml``, ``study_from_toml``, ``study_from_dict``). What only
running can show (generator values, method options) is ``check.check_study``'s. Errors name the
key and the value."""

from __future__ import annotations

import itertools
import json
import math
import sys
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from ..errors import InvalidInputError
from ._common import _canonical, _freeze, _is_int, _is_real, _path
from .adapters import ADAPTERS, DOMAINS, adapter
from .adapters.online import MAX_DEVICE_SLOTS   # the command line's bound too, with the two below

#: Largest instance size per domain, and largest other counts a generator takes (a typo such as
#: n_edges = 100000000 must not allocate gigabytes), in studies and on the command line.
MAX_SIZE = {name: a.max_size for name, a in ADAPTERS.items()}
MAX_COUNT = {key: n for a in ADAPTERS.values() for key, n in a.max_counts.items()}
#: A study of more tasks than this is refused (a typo such as seeds = 1000000000 would never end).
MAX_TASKS = 1_000_000


# ----------------------------------------------------------------------------------------------
# The study description


@dataclass(frozen=True)
class Method:
    """One method of an experiment: ``method`` (a method its domain's adapter registers), the
    ``label`` its rows carry (default: the method) and keyword ``options``."""

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
    deadline_spread, alpha, max_batch; online: a base scenario, n_devices, Scenario overrides,
    rate_scale, train_traces and eval_traces (``sweep.online``: an instance is a replicate of
    training and evaluation traces, a method a dispatch policy).
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
        adapter(self.domain)   # an unknown domain is refused with its name
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
        domain = ADAPTERS[self.domain]
        kinds = domain.parameters()
        known = tuple(kinds)
        for where, keys in (("params", self.params), ("grid", self.grid)):
            for key in keys:
                if key not in known:
                    raise InvalidInputError(f"{where}.{key}", f"unknown {self.domain} parameter "
                                                              f"(known: {', '.join(known)})")
        for key, value in self.params.items():
            _check_kind(domain, key, value, f"params.{key}")
        for key, values in self.grid.items():
            for i, value in enumerate(values):
                _check_kind(domain, key, value, f"grid.{key}[{i}]")
        both = sorted(set(self.params) & set(self.grid))
        if both:
            raise InvalidInputError(f"grid.{both[0]}", "is also fixed in params; give it in one place")
        for key in (domain.generator_key, domain.size_key):
            if key not in self.params and key not in self.grid:
                raise InvalidInputError(f"params.{key}", "required: give it in params or grid")
        size = domain.size_key
        for i, v in enumerate(self.grid.get(size, (self.params.get(size),))):
            where = f"grid.{size}[{i}]" if size in self.grid else f"params.{size}"
            if not _is_int(v) or v < 1:
                raise InvalidInputError(where, f"must be an integer >= 1, got {v!r}")
            if v > domain.max_size:
                raise InvalidInputError(where, f"must be an integer <= {domain.max_size}, got {v!r}")
        given = set(self.params) | set(self.grid)
        for first, second in domain.exclusive:
            if first in given and second in given:
                raise InvalidInputError(second, f"give {first} or {second}, not both")
        labels = set()
        names = domain.methods()
        for j, m in enumerate(self.methods):
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
        tasks = sum(math.prod(map(len, e.grid.values())) * e.seeds * len(e.methods) for e in experiments)
        if tasks > MAX_TASKS:
            raise InvalidInputError("experiment", f"the study has {tasks} tasks (configurations x seeds x methods), "
                                                  f"above the limit of {MAX_TASKS}: split it into several studies")
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


def _check_kind(domain, key: str, value, where: str) -> None:
    """A parameter value of the kind the generator takes (``DomainAdapter.parameters``), so that a
    wrong type (``window = ["abc"]``) is refused here with its key, not inside NumPy. Unknown keys
    are left to the caller."""
    kind = domain.parameters().get(key, "real")
    if value is None and key in domain.nullable:
        return
    limit = domain.max_counts.get(key)
    if kind == "int" and _is_int(value) and limit is not None and value > limit:
        raise InvalidInputError(where, f"must be an integer <= {limit}, got {value!r}")
    ok = {"str": lambda v: isinstance(v, str), "int": _is_int, "real": _is_real,
          "list": lambda v: isinstance(v, tuple) and len(v) > 0 and all(map(_is_real, v))}[kind]
    if not ok(value):
        what = {"str": "a string", "int": "an integer", "real": "a finite number",
                "list": "a non-empty list of finite numbers"}[kind]
        null = ' or "none"' if key in domain.nullable else ""
        raise InvalidInputError(where, f"must be {what}{null}, got {value!r}")


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
            raise InvalidInputError(_path(path, key or repr(key)), f"unknown key (known: {', '.join(known)}), "
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
    """Parse a TOML study (see ``Study.to_toml`` for the shape); values must be numbers of float64
    or int64, nested at most 64 levels (``_check_toml``)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        doc = tomllib.loads(text)
    except RecursionError:
        raise InvalidInputError(source, "invalid TOML: nested too deeply") from None
    except ValueError as exc:   # TOMLDecodeError, or an integer of more than 4300 digits
        raise InvalidInputError(source, f"invalid TOML: {str(exc).split(';')[0]}") from None
    _check_toml(doc, "", 0)
    return study_from_dict(doc)


def _check_toml(value, path: str, depth: int) -> None:
    """Refuse what no study parameter takes and NumPy could not hold: integers beyond int64,
    NaN and infinities, nesting deeper than 64 levels."""
    if depth > 64:
        raise InvalidInputError(path, "nested more than 64 levels deep")
    if isinstance(value, dict):
        for key, v in value.items():
            _check_toml(v, _path(path, key), depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_toml(v, f"{path}[{i}]", depth + 1)
    elif isinstance(value, bool):
        pass
    elif isinstance(value, int) and not -2**63 <= value < 2**63:
        raise InvalidInputError(path, f"must be a 64-bit integer, got {value if abs(value) < 10**40 else 'a huge integer'}")
    elif isinstance(value, float) and not math.isfinite(value):
        raise InvalidInputError(path, f"must be finite, got {value!r}")


__all__ = ["DOMAINS", "Experiment", "Limits", "MAX_COUNT", "MAX_DEVICE_SLOTS", "MAX_SIZE", "MAX_TASKS", "Method",
           "Study", "study_from_dict", "study_from_toml"]
