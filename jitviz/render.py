"""Decide what a picture of the plain graph model draws: which nodes appear, their labels and edges.

:func:`draw` builds a :class:`jitviz.drawing.Drawing`, the one structure everything after it reads
(its DOT, the painters, ``explain``, the viewers).

What the picture draws decides how fast ``dot`` lays it out: constants, ``self`` and the
``prim::GetAttr`` chains hanging off it are hub nodes with edges all over a model, so by default
they are folded into the labels of the nodes that use them (``other=2``, ``weight=self.fc.weight``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import graphviz

from . import ir
from .drawing import EDGE, FRAME, IN_LABELS, NODE, RUNS_PLACEHOLDER, Drawing, Element
from .errors import GraphTooLargeError
from .fold import CHECK_KIND, FOLDED_KIND, fold
from .options import CHECK_MODES, CONSTANT_MODES, DEFAULT_NESTING
from .options import check as check_options
from .style import CLUSTER_STYLE, EDGE_STYLE, IF_KINDS, LOOP_KINDS, MARK_STYLES, NODE_STYLE, category
from .text import plural, visible

__all__ = ["draw", "to_dot", "CONSTANT_MODES", "CHECK_MODES", "DEFAULT_MAX_NODES", "DEFAULT_NESTING", "NESTED_ROLE"]


DEFAULT_MAX_NODES = 3000
# Above this many drawn nodes, layout speed comes first: edge labels become xlabels (placed after
# layout instead of as extra ranks) and dot's network-simplex passes are capped. Measured on the
# scripted 6-layer encoder expanded one level (1,837 nodes): 47 s with full layout, 1.1 s without.
_FAST_LAYOUT_NODES = 400
_MAX_LABEL_LINE = 48
# A tooltip or a title line: a source line can be megabytes (a long string constant), and Graphviz
# 2.43 refuses a quoted string over 16,384 characters; what is cut ends in "…".
_MAX_TEXT = 1_000
#: The role of an if or loop nested deeper than ``nesting`` allows, drawn as one node.
NESTED_ROLE = "nested"
_CONSTRUCTS = {"prim::ListConstruct": ("[", "]"), "prim::TupleConstruct": ("(", ")")}


def to_dot(graph: ir.Graph, **options: object) -> graphviz.Digraph:
    """The model's picture as DOT: ``to_dot(jitviz.graph(f, x)).source``; options as :func:`draw`."""
    return draw(graph, **options).dot  # type: ignore[arg-type]


def draw(
    graph: ir.Graph,
    *,
    constants: str = "fold",
    max_nodes: int = DEFAULT_MAX_NODES,
    rankdir: str = "TB",
    run_counts: bool = False,
    marks: Mapping[str, str] | None = None,
    mark_style: str = "warn",
    repeats: bool = False,
    checks: str = "fold",
    nesting: int = DEFAULT_NESTING,
    open_blocks: Sequence[str] = (),
) -> Drawing:
    """What the picture of the model draws: ``draw(jitviz.graph(f, x)).nodes()``, ``.dot.source``.

    With ``run_counts``, every block's label leaves room for how often it ran (filled in by
    :class:`jitviz.paint.Painter`). ``marks`` maps node ids to a short note drawn on the node,
    styled by ``mark_style``: ``"warn"``
    (red), ``"removed"`` (red, dashed) or ``"added"`` (green). With ``repeats``, a chain of calls
    to identical submodules (same code and parameter shapes, each feeding the next) is drawn
    once, marked ``×N``.

    ``constants`` is ``"fold"`` (into the label of each user, the default), ``"nodes"`` (drawn as
    nodes, as is every ``self``/``GetAttr``) or ``"hide"`` (left out). ``checks`` is ``"fold"``
    (the default: argument checks, warnings and long branch conditions drawn as compact nodes, and
    the training-only branch of a module in eval mode folded; see :mod:`jitviz.fold`) or ``"show"``
    (every node as it is). A picture of more than ``max_nodes`` nodes raises
    :class:`GraphTooLargeError` before Graphviz is asked to lay it out.

    ``nesting`` is how many levels of ``if`` and loop frames are drawn open, one inside another
    (expanded calls do not count as levels). An ``if`` or loop nested deeper, say at level
    ``nesting + 1``, is drawn as one node (role :data:`NESTED_ROLE`) standing for every model node
    inside it: it reads every value from outside that anything inside reads, makes its outputs,
    and says how many nodes it holds. ``open_blocks`` lists the ids of such nodes to draw open
    anyway, one level further (what a click in :func:`jitviz.explore_graph` does).
    """
    check_options(constants=constants, mark_style=mark_style, rankdir=rankdir, checks=checks, nesting=nesting,
                  open_blocks=open_blocks)
    folded = fold(graph, conditions=checks == "fold", checks=checks == "fold", training=checks == "fold")
    builder = _Builder(folded.graph, constants, max_nodes, rankdir, run_counts=run_counts,
                       marks=dict(marks or {}), mark_style=mark_style, repeats=repeats,
                       not_data=folded.not_data, nesting=nesting, open_blocks=frozenset(open_blocks))
    drawing = builder.build()
    drawing.aliases = folded.aliases
    for node in folded.graph.walk():
        if node.id not in drawing.elements and node.id not in builder.merged and node.id not in builder.inside \
                and node.outputs and all(
                v.id in drawing.folded_values for v in node.outputs):
            drawing.not_drawn[node.id] = IN_LABELS
    for model_id, shown in folded.drawn_as.items():
        shown = builder.inside.get(shown, shown)  # folded into a check that sits in a folded if or loop
        if shown in drawing.elements:  # folded into a check or an if that is drawn
            element = drawing.elements[shown]
            if model_id not in element.stands_for:
                element.stands_for += (model_id,)
        else:  # DROPPED: drawn nowhere, on purpose
            drawing.not_drawn[model_id] = shown
    return drawing


@dataclass
class _Folded:
    """A value drawn as text inside its users' labels instead of as an edge."""

    text: str
    is_constant: bool


@dataclass
class _Builder:
    graph: ir.Graph
    constants: str
    max_nodes: int
    rankdir: str
    folded: dict[str, _Folded] = field(default_factory=dict)
    producer: dict[str, str] = field(default_factory=dict)  # value id -> DOT node that emits it
    run_counts: bool = False
    marks: Mapping[str, str] = field(default_factory=dict)
    mark_style: str = "warn"
    repeats: bool = False
    chains: dict[str, list[ir.Node]] = field(default_factory=dict)  # head id -> the calls it stands for
    merged: set[str] = field(default_factory=set)  # ids of calls drawn as part of an earlier head
    # (tail, head, role, label); a data edge's tail is the value until every producer is known
    edges: list[tuple[str | ir.Value, str, str, tuple[str, ...]]] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # value id -> name shown (SSA suffix dropped)
    # (drawn node id, value id): inputs left out of a label on purpose, or shown as other text
    omitted: set[tuple[str, str]] = field(default_factory=set)
    shown_as: dict[tuple[str, str], str] = field(default_factory=dict)
    not_data: set[str] = field(default_factory=set)  # returned values that only decide folded code
    elements: dict[str, Element] = field(default_factory=dict)
    nesting: int = DEFAULT_NESTING
    open_blocks: frozenset[str] = frozenset()
    closed: dict[str, int] = field(default_factory=dict)  # id of an if/loop drawn as one node -> its level
    inside: dict[str, str] = field(default_factory=dict)  # id of a node inside one -> the id of that node

    def build(self) -> Drawing:
        self.names = _display_names(self.graph)
        self._find_closed(self.graph.nodes, 0)
        if self.constants != "nodes":
            self._fold_values(self.graph.inputs, self.graph.nodes)
        if self.repeats:
            self._find_chains()
        fast_layout = self._check_budget() > _FAST_LAYOUT_NODES
        for value in self.graph.inputs:
            if not self._is_folded_input(value):
                self._emit_input(value)
        if any(node.scope for node in self.graph.nodes):
            self._emit_scoped(None, self.graph.nodes, "")
        else:
            self._emit_nodes(None, self.graph.nodes, None)
        for index, value in enumerate(self.graph.outputs):
            name = "output" if len(self.graph.outputs) == 1 else f"output {index}"
            node_id = f"out_{index}"
            lines = [f"{name}: {value.type}"]
            if value.id in self.folded:
                lines.append(self._shown(self.folded[value.id]))
            self._node(None, node_id, _lines(lines), _line(f"%{value.name}"), "output", None)
            self._edge_from(value, node_id)
        # Data edges are resolved last: in a scoped picture a producer can be drawn after its user.
        number = 0
        for end, head, role, label in self.edges:
            if isinstance(end, ir.Value):
                tail = self.producer.get(end.id)
                if tail is None:
                    continue
                label = _lines([end.type])
            else:
                tail = end
            edge_id = f"e{number}"
            number += 1
            self.elements[edge_id] = Element(edge_id, EDGE, role, label, ends=(tail, head),
                                             style=dict(EDGE_STYLE[role]))
        for (node_id, value_id), text in self.shown_as.items():
            self.elements[node_id].shown_as[value_id] = text
        for node_id, value_id in self.omitted:
            self.elements[node_id].left_out.add(value_id)
        title = _lines([f"{self.graph.name} ({self.graph.origin})"] + self.graph.notes, limit=_MAX_TEXT)
        return Drawing(_safe_name(self.graph.name), title, self.rankdir, self.elements, fast_layout=fast_layout,
                       folded_values={value_id: folded.text for value_id, folded in self.folded.items()})

    # --- what gets folded ----------------------------------------------------------------------

    def _fold_values(self, inputs: list[ir.Value], nodes: list[ir.Node]) -> None:
        for value in inputs:
            if value.is_module:
                self.folded[value.id] = _Folded("self", is_constant=False)
            elif value.role:  # an exported program's parameter, buffer or constant: `self.fc.weight`
                self.folded[value.id] = _Folded(f"self.{value.name}", is_constant=False)
        self._fold_nodes(nodes)

    def _fold_nodes(self, nodes: list[ir.Node]) -> None:
        written = {node.inputs[i].id for node in self.graph.walk() for i in node.writes if i < len(node.inputs)}
        self._fold_in(nodes, written)

    def _fold_in(self, nodes: list[ir.Node], written: set[str]) -> None:
        for node in nodes:
            if node.kind != "prim::GetAttr" and node.outputs and any(v.id in written for v in node.outputs):
                pass  # a list that is appended to later is not the constant it starts as (self.seen stays a name)
            elif node.kind in _METADATA and len(node.inputs) == 1 and len(node.outputs) == 1 \
                    and node.inputs[0].id not in self.folded:
                # `x.dtype`, `x.device`: read off a value, named in the label rather than drawn
                text = f"{self.names.get(node.inputs[0].id, node.inputs[0].name)}.{_METADATA[node.kind]}"
                self.folded[node.outputs[0].id] = _Folded(text, is_constant=False)
            elif node.kind == "prim::Uninitialized" and len(node.outputs) == 1:
                self.folded[node.outputs[0].id] = _Folded("uninitialized", is_constant=True)
            elif node.kind == "prim::Constant" and len(node.outputs) == 1:
                text = _format_constant(node.attributes.get("value"))
                self.folded[node.outputs[0].id] = _Folded(text, is_constant=True)
            elif node.kind == "prim::GetAttr" and node.inputs and node.inputs[0].id in self.folded:
                base = self.folded[node.inputs[0].id].text
                self.folded[node.outputs[0].id] = _Folded(
                    f"{base}.{node.attributes.get('name')}", is_constant=False
                )
            elif node.kind in _CONSTRUCTS and all(v.id in self.folded for v in node.inputs):
                open_, close = _CONSTRUCTS[node.kind]
                items = ", ".join(self.folded[v.id].text for v in node.inputs)
                if node.kind == "prim::TupleConstruct" and len(node.inputs) == 1:
                    items += ","
                is_constant = all(self.folded[v.id].is_constant for v in node.inputs)
                self.folded[node.outputs[0].id] = _Folded(f"{open_}{items}{close}", is_constant)
            for block in node.blocks:
                if node.callee is not None and block.params and node.inputs:
                    # An expanded call: the callee's parameters are the call's arguments.
                    for param, argument in zip(block.params, _call_arguments(node)):
                        if argument.id in self.folded:
                            self.folded[param.id] = self.folded[argument.id]
                self._fold_in(block.nodes, written)

    def _is_folded_input(self, value: ir.Value) -> bool:
        # `self`, a parameter: every use of it is a folded label (self.fc.weight), so it is not drawn
        return value.id in self.folded and (value.is_module or bool(value.role))

    def _is_folded_node(self, node: ir.Node) -> bool:
        if node.id in self.merged:
            return True
        return bool(node.outputs) and not node.blocks and all(
            v.id in self.folded for v in node.outputs
        )

    def _find_closed(self, nodes: list[ir.Node], level: int) -> None:
        """The ifs and loops nested more than ``nesting`` levels deep (and not opened): each one node."""
        for node in nodes:
            here = level
            if node.kind in IF_KINDS or node.kind in LOOP_KINDS:
                here = level + 1
                if here > self.nesting and node.id not in self.open_blocks:
                    self.closed[node.id] = here
                    for inner in _inside(node):
                        self.inside[inner.id] = node.id
                        for member in inner.members:
                            self.inside[member.id] = node.id
                    continue
            for block in node.blocks:
                self._find_closed(block.nodes, here)

    def _find_chains(self) -> None:
        """Calls to identical submodules, each consuming only the previous one's single result."""
        uses: dict[str, int] = {}
        for node in self.graph.walk():
            for value in node.inputs:
                uses[value.id] = uses.get(value.id, 0) + 1
            for block in node.blocks:
                for value in block.returns:
                    uses[value.id] = uses.get(value.id, 0) + 1
        for value in self.graph.outputs:
            uses[value.id] = uses.get(value.id, 0) + 1
        lists = [self.graph.nodes] + [b.nodes for n in self.graph.walk() for b in n.blocks
                                      if n.id not in self.closed and n.id not in self.inside]
        for nodes in lists:
            chain: list[ir.Node] = []
            for node in nodes:
                if self._is_folded_node(node):
                    continue
                signature = node.attributes.get("module_signature") if not node.blocks else None
                last = chain[-1] if chain else None
                if (signature and last is not None and last.attributes.get("module_signature") == signature
                        and len(last.outputs) == 1 and uses.get(last.outputs[0].id) == 1
                        and last.outputs[0] in node.inputs):
                    chain.append(node)
                    continue
                self._close_chain(chain)
                chain = [node] if signature else []
            self._close_chain(chain)

    def _close_chain(self, chain: list[ir.Node]) -> None:
        if len(chain) > 1:
            self.chains[chain[0].id] = chain
            self.merged.update(node.id for node in chain[1:])

    def _check_budget(self) -> int:
        inputs = sum(1 for value in self.graph.inputs if not self._is_folded_input(value))
        count = inputs + len(self.graph.outputs) + self._count(self.graph.nodes)
        if count > self.max_nodes:
            raise GraphTooLargeError(
                f"This picture would have {plural(count, 'node')}, more than max_nodes={self.max_nodes}; "
                "the budget that keeps Graphviz's layout to seconds (bench/render.py). Draw less: leave calls "
                "collapsed (expand_calls=False), use constants='fold', draw a submodule on its own "
                f"(jitviz.show(model.layer1, ...)), or raise max_nodes if you really want it all."
            )
        return count

    def _count(self, nodes: list[ir.Node]) -> int:
        count = 0
        for node in nodes:
            if self._is_folded_node(node):
                continue
            count += 1
            if node.id in self.closed:
                continue  # one node for all inside it
            if node.blocks and node.outputs:
                count += 1  # the join node
            for block in node.blocks:
                count += 1 + bool(block.params) + self._count(block.nodes)
        return count

    # --- what is drawn ---------------------------------------------------------------------------

    def _node(self, frame: str | None, node_id: str, label: tuple[str, ...], tooltip: str, role: str,
              key: str | None, model_node: ir.Node | None = None) -> None:
        style = NODE_STYLE[role]
        if node_id in self.marks:
            symbol = {"warn": "⚠ ", "removed": "− ", "added": "+ "}[self.mark_style]
            label = label + _lines([symbol + self.marks[node_id]])
            style = {**style, **MARK_STYLES[self.mark_style]}
        stands_for: tuple[str, ...] = ()
        sources: tuple[ir.SourceLocation, ...] = ()
        if model_node is not None:
            folded_in = [*model_node.members, *self.chains.get(model_node.id, [model_node])[1:]]
            stands_for = (model_node.id, *(n.id for n in folded_in))
            found = {n.source for n in [model_node, *model_node.members] if n.source is not None}
            sources = tuple(sorted(found, key=lambda s: (s.file, s.line)))
        self.elements[node_id] = Element(node_id, NODE, role, label, tooltip, key, frame, stands_for, sources,
                                         style=dict(style))

    def _frame(self, parent: str | None, frame_id: str, label: tuple[str, ...], role: str, key: str | None,
               tooltip: str | None = None, model_node: ir.Node | None = None) -> str:
        stands_for = (model_node.id,) if model_node is not None else ()
        self.elements[frame_id] = Element(frame_id, FRAME, role, label, tooltip, key, parent, stands_for,
                                          style=dict(CLUSTER_STYLE[role]))
        return frame_id

    def _emit_input(self, value: ir.Value) -> None:
        node_id = f"in_{value.id}"
        label = [f"{self._name(value)}: {value.type}"] + ([f"({value.role})"] if value.role else [])
        role = "parameter" if value.role else "input"
        self._node(None, node_id, _lines(label), _line(f"graph input %{value.name}"), role, None)
        self.producer[value.id] = node_id

    def _emit_nodes(self, frame: str | None, nodes: list[ir.Node], key: str | None) -> None:
        for node in nodes:
            if self._is_folded_node(node):
                continue
            if node.id in self.closed:
                self._emit_closed(frame, node, key)
            elif node.blocks:
                self._emit_structured(frame, node, key)
            else:
                label = self._node_label(node)
                chain = self.chains.get(node.id)
                if chain:
                    paths = f"{chain[0].attributes.get('module_path')} … {chain[-1].attributes.get('module_path')}"
                    label += _lines([f"×{len(chain)} ({paths})"])
                self._node(frame, node.id, label, _tooltip(node), _category(node), key, node)
                self._edges_into(node)
                for value in (chain[-1] if chain else node).outputs:
                    self.producer[value.id] = node.id

    def _emit_scoped(self, frame: str | None, nodes: list[ir.Node], prefix: str) -> None:
        """Top-level nodes that recorded a module scope (inlined traces, exported programs), in one
        frame per submodule, nested as the modules are: ``layers.0`` holds ``layers.0.fc``."""
        here = [n for n in nodes if n.scope == prefix or (not prefix and not n.scope)]
        self._emit_nodes(frame, here, None)
        children: list[str] = []
        for node in nodes:
            if node.scope and node.scope != prefix and (not prefix or node.scope.startswith(prefix + ".")):
                child = node.scope[len(prefix) + 1 if prefix else 0 :].split(".")[0]
                path = f"{prefix}.{child}" if prefix else child
                if path not in children:
                    children.append(path)
        for path in children:
            inside = [n for n in nodes if n.scope == path or n.scope.startswith(path + ".")]
            scope = self._frame(frame, f"cluster_scope_{_safe_name(path)}", _lines([path]), "scope", None)
            self._emit_scoped(scope, inside, path)

    def _emit_structured(self, parent: str | None, node: ir.Node, key: str | None) -> None:
        """A node with blocks (if, loop, expanded call): a frame holding one frame per block."""
        kind = category(node.kind)
        title = node.callee or (node.source.code if node.source and node.source.code else node.kind)
        if kind == "if" and len(node.blocks) > 2:  # an if/elif chain: each arm's block names its condition
            title = f"if … elif … else: {len(node.blocks)} arms"
        frame = self._frame(parent, f"cluster_{node.id}", _lines([title]), kind, key, _tooltip(node), node)
        self._node(frame, node.id, self._node_label(node), _tooltip(node), kind, key, node)
        self._edges_into(node)
        for index, block in enumerate(node.blocks):
            self._emit_block(frame, node, index, block)
        if node.outputs:
            join = f"{node.id}_join"
            word = {"if": "end if", "loop": "end loop"}.get(kind, "return")
            self._node(frame, join, _lines([word]), _tooltip(node), "join", key)
            for index in range(len(node.blocks)):
                self.edges.append((_block_ids(node, index)[1], join, "control", ()))
            for value in node.outputs:
                self.producer[value.id] = join

    def _emit_closed(self, frame: str | None, node: ir.Node, key: str | None) -> None:
        """An if or loop nested too deep: one node for it and all inside it, reading what is read
        inside from outside and making its outputs."""
        # the model's nodes inside: a check folded inside stands for its members, not for itself
        inner = [m for n in _inside(node) for m in ([] if n.kind in _MADE_UP else [n]) + n.members]
        count = len(inner)
        where = f"line {node.source.line}: {node.source.code.strip()}" if node.source else "no source line"
        level = self.closed[node.id]
        lines = [*self._node_label(node), where, f"{plural(count, 'node')} inside",
                 f"open with nesting={level} or a click"]
        if self.run_counts:
            lines.append(RUNS_PLACEHOLDER)
        self._node(frame, node.id, _lines(lines), _tooltip(node), NESTED_ROLE, key, node)
        element = self.elements[node.id]
        element.stands_for += tuple(n.id for n in inner)
        found = set(element.sources) | {n.source for n in inner if n.source is not None}
        element.sources = tuple(sorted(found, key=lambda s: (s.file, s.line)))
        everything = [node, *_inside(node)]
        made = {v.id for n in everything for v in [*n.outputs, *(p for b in n.blocks for p in b.params)]}
        seen: set[str] = set()
        for value in (v for n in everything for v in [*n.inputs, *(r for b in n.blocks for r in b.returns)]):
            if value.id not in made and value.id not in seen:
                seen.add(value.id)
                self._edge_from(value, node.id)
        for value in node.outputs:
            self.producer[value.id] = node.id

    def _emit_block(self, parent: str, owner: ir.Node, index: int, block: ir.Block) -> None:
        key, returns_id, cluster_id, params_id = _block_ids(owner, index)
        label = f"{block.label} · {RUNS_PLACEHOLDER}" if self.run_counts else block.label
        box = self._frame(parent, cluster_id, _lines([label]), "block", key)
        two_way = owner.kind in IF_KINDS and len(owner.blocks) == 2  # an elif chain's arms say their condition
        entry_label = {0: "true", 1: "false"}.get(index, "") if two_way else ""
        entry = _lines([entry_label]) if entry_label else ()
        if block.params:
            lines = [f"%{self._name(v)}: {v.type}" for v in block.params]
            self._node(box, params_id, _lines(lines), _line("block parameters"), "block", key)
            self.edges.append((owner.id, params_id, "control", entry))
            for value in block.params:
                self.producer.setdefault(value.id, params_id)
            if owner.kind == "prim::Loop" or owner.kind == "higher_order::while_loop" and index == 0:
                # the loop body hands its results back: to its own parameters (prim::Loop), or
                # to the condition's (while_loop, whose body is block 1)
                source = returns_id if owner.kind == "prim::Loop" else f"{owner.id}_r1"
                self.edges.append((source, params_id, "carry", _lines(["next iteration"])))
        else:
            first = next((n for n in block.nodes if not self._is_folded_node(n)), None)
            self.edges.append((owner.id, first.id if first else returns_id, "control", entry))
        self._emit_nodes(box, block.nodes, key)
        returned = [v for v in block.returns if v.id not in self.not_data]
        self.omitted.update((returns_id, v.id) for v in block.returns if v.id in self.not_data)
        shown = ", ".join(
            self._shown(self.folded[v.id]) if v.id in self.folded else f"%{self._name(v)}"
            for v in returned
        )
        self._node(box, returns_id, _lines([f"-> ({shown})"]), _line(f"{block.label} returns"), "block", key)
        for value in returned:
            self._edge_from(value, returns_id)

    def _edges_into(self, node: ir.Node) -> None:
        for value in node.inputs:
            self._edge_from(value, node.id)

    def _edge_from(self, value: ir.Value, head: str) -> None:
        if value.id not in self.folded:
            self.edges.append((value, head, "data", ()))  # its tail is resolved in build()

    def _name(self, value: ir.Value) -> str:
        return self.names.get(value.id, value.name)

    # --- labels ----------------------------------------------------------------------------------

    def _node_label(self, node: ir.Node) -> tuple[str, ...]:
        if node.kind in (CHECK_KIND, FOLDED_KIND, ir.GRAPH_BREAK):
            lines = {CHECK_KIND: ["check"], ir.GRAPH_BREAK: ["graph break"]}.get(node.kind, [])
            said = node.attributes.get("lines")
            return _lines(lines + [str(line) for line in (said if isinstance(said, list) else [])])
        lines = [node.kind]
        inputs = list(zip(node.inputs, node.arg_names or [""] * len(node.inputs),
                          node.arg_types or [""] * len(node.inputs)))
        if node.kind == ir.COMPILED_GRAPH:  # its frame is titled "graph 2 of 4" already
            lines = ["compiled graph"]
        elif node.callee is not None:
            module_type = node.attributes.get("module_type")
            if module_type is not None:  # "layers.0: TransformerEncoderLayer", then the method if not forward
                method = node.callee.rsplit(".", 1)[-1]
                lines = [f"{node.attributes.get('module_path') or 'self'}: {module_type}"
                         + ("" if method == "forward" else f".{method}"), node.kind]
            else:
                lines.append(node.callee)
            if node.called() is not None:
                inputs = inputs[1:]  # the module or function being called: named on the line above
        if node.callee is None and node.kind not in LOOP_KINDS:  # a loop's only attribute shows as a trip count
            lines += [f"{name}={_format_constant(value)}" for name, value in node.attributes.items()
                      if name not in _HIDDEN_ATTRIBUTES]
        sliced = self._slice_text(node, inputs)
        if sliced is not None:  # aten::slice's folded dim/start/end/step as the Python slice they are
            lines.append(sliced)
        for position, (value, arg_name, arg_type) in enumerate(inputs):
            folded = self.folded.get(value.id)
            if folded is None or (folded.is_constant and self.constants == "hide"):
                continue
            if sliced is not None and arg_name in _SLICE_PARTS:
                self.shown_as[(node.id, value.id)] = sliced
                continue
            if node.kind in LOOP_KINDS:
                line = _loop_line(node, position, folded.text)
                if line:
                    lines.append(line)
                else:
                    self.omitted.add((node.id, value.id))
                continue
            if folded.is_constant and arg_name in node.defaults and folded.text == _format_constant(
                    node.defaults[arg_name]):
                self.omitted.add((node.id, value.id))
                continue  # left at the schema's default: says nothing
            text = _enum_name(arg_type, folded.text) if folded.is_constant else folded.text
            if text != folded.text:
                self.shown_as[(node.id, value.id)] = text
            lines.append(f"{arg_name}={text}" if arg_name else text)
        if node.kind == "prim::Loop" and node.attributes.get("unbounded"):
            lines.insert(1, "while loop")
        return _lines(lines)

    def _slice_text(self, node: ir.Node, inputs: list[tuple[ir.Value, str, str]]) -> str | None:
        """``[:, 1:]`` for ``aten::slice(x, dim=1, start=1, end=INT64_MAX, step=1)``, where every part
        is folded into the label (a trace writes "to the end" as INT64_MAX); None otherwise."""
        if not node.kind.startswith("aten::slice") or self.constants == "hide":
            return None
        parts: dict[str, str] = {}
        for value, arg_name, _ in inputs:
            if arg_name in _SLICE_PARTS:
                folded = self.folded.get(value.id)
                if folded is None:
                    return None  # a part computed at run time: drawn as an edge, named as it is
                parts[arg_name] = folded.text
        dim = parts.get("dim", "0")
        start = "" if parts.get("start", "None") in ("None", "0") else parts["start"]
        end = "" if parts.get("end", "None") in ("None", str(_INT64_MAX)) else parts["end"]
        step = "" if parts.get("step", "1") == "1" else f":{parts['step']}"
        inner = f"{start}:{end}{step}"
        if dim.isdigit() and int(dim) < 8:
            return "[" + ":, " * int(dim) + inner + "]"
        return f"dim {dim}: [{inner}]"

    def _shown(self, folded: _Folded) -> str:
        return "…" if folded.is_constant and self.constants == "hide" else folded.text


_SLICE_PARTS = ("dim", "start", "end", "step")
_MADE_UP = {CHECK_KIND, FOLDED_KIND}  # nodes jitviz.fold makes to stand for the model's
_INT64_MAX = 2**63 - 1
_METADATA = {"prim::dtype": "dtype", "prim::device": "device", "prim::layout": "layout"}
_HIDDEN_ATTRIBUTES = {"current", "lines", "unbounded"}

# c10's enums as TorchScript stores them in constants (c10/core/ScalarType.h, Layout.h, MemoryFormat.h);
# tests/test_render.py checks these numbers against torch itself.
_ENUMS = {
    "ScalarType": ["uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
                   "complex32", "complex64", "complex128", "bool", "qint8", "quint8", "qint32",
                   "bfloat16", "quint4x2", "quint2x4", "bits1x8", "bits2x4", "bits4x2", "bits8",
                   "bits16", "float8_e5m2", "float8_e4m3fn", "float8_e5m2fnuz", "float8_e4m3fnuz",
                   "uint16", "uint32", "uint64"],
    "Layout": ["strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc",
               "_mkldnn", "jagged"],
    "MemoryFormat": ["contiguous_format", "preserve_format", "channels_last", "channels_last_3d"],
}


def _enum_name(arg_type: str, text: str) -> str:
    """``dtype=6`` as ``dtype=float32``: an int constant passed where the schema wants an enum."""
    enum = re.sub(r"^Optional\[(.*)\]$", r"\1", arg_type.rstrip("?"))
    names = _ENUMS.get(enum)
    if names is None or not text.isdigit() or int(text) >= len(names):
        return text
    return names[int(text)]


def _loop_line(node: ir.Node, position: int, text: str) -> str | None:
    """A loop's folded inputs in Python's words: no trip count for a while loop, no ``True`` start."""
    if position == 0:
        return None if node.attributes.get("unbounded") else f"max_trip_count={text}"
    if position == 1:
        return None if text == "True" else f"start_condition={text}"
    return text


_SSA_SUFFIX = re.compile(r"^(.*\D)\.\d+$")


def _display_names(graph: ir.Graph) -> dict[str, str]:
    """Debug names without TorchScript's SSA suffix (``x.1`` as ``x``) where no other value has that name."""
    values = list(graph.inputs) + [v for n in graph.walk() for v in n.outputs] + [
        v for n in graph.walk() for b in n.blocks for v in b.params]
    bases: dict[str, set[str]] = {}
    for value in values:
        match = _SSA_SUFFIX.match(value.name)
        bases.setdefault(match.group(1) if match else value.name, set()).add(value.id)
    names = {}
    for value in values:
        match = _SSA_SUFFIX.match(value.name)
        if match and len(bases[match.group(1)]) == 1:
            names[value.id] = match.group(1)
    return names


def _inside(node: ir.Node) -> Iterator[ir.Node]:
    """Every node in ``node``'s blocks, nested ones included, in program order."""
    return itertools.islice(node.walk(), 1, None)


def _category(node: ir.Node) -> str:
    return "check" if node.kind in (CHECK_KIND, FOLDED_KIND) else category(node.kind)


def _call_arguments(node: ir.Node) -> list[ir.Value]:
    # a function's value is not one of its parameters; a method's first input is its `self`
    called = node.called()
    return node.inputs[1:] if called is not None and called.is_function else node.inputs


def _format_constant(value: object) -> str:
    """Constants as a reader would write them in Python: ``'a\\nb'``, ``[2, 3]``, ``None``."""
    if isinstance(value, (list, tuple)):
        items = ", ".join(_format_constant(item) for item in value)
        return f"({items},)" if isinstance(value, tuple) and len(value) == 1 else (
            f"({items})" if isinstance(value, tuple) else f"[{items}]")
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _shorten(line: str, limit: int | None) -> str:
    return line if limit is None or len(line) <= limit else line[: limit - 1] + "…"


def _lines(lines: list[str], limit: int | None = _MAX_LABEL_LINE) -> tuple[str, ...]:
    """Label lines as drawn: control characters made visible (a NUL or an escape in a source line
    would make the SVG invalid XML) and each line cut to ``limit``."""
    return tuple(_shorten(visible(line), limit) for line in lines)


def _line(text: str) -> str:
    """A tooltip as drawn: one line, made visible and cut."""
    return _shorten(visible(text), _MAX_TEXT)


def _tooltip(node: ir.Node) -> str:
    where = str(node.source) if node.source else "no source line recorded"
    return _line(f"{node.kind} ({where})")


def _block_ids(owner: ir.Node, index: int) -> tuple[str, str, str, str]:
    """A block's key and the DOT ids of its returns, cluster and parameters, named after the key
    (``n7_r0``, ``cluster_n7_b0``, ``n7_p0`` for ``n7/0``), so that an arm of a folded ``elif`` chain
    keeps the ids of the model block it is."""
    key = ir.block_key(owner, index)
    owner_id, number = key.rsplit("/", 1)
    return key, f"{owner_id}_r{number}", f"cluster_{owner_id}_b{number}", f"{owner_id}_p{number}"


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name) or "graph"
