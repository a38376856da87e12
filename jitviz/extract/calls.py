"""Trace a module with each submodule call recorded as one node, its body run but not recorded.

The default view of a traced ``nn.Module`` draws each submodule as one call. Recording every
operation inside the submodules and folding them back into calls afterwards costs most of the time
a picture takes (BERT: 46 ms of tracing and 56 ms of conversion for a 6-node picture). Instead,
while :func:`recording_calls` is active, a submodule called from the traced code runs with the
tracer paused, and one ``prim::CallMethod`` node is added to the trace in its place: it reads the
tensors the call was given and makes the tensors it returned, so later operations connect to it.
The body runs as plain eager code, which is what the trace would have recorded anyway.

A function of ``torch.nn.functional`` called from the traced code (``F.multi_head_attention_forward``
is 100 operations) is recorded in a scope of its own (:class:`RecordedFunction`); the conversion
draws a scope of more than one operation as one call, as a scripted module draws its call, and a
one-operation function (``F.relu``) as that operation.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import linecache
import sys
import threading
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional
from torch.overrides import TorchFunctionMode

from .. import ir
from ..text import short_file

__all__ = ["RecordedCall", "RecordedFunction", "Recorded", "recording_calls", "recorder_file", "CALL_ATTRIBUTE",
           "FUNCTION_SCOPE", "recorder_scope"]

#: The integer attribute on each added ``prim::CallMethod`` node: its index into the recorded calls.
CALL_ATTRIBUTE = "jitviz_call"
#: The tracer scope each recorded function call pushes, numbered: ``jitviz.function.0``. It is the
#: recorder's own bookkeeping, not a module: a node's module scope never includes it.
FUNCTION_SCOPE = "jitviz.function."


def recorder_scope(part: str) -> bool:
    """Whether one part of a tracer scope (``a/b``: ``a`` or ``b``) is a recorded function's own scope."""
    return part.startswith(FUNCTION_SCOPE) and part[len(FUNCTION_SCOPE):].isdigit()

# Modules hold tensors in nested containers; deeper than this is not followed (and not connected).
_MAX_DEPTH = 6
# Frames of these files are torch's machinery between a call and the line that made it.
_MACHINERY = {sys.modules[name].__file__ for name in (torch.nn.Module.__module__, "torch.overrides",
                                                      "torch.nn.functional", __name__)}


@dataclass(frozen=True)
class RecordedCall:
    """One submodule call in a trace: ``RecordedCall("layer1", "Sequential", "9f2c...", where)``."""

    path: str
    module_type: str
    signature: str  # equal for calls to submodules built alike (what ``repeats`` merges)
    source: ir.SourceLocation | None  # the line that made the call
    #: the name of each tensor the call read, in order: its ``forward``'s parameter (``mask``, given
    #: by keyword or not), ``past[0]`` for the first tensor in a container, the key of a ``**kwargs``
    arg_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordedFunction:
    """A call of a ``torch.nn.functional`` function in a trace: what it was given, what it returned.

    The operations it recorded have the tracer scope ``scope``; ``inputs`` names the ``unique()``
    numbers of the trace's values for the tensors it was given after its parameters.
    """

    name: str
    scope: str
    inputs: list[tuple[str, int]]
    source: ir.SourceLocation | None


@dataclass
class Recorded:
    """What :func:`recording_calls` recorded: submodule calls and functional calls, in call order."""

    calls: list[RecordedCall] = dataclasses.field(default_factory=list)
    functions: dict[str, RecordedFunction] = dataclasses.field(default_factory=dict)  # by scope
    #: the first exception the model's own code raised, which the recording cannot have caused: in a
    #: submodule's body (run eagerly, not traced), with the call that raised it; or an operation's
    #: of the traced code that read only tensors the trace knows, with ``None``
    failed: tuple[RecordedCall | None, Exception] | None = None


class _Traced:
    """The tensors the trace has a value for: the inputs, what traced operations and recorded calls
    made. Asking torch for the value of any other tensor (one a submodule kept in a cache object,
    say) can crash it (a segmentation fault, on a Llama model's cache), so it is never asked."""

    def __init__(self) -> None:
        self._tensors: dict[int, weakref.ref[torch.Tensor]] = {}

    def add(self, tensors: Iterable[torch.Tensor]) -> None:
        for tensor in tensors:
            self._tensors[id(tensor)] = weakref.ref(tensor)

    def knows(self, tensor: torch.Tensor) -> bool:
        known = self._tensors.get(id(tensor))
        return known is not None and known() is tensor

    def value(self, tensor: torch.Tensor) -> torch._C.Value | None:
        """The trace's value for ``tensor``; ``None`` for one the trace has not seen (not connected)."""
        if not self.knows(tensor):
            return None
        try:
            return torch._C._get_value_trace(tensor)
        except RuntimeError:
            return None


class _Functions(TorchFunctionMode):
    """Notes what each torch operation made while tracing, and gives each call of a
    ``torch.nn.functional`` function its own scope."""

    def __init__(self, recorded: Recorded, traced: _Traced) -> None:
        super().__init__()
        self._recorded = recorded
        self._traced = traced

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        state = torch._C._get_tracing_state()
        if state is None:  # inside a recorded call: not traced
            return func(*args, **kwargs)
        if getattr(func, "__module__", None) != "torch.nn.functional" or not inspect.isfunction(func):
            result = self._run(func, args, kwargs)
            self._traced.add(_tensors(result, _MAX_DEPTH - 1))  # a tensor or a tuple of them
            return result
        scope = f"{FUNCTION_SCOPE}{len(self._recorded.functions)}"
        state.push_scope(scope)
        try:
            result = self._run(func, args, kwargs)  # this mode is off inside: a function it calls is not scoped
        finally:
            state.pop_scope()
        self._traced.add(_tensors(result))
        inputs = [(name, value.unique()) for name, tensor in _named_tensors(func, args, kwargs)
                  if (value := self._traced.value(tensor)) is not None]
        self._recorded.functions[scope] = RecordedFunction(func.__name__, scope, inputs, _call_site())
        return result


    def _run(self, func: Any, args: Any, kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RuntimeError as error:  # on tensors the trace knows, a plain trace fails alike
            # (asking torch for their values now can crash it: only what was noted is looked at)
            if self._recorded.failed is None and all(map(self._traced.knows, _tensors((args, kwargs)))):
                self._recorded.failed = (None, error)
            raise


_parameters = functools.lru_cache(maxsize=256)(inspect.signature)  # 0.7 ms for a long signature


def _named_tensors(func: Any, args: Any, kwargs: Any) -> list[tuple[str, torch.Tensor]]:
    """The tensors ``func`` was given, named after its parameters (``in_proj_weight``)."""
    try:
        bound = _parameters(func).bind(*args, **kwargs).arguments
    except (TypeError, ValueError):
        bound = {str(index): arg for index, arg in enumerate(args)} | dict(kwargs)
    found: list[tuple[str, torch.Tensor]] = []
    for name, value in bound.items():
        found.extend((name, tensor) for tensor in _tensors(value) if not any(tensor is t for _, t in found))
    return found


#: Held while a thread records: ``Module._slow_forward`` is one attribute for every thread.
_RECORDING = threading.RLock()


@contextmanager
def recording_calls(module: torch.nn.Module) -> Iterator[Recorded]:
    """Within the block, a trace of ``module`` records each of its submodules' calls as one node.

    ``with recording_calls(model) as recorded: graph, _ = torch.jit._get_trace_graph(model, inputs)``

    For the block, ``torch.nn.Module._slow_forward`` (what a module call runs while tracing) is
    replaced process-wide, as ``torch.jit.trace`` sets its own module map; it is put back after,
    however the block ends. One thread records at a time (another one waits for it to finish), and
    in every other thread the replacement runs torch's own: a trace there records as if jitviz were
    not there.
    """
    with _RECORDING:
        recorded = Recorded()
        traced_forward = torch.nn.Module._slow_forward  # what Module.__call__ runs while tracing
        traced = _Traced()
        traced.add(module.parameters())  # the trace's inputs, with what it was called on (below)
        traced.add(module.buffers())
        torch.nn.Module._slow_forward = _recorder(module, recorded, traced, traced_forward)
        try:
            with _Functions(recorded, traced):
                yield recorded
        finally:
            torch.nn.Module._slow_forward = traced_forward


def _recorder(module: torch.nn.Module, recorded: Recorded, traced: _Traced, traced_forward: Any) -> Any:
    """The ``_slow_forward`` that records each call of one of ``module``'s submodules as one node,
    in the thread that made it; ``traced_forward`` for every other module, and in every other thread."""
    paths = {child: path for path, child in module.named_modules() if path}
    calls = recorded.calls
    signatures: dict[int, str] = {}
    recording_thread = threading.get_ident()

    def forward(self: torch.nn.Module, *args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() != recording_thread:  # another thread's trace: not this recording's
            return traced_forward(self, *args, **kwargs)
        if self is module:
            traced.add(_tensors((args, kwargs)))
        if self not in paths:  # the traced module itself, or one built on the fly: recorded as usual
            return traced_forward(self, *args, **kwargs)
        state = torch._C._get_tracing_state()  # set: Module.__call__ runs _slow_forward only while tracing
        read = [(name, value) for name, tensor in _arguments(self, args, kwargs)
                if (value := traced.value(tensor)) is not None]
        inputs = [value for _, value in read]
        torch._C._set_tracing_state(None)
        try:
            result = self.forward(*args, **kwargs)
            if id(self) not in signatures:  # while not tracing: traced, a shape's sizes are tensors
                signatures[id(self)] = _signature(self)
        except Exception as error:
            if recorded.failed is None:
                call = RecordedCall(paths[self], type(self).__name__, "", _call_site(), tuple(n for n, _ in read))
                recorded.failed = (call, error)
            raise
        finally:
            torch._C._set_tracing_state(state)
        outputs = _tensors(result)
        graph = state.graph()
        node = graph.create("prim::CallMethod", inputs, len(outputs))
        node.s_("name", "forward")
        node.i_(CALL_ATTRIBUTE, len(calls))
        graph.insertNode(node)
        for tensor, value in zip(outputs, node.outputs()):
            value.inferTypeFrom(tensor)
            torch._C._set_value_trace(tensor, value)  # later operations on it read the call
        traced.add(outputs)
        calls.append(RecordedCall(paths[self], type(self).__name__, signatures[id(self)], _call_site(),
                                  tuple(name for name, _ in read)))
        return result

    return forward


def _arguments(module: torch.nn.Module, args: Any, kwargs: Any) -> list[tuple[str, torch.Tensor]]:
    """The tensors a submodule call was given, positionally or by keyword, in the order of its
    ``forward``'s parameters and named after them (``past[1]``: the second tensor in ``past``)."""
    try:
        if "forward" in vars(module):  # set on the instance: not cached (the cache would keep the module)
            signature = inspect.signature(module.forward)
            bound = signature.bind(*args, **kwargs).arguments
        else:
            signature = _parameters(type(module).forward)
            bound = signature.bind(module, *args, **kwargs).arguments
            bound.pop(next(iter(bound)))  # self
    except (TypeError, ValueError):  # no signature Python can read, or one the call does not fit
        signature, bound = None, {"": args} | dict(kwargs)
    parameters: dict[str, Any] = {}
    for name, value in bound.items():
        kind = signature.parameters[name].kind if signature is not None else None
        if kind is inspect.Parameter.VAR_KEYWORD:
            parameters.update(value)
        elif kind is inspect.Parameter.VAR_POSITIONAL:
            parameters.update((f"{name}[{index}]", item) for index, item in enumerate(value))
        else:
            parameters[name] = value
    found: list[tuple[str, torch.Tensor]] = []
    for name, value in parameters.items():
        tensors = _tensors(value, 2)
        named = [(name, value)] if isinstance(value, torch.Tensor) else [
            (f"{name}[{index}]" if name else "", tensor) for index, tensor in enumerate(tensors)]
        found.extend((n, tensor) for n, tensor in named if not any(tensor is t for _, t in found))
    return found


def _tensors(obj: Any, depth: int = 0) -> list[torch.Tensor]:
    """The tensors in ``obj`` and its tuples, lists, dicts, dataclasses and objects, in order, each once."""
    if isinstance(obj, torch.Tensor):
        return [obj]
    if depth >= _MAX_DEPTH:
        return []
    if isinstance(obj, dict):  # also Hugging Face's ModelOutput
        items: Any = obj.values()
    elif isinstance(obj, (list, tuple)):
        items = obj
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        items = [getattr(obj, f.name, None) for f in dataclasses.fields(obj)]
    elif hasattr(obj, "__dict__") and not isinstance(obj, (type, torch.nn.Module)) and not callable(obj):
        items = list(vars(obj).values())  # an object of the model's own that carries tensors
    else:
        return []
    found: list[torch.Tensor] = []
    for item in items:
        found.extend(t for t in _tensors(item, depth + 1) if not any(t is seen for seen in found))
    return found


def _call_site() -> ir.SourceLocation | None:
    """The line, outside torch's ``Module.__call__`` and function dispatch, that made the call."""
    frame = sys._getframe(1)
    while frame is not None and (frame.f_code.co_filename in _MACHINERY or _wrapping(frame)):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return None
    file, line = frame.f_code.co_filename, frame.f_lineno
    return ir.SourceLocation(short_file(file), line, linecache.getline(file, line).strip())


def _wrapping(frame: Any) -> bool:
    return recorder_file(frame.f_code.co_filename)


def recorder_file(path: str) -> bool:
    """Whether a frame in ``path`` is this recorder's own: not the line that made a call."""
    return path == __file__


def _signature(module: torch.nn.Module) -> str:
    """Equal for submodules built alike: the same types in order, the same parameter and buffer shapes."""
    types = [type(m).__name__ for m in module.modules()]
    shapes = [(name, tuple(t.shape), str(t.dtype)) for name, t in (*module.named_parameters(), *module.named_buffers())]
    return hashlib.sha1(repr((types, shapes)).encode()).hexdigest()[:16]
