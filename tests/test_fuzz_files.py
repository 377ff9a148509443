"""Property-based fuzzing of every file format (issue 14).

Valid files are made with the package's own generators and savers (placement instance and solution,
co-inference instance and plan, online trace), then mutated: values replaced by wrong types, huge,
tiny, negative or non-finite numbers and broken text; keys deleted, added or duplicated; entries
deleted or appended; the text truncated; values nested deeply. The only property: reading the file
(and, when that succeeds, solving with a fast method, verifying and writing the result back) either
raises InvalidInputError naming a field, or works. Any other exception is a bug.

Seeded and bounded for CI (``derandomize=True``, no example database); ``-m slow`` runs many more.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from j3o_fast import _jsonfile as jf
from j3o_fast.coinference import io as cio
from j3o_fast.coinference.online import Scenario, every_slot, generate_trace, load_trace, run_episode, save_trace
from j3o_fast.coinference.profiles import generate as generate_coinference
from j3o_fast.coinference.solve import solve as solve_coinference
from j3o_fast.coinference.verify import plan_verdict
from j3o_fast.errors import InvalidInputError
from j3o_fast.placement import generate as generate_placement
from j3o_fast.placement import io as pio
from j3o_fast.placement.solve import solve as solve_placement
from j3o_fast.placement.verify import verify as verify_placement

FAST = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
DEEP = settings(FAST, max_examples=1500)

HOSTILE = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=4),
    st.sampled_from([0, -1, 1, 2**63, -2**63 - 1, 2**64, 10**400, -10**400, 1e300, -1e300, 1e-300, 5e-324, 1e30,
                     "", "x\ud800", "\udfff", "j3o-fast/placement-instance", [], {}, [[]], [None], {"a": 1}]),
    st.lists(st.one_of(st.integers(-3, 3), st.floats(-2, 2)), max_size=3),
)
NEST = "__nest__"
OPS = ("replace", "scale", "scale", "scale", "delete", "add", "duplicate", "nest", "truncate")


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    """{format: (document, the exercise of a loaded file)} for every format, and the work folder."""
    folder = tmp_path_factory.mktemp("fuzz")
    pinst = generate_placement("nyu", 5, 2, seed=1, window=0.05)
    psol = solve_placement(pinst, "local-only")
    cinst = generate_coinference("mobilenetv2", 5, seed=1, alpha=0.1)
    plan = solve_coinference(cinst, "og")
    trace = generate_trace(Scenario(n_devices=3, n_slots=30, rate_hz=40.0), seed=1)
    pio.save_instance(pinst, folder / "p.json")
    pio.save_solution(psol, folder / "s.json")
    cio.save_instance(cinst, folder / "c.json")
    cio.save_plan(plan, folder / "plan.json")
    save_trace(trace, folder / "t.json")
    out = folder / "out.json"

    def placement_instance(path):
        inst = pio.load_instance(path)
        result = solve_placement(inst, "local-only")
        verify_placement(inst, result.decision, claimed_objective=result.objective)
        pio.save_instance(inst, out)
        pio.save_solution(result, out)

    def placement_solution(path):
        result = pio.load_solution(path, pinst)
        verify_placement(pinst, result.decision, claimed_objective=result.objective)
        pio.save_solution(result, out)

    def coinference_instance(path):
        inst = cio.load_instance(path)
        result = solve_coinference(inst, "og")
        plan_verdict(inst, result.decision)
        cio.save_instance(inst, out)
        cio.save_plan(result, out)

    def coinference_plan(path):
        result = cio.load_plan(path, cinst)
        plan_verdict(cinst, result.decision)
        cio.save_plan(result, out)

    def online_trace(path):
        tr = load_trace(path)
        if tr.n_slots <= 1000 and tr.n_tasks <= 1000:   # an episode per slot: keep the test bounded
            run_episode(tr, every_slot)
        save_trace(tr, out)

    exercises = {"p.json": placement_instance, "s.json": placement_solution, "c.json": coinference_instance,
                 "plan.json": coinference_plan, "t.json": online_trace}
    docs = {name: (json.loads((folder / name).read_text()), run) for name, run in exercises.items()}
    return docs, folder


def _nodes(doc, path=()):
    """Every (path, value) in ``doc``, the document itself first."""
    yield path, doc
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        yield from _nodes(value, path + (key,))


def _parent(doc, path):
    for key in path[:-1]:
        doc = doc[key]
    return doc


def _mutate(draw, doc: dict, ops: tuple) -> tuple[list, dict]:
    """Apply 1-3 mutations of ``ops`` to ``doc`` in place; returns (what was done, text-level edits)."""
    done, text_edits = [], {}
    for _ in range(draw(st.integers(1, 3))):
        nodes = list(_nodes(doc))[1:] or [((), doc)]
        path, value = nodes[draw(st.integers(0, 2**20)) % len(nodes)]   # fixed bounds: replays stay stable
        op = draw(st.sampled_from(ops))
        done.append((op, path))
        if op == "replace" and path:
            _parent(doc, path)[path[-1]] = draw(HOSTILE)
        elif op == "scale" and path and isinstance(value, (int, float)) and not isinstance(value, bool):
            # extreme but well-typed: these reach the solvers more often than a wrong type does
            factor = draw(st.sampled_from([0, -1, 2, 10**6, 1e-300, 1e-12, 1e-6, 1e6, 1e12, 1e300]))
            _parent(doc, path)[path[-1]] = value * factor
        elif op == "delete" and path:
            del _parent(doc, path)[path[-1]]
        elif op == "add":
            container = value if isinstance(value, (dict, list)) else _parent(doc, path) if path else doc
            if isinstance(container, dict):
                container[draw(st.sampled_from(["extra", "version", "name", "format", "seeds", ""]))] = draw(HOSTILE)
            else:
                copy_of = container[draw(st.integers(0, 2**20)) % len(container)] if container else 0
                container.append(draw(HOSTILE) if draw(st.booleans()) else copy.deepcopy(copy_of))
        elif op == "duplicate" and path and isinstance(path[-1], str):
            text_edits["duplicate"] = (path[-1], draw(HOSTILE))
        elif op == "nest" and path:
            _parent(doc, path)[path[-1]] = NEST
            text_edits["nest"] = draw(st.sampled_from([3, 63, 70, 3000]))
        elif op == "truncate":
            text_edits["cut"] = draw(st.floats(0, 1))
    return done, text_edits


def _edit_text(text: str, edits: dict, render=json.dumps, sep=": ") -> str:
    """The text-level mutations: a duplicated key, a deep array in place of NEST, a truncation."""
    if "duplicate" in edits:
        key, value = edits["duplicate"]
        k = json.dumps(key)
        text = text.replace(f"{k}{sep}", f"{k}{sep}{render(value)}, {k}{sep}", 1)
    if "nest" in edits:
        text = text.replace(json.dumps(NEST), "[" * edits["nest"] + "1" + "]" * edits["nest"], 1)
    if "cut" in edits:
        text = text[: int(len(text) * edits["cut"])]
    return text


@st.composite
def mutations(draw, doc):
    """(JSON text of a mutated copy of ``doc``, a description of the mutations)."""
    doc = copy.deepcopy(doc)
    done, edits = _mutate(draw, doc, OPS)
    return _edit_text(json.dumps(doc, ensure_ascii=draw(st.booleans())), edits), done


def _refused_naming_a_field(exc: InvalidInputError, done) -> None:
    """A refusal must name a field and fit on one line."""
    event("refused")
    assert exc.path, f"no field named: {exc!r} after {done}"
    assert "\n" not in str(exc), str(exc)


def _check(valid, name, data):
    docs, folder = valid
    doc, run = docs[name]
    text, done = data.draw(mutations(doc), label="mutation")
    path = folder / f"fuzz-{name}"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))   # a lone surrogate becomes invalid UTF-8
    try:
        run(path)
        event("works")
    except InvalidInputError as exc:
        _refused_naming_a_field(exc, done)


FORMATS = ["p.json", "s.json", "c.json", "plan.json", "t.json"]


@pytest.mark.parametrize("name", FORMATS)
@FAST
@given(data=st.data())
def test_mutated_files_load_cleanly_or_are_refused(valid, name, data):
    _check(valid, name, data)


@pytest.mark.slow
@pytest.mark.parametrize("name", FORMATS)
@DEEP
@given(data=st.data())
def test_mutated_files_deep(valid, name, data):
    _check(valid, name, data)


# ---- the command line: the same files through 'solve' and 'verify' ----------------------------------

CLI = {"p.json": ("solve", "local-only"), "c.json": ("solve", "og"), "s.json": ("verify", "p.json"),
       "plan.json": ("verify", "c.json")}


def _check_cli(valid, name, data, capsys):
    from j3o_fast.cli import main

    docs, folder = valid
    text, done = data.draw(mutations(docs[name][0]), label="mutation")
    path = folder / f"cli-{name}"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    command, other = CLI[name]
    argv = (["solve", str(path), "--method", other] if command == "solve"
            else ["verify", str(folder / other), str(path)])
    code = main(argv)
    err = capsys.readouterr().err
    assert code in (0, 1, 2), (code, done)
    if code == 2:
        assert err.startswith("j3o-fast: error: ") and err.count("\n") == 1, err


@pytest.mark.parametrize("name", sorted(CLI))
@settings(FAST, max_examples=40, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_files_through_the_cli_exit_0_1_or_2(valid, name, data, capsys):
    _check_cli(valid, name, data, capsys)


# ---- TOML studies: the same mutations, read by load_study (which also probes every method) ----------

def _study_doc() -> dict:
    from j3o_fast.sweep import Experiment, Method, Study

    return Study("fuzz", experiments=(
        Experiment("p", "placement", methods=("local-only",), params={"family": "nyu", "n_edges": 1},
                   grid={"n_clients": (3, 4), "window": (None, 0.05)}, seeds=1),
        Experiment("c", "coinference", methods=(Method("og", options={}),), params={"profile": "mobilenetv2"},
                   grid={"n_users": (3,), "alpha": (0.0, 0.1)}, seeds=1),
        Experiment("o", "online", methods=("every-slot",),
                   params={"scenario": "default", "n_devices": 2, "n_slots": 20, "train_traces": 1,
                           "eval_traces": 1}, seeds=1),
    )).to_dict()


def _study_toml(doc: dict) -> str:
    """``doc`` as TOML, every top-level value inline (arrays of inline tables for the experiments)."""
    from j3o_fast.sweep.study import _toml

    return "".join(f"{json.dumps(k)} = {_toml(v)}\n" for k, v in doc.items())


@st.composite
def study_mutations(draw):
    doc = _study_doc()
    done, edits = _mutate(draw, doc, OPS)
    from j3o_fast.sweep.study import _toml

    return _edit_text(_study_toml(doc), edits, render=_toml, sep=" = "), done


def _check_study(folder, data):
    from j3o_fast.sweep import load_study

    text, done = data.draw(study_mutations(), label="mutation")
    path = folder / "fuzz-study.toml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        load_study(path)
        event("works")
    except InvalidInputError as exc:
        _refused_naming_a_field(exc, done)


@settings(FAST, max_examples=60)
@given(data=st.data())
def test_mutated_studies_load_cleanly_or_are_refused(valid, data):
    _check_study(valid[1], data)


@pytest.mark.slow
@settings(DEEP, max_examples=600)
@given(data=st.data())
def test_mutated_studies_deep(valid, data):
    _check_study(valid[1], data)


def test_the_unmutated_study_loads(valid):
    from j3o_fast.sweep import load_study

    (valid[1] / "study.toml").write_text(_study_toml(_study_doc()))
    assert [e.name for e in load_study(valid[1] / "study.toml").experiments] == ["p", "c", "o"]


def test_the_unmutated_files_load_and_verify(valid):
    """The fuzzing starts from files that pass every step (so a refusal is the mutation's)."""
    docs, folder = valid
    for name, (doc, run) in docs.items():
        path = folder / f"plain-{name}"
        path.write_text(json.dumps(doc))
        run(path)
    assert np.isfinite(pio.load_instance(folder / "p.json").payload_mbit).all()


def test_duplicate_and_nest_mutations_reach_the_reader(valid):
    """The text-level mutations produce what they claim (a duplicate key, a deep array)."""
    docs, folder = valid
    doc = docs["c.json"][0]
    text = json.dumps(doc).replace('"version": ', '"version": 1, "version": ', 1)
    (folder / "d.json").write_text(text)
    with pytest.raises(InvalidInputError, match="duplicate key 'version'"):
        jf.read_json(folder / "d.json")
