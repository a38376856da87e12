"""Count what actually ran: run a copy of a TorchScript graph with a counter in every block."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch

from .. import ir
from ..errors import ExecutionError
from ..results import describe_type
from ..text import plural
from .torchscript import Source

__all__ = ["ExecutionError", "CountedRun", "schema_of"]


class CountedRun:
    """A copy of a TorchScript graph that counts how many times each block of ``model`` runs.

    ``CountedRun(source, model)(inputs)`` returns ``(outputs, Execution)``.

    How: the copy gets one extra tensor input, ``runs``, after every parameter, and at the start of
    every block five nodes that do ``runs[i].add_(1)`` (three int constants, ``aten::select``,
    ``aten::add_``); it becomes a function (``torch._C._create_function_from_graph``)
    that TorchScript's own interpreter runs on the real inputs. The counts are therefore what
    TorchScript executed, not a re-derivation of the conditions. ``model`` must have been converted
    from ``source`` without expanding calls, so that its blocks, in program order, are the graph's.
    The copy is built once; each call only runs it.

    Limits: the body of a collapsed call is not counted (the call node itself is: it ran as often
    as its block); inline the calls to count inside them, per call site.

    ``schema`` (from :func:`schema_of`, of the graph before inlining) lets a caller leave out
    arguments that have defaults: they are filled in from it, so that the counter, which comes
    after every parameter, can never be taken for one of them.
    """

    def __init__(self, source: Source, model: ir.Graph, schema: Any = None) -> None:
        graph = source.graph.copy()
        runs_input = graph.addInput("jitviz_runs")
        runs_input.setType(torch._C.TensorType.get())
        blocks = list(_blocks(graph.block()))
        for index, block in enumerate(blocks):
            _insert_counter(graph, block, runs_input, index)
        self._keys = list(_block_keys(model.nodes))
        if len(self._keys) != len(blocks):
            raise ExecutionError(
                "The drawn graph and the executed one have different blocks (expanded calls?); "
                "highlight what ran with expand_calls=False, or inline=True."
            )
        self._source = source
        self._parameters = _parameters(schema, skip=1 if source.module is not None else 0, graph=source.graph)
        self._function = torch._C._create_function_from_graph("jitviz_counted", graph)
        self._self = [source.module._c] if source.module is not None else []

    def __call__(self, inputs: Sequence[Any]) -> tuple[Any, ir.Execution]:
        counts = torch.zeros(len(self._keys), dtype=torch.long)
        arguments = self._bind(inputs)
        try:
            outputs = self._function(*self._self, *arguments, counts)
        except Exception as error:
            raise ExecutionError(_describe_failure(self._source, inputs, error)) from error
        return outputs, ir.Execution(dict(zip(self._keys, counts.tolist())))


    def _bind(self, inputs: Sequence[Any]) -> tuple[Any, ...]:
        """Every parameter's value: the inputs given, then the defaults of those left out."""
        if self._parameters is None:
            return tuple(inputs)
        if len(inputs) > len(self._parameters):
            raise ExecutionError(_describe_failure(
                self._source, inputs, f"it takes {plural(len(self._parameters), 'input')}, {len(inputs)} were given"))
        missing = self._parameters[len(inputs):]
        without_default = [argument.name for argument in missing if not argument.has_default_value()]
        if without_default:
            raise ExecutionError(_describe_failure(
                self._source, inputs, f"no value for {', '.join(without_default)}, which has no default"))
        return (*inputs, *(argument.default_value for argument in missing))


def schema_of(source: Source) -> Any:
    """The schema of what ``source`` runs (its parameters and their defaults), or ``None``."""
    runnable = source.runnable
    try:
        if isinstance(runnable, torch.jit.ScriptFunction):
            return runnable.schema
        if isinstance(runnable, torch.jit.ScriptModule):
            return runnable.forward.schema
    except (AttributeError, RuntimeError):  # a module whose forward is overloaded has no single one
        return None
    return None


def _parameters(schema: Any, *, skip: int, graph: torch._C.Graph) -> list[Any] | None:
    """The schema's parameters after ``self``, if they are the graph's inputs (else ``None``)."""
    if schema is None:
        return None
    parameters = list(schema.arguments)[skip:]
    graph_inputs = len(list(graph.inputs())) - skip
    if len(parameters) != graph_inputs or any(argument.kwarg_only for argument in parameters):
        return None
    return parameters


def _block_keys(nodes: list[ir.Node]) -> Iterator[str]:
    """The model's blocks in the same order as :func:`_blocks` visits TorchScript's."""
    for node in nodes:
        for index, block in enumerate(node.blocks):
            yield ir.block_key(node, index)
            yield from _block_keys(block.nodes)


def _blocks(block: torch._C.Block) -> Iterator[torch._C.Block]:
    for node in block.nodes():
        for inner in node.blocks():
            yield inner
            yield from _blocks(inner)


def _insert_counter(graph: torch._C.Graph, block: torch._C.Block, runs: torch._C.Value, index: int) -> None:
    anchor = next(iter(block.nodes()), None) or block.returnNode()
    zero, position, one = (_int_constant(graph, value) for value in (0, index, 1))
    select = graph.create("aten::select", [runs, zero.output(), position.output()], 1)
    add = graph.create("aten::add_", [select.output(), one.output(), one.output()], 1)
    for node in (select, add):
        node.output().setType(torch._C.TensorType.get())
    for node in (zero, position, one, select, add):
        node.insertBefore(anchor)


def _int_constant(graph: torch._C.Graph, value: int) -> torch._C.Node:
    node = graph.create("prim::Constant", [], 1)
    node.i_("value", value)
    node.output().setType(torch._C.IntType.get())
    return node


def _describe_failure(source: Source, inputs: Sequence[Any], error: Exception | str) -> str:
    expected = [v for v in source.graph.inputs()][1 if source.module is not None else 0 :]
    signature = ", ".join(f"{v.debugName().split('.')[0]}: {v.type()}" for v in expected)
    given = ", ".join(describe_type(value) for value in inputs)
    first = str(error).strip().splitlines()
    reason = next((line for line in first if line.strip()), type(error).__name__)
    return (
        f"{source.name} could not run on these inputs ({given}); it takes ({signature}). "
        f"TorchScript said: {reason.strip()}"
    )
