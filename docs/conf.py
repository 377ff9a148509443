"""Sphinx configuration of the j3o_fast documentation.

Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html``. No extension
reaches the network (intersphinx is off), so the build runs offline and in CI.
"""

from __future__ import annotations

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "_ext"))

import j3o_fast  # noqa: E402  (the installed package; docs/ documents what is installed)

project = "j3o_fast"
author = "the j3o_fast developers"
copyright = "the j3o_fast developers"
version = release = j3o_fast.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.doctest",
    "numpydoc",
    "clihelp",    # docs/_ext/clihelp.py: the argparse help of each j3o-fast command
    "plaindoc",   # docs/_ext/plaindoc.py: plain-text docstrings read as intended
]

exclude_patterns = ["_build"]
root_doc = "index"
language = "en"
nitpicky = False
# Sections are cited as "docs/placement, section 'X'": keep labels explicit, no auto labels.
smartquotes = False

# ---- autodoc: document what the module says, in source order, without importing torch ----
autodoc_member_order = "bysource"
autodoc_typehints = "none"          # signatures show the hints already; docstrings are free text
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
# Optional extras that a documented module imports at the top: mocked only where not installed
# (the ``rl`` extra's gymnasium, imported by ``coinference.online.env``).
autodoc_mock_imports = [name for name in ("gymnasium", "stable_baselines3", "torch")
                        if importlib.util.find_spec(name) is None]
autoclass_content = "class"

# ---- numpydoc: the package's docstrings are plain prose in many places ----
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set = set()
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = False

# ---- math ----
# MathJax is loaded by the browser when the page is read; the build itself needs no network.

# ---- HTML ----
html_theme = "alabaster"
html_title = f"j3o_fast {release}"
html_static_path: list = []
html_theme_options = {"description": "Exact and fast planning of where deep-learning inference runs",
                      "fixed_sidebar": False}

# doctest builder (`-b doctest`): the examples of these pages run with the package imported
doctest_global_setup = "import numpy as np\nimport j3o_fast"
