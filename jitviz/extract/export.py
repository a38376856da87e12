"""Turn ``torch.fx`` and ``torch.export`` graphs into the plain graph model.

The same picture language as TorchScript: placeholders become inputs (parameters and buffers
marked as such, from the program's graph signature), ``call_function`` nodes are named by their
op (``aten::mul.Tensor``), tensor metadata gives the edges' types (``Float(s0, 4)`` for a dynamic
dimension), and ``torch.cond`` becomes a node with a *true* and a *false* block, like ``prim::If``.
"""

from __future__ import annotations

import itertools
import operator
import os
import re
from pathlib import Path
from typing import Any

import torch
import torch.fx
from torch.fx.passes.shape_prop import TensorMetadata

from .. import ir
from ..errors import TRUST_ADVICE, NotTorchScriptFileError, UntrustedFileError
from ..scopes import collapse_scopes
from . import zipcheck
from .torchscript import ExpandCalls, _expansion, plain, scalar_name, short_file

__all__ = ["accepts", "convert", "COND_KIND", "CALL_MODULE"]

COND_KIND = "higher_order::cond"
#: A submodule of an exported program drawn as one node, like a collapsed TorchScript call.
CALL_MODULE = "call_module"
# Blocks of higher-order ops, in the order of their subgraph arguments.
_BLOCK_LABELS = {COND_KIND: ["true branch", "false branch"],
                 "higher_order::while_loop": ["condition", "loop body"]}
_FRAME = re.compile(r'File "([^"]+)", line (\d+), in [^\n]*\n\s*(.*)')
# What torch 2.13's export puts in the module stack of a node it adds outside every module (the
# `sym_size` that reads a dynamic dimension): no module at all, not a submodule to draw as a call.
_NO_MODULE = "_empty_nn_module_stack_from_metadata_hook"
_SELF = re.compile(r"^L\['(?:self|fn)'\]\.?|^L__self__\.?")  # how dynamo wrote paths in programs saved by older torch


def accepts(obj: Any) -> bool:
    """Whether ``obj`` is an FX graph, an exported program, or the path of a saved exported program.

    A path is judged by its content, whatever its suffix (``prog.pt`` as well as ``prog.pt2``):
    only the zip's directory is read, within :mod:`.zipcheck`'s bounds.
    """
    if isinstance(obj, (torch.fx.GraphModule, torch.export.ExportedProgram)):
        return True
    if not isinstance(obj, (str, os.PathLike)):
        return False
    path = Path(obj)
    return path.suffix == ".pt2" or _is_export_file(path)


def _is_export_file(path: Path) -> bool:
    try:
        if not path.is_file() or not zipcheck.is_zip(path):
            return False
        with zipcheck.SafeZip(path) as archive:
            return zipcheck.is_export_layout([name for name in map(archive.local, archive.infos) if name])
    except (NotTorchScriptFileError, OSError):
        return False  # not readable as an export archive: the TorchScript loader says what is wrong


def convert(obj: Any, *, expand_calls: ExpandCalls = False, trusted: bool = False) -> ir.Graph:
    """The plain graph model of a ``GraphModule``, an ``ExportedProgram`` or a saved ``.pt2``.

    torch.export inlines every submodule and records, for each node, the chain of modules it was
    called from. ``expand_calls`` means what it means for TorchScript: by default each top-level
    submodule is one ``call_module`` node (``layer1: Sequential``); an int opens that many levels,
    paths (``"layer1.0"``) open the modules on the way, ``True`` opens everything (nodes are then
    grouped in frames by the module they came from).

    A saved program is read with ``torch.export.load``, which unpickles parts of the archive (its
    sample inputs, falling back to an unsafe load, and any pickled constant): only with
    ``trusted=True``; otherwise :class:`UntrustedFileError` says so.
    """
    if isinstance(obj, (str, os.PathLike)):
        obj = _load(Path(obj), trusted)
        origin = "loaded .pt2"
    else:
        origin = "exported" if isinstance(obj, torch.export.ExportedProgram) else "fx"
    if isinstance(obj, torch.export.ExportedProgram):
        roles = _roles(obj)
        module = obj.graph_module
        name = _program_name(obj) or "ExportedProgram"
    else:
        roles = {}
        module = obj
        name = type(obj).__name__
    converter = _Converter()
    graph = converter.graph(module, name, origin, roles)
    if isinstance(obj, torch.export.ExportedProgram):
        graph.notes.extend(_symbol_notes(obj))
    if not isinstance(obj, torch.export.ExportedProgram) or expand_calls is True:
        return graph  # an FX graph already calls its submodules (call_module nodes)
    depth, paths = _expansion(expand_calls)
    return collapse_scopes(graph, converter.chains, depth, paths, CALL_MODULE)


def _symbol_notes(program: torch.export.ExportedProgram) -> list[str]:
    """What each symbolic size stands for: ``s77 = x.size(0), 1..64``.

    The program keeps each symbol's range, and its shape environment where the symbol was read
    from; the name given to ``Dim("batch")`` is not kept, so the input and dimension stand for it.
    """
    sources: dict[str, str] = {}
    for node in program.graph.nodes:
        value = node.meta.get("val")
        env = getattr(getattr(value, "fake_mode", None), "shape_env", None)
        if env is not None:
            for symbol, found in getattr(env, "var_to_sources", {}).items():
                if found:
                    name = str(found[0].name)  # "L['x'].size()[0]"
                    sources[str(symbol)] = _SOURCE.sub(r"\1.size(\2)", name)
            break
    notes = []
    for symbol, bounds in sorted(program.range_constraints.items(), key=lambda item: str(item[0])):
        where = f" = {sources[str(symbol)]}" if str(symbol) in sources else ""
        upper = "∞" if str(bounds.upper) in ("oo", "int_oo") else str(bounds.upper)
        notes.append(f"{symbol}{where}, {bounds.lower}..{upper}")
    return notes


_SOURCE = re.compile(r"L\['(\w+)'\]\.size\(\)\[(\d+)\]")


def _load(path: Path, trusted: bool) -> torch.export.ExportedProgram:
    """``torch.export.load`` with a clear error; read from an open file, so any suffix will do."""
    if not path.is_file():
        raise NotTorchScriptFileError(f"No file at {str(path)!r}.")
    with zipcheck.SafeZip(path) as archive:  # torch.export.load reads it with torch's zip reader
        problems = archive.ambiguities()
    if problems:
        raise NotTorchScriptFileError(f"{path.name!r} is not handed to torch.export.load: {'; '.join(problems)}.")
    if not trusted:
        raise UntrustedFileError(
            f"{path.name!r} is a saved torch.export program, and torch.export.load unpickles parts of it "
            "(its sample inputs, retried unsafely when the safe load fails, and any pickled constant), "
            "which can run any Python code the file holds. " + TRUST_ADVICE
        )
    try:
        with open(path, "rb") as file:
            return torch.export.load(file)
    except Exception as error:
        first = (str(error).splitlines() or [type(error).__name__])[0]
        raise NotTorchScriptFileError(f"torch.export.load could not read {path.name!r}: {first}") from error


def _program_name(program: torch.export.ExportedProgram) -> str | None:
    for node in program.graph.nodes:
        stack = node.meta.get("nn_module_stack")
        if stack:
            first = next(iter(stack.values()))
            return str(first[1]).rsplit(".", 1)[-1]
    return None


def _roles(program: torch.export.ExportedProgram) -> dict[str, tuple[str, str]]:
    """Placeholder name -> ("parameter" / "buffer" / "constant", its name in the module: ``fc.weight``)."""
    roles = {}
    for spec in program.graph_signature.input_specs:
        kind = spec.kind.name.lower()
        if kind != "user_input":
            roles[spec.arg.name] = ({"constant_tensor": "constant"}.get(kind, kind), str(spec.target or spec.arg.name))
    return roles


class _Converter:
    def __init__(self) -> None:
        self._node_ids = itertools.count()
        self._value_ids = itertools.count()
        self.chains: dict[str, list[tuple[str, str]]] = {}  # node id -> modules it was called from

    def graph(self, module: torch.fx.GraphModule, name: str, origin: str,
              roles: dict[str, tuple[str, str]]) -> ir.Graph:
        values: dict[torch.fx.Node, ir.Value] = {}
        inputs, nodes, outputs = self._body(module, module.graph, values, roles)
        return ir.Graph(name, origin, inputs, nodes, outputs)

    def _body(self, module: torch.fx.GraphModule, graph: torch.fx.Graph, values: dict,
              roles: dict[str, tuple[str, str]]):
        inputs: list[ir.Value] = []
        nodes: list[ir.Node] = []
        outputs: list[ir.Value] = []
        for node in graph.nodes:
            if node.op == "placeholder":
                value = self._value(node)
                if node.name in roles:  # a parameter, buffer or lifted constant: named as in the module
                    value.role, value.name = roles[node.name]
                values[node] = value
                inputs.append(value)
            elif node.op == "output":
                outputs = [values[arg] for arg in _flat(node.args) if isinstance(arg, torch.fx.Node) and arg in values]
            elif node.op == "get_attr" and isinstance(_attr(module, node.target), torch.fx.GraphModule):
                continue  # a subgraph, drawn inside the node that uses it
            else:
                nodes.append(self._node(module, node, values))
        return inputs, nodes, outputs

    def _node(self, module: torch.fx.GraphModule, node: torch.fx.Node, values: dict) -> ir.Node:
        converted = ir.Node(id=f"n{next(self._node_ids)}", kind=_kind(node), source=_source(node),
                            scope=_scope(node))
        self.chains[converted.id] = _chain(node)
        names = _argument_names(node)
        named = [(names[i] if i < len(names) else "", a) for i, a in enumerate(node.args)]
        for name, argument in named + list(node.kwargs.items()):
            nodes_in = [a for a in _flat(argument) if isinstance(a, torch.fx.Node)]
            if nodes_in:
                for value in nodes_in:
                    if value in values:
                        converted.inputs.append(values[value])
                        converted.arg_names.append(name)
            elif name and converted.kind != COND_KIND:
                converted.attributes[name] = plain(argument, _literal)
        if node.op == "get_attr":
            converted.attributes["name"] = str(node.target)
        subgraphs = [a for a in _flat(list(node.args)) if isinstance(a, torch.fx.Node) and a.op == "get_attr"
                     and isinstance(_attr(module, a.target), torch.fx.GraphModule)]
        labels = _BLOCK_LABELS.get(converted.kind, [])
        for index, reference in enumerate(subgraphs):
            submodule = _attr(module, reference.target)
            params, body, returns = self._body(submodule, submodule.graph, {}, {})
            label = labels[index] if index < len(labels) else str(reference.target)
            converted.blocks.append(ir.Block(label, params, body, returns))
        if converted.kind == COND_KIND and converted.arg_names:
            converted.arg_names[0] = "pred"
        output = self._value(node)
        values[node] = output
        converted.outputs = [output]
        return converted

    def _value(self, node: torch.fx.Node) -> ir.Value:
        meta = node.meta  # "val": torch.export; "example_value": Dynamo; "tensor_meta": FX's ShapeProp
        value_type = _type(meta.get("val", meta.get("example_value", meta.get("tensor_meta"))))
        return ir.Value(f"v{next(self._value_ids)}", node.name, value_type)


def _attr(module: torch.nn.Module, target: str) -> Any:
    for part in str(target).split("."):
        module = getattr(module, part, None)
    return module


def _flat(items: Any) -> list[Any]:
    flat: list[Any] = []
    for item in items if isinstance(items, (list, tuple)) else [items]:
        if isinstance(item, (list, tuple)):
            flat.extend(_flat(item))
        else:
            flat.append(item)
    return flat


def _kind(node: torch.fx.Node) -> str:
    target = node.target
    if target is torch.ops.higher_order.cond:
        return COND_KIND
    if node.op == "call_function":
        if isinstance(target, torch._ops.OpOverload):
            return target.name()  # "aten::mul.Tensor"
        if target is operator.getitem:
            return "getitem"
        if isinstance(target, torch._ops.HigherOrderOperator):
            return f"higher_order::{target.__name__}"
        return getattr(target, "__name__", str(target))
    if node.op == "call_module":
        return f"call_module::{node.target}"
    if node.op == "call_method":
        return f"call_method::{node.target}"
    return node.op


def _argument_names(node: torch.fx.Node) -> list[str]:
    schema = getattr(node.target, "_schema", None)
    return [argument.name for argument in schema.arguments] if schema is not None else []


def _type(value: Any) -> str:
    # a fake tensor (meta["val"]), or the TensorMetadata that FX's ShapeProp records (a NamedTuple)
    if isinstance(value, (torch.Tensor, TensorMetadata)):
        dims = ", ".join(str(size) for size in value.shape)
        return f"{scalar_name(value.dtype)}({dims})"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_type(v) for v in value) + ")"
    if isinstance(value, torch.SymInt):
        return "SymInt"
    if value is None:
        return "?"
    return type(value).__name__


def _literal(value: Any) -> ir.Literal:
    return ir.Literal(str(value))


def _source(node: torch.fx.Node) -> ir.SourceLocation | None:
    trace = node.meta.get("stack_trace")
    if not trace:
        return None
    frames = [frame for frame in _FRAME.findall(trace) if not frame[0].startswith("<")]
    if not frames:
        return None
    file, line, code = frames[-1]  # innermost real file: the user's line (not dynamo's <eval_with_key>)
    return ir.SourceLocation(short_file(file), int(line), code.strip())


def _scope(node: torch.fx.Node) -> str:
    paths = [str(path) for path, _ in _module_stack(node)]
    deepest = paths[-1] if paths else ""
    return _SELF.sub("", deepest)


def _chain(node: torch.fx.Node) -> list[tuple[str, str]]:
    """The modules a node was called from, outermost first: ``[("layer1", "Sequential"), ...]``."""
    chain = []
    for path, kind in _module_stack(node):
        path = _SELF.sub("", str(path))
        if path:
            chain.append((path, str(getattr(kind, "__name__", kind)).rsplit(".", 1)[-1]))
    return chain


def _module_stack(node: torch.fx.Node) -> list[tuple[Any, Any]]:
    """The ``(path, type)`` of each module the node was called from, outermost first."""
    stack = node.meta.get("nn_module_stack") or {}
    return [(path, kind) for path, kind in stack.values() if path != _NO_MODULE]
