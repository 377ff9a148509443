"""Strict JSON reading and atomic writing, shared by every file format of the package."""

from __future__ import annotations

import codecs
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable

import numpy as np

from .errors import InvalidInputError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def read_json(path: str | os.PathLike) -> dict:
    """Read a JSON object from ``path``; a truncated or malformed file raises InvalidInputError.

    NaN and Infinity tokens (which Python's json accepts) are read as floats so that the format's
    validation refuses them with their JSON path, e.g. ``users.deadline_s[1]: must be finite, got nan``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(str(path), "file not found") from None
    except UnicodeDecodeError as exc:
        raise InvalidInputError(str(path), f"not UTF-8 text ({exc.reason})") from None
    try:
        data = json.loads(text, parse_constant=float)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            str(path), f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(data, dict):
        raise InvalidInputError(str(path), f"top level must be a JSON object, got {type(data).__name__}")
    return data


def _default(obj: Any):
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def write_atomic(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(fh)`` on a temporary file in ``path``'s folder, then rename it to ``path``.

    A reader never sees a half-written file, even if the process is killed mid-write; on any
    error the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_json_atomic(data: dict, path: str | os.PathLike, *, indent: int | None = None) -> None:
    """Write ``data`` as JSON to ``path`` atomically (``write_atomic``); NaN and infinities are refused."""
    def write(fh: BinaryIO) -> None:
        text = codecs.getwriter("utf-8")(fh)
        json.dump(data, text, default=_default, indent=indent, allow_nan=False)
        text.write("\n")

    write_atomic(path, write)


def check_header(data: dict, fmt: str, max_version: int) -> None:
    """Refuse another format or a newer version than this reader knows."""
    got = data.get("format")
    if got != fmt:
        raise InvalidInputError("format", f"expected {fmt!r}, got {got!r}")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InvalidInputError("version", f"must be an integer >= 1, got {version!r}")
    if version > max_version:
        raise InvalidInputError(
            "version", f"version {version} is newer than this reader supports ({max_version})"
        )


def check_keys(obj: Any, path: str, required: set[str], optional: set[str] = frozenset()) -> dict:
    """``obj`` must be an object with all ``required`` keys and no key outside required | optional."""
    if not isinstance(obj, dict):
        raise InvalidInputError(path or "(top level)", f"must be an object, got {type(obj).__name__}")
    prefix = f"{path}." if path else ""
    for key in obj:
        if key not in required and key not in optional:
            raise InvalidInputError(f"{prefix}{key}", "unknown key")
    for key in sorted(required):
        if key not in obj:
            raise InvalidInputError(f"{prefix}{key}", "required key is missing")
    return obj


_NUMBER = (int, float)
_NUMBER_OR_NULL = (int, float, type(None))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def number(value: Any, path: str, *, allow_null: bool = False) -> float:
    """A finite JSON number (or None where null is allowed)."""
    if value is None and allow_null:
        return None
    if not _is_number(value):
        raise InvalidInputError(path, f"must be a number, got {value!r}")
    if not math.isfinite(value):
        raise InvalidInputError(path, f"must be finite, got {value!r}")
    return float(value)


def integer(value: Any, path: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInputError(path, f"must be an integer, got {value!r}")
    return value


def string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(path, f"must be a string, got {value!r}")
    return value


def vector(value: Any, path: str, length: int | None = None, *, kind: str = "float",
           allow_null: bool = False) -> np.ndarray:
    """A JSON array of numbers as a 1-D array (NaN stands for null where nulls are allowed)."""
    if not isinstance(value, list):
        raise InvalidInputError(path, f"must be an array, got {type(value).__name__}")
    if length is not None and len(value) != length:
        raise InvalidInputError(path, f"must have {length} entries, got {len(value)}")
    if kind == "int":
        if all(type(v) is int for v in value):
            return np.array(value, dtype=np.int64)
        return np.array([integer(v, f"{path}[{i}]") for i, v in enumerate(value)], dtype=np.int64)
    allowed = _NUMBER_OR_NULL if allow_null else _NUMBER
    if all(type(v) in allowed for v in value):
        # Fast path for large files; None becomes NaN. Falls through to the exact check
        # (which names the offending entry) only if something is not finite.
        out = np.array(value, dtype=np.float64)
        finite = np.isfinite(out)
        if allow_null:
            finite |= np.fromiter((v is None for v in value), dtype=bool, count=len(value))
        if finite.all():
            return out
    out = np.empty(len(value), dtype=np.float64)
    for i, v in enumerate(value):
        x = number(v, f"{path}[{i}]", allow_null=allow_null)
        out[i] = np.nan if x is None else x
    return out


def matrix(value: Any, path: str, rows: int | None, cols: int, *, allow_null: bool = False) -> np.ndarray:
    """A JSON array of equal-length rows of numbers as a 2-D float array (NaN for null)."""
    if not isinstance(value, list):
        raise InvalidInputError(path, f"must be an array, got {type(value).__name__}")
    if rows is not None and len(value) != rows:
        raise InvalidInputError(path, f"must have {rows} rows, got {len(value)}")
    out = np.empty((len(value), cols), dtype=np.float64)
    for i, row in enumerate(value):
        out[i] = vector(row, f"{path}[{i}]", cols, allow_null=allow_null)
    return out
