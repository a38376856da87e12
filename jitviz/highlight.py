"""What ran: a scripted graph drawn once, then painted with the blocks each set of inputs ran."""

from __future__ import annotations

from typing import Any

from . import ir
from .display import GraphView
from .extract import torchscript
from .extract.execution import CountedRun
from .render import DEFAULT_MAX_NODES, draw

__all__ = ["Highlighter"]


class Highlighter:
    """Script (or take) ``obj`` once; ``run`` it on inputs and get its outputs and a painted picture.

    ``Highlighter(f).run(torch.ones(2, 2))`` returns ``(f's outputs, GraphView)``. The layout is
    computed on the first run and reused: later runs only repaint (see :mod:`jitviz.paint`).

    How the counts are obtained, and their limits, is said in
    :class:`jitviz.extract.execution.CountedRun`. A plain function or module is scripted (a trace
    has no branches to highlight; ``mode="trace"`` traces it on the first inputs, and then every
    node simply ran once). ``expand_calls=True`` inlines the calls, so that the branches inside
    callees are counted per call site.
    """

    def __init__(
        self,
        obj: Any,
        *,
        mode: str = "script",
        expand_calls: bool | int = False,
        inline: bool = False,
        constants: str = "fold",
        max_nodes: int = DEFAULT_MAX_NODES,
        rankdir: str = "TB",
    ) -> None:
        self._obj = obj
        self._mode = "script" if mode == "auto" else mode
        self._inline = inline or bool(expand_calls)
        self._draw_options = {"constants": constants, "max_nodes": max_nodes, "rankdir": rankdir}
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
            source = torchscript.obtain(self._obj, example, self._mode)
            if self._inline:
                source = torchscript.inlined(source)
            model = torchscript.convert(source, open_pass_through=False)  # blocks must match the run
            self._counted = CountedRun(source, model)
            self._view = GraphView(model, draw(model, run_counts=True, **self._draw_options))
        return self._view
