"""Input checks that name what they refuse: arrays by the JSON path of their first bad entry
(``clients.rate[17][2]``), solver options by name.

Solver options are declared once per solver with ``check_options`` and rule objects (``Real``,
``Int``, ``Threads``, ``Bool``, ``OneOf``, ``Seed``), like scikit-learn's ``_parameter_constraints``: the
decorator checks the keyword options a call passes before the body runs, hands the body the
converted values (a float for ``Real``, an int for ``Int`` and ``Seed``) and records the rules
on the function as ``option_rules``, where a meta-test finds them.
"""

from __future__ import annotations

import functools
import inspect
import math
from types import MappingProxyType
from typing import Any, Callable, TypeVar, cast

import numpy as np

from .errors import InvalidInputError


def index_path(path: str, index: tuple) -> str:
    return path + "".join(f"[{int(i)}]" for i in index)


def _first_bad(bad: np.ndarray):
    return tuple(int(i) for i in np.argwhere(bad)[0])


def as_float_array(value, path: str, shape: tuple, *, allow_nan: bool = False) -> np.ndarray:
    """A read-only C-contiguous float64 copy of ``value`` with the given shape, all finite."""
    try:
        arr = np.array(value, dtype=np.float64, order="C")
    except (TypeError, ValueError):
        raise InvalidInputError(path, f"must be numeric, got {value!r}") from None
    if arr.shape != tuple(shape):
        raise InvalidInputError(path, f"must have shape {tuple(shape)}, got {arr.shape}")
    bad = ~np.isfinite(arr)
    if allow_nan:
        bad &= ~np.isnan(arr)
    if bad.any():
        idx = _first_bad(bad)
        raise InvalidInputError(index_path(path, idx), f"must be finite, got {arr[idx]}")
    arr.setflags(write=False)
    return arr


def as_int_array(value, path: str, shape: tuple) -> np.ndarray:
    """A read-only C-contiguous int64 copy of ``value``; floats must be whole numbers."""
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError):
        raise InvalidInputError(path, f"must be integer, got {value!r}") from None
    if raw.shape != tuple(shape):
        raise InvalidInputError(path, f"must have shape {tuple(shape)}, got {raw.shape}")
    if raw.dtype == bool or not (np.issubdtype(raw.dtype, np.integer) or np.issubdtype(raw.dtype, np.floating)):
        raise InvalidInputError(path, f"must be integer, got dtype {raw.dtype}")
    if np.issubdtype(raw.dtype, np.floating):
        bad = ~np.isfinite(raw) | (raw != np.round(raw))
        if bad.any():
            idx = _first_bad(bad)
            raise InvalidInputError(index_path(path, idx), f"must be an integer, got {raw[idx]}")
    arr = np.array(raw, dtype=np.int64, order="C")
    arr.setflags(write=False)
    return arr


def require(arr: np.ndarray, ok: np.ndarray, path: str, rule: str) -> None:
    """Raise for the first entry of ``arr`` where ``ok`` is False, e.g. 'must be > 0, got -1.0'."""
    bad = ~np.asarray(ok)
    if bad.any():
        idx = _first_bad(bad) if bad.ndim else ()
        raise InvalidInputError(index_path(path, idx), f"{rule}, got {arr[idx]}")


def positive(arr, path):
    require(arr, arr > 0, path, "must be > 0")


def nonnegative(arr, path):
    require(arr, arr >= 0, path, "must be >= 0")


def unit_interval(arr, path):
    require(arr, (arr >= 0) & (arr <= 1), path, "must be in [0, 1]")


def readonly(arr, dtype=None) -> np.ndarray:
    """A C-contiguous read-only view or copy of ``arr`` (for the frozen data of the package)."""
    arr = np.ascontiguousarray(arr, dtype=dtype)
    arr.setflags(write=False)
    return arr


def real_option(value, name: str, *, low: float = -np.inf, high: float = np.inf, low_open: bool = False,
                high_open: bool = False, allow_none: bool = False, unit: str = ""):
    """``value`` as a float in the interval [low, high] (ends open as asked), or None if allowed.

    A solver option: booleans, strings, NaN, infinities and integers too large for a float are
    refused with the option's name and the interval, e.g. ``tol: must be a finite number in
    [0, inf], got 'x'``.
    """
    if value is None and allow_none:
        return None
    ok = not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.integer, np.floating))
    if ok:
        try:
            x = float(value)
        except OverflowError:
            ok = False
        else:
            ok = bool(np.isfinite(x)) and (x > low if low_open else x >= low) and (x < high if high_open else x <= high)
    if not ok:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        extra = f" ({unit})" if unit else ""
        raise InvalidInputError(name, f"must be a finite number in {interval}{extra}"
                                      f"{' or None' if allow_none else ''}, got {value!r}")
    return x


def int_option(value, name: str, *, low: int = 0, allow_none: bool = False):
    """``value`` as an int >= ``low`` (or None if allowed); booleans and non-integers are refused."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < low:
        raise InvalidInputError(name, f"must be an integer >= {low}{' or None' if allow_none else ''}, got {value!r}")
    return int(value)


def bool_option(value, name: str) -> bool:
    """``value`` must be True or False (not 0, 1 or a string, which would read as a flag)."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidInputError(name, f"must be True or False, got {value!r}")
    return bool(value)


def is_finite(value) -> bool:
    """``math.isfinite`` that answers False, not OverflowError, for integers beyond float64."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def one_or_many(value, kinds, name: str, what: str) -> list:
    """``value``, one instance of ``kinds`` or an iterable of them (not empty), as a list;
    otherwise InvalidInputError naming ``name`` or the bad item ``name[i]``. ``what`` describes
    an item, e.g. "an OnlineTrace"."""
    if isinstance(value, kinds):
        return [value]
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise InvalidInputError(name, f"must be {what} or a list of them, got {type(value).__name__}")
    items = list(value)
    if not items:
        raise InvalidInputError(name, "must hold at least one, got []")
    for i, item in enumerate(items):
        if not isinstance(item, kinds):
            raise InvalidInputError(f"{name}[{i}]", f"must be {what}, got {type(item).__name__}")
    return items


# ---- declared option rules -------------------------------------------------------------------

class Rule:
    """One option's rule: ``rule(value, name)`` returns the checked value or raises
    InvalidInputError naming ``name``. ``bad_values()`` lists values the rule refuses (a wrong
    type, out of range, NaN), for the meta-test over every solver."""

    def __call__(self, value, name: str):
        raise NotImplementedError

    def bad_values(self) -> tuple:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Real(Rule):
    """A finite number in [low, high] (either end open as asked), or None when ``allow_none``.

    >>> Real(0.0, low_open=True, unit="seconds")(2, "time_limit")
    2.0
    >>> Real(0.0, 1.0)(1.5, "damping")
    Traceback (most recent call last):
    ...
    j3o_fast.errors.InvalidInputError: damping: must be a finite number in [0, 1], got 1.5
    """

    def __init__(self, low: float = -np.inf, high: float = np.inf, *, low_open: bool = False,
                 high_open: bool = False, allow_none: bool = False, unit: str = ""):
        self.low, self.high = float(low), float(high)
        self.low_open, self.high_open = bool(low_open), bool(high_open)
        self.allow_none, self.unit = bool(allow_none), unit

    def __call__(self, value, name: str):
        return real_option(value, name, low=self.low, high=self.high, low_open=self.low_open,
                           high_open=self.high_open, allow_none=self.allow_none, unit=self.unit)

    def bad_values(self) -> tuple:
        bad = ["1.0", True, float("nan"), float("inf"), [1.0]]
        if not self.allow_none:
            bad.append(None)
        if np.isfinite(self.low):
            bad.append(self.low if self.low_open else self.low - 1.0)
        if np.isfinite(self.high):
            bad.append(self.high if self.high_open else self.high + 1.0)
        return tuple(bad)


class Int(Rule):
    """An integer in [low, high] (high None: no upper end), or None when ``allow_none``;
    booleans and whole floats are refused (``2.0`` is not an iteration count).

    >>> Int(1)(np.int64(3), "max_iter")
    3
    """

    def __init__(self, low: int = 0, high: int | None = None, *, allow_none: bool = False):
        self.low, self.high, self.allow_none = int(low), None if high is None else int(high), bool(allow_none)

    def __call__(self, value, name: str):
        if value is None and self.allow_none:
            return None
        if (isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < self.low
                or (self.high is not None and value > self.high)):
            top = "" if self.high is None else f" and <= {self.high}"
            raise InvalidInputError(name, f"must be an integer >= {self.low}{top}"
                                          f"{' or None' if self.allow_none else ''}, got {value!r}")
        return int(value)

    def bad_values(self) -> tuple:
        bad = [1.5, float("nan"), "1", True, self.low - 1]
        if self.high is not None:
            bad.append(self.high + 1)
        if not self.allow_none:
            bad.append(None)
        return tuple(bad)


class Threads(Int):
    """Worker threads of one solve: an integer >= 1, or None for every usable core (the rule of
    ``_threads.resolve_threads``, which turns the value into a count)."""

    def __init__(self):
        super().__init__(1, allow_none=True)

    def __call__(self, value, name: str):
        if value is not None and (isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer))
                                  or value < 1):
            raise InvalidInputError(name, f"must be an integer >= 1 or None (every core), got {value!r}")
        return None if value is None else int(value)

    def __repr__(self) -> str:
        return "Threads()"


class Bool(Rule):
    """True or False (not 0, 1 or a string, which would read as a flag)."""

    def __call__(self, value, name: str):
        return bool_option(value, name)

    def bad_values(self) -> tuple:
        return (1, 0, "yes", None, float("nan"))


class OneOf(Rule):
    """One of the given strings.

    >>> OneOf("dual", "subgradient")("newton", "price_update")
    Traceback (most recent call last):
    ...
    j3o_fast.errors.InvalidInputError: price_update: must be one of dual, subgradient, got 'newton'
    """

    def __init__(self, *choices: str):
        self.choices = tuple(choices)

    def __call__(self, value, name: str):
        if not isinstance(value, str) or value not in self.choices:
            raise InvalidInputError(name, f"must be one of {', '.join(self.choices)}, got {value!r}")
        return value

    def bad_values(self) -> tuple:
        return ("no-such-choice", 1, None, float("nan"))


class Seed(Rule):
    """A seed: an integer >= 0 (``numpy.random.default_rng`` accepts it on every platform)."""

    def __call__(self, value, name: str):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
            raise InvalidInputError(name, f"must be an integer >= 0 (a seed), got {value!r}")
        return int(value)

    def bad_values(self) -> tuple:
        return (-1, 1.5, "0", True, None, float("nan"))


_F = TypeVar("_F", bound=Callable[..., Any])


def check_options(**rules: Rule) -> Callable[[_F], _F]:
    """Declare the checks of a solver's keyword options, once, by name.

    The decorated function checks every option a call passes against its rule before the body
    runs (defaults are not checked: they are the solver's own) and passes on the converted
    value; the rules stay on the function as ``option_rules`` (read-only). Every ruled option
    must be a keyword-only parameter of the function.

    >>> @check_options(tol=Real(0.0), seed=Seed())
    ... def solve_demo(instance, *, tol=1e-6, seed=0):
    ...     return tol, seed
    >>> solve_demo(None, tol=1, seed=np.int64(2))
    (1.0, 2)
    >>> sorted(solve_demo.option_rules)
    ['seed', 'tol']
    >>> solve_demo(None, tol=float("nan"))
    Traceback (most recent call last):
    ...
    j3o_fast.errors.InvalidInputError: tol: must be a finite number in [0, inf], got nan
    """
    for name, rule in rules.items():
        if not isinstance(rule, Rule):
            raise TypeError(f"check_options: the rule of {name!r} must be a Rule, got {rule!r}")

    def decorate(func: _F) -> _F:
        params = inspect.signature(func).parameters
        for name in rules:
            if name not in params or params[name].kind is not inspect.Parameter.KEYWORD_ONLY:
                raise TypeError(f"check_options: {func.__qualname__} has no keyword-only option {name!r}")

        @functools.wraps(func)
        def checked(*args: Any, **options: Any) -> Any:
            for name in rules.keys() & options.keys():
                options[name] = rules[name](options[name], name)
            return func(*args, **options)

        checked.option_rules = MappingProxyType(dict(rules))  # type: ignore[attr-defined]  # a function attribute
        return cast(_F, checked)   # same signature as func: the options are checked, then passed on

    return decorate
