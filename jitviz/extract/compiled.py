"""What ``torch.compile`` captured: its graphs and the graph breaks between them, as a graph model.

    capture = capture_compiled(f, (torch.ones(2, 2),))   # Dynamo on f, with a recording backend
    model = convert(capture)                              # frames "graph 1", "graph 2", ... and breaks

Dynamo turns a function into one or more FX graphs. Where it meets a line it cannot trace (a
data-dependent ``if``, a ``print``, ``.item()``...) it *breaks*: the graph so far is compiled, that
line runs in plain Python, and a new graph starts after it. Each graph here is a frame, numbered in
the order it runs, and between two frames a break node names what broke (the name and explanation
of torch's graph-break registry, ``torch/_dynamo/graph_break_registry.json``) and the line that ran
in Python.

Like ``torch._dynamo.explain``, a capture resets Dynamo's caches before and after (so that every
graph is compiled, and seen, again): a function the user compiled recompiles on its next call.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import linecache
import logging
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import ir
from ..errors import TracingError
from ..scopes import collapse_scopes
from .export import CALL_MODULE, _Converter
from .torchscript import ExpandCalls, _expansion, short_file

__all__ = ["GRAPH_KIND", "BREAK_KIND", "GraphBreak", "Capture", "capture_compiled", "convert", "registry",
           "dynamo_quiet", "keeping"]

GRAPH_KIND = ir.COMPILED_GRAPH
BREAK_KIND = ir.GRAPH_BREAK


@dataclass(frozen=True)
class GraphBreak:
    """One graph break: ``GraphBreak("GB0170", "Data-dependent branching", ...)``.

    ``gb_id``, ``gb_type``, ``explanation`` and ``hints`` are the registry's words (``gb_id`` is
    empty for a break the registry does not list); ``reason`` is Dynamo's own first line;
    ``where`` the user's line that ran in Python.
    """

    gb_id: str
    gb_type: str
    explanation: str
    hints: tuple[str, ...]
    reason: str
    where: ir.SourceLocation | None

    def summary(self) -> str:
        """``"GB0170 Data-dependent branching at f.py:4"``."""
        at = f" at {self.where.file}:{self.where.line}" if self.where else ""
        return f"{self.gb_id + ' ' if self.gb_id else ''}{self.gb_type}{at}"


@dataclass
class Capture:
    """What one call of the compiled function captured, graphs in the order they ran."""

    name: str
    graphs: list[torch.fx.GraphModule]
    breaks: list[GraphBreak | None]  # breaks[i]: the break that ended graphs[i], None if it ran to the end
    guards: list[str] = field(default_factory=list)
    unplaced: list[GraphBreak] = field(default_factory=list)  # breaks no graph ended with, not placed
    before: dict[int, GraphBreak] = field(default_factory=dict)  # graph index -> a break just before it
    outputs: Any = None
    arguments: list[str] = field(default_factory=list)  # the names of the function's parameters

    @property
    def break_count(self) -> int:
        """Graph breaks met on this call (each splits the function once more)."""
        return sum(b is not None for b in self.breaks) + len(self.unplaced) + len(self.before)


def capture_compiled(fn: Callable[..., Any], inputs: Sequence[Any], *, dynamic: bool | None = None,
                     fullgraph: bool = False) -> Capture:
    """Run ``fn(*inputs)`` under Dynamo with a backend that keeps every graph; see the module's doc."""
    if not callable(fn):
        raise TracingError(f"mode='compile' needs a function or nn.Module to compile, not {type(fn).__name__}.")
    graphs: list[torch.fx.GraphModule] = []
    guards: list[Any] = []
    name = getattr(fn, "__name__", type(fn).__name__)
    required = _required(fn)
    if len(inputs) < len(required):
        raise TracingError(f"mode='compile' runs {name}: give its inputs, as for a trace "
                           f"(jitviz.show({name}, {', '.join(required)}, mode='compile')); missing: "
                           f"{', '.join(required[len(inputs):])}.")
    counters = torch._dynamo.utils.counters
    torch._dynamo.reset()
    counters.clear()
    try:
        with dynamo_quiet():
            compiled = torch._dynamo.optimize(keeping(graphs), nopython=fullgraph, dynamic=dynamic,
                                              guard_export_fn=guards.extend)(fn)
            outputs = compiled(*inputs)
        placed = [_break_of(gm) for gm in graphs]
        unplaced = _unplaced(counters.get("graph_break", {}), placed)
        before = _place(unplaced, graphs, placed)
    except Exception as error:
        raise _compile_error(name, error, fullgraph) from error
    finally:
        torch._dynamo.reset()
    return Capture(name, graphs, placed, guards=_guard_lines(guards, inputs, fn), unplaced=unplaced,
                   before=before, outputs=outputs, arguments=_arguments(fn))


def keeping(graphs: list[torch.fx.GraphModule]) -> Callable[..., Any]:
    """A Dynamo backend that appends each graph it is given to ``graphs`` and runs it as it is (what
    ``backend="eager"`` does): ``torch._dynamo.optimize(keeping(graphs))(fn)``."""

    def backend(graph_module: torch.fx.GraphModule, example_inputs: Any) -> Callable[..., Any]:
        graphs.append(graph_module)
        return graph_module.forward

    return backend


def _compile_error(name: str, error: Exception, fullgraph: bool) -> TracingError:
    text = str(error).strip()
    first = text.splitlines()[0] if text else type(error).__name__
    graph_break = _parse(text, None)
    if fullgraph and graph_break.gb_type:
        where = f" at {graph_break.where.file}:{graph_break.where.line}" if graph_break.where else ""
        return TracingError(
            f"torch.compile(fullgraph=True) refused {name}: a graph break{where}: {graph_break.gb_type}. "
            f"{graph_break.explanation} {' '.join(graph_break.hints)} "
            "Draw it without fullgraph=True to see every break."
        )
    return TracingError(f"torch.compile could not run {name}: {first}")


@contextmanager
def dynamo_quiet() -> Iterator[None]:
    """Dynamo's own warnings (a break on ``.item()``, recompiles) kept out of the cell's output:
    the picture says the same, at its line."""
    loggers = [logging.getLogger(name) for name in ("torch._dynamo", "torch.fx.experimental.symbolic_shapes")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():  # "Dynamo does not know how to trace the builtin ...", once each
            warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\._dynamo")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


# --- graph breaks ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def registry() -> dict[str, list[dict[str, Any]]]:
    """torch's graph-break registry: ``registry()["GB0170"][0]["Gb_type"] == "Data-dependent branching"``."""
    path = Path(torch._dynamo.__file__).parent / "graph_break_registry.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@functools.lru_cache(maxsize=1)
def _ids_by_type() -> dict[str, str]:
    found: dict[str, str] = {}
    for gb_id, entries in sorted(registry().items()):
        for entry in entries:
            found.setdefault(str(entry.get("Gb_type", "")), gb_id)
    return found


# Dynamo's internal names for breaks that reach GraphCompileReason without the registry's words.
_INTERNAL = {"generic_jump": "Data-dependent branching"}
_GB_LINK = re.compile(r"/gb/gb(\d{4})\.html", re.IGNORECASE)


def _break_of(gm: torch.fx.GraphModule) -> GraphBreak | None:
    reason = getattr(gm, "compile_subgraph_reason", None)
    if reason is None or not getattr(reason, "graph_break", False):
        return None
    stack = list(getattr(reason, "user_stack", []) or [])
    return _parse(str(reason.reason), stack[-1] if stack else None)


def _parse(text: str, frame: Any) -> GraphBreak:
    lines = text.strip().splitlines()
    first = lines[0].strip() if lines else ""
    gb_type = _INTERNAL.get(first.split(" ", 1)[0], first)
    if gb_type.startswith("Graph break under "):  # fullgraph's wrapper line: the real type is below
        gb_type = next((line.split(":", 1)[1].strip() for line in lines if "Graph Break Reason:" in line), gb_type)
    explanation = " ".join(line.split("Explanation:", 1)[1].strip() for line in lines if "Explanation:" in line)
    hints = tuple(line.split("Hint:", 1)[1].strip() for line in lines if line.strip().startswith("Hint:"))
    link = _GB_LINK.search(text)
    gb_id = f"GB{link.group(1)}" if link else _ids_by_type().get(gb_type, "")
    if gb_id and (not explanation or not hints):  # fill in from the registry: its entry with the most hints
        entries = [e for e in registry().get(gb_id, []) if e.get("Gb_type") == gb_type] or registry().get(gb_id, [])
        best = max(entries, key=lambda e: (len(e.get("Hints", [])), "{" not in str(e.get("Explanation"))),
                   default={})
        explanation = explanation or _plain(str(best.get("Explanation", "")))
        hints = hints or tuple(_plain(str(h)) for h in best.get("Hints", []))
    if frame is None:
        frame = _frame_in(text)
    return GraphBreak(gb_id, gb_type, explanation, hints, first, _location(frame))


def _plain(text: str) -> str:
    """A registry text as a sentence: no quotes and f-string pieces left over from its source."""
    text = text.strip().strip('"').replace('"             "', "").replace('" + trace_info', "")
    return text.strip().strip('"')


_USER_FRAME = re.compile(r'File "([^"]+)", line (\d+), in \S+\n\s+(.+)')


def _frame_in(text: str) -> Any:
    frames = [f for f in _USER_FRAME.findall(text) if "/torch/" not in f[0] and "/jitviz/" not in f[0]]
    if not frames:
        return None
    file, line, code = frames[-1]
    return _Frame(file, int(line), code)


@dataclass
class _Frame:
    filename: str
    lineno: int
    line: str


def _location(frame: Any) -> ir.SourceLocation | None:
    if frame is None:
        return None
    code = getattr(frame, "line", None) or ""
    return ir.SourceLocation(short_file(str(frame.filename)), int(frame.lineno), code.strip())


def _unplaced(counted: dict[str, int], placed: list[GraphBreak | None]) -> list[GraphBreak]:
    """Breaks Dynamo counted that no graph ended with (one before any tensor work, say)."""
    known = [b.reason for b in placed if b is not None]
    unplaced: list[GraphBreak] = []
    for reason, count in sorted(counted.items()):
        first = str(reason).strip().splitlines()[0] if str(reason).strip() else ""
        extra = count - sum(1 for k in known if k == first or _INTERNAL.get(k.split(" ", 1)[0]) == first)
        unplaced.extend(_parse(str(reason), None) for _ in range(max(0, extra)))
    return unplaced


_RESUME = re.compile(r"^torch_dynamo_resume_in_\w+?_at_(\d+)$")


def _place(unplaced: list[GraphBreak], graphs: list[torch.fx.GraphModule],
           placed: list[GraphBreak | None]) -> dict[int, GraphBreak]:
    """Put breaks no graph ended with (a ``print`` before any tensor work) before the graph that
    resumed after them: Dynamo names that graph's code ``torch_dynamo_resume_in_<fn>_at_<line>``.
    The breaks placed are taken out of ``unplaced``."""
    before: dict[int, GraphBreak] = {}
    for index, gm in enumerate(graphs):
        if not unplaced or (index > 0 and placed[index - 1] is not None):
            continue
        reason = getattr(gm, "compile_subgraph_reason", None)
        frames = list(getattr(reason, "user_stack", None) or [])
        resumed = [(str(frame.filename), int(match.group(1))) for frame in frames
                   if (match := _RESUME.match(str(frame.name)))]
        if resumed:
            file, line = resumed[0]
            code = linecache.getline(file, line).strip()
            found = unplaced.pop(0)
            before[index] = dataclasses.replace(found, where=ir.SourceLocation(short_file(file), line, code))
    return before


def _parameters(fn: Callable[..., Any]) -> list[inspect.Parameter]:
    """``fn``'s parameters (a module's ``forward``'s, not ``__call__``'s ``*args``); none if unknown."""
    try:
        return list(inspect.signature(fn.forward if isinstance(fn, torch.nn.Module) else fn).parameters.values())
    except (TypeError, ValueError):
        return []


def _required(fn: Callable[..., Any]) -> list[str]:
    """The parameters ``fn`` cannot be called without."""
    return [p.name for p in _parameters(fn)
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _arguments(fn: Callable[..., Any]) -> list[str]:
    """The names of ``fn``'s parameters."""
    return [p.name for p in _parameters(fn)]


def _guard_lines(guards: list[Any], inputs: Sequence[Any], fn: Callable[..., Any]) -> list[str]:
    """The guards on the function's own arguments, one line each: ``x: TENSOR_MATCH (Float(2, 2))``."""
    shapes = dict(zip(_arguments(fn), inputs))
    lines = set()
    for guard in guards:
        name = str(getattr(guard, "name", ""))
        match = re.fullmatch(r"L\['(\w+)'\]", name)
        if not match or match.group(1) not in shapes:  # a resumed function's locals, Dynamo's own names
            continue
        arg = match.group(1)
        kind = getattr(guard, "create_fn_name", lambda: "")()
        value = shapes.get(arg)
        what = f" {_describe(value)}" if value is not None and kind == "TENSOR_MATCH" else ""
        lines.add(f"{arg}: {kind}{what}")
    return sorted(lines)


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"({str(value.dtype).removeprefix('torch.')}, {tuple(value.shape)})"
    return f"({type(value).__name__})"


# --- the graph model ------------------------------------------------------------------------------


_USER_NAME = re.compile(r"^[lL]_(\w+?)_$")
# Dynamo lifts a parameter as a placeholder named by its path: L_self_modules_fc_parameters_weight_
# (a method's self), L_fn_modules_... (a module given to torch.compile itself)
_PARAMETER = re.compile(r"^L_(?:self|fn)_((?:modules_\w+?_)*)(parameters|buffers)_(\w+)_$")


def _roles(gm: torch.fx.GraphModule) -> dict[str, tuple[str, str]]:
    """A lifted parameter or buffer placeholder -> its role and name in the module (``fc.weight``)."""
    roles = {}
    for node in gm.graph.nodes:
        if node.op != "placeholder":
            continue
        match = _PARAMETER.match(str(node.target))
        if match:
            path = [part for part in match.group(1).removeprefix("modules_").split("_modules_") if part]
            path = [part.rstrip("_") for part in path]
            roles[node.name] = (match.group(2).removesuffix("s"), ".".join([*path, match.group(3)]))
    return roles


def convert(capture: Capture, *, expand_calls: ExpandCalls = False) -> ir.Graph:
    """The graph model: one frame a compiled graph (``compile::graph``), a break node between.

    The first graph's inputs are the model's inputs; a later graph's inputs are made by the break
    before it (what the Python in between handed on); parameters and buffers are inputs with
    their role, folded into their users' labels as in an exported program.
    """
    converter = _Converter()
    depth, paths = _expansion(expand_calls)
    model = ir.Graph(capture.name, "compiled")
    pending: ir.Node | None = None  # the last break, which makes the next graph's inputs
    flowing: list[ir.Value] = []
    total = len(capture.graphs)
    for index, (gm, graph_break) in enumerate(zip(capture.graphs, capture.breaks), start=1):
        body = converter.graph(gm, f"graph {index}", "compiled", _roles(gm))
        if expand_calls is not True:
            body = collapse_scopes(body, converter.chains, depth, paths, CALL_MODULE)
        if index - 1 in capture.before:  # a break no graph ended with: before the graph that resumed after it
            pending = _break_node(f"p{index}", capture.before[index - 1], flowing)
            model.nodes.append(pending)
        for value in body.inputs:
            if not value.role:
                value.name = _user_name(value.name, capture.arguments)
            if value.role or index == 1 or pending is None:
                model.inputs.append(value)
            else:
                pending.outputs.append(value)
        after: list[ir.Value] = []
        if pending is not None and not pending.outputs:  # nothing handed on: the order alone, as an edge
            after = [ir.Value(f"{pending.id}_then", "then", "Python")]
            pending.outputs = after
        pending = None
        frame = ir.Node(f"g{index}", GRAPH_KIND, inputs=after, arg_names=[""] * len(after),
                        callee=f"graph {index} of {total}", source=body.nodes[0].source if body.nodes else None)
        frame.outputs = [ir.Value(f"{value.id}_out", value.name, value.type) for value in body.outputs]
        frame.blocks = [ir.Block(f"graph {index}", [], body.nodes, body.outputs)]
        model.nodes.append(frame)
        flowing = frame.outputs
        if graph_break is not None:
            pending = _break_node(f"b{index}", graph_break, flowing)
            model.nodes.append(pending)
            flowing = pending.outputs
    for extra, graph_break in enumerate(capture.unplaced, start=1):
        node = _break_node(f"u{extra}", graph_break, flowing)
        model.nodes.append(node)
        flowing = node.outputs
    model.outputs = list(flowing)
    if not capture.graphs:
        model.notes.append("Dynamo captured no graph: the whole function ran in Python")
    model.notes.append(_count_note(capture))
    model.notes.extend(f"guard {line}" for line in capture.guards)
    return model


def _user_name(name: str, arguments: list[str]) -> str:
    """Dynamo's placeholder name as the user wrote it: ``l_x_`` (its ``L['x']``) as ``x``, and a
    module's ``l_args_0_`` as the name of ``forward``'s first parameter."""
    name = _USER_NAME.sub(r"\1", name)
    position = re.fullmatch(r"args_(\d+)", name)
    if position and int(position.group(1)) < len(arguments):
        return arguments[int(position.group(1))]
    return name


def _break_node(node_id: str, graph_break: GraphBreak, flowing: list[ir.Value]) -> ir.Node:
    """A break: it reads what the graph before it returned, and makes the next graph's inputs."""
    where = graph_break.where
    lines = [graph_break.summary().removesuffix(f" at {where.file}:{where.line}" if where else "")]
    if where is not None:
        lines.append(f"line {where.line} ran in Python: {where.code}")
    lines.extend(_wrapped(graph_break.explanation, 46, 3))  # within a label line (render cuts at 48)
    return ir.Node(node_id, BREAK_KIND, inputs=list(flowing), arg_names=[""] * len(flowing), source=where,
                   attributes={"lines": lines, "gb_id": graph_break.gb_id, "gb_type": graph_break.gb_type,
                               "explanation": graph_break.explanation, "hints": list(graph_break.hints)})


def _wrapped(text: str, width: int, most: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return lines[:most - 1] + ["…"] if len(lines) > most else lines


def _count_note(capture: Capture) -> str:
    graphs, breaks = len(capture.graphs), capture.break_count
    return (f"torch.compile: {graphs} graph{'s' * (graphs != 1)}, "
            f"{breaks} graph break{'s' * (breaks != 1)}")
