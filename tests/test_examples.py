"""The examples run as documented (small sizes), so that what a reader copies works."""

import csv
import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_warm_replanning_writes_its_table_and_plot(tmp_path):
    pytest.importorskip("matplotlib")
    example = load("warm_replanning")
    png, table = tmp_path / "day.png", tmp_path / "day.csv"
    rows = example.main([str(png), "--csv", str(table), "--clients", "20", "--edges", "2", "--steps", "3",
                         "--max-changes", "4"])
    with open(table, newline="") as f:
        written = list(csv.DictReader(f))
    assert [int(r["step"]) for r in written] == [1, 2, 3] == [r["step"] for r in rows]
    assert all(int(r["model_changes"]) <= 4 and 0 < float(r["A_warm"]) <= 1 for r in written)
    assert png.read_bytes().startswith(b"\x89PNG")
    assert not list(tmp_path.glob("*.tmp-*"))                 # written in place by rename, nothing left over
