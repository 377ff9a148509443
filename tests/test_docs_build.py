"""The documentation in docs/ builds with Sphinx, every warning an error.

This is the check that every page a docstring cites exists and that the API reference's
docstrings render cleanly; it is skipped where Sphinx is not installed (the ``docs`` extra).
"""

from __future__ import annotations

import os

import pytest

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")


def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    from sphinx.cmd.build import build_main

    warnings = tmp_path / "warnings.txt"
    code = build_main(["-W", "--keep-going", "-b", "html", "-q", "-E", "-w", str(warnings),
                       "-d", str(tmp_path / "doctrees"), DOCS, str(tmp_path / "html")])
    assert code == 0, f"the docs build failed:\n{warnings.read_text()}"
    assert (tmp_path / "html" / "index.html").is_file()
