"""Show what ran on a picture already drawn: restyle its elements, never lay it out again.

Whether an element ran is read from the :class:`jitviz.drawing.Drawing`: each element's block, and
an edge's ends. :class:`Painter` applies it to the SVG ``dot`` laid out (Graphviz writes every node,
frame and edge as ``<g id="..." class="node|cluster|edge">`` with the drawing's ids), which is
string work on the parts and keeps a live explorer's update far below one layout's time.
:func:`painted_dot` prints the DOT with the same colours, for pictures that start from DOT: a PNG
or PDF file, or the browser's own layout when ``dot`` is missing.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from . import ir
from .drawing import EDGE, FRAME, NODE, RUNS_PLACEHOLDER, Drawing, Element
from .style import RUN_STYLES

__all__ = ["Painter", "painted_dot"]


_ELEMENT = re.compile(r'<g id="([^"]+)" class="(?:node|edge|cluster)">')
_SHAPE = re.compile(r"<(?:polygon|path|ellipse|polyline)\b[^>]*>")
_COLOUR_ATTR = re.compile(r'\b(fill|stroke)="([^"]*)"')
_TEXT_OPEN = re.compile(r"<text\b[^>]*>")
_FILL = re.compile(r' fill="[^"]*"')
_PLACEHOLDER = re.escape(RUNS_PLACEHOLDER.replace("×", "&#215;")) + "|" + re.escape(RUNS_PLACEHOLDER)


@dataclass
class _Part:
    element_id: str | None  # None for text before the first element (the graph's own title and frame)
    text: str


def _runs(drawing: Drawing, element: Element, execution: ir.Execution) -> int | None:
    """How often an element ran: its block's count; an edge's is its ends' smaller one, and
    unknown if either end's is (unknown wins over any count)."""
    if element.kind != EDGE:
        return execution.runs(element.block)
    assert element.ends is not None
    counts = [execution.runs(drawing.elements[end].block) for end in element.ends]
    known = [count for count in counts if count is not None]
    return min(known) if len(known) == len(counts) else None


def _is_block(element: Element) -> bool:
    return element.kind == FRAME and element.role == "block"


def _says_runs(element: Element) -> bool:
    """A block's frame, or an if or loop drawn as one node (nested too deep), says how often it ran."""
    return _is_block(element) or (element.kind == NODE and element.role == "nested")


def _look(element: Element, runs: int | None) -> str | None:
    """``"ran"``, ``"not_run"``, or ``None`` where the element keeps its own colours: unknown, or
    ran outside a block's frame (only a block's frame is coloured for having run)."""
    if runs is None or (runs > 0 and not _is_block(element)):
        return None
    return "ran" if runs > 0 else "not_run"


def _runs_text(runs: int | None) -> str:
    if runs is None:
        return "not counted"
    if runs == 0:
        return "not run"
    return f"ran {runs}×"


class Painter:
    """Paint executions onto one laid-out SVG: ``Painter(svg, drawing).paint(execution)``."""

    def __init__(self, svg: str, drawing: Drawing) -> None:
        self._drawing = drawing
        self._parts: list[_Part] = []
        position = 0
        current: str | None = None
        for match in _ELEMENT.finditer(svg):
            self._parts.append(_Part(current, svg[position : match.start()]))
            position = match.start()
            current = match.group(1)
        self._parts.append(_Part(current, svg[position:]))

    def paint(self, execution: ir.Execution | None) -> str:
        """The SVG with what ran in green, what did not in grey, and each block's run count."""
        if execution is None:
            return "".join(part.text for part in self._parts)
        return "".join(self._paint_part(part, execution) for part in self._parts)

    def _paint_part(self, part: _Part, execution: ir.Execution) -> str:
        element = self._drawing.elements.get(part.element_id or "")
        if element is None:
            return part.text
        runs = _runs(self._drawing, element, execution)
        text = part.text
        is_block = _is_block(element)
        if _says_runs(element):
            text = re.sub(_PLACEHOLDER, _runs_text(runs), text, count=1)
        state = _look(element, runs)
        if state is None:
            return text
        colours = RUN_STYLES[state]
        fill_shapes = element.kind == NODE or is_block

        def colour(match: re.Match[str]) -> str:
            attribute, value = match.groups()
            if value in ("transparent", "none"):
                return match.group(0)
            if attribute == "stroke" or element.kind == EDGE:  # an edge's fill is its arrowhead
                return f'{attribute}="{colours["stroke"]}"'
            return f'{attribute}="{colours["fill"]}"' if fill_shapes else match.group(0)

        text = _SHAPE.sub(lambda m: _COLOUR_ATTR.sub(colour, m.group(0)), text)
        if is_block:
            text = text.replace('<path fill="none"', f'<path fill="{colours["fill"]}"', 1)
        text = _TEXT_OPEN.sub(lambda m: _FILL.sub("", m.group(0))[:-1] + f' fill="{colours["text"]}">', text)
        if state == "ran":
            text = text.replace("<path ", '<path stroke-width="2.5" ', 1)
        return text


def painted_dot(drawing: Drawing, execution: ir.Execution) -> str:
    """``drawing``'s DOT with each block's run count, what ran in green and what did not in grey."""
    painted = {element.id: _painted(drawing, element, execution) for element in drawing.elements.values()}
    return dataclasses.replace(drawing, elements=painted).dot.source


def _painted(drawing: Drawing, element: Element, execution: ir.Execution) -> Element:
    runs = _runs(drawing, element, execution)
    label = element.label
    if _says_runs(element):
        label = tuple(line.replace(RUNS_PLACEHOLDER, _runs_text(runs), 1) for line in label)
    state = _look(element, runs)
    if state is None:
        return dataclasses.replace(element, label=label)
    colours = RUN_STYLES[state]
    style = dict(element.style, color=colours["stroke"], fontcolor=colours["text"])
    if _is_block(element):
        styles = element.style.get("style", "")
        style.update(style=f"{styles + ',' if styles else ''}filled", fillcolor=colours["fill"])
        if state == "ran":
            style["penwidth"] = "2.5"
    elif element.kind == NODE:
        style["fillcolor"] = colours["fill"]
    return dataclasses.replace(element, label=label, style=style)
