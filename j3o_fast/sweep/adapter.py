"""What a problem domain offers the study tools: the ``DomainAdapter``.

The study checks, the tasks, the workers, the result table and the report ask a domain's adapter
for everything that differs between domains: its generator and parameters, its methods and
their options, how a result is verified and becomes a row, the exact reference, and the
report's metrics and plots. The adapters are registered in ``sweep.adapters`` (``ADAPTERS``).
An adapter imports its solvers inside its functions, so that reading a study imports none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..errors import InvalidInputError

#: The kinds of value a generator parameter takes (``DomainAdapter.parameters``).
KINDS = ("str", "int", "real", "list")


@dataclass(frozen=True)
class PlotSpec:
    """One figure of the report per experiment: the median (and the worst, if ``worst``) of
    ``column`` against the instance size, per method, written to ``<experiment>-<stem>.png``."""

    column: str
    ylabel: str
    stem: str
    log_y: bool = False
    worst: bool = True


@dataclass(frozen=True, kw_only=True)
class DomainAdapter:
    """One domain of the sweep, as the study tools see it.

    Instances: ``make_instance(params, seed)`` draws the seeded instance of a configuration;
    ``parameters()`` maps every generator parameter to its kind (one of ``KINDS``), in the
    order error messages list them; ``generator_key`` names the generator (a family, a
    profile, a scenario) and ``size_key`` the instance size, both required in an experiment;
    ``nullable`` parameters may be None, ``exclusive`` pairs may not both be given,
    ``max_counts`` bound integer parameters (a typo must not allocate gigabytes) and
    ``check_configuration(config)`` refuses a configuration before anything is drawn.

    Methods: ``methods()`` names them; ``run_method(instance, method, options)`` runs one;
    ``check_options(instance, method, options)`` raises InvalidInputError for a bad option
    (path: the option, or "options") and nothing else; the runner passes the study's limits
    (``time_limit``, ``mip_rel_gap``) to ``limited`` methods, ``threads=1`` to ``threaded``
    ones and the replicate's method seed to ``seeded`` ones; ``warm_up`` says a worker may
    solve a 2-sized instance once per method, untimed, before its first task.

    Results: ``outcome(instance, result)`` gives the row's outcome columns, the verdict of the
    independent verifier (``verified``, ``violations``) included; rows of ``exact`` are the
    reference of every row of the instance (``sense`` "max" or "min" says which way is better;
    rows with status "bound" and the exact solver's ``upper_bound`` of a maximisation bound
    the optimum where the exact solver proved none).

    Report: ``report_columns`` must be in a table with rows of the domain; ``summary(rows)``
    gives the metrics of one group of successful rows, ``optional_summary`` metrics are left
    out when no group has a value, ``extra_tables(rows, facets, size, label)`` adds
    [(subtitle, DataFrame, sort keys)]; ``plots`` are drawn against the size (log-scaled when
    ``log_sizes``) unless ``write_plots(plt, experiment, rows, facets, folder, save)`` draws
    the domain's own figures.
    """

    name: str
    generator_key: str
    size_key: str
    max_size: int
    parameters: Callable[[], Mapping[str, str]]
    make_instance: Callable[[Mapping, int], Any]
    methods: Callable[[], tuple]
    run_method: Callable[[Any, str, Mapping], Any]
    check_options: Callable[[Any, str, Mapping], None]
    outcome: Callable[[Any, Any], dict]
    summary: Callable[[Any], dict]
    nullable: frozenset = frozenset()
    exclusive: tuple = ()
    max_counts: Mapping[str, int] = field(default_factory=dict)
    check_configuration: Callable[[Mapping], None] | None = None
    limited: frozenset = frozenset()
    threaded: frozenset = frozenset()
    seeded: frozenset = frozenset()
    warm_up: bool = True
    exact: str | None = None
    sense: str = "max"
    report_columns: tuple = ()
    optional_summary: tuple = ()
    extra_tables: Callable | None = None
    plots: tuple = ()
    log_sizes: bool = False
    write_plots: Callable | None = None


def solver_columns(result) -> dict:
    """A ``SolveResult`` as row columns (objective, status, bound, runtime, ...); the row's
    ``method`` is the study's label, so the solver's own name is left out."""
    return {k: v for k, v in result.to_dict().items() if k != "method"}


def check_by_running(run_method: Callable) -> Callable:
    """``check_options`` for a domain whose solvers check their own options: run the method on
    the tiny instance and pass on complaints about an option only. Any other complaint is about
    the tiny instance (e.g. j3o-unaware without a batching window); the real tasks record it if
    it applies to them."""

    def check(instance, method: str, options: Mapping) -> None:
        try:
            run_method(instance, method, options)
        except InvalidInputError as exc:
            if exc.path == "options" or exc.path in options:
                raise

    return check
