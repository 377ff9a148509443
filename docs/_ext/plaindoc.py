"""Render the package's plain-text docstrings as reStructuredText without warnings.

Many docstrings of j3o_fast are written as plain text rather than numpydoc. Two plain-text
habits mean something else in reStructuredText, and this hook (run before numpydoc) makes
them read as intended, without changing the source:

* ``|x|`` is an absolute value, not a substitution: every ``|`` outside inline literals and
  doctest blocks is escaped.
* A sentence line that lost its indentation in the source (a line indented less than the lines
  around it, in a docstring without numpydoc sections) is put back in its paragraph, instead of
  ending the paragraph as an unexpected unindent.
* An aligned two-column table (``name   description`` lines, descriptions continued on
  indented lines) becomes a literal block, so that its layout is kept.
"""

from __future__ import annotations

import re

_TWO_COLUMNS = re.compile(r"^\s*\S+(?: \S+)*\s{2,}\S")
_LITERAL = re.compile(r"(``.+?``)")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _escape_bars(lines: list[str]) -> list[str]:
    out, in_doctest, literal = [], False, None   # literal: indentation of the "::" line
    for line in lines:
        stripped = line.strip()
        if literal is not None and stripped and _indent(line) <= literal:
            literal = None
        if stripped.startswith(">>>"):
            in_doctest = True
        elif not stripped:
            in_doctest = False
        if literal is None and stripped.endswith("::"):
            literal = _indent(line)
            out.append(line)
            continue
        if in_doctest or literal is not None or "|" not in line:
            out.append(line)
            continue
        parts = _LITERAL.split(line)
        out.append("".join(p if p.startswith("``") else re.sub(r"(?<!\\)\|", r"\\|", p) for p in parts))
    return out


def _blocks(lines: list[str]):
    """(start, stop) of each maximal run of non-blank lines."""
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        j = i
        while j < len(lines) and lines[j].strip():
            j += 1
        yield i, j
        i = j


def _is_table(block: list[str]) -> bool:
    """Two consecutive lines at one indentation, the second an aligned two-column row,
    followed at once by a deeper line: plain-text layout that RST would reject."""
    for k in range(1, len(block) - 1):
        here, prev, nxt = block[k], block[k - 1], block[k + 1]
        if (_indent(nxt) > _indent(here) == _indent(prev) and _TWO_COLUMNS.match(here)
                and not here.rstrip().endswith("::") and not here.lstrip().startswith(">>>")):
            return True
    return False


def _tables_as_literal(lines: list[str]) -> list[str]:
    out, last = [], 0
    for start, stop in _blocks(lines):
        block = lines[start:stop]
        if not _is_table(block):
            continue
        out += lines[last:start]
        base = min(_indent(x) for x in block)
        out += [" " * base + "::", ""] + ["    " + x for x in block]
        last = stop
    return out + lines[last:]


_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")


def _reindent_strays(lines: list[str]) -> list[str]:
    """Put back a stray continuation line: in a body whose lines share one indentation, a line
    indented less, starting in lower case right after a line of that body, continues the
    sentence above. The body is then dedented (the stray line made all of it look indented)."""
    if any(_UNDERLINE.match(x) for x in lines):
        return lines   # numpydoc sections: indentation carries meaning there
    depths = [_indent(x) for x in lines[1:] if x.strip()]
    if not depths:
        return lines
    body = max(set(depths), key=depths.count)
    out, changed = list(lines), False
    for i in range(2, len(out)):
        prev, here = out[i - 1], out[i]
        if (here.strip() and prev.strip() and _indent(here) < body == _indent(prev)
                and here.lstrip()[:1].islower() and not prev.rstrip().endswith(":")):
            out[i] = " " * body + here.lstrip()
            changed = True
    if changed:
        cut = min(_indent(x) for x in out[1:] if x.strip())
        out = out[:1] + [x[cut:] if x.strip() else x for x in out[1:]]
    return out


def process(app, what, name, obj, options, lines):
    lines[:] = _escape_bars(_tables_as_literal(_reindent_strays(lines)))


def setup(app):
    app.connect("autodoc-process-docstring", process, priority=100)   # before numpydoc (500)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
