"""Show what ran in the DOT text itself, for pictures that do not go through jitviz's own SVG.

:mod:`jitviz.paint` restyles an SVG that ``dot`` laid out. Without ``dot`` the picture is laid
out in the browser, and a PNG or PDF file is made by ``dot`` from DOT: both start from DOT text,
so the run counts and colours have to be in it. Every statement :func:`jitviz.render.draw` writes
carries its element's ``id``; the same rules as the SVG painter decide what each one looks like,
and the attributes are appended (in DOT the last value of an attribute wins).

    painted_dot(view.drawing, execution)   # DOT with "ran 3×" and the not-run parts greyed
"""

from __future__ import annotations

import re

from . import ir
from .paint import _runs_text as runs_text  # the same words as on the SVG picture
from .render import RUNS_PLACEHOLDER, Drawing
from .style import RUN_STYLES

__all__ = ["painted_dot"]

# One attribute list or attribute statement: quoted strings (with escapes) and HTML labels are
# skipped as wholes, so that an "id=" inside a label is never taken for the element's id.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|<(?:[^<>]|<[^<>]*>)*>|\bid=([A-Za-z0-9_]+|"(?:[^"\\]|\\.)*")')
_STYLE = re.compile(r'\bstyle=("(?:[^"\\]|\\.)*"|[A-Za-z,]+)')


def painted_dot(drawing: Drawing, execution: ir.Execution) -> str:
    """``drawing``'s DOT with each block's run count, what ran in green and what did not in grey."""
    return "\n".join(_paint_line(line, drawing, execution) for line in drawing.dot.source.split("\n"))


def _element_id(line: str) -> str | None:
    for match in _TOKEN.finditer(line):
        if match.group(1):
            return match.group(1).strip('"')
    return None


def _paint_line(line: str, drawing: Drawing, execution: ir.Execution) -> str:
    element = _element_id(line)
    if element is None:
        return line
    if element in drawing.edge_ends:
        key = None
        counts = [execution.runs(drawing.regions.get(end)) for end in drawing.edge_ends[element]]
        known = [count for count in counts if count is not None]
        runs = min(known) if len(known) == len(counts) else None  # unknown wins over any count, as in the SVG
    elif element in drawing.regions:
        key = drawing.regions[element]
        runs = execution.runs(key)
    else:
        return line
    is_block = key is not None and element.startswith("cluster_") and element.endswith("_b" + key.rsplit("/", 1)[1])
    if is_block:
        line = line.replace(RUNS_PLACEHOLDER, runs_text(runs), 1)
    if runs is None or (runs > 0 and not is_block):
        return line  # unknown, or ran outside a block's frame: drawn in its own colours
    colours = RUN_STYLES["ran" if runs > 0 else "not_run"]
    extra = f'color="{colours["stroke"]}" fontcolor="{colours["text"]}"'
    if is_block:
        style = _STYLE.search(line)
        styles = style.group(1).strip('"') if style else ""
        extra += f' style="{styles + "," if styles else ""}filled" fillcolor="{colours["fill"]}"'
        if runs > 0:
            extra += " penwidth=2.5"
    elif element not in drawing.edge_ends:
        extra += f' fillcolor="{colours["fill"]}"'
    return _append(line, extra)


def _append(line: str, extra: str) -> str:
    """Add attributes to a statement: inside its ``[...]`` list, or after a bare attribute line."""
    stripped = line.rstrip()
    if stripped.endswith("]"):
        return stripped[:-1] + " " + extra + "]"
    return stripped + " " + extra
