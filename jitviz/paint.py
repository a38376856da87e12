"""Show what ran on an SVG that is already laid out: restyle elements, never run Graphviz again.

Graphviz writes every node, cluster and edge as ``<g id="..." class="node|cluster|edge">``; the
ids are the ones :func:`jitviz.render.draw` gave them, and its ``regions`` say which block each one
sits in. Painting an :class:`jitviz.ir.Execution` onto that SVG is string work on the parts, which
is what keeps a live explorer's update far below the time one Graphviz layout takes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import ir
from .render import RUNS_PLACEHOLDER, Drawing
from .style import RUN_STYLES

__all__ = ["Painter"]


_ELEMENT = re.compile(r'<g id="([^"]+)" class="(node|edge|cluster)">')
_SHAPE = re.compile(r"<(?:polygon|path|ellipse|polyline)\b[^>]*>")
_COLOUR_ATTR = re.compile(r'\b(fill|stroke)="([^"]*)"')
_TEXT_OPEN = re.compile(r"<text\b[^>]*>")
_FILL = re.compile(r' fill="[^"]*"')
_PLACEHOLDER = re.escape(RUNS_PLACEHOLDER.replace("×", "&#215;")) + "|" + re.escape(RUNS_PLACEHOLDER)


@dataclass
class _Part:
    element_id: str | None  # None for text between elements (the graph's own title and frame)
    kind: str
    text: str


class Painter:
    """Paint executions onto one laid-out SVG: ``Painter(svg, drawing).paint(execution)``."""

    def __init__(self, svg: str, drawing: Drawing) -> None:
        self._regions = drawing.regions
        self._edge_ends = drawing.edge_ends
        self._parts: list[_Part] = []
        position = 0
        current: tuple[str | None, str] = (None, "")
        for match in _ELEMENT.finditer(svg):
            self._parts.append(_Part(current[0], current[1], svg[position : match.start()]))
            position = match.start()
            current = (match.group(1), match.group(2))
        self._parts.append(_Part(current[0], current[1], svg[position:]))

    def paint(self, execution: ir.Execution | None) -> str:
        """The SVG with what ran in green, what did not in grey, and each block's run count."""
        if execution is None:
            return "".join(part.text for part in self._parts)
        return "".join(self._paint_part(part, execution) for part in self._parts)

    def _paint_part(self, part: _Part, execution: ir.Execution) -> str:
        if part.element_id in self._edge_ends:
            key = None
            runs = min(
                (execution.runs(self._regions.get(end)) for end in self._edge_ends[part.element_id]),
                key=lambda count: -1 if count is None else count,  # unknown wins over any count
            )
        elif part.element_id in self._regions:
            key = self._regions[part.element_id]
            runs = execution.runs(key)
        else:
            return part.text
        text = part.text
        is_block_cluster = part.kind == "cluster" and key is not None and part.element_id.startswith(
            "cluster_") and part.element_id.endswith("_b" + key.rsplit("/", 1)[1])
        if is_block_cluster:
            text = re.sub(_PLACEHOLDER, _runs_text(runs), text, count=1)
        if runs is None:
            return text
        state = "ran" if runs > 0 else "not_run"
        if state == "ran" and not is_block_cluster:
            return text  # top-level and ran-inside-a-block elements keep their own colours
        colours = RUN_STYLES[state]
        fill_shapes = part.kind == "node" or is_block_cluster

        def colour(match: re.Match[str]) -> str:
            attribute, value = match.groups()
            if value in ("transparent", "none"):
                return match.group(0)
            if attribute == "stroke" or part.kind == "edge":  # an edge's fill is its arrowhead
                return f'{attribute}="{colours["stroke"]}"'
            return f'{attribute}="{colours["fill"]}"' if fill_shapes else match.group(0)

        text = _SHAPE.sub(lambda m: _COLOUR_ATTR.sub(colour, m.group(0)), text)
        if is_block_cluster:
            text = text.replace('<path fill="none"', f'<path fill="{colours["fill"]}"', 1)
        text = _TEXT_OPEN.sub(lambda m: _FILL.sub("", m.group(0))[:-1] + f' fill="{colours["text"]}">', text)
        if state == "ran":
            text = text.replace("<path ", '<path stroke-width="2.5" ', 1)
        return text


def _runs_text(runs: int | None) -> str:
    if runs is None:
        return "not counted"
    if runs == 0:
        return "not run"
    return f"ran {runs}×"
