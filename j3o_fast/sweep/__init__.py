"""Scalability studies: a study description, its seeded tasks, a resumable parallel runner and one tidy table.

A ``Study`` names one or more experiments. An experiment is a domain ("placement",
"coinference" or "online"), the instance generator's fixed ``params`` and its ``grid`` (every combination of
the listed values is one configuration), ``seeds`` instances per configuration and the methods
to run on each instance. A study is a frozen Python object or a TOML file of the same shape
(``load_study``, ``Study.to_toml``); ``PRESETS`` holds the ready-made ones.

``expand(study)`` turns it into tasks, one per (instance, method). Instance r of a
configuration c draws from the NumPy ``SeedSequence(root_seed, spawn_key=(h1(c), h2(c), r))``,
a child of the one root seed keyed by the configuration's content (h1, h2: two 32-bit words of
its SHA-256): the same configuration gives the same instance in every experiment, order and
grid of the study, and the seeds never depend on which worker runs a task. The first word of
the child's state seeds the generator (recorded as ``seed``, so ``j3o-fast generate ...
--seed S`` rebuilds the instance); the second seeds a stochastic method (the "random" baseline).

``run_study`` runs the tasks with joblib (loky processes by default; Dask through joblib's dask
backend; Ray through ``ray.util.joblib``), in chunks of whole tasks. Every finished chunk is
written at once to ``OUT/chunks/`` (a temporary file renamed into place), so an interrupted run
loses only the chunks in flight and a rerun skips every stored task (matched by a key over
the task's inputs). A task that raises is stored with status "error" and its message; the
study goes on. Inside a task, Numba, OpenMP, BLAS and HiGHS use one thread, whatever the
backend. The table (``OUT/results.parquet``, one row per (instance, method)) has every
parameter, the outcome (objective, bound, status, iterations, runtime, verification) and the
comparison with the best reference on the same instance (``ratio``, ``runtime_ratio``; for
co-inference ``saving`` = 1 - E/E_LC). Every column but the measured times
(``TIMING_COLUMNS``) and the run's bookkeeping (``RUN_COLUMNS``) is the same with 1 worker or
many, on any backend. Solves stopped by a time limit are the exception: where they stop
depends on the machine's speed, so presets give the exact solver sizes it finishes.

Each domain plugs in through one ``DomainAdapter`` (``adapter``), registered in ``ADAPTERS``
(``adapters``: one module per domain, placement, coinference and online): its generator and
parameters, methods and options, verdict, exact reference and report. The tools never branch on
a domain's name.

The modules, one concern each, each importing only modules listed before it: ``online`` (the
online domain's instances and policies), ``adapter`` (what a domain offers), ``adapters`` (the
registry and the domains), ``study`` (the description and its TOML form), ``tasks`` (tasks and
seeds), ``worker`` (what a worker runs), ``check`` (a study checked on tiny instances before it
runs), ``store`` (the output folder), ``table`` (the result table), ``runner`` (``run_study``
and the backends), ``presets``.

>>> study = preset("quick")
>>> len(expand(study)) > 0
True
"""

from .adapter import DomainAdapter
from .adapters import ADAPTERS, DOMAINS, adapter
from .adapters.placement import LP_BOUND
from .check import check_study, load_study
from .presets import PRESETS, coinference_energy, preset
from .runner import BACKENDS, StudyAborted, resolve_jobs, run_study
from .store import ResultStore
from .study import Experiment, Limits, Method, Study, study_from_dict, study_from_toml
from .table import RUN_COLUMNS, TIMING_COLUMNS, assemble, deterministic_columns
from .tasks import Task, effective_options, expand, instance_seeds
from .worker import make_instance, run_chunk, run_method, single_threaded

__all__ = [
    "ADAPTERS", "BACKENDS", "DOMAINS", "DomainAdapter", "Experiment", "LP_BOUND", "Limits", "Method", "PRESETS",
    "RUN_COLUMNS", "ResultStore", "Study", "StudyAborted", "TIMING_COLUMNS", "Task", "adapter", "assemble",
    "check_study", "coinference_energy", "deterministic_columns", "effective_options", "expand", "instance_seeds",
    "load_study", "make_instance", "preset", "resolve_jobs", "run_chunk", "run_method", "run_study",
    "single_threaded", "study_from_dict", "study_from_toml",
]
