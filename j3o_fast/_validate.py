"""Array checks that name the first offending entry by its JSON path, e.g. ``clients.rate[17][2]``."""

from __future__ import annotations

import math

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
    [0, inf), got 'x'``.
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
