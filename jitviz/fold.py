"""Fold what only checks or explains into compact nodes, so that a picture shows the data flow.

Library code spends most of its nodes on work that never reaches an output: argument checks that
raise (``if input.dim() not in (1, 2): raise ValueError(...)``), warnings, the messages they format,
the 20-term condition that picks a fast path, and the branch a module in eval mode never takes.
:func:`fold` rewrites a :class:`~jitviz.ir.Graph` for drawing (the model itself is left alone):

* **aliases**: ``prim::unchecked_cast`` and an ``if`` whose branches all hand back the same outer
  value (``hx`` refined from ``Tensor?`` to ``Tensor``) are the same value as what they wrap;
* **liveness**: walking back from the outputs and the side effects marks every value as *data*
  (it reaches an output or a mutation), *condition* (it only decides a branch) or *check* (it only
  feeds a raise, a warning or its message);
* **conditions**: a branch's condition that takes more than ``SMALL_CONDITION`` operations, or
  control flow of its own, is folded into the ``if`` node, which then reads the values the
  condition read (``if not why_not_sparsity_fast_path`` reads ``src`` and the masks);
* **checks**: each connected group of check nodes becomes one ``jitviz::check`` node that names
  the lines it checks and reads what they read;
* **eval mode**: in a module whose ``self.training`` is ``False``, the ``if self.training:`` branch
  becomes one ``jitviz::folded`` node;
* **elif chains**: an ``if``/``elif``/.../``else`` chain, which TorchScript writes as an ``if`` nested
  in the ``else`` block of the one before, is one decision with one block per arm (``if n == 0``,
  ``elif n == 1``, ..., ``else``), side by side, and every arm's condition folded into it. An ``else``
  block is taken for an ``elif`` when it holds nothing but the inner ``if`` and the nodes that compute
  only its condition, and returns exactly what that ``if`` returns. Each arm keeps the
  :func:`~jitviz.ir.block_key` of the model block it is (:attr:`jitviz.ir.Block.key`), so that what
  ran is still counted per arm.

Every folded node keeps the model's nodes it stands for in :attr:`jitviz.ir.Node.members`, so a
picture can still say which source lines it covers.
"""

from __future__ import annotations

import dataclasses
import io
import re
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass, field

from . import ir
from .text import plural

__all__ = ["fold", "Folded", "CHECK_KIND", "FOLDED_KIND", "SMALL_CONDITION"]

CHECK_KIND = "jitviz::check"
#: ``Folded.drawn_as`` of a node with nothing to show: no source line, no input, no result used.
DROPPED = "(nothing to show)"
FOLDED_KIND = "jitviz::folded"
#: A condition of at most this many non-tensor operations, without control flow, stays drawn.
SMALL_CONDITION = 2

_RAISES = {"prim::RaiseException"}
_CHECK_EFFECTS = {"prim::RaiseException", "aten::warn", "aten::_assert_async", "aten::_assert_scalar",
                  "aten::_assert_tensor_metadata", "aten::sym_constrain_range_for_size"}
_DATA_EFFECTS = {"prim::Print", "prim::SetAttr"}
# Nodes that stand for a value rather than compute one; they never tie two checks together.
_VALUE_LIKE = {"prim::Constant", "prim::GetAttr", "prim::Uninitialized"}

_NONE, _CHECK, _CONDITION, _DATA = range(4)
# The line of an if statement: `if n == 0:`, `elif x.dim() > 2:` (not `y = a if c else b`).
_IF_LINE = re.compile(r"^(?:el)?if\b\s*(.*?)\s*:?\s*$")


@dataclass
class _Chain:
    """An ``if``/``elif``/``else`` chain: its arms in order, and what its ``else`` blocks held besides."""

    arms: list[tuple[ir.Node, int, str]]  # (the if whose block it is, the block's index, the arm's label)
    cones: list[list[ir.Node]]  # per elif: the nodes computing only its condition, in its else block
    hoisted: list[ir.Node]  # constants and attributes of those else blocks: drawn before the decision

    @property
    def inner(self) -> list[ir.Node]:
        """The ``if`` nodes of the ``elif`` arms, each drawn as the decision."""
        return [owner for owner, _, _ in self.arms[1:-1]]


@dataclass
class Folded:
    """A graph rewritten for drawing, and how it relates to the model it came from.

    ``aliases`` maps a value id to the value drawn in its place; ``drawn_as`` maps the id of every
    model node that was folded to the id of the node that stands for it.
    """

    graph: ir.Graph
    aliases: dict[str, ir.Value] = field(default_factory=dict)
    drawn_as: dict[str, str] = field(default_factory=dict)
    #: ids of values a drawn block hands back only to decide a folded condition or check
    not_data: set[str] = field(default_factory=set)


def fold(graph: ir.Graph, *, conditions: bool = True, checks: bool = True, training: bool = True) -> Folded:
    """``fold(jitviz.graph(torch.nn.GRUCell(8, 8))).graph``: checks and long conditions folded."""
    return _Folder(graph, conditions=conditions, checks=checks, training=training).run()


class _Folder:
    def __init__(self, graph: ir.Graph, *, conditions: bool, checks: bool, training: bool) -> None:
        self.graph = graph
        self.want_conditions = conditions
        self.want_checks = checks
        self.want_training = training
        self.producer: dict[str, ir.Node] = {}
        self.order: dict[str, int] = {}  # node id -> position in program order
        self.owner: dict[str, ir.Node | None] = {}  # node id -> the node whose block holds it
        self.inside: dict[str, set[str]] = {}  # node id -> ids of values made inside its blocks
        self.users: dict[str, list[ir.Node]] = {}
        self.writers: dict[str, list[ir.Node]] = {}
        self.aliases: dict[str, ir.Value] = {}
        self.value_mode: dict[str, int] = {}
        self.node_mode: dict[str, int] = {}
        self.folded: dict[str, str] = {}  # model node id -> id of the node standing for it
        self.absorbed: dict[str, list[ir.Node]] = {}  # if node id -> condition nodes folded into it
        self.chains: dict[str, _Chain] = {}  # id of an elif chain's first if -> the chain
        self.chained: set[str] = set()  # ids of the ifs of elif arms (drawn as their chain's first)

    # --- analysis --------------------------------------------------------------------------------

    def run(self) -> Folded:
        self._index(self.graph.nodes, None)
        if not (self.want_checks or self.want_conditions or self.want_training):
            return Folded(self.graph)
        self._alias(self.graph.nodes)
        self.aliases_of: dict[str, list[str]] = {}  # value id -> ids of the values drawn as it
        for alias, target in self.aliases.items():
            self.aliases_of.setdefault(self._resolve(target).id, []).append(alias)
        self.needed = {self._resolve(v).id for v in self.graph.outputs}
        self.needed |= {self._resolve(v).id for n in self.graph.walk() for b in n.blocks for v in b.returns}
        self._liveness()
        training_blocks = self._training_blocks() if self.want_training else {}
        if self.want_conditions:
            self._find_chains(training_blocks)
            self._conditions()
        nodes = self._rewrite(self.graph.nodes, training_blocks)
        outputs = [self._resolve(v) for v in self.graph.outputs]
        folded_graph = ir.Graph(self.graph.name, self.graph.origin, self.graph.inputs, nodes, outputs,
                                list(self.graph.notes))
        not_data = {value_id for value_id in self.needed if self.value_mode.get(value_id, _NONE) != _DATA}
        return Folded(folded_graph, dict(self.aliases), dict(self.folded), not_data)

    def _index(self, nodes: list[ir.Node], owner: ir.Node | None) -> set[str]:
        made: set[str] = set()
        for node in nodes:
            self.order[node.id] = len(self.order)
            self.owner[node.id] = owner
            for position, value in enumerate(node.inputs):
                self.users.setdefault(value.id, []).append(node)
                if position in node.writes:
                    self.writers.setdefault(value.id, []).append(node)
            inner: set[str] = set()
            for block in node.blocks:
                for value in block.params:
                    self.producer[value.id] = node
                    inner.add(value.id)
                inner |= self._index(block.nodes, node)
            self.inside[node.id] = inner
            for value in node.outputs:
                self.producer[value.id] = node
                made.add(value.id)
            made |= inner
        return made

    def _resolve(self, value: ir.Value) -> ir.Value:
        while value.id in self.aliases:
            value = self.aliases[value.id]
        return value

    def _alias(self, nodes: list[ir.Node]) -> None:
        for node in nodes:
            for block in node.blocks:
                self._alias(block.nodes)
            if node.kind == "prim::unchecked_cast" and node.inputs and node.outputs:
                self.aliases[node.outputs[0].id] = self._resolve(node.inputs[0])
            elif node.kind == "prim::If" and node.callee is None:
                taken = [block for block in node.blocks if not _raises(block)]
                for index, output in enumerate(node.outputs):
                    if not taken or any(index >= len(block.returns) for block in taken):
                        continue
                    targets = {self._resolve(block.returns[index]).id: self._resolve(block.returns[index])
                               for block in taken}
                    if len(targets) == 1:
                        (target,) = targets.values()
                        if target.id not in self.inside[node.id]:
                            self.aliases[output.id] = target

    def _liveness(self) -> None:
        work: list[ir.Node] = []

        def mark_value(value: ir.Value, mode: int) -> None:
            value = self._resolve(value)
            if self.value_mode.get(value.id, _NONE) >= mode:
                return
            self.value_mode[value.id] = mode
            producer = self.producer.get(value.id)
            if producer is not None:
                work.append(producer)
            for writer in self.writers.get(value.id, ()):  # a list's appends matter as much as the list
                mark_node(writer, mode)

        def mark_node(node: ir.Node, mode: int) -> None:
            if self.node_mode.get(node.id, _NONE) < mode:
                self.node_mode[node.id] = mode
                work.append(node)

        for value in self.graph.outputs:
            mark_value(value, _DATA)
        for node in self.graph.walk():
            effect = _effect(node) or (_DATA if self._writes_state(node) else _NONE)
            if effect:
                mark_node(node, effect)
        while work:
            node = work.pop()
            mode = max(self.node_mode.get(node.id, _NONE),
                       max((self.value_mode.get(v.id, _NONE) for v in node.outputs), default=_NONE),
                       max((self.value_mode.get(v.id, _NONE) for b in node.blocks for v in b.params),
                           default=_NONE))
            if mode == _NONE:
                continue
            self.node_mode[node.id] = mode
            owner = self.owner.get(node.id)
            if owner is not None:
                mark_node(owner, mode)
            if node.kind == "prim::If" and node.callee is None:
                if node.inputs:
                    mark_value(node.inputs[0], _CONDITION if mode == _DATA else mode)
                for index, output in enumerate(node.outputs):  # an aliased output is never marked
                    output_mode = self.value_mode.get(output.id, _NONE)
                    for block in node.blocks:
                        if output_mode and index < len(block.returns):
                            mark_value(block.returns[index], output_mode)
            elif node.blocks:  # loops and expanded calls are drawn whole once they matter
                for value in node.inputs:
                    mark_value(value, mode)
                for block in node.blocks:
                    for value in block.returns:
                        mark_value(value, mode)
            else:
                for value in node.inputs:
                    mark_value(value, mode)

    # --- deciding what folds where ----------------------------------------------------------------

    def _writes_state(self, node: ir.Node) -> bool:
        """Whether ``node`` changes an object's attribute in place (``self.seen.append(y)``): what
        the module keeps, the caller sees later, so it is data, never a check."""
        for index in node.writes:
            if index < len(node.inputs):
                producer = self.producer.get(self._resolve(node.inputs[index]).id)
                if producer is not None and producer.kind == "prim::GetAttr":
                    return True
        return False

    def _mode(self, node: ir.Node) -> int:
        return self.node_mode.get(node.id, _NONE)

    def _conditions(self) -> None:
        """Fold each drawn ``if``'s long condition into it; short ones stay drawn."""
        cones: dict[str, list[ir.Node]] = {}
        for node in self.graph.walk():
            if node.kind == "prim::If" and node.callee is None and self._mode(node) == _DATA and node.inputs \
                    and node.id not in self.chains and node.id not in self.chained:
                cones[node.id] = self._cone(node.inputs[0])
        drawn: set[str] = set()
        for cone in cones.values():
            small = sum(1 for n in cone if not _makes_tensor(n) and n.kind not in _VALUE_LIKE) <= SMALL_CONDITION
            if small and not any(n.blocks for n in cone):
                drawn.update(n.id for n in cone)
        for node_id in drawn:
            self.node_mode[node_id] = _DATA
        for node in self.graph.walk():
            if node.id in cones:
                cone = [n for n in self._cone(node.inputs[0]) if n.kind not in _VALUE_LIKE]
                if cone:
                    self.absorbed[node.id] = cone
                    for member in _walk_all(cone):
                        self.folded.setdefault(member.id, node.id)
        for node in self.graph.walk():
            if node.id in self.chains:  # every arm's condition, short ones too: each arm's label says it
                chain = self.chains[node.id]
                cone = [n for n in self._cone(node.inputs[0]) if n.kind not in _VALUE_LIKE]
                cone += [n for arm in chain.cones for n in arm]
                if cone:
                    self.absorbed[node.id] = cone
                    for member in _walk_all(cone):
                        self.folded.setdefault(member.id, node.id)
                for inner in chain.inner:
                    self.folded[inner.id] = node.id
        by_id = {node.id: node for node in self.graph.walk()}
        for node_id in drawn:  # drawn condition nodes need their inputs drawn too
            for value in by_id[node_id].inputs:
                self._promote(value)

    def _promote(self, value: ir.Value) -> None:
        value = self._resolve(value)
        producer = self.producer.get(value.id)
        if producer is None or self._mode(producer) == _DATA or producer.id in self.absorbed:
            return
        if producer.kind in _VALUE_LIKE or not producer.blocks:
            self.node_mode[producer.id] = _DATA
            for inner in producer.inputs:
                self._promote(inner)

    def _cone(self, value: ir.Value) -> list[ir.Node]:
        """The nodes, not otherwise drawn, that compute ``value`` (with what is nested in them)."""
        cone: list[ir.Node] = []
        seen: set[str] = set()
        stack = [self._resolve(value)]
        while stack:
            current = stack.pop()
            producer = self.producer.get(current.id)
            if producer is None or producer.id in seen or self._mode(producer) == _DATA:
                continue
            if any(v.id == current.id for b in producer.blocks for v in b.params):
                continue  # a loop's or call's parameter: made by a drawn node
            seen.add(producer.id)
            cone.append(producer)
            stack.extend(self._resolve(v) for v in producer.reads())
            for value in producer.made():  # `checks.append(...)` belongs with the list it fills
                for writer in self.writers.get(value.id, ()):
                    if writer.id not in seen and self._mode(writer) != _DATA:
                        seen.add(writer.id)
                        cone.append(writer)
                        stack.extend(self._resolve(v) for v in writer.reads())
        nested = {inner.id for node in cone for inner in node.walk() if inner is not node}
        return sorted((node for node in cone if node.id not in nested), key=lambda node: self.order[node.id])

    def _training_blocks(self) -> dict[str, int]:
        """``if self.training:`` nodes of a module in eval mode: node id -> index of the training branch."""
        found = {}
        for node in self.graph.walk():
            if node.kind != "prim::If" or node.callee is not None or not node.inputs:
                continue
            flag = self.producer.get(self._resolve(node.inputs[0]).id)
            if flag is not None and flag.kind == "prim::GetAttr" and flag.attributes.get("name") == "training" \
                    and flag.attributes.get("current") is False and len(node.blocks) == 2 and node.blocks[0].nodes:
                found[node.id] = 0
        return found

    # --- elif chains ------------------------------------------------------------------------------

    def _find_chains(self, training_blocks: dict[str, int]) -> None:
        """Every ``if``/``elif``/``else`` chain of at least one ``elif``, found from its first ``if``."""
        for node in self.graph.walk():  # program order: a chain's first if comes before its elifs
            if node.id in self.chained or not self._decides(node, training_blocks):
                continue
            label = _arm_label(node, "if")
            if label is None:
                continue
            chain = _Chain([(node, 0, label)], [], [])
            last = node
            while (step := self._elif(last, training_blocks)) is not None:
                inner, cone, hoisted = step
                label = _arm_label(inner, "elif")
                if label is None:
                    break
                chain.arms.append((inner, 0, label))
                chain.cones.append(cone)
                chain.hoisted.extend(hoisted)
                last = inner
            if len(chain.arms) < 2:
                continue
            chain.arms.append((last, 1, "else"))
            self.chains[node.id] = chain
            self.chained.update(inner.id for inner in chain.inner)

    def _decides(self, node: ir.Node, training_blocks: dict[str, int]) -> bool:
        """A drawn two-way ``if`` of the user's code (not a check, not ``if self.training:`` folded)."""
        return (node.kind == "prim::If" and node.callee is None and len(node.blocks) == 2 and bool(node.inputs)
                and self._mode(node) == _DATA and node.id not in training_blocks)

    def _elif(self, node: ir.Node,
              training_blocks: dict[str, int]) -> tuple[ir.Node, list[ir.Node], list[ir.Node]] | None:
        """``node``'s else block as an ``elif``: (the inner if, its condition's nodes, the constants), or None.

        It is one when it holds nothing but that ``if``, constants, and nodes that compute the ``if``'s
        condition and are used by nothing else; and returns exactly the ``if``'s results.
        """
        block = node.blocks[1]
        rest = [n for n in block.nodes if n.kind not in _VALUE_LIKE]
        if not rest:
            return None
        inner, cone = rest[-1], rest[:-1]
        if not self._decides(inner, training_blocks) or [v.id for v in block.returns] != [v.id for v in inner.outputs]:
            return None
        made_here = {value.id: n for n in cone for value in n.outputs}
        reached: set[str] = set()
        stack = [inner.inputs[0]]
        while stack:
            producer = made_here.get(stack.pop().id)
            if producer is not None and producer.id not in reached:
                reached.add(producer.id)
                stack.extend(producer.reads())
        if len(reached) != len(cone):
            return None  # something else is computed there: drawn, the else block stays an else block
        members = {n.id for n in _walk_all(cone)}
        if any(self._mode(n) > _CONDITION for n in _walk_all(cone)):
            return None
        for value in (v for n in cone for v in n.made()):
            if any(user.id not in members and user is not inner for user in self._users_of(value)):
                return None  # the condition's value is used in an arm too
        return inner, cone, [n for n in block.nodes if n.kind in _VALUE_LIKE]

    def _decision(self, head: ir.Node, training_blocks: dict[str, int]) -> ir.Node:
        """The chain starting at ``head`` as one node: one block per arm, every condition folded in."""
        chain = self.chains[head.id]
        cone = self.absorbed.get(head.id, [])
        inputs = self._reads_from_outside(cone, also=[owner.inputs[0] for owner, _, _ in chain.arms[:-1]])
        blocks = []
        for owner, index, label in chain.arms:
            block = owner.blocks[index]
            blocks.append(ir.Block(label, block.params, self._rewrite(block.nodes, training_blocks),
                                   [self._resolve(v) for v in block.returns], ir.block_key(owner, index)))
        arms = len(chain.arms)
        attributes: dict[str, object] = {**head.attributes,
                                         "arms": ir.Literal(f"{arms} (if, {plural(arms - 2, 'elif')}, else)")}
        if cone:
            attributes["conditions"] = ir.Literal(_condition_text(cone))
        members = list({n.id: n for n in _walk_all(cone)}.values()) + chain.inner
        return dataclasses.replace(head, inputs=inputs, arg_names=[""] * len(inputs), attributes=attributes,
                                   blocks=blocks, members=members)

    # --- rewriting --------------------------------------------------------------------------------

    def _rewrite(self, nodes: list[ir.Node], training_blocks: dict[str, int]) -> list[ir.Node]:
        result: list[ir.Node] = []
        pending: list[ir.Node] = []  # consecutive folded nodes of this block, not yet emitted
        for node in nodes:
            if self._drawn(node):
                result.extend(self._flush(pending))
                pending = []
                if node.id in self.chains:
                    result.extend(self.chains[node.id].hoisted)
                result.append(self._rewritten(node, training_blocks))
            elif node.id not in self.folded:
                pending.append(node)
        result.extend(self._flush(pending))
        return result

    def _drawn(self, node: ir.Node) -> bool:
        if node.id in self.folded:
            return False
        mode = self._mode(node)
        if mode == _DATA or node.kind in _VALUE_LIKE:
            return True  # constants and attributes: the renderer folds them into their users' labels
        if mode == _CONDITION:
            return not self.want_conditions
        return not self.want_checks  # checks, and code whose result nothing uses

    def _flush(self, pending: list[ir.Node]) -> list[ir.Node]:
        """Group folded nodes of one block by the values they share; one unit node per group."""
        if not pending:
            return []
        # a cast or an if whose every output is drawn as what it passes on leaves nothing to show
        pending = [n for n in pending
                   if not (n.outputs and not n.blocks and all(v.id in self.aliases for v in n.outputs))]
        groups = _groups(pending, self.producer)
        units = []
        for group in groups:
            if all(n.kind in _VALUE_LIKE for n in group):
                continue  # nothing but unused constants and placeholders: nothing to show
            unit = self._unit(group, CHECK_KIND, _check_lines(group))
            if not unit.inputs and not unit.outputs and unit.source is None:
                # e.g. a traced nn.Identity: a call the tracer kept, whose None result nothing uses
                for member in unit.members:
                    self.folded[member.id] = DROPPED
                continue
            units.append(unit)
        return units

    def _unit(self, members: list[ir.Node], kind: str, lines: list[str]) -> ir.Node:
        reads = self._reads_from_outside(members)
        member_ids = {n.id for member in members for n in member.walk()}
        outputs = [v for member in members for v in member.outputs if v.id not in self.aliases and (
            v.id in self.needed or any(user.id not in member_ids for user in self._users_of(v)))]
        unit = ir.Node(
            id=f"{members[0].id}_fold", kind=kind, inputs=reads, outputs=outputs,
            attributes={"lines": lines}, arg_names=[""] * len(reads),
            source=next((n.source for n in members if n.source is not None), None),
            members=[n for member in members for n in member.walk()],
        )
        for member in unit.members:
            self.folded[member.id] = unit.id
        return unit

    def _reads_from_outside(self, nodes: list[ir.Node], also: list[ir.Value] | None = None) -> list[ir.Value]:
        """What ``nodes`` (then ``also``) read and do not make, each once, in order of use; constants
        and module attributes are left to the labels."""
        inside = {v.id for n in nodes for v in n.made()}
        reads: list[ir.Value] = []
        for value in [*(v for n in nodes for v in n.reads()), *(also or [])]:
            value = self._resolve(value)
            if value.id not in inside and value not in reads and not self._is_value_like(value):
                reads.append(value)
        return reads

    def _users_of(self, value: ir.Value) -> list[ir.Node]:
        """Who reads ``value``, directly or through an alias of it."""
        users = list(self.users.get(value.id, ()))
        for alias in self.aliases_of.get(value.id, ()):
            users.extend(self.users.get(alias, ()))
        return users

    def _is_value_like(self, value: ir.Value) -> bool:
        """Constants and module attributes (``self.fc.weight``): named in labels, never drawn as an
        edge into a fold. An attribute of an object the code made (a TorchScript class's instance)
        is drawn as a node, so a fold reads it by an edge."""
        if value.is_module:
            return True
        producer = self.producer.get(value.id)
        if producer is None or producer.kind not in _VALUE_LIKE:
            return False
        return producer.kind != "prim::GetAttr" or not producer.inputs or self._is_value_like(producer.inputs[0])

    def _rewritten(self, node: ir.Node, training_blocks: dict[str, int]) -> ir.Node:
        if node.id in self.chains:
            return self._decision(node, training_blocks)
        inputs = [self._resolve(v) for v in node.inputs]
        arg_names = list(node.arg_names)
        attributes = node.attributes
        members: list[ir.Node] = []
        if node.id in self.absorbed:
            cone = self.absorbed[node.id]
            inputs = self._reads_from_outside(cone)
            arg_names = [""] * len(inputs)
            attributes = {**node.attributes, "condition": ir.Literal(_condition_text(cone))}
            members = list({n.id: n for member in cone for n in member.walk()}.values())
        blocks = []
        for index, block in enumerate(node.blocks):
            if training_blocks.get(node.id) == index:
                body = self._training_unit(block)
            else:
                body = self._rewrite(block.nodes, training_blocks)
            blocks.append(ir.Block(block.label, block.params, body, [self._resolve(v) for v in block.returns],
                                   block.key))
        outputs = node.outputs
        return dataclasses.replace(node, inputs=inputs, arg_names=arg_names, attributes=attributes,
                                   blocks=blocks, outputs=outputs, members=members)

    def _training_unit(self, block: ir.Block) -> list[ir.Node]:
        members = [n for n in block.nodes if n.kind not in _VALUE_LIKE]
        if not members:
            return []
        for value in block.returns:
            self.value_mode[self._resolve(value).id] = _DATA
        lines = [f"training only: {plural(sum(1 for _ in _walk_all(members)), 'node')}",
                 "(this module is in eval mode)"]
        unit = self._unit(members, FOLDED_KIND, lines)
        return [n for n in block.nodes if n.kind in _VALUE_LIKE] + [unit]  # attributes fold into labels


def _raises(block: ir.Block) -> bool:
    return any(node.kind in _RAISES for node in block.nodes)


def _effect(node: ir.Node) -> int:
    if node.kind in _CHECK_EFFECTS:
        return _CHECK
    if node.kind in _DATA_EFFECTS:
        return _DATA
    if node.writes and any(_is_tensor(node.inputs[i].type) for i in node.writes if i < len(node.inputs)):
        return _DATA  # an in-place op on a tensor changes what the caller sees
    if not node.outputs and not node.blocks and not node.writes:
        return _DATA  # an op with no result is there for an effect we cannot judge: keep it
    return _NONE


def _makes_tensor(node: ir.Node) -> bool:
    return any(_is_tensor(v.type) for v in node.outputs)


def _walk_all(nodes: list[ir.Node]) -> Iterator[ir.Node]:
    for node in nodes:
        yield from node.walk()


def _groups(nodes: list[ir.Node], producer: dict[str, ir.Node]) -> list[list[ir.Node]]:
    """Connected groups: two nodes are together when one reads what the other (or its blocks) made."""
    parent = {node.id: node.id for node in nodes}

    def find(node_id: str) -> str:
        while parent[node_id] != node_id:
            parent[node_id] = parent[parent[node_id]]
            node_id = parent[node_id]
        return node_id

    maker: dict[str, str] = {}
    for node in nodes:
        if node.kind in _VALUE_LIKE:
            continue
        for value in node.made():
            maker[value.id] = node.id
    for node in nodes:
        for value in node.reads():
            other = maker.get(value.id)
            if other is not None and other != node.id:
                parent[find(node.id)] = find(other)
    # value-like nodes join the group of their first reader
    readers: dict[str, str] = {}
    for node in nodes:
        for value in node.reads():
            readers.setdefault(value.id, node.id)
    for node in nodes:
        if node.kind in _VALUE_LIKE:
            reader = next((readers[v.id] for v in node.outputs if v.id in readers), None)
            if reader is not None:
                parent[find(node.id)] = find(reader)
    ordered: dict[str, list[ir.Node]] = {}
    for node in nodes:
        ordered.setdefault(find(node.id), []).append(node)
    return list(ordered.values())


def _check_lines(group: list[ir.Node]) -> list[str]:
    """What a check node says: the line of each ``if`` it folds (or of its raise or warning).

    Lines inside torch's own helpers (``torch._assert`` is compiled from a ``<string>``) say nothing
    to the reader, so the user's own line that feeds the check stands in for them.
    """
    nodes = list(_walk_all(group))
    placed = [n for n in nodes if n.source is not None and not n.source.file.startswith("<")]
    roots = [n for n in placed if n.kind in ("prim::If", "aten::warn", "prim::RaiseException")]
    if any(n.kind == "prim::If" for n in roots):
        roots = [n for n in roots if n.kind != "prim::RaiseException"]  # the if's line says more
    lines: list[str] = []
    for node in roots or placed[:1]:
        assert node.source is not None
        text = f"{node.source.file}:{node.source.line}  {node.source.code}"
        if text not in lines:
            lines.append(text)
    return lines[:3] + ([f"… and {len(lines) - 3} more"] if len(lines) > 3 else [])


def _is_tensor(type_name: str) -> bool:
    """``Tensor``, ``Float(2, 3)``, ``Tensor?``, ``Optional[Tensor]``: not ``int``, ``Dict(str, Tensor)``."""
    inner = type_name.removeprefix("Optional[").removesuffix("]")
    head = inner.split("(")[0]
    return inner.startswith("Tensor") or ("(" in inner and head.isalpha() and head[0].isupper()
                                           and head not in ("Dict", "Tuple", "List", "Future", "Union"))


def _arm_label(node: ir.Node, word: str) -> str | None:
    """``elif n == 1`` for the ``if`` of ``elif n == 1:`` (or of ``if n == 1:`` nested in an ``else``);
    None where the line is no if statement (``y = a if c else b``): such a chain is not folded."""
    match = _IF_LINE.match(_without_comment(node.source.code.strip())) if node.source is not None else None
    if match is None or not match.group(1):
        return None
    return f"{word} {match.group(1)}"


def _without_comment(line: str) -> str:
    """``elif n == 1:  # small`` without its comment (a ``#`` in a string stays): Python's tokenizer
    tells them apart; a line it cannot read (a condition going on to the next line) is kept whole."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(line).readline):
            if token.type == tokenize.COMMENT and token.start[0] == 1:
                return line[:token.start[1]].rstrip()
    except (tokenize.TokenError, SyntaxError):
        pass
    return line


def _condition_text(cone: list[ir.Node]) -> str:
    nodes = list({n.id: n for n in _walk_all(cone)}.values())
    lines = sorted({n.source.line for n in nodes if n.source is not None})
    where = ""
    if lines:
        where = f", line {lines[0]}" if len(lines) == 1 else f", lines {lines[0]}–{lines[-1]}"
    return f"{len(nodes)} ops folded{where}"
