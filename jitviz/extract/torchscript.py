"""Turn TorchScript objects into the plain graph model; the only module that calls ``torch._C``."""

from __future__ import annotations

import functools
import hashlib
import inspect
import itertools
import linecache
import os
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import ir
from ..errors import (
    TRUST_ADVICE,
    GraphTooLargeError,
    NotTorchScriptFileError,
    OptionsError,
    ScriptingError,
    TracingError,
    UnsupportedObjectError,
    UntrustedFileError,
)
from ..options import MODES
from ..scopes import on_the_way
from ..text import natural_key, short_file
from . import calls, zipcheck
from .calls import CALL_ATTRIBUTE, Recorded, RecordedCall, RecordedFunction, RecordedMethod, recording_calls

__all__ = ["Source", "obtain", "convert", "trace_collapsed", "MODES"]

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
    notes: list[str] = field(default_factory=list)  # shown under the picture's title


# --- obtaining a graph --------------------------------------------------------------------------


def obtain(obj: Any, example_inputs: Sequence[Any], mode: str = "auto", *, trusted: bool = False) -> Source:
    """Script, trace, load or unwrap ``obj`` into a :class:`Source` (a file: see :func:`load_torchscript_file`)."""
    if mode not in MODES:
        raise OptionsError(f"mode must be one of {', '.join(map(repr, MODES))} here, not {mode!r}.")
    if isinstance(obj, torch._C.Graph):
        _no_inputs_for(obj, example_inputs, "a torch._C.Graph")
        return Source(obj, "graph", "graph")
    if isinstance(obj, (str, os.PathLike)):
        _no_inputs_for(obj, example_inputs, "a saved file")
        module = load_torchscript_file(obj, trusted=trusted)
        graph, notes = _forward_graph(module)
        return Source(graph, _module_name(module), "loaded", module, notes=notes)
    if isinstance(obj, (torch.jit.ScriptModule, torch.jit.ScriptFunction)):
        _already_torchscript(obj, example_inputs, mode)
        if isinstance(obj, torch.jit.ScriptModule):
            graph, notes = _forward_graph(obj)
            return Source(graph, _module_name(obj), _origin_of(obj), obj, runnable=obj, notes=notes)
        return Source(obj.graph, obj.name, _origin_of(obj), runnable=obj)
    if isinstance(obj, torch.nn.Module) or callable(obj) and not isinstance(obj, type):
        wants_trace = mode == "trace" or (mode == "auto" and len(example_inputs) > 0)
        if wants_trace:
            return _trace(obj, example_inputs)
        if example_inputs:
            raise OptionsError(
                "mode='script' compiles the code from its source, so example inputs would be ignored: leave "
                "them out, or pass highlight=True to run the scripted code on them and see which branches ran."
            )
        return _script(obj)
    raise UnsupportedObjectError(
        f"jitviz cannot draw a {type(obj).__qualname__}. Pass a Python function or nn.Module "
        "(with example inputs to trace it, without to script it), a torch.jit.ScriptFunction or "
        "ScriptModule, a torch._C.Graph, or the path of a file saved with torch.jit.save."
    )


def _already_torchscript(obj: Any, example_inputs: Sequence[Any], mode: str) -> None:
    """A ScriptFunction or ScriptModule is drawn as it is: inputs or a mode would be ignored, so refuse them."""
    what = "traced" if _origin_of(obj) == "traced" else "scripted"
    name = getattr(obj, "original_name", None) or getattr(obj, "name", None) or type(obj).__name__
    if example_inputs:
        raise TracingError(
            f"{name} is already TorchScript ({what}), so it is drawn as it is and example inputs "
            f"would be ignored. Call jitviz.show({name}) without inputs; to see what runs on some "
            f"inputs, use jitviz.show({name}, *inputs, highlight=True); to trace the Python "
            "original, pass the Python function or module instead."
        )
    if mode not in ("auto", "script" if what == "scripted" else "trace"):
        raise TracingError(
            f"mode={mode!r} cannot apply to {name}: it is already TorchScript ({what}) and is drawn "
            "as it is. Leave mode='auto', or pass the Python function or module to "
            f"{'trace' if mode == 'trace' else 'script'} it."
        )


def _forward_graph(module: torch.jit.ScriptModule) -> tuple[torch._C.Graph, list[str]]:
    """``forward``'s graph; for a module whose forward is overloaded (a scripted ``nn.GRU`` has
    ``forward__0`` for tensors and ``forward__1`` for packed sequences), the first overload's."""
    names = module._c._method_names()
    if "forward" in names:
        return module._c._get_method("forward").graph, []
    overloads = sorted(name for name in names if re.fullmatch(r"forward__\d+", name))
    if not overloads:
        raise UnsupportedObjectError(
            f"{_module_name(module)} has no forward method to draw; its methods are: {', '.join(names)}."
        )
    note = f"forward is overloaded ({', '.join(overloads)}): drawing {overloads[0]}"
    return module._c._get_method(overloads[0]).graph, [note]


def _origin_of(obj: Any) -> str:
    """``"traced"`` or ``"scripted"``: a traced function's nodes carry Python stack frames, not source spans."""
    if isinstance(obj, torch.jit.TopLevelTracedModule):
        return "traced"
    if isinstance(obj, torch.jit.ScriptModule):
        return "scripted"
    for node in obj.graph.nodes():  # a ScriptFunction
        text = _source_range(node)
        if _SCRIPT_RANGE.search(text):
            return "scripted"
        if _TRACE_FRAME.search(text):
            return "traced"
    return "scripted"


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
    _check_example_inputs(name, example_inputs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", torch.jit.TracerWarning)
        try:
            # check_trace=False: the checker re-runs the model (0.5-1 s) and raises false alarms on
            # some library modules. The notebooks teach the checker; drawing does not need it.
            # strict=False: a model that returns a dict or a list (Hugging Face models, detectors)
            # traces instead of failing; the picture is the same either way.
            traced = torch.jit.trace(obj, tuple(example_inputs), check_trace=False, strict=False)
        except Exception as error:  # torch raises RuntimeError, TypeError, ValueError... alike
            raise TracingError(
                f"Tracing {name} failed while running it on the example inputs: "
                f"{_first_lines(error)}\n{_trace_advice(name, error)}"
            ) from error
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


# How torch 2.13 says a traced output is not made of tensors, and names the offending type
_UNRECORDABLE = ("Tracer cannot infer type of", "Only tensors", "are supported as JIT inputs/outputs")
_OFFENDING_TYPE = re.compile(r"got value of type (\w+)|Found \w+ and (?:\w+\.)*(\w+)|unsupported type: (?:\w+\.)*(\w+)")


def _trace_advice(name: str, error: BaseException) -> str:
    """What to do about a failed trace: whether the model itself fails on these inputs tells which."""
    text = str(error)
    if any(sign in text for sign in _UNRECORDABLE):
        found = _OFFENDING_TYPE.search(text)
        what = f"a {next(group for group in found.groups() if group)}" if found else "something"
        return (f"{name} returns {what}, which the tracer cannot record: only tensors, and tuples, "
                "lists or dicts of them, can be traced. Make it return tensors (a Hugging Face model: "
                "config.use_cache=False and return_dict=False), or script it with mode='script'.")
    return (f"Check that {name}(*inputs) runs eagerly on these inputs; if it does, script it "
            "instead with mode='script'.")


def _example_for(obj: Any) -> str:
    """Example inputs that fit ``obj``'s forward, as code: ``input_ids`` for a language model."""
    forward = getattr(obj, "forward", obj)
    try:
        parameters = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):
        return "torch.ones(2, 2)"
    first = next((p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)), None)
    if first is None:
        return "torch.ones(2, 2)"
    if first.name in ("input_ids", "tokens", "token_ids", "ids"):
        vocab = getattr(getattr(obj, "config", None), "vocab_size", 100)
        return f"torch.randint(0, {vocab}, (1, 8))"
    if first.name in ("images", "image", "pixel_values", "img"):
        return "torch.rand(1, 3, 224, 224)"
    return "torch.ones(2, 2)"


def trace_collapsed(module: torch.nn.Module, example_inputs: Sequence[Any]) -> ir.Graph:
    """A module's trace, each submodule call one ``prim::CallMethod`` node: the default view.

    ``torch.jit.trace`` builds a ``ScriptModule`` for the module and every submodule, which costs
    most of the time a picture takes (0.12 s of 0.2 s on a ResNet). The trace alone, with each
    submodule's body run but not recorded (:mod:`jitviz.extract.calls`), takes a tenth of that
    on BERT, and nothing is left to fold: the picture is the calls, labelled by path and type,
    and what the module's own ``forward`` does between them.
    """
    name = _display_name(module)
    _check_example_inputs(name, example_inputs)
    recorded: Recorded | None = None
    try:
        with warnings.catch_warnings(), recording_calls(module) as recorded:
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            graph, _ = torch.jit._get_trace_graph(module, tuple(example_inputs), strict=False)
    except Exception as error:  # torch raises RuntimeError, TypeError, ValueError... alike
        failed = recorded.failed if recorded is not None else None
        if failed is not None and failed[1] is error and failed[0] is None:  # it would fail again
            raise TracingError(
                f"Tracing {name} failed while running it on the example inputs: "
                f"{_first_lines(error)}\n{_trace_advice(name, error)}"
            ) from error
        if failed is not None and failed[1] is error and failed[0] is not None:  # a submodule's own code
            call = failed[0]
            where = f" (called at {call.source.file}:{call.source.line}: {call.source.code})" if call.source else ""
            raise TracingError(
                f"Tracing {name} failed while running it on the example inputs: its submodule "
                f"{call.path} ({call.module_type}) raised {type(error).__name__}: {_first_lines(error)}"
                f"{where}\n{_trace_advice(name, error)}"
            ) from error
        if not isinstance(error, RuntimeError):  # raised by the model's own code, not by the tracer
            raise TracingError(
                f"Tracing {name} failed while running it on the example inputs: "
                f"{_first_lines(error)}\n{_trace_advice(name, error)}"
            ) from error
        try:  # traced in full, as torch.jit.trace would: a failure the recording caused does not recur
            return convert(_trace(module, example_inputs), open_pass_through=False)
        except TracingError:  # it does: the first error says more (torch.jit.trace names no type)
            raise TracingError(
                f"Tracing {name} failed while running it on the example inputs: "
                f"{_first_lines(error)}\n{_trace_advice(name, error)}"
            ) from error
    converter = _Converter(0, (), open_pass_through=False)
    converter.recorded = recorded
    model = converter.graph(Source(graph, name, "traced"))
    state = list(torch.jit._trace._unique_state_dict(module, keep_vars=True).items())
    given = model.inputs[:len(model.inputs) - len(state)]
    for value, (key, tensor) in zip(model.inputs[len(given):], state):
        value.name, value.role = key, "parameter" if isinstance(tensor, torch.nn.Parameter) else "buffer"
    names = _input_names(module, example_inputs)
    if len(names) == len(given):  # else the trace flattened an input we cannot name: keep its names
        for value, input_name in zip(given, names):
            value.name = input_name
    return model


def _input_names(module: torch.nn.Module, example_inputs: Sequence[Any]) -> list[str]:
    """``forward``'s parameter names for the trace's inputs, ``images[0]`` for a list's tensors."""
    try:
        parameters = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):  # a forward without a signature Python can read
        return []
    names: list[str] = []
    for parameter, example in zip(parameters, example_inputs):
        if parameter.kind not in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            return []
        if isinstance(example, torch.Tensor):
            names.append(parameter.name)
        elif isinstance(example, (list, tuple)) and all(isinstance(item, torch.Tensor) for item in example):
            names.extend(f"{parameter.name}[{index}]" for index in range(len(example)))
        else:
            return []
    return names


def _check_example_inputs(name: str, example_inputs: Sequence[Any]) -> None:
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
            f"To draw it anyway, trace it with example inputs: jitviz.show({name}, {_example_for(obj)})"
            " (a trace records only the path those inputs take), or change the code as "
            "TorchScript's message above says."
        )
        raise ScriptingError(f"Scripting {name} failed:\n{_strip_cpp(str(error))}\n{hint}") from error
    if isinstance(scripted, torch.jit.ScriptModule):  # forward may be overloaded (nn.LSTM, nn.GRU, nn.RNN)
        graph, notes = _forward_graph(scripted)
        return Source(graph, _module_name(scripted), "scripted", scripted, runnable=scripted, notes=notes)
    return Source(scripted.graph, scripted.name, "scripted", runnable=scripted)


def load_torchscript_file(path: str | os.PathLike[str], *, trusted: bool = False) -> torch.jit.ScriptModule:
    """``torch.jit.load`` of a file vetted first: ``load_torchscript_file("model.pt")``.

    The file is checked by :func:`vet_torchscript_file` before torch sees it; any error of
    torch's own ends in a :class:`NotTorchScriptFileError` too (chained as its cause).
    """
    vet_torchscript_file(path, trusted=trusted)
    try:
        module = torch.jit.load(str(path), map_location="cpu")
        _forward_graph(module)  # a module without forward fails here, not in the middle of drawing
        return module
    except Exception as error:
        raise NotTorchScriptFileError(
            f"torch.jit.load could not read {str(path)!r}: {_first_lines(error)}"
        ) from error


def vet_torchscript_file(path: str | os.PathLike[str], *, trusted: bool = False) -> None:
    """Refuse a file ``torch.jit.load`` (or C++'s ``torch::jit::load``) should not be given.

    The file is read with the bounded reader of :mod:`.zipcheck`: a damaged or ambiguous zip, or
    a pickle nested deep enough to crash torch, ends in a :class:`NotTorchScriptFileError`. A
    file whose code defines a ``__setstate__`` (which loading runs) is refused with an
    :class:`UntrustedFileError` unless ``trusted=True``.
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
    running: list[str] = []  # code files that torch.jit.load would run (a __setstate__), found while vetting
    names = zipcheck.vet_torchscript(path, setstate_in=running)
    if not any(name.startswith("code/") for name in names):
        kind = (
            "a torch.export program: draw it with jitviz.show(path)"
            if zipcheck.is_export_layout(names)
            else "probably written by torch.save (tensors or a state dict): open it with torch.load"
        )
        raise NotTorchScriptFileError(
            f"{str(path)!r} is a zip archive without TorchScript code, so it is {kind}."
        )
    if running and not trusted:
        raise UntrustedFileError(
            f"{path.name!r} holds code that torch.jit.load would run while loading it (a __setstate__ in "
            f"{', '.join(running[:3])}{', ...' if len(running) > 3 else ''}), and such code can read, "
            "write or delete files. " + TRUST_ADVICE
        )


_TENSOR_REPR = re.compile(r"tensor\(\[[^()]*?\](?:, [^()]*)?\)", re.DOTALL)


def _first_lines(error: BaseException, limit: int = 6) -> str:
    text = _TENSOR_REPR.sub("tensor(…)", _strip_cpp(str(error))).strip()
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


ExpandCalls = bool | int | str | Sequence[str]


def convert(source: Source, *, expand_calls: ExpandCalls = False, open_pass_through: bool = True) -> ir.Graph:
    """Convert a TorchScript graph into :class:`jitviz.ir.Graph`.

    ``expand_calls`` puts the callee's graph inside each ``prim::CallFunction`` /
    ``prim::CallMethod`` node as a nested block: ``True`` for every level, an int for that many
    levels, or submodule paths (``"layers.0"``, or a list of them) to expand just the calls on the
    way to those submodules. With ``open_pass_through`` (the default), a body that only hands its
    inputs to one call (``forward`` returning ``self._forward_impl(x)``) shows that call opened,
    without counting it as a level.
    """
    nesting = _nesting(source.graph)
    if nesting > MAX_NESTING:
        raise GraphTooLargeError(
            f"This graph nests its blocks (if and loop bodies) {nesting} deep, deeper than jitviz can follow "
            f"(MAX_NESTING = {MAX_NESTING}). Draw an inner function on its own, or restructure the nesting "
            "(a long elif chain is one decision: a lookup or torch.where)."
        )
    depth, paths = _expansion(expand_calls)
    converter = _Converter(depth, paths, open_pass_through)
    graph = converter.graph(source)
    unknown = [path for path in paths
               if not any(seen == path or seen.startswith(path + ".") for seen in converter.called_paths)]
    if unknown:
        known = ", ".join(sorted(converter.called_paths, key=natural_key)) or "none"
        raise OptionsError(
            f"expand_calls names {', '.join(map(repr, unknown))}, but {source.name} calls no submodule "
            f"there. The submodules it calls are: {known}."
        )
    return graph


#: The deepest nesting of blocks jitviz converts: deeper, the conversion's recursion (and time:
#: 21 s at 300 levels) runs away, and no picture of it could be read anyway.
MAX_NESTING = 200


def _nesting(graph: torch._C.Graph) -> int:
    """How deeply ``graph``'s blocks nest, counted without recursion."""
    deepest = 0
    pending = [(block, 1) for node in graph.nodes() for block in node.blocks()]
    while pending:
        block, depth = pending.pop()
        deepest = max(deepest, depth)
        pending.extend((inner, depth + 1) for node in block.nodes() for inner in node.blocks())
    return deepest


def _expansion(expand_calls: ExpandCalls) -> tuple[int, tuple[str, ...]]:
    if isinstance(expand_calls, str):
        return 0, (expand_calls,)
    if isinstance(expand_calls, (list, tuple)) and all(isinstance(p, str) for p in expand_calls):
        return 0, tuple(expand_calls)
    if expand_calls is True:
        return 1_000, ()
    if expand_calls is None:
        return 0, ()
    if isinstance(expand_calls, int) and expand_calls >= 0:  # False is 0
        return expand_calls, ()
    raise OptionsError(
        f"expand_calls must be True, False, a depth >= 0 or submodule paths such as 'layers.0', "
        f"not {expand_calls!r}"
    )


class _Converter:
    """One conversion: owns the id counters, so ids are unique and deterministic across callees."""

    def __init__(self, expand_depth: int, expand_paths: tuple[str, ...] = (), open_pass_through: bool = True) -> None:
        self._expand_depth = expand_depth
        self._expand_paths = expand_paths
        self._open_pass_through = open_pass_through
        self._node_ids = itertools.count()
        self._value_ids = itertools.count()
        self.called_paths: set[str] = set()  # every submodule path a call was seen to (expanded or not)
        self.recorded = Recorded()  # a trace's submodule and function calls (jitviz.extract.calls)

    def graph(self, source: Source) -> ir.Graph:
        values: dict[int, ir.Value] = {}
        paths: dict[int, str] = {}
        inputs = [self._value(v, values) for v in source.graph.inputs()]
        first = next(iter(source.graph.inputs()), None)
        if source.module is not None and first is not None and first.debugName().startswith("self"):
            paths[first.unique()] = "self"
        context = _Context(values, paths, source.module, depth=0, prefix="")
        if self.recorded.functions or self.recorded.methods:
            nodes = self._with_recorded_scopes(list(source.graph.nodes()), list(source.graph.outputs()), context)
        else:
            nodes = self._nodes(source.graph.nodes(), context, body=True)
        outputs = [values[v.unique()] for v in source.graph.outputs()]
        return ir.Graph(source.name, source.origin, inputs, nodes, outputs, list(source.notes))

    def _value(self, value: torch._C.Value, values: dict[int, ir.Value]) -> ir.Value:
        value_type = value.type()
        converted = ir.Value(
            f"v{next(self._value_ids)}",
            value.debugName(),
            type_name(value_type),
            is_module=_is_module_type(value_type),
            is_function=value_type.kind() == "FunctionType",
        )
        values[value.unique()] = converted
        return converted

    def _nodes(self, nodes: Any, context: _Context, *, body: bool = False) -> list[ir.Node]:
        nodes = list(nodes)
        opened = _pass_through_call(nodes) if body and self._open_pass_through else None
        return [self._node(node, context, opened=node is opened) for node in nodes]

    def _node(self, node: torch._C.Node, context: _Context, *, opened: bool = False) -> ir.Node:
        kind = node.kind()
        if kind == "prim::CallMethod" and node.hasAttribute(CALL_ATTRIBUTE):
            return self._recorded_call(node, self.recorded.calls[node.i(CALL_ATTRIBUTE)], context)
        converted = ir.Node(
            id=f"n{next(self._node_ids)}",
            kind=kind,
            inputs=[context.values[v.unique()] for v in node.inputs()],
            attributes=_attributes(node),
            source=source_location(node),
            scope=_module_scope(node.scopeName()),
        )
        schema = _schema(node)
        count = len(converted.inputs)
        converted.arg_names = (schema.names + [""] * count)[:count]
        converted.arg_types = (schema.types + [""] * count)[:count] if schema.types else []
        converted.defaults = dict(schema.defaults)
        converted.writes = schema.writes
        for index, block in enumerate(node.blocks()):
            converted.blocks.append(self._block(block, _block_label(kind, index), context))
        converted.outputs = [self._value(v, context.values) for v in node.outputs() if not _unused_none(node, v)]

        if kind == "prim::GetAttr":
            base = context.paths.get(node.input().unique())
            if base is not None:
                context.paths[node.output().unique()] = f"{base}.{node.s('name')}"
                current = getattr(_resolve_module(context.module, base), node.s("name"), None)
                if isinstance(current, (bool, int, float, str)):  # `self.training` is False in eval mode
                    converted.attributes["current"] = current
        elif kind in ("prim::CallMethod", "prim::CallFunction"):
            self._call(node, converted, context, opened=opened)
        return converted

    def _recorded_call(self, node: torch._C.Node, call: RecordedCall, context: _Context) -> ir.Node:
        inputs = [context.values[v.unique()] for v in node.inputs()]
        self.called_paths.add(call.path)
        return ir.Node(
            id=f"n{next(self._node_ids)}", kind="prim::CallMethod", inputs=inputs,
            outputs=[self._value(v, context.values) for v in node.outputs()],
            arg_names=list(call.arg_names) if len(call.arg_names) == len(inputs) else [""] * len(inputs),
            callee=f"{call.path}.forward", source=call.source,
            attributes={"module_path": call.path, "module_type": call.module_type,
                        "module_signature": call.signature},
        )

    def _with_recorded_scopes(self, nodes: list[torch._C.Node], outputs: list[torch._C.Value],
                              context: _Context) -> list[ir.Node]:
        """A recorded trace's nodes, each ``torch.nn.functional`` call of more than one operation one
        node, and each method call one node unless it is opened (see :meth:`_collapsed`)."""
        chains = [[part for part in node.scopeName().split("/") if calls.recorder_scope(part)] for node in nodes]
        readers: dict[int, set[int]] = {}  # value -> the indices of the nodes that read it (-1: the graph's output)
        for index, node in enumerate(nodes):
            for value in node.inputs():
                readers.setdefault(value.unique(), set()).add(index)
        for value in outputs:
            readers.setdefault(value.unique(), set()).add(-1)
        plan: list[tuple[int, str | None, list[int]]] = []  # (where it is drawn, the scope drawn as one call, nodes)
        pending = [(list(range(len(nodes))), 0)]
        while pending:  # each level of scopes: the top, then inside each method opened
            indices, level = pending.pop()
            groups: dict[str, list[int]] = {}
            for index in indices:
                if len(chains[index]) > level:
                    groups.setdefault(chains[index][level], []).append(index)
                else:
                    plan.append((index, None, [index]))
            for scope, members in groups.items():
                if self._collapsed(scope, [nodes[i] for i in members]) and not _read_in_between(nodes, members):
                    plan.append((members[-1], scope, members))  # after every value it reads
                else:  # opened: the calls inside it are drawn as calls in turn
                    pending.append((members, level + 1))
        converted: list[ir.Node] = []
        for _, called, members in sorted(plan, key=lambda entry: entry[0]):  # in the trace's order: made before read
            if called is None:
                converted.append(self._node(nodes[members[0]], context))
            else:
                converted.append(self._scope_call(called, nodes, members, readers, context))
        return converted

    def _collapsed(self, scope: str, group: list[torch._C.Node]) -> bool:
        """Whether a recorded scope is drawn as one call: a submodule's method that did anything; a
        function (of ``torch.nn.functional`` or a library's), or a method of the traced module's own,
        that did more than one operation and called no submodule (one that does, ResNet's
        ``_forward_impl``, is opened: its calls are the model's stages)."""
        method = self.recorded.methods.get(scope)
        if method is not None and method.path:
            return any(not _constant_or_list_of_constants(node) for node in group)
        return _collapsible(group) and not any(node.hasAttribute(CALL_ATTRIBUTE) for node in group
                                               if node.kind() == "prim::CallMethod")

    def _scope_call(self, scope: str, nodes: list[torch._C.Node], members: list[int], readers: dict[int, set[int]],
                    context: _Context) -> ir.Node:
        group = [nodes[index] for index in members]
        inside = set(members)
        made = {v.unique() for node in group for v in node.outputs()}
        reads: dict[int, torch._C.Value] = {}  # what it reads from before it, in order
        for node in group:
            for value in node.inputs():
                if value.unique() not in made:
                    reads.setdefault(value.unique(), value)
        used = [v for node in group for v in node.outputs() if readers.get(v.unique(), set()) - inside]
        recorded: RecordedFunction | RecordedMethod
        if scope in self.recorded.methods:
            recorded = method = self.recorded.methods[scope]
            kind, callee = "prim::CallMethod", f"{method.path or 'self'}.{method.method}"
            attributes: dict[str, object] = {"module_path": method.path, "module_type": method.module_type,
                                             "module_signature": method.signature}
            if method.path:
                self.called_paths.add(method.path)
        else:
            recorded = self.recorded.functions[scope]
            kind, callee, attributes = "prim::CallFunction", recorded.callee, {}
        names = {unique: name for name, unique in recorded.inputs}  # graph inputs keep their numbers
        return ir.Node(
            id=f"n{next(self._node_ids)}", kind=kind,
            inputs=[context.values[unique] for unique in reads],
            outputs=[self._value(v, context.values) for v in used],
            arg_names=[calls.read_name(value, scope) or names.get(unique, "") for unique, value in reads.items()],
            callee=callee,
            attributes=attributes, source=recorded.source,
        )

    def _block(self, block: torch._C.Block, label: str, context: _Context) -> ir.Block:
        params = [self._value(v, context.values) for v in block.inputs()]
        nodes = self._nodes(block.nodes(), context)
        returns = [context.values[v.unique()] for v in block.outputs()]
        return ir.Block(label, params, nodes, returns)

    def _call(self, node: torch._C.Node, converted: ir.Node, context: _Context, *, opened: bool = False) -> None:
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
                if full_path:
                    self.called_paths.add(full_path)
            if target is not None:
                callee_module = target
                compiled = target._c._get_method(method)
                callee = compiled.graph
                _name_arguments(converted, compiled.schema, skip=0)
                converted.attributes["module_type"] = _module_name(target)
                converted.attributes["module_signature"] = _signature(target, method)
        else:
            function_type = next(iter(node.inputs())).type()
            qualified = function_type.annotation_str
            converted.callee = qualified.removeprefix("__torch__.")
            function = torch.jit._state._python_cu.find_function(qualified)
            if function is not None:
                callee = function.graph
                _name_arguments(converted, function.schema, skip=1)
        if callee is not None:  # a trace types a call's result `Tensor`; its callee knows the shape
            for output, returned in zip(converted.outputs, callee.outputs()):
                if output.type == "Tensor":
                    output.type = type_name(returned.type())
        wanted = bool(full_path) and on_the_way(full_path, self._expand_paths)
        if callee is None or (context.depth >= self._expand_depth and not wanted and not opened):
            return
        values: dict[int, ir.Value] = {}
        paths: dict[int, str] = {}
        params = [self._value(v, values) for v in callee.inputs()]
        if callee_module is not None:
            paths[next(iter(callee.inputs())).unique()] = "self"
        inner = _Context(values, paths, callee_module, context.depth + (0 if opened else 1), prefix=full_path)
        body = self._nodes(callee.nodes(), inner, body=True)
        returns = [values[v.unique()] for v in callee.outputs()]
        converted.blocks.append(ir.Block(converted.callee, params, body, returns))


def _read_in_between(nodes: list[torch._C.Node], members: list[int]) -> bool:
    """Whether a node outside a function (or method), between its first and last operation, reads what
    it made: the call could then not be drawn as one node (its result is needed inside it)."""
    inside = set(members)
    made = {value.unique() for index in members for value in nodes[index].outputs()}
    return any(value.unique() in made for index in range(members[0], members[-1]) if index not in inside
               for value in nodes[index].inputs())


def _unused_none(node: torch._C.Node, value: torch._C.Value) -> bool:
    """Whether ``value`` is the ``None`` a call returned and nothing reads: the call is made for what it
    does (``self.corr_block.build_pyramid(f1, f2)`` stores a pyramid on the submodule), and a call
    without a result is drawn as that, an effect, not as a check whose result nothing uses."""
    return (node.kind() in ("prim::CallMethod", "prim::CallFunction") and isinstance(value.type(), torch._C.NoneType)
            and not value.uses())


def _collapsible(group: list[torch._C.Node]) -> bool:
    """Whether a function did more than one operation: its constants, and the lists of constants it
    built for one (``F.layer_norm``'s ``normalized_shape``), are that operation's arguments."""
    return sum(not _constant_or_list_of_constants(node) for node in group) > 1


def _constant_or_list_of_constants(node: torch._C.Node) -> bool:
    if node.kind() in ("prim::ListConstruct", "prim::TupleConstruct"):
        return all(value.node().kind() == "prim::Constant" for value in node.inputs())
    return node.kind() == "prim::Constant"


def _name_arguments(converted: ir.Node, schema: Any, *, skip: int) -> None:
    """Name a call's inputs after the callee's parameters (``mask=``), and note their defaults."""
    try:
        arguments = list(schema.arguments)
    except Exception:  # a callee whose schema TorchScript cannot give: calls stay unnamed
        return
    names = [""] * skip + [argument.name for argument in arguments]
    count = len(converted.inputs)
    converted.arg_names = (names + [""] * count)[:count]
    converted.defaults = {a.name: plain(a.default_value) for a in arguments if a.has_default_value()}


_BOOKKEEPING = {"prim::Constant", "prim::GetAttr", "prim::TupleConstruct", "prim::TupleUnpack",
                "prim::ListConstruct", "prim::ListUnpack"}


def _pass_through_call(nodes: list[torch._C.Node]) -> torch._C.Node | None:
    """The one call a body consists of, apart from constants, attributes and packing, if so."""
    work = [node for node in nodes if node.kind() not in _BOOKKEEPING]
    if len(work) == 1 and work[0].kind() in ("prim::CallMethod", "prim::CallFunction"):
        return work[0]
    return None


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
    if kind == "prim::If":  # always exactly two blocks
        return ("then", "else")[index]
    if kind == "prim::Loop":
        return "loop body"
    return f"block{index}"


@dataclass(frozen=True)
class _Schema:
    """What a node's operator schema says of its inputs: names, types, defaults, which it writes."""

    names: list[str]
    types: list[str]
    defaults: dict[str, object]
    writes: tuple[int, ...]


_NO_SCHEMA = _Schema([], [], {}, ())


def _schema(node: torch._C.Node) -> _Schema:
    count = node.inputsSize()
    if node.kind() in _CONTROL_ARG_NAMES:
        names = _CONTROL_ARG_NAMES[node.kind()]
        return _Schema((names + [""] * count)[:count], [], {}, ())
    try:
        text = node.schema()
    except RuntimeError:
        return _NO_SCHEMA
    return _parsed_schema(text)  # "(no schema)" does not parse: _NO_SCHEMA


@functools.lru_cache(maxsize=4096)
def _parsed_schema(text: str) -> _Schema:
    try:
        schema = torch._C.parse_schema(text)
    except RuntimeError:
        return _NO_SCHEMA
    names, types, defaults, writes = [], [], {}, []
    for position, argument in enumerate(schema.arguments):
        names.append(argument.name)
        types.append(str(getattr(argument, "real_type", argument.type)))  # `Optional[ScalarType]`, not `int?`
        if argument.has_default_value():
            defaults[argument.name] = plain(argument.default_value)
        if argument.alias_info is not None and argument.alias_info.is_write:
            writes.append(position)
    return _Schema(names, types, defaults, tuple(writes))


def _attributes(node: torch._C.Node) -> dict[str, object]:
    kind = node.kind()
    attributes: dict[str, object] = {}
    for name in node.attributeNames():
        if name == calls.READ_ATTRIBUTE:  # the recorder's note of who read the node's results
            continue
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
    # `is` (int list) is a Python keyword, so torch names its getter `is` and its *setter* `is_`
    getter = {"s": node.s, "i": node.i, "f": node.f, "ss": node.ss, "is": getattr(node, "is"), "fs": node.fs}
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
    output = node.output()  # (a function constant has a `name` attribute, not a `value`: never asked here)
    try:
        value = output.toIValue()
    except Exception:  # an IValue type with no Python counterpart
        return ir.Literal(str(output.type()))
    return plain(value)


def plain(value: Any, leaf: Callable[[Any], ir.Literal] | None = None) -> object:
    """A constant as the plain model holds it: Python scalars and strings as they are, lists and
    tuples as the same kind of container, anything else as ``leaf(value)`` (``ir_literal`` unless
    given): ``plain((1, [2]))`` is ``(1, [2])``.

    Tuples stay tuples (the exporter used to make them lists): TorchScript types them apart
    (``Tuple[int, int]`` versus ``List[int]``) and pictures print them apart, ``(2, 2)`` versus
    ``[2, 2]``, as the user wrote them. (``torch.export`` hands aten's ``int[]`` arguments over as
    lists already.)
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):  # plain ones: not FX's immutable_list, nor a namedtuple
        items = [plain(item, leaf) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    return (leaf or ir_literal)(value)


def ir_literal(value: Any) -> ir.Literal:
    if isinstance(value, torch.Tensor):
        if value.numel() <= 4 and value.device.type != "meta":
            return ir.Literal(repr(value.detach()).replace("\n", " "))
        return ir.Literal(f"{tensor_type_name(scalar_name(value.dtype), list(value.shape))} tensor")
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


def scalar_name(dtype: torch.dtype) -> str:
    """TorchScript's name for a dtype, as its types print it: ``scalar_name(torch.float32)`` is ``Float``."""
    return _SCALAR_TYPE_NAMES.get(dtype, str(dtype).removeprefix("torch."))


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
        return value_type.name()  # `TinyNet`, without the `__torch__.module.` qualification
    return value_type.annotation_str.replace("__torch__.", "")


_SCRIPT_RANGE = re.compile(r'File "([^"]*)", line (\d+)')
_TRACE_FRAME = re.compile(r"^(.*)\((\d+)\): \S+$", re.MULTILINE)
_HIGHLIGHT = re.compile(r"^\s*~+")


def _source_range(node: torch._C.Node) -> str:
    """The node's source range as TorchScript prints it, or ``""`` where it cannot: a tampered
    ``.debug_pkl`` loads, then fails torch's own assert when a range is asked for."""
    try:
        return node.sourceRange()
    except RuntimeError:
        return ""


def source_location(node: torch._C.Node) -> ir.SourceLocation | None:
    """The Python file, line and code a node was built from, as TorchScript recorded them.

    Scripted nodes carry the source text with the span underlined (``~~~~``); traced nodes carry
    the Python stack at the time of the call, innermost frame first, and the line is read back
    with :mod:`linecache` (which also knows notebook cells).
    """
    text = _source_range(node)
    scripted = _SCRIPT_RANGE.search(text)
    if scripted is not None:
        lines = text[scripted.end() :].splitlines()[1:]
        code = next(
            (above.strip() for above, line in zip(lines, lines[1:]) if _HIGHLIGHT.match(line)), ""
        )
        return ir.SourceLocation(short_file(scripted.group(1)), int(scripted.group(2)), code)
    # the innermost frame, unless it is jitviz's own function-call recorder (extract/calls.py)
    traced = next((frame for frame in _TRACE_FRAME.finditer(text) if not calls.recorder_file(frame.group(1))), None)
    if traced is not None:
        file, line = traced.group(1), int(traced.group(2))
        code = linecache.getline(file, line).strip()
        return ir.SourceLocation(short_file(file), line, code)
    return None


def inlined(source: Source) -> Source:
    """The same graph with every call replaced by the callee's body (TorchScript's inline pass)."""
    graph = source.graph.copy()
    torch._C._jit_pass_inline(graph)
    return Source(graph, source.name, source.origin, source.module, notes=list(source.notes))


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
    """The tracer's scope ``__module.layers.0/__module.layers.0.fc`` as ``layers.0.fc``; the scope a
    recorded ``torch.nn.functional`` call pushed (``jitviz.function.3``) is not a module's, and is left out."""
    parts = [part for part in scope.split("/") if part and not calls.recorder_scope(part)]
    deepest = parts[-1] if parts else ""
    return deepest.removeprefix("__module").removeprefix(".")
