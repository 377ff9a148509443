"""Run the ``>>>`` examples of every j3o_fast module's docstrings.

One test per module that has examples, found with ``pkgutil.walk_packages``. A module whose import needs an
optional extra that is not installed (the ``rl`` extra: torch, gymnasium, stable-baselines3)
is skipped, so the suite runs without torch. Examples run with the module's own globals, as
``python -m doctest`` would, and a failure shows the doctest report (example, expected, got).
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import io
import pkgutil

import pytest

import j3o_fast

#: Top-level packages of optional extras: a module that cannot import them is skipped.
OPTIONAL = {"torch", "gymnasium", "stable_baselines3", "matplotlib", "dask", "distributed", "ray"}

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _has_examples(name: str) -> bool:
    """True if the module's source holds a ``>>>`` prompt (read as text, without importing it)."""
    spec = importlib.util.find_spec(name)
    origin = getattr(spec, "origin", None)
    if not origin or not origin.endswith(".py"):
        return False   # compiled extensions carry no examples
    with open(origin, encoding="utf-8") as f:
        return ">>>" in f.read()


def _module_names() -> list[str]:
    names = [j3o_fast.__name__]
    # onerror: a subpackage that cannot be imported is still listed and skipped in its test
    for info in pkgutil.walk_packages(j3o_fast.__path__, prefix=j3o_fast.__name__ + ".", onerror=lambda name: None):
        names.append(info.name)
    return sorted(n for n in names if _has_examples(n))


MODULES = _module_names()


def _import(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing in OPTIONAL:
            pytest.skip(f"{name} needs the optional package {missing}")
        raise


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = _import(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = [t for t in finder.find(module, name) if t.examples]
    if not tests:
        pytest.skip(f"{name} has no doctest examples")
    out = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in sorted(tests, key=lambda t: t.name):
        runner.run(test, out=out.write)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctest examples failed in {name}:\n{out.getvalue()}"
