"""Fuzz the solvers' Python API: every method of both registries called with a hostile value for one
of its options (or an unknown option) either refuses it with InvalidInputError naming the option,
or returns a result that the independent verifier accepts. Never another exception."""

import contextlib
import inspect
import io

import numpy as np
import pytest
from coinference_cases import tiny
from hypothesis import given, settings
from hypothesis import strategies as st

from j3o_fast.coinference import generate as generate_coinference
from j3o_fast.coinference import plan_verdict
from j3o_fast.coinference import solve as solve_coinference
from j3o_fast.coinference.solve import METHODS as COINFERENCE_METHODS
from j3o_fast.errors import InvalidInputError
from j3o_fast.placement import generate as generate_placement
from j3o_fast.placement import solve as solve_placement
from j3o_fast.placement import verify
from j3o_fast.placement.solve import METHODS as PLACEMENT_METHODS
from j3o_fast.placement.solve import option_target

PLACEMENT = generate_placement("nyu", 6, 1, seed=0, window=0.05)
COINFERENCE = generate_coinference("mobilenetv2", 4, seed=0)
TINY = tiny(np.random.default_rng(0), 3, 3, alpha=True)   # within the exhaustive oracle's limits

HOSTILE = st.one_of(
    st.none(), st.booleans(), st.text(max_size=5), st.lists(st.integers(), max_size=2),
    st.integers(min_value=-10**400, max_value=10**400),
    st.sampled_from([-1, 0, 1, 2, 10**18, 10**400, -10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1e-300, 0.5, 1.0, 1e300, float("nan"), float("inf"), -0.0]),
)


def _placement_options(method: str) -> list:
    names = [p for p in inspect.signature(option_target(method)).parameters][1:]
    return [n for n in names if n != "verbose"] + ["not_an_option"]   # verbose=True prints HiGHS' log


COINFERENCE_OPTIONS = ["gpu_free_s", "variant", "time_grid_s", "deadline", "not_an_option"]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_placement_options(data):
    method = data.draw(st.sampled_from(sorted(PLACEMENT_METHODS)))
    name = data.draw(st.sampled_from(_placement_options(method)))
    value = data.draw(HOSTILE)
    if name == "time_limit" and isinstance(value, (int, float)) and not isinstance(value, bool) and value < 1:
        value = None if value != value else value   # keep the draw, but no sub-second cut of the MIP
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            result = solve_placement(PLACEMENT, method, **{name: value})
    except InvalidInputError as exc:
        assert exc.path in (name, "options", "instance"), (method, name, value, str(exc))
        return
    assert verify(PLACEMENT, result.decision).ok, (method, name, value)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_coinference_options(data):
    method = data.draw(st.sampled_from(sorted(COINFERENCE_METHODS)))
    name = data.draw(st.sampled_from(COINFERENCE_OPTIONS))
    value = data.draw(HOSTILE)
    inst = TINY if method == "oracle" else COINFERENCE
    try:
        result = solve_coinference(inst, method, **{name: value})
    except InvalidInputError as exc:
        assert exc.path in (name, "options", f"--{name}") or name in str(exc), (method, name, value, str(exc))
        return
    gpu_free = value if name == "gpu_free_s" else 0.0
    from j3o_fast.coinference import verify as verify_coinference

    report = verify_coinference(inst, result.decision, gpu_free_s=gpu_free)
    assert report.ok or plan_verdict(inst, result.decision).accepted, (method, name, value)


@pytest.mark.parametrize("method", [None, 1, ["og"], "OG ", ""])
def test_method_names_that_are_not_methods(method):
    with pytest.raises(InvalidInputError, match="method: must be one of"):
        solve_placement(PLACEMENT, method)
    with pytest.raises(InvalidInputError, match="method: must be one of"):
        solve_coinference(COINFERENCE, method)
