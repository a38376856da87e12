"""What ran: a scripted graph drawn once, then painted with the blocks each set of inputs ran."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from . import ir, options
from .display import GraphView
from .errors import TRUST_ADVICE, GraphTooLargeError, UntrustedFileError
from .extract import torchscript
from .extract.execution import CountedRun, schema_of
from .render import DEFAULT_MAX_NODES, DEFAULT_NESTING, draw

__all__ = ["Highlighter"]


class Highlighter:
    """Script (or take) ``obj`` once; ``run`` it on inputs and get its outputs and a painted picture.

    ``Highlighter(f).run(torch.ones(2, 2))`` returns ``(f's outputs, GraphView)``. The layout is
    computed on the first run and reused: later runs only repaint (see :mod:`jitviz.paint`).

    How the counts are obtained, and their limits, is said in
    :class:`jitviz.extract.execution.CountedRun`. A plain function or module is scripted (a trace
    has no branches to highlight; ``mode="trace"`` traces it on the first inputs, and then every
    node simply ran once). Inputs left out take the defaults of ``obj``'s signature.

    ``expand_calls`` (any depth or submodule path) or ``inline`` inlines the calls, so that the
    branches inside callees are counted per call site: TorchScript can only count inside a call
    it has inlined. When the inlined picture is over ``max_nodes``, the calls stay collapsed (each
    call node still shows whether and how often it ran), and a note under the title says so.
    """

    def __init__(
        self,
        obj: Any,
        *,
        mode: str = "script",
        expand_calls: torchscript.ExpandCalls = False,
        inline: bool = False,
        constants: str = "fold",
        max_nodes: int = DEFAULT_MAX_NODES,
        rankdir: str = "TB",
        repeats: bool = False,
        trusted: bool = False,
        checks: str = "fold",
        nesting: int = DEFAULT_NESTING,
        open_blocks: Sequence[str] = (),
    ) -> None:
        options.check(mode=mode, expand_calls=expand_calls, inline=inline, constants=constants,
                      max_nodes=max_nodes, rankdir=rankdir, repeats=repeats, trusted=trusted, checks=checks,
                      nesting=nesting, open_blocks=open_blocks)
        if isinstance(obj, (str, os.PathLike)) and not trusted:
            raise UntrustedFileError(
                f"highlight=True runs the forward of {str(obj)!r}, code stored in the file. " + TRUST_ADVICE)
        self._obj, self._trusted = obj, trusted
        # "auto" is kept: with no example inputs it scripts a Python function, as "script" does,
        # and it also accepts what is already TorchScript (a trace), which "script" refuses.
        self._mode = mode
        self._inline = inline or bool(expand_calls)
        self._paths = expand_calls if isinstance(expand_calls, (str, list, tuple)) else None
        self._constants, self._max_nodes, self._rankdir, self._repeats = constants, max_nodes, rankdir, repeats
        self._checks = checks
        self._nesting, self._open_blocks = nesting, tuple(open_blocks)
        self._counted: CountedRun | None = None
        self._view: GraphView | None = None

    @property
    def model(self) -> ir.Graph:
        """The plain graph model (available after the first run, or for a scripted object at once)."""
        return self._prepare(()).model

    def run(self, *inputs: Any) -> tuple[Any, GraphView]:
        """Run on ``inputs``: ``outputs, view = highlighter.run(torch.ones(2))``."""
        view = self._prepare(inputs)
        assert self._counted is not None
        outputs, execution = self._counted(inputs)
        return outputs, view.with_execution(execution)

    def _prepare(self, inputs: tuple[Any, ...]) -> GraphView:
        if self._view is None:
            example = inputs if self._mode == "trace" else ()
            source = torchscript.obtain(options.traceable_partial(self._obj, example, self._mode), example, self._mode,
                                        trusted=self._trusted)
            if self._paths:  # they are all inlined, but a misspelt one is refused, as show does
                torchscript.convert(source, expand_calls=self._paths)
            if self._inline:
                try:
                    self._view = self._drawn(torchscript.inlined(source), schema_of(source))
                except GraphTooLargeError as too_large:
                    self._view = self._drawn(source, schema_of(source), fallback=too_large)
            else:
                self._view = self._drawn(source, schema_of(source))
        return self._view

    def _drawn(self, source: torchscript.Source, schema: Any,
               fallback: GraphTooLargeError | None = None) -> GraphView:
        model = torchscript.convert(source, open_pass_through=False)  # its blocks must match the run
        if fallback is not None:
            over = str(fallback).split(";")[0].removeprefix("This picture would have ")
            model.notes.append(f"calls not inlined, not as asked: inlined, {over} "
                               "(raise max_nodes, or highlight a submodule on its own)")
        self._counted = CountedRun(source, model, schema)
        drawing = draw(model, run_counts=True, constants=self._constants, max_nodes=self._max_nodes,
                       rankdir=self._rankdir, repeats=self._repeats, checks=self._checks, nesting=self._nesting,
                       open_blocks=self._open_blocks)
        return GraphView(model, drawing)
