"""Strict JSON reading and atomic writing, shared by every file format of the package."""

from __future__ import annotations

import codecs
import json
import math
import os
import re
import stat
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


#: Files above this size are refused before reading (a 100,000-client instance is ~100 MB).
MAX_FILE_BYTES = 2 * 1024**3
#: Objects and arrays nested deeper than this are refused (every format needs at most 4 levels).
MAX_DEPTH = 64
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        return "file not found"
    if isinstance(exc, PermissionError):
        return "cannot read the file (permission denied)"
    return f"cannot read the file ({exc.strerror or exc})"


def check_regular_file(path: str | os.PathLike, limit: int | None = None) -> int:
    """The size of ``path`` if it is a regular file of at most ``limit`` (default MAX_FILE_BYTES)
    bytes; anything else (missing, a folder, a device such as /dev/zero, a FIFO) is InvalidInputError.

    Only ``stat`` is called: such files are refused without being opened (reading them would
    never end or block).
    """
    name, limit = str(path), MAX_FILE_BYTES if limit is None else limit
    try:
        st = os.stat(path)
    except OSError as exc:
        raise InvalidInputError(name, _os_reason(exc)) from None
    except ValueError as exc:   # e.g. a NUL byte in the path
        raise InvalidInputError(repr(name), f"not a valid path ({exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InvalidInputError(name, "is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise InvalidInputError(name, "is not a regular file (a device, FIFO or socket)")
    if st.st_size > limit:
        raise InvalidInputError(name, f"is {st.st_size} bytes, above the limit of {limit} bytes")
    return st.st_size


def read_bytes(path: str | os.PathLike, limit: int | None = None) -> bytes:
    """The bytes of a regular file of at most ``limit`` (default MAX_FILE_BYTES) bytes; anything else
    is InvalidInputError (``check_regular_file`` first, then at most ``limit`` + 1 bytes are read).
    """
    name, limit = str(path), MAX_FILE_BYTES if limit is None else limit
    check_regular_file(path, limit)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InvalidInputError(name, _os_reason(exc)) from None
    if len(data) > limit:
        raise InvalidInputError(name, f"is above the limit of {limit} bytes")
    return data


def read_json(path: str | os.PathLike) -> dict:
    """Read a JSON object from ``path``; anything but a well-formed object raises InvalidInputError.

    Refused: what ``read_bytes`` refuses, text that is not UTF-8, malformed or truncated JSON,
    a duplicate key in any object (JSON leaves it undefined which value wins), nesting deeper
    than MAX_DEPTH and strings holding a lone surrogate (they cannot be written back as UTF-8).
    NaN and Infinity tokens (which Python's json accepts) are read as floats so that the format's
    validation refuses them with their JSON path, e.g. ``users.deadline_s[1]: must be finite, got nan``.
    """
    name = str(path)
    try:
        text = read_bytes(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(name, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    duplicates = {}

    def pairs_hook(pairs: list) -> dict:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            seen = set()
            key = next(k for k, _ in pairs if k in seen or seen.add(k))
            duplicates[id(obj)] = (obj, key)   # the object is kept, so its id is not reused
        return obj

    try:
        data = json.loads(text, parse_constant=float, object_pairs_hook=pairs_hook)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            name, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise InvalidInputError(name, f"invalid JSON: nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:   # an integer of more than 4300 digits
        raise InvalidInputError(name, f"invalid JSON: {str(exc).split(';')[0]}") from None
    if not isinstance(data, dict):
        raise InvalidInputError(name, f"top level must be a JSON object, got {type(data).__name__}")
    _check_tree(data, "", 0, duplicates, bool(_SURROGATE_ESCAPE.search(text)))
    if duplicates:   # in an object that a later duplicate key replaced
        raise InvalidInputError(name, f"duplicate key {next(iter(duplicates.values()))[1]!r}")
    return data


def _check_tree(value: Any, path: str, depth: int, duplicates: dict, surrogates: bool) -> None:
    """Depth, duplicate keys (objects in ``duplicates``) and, if ``surrogates``, lone surrogates."""
    if depth > MAX_DEPTH:
        raise InvalidInputError(path, f"nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict):
        if id(value) in duplicates:
            raise InvalidInputError(path or "(top level)", f"duplicate key {duplicates[id(value)][1]!r}")
        items = value.items()
    elif isinstance(value, list):
        if not (set(map(type, value)) - {float, int, bool, type(None)}):
            return   # numbers only: the common, large case
        items = enumerate(value)
    else:
        if surrogates and isinstance(value, str):
            _check_text(value, path)
        return
    for key, v in items:
        if isinstance(key, str):
            if surrogates:
                _check_text(key, f"{path}.{key!r}" if path else repr(key))
            sub = f"{path}.{key or repr(key)}" if path else key or repr(key)
        else:
            sub = f"{path}[{key}]"
        _check_tree(v, sub, depth + 1, duplicates, surrogates)


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(path, f"holds a lone surrogate {text[exc.start]!r}, not valid Unicode text: "
                                      f"got {text!r}") from None


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


def check_writable(path: str | os.PathLike, name: str) -> Path:
    """Fail before any work when ``path`` cannot be written (InvalidInputError naming option ``name``).

    Refused: a folder, an existing device or FIFO (an atomic write would replace it), a path
    inside a regular file and a folder without write access. Missing folders are created and a
    temporary file is made in the folder and removed, as ``write_atomic`` will do.
    """
    path = Path(path)
    shown = repr(str(path))
    try:
        is_dir, exists, is_file = path.is_dir(), path.exists(), path.is_file()
    except ValueError as exc:   # e.g. a NUL byte in the path
        raise InvalidInputError(name, f"cannot write {shown} ({exc})") from None
    if is_dir:
        raise InvalidInputError(name, f"must be a file path, got the folder {shown}")
    if exists and not is_file:
        raise InvalidInputError(name, f"must be a regular file path, got {shown} (a device, FIFO or socket)")
    _probe_folder(path.parent, name, f"cannot write {shown}", "a parent is a file, not a folder")
    if path.exists() and not os.access(path, os.W_OK):
        raise InvalidInputError(name, f"cannot write {shown} (permission denied)")
    return path


def check_folder(path: str | os.PathLike, name: str) -> Path:
    """Fail before any work when ``path`` cannot be an output folder: it is created if missing and
    must then be a folder in which a file can be made (InvalidInputError naming option ``name``)."""
    path = Path(path)
    shown = repr(str(path))
    _probe_folder(path, name, f"cannot write in the folder {shown}", "it or a parent is a file",
                  not_a_folder=f"must be a folder, got {shown}")
    return path


def _probe_folder(folder: Path, name: str, cannot: str, parent_is_file: str, not_a_folder: str | None = None) -> None:
    """Create ``folder`` if missing, then make and remove a file in it, as ``write_atomic`` will;
    a failure is InvalidInputError(name, "<cannot> (<why>)") (``not_a_folder`` replaces ``cannot``
    when ``folder`` or a parent is a file)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".check.", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except (FileExistsError, NotADirectoryError):
        raise InvalidInputError(name, f"{not_a_folder or cannot} ({parent_is_file})") from None
    except OSError as exc:
        raise InvalidInputError(name, f"{cannot} ({exc.strerror or exc})") from None
    except ValueError as exc:   # e.g. a NUL byte in the path
        raise InvalidInputError(name, f"{cannot} ({exc})") from None


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
            raise InvalidInputError(f"{prefix}{key or repr(key)}", "unknown key")   # '' is named too
    for key in sorted(required):
        if key not in obj:
            raise InvalidInputError(f"{prefix}{key}", "required key is missing")
    return obj


_NUMBER = (int, float)
_NUMBER_OR_NULL = (int, float, type(None))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def number(value: Any, path: str, *, allow_null: bool = False) -> float:
    """A finite JSON number (or None where null is allowed); an integer beyond float64 is refused."""
    if value is None and allow_null:
        return None
    if not _is_number(value):
        raise InvalidInputError(path, f"must be a number, got {value!r}")
    try:
        x = float(value)
    except OverflowError:
        raise InvalidInputError(path, f"must be a float64 number (below 1.8e308), got {_digits(value)}") from None
    if not math.isfinite(x):
        raise InvalidInputError(path, f"must be finite, got {value!r}")
    return x


INT64 = (-2**63, 2**63 - 1)


def _digits(value: int) -> str:
    """A huge integer shown by its length, not its 400 digits."""
    return str(value) if abs(value) < 10**40 else f"an integer of {len(str(abs(value)))} digits"


def integer(value: Any, path: str) -> int:
    """A JSON integer within int64 (a whole float such as 2.0 is read as 2; booleans are refused)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInputError(path, f"must be an integer, got {value!r}")
    if not INT64[0] <= value <= INT64[1]:
        raise InvalidInputError(path, f"must be a 64-bit integer, got {_digits(value)}")
    return value


def string(value: Any, path: str) -> str:
    """A JSON string that is valid Unicode (a lone surrogate could not be written back as UTF-8)."""
    if not isinstance(value, str):
        raise InvalidInputError(path, f"must be a string, got {value!r}")
    _check_text(value, path)
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
            try:
                return np.array(value, dtype=np.int64)
            except OverflowError:
                pass   # the exact check names the entry beyond int64
        return np.array([integer(v, f"{path}[{i}]") for i, v in enumerate(value)], dtype=np.int64)
    allowed = _NUMBER_OR_NULL if allow_null else _NUMBER
    if all(type(v) in allowed for v in value):
        # Fast path for large files; None becomes NaN. Falls through to the exact check
        # (which names the offending entry) only if something is not finite.
        try:
            out = np.array(value, dtype=np.float64)
        except OverflowError:   # an integer beyond float64: the exact check names it
            out = None
        if out is not None:
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
