"""Build of the compiled core: plain C in csrc/ behind Cython bindings in j3o_fast/_*.pyx.

Every extension is listed explicitly. Metadata lives in pyproject.toml.
"""

import os

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

CYTHON_DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "initializedcheck": False,
    "cdivision": True,
}

# J3O_FAST_BOUNDSCHECK=1 builds bindings that check every index (for testing the kernels' callers).
if os.environ.get("J3O_FAST_BOUNDSCHECK", "") not in ("", "0"):
    CYTHON_DIRECTIVES.update(boundscheck=True, wraparound=True, initializedcheck=True)

COMMON = dict(
    include_dirs=["csrc", np.get_include()],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
    extra_compile_args=["-O3", "-std=c11"],
)

extensions = [
    Extension(
        "j3o_fast._placement_usage",
        sources=["j3o_fast/_placement_usage.pyx", "csrc/placement_usage.c"],
        **COMMON,
    ),
    Extension(
        "j3o_fast._og",
        sources=["j3o_fast/_og.pyx", "csrc/coinference_og.c"],
        **COMMON,
    ),
    Extension(
        "j3o_fast._greedy",
        sources=["j3o_fast/_greedy.pyx", "csrc/greedy.c"],
        **COMMON,
    ),
]

setup(ext_modules=cythonize(extensions, compiler_directives=CYTHON_DIRECTIVES))
