"""Before and after a graph pass: what ``torch.jit.freeze`` or ``optimize_for_inference`` changed.

    jitviz.diff(scripted, torch.jit.freeze(scripted))   # two pictures, what went and what came

Nodes are matched by kind: where a kind has fewer nodes after the pass, the surplus in the
*before* picture is marked removed; where it has more, the surplus in the *after* picture is
marked added. Constants and ``self`` attributes are folded into labels, so the summary table
counts them too (``prim::GetAttr`` turning into ``prim::Constant`` is what freezing does).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from . import ir
from .api import graph
from .display import GraphView
from .render import draw

__all__ = ["diff", "GraphDiff"]


@dataclass
class GraphDiff:
    """The two pictures and the node counts per kind; shows itself side by side in a notebook."""

    labels: tuple[str, str]
    before: GraphView
    after: GraphView
    counts: dict[str, tuple[int, int]]  # kind -> (before, after), only kinds whose count changed

    @property
    def removed(self) -> dict[str, int]:
        return {kind: b - a for kind, (b, a) in self.counts.items() if b > a}

    @property
    def added(self) -> dict[str, int]:
        return {kind: a - b for kind, (b, a) in self.counts.items() if a > b}

    def __repr__(self) -> str:
        first, second = self.labels
        lines = [f"<jitviz diff {first} -> {second}: {len(list(self.before.model.walk()))} -> "
                 f"{len(list(self.after.model.walk()))} nodes>"]
        for kind, (b, a) in sorted(self.counts.items()):
            lines.append(f"  {kind}: {b} -> {a}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        first, second = self.labels
        rows = "".join(
            f"<tr><td><code>{e(kind)}</code></td><td>{b}</td><td>{a}</td>"
            f"<td style='color:{'#2e7d32' if a > b else '#c62828'}'>{a - b:+d}</td></tr>"
            for kind, (b, a) in sorted(self.counts.items())
        )
        return (
            f"<div><table><tr><th>node kind</th><th>{e(first)}</th><th>{e(second)}</th><th>change</th></tr>"
            f"{rows}</table><div style='display:flex;gap:2em;align-items:flex-start'>"
            f"<div><b>{e(first)}</b><br>{self.before.svg()}</div>"
            f"<div><b>{e(second)}</b><br>{self.after.svg()}</div></div></div>"
        )


def diff(before: Any, after: Any, *, labels: tuple[str, str] = ("before", "after"),
         inline: bool = True, constants: str = "fold") -> GraphDiff:
    """Draw two graphs and mark what differs: ``jitviz.diff(module, torch.jit.freeze(module))``.

    ``before`` and ``after`` are anything :func:`jitviz.show` takes without inputs (scripted or
    traced modules and functions, graphs, saved files). ``inline`` (default) compares the inlined
    graphs, since freezing inlines every call.
    """
    old, new = graph(before, inline=inline), graph(after, inline=inline)
    old_counts, new_counts = old.kinds(), new.kinds()
    counts = {
        kind: (old_counts[kind], new_counts[kind])
        for kind in sorted(set(old_counts) | set(new_counts))
        if old_counts[kind] != new_counts[kind]
    }
    removed = _surplus(old, {k: b - a for k, (b, a) in counts.items() if b > a}, "removed")
    added = _surplus(new, {k: a - b for k, (b, a) in counts.items() if a > b}, "added")
    return GraphDiff(
        labels,
        GraphView(old, draw(old, constants=constants, marks=removed, mark_style="removed")),
        GraphView(new, draw(new, constants=constants, marks=added, mark_style="added")),
        counts,
    )


def _surplus(model: ir.Graph, extra: dict[str, int], note: str) -> dict[str, str]:
    """Mark the last ``extra[kind]`` nodes of each kind (all of them when the kind is new or gone)."""
    by_kind: dict[str, list[ir.Node]] = {}
    for node in model.walk():
        by_kind.setdefault(node.kind, []).append(node)
    return {node.id: note for kind, count in extra.items() for node in by_kind.get(kind, [])[-count:]}
