"""Storage: ``ResultStore`` keeps a study's output folder, one Parquet file per finished chunk
so that an interrupted run can resume, and the final table as Parquet and CSV next to the
study's TOML. Every file is written to a temporary name, flushed and renamed into place, so a
reader never sees half a file."""

from __future__ import annotations

import os
import uuid
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

from .study import Study

_INTEGER_COLUMNS = ("replicate", "seed", "iterations", "unserved", "n_clients", "n_edges", "n_users", "max_batch",
                    "n_tasks", "n_models")


class ResultStore:
    """A study's output folder: ``chunks/`` (one Parquet file per finished chunk, written to a
    temporary name and renamed), ``study.toml``, ``results.parquet`` and ``results.csv``."""

    def __init__(self, out: str | os.PathLike[str]) -> None:
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
                warnings.warn(f"ignoring unreadable {path} ({exc}); its tasks run again", RuntimeWarning,
                              stacklevel=2)
        return rows

    def write_chunk(self, rows: list[dict], run_id: str) -> Path:
        import pandas as pd

        self._seq += 1
        path = self.chunks / f"chunk-{run_id}-{self._seq:06d}.parquet"
        _write_atomic(lambda tmp: _frame(pd, rows).to_parquet(tmp, index=False), path)
        return path

    def write_table(self, table: pd.DataFrame, study: Study) -> None:
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
