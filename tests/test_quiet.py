"""The library prints nothing unless asked: no HiGHS banner or log on standard output or error."""

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
