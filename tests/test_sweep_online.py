"""The online domain of the sweep: replicates of disjoint training and evaluation traces, policies
as methods (agents trained inside the tasks), verified rows, the same numbers on any worker count,
option checks before any training, and the report's tables and plots."""

import json

import numpy as np
import pytest

from j3o_fast import sweep
from j3o_fast.coinference.online import Scenario, best_threshold, generate_trace, run_episode, scenario
from j3o_fast.errors import InvalidInputError
from j3o_fast.report import format_tables, summarise, write_plots
from j3o_fast.sweep import Experiment, Method, Study
from j3o_fast.sweep.online import make_online_instance, run_online

PARAMS = {"n_devices": 4, "n_slots": 60, "train_traces": 3, "eval_traces": 2}
DDPG = {"steps": 240, "learning_starts": 100}


def online_study(methods=None, seeds=2, name="online-tiny"):
    methods = methods or (
        Method("every-slot", "every-slot-og", {"planner": "og"}),
        Method("every-slot", "every-slot-ip-ssa", {"planner": "ip-ssa"}),
        Method("threshold", "half", {"x": 0.5}),
        Method("best-threshold", "best-og", {"planner": "og", "grid": [0.0, 0.5, 1.0]}),
        Method("best-threshold", "best-ip-ssa", {"planner": "ip-ssa", "grid": [0.0, 0.5, 1.0]}),
        Method("ddpg", "ddpg-og", {"planner": "og", **DDPG}),
        Method("ddpg", "ddpg-ip-ssa", {"planner": "ip-ssa", **DDPG}),
        Method("clairvoyant"),
    )
    return Study(name, root_seed=3, experiments=(
        Experiment("load", "online", methods=methods, params=PARAMS,
                   grid={"scenario": ("low-load", "high-load")}, seeds=seeds),))


@pytest.fixture(scope="module")
def table():
    return sweep.run_study(online_study(), None, n_jobs=1, progress=False)


def test_every_row_is_verified_and_sums_its_evaluation_episodes(table):
    assert (table["status"] == "feasible").all(), table["error"].tolist()
    assert table["verified"].astype(bool).all(), table["violations"].tolist()
    assert (table["tasks"] > 0).all()
    np.testing.assert_allclose(table["energy_per_task_j"], table["objective"] / table["tasks"], rtol=1e-12)
    np.testing.assert_allclose(table["saving"], 1 - table["objective"] / table["lc_energy_j"], rtol=1e-12)
    # every method of a replicate plays the same evaluation traces: the same tasks, the same all-local energy
    for _, g in table.groupby("instance"):
        assert g["tasks"].nunique() == 1 and g["lc_energy_j"].nunique() == 1
    # DDPG rows carry a learning curve of whole training episodes (60 steps each)
    for curve in table.loc[table["solver"] == "ddpg", "curve"]:
        steps = [point[0] for point in json.loads(curve)]
        assert steps == [60, 120, 180, 240]
    assert (table.loc[table["solver"] != "ddpg", "curve"] == "").all()


def test_rows_equal_an_independent_replay_of_the_replicate(table):
    """The best-threshold row is best_threshold on the training traces, replayed on the evaluation traces."""
    row = table[(table["method"] == "best-og")].iloc[0]
    params = {**PARAMS, "scenario": row["scenario"]}
    inst = make_online_instance(params, int(row["seed"]))
    theta, _ = best_threshold(list(inst.train), planner="og", grid=(0.0, 0.5, 1.0))
    assert row["theta"] == theta
    results = [run_episode(tr, theta, planner="og") for tr in inst.evaluation]
    assert row["objective"] == pytest.approx(sum(r.energy_j for r in results), rel=1e-12)
    assert row["deadline_violations"] == sum(r.violations for r in results)
    assert row["tasks"] == sum(r.tasks for r in results)


def test_replicates_hold_disjoint_training_and_evaluation_traces():
    for seed in range(20):
        inst = make_online_instance({**PARAMS, "scenario": "default", "train_traces": 30, "eval_traces": 10}, seed)
        assert len(set(inst.train_seeds)) == 30 and len(set(inst.eval_seeds)) == 10
        assert not set(inst.train_seeds) & set(inst.eval_seeds)
        assert [tr.name.endswith(f"seed={u}") for tr, u in zip(inst.evaluation, inst.eval_seeds)] == [True] * 10
    # the generator's overrides reach the scenario; rate_scale multiplies every rate of the base
    inst = make_online_instance({**PARAMS, "scenario": "default", "rate_scale": 0.5, "deadline_min_s": 0.03}, 0)
    base = scenario("default")
    assert inst.scenario == Scenario(**{**base.to_dict(), "n_devices": 4, "n_slots": 60, "deadline_min_s": 0.03,
                                        "rate_low_hz": 5.0, "rate_high_hz": 20.0, "rate_hz": 10.0})
    assert inst.evaluation[0].n_slots == 60 and inst.evaluation[0].n_devices == 4
    assert generate_trace(inst.scenario, seed=inst.eval_seeds[0]).n_tasks == inst.evaluation[0].n_tasks


def test_same_numbers_with_two_workers(table):
    parallel = sweep.run_study(online_study(), None, n_jobs=2, progress=False)
    columns = sweep.deterministic_columns(table)
    assert parallel[columns].equals(table[columns])


def test_agents_of_a_replicate_share_its_seed_and_replicates_differ(table):
    ddpg = table[table["solver"] == "ddpg"]
    seeds = {json.loads(o)["seed"] for o in ddpg["options"]}
    assert len(seeds) == 4   # two configurations x two replicates, one seed each, shared by both planners
    for _, g in ddpg.groupby("instance"):
        assert len({json.loads(o)["seed"] for o in g["options"]}) == 1


@pytest.mark.parametrize("method, where", [
    (Method("threshold", options={"x": 1.5}), "experiment[0].methods[0].options.x: must be a number in [0, 1]"),
    (Method("threshold"), "experiment[0].methods[0].options: threshold needs the option x"),
    (Method("ddpg", options={"steps": 0}), "experiment[0].methods[0].options.steps: must be an integer >= 1"),
    (Method("ddpg", options={"planner": "greedy"}), "experiment[0].methods[0].options.planner: must be one of"),
    (Method("best-threshold", options={"grid": []}), "experiment[0].methods[0].options.grid: must be a non-empty"),
    (Method("clairvoyant", options={"planner": "og"}),
     "experiment[0].methods[0].options.planner: is not an option of clairvoyant"),
])
def test_bad_options_fail_before_any_task_runs(method, where):
    with pytest.raises(InvalidInputError) as err:
        sweep.run_study(online_study(methods=(method,)), None, progress=False)
    assert str(err.value).startswith(where), str(err.value)


@pytest.mark.parametrize("params, where", [
    ({"scenario": "rush-hour"}, "experiment[0].params.scenario: must be one of default"),
    ({"scenario": "default", "rate_scale": 1000.0}, "experiment[0].params: rate_low_hz: must be at most 1/slot_s"),
    ({"scenario": "default", "eval_traces": 0}, "experiment[0].params.eval_traces: must be an integer >= 1"),
    ({"scenario": "default", "weather": 1}, "params.weather: unknown online parameter"),
])
def test_bad_parameters_name_the_key(params, where):
    with pytest.raises(InvalidInputError) as err:
        sweep.check_study(Study("s", experiments=(
            Experiment("e", "online", methods=("every-slot",), params={**params, "n_devices": 3}),)))
    assert str(err.value).startswith(where), str(err.value)


def test_online_study_round_trips_through_toml(tmp_path):
    study = online_study()
    assert sweep.study_from_toml(study.to_toml()) == study


def test_report_tables_and_plots(table, tmp_path):
    pytest.importorskip("matplotlib")
    summary = dict(summarise(table))
    main = summary["load (online)"]
    assert set(main["method"]) == set(table["method"])
    row = main[(main["method"] == "best-og") & (main["scenario"] == "high-load")].iloc[0]
    rows = table[(table["method"] == "best-og") & (table["scenario"] == "high-load")]
    assert row["energy_per_task_mj"] == pytest.approx(1e3 * rows["objective"].sum() / rows["tasks"].sum())
    assert row["violations_mean"] == pytest.approx(rows["deadline_violations"].mean())
    gains = summary["load (online): OG against IP-SSA, same policy"]
    assert set(gains["policy"]) == {"every-slot", 'best-threshold {"grid": [0.0, 0.5, 1.0]}',
                                    'ddpg {"learning_starts": 100, "steps": 240}'}
    g = gains[(gains["policy"] == "every-slot") & (gains["scenario"] == "low-load")].iloc[0]
    og = table[(table["method"] == "every-slot-og") & (table["scenario"] == "low-load")]
    ip = table[(table["method"] == "every-slot-ip-ssa") & (table["scenario"] == "low-load")]
    e_og, e_ip = og["objective"].sum() / og["tasks"].sum(), ip["objective"].sum() / ip["tasks"].sum()
    assert g["gain"] == pytest.approx(1 - e_og / e_ip)
    text = format_tables(summarise(table))
    assert "energy_per_task_mj" in text and "gain" in text
    paths = write_plots(table, tmp_path)
    assert sorted(p.name for p in paths) == ["load-energy-per-task.png", "load-learning-curves.png"]
    assert all(p.stat().st_size > 1000 for p in paths)


def test_run_online_refuses_an_unknown_method():
    inst = make_online_instance({**PARAMS, "scenario": "default"}, 0)
    with pytest.raises(InvalidInputError, match="method: must be one of every-slot"):
        run_online(inst, "oracle", {})
