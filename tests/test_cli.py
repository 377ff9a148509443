"""The j3o-fast command line, run in-process: generate, solve, verify, and bad input."""

import json

import pytest

from j3o_fast.cli import main


def test_generate_solve_verify(tmp_path, capsys):
    inst, sol = tmp_path / "inst.json", tmp_path / "sol.json"
    assert main(["generate", "placement", "--family", "nyu", "--clients", "12", "--edges", "2", "--seed", "3",
                 "--window", "0.05", "-o", str(inst)]) == 0
    assert main(["solve", str(inst), "--method", "mip", "--time-limit", "30", "-o", str(sol)]) == 0
    out = capsys.readouterr().out
    assert "status optimal" in out and "verified   ok" in out and "objective" in out
    assert main(["verify", str(inst), str(sol)]) == 0
    assert "all constraints hold" in capsys.readouterr().out


@pytest.mark.parametrize("method", ["j3o", "accuracy-greedy", "cloud-only"])
def test_solve_placement_methods(tmp_path, capsys, method):
    inst, sol = tmp_path / "inst.json", tmp_path / "sol.json"
    main(["generate", "placement", "--family", "taskonomy", "--clients", "30", "--edges", "1", "--window", "0.05",
          "-o", str(inst)])
    args = ["solve", str(inst), "--method", method, "-o", str(sol)] + (["--bound"] if method == "j3o" else [])
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"method     {method}" in out and "verified   ok" in out
    if method == "j3o":
        assert "phases     " in out and "greedy" in out and "gap" in out
    assert main(["verify", str(inst), str(sol)]) == 0


def test_verify_exits_1_on_violation(tmp_path, capsys):
    inst, sol = tmp_path / "inst.json", tmp_path / "sol.json"
    main(["generate", "placement", "--family", "nyu", "--clients", "8", "--edges", "1", "-o", str(inst)])
    main(["solve", str(inst), "--method", "mip", "-o", str(sol)])
    doc = json.loads(sol.read_text())
    doc["client_models"][0] = list(range(28))  # every model on client 0: memory overflows
    sol.write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["verify", str(inst), str(sol)]) == 1
    assert "client memory (3)" in capsys.readouterr().out


def test_bad_input_exits_2_with_message(tmp_path, capsys):
    inst = tmp_path / "inst.json"
    main(["generate", "placement", "--family", "nyu", "--clients", "4", "--edges", "1", "-o", str(inst)])
    doc = json.loads(inst.read_text())
    doc["clients"]["rate"][2][1] = -1
    inst.write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["solve", str(inst), "--method", "mip"]) == 2
    assert "clients.rate[2][1]: must be >= 0, got -1.0" in capsys.readouterr().err


def test_unknown_method_and_format(tmp_path, capsys):
    inst = tmp_path / "inst.json"
    main(["generate", "placement", "--family", "nyu", "--clients", "4", "--edges", "1", "-o", str(inst)])
    assert main(["solve", str(inst), "--method", "magic"]) == 2
    assert "--method: must be one of" in capsys.readouterr().err
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "something/else", "version": 1}))
    assert main(["solve", str(other), "--method", "mip"]) == 2
    assert "format: must be one of" in capsys.readouterr().err


def test_console_script_installed():
    import shutil
    import subprocess

    import os
    import sys

    # the script sits next to the interpreter of the environment the package is installed in
    exe = shutil.which("j3o-fast", path=os.path.dirname(sys.executable)) or shutil.which("j3o-fast")
    if exe is None:
        pytest.fail("the j3o-fast console script is not on PATH: is the package installed?")
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True).stdout
    assert "generate" in out and "solve" in out and "verify" in out
