"""Live explorers: controls build the inputs, and eager, traced and scripted outputs and the
highlighted graph follow every change.

    explorer = jitviz.explore(f, inputs=lambda fill: (torch.full((2, 2), fill),), fill=(0.0, 3.0, 0.5))
    explorer            # in a cell: sliders, an output table and the picture
    explorer.set(fill=3.0); print(explorer.report())   # the same, as text, without a browser

The graph is laid out once; a change of input only runs the code and repaints the picture
(:mod:`jitviz.paint`), which keeps an update of the seed functions far under 100 ms
(``bench/explore.py`` measures it).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets
import torch

from . import results
from .browser import browser_layout, layout_widget, warn_once_no_dot
from .display import GraphView, svg_img
from .errors import GraphvizNotFoundError, JitvizError, ScriptingError, TracingError
from .extract import torchscript
from .highlight import Highlighter
from .options import OptionsError, traceable_partial
from .render import draw
from .style import HTML_STYLES
from .text import visible

__all__ = ["explore", "Explorer", "ExplorerState", "control_widget"]


@dataclass
class ExplorerState:
    """What the explorer shows now, as plain data: the inputs, each version's output, agreement."""

    values: dict[str, Any]
    eager: str
    traced: str | None
    scripted: str | None
    traced_agrees: bool | None
    scripted_agrees: bool | None
    error: str | None = None
    others: dict[str, tuple[str, bool]] = field(default_factory=dict)  # extra versions: (output, agrees)


def explore(
    fn: Callable[..., Any],
    *,
    inputs: Callable[..., tuple[Any, ...]] | None = None,
    example: tuple[Any, ...] | None = None,
    trace: bool = True,
    script: bool = True,
    versions: Mapping[str, Callable[..., Any]] | None = None,
    picture: GraphView | None = None,
    show: str = "auto",
    **controls: Any,
) -> Explorer:
    """An explorer of ``fn``: ``jitviz.explore(f, inputs=lambda fill: (torch.full((2, 2), fill),), fill=(0.0, 3.0))``.

    Args:
        fn: a Python function or module, traced once on ``example`` and scripted (a ScriptFunction or
            ScriptModule is already TorchScript: it is run as it is, never traced).
        inputs: builds ``fn``'s arguments from the control values (called with them as keyword
            arguments); by default the control values are the arguments, in order.
        example: the inputs to trace ``fn`` with; by default those the controls start at.
        trace: ``False`` leaves the traced version out (eager against scripted only).
        script: ``False`` leaves the scripted version (and its highlighted picture) out.
        versions: more versions to run beside eager, by name: ``{"exported": ep.module()}``.
        picture: a fixed picture to show under the table, instead of the scripted or traced graph.
        show: which graph to draw: ``"scripted"`` (what ran is highlighted), ``"traced"``, or
            ``"auto"`` (scripted when scripting works).
        **controls: one per input knob, in ipywidgets' ``interact`` style: ``(min, max)`` or
            ``(min, max, step)`` for a slider (a float bound gives a float slider), a list for a
            dropdown, a bool for a checkbox, or any ipywidgets ``ValueWidget``.
    """
    return Explorer(fn, inputs=inputs, example=example, trace=trace, script=script, versions=versions,
                    picture=picture, show=show, **controls)


class Explorer:
    """The object behind :func:`explore`: widgets, plus ``set``, ``state`` and ``report`` for tests."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        inputs: Callable[..., tuple[Any, ...]] | None = None,
        example: tuple[Any, ...] | None = None,
        trace: bool = True,
        script: bool = True,
        versions: Mapping[str, Callable[..., Any]] | None = None,
        picture: GraphView | None = None,
        show: str = "auto",
        **controls: Any,
    ) -> None:
        _check_arguments(show, picture, example, controls)
        self._fn = fn
        self._make_inputs = inputs or (lambda **values: tuple(values.values()))
        self.controls: dict[str, widgets.ValueWidget] = {
            name: control_widget(name, spec) for name, spec in controls.items()
        }
        if example is None:
            example = self._first_inputs()
        self.trace_error: str | None = None
        traced_source = None
        if isinstance(fn, (torch.jit.ScriptFunction, torch.jit.ScriptModule)):
            trace = False  # already TorchScript: there is no Python code left to trace
        if trace:
            try:
                traced_source = torchscript.obtain(traceable_partial(fn, example, "trace"), tuple(example), "trace")
            except TracingError as error:
                self.trace_error = str(error)
        self._traced = traced_source.runnable if traced_source else None
        self._versions = dict(versions or {})
        self._highlighter: Highlighter | None = Highlighter(fn) if script else None
        self.script_error: str | None = None
        try:
            if self._highlighter is not None:
                _ = self._highlighter.model  # scripts it now, so that a failure shows at once
        except ScriptingError as error:
            self._highlighter = None
            self.script_error = str(error)
        if self._highlighter is None and traced_source is None and not self._versions:
            raise JitvizError(f"{_fn_name(fn)} can be neither traced nor scripted:\n"
                              f"{self.trace_error}\n{self.script_error}")
        if show == "scripted" and self._highlighter is None:
            raise ScriptingError(f"show='scripted' is impossible: {self.script_error}")
        if show == "traced" and traced_source is None:
            raise TracingError(f"show='traced' is impossible: {self.trace_error}")
        self._show_scripted = picture is None and self._highlighter is not None and show != "traced"
        self._fixed_view = picture
        if picture is None and not self._show_scripted and traced_source is not None:
            model = torchscript.convert(traced_source)
            self._fixed_view = GraphView(model, draw(model))
        self.table = widgets.HTML()
        self.status = widgets.HTML()
        self.picture: widgets.Widget = widgets.HTML()  # the browser's layout instead, without dot
        self._in_browser = False
        self._last_view: GraphView | None = None
        self.state: ExplorerState | None = None
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.widget = widgets.VBox(
            [widgets.HBox(list(self.controls.values())), self.table, self.status, self.picture]
        )
        self.refresh()

    # --- the logic, testable without a browser ---------------------------------------------------

    def set(self, **values: Any) -> ExplorerState:
        """Move controls as a user would (each move refreshes): ``explorer.set(fill=3.0)``."""
        for name, value in values.items():
            if name not in self.controls:
                raise KeyError(f"no control named {name!r}; the controls are {', '.join(self.controls)}")
            self.controls[name].value = value
        assert self.state is not None
        return self.state

    def refresh(self) -> ExplorerState:
        """Rebuild the inputs from the controls, run every version, update table and picture."""
        values = self._values()
        try:
            args = self._make_inputs(**values)
            if not isinstance(args, tuple):
                args = (args,)
        except Exception as error:  # the user's input builder rejected these values
            return self._fail(values, f"Could not build the inputs from {values}: {error}")
        eager = results.call(self._fn, args)
        if isinstance(eager, results.Failed):
            return self._fail(values, f"{_fn_name(self._fn)} does not run on these inputs: {eager.message}")
        traced_text = traced_agrees = None
        if self._traced is not None:
            traced = results.call(self._traced, args)
            traced_text = results.describe(traced)
            traced_agrees = results.agree(eager, traced)[0]
        scripted_text = scripted_agrees = None
        view = self._last_view
        if self._highlighter is not None:
            try:
                scripted, painted = self._highlighter.run(*args)
            except JitvizError as error:
                return self._fail(values, str(error))
            scripted_text = results.describe(scripted)
            scripted_agrees = results.agree(eager, scripted)[0]
            if self._show_scripted:
                view = painted
        if not self._show_scripted:
            view = self._fixed_view
        others = {}
        for name, version in self._versions.items():
            output = results.call(version, args)
            others[name] = (results.describe(output), results.agree(eager, output)[0])
        self.state = ExplorerState(values, results.describe(eager), traced_text, scripted_text, traced_agrees,
                                   scripted_agrees, others=others)
        self._last_view = view
        self.table.value = self._table_html()
        self.status.value = ""
        if view is not None:
            self._show(view)
        return self.state

    def report(self) -> str:
        """The current state as deterministic text, for a notebook's compared output."""
        state = self.state
        assert state is not None
        knobs = ", ".join(f"{name}={value!r}" for name, value in state.values.items())
        if state.error:
            return visible(f"{knobs}: {state.error}")
        parts = [f"eager {state.eager}"]
        if state.traced is not None:
            parts.append(f"traced {state.traced}" + ("" if state.traced_agrees else " ✗ WRONG"))
        if state.scripted is not None:
            parts.append(f"scripted {state.scripted}" + ("" if state.scripted_agrees else " ✗ WRONG"))
        parts += [f"{name} {text}" + ("" if agrees else " ✗ WRONG") for name, (text, agrees) in state.others.items()]
        view = self._last_view
        if self._show_scripted and view is not None and view.execution is not None:
            ran = [
                f"{block.label}×{count}"
                for node in view.model.walk()
                for index, block in enumerate(node.blocks)
                if (count := view.execution.runs(f"{node.id}/{index}"))
            ]
            parts.append("ran: " + (", ".join(ran) if ran else "no block"))
        return visible(f"{knobs}: " + " | ".join(parts))

    # --- plumbing ------------------------------------------------------------------------------

    def _first_inputs(self) -> tuple[Any, ...]:
        """The inputs the controls start at, which trace ``fn``; a builder that fails is reported."""
        values = self._values()
        try:
            example = self._make_inputs(**values)
        except Exception as error:
            raise OptionsError(
                f"inputs= could not build the inputs from the controls' first values {values}: "
                f"{type(error).__name__}: {error}. It is called with one keyword argument per control."
            ) from error
        return example if isinstance(example, tuple) else (example,)

    def _show(self, view: GraphView) -> None:
        """Draw ``view``: as SVG, or laid out in the browser (painted DOT) when ``dot`` is missing."""
        if self._in_browser:
            layout_widget(self.picture).dot_source = view.painted_source
            return
        try:
            self.picture.value = view.svg()
        except GraphvizNotFoundError as error:
            warn_once_no_dot(f"Graphviz's 'dot' is missing, so pictures are laid out in the browser. {error}")
            self._in_browser = True
            self.picture = browser_layout(view.painted_source)
            self.widget.children = (*self.widget.children[:-1], self.picture)

    def _values(self) -> dict[str, Any]:
        return {name: control.value for name, control in self.controls.items()}

    def _on_change(self, change: dict[str, Any]) -> None:
        self.refresh()

    def _fail(self, values: dict[str, Any], message: str) -> ExplorerState:
        previous = self.state
        self.state = ExplorerState(values, "", None, None, None, None, error=message)
        self.status.value = f'<div style="{HTML_STYLES["wrong"]};padding:4px">{html.escape(visible(message))}</div>'
        if previous is None:
            self.table.value = ""
        return self.state  # the table and picture keep the last good inputs' results

    def _table_html(self) -> str:
        state = self.state
        assert state is not None
        cells: list[tuple[str, str, bool | None]] = [("eager", state.eager, True)]
        if state.traced is not None:
            cells.append(("traced", state.traced, state.traced_agrees))
        elif self.trace_error:
            cells.append(("traced", "tracing failed", True))
        if state.scripted is not None:
            cells.append(("scripted", state.scripted, state.scripted_agrees))
        elif self.script_error:
            cells.append(("scripted", "scripting failed", True))
        cells += [(name, text, agrees) for name, (text, agrees) in state.others.items()]
        head = "".join(f"<th>{html.escape(visible(name))}</th>" for name, _, _ in cells)
        body = "".join(
            f'<td style="{"" if agrees else HTML_STYLES["wrong"]}">{html.escape(visible(str(text)))}'
            f'{"" if agrees else " ✗ differs from eager"}</td>'
            for _, text, agrees in cells
        )
        return f"<table><tr>{head}</tr><tr>{body}</tr></table>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude) or {}
        if isinstance(bundle, tuple):
            bundle = bundle[0]
        bundle = dict(bundle)
        bundle["text/plain"] = visible(f"<jitviz explorer of {_fn_name(self._fn)}: {self.report()}>")
        bundle["text/html"] = self._static_html(bundle["text/plain"])
        return bundle

    def _static_html(self, text: str) -> str:
        """What a viewer without the widget shows (a notebook opened unrun, nbconvert, GitHub): the
        table and the picture for the controls' current values, the picture as a sanitizer-proof image."""
        picture = ""
        if self._last_view is not None:
            try:
                picture = svg_img(self._last_view.svg(), text)
            except GraphvizNotFoundError:
                picture = ""
        note = "<p><i>Run the cell to move the controls; this is the picture for their first values.</i></p>"
        return f"{note}{self.table.value}{picture}"

    def __repr__(self) -> str:
        return visible(f"<jitviz explorer of {_fn_name(self._fn)}>")


def _fn_name(fn: Any) -> str:
    if isinstance(fn, torch.jit.ScriptFunction):
        return str(fn.name)
    return getattr(fn, "__name__", None) or getattr(fn, "original_name", None) or type(fn).__name__


def _check_arguments(show: str, picture: Any, example: Any, controls: dict[str, Any]) -> None:
    if show not in ("auto", "scripted", "traced"):
        raise OptionsError(f"show must be 'auto', 'scripted' or 'traced', not {show!r}.")
    if not controls:
        raise OptionsError("explore needs at least one control, e.g. fill=(0.0, 3.0).")
    if picture is not None and not isinstance(picture, GraphView):
        raise OptionsError(f"picture must be a picture from jitviz.show(...), or None, not {type(picture).__name__}.")
    if example is not None and not isinstance(example, (tuple, list)):
        raise OptionsError(
            f"example must be a tuple of fn's inputs, such as (torch.ones(2, 2),), not a {type(example).__name__}"
            + ("; wrap it, (x,): a tensor would be taken row by row." if isinstance(example, torch.Tensor) else ".")
        )


def control_widget(name: str, spec: Any) -> widgets.ValueWidget:
    """The widget for one control spec: ``control_widget("n", (0, 6))`` is an IntSlider from 0 to 6.

    A bool is a Checkbox, a list a Dropdown, ``(min, max[, step])`` a slider (float if any number
    is), a widget itself is used as it is."""
    if isinstance(spec, widgets.ValueWidget):
        widget = spec
    elif isinstance(spec, bool):
        widget = widgets.Checkbox(value=spec)
    elif isinstance(spec, list):
        if not spec:
            raise OptionsError(f"control {name}=[] has no choices: list at least one, e.g. {name}=[1, 2].")
        widget = widgets.Dropdown(options=spec, value=spec[0])
    elif isinstance(spec, tuple) and len(spec) in (2, 3) and all(isinstance(v, (int, float)) for v in spec):
        if not spec[0] < spec[1] or (len(spec) == 3 and not spec[2] > 0):
            raise OptionsError(
                f"control {name}={spec!r} is not a slider: give (min, max) with min < max, or "
                f"(min, max, step) with a step > 0, e.g. {name}=(0.0, 3.0, 0.5)."
            )
        if any(isinstance(v, float) for v in spec):
            step = spec[2] if len(spec) == 3 else (spec[1] - spec[0]) / 20
            widget = widgets.FloatSlider(min=spec[0], max=spec[1], step=step, value=spec[0])
        else:
            step = spec[2] if len(spec) == 3 else 1
            widget = widgets.IntSlider(min=spec[0], max=spec[1], step=step, value=spec[0])
        widget.continuous_update = False
    else:
        raise OptionsError(
            f"control {name}={spec!r} is not understood: use (min, max[, step]), a list of choices, "
            "a bool, or an ipywidgets widget"
        )
    if not widget.description:
        widget.description = name
    return widget
