"""The library prints nothing unless asked: no HiGHS banner or log on standard output or error, no
progress bar from a study run in a terminal unless requested."""

import subprocess
import sys

SCRIPT = """
from j3o_fast.placement import generate, solve, verify
inst = generate("nyu", 10, 2, seed=3, window=0.05)
for method in ("j3o", "mip", "local-only"):
    assert verify(inst, solve(inst, method).decision).ok
from j3o_fast.coinference import generate as cg, solve as cs
cs(cg("mobilenetv2", 6, seed=1), "og")
"""


def test_solvers_print_nothing():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "" and out.stderr == ""


def test_verbose_mip_logs_on_request():
    script = ("from j3o_fast.placement import generate, solve\n"
              "solve(generate('nyu', 6, 1, seed=0), 'mip', verbose=True)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "HiGHS" in out.stdout or "MIP" in out.stdout


def test_a_study_run_in_a_terminal_prints_nothing_unless_asked(tmp_path):
    """run_study from a script on a terminal: no bar by default; progress=True asks for one."""
    script = f"""
import io, sys
class Terminal(io.StringIO):
    def isatty(self):
        return True
sys.stderr = Terminal()
from j3o_fast import sweep
from j3o_fast.sweep import Experiment, Study
study = Study("quiet", root_seed=1, experiments=(
    Experiment("j3o", "placement", methods=("j3o",), params={{"family": "nyu", "n_clients": 6, "n_edges": 1}},
               seeds=2),))
sweep.run_study(study, {str(tmp_path / "a")!r})
quiet = sys.stderr.getvalue()
sweep.run_study(study, {str(tmp_path / "b")!r}, progress=True)
sys.__stdout__.write(repr((quiet, sys.stderr.getvalue())))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    quiet, asked = eval(out.stdout)
    assert quiet == "" and "task" in asked and out.stderr == ""
