"""Build of the compiled core: plain C in csrc/ behind Cython bindings beside their domain
(j3o_fast/coinference/_*.pyx, j3o_fast/placement/_*.pyx).

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
        "j3o_fast.placement._greedy",
        sources=["j3o_fast/placement/_greedy.pyx", "csrc/greedy.c"],
        depends=["csrc/greedy.h", "csrc/status.h"],
        **COMMON,
    ),
    Extension(
        "j3o_fast.coinference._og",
        sources=["j3o_fast/coinference/_og.pyx", "csrc/coinference_og.c"],
        depends=["csrc/coinference_og.h", "csrc/status.h"],
        **COMMON,
    ),
]

setup(ext_modules=cythonize(extensions, compiler_directives=CYTHON_DIRECTIVES))
