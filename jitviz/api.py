"""The two entry points, ``show`` and ``graph``: from anything TorchScript to a model or a picture."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from . import ir
from .display import GraphView
from .errors import GraphTooLargeError, OptionsError, TracingError
from .extract import compiled, export, torchscript
from .highlight import Highlighter
from .options import check as check_options
from .options import refuse_compile_options, refuse_for_exported, traceable_partial
from .render import DEFAULT_MAX_NODES, DEFAULT_NESTING, draw
from .text import plural

__all__ = ["graph", "show"]


_TOO_DEEP = (
    "This graph nests its blocks (if and loop bodies, expanded calls) deeper than jitviz can follow "
    "(Python's recursion limit; about 200 levels draw). Draw an inner function on its own, or "
    "restructure the nesting (a long elif chain is one decision: a lookup or torch.where)."
)


def graph(
    obj: Any,
    *example_inputs: Any,
    mode: str = "auto",
    expand_calls: torchscript.ExpandCalls = False,
    inline: bool = False,
    trusted: bool = False,
    dynamic: bool | None = None,
    fullgraph: bool = False,
) -> ir.Graph:
    """The plain graph model of ``obj``, no Graphviz involved: ``jitviz.graph(f, torch.ones(2))``.

    Takes the same ``obj``, inputs, ``mode``, ``expand_calls``/``inline``, ``trusted`` and
    ``dynamic``/``fullgraph`` as :func:`show`.
    """
    check_options(mode=mode, expand_calls=expand_calls, inline=inline, trusted=trusted, dynamic=dynamic,
                  fullgraph=fullgraph)
    refuse_compile_options(mode, dynamic, fullgraph)
    try:
        return _graph(obj, example_inputs, mode, expand_calls, inline, trusted, dynamic, fullgraph)
    except RecursionError as error:
        raise GraphTooLargeError(_TOO_DEEP) from error


#: How deeply example inputs may nest tuples, lists and dicts (a real model's: two or three).
MAX_INPUT_NESTING = 100


def _input_nesting(value: Any) -> int:
    """How deeply ``value`` nests tuples, lists and dicts, counted without recursion (stops past the limit)."""
    deepest, pending = 0, [(value, 0)]
    while pending and deepest <= MAX_INPUT_NESTING:
        item, depth = pending.pop()
        deepest = max(deepest, depth)
        if isinstance(item, (tuple, list)):
            pending.extend((inner, depth + 1) for inner in item)
        elif isinstance(item, dict):
            pending.extend((inner, depth + 1) for inner in item.values())
    return deepest


def _graph(obj: Any, example_inputs: tuple[Any, ...], mode: str, expand_calls: torchscript.ExpandCalls,
           inline: bool, trusted: bool, dynamic: bool | None, fullgraph: bool) -> ir.Graph:
    for position, value in enumerate(example_inputs, start=1):
        if _input_nesting(value) > MAX_INPUT_NESTING:
            raise TracingError(
                f"Example input #{position} nests tuples, lists or dicts more than {MAX_INPUT_NESTING} deep; "
                "no model takes such an input, and tracing it would exhaust Python's recursion. Pass the "
                "tensors themselves, or a flat tuple of them."
            )
    if mode == "compile":
        if inline:
            raise OptionsError("inline=True is TorchScript's; a torch.compile capture is drawn as Dynamo made it "
                               "(calls into submodules open with expand_calls).")
        capture = compiled.capture_compiled(obj, example_inputs, dynamic=dynamic, fullgraph=fullgraph)
        return compiled.convert(capture, expand_calls=expand_calls)
    if export.accepts(obj):
        refuse_for_exported(mode=mode, inline=inline)
        if example_inputs:
            raise TracingError("An exported or FX graph is drawn as it is; call jitviz.show(program) without inputs.")
        return export.convert(obj, expand_calls=expand_calls, trusted=trusted)
    if (example_inputs and mode in ("auto", "trace") and isinstance(obj, torch.nn.Module)
            and not isinstance(obj, torch.jit.ScriptModule) and not inline
            and (expand_calls is False or type(expand_calls) is int and expand_calls == 0)):  # 0 levels: False
        return torchscript.trace_collapsed(obj, example_inputs)  # the default view: calls recorded, not traced
    source = torchscript.obtain(traceable_partial(obj, example_inputs, mode), example_inputs, mode, trusted=trusted)
    if inline:
        source = torchscript.inlined(source)
    return torchscript.convert(source, expand_calls=expand_calls)


def show(
    obj: Any,
    *example_inputs: Any,
    mode: str = "auto",
    expand_calls: torchscript.ExpandCalls = False,
    inline: bool = False,
    constants: str = "fold",
    max_nodes: int = DEFAULT_MAX_NODES,
    rankdir: str = "TB",
    highlight: bool = False,
    repeats: bool = False,
    checks: str = "fold",
    trusted: bool = False,
    dynamic: bool | None = None,
    fullgraph: bool = False,
    nesting: int = DEFAULT_NESTING,
    open_blocks: Sequence[str] = (),
) -> GraphView:
    """Draw a TorchScript graph; in a notebook cell it shows as SVG: ``jitviz.show(f, torch.ones(2, 2))``.

    Args:
        obj: a Python function or ``nn.Module`` (traced when example inputs are given, scripted
            otherwise), a ``torch.jit.ScriptFunction`` or ``ScriptModule`` (drawn as it is), a
            ``torch._C.Graph``, the path of a file saved with ``torch.jit.save``; or, from
            ``torch.export``, an ``ExportedProgram``, a ``torch.fx.GraphModule`` or a ``.pt2`` path.
        *example_inputs: the inputs to trace ``obj`` with.
        mode: ``"auto"`` (default), ``"trace"`` or ``"script"`` to force one; ``"compile"`` draws
            what ``torch.compile`` captured when it ran ``obj(*example_inputs)``: each compiled graph
            a frame, numbered in the order it ran, and between frames each graph break (what
            broke, torch's explanation, the line that ran in Python). Like
            ``torch._dynamo.explain``, it resets Dynamo's caches: a function you compiled
            recompiles on its next call (:mod:`jitviz.extract.compiled`).
        dynamic, fullgraph: ``torch.compile``'s options, with ``mode="compile"`` only.
        expand_calls: draw the body of each ``prim::CallFunction``/``prim::CallMethod`` inside the
            call as a cluster; ``True`` for all levels, an ``int`` for that many, or submodule
            paths (``"layers.0"``, a list of them) to open just those. Default ``False``.
        inline: draw TorchScript's inlined graph (every call replaced by its body, no clusters).
        constants: ``"fold"`` into their users' labels (default), ``"nodes"`` or ``"hide"``.
        max_nodes: the node budget (default 3000). A picture over it with calls expanded is drawn
            at the deepest expansion that fits, with a note in its title; one over it with
            nothing left to collapse raises :class:`~jitviz.GraphTooLargeError` rather than have
            Graphviz run for minutes. (The layout never depends on time: a picture ``dot`` has
            not laid out in ``jitviz.layout.LAYOUT_SECONDS`` raises :class:`~jitviz.LayoutTimeoutError`;
            one ``dot`` fails on is laid out again with ``-Gnewrank=true``: :mod:`jitviz.layout`.)
        rankdir: Graphviz's direction, ``"TB"`` (default, top to bottom) or ``"LR"``.
        repeats: draw a chain of calls to identical submodules (the 6 layers of an encoder) once,
            marked ``×6``.
        checks: ``"fold"`` (default): argument checks, warnings and their messages become one
            ``check`` node naming their lines, a branch condition of more than two operations
            is folded into its ``if``, and the ``if self.training:`` branch of a module in eval
            mode becomes one node (:mod:`jitviz.fold`); ``"show"`` draws every node as it is.
        nesting: how many levels of ``if`` and loop frames are drawn open, one inside another
            (default 20). One nested deeper is drawn as one node standing for everything inside
            it, reading what is read inside and making its outputs, with how many nodes it holds:
            deep nesting (up to the 200 levels TorchScript compiles) stays readable and quick
            to lay out. ``0`` draws every ``if`` and loop so.
        open_blocks: ids of such folded nodes to draw open anyway, one level further (what a
            click on one does in :func:`jitviz.explore_graph`).
        trusted: only for a saved file (a path): load it even though loading runs code stored
            in it. ``torch.jit.load`` runs the ``__setstate__`` methods a TorchScript file
            defines, and ``torch.export.load`` unpickles parts of a ``.pt2``; either can run any
            code a crafted file holds. By default jitviz loads a TorchScript file only when its
            code defines no ``__setstate__``, and a ``.pt2`` never, raising
            :class:`~jitviz.UntrustedFileError` with advice. ``highlight=True`` on a file runs
            its ``forward`` and so needs ``trusted=True`` too.
        highlight: run ``obj`` on the inputs and show what ran: the taken branch of every
            ``prim::If`` in green, the other greyed out, each block's run count (a loop body's is
            its number of iterations). A plain function is then scripted, not traced; the inputs
            are for running it. How the counts are obtained: :class:`jitviz.highlight.Highlighter`.
    """
    check_options(constants=constants, max_nodes=max_nodes, rankdir=rankdir, highlight=highlight, repeats=repeats,
                  checks=checks, trusted=trusted, nesting=nesting, open_blocks=open_blocks)
    if highlight and mode == "compile":
        raise OptionsError("highlight=True runs a TorchScript graph to count its branches; with mode='compile' "
                           "every frame of the picture ran once. Leave highlight out.")
    if highlight:
        highlighter = Highlighter(obj, mode=mode, expand_calls=expand_calls, inline=inline, constants=constants,
                                  max_nodes=max_nodes, rankdir=rankdir, repeats=repeats, trusted=trusted,
                                  checks=checks, nesting=nesting, open_blocks=open_blocks)
        return highlighter.run(*example_inputs)[1]
    model = graph(obj, *example_inputs, mode=mode, expand_calls=expand_calls, inline=inline, trusted=trusted,
                  dynamic=dynamic, fullgraph=fullgraph)

    def drawn(model: ir.Graph) -> GraphView:
        try:
            return GraphView(model, draw(model, constants=constants, max_nodes=max_nodes, rankdir=rankdir,
                                         repeats=repeats, checks=checks, nesting=nesting,
                                         open_blocks=open_blocks))
        except RecursionError as error:
            raise GraphTooLargeError(_TOO_DEEP) from error

    try:
        return drawn(model)
    except GraphTooLargeError as too_large:
        if not model.call_depth():
            raise
        # Over the budget with calls expanded: draw the deepest expansion that fits, and say so.
        for depth in range(model.call_depth() - 1, -1, -1):
            smaller = model.collapsed(depth)
            smaller.notes.append(
                f"calls expanded {plural(depth, 'level')} deep, not as asked: "
                f"{str(too_large).split(';')[0].removeprefix('This picture would have ')} "
                "(expand one submodule with expand_calls='name', or raise max_nodes)"
            )
            try:
                return drawn(smaller)
            except GraphTooLargeError:
                continue
        raise
