"""Study reports: summary numbers recomputed by hand, the CLI's tables and PNG plots, and tables
without matplotlib."""

import sys

import numpy as np
import pytest

from j3o_fast import report, sweep
from j3o_fast.cli import main
from j3o_fast.sweep import Experiment, Limits, Study

STUDY = Study("rep", root_seed=5, limits=Limits(time_limit_s=60.0), experiments=(
    Experiment("place", "placement", methods=("j3o", "mip", "local-only"), params={"family": "nyu", "n_edges": 1},
               grid={"n_clients": (4, 8), "window": (None, 0.05)}, seeds=3),
    Experiment("coinf", "coinference", methods=("ip-ssa", "og", "lc"), params={"profile": "mobilenetv2"},
               grid={"n_users": (3, 8)}, seeds=3),
))


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("study")
    sweep.run_study(STUDY, folder, progress=False)
    return folder


def test_summary_numbers_match_the_table(out):
    table = report.load_table(out)
    (title_p, place), (title_c, coinf) = report.summarise(table)
    assert title_p == "place (placement)" and title_c == "coinf (coinference)"
    assert list(place.columns[:3]) == ["window", "method", "n_clients"]    # the window varies: a facet
    assert len(place) == 2 * 3 * 2 and (place["n"] == 3).all() and (place["failed"] == 0).all()
    row = place[(place["window"] == "0.05") & (place["method"] == "j3o") & (place["n_clients"] == "8")].iloc[0]
    rows = table[(table["window"] == 0.05) & (table["method"] == "j3o") & (table["n_clients"] == 8)]
    assert row["ratio_median"] == pytest.approx(rows["ratio"].median())
    assert row["ratio_worst"] == pytest.approx(rows["ratio"].min())
    assert row["runtime_ratio_median"] == pytest.approx(rows["runtime_ratio"].median())
    assert (place[place["method"] == "mip"]["ratio_worst"] == 1.0).all()
    assert (place["ratio_worst"] <= 1 + 1e-9).all()
    og = coinf[(coinf["method"] == "og") & (coinf["n_users"] == "8")].iloc[0]
    rows = table[(table["method"] == "og") & (table["n_users"] == 8)]
    assert og["saving_median"] == pytest.approx(np.median(1 - rows["objective"] / rows["lc_energy_j"]))
    assert og["saving_worst"] == pytest.approx(rows["saving"].min())
    assert (coinf[coinf["method"] == "lc"]["saving_median"] == 0).all()


def test_cli_report_prints_tables_and_writes_pngs(out, capsys):
    assert main(["report", str(out)]) == 0
    text = capsys.readouterr().out
    assert "place (placement)" in text and "coinf (coinference)" in text
    assert "ratio_median" in text and "saving_median" in text
    pngs = sorted((out / "plots").glob("*.png"))
    assert [p.name for p in pngs] == ["coinf-energy-saving.png", "place-accuracy-ratio.png", "place-runtime.png"]
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000
        assert f"wrote {p}" in text


def test_report_without_matplotlib_prints_tables_and_says_why(out, capsys, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)   # import matplotlib -> ImportError
    assert main(["report", str(out)]) == 0
    text = capsys.readouterr().out
    assert "place (placement)" in text and "wrote" not in text
    assert report.PLOTS_NEED in text


def test_report_of_a_folder_without_results(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "holds no results.parquet" in capsys.readouterr().err


def test_failed_tasks_are_counted_not_summarised(tmp_path):
    study = Study("f", root_seed=1, experiments=(
        Experiment("e", "placement", methods=("j3o", "j3o-unaware"), params={"family": "nyu", "n_edges": 1},
                   grid={"n_clients": (5,), "window": (None, 0.05)}, seeds=2),))
    sweep.run_study(study, tmp_path, progress=False)
    (_, frame), = report.summarise(report.load_table(tmp_path))
    bad = frame[(frame["method"] == "j3o-unaware") & (frame["window"] == "none")].iloc[0]
    assert bad["failed"] == 2 and np.isnan(bad["runtime_median_s"])
    text = report.format_tables(report.summarise(report.load_table(tmp_path)))
    assert " - " in text   # missing numbers print as '-'
