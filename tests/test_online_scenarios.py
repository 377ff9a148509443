"""The named online scenarios: the default one is calibrated so that the dispatch decision matters."""

from __future__ import annotations

import numpy as np
import pytest

from j3o_fast import InvalidInputError
from j3o_fast.coinference.online import SCENARIOS, generate_trace, run_episode, scenario


def test_default_scenario_makes_the_decision_matter():
    """Every-slot keeps the GPU at least half busy; the best fixed threshold lies strictly inside (0, 1)."""
    traces = [generate_trace(scenario("default"), seed=100 + s) for s in range(3)]
    assert scenario("default").bursty
    table = {}
    for theta in np.linspace(0.0, 1.0, 11):
        results = [run_episode(t, float(theta)) for t in traces]
        tasks = sum(r.tasks for r in results)
        table[float(theta)] = (sum(r.violations for r in results), sum(r.energy_j for r in results) / tasks,
                               float(np.mean([r.gpu_busy_fraction for r in results])))
    assert table[1.0][2] >= 0.5
    best = min(table, key=lambda th: table[th][:2])
    assert 0.0 < best < 1.0
    assert table[best][1] < 0.9 * min(table[0.0][1], table[1.0][1])


def test_every_named_scenario_generates():
    for name, sc in SCENARIOS.items():
        trace = generate_trace(sc, seed=0)
        assert trace.n_tasks > 0, name


def test_unknown_scenario():
    with pytest.raises(InvalidInputError, match="scenario"):
        scenario("rush-hour")
