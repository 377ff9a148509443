"""The package imports and solves when Numba cannot cache next to the source or in the user's
home: the cache moves to a per-user folder in the temporary directory, or compilation replaces it."""

import os
import subprocess
import sys
import textwrap

import pytest

# Run in a fresh interpreter: every TemporaryFile(dir=...) outside the allowed folders fails, as
# it does for a user who can write neither the installed package nor a home folder. Numba's own
# locators probe their folders the same way.
SCRIPT = textwrap.dedent("""
    import sys, tempfile
    real = tempfile.TemporaryFile
    allowed = sys.argv[1]

    def read_only(*args, dir=None, **kw):
        if dir is not None and not (allowed and str(dir).startswith(allowed)):
            raise PermissionError(13, "Permission denied", str(dir))
        return real(*args, dir=dir, **kw)

    tempfile.TemporaryFile = read_only
    import numba
    from j3o_fast import _numba_cache
    from j3o_fast.placement import generate, solve, verify
    inst = generate("nyu", 12, 2, seed=1, window=0.05)
    result = solve(inst, "j3o")
    assert verify(inst, result.decision).ok
    print(_numba_cache.CACHE, numba.config.CACHE_DIR)
""")


def _run(tmp_path, allowed: str) -> list:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("NUMBA_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", SCRIPT, allowed], env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.splitlines()[-1].split()


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX temporary folders")
def test_cache_falls_back_to_the_temporary_folder(tmp_path):
    cache, folder = _run(tmp_path, str(tmp_path / "j3o_fast-numba-"))
    assert cache == "True" and folder.startswith(str(tmp_path / "j3o_fast-numba-"))
    assert any(name.endswith(".nbi") for _, _, files in os.walk(folder) for name in files)


def test_without_any_writable_folder_kernels_compile_instead(tmp_path):
    assert _run(tmp_path, "")[0] == "False"
