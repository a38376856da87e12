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

A method called directly from the traced code, of a submodule (``self.corr_block.build_pyramid(f1,
f2)``, ``self.transform.postprocess(...)``) or of the traced module itself
(``self.postprocess_detections(...)``), runs traced, and its operations are recorded in a scope of
its own too (:class:`RecordedMethod`): the conversion draws a submodule's method as one call, as a
scripted module draws it, and one of the module's own as one call when it calls no submodule (a
helper that does calls, such as ResNet's ``_forward_impl``, is where the stages are: it is opened).

A function of an installed library called from the model's own code (Hugging Face's
``masking_utils.create_causal_mask``, plain Python behind a decorator, is 70 operations building
GPT-2's attention mask) runs traced in a scope of its own too (:class:`RecordedFunction`, its
``module`` the library's), and is drawn as one ``prim::CallFunction`` when it did more than one
operation and called no submodule. Library code is told apart by its file (see :func:`library_file`):
a file under a ``site-packages`` or ``dist-packages`` directory or in Python's standard library,
other than torch's own (its Python functions are the operations a trace records; ``torch.nn.functional``
has the rule above) and other than the files that define the traced module's and its submodules'
classes and ``forward`` (an installed model's ``modeling_gpt2.py`` is the model's code); everything
else (the user's scripts, notebooks, a project installed in editable mode) is the user's and stays
open. Only the outermost library call made from the model's code is a node: what the library calls
inside it, and what it calls back, belongs to it. A decorator's wrapper (a closure taking ``*args``
or ``**kwargs`` over the function it wraps, ``functools.wraps`` or not) is part of the call it wraps,
which is named after the wrapped function: a library's decorator around a function of the model's
own is no call at all.

A submodule that keeps tensors on itself connects too: a call reads the tensors the trace made that
sit on the submodule (the pyramid ``build_pyramid`` stored, read by a later ``self.corr_block(x)``),
and what a call stores on its submodule is made by the call (``self.stash.last``, read later).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import linecache
import os
import sys
import sysconfig
import threading
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import CodeType
from typing import Any

import torch
import torch.nn.functional
from torch.overrides import TorchFunctionMode

from .. import ir
from ..text import short_file

__all__ = ["RecordedCall", "RecordedFunction", "RecordedMethod", "Recorded", "recording_calls", "recorder_file",
           "CALL_ATTRIBUTE", "FUNCTION_SCOPE", "METHOD_SCOPE", "READ_ATTRIBUTE", "recorder_scope", "read_name",
           "library_file"]

#: The integer attribute on each added ``prim::CallMethod`` node: its index into the recorded calls.
CALL_ATTRIBUTE = "jitviz_call"
#: The tracer scope each recorded function call pushes, numbered: ``jitviz.function.0``. It is the
#: recorder's own bookkeeping, not a module: a node's module scope never includes it.
FUNCTION_SCOPE = "jitviz.function."
#: The tracer scope of each recorded method call, numbered: ``jitviz.method.0``; the same holds.
METHOD_SCOPE = "jitviz.method."
#: The string-list attribute on a traced node whose results a recorded function or method read, each
#: entry ``scope|output|name``: the trace renumbers the values of scoped nodes (it copies them when it
#: ends), so a read value is found by its node, which keeps its attributes, not by its ``unique()``.
READ_ATTRIBUTE = "jitviz_read"


def recorder_scope(part: str) -> bool:
    """Whether one part of a tracer scope (``a/b``: ``a`` or ``b``) is a recorded function's or method's own."""
    return any(part.startswith(prefix) and part[len(prefix):].isdigit() for prefix in (FUNCTION_SCOPE, METHOD_SCOPE))

# Modules hold tensors in nested containers; deeper than this is not followed (and not connected).
_MAX_DEPTH = 6
# Frames of these files are torch's machinery between a call and the line that made it.
_MACHINERY = {sys.modules[name].__file__ for name in (torch.nn.Module.__module__, "torch.overrides",
                                                      "torch.nn.functional", __name__)}
# The tracer's own file: the frames above it are not the traced code's.
_TRACER = sys.modules["torch.jit._trace"].__file__
# What every nn.Module keeps on itself (hooks, parameters...): not state a call stores.
_MODULE_INTERNALS = frozenset(vars(torch.nn.Module()))
# A submodule's own attributes are followed this deep for the tensors kept on it.
_STATE_DEPTH = 3
# Where installed libraries live: a directory of this name anywhere in a file's path, or the stdlib.
_LIBRARY_DIRECTORIES = frozenset({"site-packages", "dist-packages"})
_STDLIB = os.path.normcase(os.path.abspath(sysconfig.get_paths()["stdlib"])) + os.sep
_TORCH = os.path.normcase(os.path.dirname(os.path.abspath(torch.__file__))) + os.sep
# How a frame's code counts while a recorded trace runs (see _Functions.methods): torch's machinery
# between a call and its caller, and generated or torch code, are passed over; the model's own code
# is open; a library's code is a call.
_PASSED, _MODEL, _LIBRARY = "passed", "model", "library"
# The parameter names a decorator's wrapper gives the function it wraps, when it closes over several.
_WRAPPED_NAMES = ("func", "fn", "f", "function", "wrapped", "method", "callable")


@functools.lru_cache(maxsize=4096)
def _file_kind(path: str) -> str:
    """How a frame in ``path`` counts, the model's files aside: torch's machinery, its own code and
    generated code (``<string>``, frozen modules) are passed over; a library's is a call."""
    if path in _MACHINERY or path.startswith("<") or os.path.normcase(os.path.abspath(path)).startswith(_TORCH):
        return _PASSED
    return _LIBRARY if library_file(path) else _MODEL


def library_file(path: str) -> bool:
    """Whether ``path`` is an installed library's file: under a ``site-packages`` or ``dist-packages``
    directory, or in Python's standard library. (torch's own files and the model's are told apart by
    the recorder, not here.)"""
    normal = os.path.normcase(os.path.abspath(path))
    return normal.startswith(_STDLIB) or not _LIBRARY_DIRECTORIES.isdisjoint(normal.split(os.sep))


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
    """A call of a ``torch.nn.functional`` function in a trace, or of a library's function called
    from the model's own code: what it was given, what it returned.

    The operations it recorded have the tracer scope ``scope``; ``inputs`` names the ``unique()``
    numbers of the trace's values for the tensors it was given after its parameters. ``module`` is
    where the function is from, as its call is named: ``torch.nn.functional``, or the last part of a
    library's module (``masking_utils`` for ``transformers.masking_utils.create_causal_mask``).
    """

    name: str
    scope: str
    inputs: list[tuple[str, int]]
    source: ir.SourceLocation | None
    module: str = "torch.nn.functional"

    @property
    def callee(self) -> str:
        """What the call is named: ``torch.nn.functional.interpolate``, ``masking_utils.create_causal_mask``."""
        return f"{self.module}.{self.name}"


@dataclass(frozen=True)
class RecordedMethod:
    """A method called directly from the traced code, of the traced module (``path`` ``""``) or of
    a submodule: ``RecordedMethod("corr_block", "CorrBlock", "build_pyramid", "jitviz.method.0", ...)``.

    Its operations have the tracer scope ``scope`` (after the scopes of the methods it was called
    from); ``inputs`` names the ``unique()`` numbers of the tensors its parameters held when it
    began, after those parameters.
    """

    path: str
    module_type: str
    method: str
    scope: str
    inputs: list[tuple[str, int]]
    source: ir.SourceLocation | None
    signature: str  # equal for one method of submodules built alike (what ``repeats`` merges)


@dataclass
class Recorded:
    """What :func:`recording_calls` recorded: submodule calls and functional calls, in call order."""

    calls: list[RecordedCall] = dataclasses.field(default_factory=list)
    functions: dict[str, RecordedFunction] = dataclasses.field(default_factory=dict)  # by scope
    methods: dict[str, RecordedMethod] = dataclasses.field(default_factory=dict)  # by scope
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
    """Notes what each torch operation made while tracing, gives each call of a
    ``torch.nn.functional`` function its own scope, and each method call (see :meth:`methods`) its own."""

    def __init__(self, recorded: Recorded, traced: _Traced, owners: dict[int, tuple[torch.nn.Module, str]],
                 signatures: dict[int, str], model_files: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self._recorded = recorded
        self._traced = traced
        self._owners = owners  # id -> (the traced module or a submodule, its path: "" for the traced one)
        self._signatures = signatures
        self._model_files = model_files  # the files of the model's classes: its own code, installed or not
        self._kinds: dict[CodeType, str] = {}  # how each code counts (_PASSED, _MODEL, _LIBRARY)
        self._running: list[tuple[Any, str]] = []  # the call frames of the last operation, and their scopes
        self._wrapping: dict[int, tuple[Any, Any]] = {}  # id -> (a running library frame, what it wraps)

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        state = torch._C._get_tracing_state()
        if state is None:  # inside a recorded call: not traced
            return func(*args, **kwargs)
        methods = self.methods()
        for scope in methods:
            state.push_scope(scope)
        try:
            return self._traced_call(state, func, args, kwargs, inside_method=bool(methods))
        finally:
            for _ in methods:
                state.pop_scope()

    def _traced_call(self, state: Any, func: Any, args: Any, kwargs: Any, *, inside_method: bool) -> Any:
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
        inputs = _reads(scope, [(name, value) for name, tensor in _named_tensors(func, args, kwargs)
                                if (value := self._traced.value(tensor)) is not None])
        self._recorded.functions[scope] = RecordedFunction(func.__name__, scope, inputs, _call_site())
        return result

    def forget(self) -> None:
        """Let go of the frames held since the last operation."""
        self._running = []
        self._wrapping = {}

    def methods(self) -> list[str]:
        """The scopes of the calls the running code is inside, outermost first: the methods of the
        traced module (not its ``forward``) and of its submodules, and the library functions called
        from the model's own code, between the traced ``forward`` and the caller. A call seen for the
        first time is recorded (a new scope)."""
        frames: list[Any] = []
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename != _TRACER:
            frames.append(frame)
            frame = frame.f_back  # type: ignore[assignment]
        calls: list[tuple[Any, bool, Any]] = []  # (frame, a method's, what records the call given its scope)
        wrapping: dict[int, tuple[Any, Any]] = {}
        entered = False  # below the first method of the traced module or a submodule: the model's code
        in_library = False  # inside a library call: what runs there is part of it
        caller = None  # the frame of the model's own code that made the next call
        for frame in reversed(frames):
            code = frame.f_code
            kind = self._kind(code)
            if kind is _PASSED and code.co_filename in _MACHINERY:
                continue
            owner = self._owners.get(id(frame.f_locals.get("self"))) if (
                code.co_argcount and code.co_varnames[0] == "self") else None
            if owner is not None and owner[0] is frame.f_locals.get("self"):
                entered, caller = True, frame
                if owner[1] or code.co_name != "forward":
                    calls.append((frame, True, functools.partial(self._method, frame, owner[0], owner[1])))
            elif not entered or in_library or kind is _PASSED:
                continue
            elif kind is _LIBRARY:
                seen = self._wrapping.get(id(frame))
                wrapped = seen[1] if seen is not None and seen[0] is frame else _wrapped(code, frame)
                wrapping[id(frame)] = (frame, wrapped)  # held while it runs: its id is not reused
                if wrapped is not None and self._kind(wrapped.__code__) is not _LIBRARY:
                    continue  # a library's decorator around the model's own function: no call of its own
                in_library = True
                calls.append((frame, False, functools.partial(self._library, frame, wrapped, caller)))
            else:
                caller = frame
        running: list[tuple[Any, str]] = []
        for index, (frame, method, record) in enumerate(calls):
            if len(running) == index and index < len(self._running) and self._running[index][0] is frame:
                running.append(self._running[index])  # still in the call seen before (held: its id is not reused)
                continue
            if method:
                scope = f"{METHOD_SCOPE}{len(self._recorded.methods)}"
                self._recorded.methods[scope] = record(scope)
            else:
                scope = f"{FUNCTION_SCOPE}{len(self._recorded.functions)}"
                self._recorded.functions[scope] = record(scope)
            running.append((frame, scope))
        self._running = running
        self._wrapping = wrapping
        return [scope for _, scope in running]

    def _kind(self, code: CodeType) -> str:
        """How a frame of ``code`` counts: torch's or generated code is passed over, a library's is a call."""
        kind = self._kinds.get(code)
        if kind is None:
            kind = _file_kind(code.co_filename)
            if kind is _LIBRARY and code.co_filename in self._model_files:
                kind = _MODEL  # an installed model's own file
            self._kinds[code] = kind
        return kind

    def _library(self, frame: Any, wrapped: Any, caller: Any, scope: str) -> RecordedFunction:
        """A library call beginning at ``frame`` (a decorator's wrapper of ``wrapped``, or the function itself)."""
        if wrapped is not None:  # named after the function; its arguments are the wrapper's *args and **kwargs
            code = frame.f_code
            arguments = frame.f_locals
            at = code.co_argcount + code.co_kwonlyargcount
            args = arguments.get(code.co_varnames[at], ()) if code.co_flags & inspect.CO_VARARGS else ()
            at += bool(code.co_flags & inspect.CO_VARARGS)
            kwargs = arguments.get(code.co_varnames[at], {}) if code.co_flags & inspect.CO_VARKEYWORDS else {}
            named = _named_tensors(wrapped, tuple(args), dict(kwargs))
            module, name = getattr(wrapped, "__module__", None) or "", wrapped.__qualname__
        else:
            named = _frame_tensors(frame, skip=0)
            module = frame.f_globals.get("__name__", "")
            name = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)  # Python 3.11 on
        source = _line(caller) if caller is not None else _line(frame.f_back)
        return RecordedFunction(name, scope, _reads(scope, self._traced_once(named)), source,
                                module.rsplit(".", 1)[-1] or "?")

    def _traced_once(self, named: list[tuple[str, Any]]) -> list[tuple[str, torch._C.Value]]:
        """The trace's values of the ``named`` tensors it has seen, each value once, by its first name."""
        read: list[tuple[str, torch._C.Value]] = []
        for label, tensor in named:
            traced = self._traced.value(tensor)
            if traced is not None and all(traced.unique() != seen.unique() for _, seen in read):
                read.append((label, traced))
        return read

    def _method(self, frame: Any, owner: torch.nn.Module, path: str, scope: str) -> RecordedMethod:
        code = frame.f_code
        inputs = _reads(scope, self._traced_once(_frame_tensors(frame, skip=1)))
        if id(owner) not in self._signatures:
            state = torch._C._get_tracing_state()  # paused: traced, a shape's sizes are tensors
            torch._C._set_tracing_state(None)
            try:
                self._signatures[id(owner)] = _signature(owner)
            finally:
                torch._C._set_tracing_state(state)
        signature = hashlib.sha1(f"{self._signatures[id(owner)]}.{code.co_name}".encode()).hexdigest()[:16]
        return RecordedMethod(path, type(owner).__name__, code.co_name, scope, inputs, _line(frame.f_back), signature)


    def _run(self, func: Any, args: Any, kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RuntimeError as error:  # on tensors the trace knows, a plain trace fails alike
            # (asking torch for their values now can crash it: only what was noted is looked at)
            if self._recorded.failed is None and all(map(self._traced.knows, _tensors((args, kwargs)))):
                self._recorded.failed = (None, error)
            raise


def _frame_tensors(frame: Any, skip: int) -> list[tuple[str, Any]]:
    """The tensors a running function's parameters hold (after the first ``skip``: ``self``), named after them."""
    code = frame.f_code
    arguments = frame.f_locals
    count = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & inspect.CO_VARARGS) + bool(
        code.co_flags & inspect.CO_VARKEYWORDS)
    found: list[tuple[str, Any]] = []
    for name in code.co_varnames[skip:count]:
        value = arguments.get(name)
        tensors = _tensors(value, _MAX_DEPTH - 3)  # three levels: a list of dicts of tensors
        found.extend([(name, value)] if isinstance(value, torch.Tensor) else [
            (f"{name}[{index}]", tensor) for index, tensor in enumerate(tensors)])
    return found


def _wrapped(code: CodeType, frame: Any) -> Any:
    """The function a decorator's wrapper calls, unwrapped through wrappers of it, or ``None`` when
    ``code`` (running in ``frame``) is no wrapper: a closure taking ``*args`` or ``**kwargs`` over one
    function (or over several, one of them called ``func``, ``fn``...), as a decorator's wrapper is,
    ``functools.wraps`` or not."""
    if not code.co_freevars or not code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
        return None
    values = frame.f_locals  # a frame's locals hold its closure's variables
    found = None
    for _ in range(16):  # decorators stacked this deep at most
        if not code.co_freevars or not code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
            break
        functions = {name: function for name in code.co_freevars
                     if (function := _function(values.get(name))) is not None}
        named = [functions[name] for name in _WRAPPED_NAMES if name in functions]
        function = named[0] if named else next(iter(functions.values())) if len(functions) == 1 else None
        if function is None:
            break
        try:
            function = inspect.unwrap(function)  # functools.wraps' __wrapped__
        except ValueError:  # a loop of __wrapped__
            break
        if not inspect.isfunction(function):  # wrapping something not Python's (a builtin, a class)
            break
        found, code = function, function.__code__
        values = dict(zip(code.co_freevars, (_cell(cell) for cell in function.__closure__ or ())))
    return found


def _function(value: Any) -> Any:
    """The plain Python function ``value`` calls (a bound method's, a partial's), or ``None``."""
    if isinstance(value, functools.partial):
        value = value.func
    value = getattr(value, "__func__", value)
    return value if inspect.isfunction(value) else None


def _cell(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return None


def _reads(scope: str, read: list[tuple[str, torch._C.Value]]) -> list[tuple[str, int]]:
    """``(name, unique())`` for each value a recorded scope read, each value's node told its name."""
    for name, value in read:
        node = value.node()
        if node.kind() != "prim::Param":  # a graph input keeps its number
            noted = list(node.ss(READ_ATTRIBUTE)) if node.hasAttribute(READ_ATTRIBUTE) else []
            node.ss_(READ_ATTRIBUTE, [*noted, f"{scope}|{value.offset()}|{name}"])
    return [(name, value.unique()) for name, value in read]


def read_name(value: torch._C.Value, scope: str) -> str | None:
    """The name a recorded scope gave ``value`` when it read it (see :data:`READ_ATTRIBUTE`), if it did."""
    node = value.node()
    if not node.hasAttribute(READ_ATTRIBUTE):
        return None
    for entry in node.ss(READ_ATTRIBUTE):
        noted_scope, offset, name = entry.split("|", 2)
        if noted_scope == scope and int(offset) == value.offset():
            return name
    return None


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
        owners = {id(child): (child, path) for path, child in module.named_modules()}
        signatures: dict[int, str] = {}
        functions = _Functions(recorded, traced, owners, signatures, _model_files(module))
        torch.nn.Module._slow_forward = _recorder(module, recorded, traced, traced_forward, functions, signatures)
        try:
            with functions:
                yield recorded
        finally:
            torch.nn.Module._slow_forward = traced_forward
            functions.forget()


def _recorder(module: torch.nn.Module, recorded: Recorded, traced: _Traced, traced_forward: Any,
              functions: _Functions, signatures: dict[int, str]) -> Any:
    """The ``_slow_forward`` that records each call of one of ``module``'s submodules as one node,
    in the thread that made it; ``traced_forward`` for every other module, and in every other thread."""
    paths = {child: path for path, child in module.named_modules() if path}
    calls = recorded.calls
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
        kept = _state(self)  # tensors it keeps on itself: the trace's ones are read (a method stored them)
        read += [(name, value) for name, tensor in kept
                 if (value := traced.value(tensor)) is not None and all(value is not v for _, v in read)]
        inputs = [value for _, value in read]
        scopes = functions.methods()  # the methods of the traced code this call is made in
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
        before = {id(tensor) for _, tensor in kept}
        outputs += [tensor for _, tensor in _state(self) if id(tensor) not in before and not traced.knows(tensor)
                    and not any(tensor is t for t in outputs)]  # stored by the call: later reads connect
        graph = state.graph()
        for scope in scopes:
            state.push_scope(scope)
        try:
            node = graph.create("prim::CallMethod", inputs, len(outputs))
        finally:
            for _ in scopes:
                state.pop_scope()
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


def _model_files(module: torch.nn.Module) -> frozenset[str]:
    """The files of the model's own code: where the classes of ``module`` and its submodules, and
    their ``forward``, are defined (installed or not: a Hugging Face model's ``modeling_gpt2.py``)."""
    files: set[str] = set()
    for kind in {type(child) for child in module.modules()}:
        defined = getattr(sys.modules.get(kind.__module__), "__file__", None)
        try:
            forward = getattr(inspect.unwrap(kind.forward), "__code__", None) if inspect.isfunction(
                getattr(kind, "forward", None)) else None
        except ValueError:  # a loop of __wrapped__
            forward = None
        files.update(path for path in (defined, forward and forward.co_filename) if path)
    return frozenset(files)


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


def _state(module: torch.nn.Module) -> list[tuple[str, torch.Tensor]]:
    """The tensors a module keeps on itself, not as parameters or buffers: ``self.corr_pyramid[0]``."""
    found: list[tuple[str, torch.Tensor]] = []
    for name, value in vars(module).items():
        if name in _MODULE_INTERNALS:
            continue
        tensors = _tensors(value, _MAX_DEPTH - _STATE_DEPTH)
        named = [(f"self.{name}", value)] if isinstance(value, torch.Tensor) else [
            (f"self.{name}[{index}]", tensor) for index, tensor in enumerate(tensors)]
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
    return _line(sys._getframe(1))


def _line(frame: Any) -> ir.SourceLocation | None:
    """The line ``frame`` (or the first frame above it outside torch's machinery) is running."""
    while frame is not None and (frame.f_code.co_filename in _MACHINERY or _wrapping(frame)):
        frame = frame.f_back
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
