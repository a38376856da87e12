"""Module scopes as calls: the nodes an inlined graph recorded for one submodule, drawn as one node.

torch.export (like a trace drawn with ``inline=True``) inlines every submodule but records, for
each node, the chain of modules it ran in. :func:`collapse_scopes` turns each run of nodes from a
module that should stay closed into one call node that reads what they read and makes what later
nodes use, so that an exported program reads like a TorchScript module: ``layer1: Sequential``
until opened.
"""

from __future__ import annotations

import hashlib

from . import ir

__all__ = ["collapse_scopes", "on_the_way"]


def on_the_way(path: str, wanted: tuple[str, ...]) -> bool:
    """Whether submodule ``path`` is one of ``wanted`` or contains one of them: ``on_the_way("a", ("a.b",))``."""
    return any(w == path or w.startswith(path + ".") for w in wanted)


def collapse_scopes(graph: ir.Graph, chains: dict[str, list[tuple[str, str]]], depth: int,
                    paths: tuple[str, ...], kind: str) -> ir.Graph:
    """Each run of top-level nodes from one closed submodule becomes one call node of ``kind``.

    ``chains`` gives, for each node id, the modules it was called from, outermost first, as
    ``(path, type name)``; a module is open when it is less than ``depth`` deep or on the way to
    one of ``paths`` (as ``expand_calls`` means for TorchScript calls).
    """
    runs: list[tuple[tuple[str, str] | None, list[ir.Node]]] = []
    for node in graph.nodes:
        chain = chains.get(node.id, [])
        closed = next((link for level, link in enumerate(chain)
                       if level >= depth and not on_the_way(link[0], paths)), None)
        if runs and closed is not None and runs[-1][0] == closed:
            runs[-1][1].append(node)
        else:
            runs.append((closed, [node]))
    used_after: dict[str, int] = {}  # value id -> index of the last run reading it
    for index, (_, members) in enumerate(runs):
        for member in members:
            for value in member.reads():
                used_after[value.id] = index
    for value in graph.outputs:
        used_after[value.id] = len(runs)
    nodes: list[ir.Node] = []
    for index, (module, members) in enumerate(runs):
        if module is None:
            nodes.extend(members)
            continue
        made = {v.id for member in members for v in member.made()}
        reads: list[ir.Value] = []
        for member in members:
            for value in member.reads():
                if value.id not in made and value not in reads and not value.role:
                    reads.append(value)  # parameters belong to the module: not drawn as inputs
        outputs = [v for member in members for v in member.outputs if used_after.get(v.id, -1) > index]
        path, module_type = module
        signature = hashlib.sha1(repr((module_type, [m.kind for m in members],
                                       [v.type for v in reads], [v.type for v in outputs])).encode()).hexdigest()[:16]
        nodes.append(ir.Node(
            id=f"{members[0].id}_call", kind=kind, inputs=reads, outputs=outputs, arg_names=[""] * len(reads),
            callee=f"{path}.forward", scope="",
            attributes={"module_path": path, "module_type": module_type, "module_signature": signature},
            source=members[0].source, members=[n for member in members for n in member.walk()],
        ))
    return ir.Graph(graph.name, graph.origin, graph.inputs, nodes, graph.outputs, graph.notes)
