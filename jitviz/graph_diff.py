"""Before and after a graph pass: what ``torch.jit.freeze`` or ``optimize_for_inference`` changed.

    jitviz.diff(scripted, torch.jit.freeze(scripted))   # two pictures, what went and what came

Nodes are matched by kind: where a kind has fewer nodes after the pass, the surplus in the
*before* picture is marked removed; where it has more, the surplus in the *after* picture is
marked added. Constants and ``self`` attributes are folded into labels, so the summary table
counts them too (``prim::GetAttr`` turning into ``prim::Constant`` is what freezing does).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from . import ir
from .api import graph
from .display import GraphView, report_bundle, report_html
from .errors import GraphTooLargeError
from .options import OptionsError, check
from .render import DEFAULT_MAX_NODES, draw
from .style import HTML_STYLES
from .text import plural, visible

__all__ = ["diff", "GraphDiff"]


@dataclass
class GraphDiff:
    """The two pictures and the node counts per kind; shows itself side by side in a notebook.

    A side over ``max_nodes`` has no picture (``None``); ``models`` and ``counts`` still hold
    every node, and ``note`` says what to do.
    """

    labels: tuple[str, str]
    before: GraphView | None
    after: GraphView | None
    counts: dict[str, tuple[int, int]]  # kind -> (before, after), only kinds whose count changed
    models: tuple[ir.Graph, ir.Graph] = field(default=None)  # type: ignore[assignment]
    note: str = ""

    def __post_init__(self) -> None:
        if self.models is None:  # built from two views, as before models were kept apart
            assert self.before is not None and self.after is not None
            self.models = (self.before.model, self.after.model)

    @property
    def removed(self) -> dict[str, int]:
        return {kind: b - a for kind, (b, a) in self.counts.items() if b > a}

    @property
    def added(self) -> dict[str, int]:
        return {kind: a - b for kind, (b, a) in self.counts.items() if a > b}

    def __repr__(self) -> str:
        first, second = self.labels
        old, new = self.models
        lines = [f"<jitviz diff {first} -> {second}: {_count(old)} -> {_count(new)}>"]
        for kind, (b, a) in sorted(self.counts.items()):
            lines.append(f"  {kind}: {b} -> {a}")
        if self.note:
            lines.append(f"  {self.note}")
        return visible("\n".join(lines))

    def _head(self) -> str:
        def e(text: str) -> str:
            return html.escape(visible(text))

        first, second = self.labels
        rows = "".join(
            f"<tr><td><code>{e(kind)}</code></td><td>{b}</td><td>{a}</td>"
            f"<td style='{HTML_STYLES['more' if a > b else 'fewer']}'>{a - b:+d}</td></tr>"
            for kind, (b, a) in sorted(self.counts.items())
        )
        note = f"<p>{e(self.note)}</p>" if self.note else ""
        return (f"<table><tr><th>node kind</th><th>{e(first)}</th><th>{e(second)}</th><th>change</th></tr>"
                f"{rows}</table>{note}")

    def _pictures(self) -> list[tuple[str, GraphView | str]]:
        return [(label, view if view is not None else "<i>(too large to draw: see the note above)</i>")
                for label, view in zip(self.labels, (self.before, self.after))]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return report_bundle(self._head(), self._pictures(), repr(self), include, exclude)

    def _repr_html_(self) -> str | None:
        return report_html(self._head(), self._pictures())


def diff(before: Any, after: Any, *, labels: tuple[str, str] = ("before", "after"),
         inline: bool = True, constants: str = "fold", max_nodes: int = DEFAULT_MAX_NODES,
         rankdir: str = "TB", trusted: bool = False) -> GraphDiff:
    """Draw two graphs and mark what differs: ``jitviz.diff(module, torch.jit.freeze(module))``.

    ``before`` and ``after`` are anything :func:`jitviz.show` takes without inputs (scripted or
    traced modules and functions, graphs, saved files). ``inline`` (default) compares the inlined
    graphs, since freezing inlines every call. A side whose picture would have more than
    ``max_nodes`` nodes is not drawn (a big model's inlined graph easily has 10,000): the table
    still counts every node, and says so. ``trusted`` is :func:`jitviz.show`'s, for saved files.
    """
    check(inline=inline, constants=constants, max_nodes=max_nodes, rankdir=rankdir, trusted=trusted)
    if (not isinstance(labels, (tuple, list)) or len(labels) != 2
            or not all(isinstance(label, str) for label in labels)):
        raise OptionsError(f"labels must be two names, such as ('scripted', 'frozen'), not {labels!r}.")
    old, new = graph(before, inline=inline, trusted=trusted), graph(after, inline=inline, trusted=trusted)
    old_counts, new_counts = old.kinds(), new.kinds()
    counts = {
        kind: (old_counts[kind], new_counts[kind])
        for kind in sorted(set(old_counts) | set(new_counts))
        if old_counts[kind] != new_counts[kind]
    }
    removed = _surplus(old, {k: b - a for k, (b, a) in counts.items() if b > a}, "removed")
    added = _surplus(new, {k: a - b for k, (b, a) in counts.items() if a > b}, "added")
    options = {"constants": constants, "max_nodes": max_nodes, "rankdir": rankdir}
    too_large: list[str] = []
    views = [_view(model, marks, style, options, label, too_large)
             for model, marks, style, label in ((old, removed, "removed", labels[0]), (new, added, "added", labels[1]))]
    note = ""
    if too_large:
        note = (f"Not drawn, over max_nodes={max_nodes}: {'; '.join(too_large)}. The table counts every node. "
                "Raise max_nodes (jitviz.diff(..., max_nodes=20000); Graphviz may take minutes), "
                "or diff one block on its own (jitviz.diff(model.layers[0], frozen.layers[0])).")
    return GraphDiff((labels[0], labels[1]), views[0], views[1], counts, (old, new), note)


def _view(model: ir.Graph, marks: dict[str, str], style: str, options: dict[str, Any], label: str,
          too_large: list[str]) -> GraphView | None:
    try:
        return GraphView(model, draw(model, marks=marks, mark_style=style, **options))
    except GraphTooLargeError as error:
        nodes = str(error).split(";")[0].removeprefix("This picture would have ")
        too_large.append(f"{label} would have {nodes.split(',')[0]}")
        return None


def _count(model: ir.Graph) -> str:
    count = len(list(model.walk()))
    return plural(count, "node")


def _surplus(model: ir.Graph, extra: dict[str, int], note: str) -> dict[str, str]:
    """Mark the last ``extra[kind]`` nodes of each kind (all of them when the kind is new or gone)."""
    by_kind: dict[str, list[ir.Node]] = {}
    for node in model.walk():
        by_kind.setdefault(node.kind, []).append(node)
    return {node.id: note for kind, count in extra.items() for node in by_kind.get(kind, [])[-count:]}
