"""What a picture draws, decided once: every node, frame and edge, and what each one stands for.

:func:`jitviz.render.draw` builds a :class:`Drawing` from a model. Everything after it reads this
structure: the DOT is printed from it (:attr:`Drawing.dot`), :mod:`jitviz.paint` colours what ran
by each element's block, :mod:`jitviz.explain` links source lines to the elements that show them,
and the tests check it against the model. Nothing reads DOT or SVG text back to learn what was drawn.

    [node.label for node in draw(jitviz.graph(f, x)).nodes()]   # [("x: Tensor",), ("aten::mul", "other=2"), ...]
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field

import graphviz

from . import ir
from .dotgraph import Digraph
from .style import GRAPH_STYLE

__all__ = ["Drawing", "Element", "NODE", "FRAME", "EDGE", "IN_LABELS", "RUNS_PLACEHOLDER"]

NODE, FRAME, EDGE = "node", "frame", "edge"
#: ``Drawing.drawn_as`` of a model node shown only as text in its users' labels (a constant, ``self.fc``).
IN_LABELS = "(in labels)"
#: Put in a block's label by ``draw(..., run_counts=True)``; replaced by the count when painted.
RUNS_PLACEHOLDER = "ran ?×"


@dataclass
class Element:
    """One drawn thing: a node, a frame (Graphviz's cluster) or an edge.

    ``role`` is its style category (``"aten"``, ``"if"``, ``"block"``, ``"data"`` ...; a frame's
    role ``"scope"`` is a submodule's frame, which only groups nodes and is never painted). ``label``
    holds the lines as a reader sees them: control characters made visible, long lines cut.
    ``block`` is the key of the innermost block the element sits in (:func:`jitviz.ir.block_key`),
    ``None`` at the top level; ``frame`` the id of the frame it is drawn in. ``stands_for`` lists the
    model nodes it shows (a folded check lists every node it folds), ``sources`` their lines.
    ``shown_as`` maps an input folded into the label to the text it is shown as where that is not
    its usual text (``dtype=float32`` for the constant 6); ``left_out`` holds the inputs left out of
    the label on purpose (equal to the schema's default, a loop's ``True`` start condition).
    """

    id: str
    kind: str
    role: str
    label: tuple[str, ...] = ()
    tooltip: str | None = None
    block: str | None = None
    frame: str | None = None
    stands_for: tuple[str, ...] = ()
    sources: tuple[ir.SourceLocation, ...] = ()
    ends: tuple[str, str] | None = None
    shown_as: dict[str, str] = field(default_factory=dict)
    left_out: set[str] = field(default_factory=set)
    #: Graphviz attributes besides label, tooltip and id (shape, colours, a mark's pen)
    style: dict[str, str] = field(default_factory=dict)


@dataclass
class Drawing:
    """Everything a picture draws, in drawing order: ``drawing.nodes()``, ``drawing.dot.source``.

    Besides the elements, what the labels say about values: ``aliases`` maps a value id to the
    value drawn in its place (``prim::unchecked_cast``, an ``if`` passing a value on),
    ``folded_values`` a value id to the text it is folded into its users' labels as (constants,
    ``self.fc.weight``), and ``not_drawn`` the id of a model node drawn nowhere to why:
    ``IN_LABELS``, or :data:`jitviz.fold.DROPPED` (nothing to show).
    """

    name: str
    title: tuple[str, ...]
    rankdir: str
    elements: dict[str, Element]
    #: laid out for speed (a large picture): edge labels placed after layout, dot's passes capped
    fast_layout: bool = False
    aliases: dict[str, ir.Value] = field(default_factory=dict)
    folded_values: dict[str, str] = field(default_factory=dict)
    not_drawn: dict[str, str] = field(default_factory=dict)

    def nodes(self) -> Iterator[Element]:
        """The drawn nodes, in drawing order."""
        return (element for element in self.elements.values() if element.kind == NODE)

    def edges(self) -> Iterator[Element]:
        """The drawn edges, in drawing order."""
        return (element for element in self.elements.values() if element.kind == EDGE)

    @property
    def node_count(self) -> int:
        """How many nodes the picture draws (frames and edges not counted)."""
        return sum(1 for _ in self.nodes())

    @functools.cached_property
    def drawn_as(self) -> dict[str, str]:
        """Model node id -> id of the drawn node that shows it (itself, a check, the first of a
        repeated chain), or one of ``not_drawn``'s reasons; a node missing here is drawn as what
        it aliases (a cast drawn as what it casts)."""
        found = {model_id: node.id for node in self.nodes() for model_id in node.stands_for}
        found.update(self.not_drawn)
        return found

    @functools.cached_property
    def dot(self) -> graphviz.Digraph:
        """The picture in Graphviz's DOT language, byte for byte the same for the same drawing."""
        return _Printer(self).print()


class _Printer:
    def __init__(self, drawing: Drawing) -> None:
        self.drawing = drawing
        self.children: dict[str | None, list[Element]] = {}
        for element in drawing.elements.values():
            if element.kind != EDGE:
                self.children.setdefault(element.frame, []).append(element)

    def print(self) -> graphviz.Digraph:
        drawing = self.drawing
        dot = Digraph(name=drawing.name)
        dot.attr("graph", rankdir=drawing.rankdir, **GRAPH_STYLE["graph"])
        if drawing.fast_layout:
            dot.attr("graph", nslimit="1", nslimit1="1")
        dot.attr("graph", label=_dot_text(drawing.title))
        dot.attr("node", **GRAPH_STYLE["node"])
        dot.attr("edge", **GRAPH_STYLE["edge"])
        self._contents(dot, None)
        for edge in drawing.edges():
            attributes = self._attributes(edge)
            if drawing.fast_layout and "label" in attributes:
                attributes["xlabel"] = attributes.pop("label")
            assert edge.ends is not None
            dot.edge(*edge.ends, id=edge.id, **attributes)
        return dot

    def _contents(self, container: graphviz.Digraph, frame: str | None) -> None:
        for element in self.children.get(frame, []):
            attributes = self._attributes(element)
            if element.kind == NODE:
                label = attributes.pop("label", "")  # never none: Graphviz would show the node's id
                container.node(element.id, label, id=element.id, **attributes)
                continue
            with container.subgraph(name=element.id) as cluster:
                if element.role != "scope":  # a submodule's frame carries no id: it is never painted
                    attributes["id"] = element.id
                cluster.attr(**attributes)
                self._contents(cluster, element.id)

    def _attributes(self, element: Element) -> dict[str, str]:
        attributes: dict[str, str] = dict(element.style)
        if element.label:
            attributes["label"] = _dot_text(element.label)
        if element.tooltip is not None:
            attributes["tooltip"] = _dot_text((element.tooltip,))
        return attributes


def _dot_text(lines: tuple[str, ...]) -> str:
    """Lines as one DOT string: escaped for DOT, joined by DOT's line breaks, never read as HTML."""
    return graphviz.nohtml("\\n".join(graphviz.escape(line) for line in lines))
