"""The sweep's layout, read from its source: the modules of ``j3o_fast.sweep`` import each other
without a circle, and only the domain adapters (``sweep/adapters/``) compare anything with a
domain's name; the study tools and the report look domains up in the registry."""

import ast
from pathlib import Path

import pytest

import j3o_fast
from j3o_fast.sweep.adapters import ADAPTERS

PACKAGE = Path(j3o_fast.__file__).parent
SWEEP = PACKAGE / "sweep"
ADAPTERS_DIR = SWEEP / "adapters"
#: Modules outside the sweep package that must not branch on a domain either.
TOOLS = (PACKAGE / "report.py", PACKAGE / "report_online.py")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sweep_modules() -> dict:
    """Module name -> path of every module of the sweep package."""
    return {module_name(p): p for p in sorted(SWEEP.rglob("*.py"))}


def imported_modules(tree: ast.AST, name: str, is_package: bool, known: set) -> set:
    """The modules of ``known`` that ``import`` statements anywhere in ``tree`` (functions too) name."""
    out = set()
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            base = f"{base}.{node.module}" if node.level and node.module else (base if node.level else node.module)
            # "from . import online" names a module; "from .study import Study" names the module study
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        out.update(t for t in targets if t in known and t != name)
    return out


def import_graph() -> dict:
    modules = sweep_modules()
    known = set(modules)
    return {name: imported_modules(ast.parse(path.read_text()), name, path.name == "__init__.py", known)
            for name, path in modules.items()}


def find_cycle(graph: dict) -> list:
    """One import circle of ``graph`` (module -> imported modules) as a list of modules, or []."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def domain_comparisons(source: str, domains) -> list:
    """(line, text) of every comparison or match against a domain's name in ``source``."""
    def names(node) -> set:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return set().union(*(names(e) for e in node.elts)) if node.elts else set()
        return set()

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(names(o) & set(domains) for o in operands):
                found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.MatchValue) and names(node.value) & set(domains):
            found.append((node.lineno, ast.unparse(node.value)))
    return found


# ---------------------------------------------------------------------------------------------
# The checks check: they find what they look for


def test_the_cycle_finder_finds_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_the_import_reader_resolves_relative_imports():
    known = {"j3o_fast.sweep.study", "j3o_fast.sweep.tasks", "j3o_fast.sweep.online", "j3o_fast.sweep.adapters",
             "j3o_fast.sweep.adapters.online"}
    tree = ast.parse("from .. import online\nfrom ..study import Study\n"
                     "def f():\n    from ..tasks import expand\n")
    assert imported_modules(tree, "j3o_fast.sweep.adapters.online", False, known) == {
        "j3o_fast.sweep.online", "j3o_fast.sweep.study", "j3o_fast.sweep.tasks"}
    tree = ast.parse("from . import online\nfrom .adapters import ADAPTERS\nimport j3o_fast.sweep.tasks\n")
    assert imported_modules(tree, "j3o_fast.sweep", True, known) == {
        "j3o_fast.sweep.online", "j3o_fast.sweep.adapters", "j3o_fast.sweep.tasks"}


def test_the_branch_finder_finds_domain_names():
    source = ('if domain == "online":\n    pass\nok = task.domain != "placement"\n'
              'x = d in ("coinference", "other")\nmatch d:\n    case "online":\n        pass\n'
              'y = method == "mip"\n')
    assert [line for line, _ in domain_comparisons(source, ADAPTERS)] == [1, 3, 4, 6]


# ---------------------------------------------------------------------------------------------
# The layout


def test_the_registry_holds_the_three_domains():
    assert list(ADAPTERS) == ["placement", "coinference", "online"]
    assert all(a.name == name for name, a in ADAPTERS.items())


def test_sweep_modules_import_each_other_without_a_circle():
    graph = import_graph()
    assert len(graph) >= 10 and "j3o_fast.sweep.study" in graph
    # the reader really sees the package's imports
    assert "j3o_fast.sweep.study" in graph["j3o_fast.sweep.tasks"]
    assert "j3o_fast.sweep.adapters" in graph["j3o_fast.sweep.study"]
    assert find_cycle(graph) == []
    # study -> tasks -> worker: the description knows neither its tasks nor its workers
    assert not graph["j3o_fast.sweep.study"] & {"j3o_fast.sweep.tasks", "j3o_fast.sweep.worker"}
    assert "j3o_fast.sweep.worker" not in graph["j3o_fast.sweep.tasks"]


@pytest.mark.parametrize("path", [p for p in sorted(SWEEP.rglob("*.py")) if ADAPTERS_DIR not in p.parents]
                         + list(TOOLS), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_adapters_compare_with_a_domain_name(path):
    assert domain_comparisons(path.read_text(), ADAPTERS) == []
