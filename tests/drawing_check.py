"""Check a drawing against its model: every use of a value is an edge, or is folded into a label.

``missing_uses(model, drawing)`` lists each use the picture dropped silently, as text. A use is
accounted for when the drawing has an edge from the drawn producer to the drawn user, when producer
and user are folded into the same drawn node (a check, an if with its condition), or when the value
is folded into text (a constant, ``self.fc.weight``, ``x.dtype``) that the user's label or fold
carries. It reads the drawing's elements, never its DOT.
"""

from __future__ import annotations

from jitviz import ir
from jitviz.drawing import IN_LABELS, Drawing
from jitviz.fold import DROPPED


def missing_uses(model: ir.Graph, drawing: Drawing) -> list[str]:
    edges = {edge.ends for edge in drawing.edges()}
    labels = {node.id: "\n".join(node.label) for node in drawing.nodes()}
    drawn_nodes = {node.id for node in drawing.nodes()}
    made_by: dict[str, str] = {}  # value id -> DOT node that makes it

    def resolve(value: ir.Value) -> ir.Value:
        while value.id in drawing.aliases:
            value = drawing.aliases[value.id]
        return value

    maker: dict[str, str] = {}  # value id -> model node that makes it
    for value in model.inputs:
        made_by[value.id] = f"in_{value.id}"
    for node in model.walk():
        for value in [*node.outputs, *(v for b in node.blocks for v in b.params)]:
            maker[value.id] = node.id
        shown = drawing.drawn_as.get(node.id, node.id)
        joined = f"{node.id}_join" if f"{node.id}_join" in drawn_nodes else shown
        for value in node.outputs:
            made_by[value.id] = joined if node.blocks and shown == node.id else shown
        for index, block in enumerate(node.blocks):
            for value in block.params:
                params = f"{node.id}_p{index}"
                made_by[value.id] = params if params in drawn_nodes else shown

    missing = []
    uses: list[tuple[ir.Value, str, str]] = []  # (value, DOT node using it, what uses it)
    for node in model.walk():
        shown = drawing.drawn_as.get(node.id)
        if shown is None:
            if not all(v.id in drawing.aliases for v in node.outputs) or (node.inputs and not node.outputs):
                missing.append(f"{node.kind} {node.id} is not drawn, folded or aliased")
            continue
        if shown == IN_LABELS:
            continue  # its inputs are named in the text it is folded into (self.fc.weight)
        if shown == DROPPED:
            used = {resolve(v).id for n in model.walk() if n is not node for v in n.inputs}
            if any(resolve(v).id in used for v in node.outputs) or node.source is not None:
                missing.append(f"{node.kind} {node.id} dropped, though it has a line or a used result")
            continue
        callee = [node.called()] if node.called() is not None else []  # named on the call's first line
        for value in node.inputs:
            if value not in callee:
                uses.append((value, shown, f"{node.kind} {node.id}"))
        for index, block in enumerate(node.blocks):
            returns = f"{node.id}_r{index}"
            if returns in drawn_nodes:
                for value in block.returns:
                    uses.append((value, returns, f"{block.label} returns of {node.id}"))
    for index, value in enumerate(model.outputs):
        uses.append((value, f"out_{index}", "graph output"))

    for value, head, what in uses:
        value = resolve(value)
        user = drawing.elements.get(head)
        if user is not None and (value.id in user.left_out or maker.get(value.id) in user.stands_for[1:]):
            continue  # left out of the label on purpose, or made inside the same fold
        if value.id in drawing.folded_values:
            text = user.shown_as.get(value.id, drawing.folded_values[value.id]) if user else drawing.folded_values[
                value.id]
            label = labels.get(head, "")
            if head in drawn_nodes and (text[:12] in label or label.endswith("…") or _is_fold(head, model, drawing)
                                        or _folded_itself(head, drawing)):
                continue
            missing.append(f"{what}: folded %{value.name} ({text!r}) not in the label of {head}")
            continue
        tail = made_by.get(value.id)
        if tail is None:
            missing.append(f"{what}: %{value.name} has no producer in the model")
        elif tail == head or (tail, head) in edges:
            continue
        else:
            missing.append(f"{what}: no edge {tail} -> {head} for %{value.name}")
    return missing


def _is_fold(head: str, model: ir.Graph, drawing: Drawing) -> bool:
    """Whether ``head`` stands for several model nodes (a check, an if with its condition)."""
    return sum(1 for shown in drawing.drawn_as.values() if shown == head) > 1


def _folded_itself(head: str, drawing: Drawing) -> bool:
    """A user that is itself folded into text (``self.fc`` in ``self.fc.weight``) uses its input there."""
    return head not in drawing.elements
