"""The plain graph model: TorchScript's IR as Python dataclasses, with no torch and no graphviz.

A :class:`Graph` is what ``jitviz.graph(...)`` returns. It mirrors ``torch._C.Graph``:

* a graph has inputs, a list of nodes and outputs;
* a node has a kind (``aten::mul``, ``prim::If``), input and output values, attributes, the Python
  source line it came from, and nested blocks (the branches of ``prim::If``, the body of
  ``prim::Loop``, the callee of an expanded call);
* a block has parameters, nodes and returns, exactly like a small graph.

Invariants: every value is produced once (a graph input, a block parameter or a node output), value
and node ids are unique within a graph and are assigned in program order, so that converting the
same TorchScript graph twice gives equal models.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from .errors import GraphInvariantError
from .text import plural

#: The node kinds of a ``torch.compile`` capture (:mod:`jitviz.extract.compiled`): a compiled graph,
#: drawn as a frame holding its nodes, and a graph break between two of them.
COMPILED_GRAPH = "compile::graph"
GRAPH_BREAK = "compile::break"

__all__ = ["COMPILED_GRAPH", "GRAPH_BREAK", "Literal", "SourceLocation", "Value", "Node", "Block", "Graph",
           "Execution", "block_key", "TracerWarningNote", "GraphInvariantError"]


@dataclass(frozen=True)
class Literal:
    """A constant with no plain-Python form, kept as its display text: ``Literal("device('cpu')")``."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class SourceLocation:
    """Where a node came from: ``SourceLocation("model.py", 12, "return x * 2")``."""

    file: str
    line: int
    code: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.code}"


@dataclass(frozen=True)
class TracerWarningNote:
    """A TracerWarning raised while tracing, and the line that raised it."""

    where: SourceLocation
    message: str


@dataclass(eq=False)
class Value:
    """A value flowing along an edge: ``Value("v0", "x", "Float(2, 2)")``.

    ``id`` is unique in the graph; ``name`` is TorchScript's debug name (``x``, ``5``, ``y.1``);
    ``type`` is a short type string such as ``Tensor``, ``Float(2, 2)``, ``int`` or ``bool``;
    ``is_module`` marks a value that is an ``nn.Module`` (``self`` and its submodules),
    ``is_function`` TorchScript's value of a function that ``prim::CallFunction`` calls; ``role``
    says what a graph input of an exported program is: ``"parameter"``, ``"buffer"``,
    ``"constant"``, or ``""`` for an input the caller passes.
    """

    id: str
    name: str
    type: str
    is_module: bool = False
    role: str = ""
    is_function: bool = False

    def __repr__(self) -> str:
        return f"Value(%{self.name} : {self.type})"


@dataclass(eq=False)
class Block:
    """A nested block: ``Block("then", params=[], nodes=[...], returns=[value])``.

    ``key`` is set only on a block a drawing regroups (the arms of an ``elif`` chain drawn as one
    decision, :mod:`jitviz.fold`): the :func:`block_key` of the model's block it is, so that what
    ran is still counted and painted per model block.
    """

    label: str
    params: list[Value] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    returns: list[Value] = field(default_factory=list)
    key: str = ""


@dataclass(eq=False)
class Node:
    """One operation: ``Node("n3", "aten::mul", inputs=[x, two], outputs=[y])``.

    ``arg_names`` holds the schema's argument name for each input where the op has a schema
    (``self``, ``other``), else an empty string; ``arg_types`` the schema's type of each input
    (``ScalarType?``, ``int[]``, or ``""``); ``defaults`` the schema's default value of each
    argument that has one (``{"alpha": 1}``); ``writes`` the positions of the inputs the op
    mutates (``aten::append`` writes its list, ``aten::add_`` its tensor). ``callee`` names what a
    ``prim::CallFunction`` or ``prim::CallMethod`` calls; ``scope`` is the module path the tracer
    recorded, if any. ``members`` is only set on the nodes a picture makes up to stand for several
    (a folded check): the model's nodes it stands for.
    """

    id: str
    kind: str
    inputs: list[Value] = field(default_factory=list)
    outputs: list[Value] = field(default_factory=list)
    attributes: dict[str, object] = field(default_factory=dict)
    arg_names: list[str] = field(default_factory=list)
    source: SourceLocation | None = None
    blocks: list[Block] = field(default_factory=list)
    callee: str | None = None
    scope: str = ""
    arg_types: list[str] = field(default_factory=list)
    defaults: dict[str, object] = field(default_factory=dict)
    writes: tuple[int, ...] = ()
    members: list[Node] = field(default_factory=list)

    def walk(self) -> Iterator[Node]:
        """This node, then every node nested in its blocks, in program order."""
        yield self
        for block in self.blocks:
            yield from _walk(block.nodes)

    def called(self) -> Value | None:
        """The input a call calls, named on the call's label rather than read as data: the module
        whose method it calls (``self``, a submodule) or TorchScript's function value; ``None`` for
        other nodes, and for a call whose inputs are all data (a traced ``F`` call jitviz recorded)."""
        if self.callee is None or not self.inputs:
            return None
        first = self.inputs[0]
        return first if first.is_module or first.is_function else None

    def reads(self) -> Iterator[Value]:
        """Every value this node uses, its blocks' uses and returns included."""
        yield from self.inputs
        for block in self.blocks:
            for inner in block.nodes:
                yield from inner.reads()
            yield from block.returns

    def made(self) -> Iterator[Value]:
        """Every value this node makes: its outputs, its blocks' parameters, what is made inside."""
        yield from self.outputs
        for block in self.blocks:
            yield from block.params
            for inner in block.nodes:
                yield from inner.made()

    def __repr__(self) -> str:
        outs = ", ".join(f"%{v.name}" for v in self.outputs)
        ins = ", ".join(f"%{v.name}" for v in self.inputs)
        return f"Node({outs} = {self.kind}({ins}))"


@dataclass(eq=False)
class Graph:
    """A whole graph: ``jitviz.graph(lambda x: x * 2, torch.ones(2))`` returns one.

    ``origin`` says how it was obtained: ``"traced"``, ``"scripted"``, ``"loaded"`` (a file saved
    with ``torch.jit.save``), ``"graph"`` (a ``torch._C.Graph``), ``"exported"`` (an
    ``ExportedProgram``), ``"fx"`` (a ``torch.fx.GraphModule``) or ``"loaded .pt2"`` (a file saved
    with ``torch.export.save``).
    """

    name: str
    origin: str
    inputs: list[Value] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    outputs: list[Value] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # shown under the picture's title

    def call_depth(self) -> int:
        """How deeply expanded calls nest (0 when every call is collapsed)."""
        return _call_depth(self.nodes)

    def collapsed(self, depth: int) -> Graph:
        """A copy whose calls are expanded at most ``depth`` levels deep (nodes and values shared)."""
        return Graph(self.name, self.origin, self.inputs, _collapse(self.nodes, depth), self.outputs,
                     list(self.notes))

    def walk(self) -> Iterator[Node]:
        """Every node, nested blocks included, in program order."""
        yield from _walk(self.nodes)

    def kinds(self) -> Counter[str]:
        """How many nodes of each kind, nested blocks included."""
        return Counter(node.kind for node in self.walk())

    def find(self, kind: str) -> list[Node]:
        """All nodes of one kind, nested blocks included: ``g.find("prim::If")``."""
        return [node for node in self.walk() if node.kind == kind]

    def summary(self) -> str:
        """A one-line, deterministic description, e.g. ``9 nodes, 1 prim::If``."""
        kinds = self.kinds()
        parts = [plural(sum(kinds.values()), "node")]
        for special in ("prim::If", "prim::Loop", "prim::CallFunction", "prim::CallMethod"):
            if kinds[special]:
                parts.append(f"{kinds[special]} {special}")
        return ", ".join(parts)

    def validate(self) -> Graph:
        """Check the model's invariants, in the spirit of ``torch.fx.Graph.lint()``; return the graph.

        Every value is produced once (a graph input, a block parameter or a node output), node ids
        and value ids are unique, and every use (a node's input, a block's return, a graph output)
        is produced earlier in its own block or an enclosing one. Raises :class:`GraphInvariantError`
        naming the first broken invariant: ``jitviz.graph(f).validate()``.
        """
        _Checker().graph(self)
        return self


def _collapse(nodes: list[Node], depth: int) -> list[Node]:
    result = []
    for node in nodes:
        if not node.blocks:
            result.append(node)
            continue
        is_call = node.callee is not None
        if is_call and depth == 0:
            blocks: list[Block] = []
        else:
            inner = depth - 1 if is_call else depth
            blocks = [Block(b.label, b.params, _collapse(b.nodes, inner), b.returns, b.key) for b in node.blocks]
        result.append(dataclasses.replace(node, blocks=blocks))
    return result


def _call_depth(nodes: list[Node]) -> int:
    deepest = 0
    for node in nodes:
        for block in node.blocks:
            inner = _call_depth(block.nodes) + (1 if node.callee is not None else 0)
            deepest = max(deepest, inner)
    return deepest


def _walk(nodes: list[Node]) -> Iterator[Node]:
    for node in nodes:
        yield node
        for block in node.blocks:
            yield from _walk(block.nodes)


def block_key(node: Node, index: int) -> str:
    """The name of a node's ``index``-th block in an :class:`Execution`: ``"n7/0"``.

    A block that stands for a model block of another node (an arm of a folded ``elif`` chain) is
    named after that one: its ``key``.
    """
    if index < len(node.blocks) and node.blocks[index].key:
        return node.blocks[index].key
    return f"{node.id}/{index}"


@dataclass
class Execution:
    """How often each block ran for one set of inputs: ``Execution({"n7/0": 1, "n7/1": 0})``.

    A block missing from ``block_runs`` is one whose count is unknown (for example the body of a
    collapsed call); ``note`` says what the counts cover.
    """

    block_runs: dict[str, int]
    note: str = ""

    def summary(self) -> str:
        """``"2 of 4 blocks ran"``: deterministic, for a picture's text form."""
        ran = sum(1 for count in self.block_runs.values() if count > 0)
        return f"{ran} of {len(self.block_runs)} blocks ran"

    def runs(self, key: str | None) -> int | None:
        """Runs of a block (``None`` for the top level, which ran once)."""
        if key is None:
            return 1
        return self.block_runs.get(key)


class _Checker:
    """One check for :meth:`Graph.validate`: first every producer and id, then what each use can see."""

    def __init__(self) -> None:
        self._producers: dict[int, str] = {}  # id(Value) -> where it is produced, for the messages
        self._value_ids: dict[str, str] = {}  # Value.id -> where it is produced
        self._node_ids: set[str] = set()

    def graph(self, graph: Graph) -> None:
        # producers first, so that a use can be told apart as "produced nowhere" or "not visible here"
        self._produce(graph.inputs, "graph input")
        self._register(graph.nodes)
        scope = {id(value) for value in graph.inputs}
        self._see(graph.nodes, scope)
        self._uses(graph.outputs, scope, "graph output")

    def _register(self, nodes: list[Node]) -> None:
        for node in nodes:
            if node.id in self._node_ids:
                raise GraphInvariantError(f"node id {node.id!r} is used by two nodes (the second: {node!r})")
            self._node_ids.add(node.id)
            for index, block in enumerate(node.blocks):
                self._produce(block.params, f"parameter of {_block_name(node, index)}")
                self._register(block.nodes)
            self._produce(node.outputs, f"output of node {node.id} {node!r}")

    def _produce(self, values: list[Value], where: str) -> None:
        for value in values:
            if id(value) in self._producers:
                raise GraphInvariantError(
                    f"value %{value.name} ({value.id}) is produced twice: as {self._producers[id(value)]} "
                    f"and as {where}")
            if value.id in self._value_ids:
                raise GraphInvariantError(
                    f"value id {value.id!r} is given to two values: {self._value_ids[value.id]} and {where}")
            self._producers[id(value)] = where
            self._value_ids[value.id] = where

    def _see(self, nodes: list[Node], scope: set[int]) -> None:
        """Walk in program order; ``scope`` grows with each output (a block sees its enclosing values)."""
        for node in nodes:
            self._uses(node.inputs, scope, f"input of node {node.id} {node!r}")
            for index, block in enumerate(node.blocks):
                inner = scope | {id(value) for value in block.params}
                self._see(block.nodes, inner)
                self._uses(block.returns, inner, f"return of {_block_name(node, index)}")
            scope.update(id(value) for value in node.outputs)

    def _uses(self, values: list[Value], scope: set[int], where: str) -> None:
        for value in values:
            if id(value) in scope:
                continue
            if id(value) in self._producers:
                raise GraphInvariantError(
                    f"value %{value.name} ({value.id}), the {where}, is used where it is not visible: it is "
                    f"the {self._producers[id(value)]}, which comes later or sits in a block that does not "
                    "enclose this use")
            raise GraphInvariantError(
                f"value %{value.name} ({value.id}), the {where}, is produced nowhere in the graph")


def _block_name(node: Node, index: int) -> str:
    return f"block {index} ({node.blocks[index].label!r}) of node {node.id}"
