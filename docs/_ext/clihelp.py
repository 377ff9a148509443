"""``.. clihelp:: generate placement``: the ``--help`` text of a ``j3o-fast`` (sub)command.

The text comes from ``j3o_fast.cli.build_parser()`` at build time, so the documented options
are always those of the installed command line.
"""

from __future__ import annotations

import os

from docutils import nodes
from docutils.parsers.rst import Directive

WIDTH = 100


def command_help(words: list[str]) -> str:
    """The help of ``j3o-fast WORDS...`` formatted at a fixed width."""
    import argparse

    from j3o_fast.cli import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(WIDTH)
    try:
        parser = build_parser()
        for word in words:
            sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
            parser = sub.choices[word]
        return parser.format_help()
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


class CliHelp(Directive):
    required_arguments = 0
    optional_arguments = 4

    def run(self):
        try:
            text = command_help(list(self.arguments))
        except (StopIteration, KeyError):
            raise self.error(f"no j3o-fast command {' '.join(self.arguments)!r}") from None
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return [block]


def setup(app):
    app.add_directive("clihelp", CliHelp)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
