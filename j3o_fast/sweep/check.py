"""Checking a study before any task runs: ``check_study`` draws a tiny instance of every
configuration and checks every method's options through the domain's adapter, so that a bad
generator value or option fails at once, named by its key; ``load_study`` reads a TOML study
file and checks it. Errors name the key and the value."""

from __future__ import annotations

import os

from ..errors import InvalidInputError
from ._common import _canonical, _path
from .adapters import ADAPTERS
from .study import Study, study_from_toml
from .tasks import effective_options


def load_study(path: str | os.PathLike) -> Study:
    """Read a TOML study file and check it, generators and method options included (``check_study``).

    The file goes through ``_jsonfile.read_bytes`` (a regular, readable file of at most 2 GiB)
    and must be UTF-8 text."""
    from .._jsonfile import read_bytes

    try:
        text = read_bytes(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    study = study_from_toml(text, str(path))
    check_study(study)
    return study


def check_study(study: Study) -> None:
    """Check what the structure cannot show, by building tiny instances (size 2) and checking every
    method's options on one (``DomainAdapter.check_options``): generator values (a family, a
    window, a range) and method options. Errors name the key and value."""
    for i, e in enumerate(study.experiments):
        where = f"experiment[{i}]"
        domain = ADAPTERS[e.domain]
        seen, tiny = set(), None
        for config in e.configurations():
            probe = {**config, domain.size_key: 2}
            if _canonical(probe) in seen:
                continue
            seen.add(_canonical(probe))
            if domain.check_configuration is not None:
                try:
                    domain.check_configuration(config)
                except InvalidInputError as exc:
                    raise InvalidInputError(_path(where, exc.path), exc.reason) from None
            try:
                inst = domain.make_instance(probe, 0)
            except InvalidInputError as exc:
                key = exc.path if exc.path in config else None
                if key is None:   # a field of the generated instance, e.g. edges.speed[0]
                    reason = f"{exc.path}: {exc.reason}" if exc.path else exc.reason
                    raise InvalidInputError(f"{where}.params", reason) from None
                loc = f"grid.{key}[{e.grid[key].index(config[key])}]" if key in e.grid else f"params.{key}"
                raise InvalidInputError(f"{where}.{loc}", exc.reason) from None
            except (TypeError, ValueError, ArithmeticError, LookupError) as exc:   # a value the kinds let through
                raise InvalidInputError(f"{where}.params", f"the generator cannot use {probe!r} ({exc})") from None
            if tiny is None:
                tiny = inst
        for j, m in enumerate(e.methods):
            options = effective_options(e.domain, m, study.limits, method_seed=0)
            try:
                domain.check_options(tiny, m.method, options)
            except InvalidInputError as exc:
                key = f".options.{exc.path}" if exc.path in m.options else ".options"
                raise InvalidInputError(f"{where}.methods[{j}]{key}", exc.reason) from None
