"""Every registered method of every domain, through the sweep: a verified row (or a bound, or a
refusal of the tiny instance that names its field), and adapters whose tables name only their
own methods and parameters."""

import pytest

from j3o_fast import sweep
from j3o_fast.errors import InvalidInputError
from j3o_fast.sweep import ADAPTERS, Experiment, Method, Study

#: A tiny configuration per domain, and the options a method cannot go without.
TINY = {
    "placement": {"family": "nyu", "n_clients": 3, "n_edges": 1, "window": 0.05},
    "coinference": {"profile": "mobilenetv2", "n_users": 3},
    "online": {"scenario": "default", "n_devices": 2, "n_slots": 30, "train_traces": 1, "eval_traces": 1},
}
NEEDED = {"threshold": {"x": 0.5}, "best-threshold": {"grid": [0.0, 1.0]}, "ddpg": {"steps": 60, "learning_starts": 30}}


def test_every_domain_has_a_tiny_configuration():
    assert set(TINY) == set(ADAPTERS)


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_adapter_tables_name_its_own_methods_and_parameters(name):
    domain = ADAPTERS[name]
    methods = set(domain.methods())
    assert domain.limited <= methods and domain.threaded <= methods and domain.seeded <= methods
    assert domain.exact is None or domain.exact in methods
    params = domain.parameters()
    assert {domain.generator_key, domain.size_key} <= set(params) and params[domain.size_key] == "int"
    assert domain.nullable <= set(params) and set(domain.max_counts) <= set(params)
    assert set(TINY[name]) <= set(params)


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_every_registered_method_gives_a_verified_row(name):
    methods = tuple(Method(m, options=NEEDED.get(m, {})) for m in ADAPTERS[name].methods())
    study = Study("meta", root_seed=1, experiments=(
        Experiment("e", name, methods=methods, params=TINY[name], seeds=1),))
    table = sweep.run_study(study, None, progress=False)
    assert list(table["method"]) == [m.method for m in methods]
    for row in table.to_dict("records"):
        if row["status"] == "error":   # a method that refuses this instance says which field
            assert row["error"].startswith("InvalidInputError: "), row
            continue
        if row["status"] == "bound":   # no decision to verify; a bound is never below the optimum
            assert ADAPTERS[name].sense == "max" and row["objective"] >= row["reference"] - 1e-9, row
            continue
        assert row["verified"] is True, row
    assert (table["status"] != "error").sum() >= len(methods) - 1   # the oracle refuses N = 10 sub-tasks


def test_unknown_domain_is_refused_by_name():
    with pytest.raises(InvalidInputError, match="domain: must be one of placement, coinference, online, got 'x'"):
        sweep.adapter("x")
    with pytest.raises(InvalidInputError, match="domain: must be one of"):
        sweep.make_instance("weather", {}, 0)
