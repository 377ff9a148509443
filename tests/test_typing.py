"""The public API is typed: mypy passes on it (pyproject's [tool.mypy]), and every exported function
and public method has annotations for its parameters and its return."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: The command CI's typing check runs (from the repository root): python -m mypy <these files>.
MYPY_TARGETS = ("j3o_fast/__init__.py", "j3o_fast/placement/__init__.py", "j3o_fast/coinference/__init__.py",
                "j3o_fast/sweep/__init__.py", "j3o_fast/result.py", "j3o_fast/errors.py")

PUBLIC_MODULES = ("j3o_fast", "j3o_fast.placement", "j3o_fast.coinference", "j3o_fast.coinference.online",
                  "j3o_fast.sweep")


def test_mypy_passes_on_the_public_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api = pytest.importorskip("mypy.api")
    monkeypatch.chdir(ROOT)   # pyproject.toml's [tool.mypy] and the relative targets
    # In-process mypy takes its search path from sys.path; pytest has put the checkout (and
    # tests/) there, which would make mypy take the package for an installed one and silence
    # every module it follows. Search as the command line does.
    here = {ROOT, ROOT / "tests"}
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p and Path(p).resolve() not in here])
    stdout, stderr, status = api.run(["--cache-dir", str(tmp_path / "mypy_cache"), *MYPY_TARGETS])
    assert status == 0, f"mypy exited with {status}:\n{stdout}\n{stderr}"


def _missing_annotations(func: Callable[..., Any], where: str) -> list[str]:
    func = inspect.unwrap(func)
    annotations = getattr(func, "__annotations__", {})
    missing = [f"{where}({name})" for name in inspect.signature(func).parameters
               if name not in ("self", "cls") and name not in annotations]
    if "return" not in annotations:
        missing.append(f"{where} -> ?")
    return missing


def _public_callables() -> list[tuple[str, Callable[..., Any]]]:
    found = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            where = f"{module_name}.{name}"
            if inspect.isclass(obj) and obj.__module__.startswith("j3o_fast"):
                for attr_name, attr in vars(obj).items():
                    if attr_name.startswith("_") and attr_name not in ("__init__", "__call__"):
                        continue
                    if attr_name == "__init__" and dataclasses.is_dataclass(obj):
                        continue   # generated from the annotated fields
                    if isinstance(attr, (staticmethod, classmethod)):
                        attr = attr.__func__
                    elif isinstance(attr, property):
                        attr = attr.fget
                    if inspect.isfunction(attr):
                        found.append((f"{where}.{attr_name}", attr))
            elif inspect.isfunction(inspect.unwrap(obj)):
                found.append((where, obj))
    return found


def test_every_public_function_and_method_is_annotated() -> None:
    missing = [m for where, func in _public_callables() for m in _missing_annotations(func, where)]
    assert not missing, "not annotated: " + ", ".join(missing)


@pytest.mark.parametrize("module", ["j3o_fast.placement._greedy", "j3o_fast.coinference._og"])
def test_binding_stubs_match_the_compiled_modules(module: str) -> None:
    """The .pyi stub mypy reads for a compiled binding names what the extension module defines:
    the same functions with the same parameters, and the same constants."""
    import ast

    compiled = importlib.import_module(module)
    stub = ast.parse((ROOT / (module.replace(".", "/") + ".pyi")).read_text())
    functions = {node.name: [a.arg for a in node.args.args] for node in stub.body if isinstance(node, ast.FunctionDef)}
    constants = {node.target.id for node in stub.body
                 if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)}
    defined = {name for name, value in vars(compiled).items()
               if not name.startswith("_") and getattr(value, "__module__", module) == module
               and not inspect.ismodule(value)}
    assert set(functions) | constants == defined
    for name, params in functions.items():
        assert params == list(inspect.signature(getattr(compiled, name)).parameters), name
