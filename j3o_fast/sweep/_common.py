"""Small helpers shared by the sweep modules: dotted key paths for error messages, canonical
JSON of a value (the text that task keys and seeds are hashed from), list-to-tuple freezing and
number checks that reject booleans and non-finite values."""

from __future__ import annotations

import json
from typing import Mapping

import numpy as np

from .._validate import is_finite


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
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and is_finite(v)
