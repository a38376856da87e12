"""Turn TorchScript objects into the plain graph model; the only module that calls ``torch._C``."""

from __future__ import annotations

import hashlib
import itertools
import linecache
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence, Union

import torch

from .. import ir
from . import zipcheck
from ..errors import (
    NotTorchScriptFileError,
    ScriptingError,
    TracingError,
    UnsupportedObjectError,
)

__all__ = ["Source", "obtain", "convert", "MODES"]

MODES = ("auto", "trace", "script")

# Inputs of control-flow nodes have no schema; these names make their labels readable.
_CONTROL_ARG_NAMES = {
    "prim::If": ["cond"],
    "prim::Loop": ["max_trip_count", "start_condition"],
}
# A while loop's trip count is INT64_MAX: shown as "unbounded" rather than as a 19-digit number.
_UNBOUNDED_TRIPS = 2**63 - 1


@dataclass
class Source:
    """A TorchScript graph plus what is needed to resolve the calls inside it."""

    graph: torch._C.Graph
    name: str
    origin: str
    module: torch.jit.ScriptModule | None = None
    runnable: Any = None  # the ScriptFunction or ScriptModule, when there is one to call
    tracer_warnings: list[ir.TracerWarningNote] = field(default_factory=list)


# --- obtaining a graph --------------------------------------------------------------------------


def obtain(obj: Any, example_inputs: Sequence[Any], mode: str = "auto") -> Source:
    """Script, trace, load or unwrap ``obj`` into a :class:`Source`."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}, not {mode!r}")
    if isinstance(obj, torch._C.Graph):
        _no_inputs_for(obj, example_inputs, "a torch._C.Graph")
        return Source(obj, "graph", "graph")
    if isinstance(obj, (str, os.PathLike)):
        _no_inputs_for(obj, example_inputs, "a saved file")
        module = load_torchscript_file(obj)
        return Source(module.graph, _module_name(module), "loaded", module)
    if isinstance(obj, torch.jit.ScriptModule):
        origin = "traced" if isinstance(obj, torch.jit.TopLevelTracedModule) else "scripted"
        return Source(obj.graph, _module_name(obj), origin, obj, runnable=obj)
    if isinstance(obj, torch.jit.ScriptFunction):
        return Source(obj.graph, obj.name, "scripted", runnable=obj)
    if isinstance(obj, torch.nn.Module) or callable(obj) and not isinstance(obj, type):
        wants_trace = mode == "trace" or (mode == "auto" and len(example_inputs) > 0)
        if wants_trace:
            return _trace(obj, example_inputs)
        return _script(obj)
    raise UnsupportedObjectError(
        f"jitviz cannot draw a {type(obj).__qualname__}. Pass a Python function or nn.Module "
        "(with example inputs to trace it, without to script it), a torch.jit.ScriptFunction or "
        "ScriptModule, a torch._C.Graph, or the path of a file saved with torch.jit.save."
    )


def _no_inputs_for(obj: Any, example_inputs: Sequence[Any], what: str) -> None:
    if example_inputs:
        raise TracingError(
            f"Example inputs are only used to trace a Python function or module; {what} is drawn "
            "as it is. Call jitviz.show(obj) without inputs."
        )


def _display_name(obj: Any) -> str:
    if isinstance(obj, torch.nn.Module):
        return type(obj).__name__
    return getattr(obj, "__name__", type(obj).__name__)


def _module_name(module: torch.jit.ScriptModule) -> str:
    return getattr(module, "original_name", None) or type(module).__name__


def _trace(obj: Any, example_inputs: Sequence[Any]) -> Source:
    name = _display_name(obj)
    if not example_inputs:
        raise TracingError(
            f"Tracing {name} needs example inputs: jitviz.show({name}, torch.ones(2, 2)). "
            "Without inputs, use mode='script' (or leave mode='auto') to script it instead."
        )
    for position, value in enumerate(example_inputs, start=1):
        problem = _untraceable_part(value)
        if problem is not None:
            raise TracingError(
                f"Example input #{position} of {name} is {problem}; tracing needs tensors "
                "(or tuples, lists or dicts of tensors). Wrap numbers with torch.tensor(...), "
                "or script the function with mode='script' to keep Python-typed arguments."
            )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", torch.jit.TracerWarning)
        try:
            # check_trace=False: the checker re-runs the model (0.5-1 s) and raises false alarms on
            # some library modules. The notebooks teach the checker; drawing does not need it.
            traced = torch.jit.trace(obj, tuple(example_inputs), check_trace=False)
        except Exception as error:  # torch raises RuntimeError, TypeError, ValueError... alike
            raise TracingError(
                f"Tracing {name} failed while running it on the example inputs: "
                f"{_first_lines(error)}\nCheck that {name} runs eagerly on these inputs."
            ) from None
    notes = []
    for warning in caught:  # kept for jitviz.compare, and passed on to the user unchanged
        if issubclass(warning.category, torch.jit.TracerWarning):
            notes.append(ir.TracerWarningNote(
                ir.SourceLocation(short_file(warning.filename), warning.lineno,
                                  linecache.getline(warning.filename, warning.lineno).strip()),
                str(warning.message).split("\n")[0],
            ))
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    module = traced if isinstance(traced, torch.jit.ScriptModule) else None
    return Source(traced.graph, name, "traced", module, runnable=traced, tracer_warnings=notes)


def _untraceable_part(value: Any) -> str | None:
    """Describe the first part of an example input that tracing cannot take, or None."""
    if isinstance(value, torch.Tensor):
        return None
    if isinstance(value, (tuple, list)):
        if not value:
            return f"an empty {type(value).__name__}"
        for item in value:
            problem = _untraceable_part(item)
            if problem:
                return problem
        return None
    if isinstance(value, dict):
        for item in value.values():
            problem = _untraceable_part(item)
            if problem:
                return problem
        return None
    return f"a {type(value).__name__} ({_short_repr(value)})"


def _script(obj: Any) -> Source:
    name = _display_name(obj)
    try:
        scripted = torch.jit.script(obj)
    except Exception as error:
        hint = (
            f"To draw it anyway, trace it with example inputs: jitviz.show({name}, torch.ones(2, 2))"
            " (a trace records only the path those inputs take), or change the code as "
            "TorchScript's message above says."
        )
        raise ScriptingError(f"Scripting {name} failed:\n{_strip_cpp(str(error))}\n{hint}") from None
    if isinstance(scripted, torch.jit.ScriptModule):
        return Source(scripted.graph, _module_name(scripted), "scripted", scripted, runnable=scripted)
    return Source(scripted.graph, scripted.name, "scripted", runnable=scripted)


def load_torchscript_file(path: str | os.PathLike[str]) -> torch.jit.ScriptModule:
    """``torch.jit.load`` of a file vetted first: ``load_torchscript_file("model.pt")``.

    The file is read with the bounded reader of :mod:`.zipcheck` before torch sees it, so a
    damaged or ambiguous zip, or a pickle nested deep enough to crash torch, ends in a
    :class:`NotTorchScriptFileError`, as does any error of torch's own (chained as its cause).
    """
    path = Path(path)
    if not path.exists():
        raise NotTorchScriptFileError(
            f"No file at {str(path)!r}. Save a module with torch.jit.save(module, path) first, "
            "or check the path."
        )
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "is not a regular file (a FIFO or a device)"
        raise NotTorchScriptFileError(f"{str(path)!r} {what}, not a saved TorchScript file.")
    if not zipcheck.is_zip(path):
        raise NotTorchScriptFileError(
            f"{str(path)!r} is not a TorchScript file (it is not a zip archive). "
            "Files written by torch.jit.save are zip archives with a code/ folder."
        )
    names = zipcheck.vet_torchscript(path)
    if not any(name.startswith("code/") for name in names):
        kind = (
            "a torch.export program: draw it with jitviz.show(path)"
            if zipcheck.is_export_layout(names)
            else "probably written by torch.save (tensors or a state dict): open it with torch.load"
        )
        raise NotTorchScriptFileError(
            f"{str(path)!r} is a zip archive without TorchScript code, so it is {kind}."
        )
    try:
        module = torch.jit.load(str(path), map_location="cpu")
        module.graph  # noqa: B018 - a module without forward fails here, not in the middle of drawing
        return module
    except Exception as error:
        raise NotTorchScriptFileError(
            f"torch.jit.load could not read {str(path)!r}: {_first_lines(error)}"
        ) from error


def _first_lines(error: BaseException, limit: int = 6) -> str:
    text = _strip_cpp(str(error)).strip()
    lines = text.splitlines()
    if len(lines) > limit:
        lines = lines[:limit] + ["..."]
    return "\n".join(lines) or type(error).__name__


def _strip_cpp(text: str) -> str:
    """Drop a C++ stack dump, should torch have appended one."""
    return re.split(r"\nException raised from |\nframe #0", text, maxsplit=1)[0]


def _short_repr(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- converting a graph ---------------------------------------------------------------------------


ExpandCalls = Union[bool, int, str, Sequence[str]]


def convert(source: Source, *, expand_calls: ExpandCalls = False) -> ir.Graph:
    """Convert a TorchScript graph into :class:`jitviz.ir.Graph`.

    ``expand_calls`` puts the callee's graph inside each ``prim::CallFunction`` /
    ``prim::CallMethod`` node as a nested block: ``True`` for every level, an int for that many
    levels, or submodule paths (``"layers.0"``, or a list of them) to expand just the calls on the
    way to those submodules.
    """
    depth, paths = _expansion(expand_calls)
    return _Converter(depth, paths).graph(source)


def _expansion(expand_calls: ExpandCalls) -> tuple[int, tuple[str, ...]]:
    if isinstance(expand_calls, str):
        return 0, (expand_calls,)
    if isinstance(expand_calls, (list, tuple)) and all(isinstance(p, str) for p in expand_calls):
        return 0, tuple(expand_calls)
    if expand_calls is True:
        return 1_000, ()
    if expand_calls is False or expand_calls is None:
        return 0, ()
    if isinstance(expand_calls, int) and expand_calls >= 0:
        return expand_calls, ()
    raise ValueError(
        f"expand_calls must be True, False, a depth >= 0 or submodule paths such as 'layers.0', "
        f"not {expand_calls!r}"
    )


def _on_the_way(path: str, wanted: tuple[str, ...]) -> bool:
    """Whether submodule ``path`` is one of ``wanted`` or contains one of them."""
    return any(w == path or w.startswith(path + ".") for w in wanted)


class _Converter:
    """One conversion: owns the id counters, so ids are unique and deterministic across callees."""

    def __init__(self, expand_depth: int, expand_paths: tuple[str, ...] = ()) -> None:
        self._expand_depth = expand_depth
        self._expand_paths = expand_paths
        self._node_ids = itertools.count()
        self._value_ids = itertools.count()

    def graph(self, source: Source) -> ir.Graph:
        values: dict[int, ir.Value] = {}
        paths: dict[int, str] = {}
        inputs = [self._value(v, values) for v in source.graph.inputs()]
        first = next(iter(source.graph.inputs()), None)
        if source.module is not None and first is not None and first.debugName().startswith("self"):
            paths[first.unique()] = "self"
        context = _Context(values, paths, source.module, depth=0, prefix="")
        nodes = self._nodes(source.graph.nodes(), context)
        outputs = [values[v.unique()] for v in source.graph.outputs()]
        return ir.Graph(source.name, source.origin, inputs, nodes, outputs)

    def _value(self, value: torch._C.Value, values: dict[int, ir.Value]) -> ir.Value:
        value_type = value.type()
        converted = ir.Value(
            f"v{next(self._value_ids)}",
            value.debugName(),
            type_name(value_type),
            is_module=_is_module_type(value_type),
        )
        values[value.unique()] = converted
        return converted

    def _nodes(self, nodes: Any, context: "_Context") -> list[ir.Node]:
        return [self._node(node, context) for node in nodes]

    def _node(self, node: torch._C.Node, context: "_Context") -> ir.Node:
        kind = node.kind()
        converted = ir.Node(
            id=f"n{next(self._node_ids)}",
            kind=kind,
            inputs=[context.values[v.unique()] for v in node.inputs()],
            attributes=_attributes(node),
            arg_names=_arg_names(node),
            source=source_location(node),
            scope=_module_scope(node.scopeName()),
        )
        for index, block in enumerate(node.blocks()):
            converted.blocks.append(self._block(block, _block_label(kind, index), context))
        converted.outputs = [self._value(v, context.values) for v in node.outputs()]

        if kind == "prim::GetAttr":
            base = context.paths.get(node.input().unique())
            if base is not None:
                context.paths[node.output().unique()] = f"{base}.{node.s('name')}"
        elif kind in ("prim::CallMethod", "prim::CallFunction"):
            self._call(node, converted, context)
        return converted

    def _block(self, block: torch._C.Block, label: str, context: "_Context") -> ir.Block:
        params = [self._value(v, context.values) for v in block.inputs()]
        nodes = self._nodes(block.nodes(), context)
        returns = [context.values[v.unique()] for v in block.outputs()]
        return ir.Block(label, params, nodes, returns)

    def _call(self, node: torch._C.Node, converted: ir.Node, context: "_Context") -> None:
        callee: torch._C.Graph | None = None
        callee_module: torch.jit.ScriptModule | None = None
        full_path = ""
        if node.kind() == "prim::CallMethod":
            method = node.s("name")
            path = context.paths.get(next(iter(node.inputs())).unique())
            converted.callee = f"{path or '?'}.{method}"
            target = _resolve_module(context.module, path)
            if path is not None:
                relative = path.removeprefix("self").removeprefix(".")
                full_path = ".".join(part for part in (context.prefix, relative) if part)
                converted.attributes["module_path"] = full_path
            if target is not None:
                callee_module = target
                callee = target._c._get_method(method).graph
                converted.attributes["module_type"] = _module_name(target)
                converted.attributes["module_signature"] = _signature(target, method)
        else:
            function_type = next(iter(node.inputs())).type()
            qualified = function_type.annotation_str
            converted.callee = qualified.removeprefix("__torch__.")
            function = torch.jit._state._python_cu.find_function(qualified)
            if function is not None:
                callee = function.graph
        wanted = bool(full_path) and _on_the_way(full_path, self._expand_paths)
        if callee is None or (context.depth >= self._expand_depth and not wanted):
            return
        values: dict[int, ir.Value] = {}
        paths: dict[int, str] = {}
        params = [self._value(v, values) for v in callee.inputs()]
        if callee_module is not None:
            paths[next(iter(callee.inputs())).unique()] = "self"
        inner = _Context(values, paths, callee_module, context.depth + 1, prefix=full_path)
        body = self._nodes(callee.nodes(), inner)
        returns = [values[v.unique()] for v in callee.outputs()]
        converted.blocks.append(ir.Block(converted.callee, params, body, returns))


@dataclass
class _Context:
    values: dict[int, ir.Value]  # torch Value.unique() -> converted value
    paths: dict[int, str]  # values that are submodules: unique() -> "self.layer1"
    module: torch.jit.ScriptModule | None
    depth: int
    prefix: str  # where `self` is, from the top module: "" at the top, "layers.0" inside it


def _resolve_module(module: Any, path: str | None) -> Any:
    if module is None or path is None:
        return None
    target = module
    for part in path.split(".")[1:]:
        target = getattr(target, part, None)
        if target is None:
            return None
    return target if isinstance(target, torch.jit.ScriptModule) else None


def _block_label(kind: str, index: int) -> str:
    if kind == "prim::If":
        return ("then", "else")[index] if index < 2 else f"block{index}"
    if kind == "prim::Loop":
        return "loop body"
    return f"block{index}"


def _arg_names(node: torch._C.Node) -> list[str]:
    count = node.inputsSize()
    if node.kind() in _CONTROL_ARG_NAMES:
        names = _CONTROL_ARG_NAMES[node.kind()]
        return (names + [""] * count)[:count]
    try:
        schema = node.schema()
    except RuntimeError:
        schema = "(no schema)"
    if schema == "(no schema)":
        return [""] * count
    return (_schema_arg_names(schema) + [""] * count)[:count]


_SCHEMA_ARGS = re.compile(r"^[^(]*\((.*)\)\s*->")


def _schema_arg_names(schema: str) -> list[str]:
    """``aten::mul.Tensor(Tensor self, Tensor other) -> Tensor`` gives ``['self', 'other']``."""
    match = _SCHEMA_ARGS.match(schema)
    if not match:
        return []
    names = []
    depth = 0
    current = ""
    for char in match.group(1) + ",":
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        if char == "," and depth == 0:
            argument = current.strip().split("=")[0].strip()
            if argument and argument != "*":
                names.append(argument.split()[-1])
            current = ""
        else:
            current += char
    return names


def _attributes(node: torch._C.Node) -> dict[str, object]:
    kind = node.kind()
    attributes: dict[str, object] = {}
    for name in node.attributeNames():
        if kind == "prim::Constant" and name == "value":
            attributes[name] = constant_value(node)
        else:
            attributes[name] = _attribute(node, name)
    if kind == "prim::Constant" and not attributes:
        attributes["value"] = None  # TorchScript's None carries no attribute at all
    if kind == "prim::Loop":
        trips = _constant_of(next(iter(node.inputs())))
        if trips == _UNBOUNDED_TRIPS:
            attributes["unbounded"] = True
    return attributes


def _attribute(node: torch._C.Node, name: str) -> object:
    getter = {"s": node.s, "i": node.i, "f": node.f, "ss": node.ss, "is": node.is_, "fs": node.fs}
    kind = node.kindOf(name)
    if kind in getter:
        return getter[kind](name)
    if kind == "t":
        return ir_literal(node.t(name))
    return ir.Literal(f"<{kind} attribute>")


def _constant_of(value: torch._C.Value) -> object:
    producer = value.node()
    if producer.kind() == "prim::Constant" and "value" in producer.attributeNames():
        return constant_value(producer)
    return None


def constant_value(node: torch._C.Node) -> object:
    """The value of a ``prim::Constant`` as plain Python (tensors and devices as literals)."""
    output = node.output()
    if output.type().kind() == "FunctionType":
        return ir.Literal(node.s("name"))
    try:
        value = output.toIValue()
    except Exception:  # an IValue type with no Python counterpart
        return ir.Literal(str(output.type()))
    return _plain(value)


def _plain(value: Any) -> object:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    return ir_literal(value)


def ir_literal(value: Any) -> ir.Literal:
    if isinstance(value, torch.Tensor):
        if value.numel() <= 4 and value.device.type != "meta":
            return ir.Literal(repr(value.detach()).replace("\n", " "))
        scalar = _SCALAR_TYPE_NAMES.get(value.dtype, str(value.dtype).removeprefix("torch."))
        return ir.Literal(f"{tensor_type_name(scalar, list(value.shape))} tensor")
    if isinstance(value, torch.device):
        return ir.Literal(f"device('{value}')")
    return ir.Literal(_short_repr(value))


# --- types and source locations ---------------------------------------------------------------

_SCALAR_TYPE_NAMES = {
    torch.float32: "Float",
    torch.float64: "Double",
    torch.float16: "Half",
    torch.bfloat16: "BFloat16",
    torch.int64: "Long",
    torch.int32: "Int",
    torch.int16: "Short",
    torch.int8: "Char",
    torch.uint8: "Byte",
    torch.bool: "Bool",
}


def tensor_type_name(scalar: str | None, sizes: list[int | None] | None) -> str:
    """``Float(2, 2)`` from ``"Float"`` and ``[2, 2]``; unknown sizes print as ``*``."""
    name = scalar or "Tensor"
    if sizes is None:
        return name
    return f"{name}({', '.join('*' if s is None else str(s) for s in sizes)})"


def type_name(value_type: torch._C.Type) -> str:
    """A short type string: ``Float(2, 2)`` for a traced tensor, ``Tensor``, ``int``, ``Linear``."""
    if isinstance(value_type, torch._C.TensorType):
        return tensor_type_name(value_type.scalarType(), value_type.varyingSizes())
    if isinstance(value_type, torch._C.ClassType):
        return value_type.str().rsplit(".", 1)[-1]
    return value_type.annotation_str.replace("__torch__.", "")


_SCRIPT_RANGE = re.compile(r'File "([^"]*)", line (\d+)')
_TRACE_FRAME = re.compile(r"^(.*)\((\d+)\): \S+$", re.MULTILINE)
_HIGHLIGHT = re.compile(r"^\s*~+")


def source_location(node: torch._C.Node) -> ir.SourceLocation | None:
    """The Python file, line and code a node was built from, as TorchScript recorded them.

    Scripted nodes carry the source text with the span underlined (``~~~~``); traced nodes carry
    the Python stack at the time of the call, innermost frame first, and the line is read back
    with :mod:`linecache` (which also knows notebook cells).
    """
    text = node.sourceRange()
    scripted = _SCRIPT_RANGE.search(text)
    if scripted is not None:
        lines = text[scripted.end() :].splitlines()[1:]
        code = next(
            (above.strip() for above, line in zip(lines, lines[1:]) if _HIGHLIGHT.match(line)), ""
        )
        return ir.SourceLocation(short_file(scripted.group(1)), int(scripted.group(2)), code)
    traced = _TRACE_FRAME.search(text)
    if traced is not None:
        file, line = traced.group(1), int(traced.group(2))
        code = linecache.getline(file, line).strip()
        return ir.SourceLocation(short_file(file), line, code)
    return None


def short_file(path: str) -> str:
    """A file name that is the same on every machine: no directories, no kernel's temp names."""
    if "ipykernel_" in path or path.startswith("<ipython-input"):
        return "cell"
    return os.path.basename(path) or path


def inlined(source: Source) -> Source:
    """The same graph with every call replaced by the callee's body (TorchScript's inline pass)."""
    graph = source.graph.copy()
    torch._C._jit_pass_inline(graph)
    return Source(graph, source.name, source.origin, source.module)


def _is_module_type(value_type: torch._C.Type) -> bool:
    # A scripted nn.Module's class type has a forward method; a TorchScript class usually has not.
    return isinstance(value_type, torch._C.ClassType) and "forward" in value_type.method_names()


def _signature(module: torch.jit.ScriptModule, method: str) -> str:
    """Equal for submodules that compute the same thing: same code, same parameter shapes."""
    try:
        code = module._c._get_method(method).code if method != "forward" else module.code
    except Exception:  # a method whose code TorchScript cannot print: never merged with another
        return f"unique:{id(module)}"
    shapes = [(name, tuple(p.shape), str(p.dtype)) for name, p in module.named_parameters()]
    return hashlib.sha1(repr((_module_name(module), code, shapes)).encode()).hexdigest()[:16]


def _module_scope(scope: str) -> str:
    """The tracer's scope ``__module.layers.0/__module.layers.0.fc`` as ``layers.0.fc``."""
    deepest = scope.rsplit("/", 1)[-1]
    return deepest.removeprefix("__module").removeprefix(".")
