"""Which line became which nodes: the Python source beside its picture, linked both ways.

    jitviz.explain(f, torch.ones(2, 2))     # traced: lines that left no node say why
    jitviz.explain(f, torch.ones(2, 2), highlight=True)   # scripted: run counts per line

The picture is laid out once by Graphviz (:meth:`jitviz.GraphView.svg`); everything after the
first render (hover, click, keys, panning) happens in the browser, in ``static/explain.js``, which
only toggles CSS classes. A control re-runs the scripted code and sends a repainted SVG of the
same layout and new run counts (two trait updates, no new layout). Without a widget front end
(nbconvert HTML, GitHub) the cell shows the coloured source beside the static picture.
"""

from __future__ import annotations

import ast
import html
import inspect
import re
import textwrap
import types
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as widgets
import torch
import traitlets
from pygments import highlight as _pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from . import ir
from .api import show
from .comparison import Comparison, compare
from .display import GraphView, svg_img
from .errors import GraphvizNotFoundError, JitvizError, OptionsError
from .extract.torchscript import short_file
from .highlight import Highlighter
from .options import check as check_options
from .results import describe
from .style import HTML_STYLES
from .text import natural_key, plural, visible
from .widgets import control_widget

__all__ = ["Explanation", "ListedLine", "Section", "explain"]

_STATIC = Path(__file__).parent / "static"
_COLOURS = 8  # line colours cycle through jv-c0 .. jv-c7 (explain.css)
# Control characters would make the HTML invalid XML and hide what the text really holds.
# What jitviz.highlight.Highlighter takes of jitviz.show's options.
_HIGHLIGHT_OPTIONS = ("mode", "expand_calls", "inline", "constants", "max_nodes", "rankdir", "checks", "trusted",
                      "nesting", "open_blocks")
_NO_NODE = "no node: plain Python while tracing, or not run on the example inputs"


@dataclass(frozen=True)
class ListedLine:
    """One line of the listing: ``ListedLine("f.py:3", "f.py", 3, "return x * 2")``."""

    key: str  # "file:line", what links a line to its nodes
    file: str
    line: int
    code: str


@dataclass
class Section:
    """The source of one function (or, without it, the lines the graph recorded) in the listing."""

    title: str
    lines: list[ListedLine] = field(default_factory=list)


def explain(
    obj: Any,
    *inputs: Any,
    controls: Mapping[str, Any] | None = None,
    make_inputs: Callable[..., tuple[Any, ...]] | None = None,
    **show_options: Any,
) -> Explanation:
    """The source of ``obj`` beside its picture, linked both ways: ``jitviz.explain(f, torch.ones(2))``.

    Hover a line to light its nodes, hover or click a node for its details and its line; ↑/↓ move
    the line selection, ←/→ walk from the selected node to the previous/next one along edges.

    Args:
        obj: what :func:`jitviz.show` takes: a function or module (traced with ``inputs``,
            scripted without), TorchScript, a saved ``.pt`` path, an exported program.
        *inputs: example inputs (to trace with; with ``highlight=True`` to run the script on).
        controls: ``{"n": (0, 5)}`` as in :func:`jitviz.explore`: each moves the inputs, the
            scripted code runs again and both sides repaint (implies ``highlight=True``).
        make_inputs: builds the inputs from the control values, called with them as keyword
            arguments; by default the control values are the inputs, in order.
        **show_options: as :func:`jitviz.show` (``mode``, ``expand_calls``, ``highlight`` ...).
    """
    return Explanation(obj, *inputs, controls=controls, make_inputs=make_inputs, **show_options)


class Explanation:
    """What :func:`explain` returns, its links also as data: ``jitviz.explain(f, x).nodes_of(3)``.

    ``lines_of(node_id)``, ``nodes_of(line)``, ``runs_of(line)``, ``reasons`` and ``warnings`` (by
    ``(file, line)``) are what the two sides show; ``set(n=3)`` moves a control as a user would.
    """

    def __init__(
        self,
        obj: Any,
        *inputs: Any,
        controls: Mapping[str, Any] | None = None,
        make_inputs: Callable[..., tuple[Any, ...]] | None = None,
        **show_options: Any,
    ) -> None:
        self._obj = obj
        self.controls: dict[str, widgets.ValueWidget] = {
            name: control_widget(name, spec) for name, spec in (controls or {}).items()
        }
        self._make_inputs = make_inputs or (lambda **values: tuple(values.values()))
        if self.controls and inputs:
            raise OptionsError("explain takes inputs or controls, not both: the controls make the inputs")
        self._highlighter: Highlighter | None = None
        self.outputs: Any = None
        highlight = show_options.pop("highlight", False)
        check_options(highlight=highlight)
        if self.controls or highlight:
            unknown = sorted(set(show_options) - set(_HIGHLIGHT_OPTIONS))
            if unknown:
                raise OptionsError(f"explain with highlight or controls takes {', '.join(_HIGHLIGHT_OPTIONS)} "
                                f"as options, not {', '.join(unknown)}")
            self._highlighter = Highlighter(obj, **show_options)
            inputs = inputs or self._control_inputs()
            self.outputs, self.view = self._highlighter.run(*inputs)
        else:
            self.view = show(obj, *inputs, **show_options)
        self._node_lines = _with_call_lines(drawn_sources(self.view), self.view.model, obj)
        self._by_line = _by_line(self._node_lines)
        self.sections = _sections(obj, self._node_lines)
        # A line that produced nodes and those nodes share a colour, jv-c0 .. jv-c7 in listing order.
        linked = [(line.file, line.line) for section in self.sections for line in section.lines
                  if (line.file, line.line) in self._by_line]
        self._colours = {where: index % _COLOURS for index, where in enumerate(dict.fromkeys(linked))}
        #: A torch.compile capture's break lines: what broke there, torch's explanation and hints.
        self.breaks: dict[tuple[str, int], str] = {}
        if self.view.model.origin == "compiled":  # a line takes the colour of the graph it went into
            self._colours, self.breaks = _compiled_lines(self.view.model)
        self.reasons: dict[tuple[str, int], str] = {}
        self.warnings: dict[tuple[str, int], list[str]] = {}
        if self.view.model.origin == "traced" and not isinstance(obj, torch.jit.ScriptModule):
            self.reasons, self.warnings = _silent_lines(obj, inputs, self.sections, self._by_line)
        self.status = widgets.HTML(self._status_html())
        self._front: _ExplainWidget | None = None  # built when first shown: laying out needs `dot`
        self._widget: widgets.Widget | None = None
        for control in self.controls.values():
            control.observe(self._on_change, names="value")

    @property
    def front(self) -> _ExplainWidget:
        """The browser side: the laid-out SVG, the source HTML and the links between them."""
        if self._front is None:
            self._front = _ExplainWidget(svg=self.view.svg(), source_html=self._source_html(), links=self._links())
        return self._front

    @property
    def widget(self) -> widgets.Widget:
        """What the cell shows: the controls (if any), the last output, and the linked view."""
        if self._widget is None:
            top = [widgets.HBox(list(self.controls.values())), self.status] if self.controls else []
            self._widget = widgets.VBox(top + [self.front])
        return self._widget

    # --- the links, as data -------------------------------------------------------------------------

    def lines_of(self, node_id: str) -> list[ir.SourceLocation]:
        """The source lines a drawn node stands for (several for a folded node): ``ex.lines_of("n3")``."""
        return list(self._node_lines.get(node_id, []))

    def nodes_of(self, line: int, file: str | None = None) -> list[str]:
        """The drawn node ids a source line produced: ``ex.nodes_of(3)``; ``file`` narrows the match."""
        return sorted({n for (f, number), ids in self._by_line.items()
                       if number == line and file in (None, f) for n in ids}, key=natural_key)

    def runs_of(self, line: int, file: str | None = None) -> int | None:
        """How often a line ran on the last inputs (with ``highlight``/controls), else ``None``."""
        counts = [self._line_runs(key) for key in self._by_line if key[1] == line and file in (None, key[0])]
        known = [count for count in counts if count is not None]
        return max(known) if known else None

    def set(self, **values: Any) -> Explanation:
        """Move controls as a user would (each move re-runs and repaints): ``ex.set(n=3)``."""
        for name, value in values.items():
            if name not in self.controls:
                raise OptionsError(f"no control named {name!r}; the controls are {', '.join(self.controls) or 'none'}")
            self.controls[name].value = value
        return self

    # --- re-running -------------------------------------------------------------------------------

    def _control_inputs(self) -> tuple[Any, ...]:
        return tuple(self._make_inputs(**{name: c.value for name, c in self.controls.items()}))

    def _on_change(self, change: dict[str, Any]) -> None:
        assert self._highlighter is not None
        try:
            self.outputs, self.view = self._highlighter.run(*self._control_inputs())
        except Exception as error:  # a user's input builder or code failing: say so, keep the picture
            message = _escape(f"{type(error).__name__}: {error}")
            self.status.value = f'<span style="{HTML_STYLES["error"]}">{message}</span>'
            return
        self.status.value = self._status_html()
        if self._front is not None:
            # Same layout, repainted: the SVG text changes, its geometry does not.
            self._front.svg = self.view.svg()
            self._front.source_html = self._source_html()

    def _status_html(self) -> str:
        if self._highlighter is None or not self.controls:
            return ""
        return f"output: <code>{html.escape(describe(self.outputs))}</code>"

    # --- derived data -----------------------------------------------------------------------------

    def _line_runs(self, where: tuple[str, int]) -> int | None:
        execution = self.view.execution
        if execution is None:
            return None
        elements = self.view.drawing.elements
        counts = [execution.runs(elements[n].block) for n in self._by_line.get(where, []) if n in elements]
        known = [count for count in counts if count is not None]
        return max(known) if known else None

    def _links(self) -> dict[str, Any]:
        line_nodes = self._by_line
        colour_of = self._colours
        nodes = {node_id: [f"{w.file}:{w.line}" for w in where] for node_id, where in self._node_lines.items()}
        return {
            "lines": {f"{f}:{n}": ids for (f, n), ids in line_nodes.items()},
            "nodes": nodes,
            "colours": {node_id: colour_of[(where[0].file, where[0].line)]
                        for node_id, where in self._node_lines.items() if (where[0].file, where[0].line) in colour_of},
            "edges": [list(edge.ends or ()) for edge in self.view.drawing.edges()],
            "details": _details(self.view.model, self._node_lines, self.view.drawing.elements),
        }

    def _source_html(self) -> str:
        line_nodes = self._by_line
        parts = []
        for section in self.sections:
            rows = []
            coloured = _highlighted(section)
            for listed, code_html in zip(section.lines, coloured):
                where = (listed.file, listed.line)
                classes = ["jv-line"]
                note = ""
                if where in self.breaks:
                    classes.append("jv-break")
                    note = f'<span class="jv-reason jv-break-note">{_escape(self.breaks[where])}</span>'
                elif line_nodes.get(where) and where in self._colours:
                    classes.append(f"jv-c{self._colours[where]}")
                    runs = self._line_runs(where)
                    if runs is not None:
                        classes.append("jv-ran" if runs else "jv-not-run")
                        note = f'<span class="jv-runs">{"not run" if runs == 0 else f"×{runs}"}</span>'
                elif where in self.reasons:
                    classes.append("jv-silent")
                    note = f'<span class="jv-reason">{_escape(self.reasons[where])}</span>'
                for message in self.warnings.get(where, []):
                    note += f'<span class="jv-warning">⚠ TracerWarning: {_escape(message)}</span>'
                rows.append(
                    f'<div class="{" ".join(classes)}" data-key="{_escape(listed.key)}">'
                    f'<span class="jv-no">{listed.line}</span><code>{code_html}</code>{note}</div>'
                )
            parts.append(f'<div class="jv-section"><div class="jv-title">{_escape(section.title)}</div>'
                         f'{"".join(rows)}</div>')
        return f'<div class="jv-src">{"".join(parts)}</div>'

    # --- showing ----------------------------------------------------------------------------------

    def static_html(self) -> str:
        """The coloured source beside the static picture, for viewers without widgets (nbconvert, GitHub,
        a notebook opened unrun): the picture is an ``<img>``, which sanitized HTML keeps (an inline
        ``<svg>`` is stripped to its text), carrying its nodes' line colours in its own style sheet."""
        return (
            f"<style>{_css()}</style>"
            f'<div class="jv-explain jv-static"><div class="jv-panes">'
            f'<div class="jv-source">{self._source_html()}</div>'
            f'<div class="jv-graph">{svg_img(_self_styled(self._coloured_svg()), repr(self))}</div></div></div>'
        )

    def _coloured_svg(self) -> str:
        """The SVG with each linked node in its line's colour class (what the browser side adds)."""
        colours = self._links()["colours"]

        def add_class(match: re.Match[str]) -> str:
            colour = colours.get(html.unescape(match.group(1)))
            return match.group(0) if colour is None else match.group(0)[:-2] + f' jv-c{colour}">'

        return re.sub(r'<g id="([^"]+)" class="node">', add_class, self.view.svg())

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        try:
            self.view.svg()
        except GraphvizNotFoundError as error:
            # The picture needs dot's layout (the links point into its SVG): show the source, and why.
            return {"text/html": f"<p>{_escape(str(error))}</p><style>{_css()}</style>"
                                 f'<div class="jv-explain jv-static">{self._source_html()}</div>',
                    "text/plain": f"{self!r}\n{error}"}
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude) or {}
        bundle = dict(bundle[0] if isinstance(bundle, tuple) else bundle)
        # Front ends with a widget manager prefer the widget view; nbconvert drops it when no widget
        # state was saved, and static viewers ignore it: both then show this HTML.
        bundle["text/html"] = self.static_html()
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        linked = sum(1 for ids in self._by_line.values() if ids)
        return (f"<jitviz explanation: {self.view.model.summary()}; {plural(linked, 'source line')} linked, "
                f"{len(self.reasons)} left no node>")


class _ExplainWidget(anywidget.AnyWidget):
    """The front end: the SVG and the source HTML, painted in Python, plus the links between them."""

    _esm = _STATIC / "explain.js"
    _css = _STATIC / "explain.css"
    svg = traitlets.Unicode("").tag(sync=True)
    source_html = traitlets.Unicode("").tag(sync=True)
    links = traitlets.Dict().tag(sync=True)


_NODE_COLOUR = re.compile(r"(g\.node\.jv-c\d+) > :is\(polygon, ellipse, path\) \{ stroke: (#[0-9a-f]{6}); \}")


def _self_styled(svg: str) -> str:
    """The SVG with the node colour rules of explain.css inside it, so that it keeps them as an image."""
    rules = " ".join(f"{selector} > polygon, {selector} > ellipse, {selector} > path {{ stroke: {colour}; "
                     "stroke-width: 2; }" for selector, colour in _NODE_COLOUR.findall(_css()))
    start = svg.find("<svg")
    end = svg.find(">", start) + 1
    return svg[:end] + f"\n<style>{rules}</style>" + svg[end:] if start >= 0 and end > 0 else svg


def _compiled_lines(model: ir.Graph) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], str]]:
    """A torch.compile capture's lines: each line's colour is its graph's (graph 1 jv-c0, ...), and
    each break line says what ran in Python there, and why."""
    colours: dict[tuple[str, int], int] = {}
    breaks: dict[tuple[str, int], str] = {}
    frames = [node for node in model.nodes if node.kind == ir.COMPILED_GRAPH]
    for index, frame in enumerate(frames):
        for node in frame.walk():
            if node.source is not None:
                colours.setdefault((node.source.file, node.source.line), index % _COLOURS)
    for node in model.nodes:
        if node.kind == ir.GRAPH_BREAK and node.source is not None:
            gb_id, gb_type = node.attributes.get("gb_id") or "", node.attributes.get("gb_type") or "graph break"
            hints = node.attributes.get("hints") or []
            text = (f"graph break{' ' + str(gb_id) if gb_id else ''}: {gb_type}. Ran in Python, between "
                    f"two compiled graphs. {node.attributes.get('explanation') or ''}")
            text += "".join(f" Hint: {hint}" for hint in (hints if isinstance(hints, list) else [])[:3])
            breaks[(node.source.file, node.source.line)] = text
    return colours, breaks


def _by_line(node_lines: Mapping[str, list[ir.SourceLocation]]) -> dict[tuple[str, int], list[str]]:
    """(file, line) -> the drawn node ids that line produced: the other direction of the links."""
    found: dict[tuple[str, int], list[str]] = defaultdict(list)
    for node_id, locations in node_lines.items():
        for where in locations:
            if node_id not in found[(where.file, where.line)]:
                found[(where.file, where.line)].append(node_id)
    return dict(found)


# --- drawn node -> source lines ------------------------------------------------------------------


def drawn_sources(view: GraphView) -> dict[str, list[ir.SourceLocation]]:
    """Each drawn node id and every source line it stands for: ``drawn_sources(view)["n3"]``."""
    return {node.id: list(node.sources) for node in view.drawing.nodes() if node.sources}


def _with_call_lines(
    found: dict[str, list[ir.SourceLocation]], model: ir.Graph, obj: Any
) -> dict[str, list[ir.SourceLocation]]:
    """A traced module's submodule calls record no source line; the line of the parent's
    ``forward`` that names ``self.<child>`` is where the call was written."""
    if not isinstance(obj, torch.nn.Module) or isinstance(obj, torch.jit.ScriptModule):
        return found
    for node in model.walk():
        path = node.attributes.get("module_path")
        if node.kind != "prim::CallMethod" or node.source is not None or not isinstance(path, str):
            continue
        parent_path, _, child = path.rpartition(".")
        try:
            lines, start = inspect.getsourcelines(type(obj.get_submodule(parent_path)).forward)
            file = short_file(inspect.getsourcefile(type(obj.get_submodule(parent_path)).forward) or "")
        except (AttributeError, OSError, TypeError):
            continue  # no such submodule, or its forward has no Python source
        mention = re.compile(rf"\bself\.{re.escape(child)}\b")
        for offset, text in enumerate(lines):
            if mention.search(text):
                found.setdefault(node.id, []).append(ir.SourceLocation(file, start + offset, text.strip()))
                break
    return found


# --- the source listing --------------------------------------------------------------------------


def _sections(obj: Any, node_lines: Mapping[str, list[ir.SourceLocation]]) -> list[Section]:
    """The functions whose lines the graph records, in the order first met; then, for lines no
    Python function here covers (saved files, exported programs, library code), the recorded lines."""
    recorded = {(w.file, w.line): w.code for where in node_lines.values() for w in where}
    covered: set[tuple[str, int]] = set()
    sections = []
    for index, function in enumerate(_functions(obj)):
        listing = _listing(function)
        if listing is None:
            continue
        keys = {(listed.file, listed.line) for listed in listing.lines}
        # The function drawn is always listed; the ones it reaches only when the graph shows them.
        if (index == 0 or keys & recorded.keys()) and not keys <= covered:
            sections.append(listing)
            covered |= keys
    rest: dict[str, list[ListedLine]] = defaultdict(list)
    for (file, line), code in sorted(recorded.items()):
        if (file, line) not in covered:
            rest[file].append(ListedLine(f"{file}:{line}", file, line, code))
    sections += [Section(f"{file} (the lines the graph recorded)", lines) for file, lines in rest.items()]
    return sections


def _functions(obj: Any) -> Iterator[Callable[..., Any]]:
    """``obj``'s own code first, then every method of its submodules and the functions it calls."""
    seen: set[int] = set()
    queue: list[Any] = []
    if isinstance(obj, torch.nn.Module) and not isinstance(obj, torch.jit.ScriptModule):
        for module in obj.modules():
            if isinstance(module, torch.jit.ScriptModule):
                continue  # TorchScript already: no Python source of its own to list
            for klass in type(module).__mro__:
                if klass.__module__.startswith(("torch.nn.modules.module", "torch.jit")) or klass is object:
                    continue
                queue += [v for v in vars(klass).values() if isinstance(v, types.FunctionType)]
        queue.sort(key=lambda f: f.__name__ != "forward")  # the forwards first, stable otherwise
    elif isinstance(obj, types.FunctionType):
        queue.append(obj)
    elif isinstance(obj, torch.jit.ScriptFunction):
        # torch.jit.script keeps the Python function it compiled there (torch 2.13; private, so
        # looked up softly: without it the recorded lines stand in).
        original = getattr(obj, "_torchdynamo_inline", None)
        if isinstance(original, types.FunctionType):
            queue.append(original)
    while queue and len(seen) < 200:
        function = queue.pop(0)
        if id(function) in seen:
            continue
        seen.add(id(function))
        yield function
        queue += _called_functions(function)


def _called_functions(function: types.FunctionType) -> list[types.FunctionType]:
    code = function.__code__
    names = set(code.co_names) | {n for const in code.co_consts if isinstance(const, types.CodeType)
                                  for n in const.co_names}
    return [value for name in sorted(names)
            if isinstance(value := function.__globals__.get(name), types.FunctionType)]


def _listing(function: Callable[..., Any]) -> Section | None:
    try:
        lines, start = inspect.getsourcelines(function)
        path = inspect.getsourcefile(function)
    except (OSError, TypeError):
        return None  # built-in, or source not available: the recorded lines stand in
    if not path:
        return None
    file = short_file(path)
    listed = [ListedLine(f"{file}:{start + i}", file, start + i, text.rstrip("\n")) for i, text in enumerate(lines)]
    return Section(f"{function.__qualname__}  ({file}:{start})", listed)


def _highlighted(section: Section) -> list[str]:
    """Each line's code as escaped, syntax-coloured HTML (Pygments splits its spans at newlines)."""
    text = "\n".join(_visible(listed.code) for listed in section.lines)
    out = _pygments_highlight(text, PythonLexer(stripnl=False, ensurenl=False), HtmlFormatter(nowrap=True))
    coloured = out.split("\n")
    if len(coloured) != len(section.lines):  # never expected; plain escaped text is still right
        return [_escape(listed.code) for listed in section.lines]
    return coloured


def _visible(text: str) -> str:
    return visible(text)


def _escape(text: str) -> str:
    return html.escape(_visible(text))


def _css() -> str:
    return (_STATIC / "explain.css").read_text(encoding="utf-8") + HtmlFormatter().get_style_defs(".jv-src")


# --- lines that left no node -----------------------------------------------------------------------


def _silent_lines(
    obj: Any, inputs: tuple[Any, ...], sections: list[Section], line_nodes: Mapping[tuple[str, int], list[str]]
) -> tuple[dict[tuple[str, int], str], dict[tuple[str, int], list[str]]]:
    """For a trace: each statement line that left no node, and why where :func:`jitviz.compare`
    knows (a branch decided, a loop unrolled, a size read as an int); the TracerWarnings by line."""
    findings: dict[tuple[str, int], str] = {}
    by_line: dict[tuple[str, int], list[str]] = defaultdict(list)
    try:
        with warnings.catch_warnings(record=True):  # the user saw them once, from the first trace
            comparison = compare(obj, inputs, [])
    except (JitvizError, RuntimeError, TypeError):
        comparison = None  # e.g. a model that cannot be traced twice; the lines are still marked
    if comparison is not None:
        for finding in comparison.findings:
            if finding.kind != "warning":  # the warnings are shown on their own, below
                where = (finding.where.file, finding.where.line)
                findings[where] = " ".join(filter(None, [findings.get(where), finding.explanation]))
        for warning in comparison.tracer_warnings:
            where = (warning.where.file, warning.where.line)
            message = warning.message.split(". ")[0].rstrip(".") + "."
            if message not in by_line[where]:
                by_line[where].append(message)
    left_out = _branches_left_out(comparison, line_nodes) if comparison is not None else {}
    reasons = {}
    for section in sections:
        for where in _statement_lines(section):
            if not line_nodes.get(where):
                reasons[where] = findings.get(where) or left_out.get(where, _NO_NODE)
    return reasons, dict(by_line)


def _branches_left_out(comparison: Comparison,
                       line_nodes: Mapping[tuple[str, int], list[str]]) -> dict[tuple[str, int], str]:
    """The lines of each branch a frozen ``if`` did not take while tracing (no line of it left a node)."""
    if comparison.scripted is None:
        return {}
    by_id = {node.id: node for node in comparison.scripted.model.walk()}
    found: dict[tuple[str, int], str] = {}
    for finding in comparison.findings:
        for node in (by_id.get(node_id) for node_id in finding.script_nodes if finding.kind == "branch"):
            for block in node.blocks if node is not None else []:
                lines = _block_lines(block.nodes)
                if not any(line_nodes.get(where) for where in lines):
                    for where in lines:
                        found.setdefault(where, f"not run while tracing: the {block.label} branch of the `if` on "
                                                f"line {finding.where.line}, which the trace left out")
    return found


def _block_lines(nodes: list[ir.Node]) -> set[tuple[str, int]]:
    found = {(node.source.file, node.source.line) for node in nodes if node.source is not None}
    for node in nodes:
        for block in node.blocks:
            found |= _block_lines(block.nodes)
    return found


def _statement_lines(section: Section) -> list[tuple[str, int]]:
    """The first line of every statement in a listed function (not its ``def`` or docstring)."""
    if not section.lines:
        return []
    try:
        tree = ast.parse(textwrap.dedent("\n".join(listed.code for listed in section.lines)))
    except SyntaxError:
        return []
    first, file = section.lines[0].line, section.lines[0].file
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt) or isinstance(
                node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Pass)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring
        found.append((file, first + node.lineno - 1))
    return sorted(set(found))


# --- the details panel -------------------------------------------------------------------------------


def _details(model: ir.Graph, node_lines: Mapping[str, list[ir.SourceLocation]],
             drawn: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What a tooltip would say, per drawn node; the browser shows it as text (never as HTML)."""
    details: dict[str, dict[str, Any]] = {}
    for node in model.walk():
        title = node.kind + (f" → {node.callee}" if node.callee else "")
        attributes = ", ".join(f"{k}={_short(v)}" for k, v in node.attributes.items())
        details[node.id] = {
            "label": _visible(title + (f" ({attributes})" if attributes else "")),
            "inputs": [_visible(f"%{v.name}: {v.type}") for v in node.inputs],
            "outputs": [_visible(f"%{v.name}: {v.type}") for v in node.outputs],
            "source": [_visible(str(where)) for where in node_lines.get(node.id, [])],
            "scope": _visible(node.scope),
        }
    for value in model.inputs:
        details[f"in_{value.id}"] = {"label": _visible(f"graph input %{value.name}: {value.type}"),
                                     "inputs": [], "outputs": [], "source": [], "scope": ""}
    return {node_id: info for node_id, info in details.items() if node_id in drawn}


def _short(value: object, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
