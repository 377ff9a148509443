"""The online domain in studies (docs/coinference, section 7): dispatch policies on arrival traces.

An instance is a replicate of training and evaluation traces of a scenario, a method a policy
that may learn from the training traces and is played on the evaluation ones (``sweep.online``
holds both, and the row's columns). Rows carry their own verdict (every evaluation episode
passes ``plan_verdict`` with its energy); there is no exact method (clairvoyant OG sees the
future but is not optimal). Tasks run for long, so workers do not warm them up. The report's
tables and plots are those of ``report_online``.
"""

from __future__ import annotations

from typing import Mapping

from ...errors import InvalidInputError
from .. import online
from ..adapter import DomainAdapter

#: Devices x slots of a configuration at most: arrivals are drawn per device and slot.
MAX_DEVICE_SLOTS = 10_000_000

_INT = {"n_devices", "n_slots", "max_batch", "train_traces", "eval_traces"}
_STR = {"scenario", "profile"}


def parameters() -> dict:
    return {key: "str" if key in _STR else "int" if key in _INT else "real" for key in online.PARAMS}


def check_configuration(config: Mapping) -> None:
    """n_devices x n_slots within ``MAX_DEVICE_SLOTS``."""
    from ...coinference.online import scenario

    try:
        slots = config.get("n_slots") or scenario(config["scenario"]).n_slots
    except InvalidInputError:
        return   # an unknown scenario is reported by the instance probe
    if config["n_devices"] * slots > MAX_DEVICE_SLOTS:
        raise InvalidInputError("params", f"n_devices x n_slots must be <= {MAX_DEVICE_SLOTS}, got "
                                          f"{config['n_devices']} x {slots}")


def methods() -> tuple:
    return online.METHODS


def check_options(instance, method: str, options: Mapping) -> None:
    """Policies learn: their options are checked without running them."""
    online.check_options(method, options)


def outcome(instance, result: dict) -> dict:
    """``run_online`` already gives the row's columns, verdict included."""
    return dict(result)


def summary(rows) -> dict:
    from ...report_online import online_summary

    return online_summary(rows)


def extra_tables(rows, facets: list, size: str, label) -> list:
    """Each policy with OG against the same policy with IP-SSA, where both ran."""
    from ...report_online import planner_gains

    gains = planner_gains(rows, facets, size, label)
    return [] if gains is None else [("OG against IP-SSA, same policy", gains, facets + [size])]


def write_plots(plt, experiment: str, rows, facets: list, folder, save) -> list:
    from ...report_online import write_online_plots

    return write_online_plots(plt, experiment, rows, facets, folder, save)


ADAPTER = DomainAdapter(
    name="online", generator_key="scenario", size_key="n_devices", max_size=100_000,
    parameters=parameters, nullable=frozenset({"max_batch", "rate_low_hz", "rate_high_hz"}),
    max_counts={"n_slots": 10_000_000, "train_traces": 10_000, "eval_traces": 10_000},
    check_configuration=check_configuration,
    make_instance=online.make_online_instance, methods=methods, run_method=online.run_online,
    check_options=check_options, seeded=frozenset({"ddpg"}), warm_up=False, outcome=outcome,
    report_columns=("instance", "solver", "options", "verified", "saving", "objective") + online.COLUMNS,
    summary=summary, extra_tables=extra_tables, write_plots=write_plots,
)
