"""Draw the plain graph model as a Graphviz ``Digraph``: which nodes appear, their labels and edges.

What the picture draws decides how fast ``dot`` lays it out: constants, ``self`` and the
``prim::GetAttr`` chains hanging off it are hub nodes with edges all over a model, so by default
they are folded into the labels of the nodes that use them (``other=2``, ``weight=self.fc.weight``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import graphviz

from . import ir
from .errors import GraphTooLargeError
from .style import CLUSTER_STYLE, EDGE_STYLE, GRAPH_STYLE, IF_KINDS, MARK_STYLES, NODE_STYLE, category

__all__ = ["Drawing", "draw", "to_dot", "CONSTANT_MODES", "DEFAULT_MAX_NODES", "RUNS_PLACEHOLDER"]

CONSTANT_MODES = ("fold", "nodes", "hide")
DEFAULT_MAX_NODES = 3000
# Above this many drawn nodes, layout speed comes first: edge labels become xlabels (placed after
# layout instead of as extra ranks) and dot's network-simplex passes are capped. Measured on the
# scripted 6-layer encoder expanded one level (1,837 nodes): 47 s with full layout, 1.1 s without.
_FAST_LAYOUT_NODES = 400
_MAX_LABEL_LINE = 48
_CONSTRUCTS = {"prim::ListConstruct": "[]", "prim::TupleConstruct": "()"}
_UNBOUNDED = "unbounded"
#: Put in a block's label by ``draw(..., run_counts=True)``; replaced by the count when painted.
RUNS_PLACEHOLDER = "ran ?×"


@dataclass
class Drawing:
    """The DOT of a graph, plus which block each drawn element belongs to.

    ``regions`` maps every node and cluster id in the DOT (and so in the SVG) to the key of the
    innermost block it sits in (:func:`jitviz.ir.block_key`), or ``None`` at the top level;
    ``edge_ends`` maps every edge id to its (tail, head) node ids. That is what :mod:`jitviz.paint`
    needs to show what ran without laying the graph out again.
    """

    dot: graphviz.Digraph
    regions: dict[str, str | None]
    edge_ends: dict[str, tuple[str, str]]

    @property
    def node_count(self) -> int:
        """How many nodes the picture draws (clusters and edges not counted)."""
        return sum(1 for element in self.regions if not element.startswith("cluster_"))


def to_dot(graph: ir.Graph, **options: object) -> graphviz.Digraph:
    """Lay the model out as DOT: ``to_dot(jitviz.graph(f, x)).source``; options as :func:`draw`."""
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
) -> Drawing:
    """Turn the model into DOT: ``draw(jitviz.graph(f, x)).dot.source``.

    With ``run_counts``, every block's label leaves room for how often it ran (filled in by
    :class:`jitviz.paint.Painter`). ``marks`` maps node ids to a short note drawn on the node, styled by ``mark_style``: ``"warn"``
    (red), ``"removed"`` (red, dashed) or ``"added"`` (green). With ``repeats``, a chain of calls
    to identical submodules (same code and parameter shapes, each feeding the next) is drawn
    once, marked ``×N``.

    ``constants`` is ``"fold"`` (into the label of each user, the default), ``"nodes"`` (drawn as
    nodes, as is every ``self``/``GetAttr``) or ``"hide"`` (left out). A picture of more than
    ``max_nodes`` nodes raises :class:`GraphTooLargeError` before Graphviz is asked to lay it out.
    """
    if constants not in CONSTANT_MODES:
        raise ValueError(
            f"constants must be one of {', '.join(map(repr, CONSTANT_MODES))}, not {constants!r}"
        )
    if mark_style not in MARK_STYLES:
        raise ValueError(f"mark_style must be one of {', '.join(map(repr, MARK_STYLES))}, not {mark_style!r}")
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"rankdir must be 'TB', 'LR', 'BT' or 'RL', not {rankdir!r}")
    return _Builder(graph, constants, max_nodes, rankdir, run_counts=run_counts,
                    marks=dict(marks or {}), mark_style=mark_style, repeats=repeats).build()


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
    edges: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    regions: dict[str, str | None] = field(default_factory=dict)
    edge_ends: dict[str, tuple[str, str]] = field(default_factory=dict)
    fast_layout: bool = False

    def build(self) -> "Drawing":
        if self.constants != "nodes":
            self._fold_values(self.graph.inputs, self.graph.nodes)
        if self.repeats:
            self._find_chains()
        self.fast_layout = self._check_budget() > _FAST_LAYOUT_NODES
        dot = graphviz.Digraph(name=_safe_name(self.graph.name))
        dot.attr("graph", rankdir=self.rankdir, **GRAPH_STYLE["graph"])
        if self.fast_layout:
            dot.attr("graph", nslimit="1", nslimit1="1")
        dot.attr("graph", label=_text([f"{self.graph.name} ({self.graph.origin})"] + self.graph.notes,
                                      limit=None))
        dot.attr("node", **GRAPH_STYLE["node"])
        dot.attr("edge", **GRAPH_STYLE["edge"])
        for value in self.graph.inputs:
            self._emit_input(dot, value)
        if any(node.scope for node in self.graph.nodes):
            self._emit_scoped(dot, self.graph.nodes, "")
        else:
            self._emit_nodes(dot, self.graph.nodes, None)
        for index, value in enumerate(self.graph.outputs):
            name = "output" if len(self.graph.outputs) == 1 else f"output {index}"
            node_id = f"out_{index}"
            label = [f"{name}: {value.type}"]
            if value.id in self.folded:
                label.append(self._shown(self.folded[value.id]))
            self._node(dot, node_id, _text(label), _text([f"%{value.name}"]), NODE_STYLE["output"], None)
            self._edge_from(value, node_id)
        for number, (tail, head, attributes) in enumerate(self.edges):
            if self.fast_layout and "label" in attributes:
                attributes["xlabel"] = attributes.pop("label")
            edge_id = f"e{number}"
            dot.edge(tail, head, id=edge_id, **attributes)
            self.edge_ends[edge_id] = (tail, head)
        return Drawing(dot, self.regions, self.edge_ends)

    # --- what gets folded ----------------------------------------------------------------------

    def _fold_values(self, inputs: list[ir.Value], nodes: list[ir.Node]) -> None:
        for value in inputs:
            if value.is_module:
                self.folded[value.id] = _Folded("self", is_constant=False)
        self._fold_nodes(nodes)

    def _fold_nodes(self, nodes: list[ir.Node]) -> None:
        for node in nodes:
            if node.kind == "prim::Constant" and len(node.outputs) == 1:
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
                self._fold_nodes(block.nodes)

    def _is_folded_node(self, node: ir.Node) -> bool:
        if node.id in self.merged:
            return True
        return bool(node.outputs) and not node.blocks and all(
            v.id in self.folded for v in node.outputs
        )

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
        lists = [self.graph.nodes] + [b.nodes for n in self.graph.walk() for b in n.blocks]
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
        count = len(self.graph.inputs) + len(self.graph.outputs) + self._count(self.graph.nodes)
        if count > self.max_nodes:
            raise GraphTooLargeError(
                f"This picture would have {count} nodes, more than max_nodes={self.max_nodes}; "
                "Graphviz would take minutes or never finish. Draw less: leave calls collapsed "
                "(expand_calls=False), use constants='fold', draw a submodule on its own "
                f"(jitviz.show(model.layer1, ...)), or raise max_nodes if you really want it all."
            )
        return count

    def _count(self, nodes: list[ir.Node]) -> int:
        count = 0
        for node in nodes:
            if self._is_folded_node(node):
                continue
            count += 1
            if node.blocks and node.outputs:
                count += 1  # the join node
            for block in node.blocks:
                count += 1 + bool(block.params) + self._count(block.nodes)
        return count

    # --- emitting DOT ----------------------------------------------------------------------------

    def _node(self, container: graphviz.Digraph, node_id: str, label: str, tooltip: str,
              style: dict[str, str], key: str | None) -> None:
        if node_id in self.marks:
            symbol = {"warn": "⚠ ", "removed": "− ", "added": "+ "}[self.mark_style]
            label = graphviz.nohtml(f"{label}\\n{_text([symbol + self.marks[node_id]])}")
            style = {**style, **MARK_STYLES[self.mark_style]}
        container.node(node_id, label, tooltip=tooltip, id=node_id, **style)
        self.regions[node_id] = key

    def _emit_input(self, dot: graphviz.Digraph, value: ir.Value) -> None:
        node_id = f"in_{value.id}"
        label = [f"{value.name}: {value.type}"] + ([f"({value.role})"] if value.role else [])
        style = NODE_STYLE["parameter" if value.role else "input"]
        self._node(dot, node_id, _text(label), _text([f"graph input %{value.name}"]), style, None)
        self.producer[value.id] = node_id

    def _emit_nodes(self, container: graphviz.Digraph, nodes: list[ir.Node], key: str | None) -> None:
        for node in nodes:
            if self._is_folded_node(node):
                continue
            if node.blocks:
                self._emit_structured(container, node, key)
            else:
                label = self._node_label(node)
                chain = self.chains.get(node.id)
                if chain:
                    paths = f"{chain[0].attributes.get('module_path')} … {chain[-1].attributes.get('module_path')}"
                    label = graphviz.nohtml(f"{label}\\n{_text([f'×{len(chain)} ({paths})'])}")
                self._node(container, node.id, label, _tooltip(node), NODE_STYLE[category(node.kind)], key)
                self._edges_into(node)
                for value in (chain[-1] if chain else node).outputs:
                    self.producer[value.id] = node.id

    def _emit_scoped(self, container: graphviz.Digraph, nodes: list[ir.Node], prefix: str) -> None:
        """Top-level nodes that recorded a module scope (inlined traces, exported programs), in one
        cluster per submodule, nested as the modules are: ``layers.0`` holds ``layers.0.fc``."""
        here = [n for n in nodes if n.scope == prefix or (not prefix and not n.scope)]
        self._emit_nodes(container, here, None)
        children: list[str] = []
        for node in nodes:
            if node.scope and node.scope != prefix and (not prefix or node.scope.startswith(prefix + ".")):
                child = node.scope[len(prefix) + 1 if prefix else 0 :].split(".")[0]
                path = f"{prefix}.{child}" if prefix else child
                if path not in children:
                    children.append(path)
        for path in children:
            inside = [n for n in nodes if n.scope == path or n.scope.startswith(path + ".")]
            with container.subgraph(name=f"cluster_scope_{_safe_name(path)}") as cluster:
                cluster.attr(label=_text([path]), **CLUSTER_STYLE["scope"])
                self._emit_scoped(cluster, inside, path)

    def _emit_structured(self, container: graphviz.Digraph, node: ir.Node, key: str | None) -> None:
        """A node with blocks (if, loop, expanded call): a cluster holding one cluster per block."""
        kind = category(node.kind)
        with container.subgraph(name=f"cluster_{node.id}") as cluster:
            title = node.callee or (node.source.code if node.source and node.source.code else node.kind)
            cluster.attr(label=_text([title]), tooltip=_tooltip(node), id=f"cluster_{node.id}",
                         **CLUSTER_STYLE[kind])
            self.regions[f"cluster_{node.id}"] = key
            self._node(cluster, node.id, self._node_label(node), _tooltip(node), NODE_STYLE[kind], key)
            self._edges_into(node)
            for index, block in enumerate(node.blocks):
                self._emit_block(cluster, node, index, block)
            if node.outputs:
                join = f"{node.id}_join"
                word = {"if": "end if", "loop": "end loop"}.get(kind, "return")
                self._node(cluster, join, _text([word]), _tooltip(node), NODE_STYLE["join"], key)
                for index, block in enumerate(node.blocks):
                    self.edges.append((f"{node.id}_r{index}", join, dict(EDGE_STYLE["control"])))
                for value in node.outputs:
                    self.producer[value.id] = join

    def _emit_block(self, cluster: graphviz.Digraph, owner: ir.Node, index: int, block: ir.Block) -> None:
        key = ir.block_key(owner, index)
        returns_id = f"{owner.id}_r{index}"
        cluster_id = f"cluster_{owner.id}_b{index}"
        with cluster.subgraph(name=cluster_id) as box:
            label = f"{block.label} · {RUNS_PLACEHOLDER}" if self.run_counts else block.label
            box.attr(label=_text([label]), id=cluster_id, **CLUSTER_STYLE["block"])
            self.regions[cluster_id] = key
            entry_label = {0: "true", 1: "false"}.get(index, "") if owner.kind in IF_KINDS else ""
            control = dict(EDGE_STYLE["control"])
            if entry_label:
                control["label"] = _text([entry_label])
            if block.params:
                params_id = f"{owner.id}_p{index}"
                lines = [f"%{v.name}: {v.type}" for v in block.params]
                self._node(box, params_id, _text(lines), _text(["block parameters"]),
                           NODE_STYLE["block"], key)
                self.edges.append((owner.id, params_id, control))
                for value in block.params:
                    self.producer.setdefault(value.id, params_id)
                if owner.kind == "prim::Loop":
                    carry = dict(EDGE_STYLE["carry"], label=_text(["next iteration"]))
                    self.edges.append((returns_id, params_id, carry))
            else:
                first = next((n for n in block.nodes if not self._is_folded_node(n)), None)
                self.edges.append((owner.id, first.id if first else returns_id, control))
            self._emit_nodes(box, block.nodes, key)
            shown = ", ".join(
                self._shown(self.folded[v.id]) if v.id in self.folded else f"%{v.name}"
                for v in block.returns
            )
            self._node(box, returns_id, _text([f"-> ({shown})"]), _text([f"{block.label} returns"]),
                       NODE_STYLE["block"], key)
            for value in block.returns:
                self._edge_from(value, returns_id)

    def _edges_into(self, node: ir.Node) -> None:
        for value in node.inputs:
            self._edge_from(value, node.id)

    def _edge_from(self, value: ir.Value, head: str) -> None:
        if value.id in self.folded:
            return
        tail = self.producer.get(value.id)
        if tail is not None:
            self.edges.append((tail, head, dict(EDGE_STYLE["data"], label=_text([value.type]))))

    # --- labels ----------------------------------------------------------------------------------

    def _node_label(self, node: ir.Node) -> str:
        lines = [node.kind]
        inputs = list(zip(node.inputs, node.arg_names or [""] * len(node.inputs)))
        if node.callee is not None:
            module_type = node.attributes.get("module_type")
            if module_type is not None:  # "layers.0: TransformerEncoderLayer", then the method if not forward
                method = node.callee.rsplit(".", 1)[-1]
                lines = [f"{node.attributes.get('module_path') or 'self'}: {module_type}"
                         + ("" if method == "forward" else f".{method}"), node.kind]
            else:
                lines.append(node.callee)
            inputs = inputs[1:]  # the module or function being called: named on the line above
        if node.callee is None and node.kind != "prim::Loop":  # a loop's only attribute shows as a trip count
            lines += [f"{name}={_format_constant(value)}" for name, value in node.attributes.items()]
        for position, (value, arg_name) in enumerate(inputs):
            folded = self.folded.get(value.id)
            if folded is None or (folded.is_constant and self.constants == "hide"):
                continue
            text = folded.text
            if node.kind == "prim::Loop" and position == 0 and node.attributes.get("unbounded"):
                text = _UNBOUNDED
            lines.append(f"{arg_name}={text}" if arg_name else text)
        return _text(lines)

    def _shown(self, folded: _Folded) -> str:
        return "…" if folded.is_constant and self.constants == "hide" else folded.text


def _call_arguments(node: ir.Node) -> list[ir.Value]:
    # prim::CallFunction's first input is the function itself; a method's first input is `self`.
    return node.inputs[1:] if node.kind == "prim::CallFunction" else node.inputs


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


def _text(lines: list[str], limit: int | None = _MAX_LABEL_LINE) -> str:
    """One label or tooltip: lines cut to ``limit``, escaped for DOT, joined by DOT's line breaks."""
    return graphviz.nohtml("\\n".join(graphviz.escape(_shorten(line, limit)) for line in lines))


def _tooltip(node: ir.Node) -> str:
    where = str(node.source) if node.source else "no source line recorded"
    return _text([f"{node.kind} ({where})"], limit=None)


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name) or "graph"
