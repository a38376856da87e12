"""The in-notebook graph viewer: layout in the browser, pan and zoom, search, expand a submodule.

    jitviz.explore_graph(model)       # a big model, one level deep; open submodules from the list

An ``if`` or loop nested deeper than ``nesting`` (see :func:`jitviz.show`) is one node here too; a
click opens it one level further, and a click on its frame closes it again.

It is built on ``graphviz-anywidget`` (pinned in pyproject.toml), which lays DOT out in the browser
with a WASM build of Graphviz bundled in the wheel: nothing is fetched at run time, and no ``dot``
binary is needed. The same widget is what a :class:`~jitviz.GraphView` shows when ``dot`` is missing.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from .api import show
from .browser import browser_layout, warn_once_no_dot  # noqa: F401  (kept importable from here)
from .browser import layout_widget as _layout_widget
from .display import svg_img
from .drawing import FRAME, NODE
from .errors import GraphvizNotFoundError
from .render import NESTED_ROLE
from .text import natural_key

__all__ = ["explore_graph", "GraphExplorer", "browser_layout"]


class GraphExplorer:
    """A graph shown in the browser viewer: click a collapsed call to open it, its frame to close it.

    ``explorer.expand("layers.0")`` and ``explorer.collapse("layers.0")`` do what the clicks do (and
    the list above the picture, kept for the keyboard); ``explorer.source`` is the DOT being shown;
    ``explorer.expandable`` lists what can still be opened, ``explorer.collapsible`` what can close.
    The same goes for an ``if`` or loop folded for nesting too deep: a click on it opens it (its
    id joins ``explorer.opened_blocks``), one on its frame closes it and what was opened inside it.
    """

    def __init__(self, obj: Any, *example_inputs: Any, **options: Any) -> None:
        self._obj = obj
        self._inputs = example_inputs
        self._options = options
        self.expanded: list[str] = []
        self.opened_blocks: list[str] = []  # ifs and loops folded for nesting, opened by a click
        self._view = show(obj, *example_inputs, **options)
        self._graph = browser_layout(self._view.source)
        self.clicks_reported = _report_clicks(_layout_widget(self._graph), self._on_message)
        self._chooser = widgets.Dropdown(description="expand", options=self._choices())
        self._chooser.observe(self._on_choice, names="value")
        hint = ("click a yellow call or a folded if or loop to open it, its frame to close it"
                if self.clicks_reported else "")
        self.widget = widgets.VBox([widgets.HBox([self._chooser, widgets.HTML(hint)]), self._graph])

    @property
    def source(self) -> str:
        return self._view.source

    @property
    def expandable(self) -> list[str]:
        """Submodules drawn as a single call node, which can be opened (``h.2`` before ``h.10``)."""
        return sorted({str(n.attributes["module_path"]) for n in self._view.model.walk()
                       if n.kind == "prim::CallMethod" and not n.blocks and n.attributes.get("module_path")},
                      key=natural_key)

    @property
    def collapsible(self) -> list[str]:
        """Submodules drawn open (their body inside a frame) that ``collapse`` can close again."""
        return sorted({path for action, path in self._click_targets().values() if action == "collapse"},
                      key=natural_key)

    def expand(self, path: str) -> None:
        """Open one submodule (and keep those opened before): ``explorer.expand("layers.0")``."""
        if path not in self.expandable:
            raise KeyError(f"{path!r} is not a collapsed submodule here; choose from {self.expandable}")
        self._redraw(self.expanded + [path])

    def collapse(self, path: str) -> None:
        """Close an opened submodule, and what was opened inside it: ``explorer.collapse("layers.0")``."""
        if path not in self.collapsible:
            raise KeyError(f"{path!r} is not an opened submodule here; choose from {self.collapsible}")
        self._redraw([p for p in self.expanded if p != path and not p.startswith(path + ".")])

    def click(self, name: str) -> str | None:
        """What a click on the drawn element ``name`` (a node or cluster id) does; returns the path
        (or, for a folded if or loop, the node id) opened or closed, or ``None`` when the element is
        neither a collapsed call, a folded if or loop, nor an open frame."""
        action, path = self._click_targets().get(name, (None, ""))
        if action == "expand":
            self.expand(path)
        elif action == "collapse":
            self.collapse(path)
        elif action == "open":
            self._redraw(self.expanded, self.opened_blocks + [path])
        elif action == "close":
            model = self._view.model
            within = {n.id for top in model.walk() if top.id == path for n in top.walk()}
            self._redraw(self.expanded, [b for b in self.opened_blocks if b not in within])
        return path or None

    def _click_targets(self) -> dict[str, tuple[str, str]]:
        """Drawn element id -> ("expand" or "collapse", module path), for the calls the user opened."""
        targets = {}
        for element in self._view.drawing.nodes():
            if element.role == NESTED_ROLE:
                targets[element.id] = ("open", element.stands_for[0])
        for node_id in self.opened_blocks:
            if f"cluster_{node_id}" in self._view.drawing.elements:
                targets[f"cluster_{node_id}"] = ("close", node_id)
        opened = tuple(self.expanded)
        calls = {node.id: node for node in self._view.model.walk() if node.kind == "prim::CallMethod"}
        for element in self._view.drawing.elements.values():
            node = calls.get(element.stands_for[0]) if element.stands_for else None
            path = node.attributes.get("module_path") if node is not None else None
            if node is None or not isinstance(path, str) or not path:
                continue
            if element.kind == NODE and not node.blocks:
                targets[element.id] = ("expand", path)
            elif element.kind == FRAME and any(p == path or p.startswith(path + ".") for p in opened):
                targets[element.id] = ("collapse", path)
        return targets

    def _redraw(self, expanded: list[str], opened_blocks: list[str] | None = None) -> None:
        opened_blocks = self.opened_blocks if opened_blocks is None else opened_blocks
        options = {**self._options, "expand_calls": list(expanded)} if expanded else dict(self._options)
        if opened_blocks:
            options["open_blocks"] = [*self._options.get("open_blocks", ()), *opened_blocks]
        self._view = show(self._obj, *self._inputs, **options)
        self.expanded = list(expanded)
        self.opened_blocks = list(opened_blocks)
        _layout_widget(self._graph).dot_source = self._view.source
        self._chooser.options = self._choices()

    def _choices(self) -> list[tuple[str, str]]:
        return [("(choose a submodule)", "")] + [(path, path) for path in self.expandable]

    def _on_choice(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.expand(change["new"])

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "jitviz-click":
            self.click(str(content.get("name", "")))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude) or {}
        bundle = dict(bundle[0] if isinstance(bundle, tuple) else bundle)
        bundle["text/plain"] = repr(self)
        try:  # without the widget (opened unrun, nbconvert): the same picture, laid out by dot, as an image
            picture = svg_img(self._view.svg(), repr(self))
        except GraphvizNotFoundError:
            picture = ""
        bundle["text/html"] = ("<p><i>Run the cell for the viewer (zoom, search, open submodules); "
                               f"this is the picture it starts with.</i></p>{picture}")
        return bundle

    def __repr__(self) -> str:
        opened = ", ".join(self.expanded + self.opened_blocks) or "nothing"
        return f"<jitviz graph explorer: {self._view.model.summary()}; expanded: {opened}>"


# The marker in graphviz-anywidget 0.8.0's bundle where its render function is exported.
_RENDER_EXPORT = "var widget_default = { initialize, render };"


def _report_clicks(layout: Any, handler: Any) -> bool:
    """Make the viewer send clicks to ``handler``: its bundle gets a small wrapper around render
    (static/viewer_clicks.js). False, and the list alone, if the bundle is not the one expected."""
    esm = _clicking_esm()
    if layout is None or esm is None:
        return False
    layout._esm = esm
    layout.on_msg(handler)
    return True


_CLICKING_ESM: list[str | None] = []


def _clicking_esm() -> str | None:
    if not _CLICKING_ESM:
        from pathlib import Path

        from graphviz_anywidget import GraphvizAnyWidget

        bundle = str(GraphvizAnyWidget._esm)
        wrapper = (Path(__file__).parent / "static" / "viewer_clicks.js").read_text(encoding="utf-8")
        patched = (bundle.replace(_RENDER_EXPORT, "var widget_default = { initialize, render: "
                                  "jitvizReportClicks(render) };", 1) + "\n" + wrapper)
        _CLICKING_ESM.append(patched if bundle.count(_RENDER_EXPORT) == 1 else None)
    return _CLICKING_ESM[0]


def explore_graph(obj: Any, *example_inputs: Any, **options: Any) -> GraphExplorer:
    """Show a graph in the browser viewer: ``jitviz.explore_graph(model)``; options as :func:`jitviz.show`."""
    return GraphExplorer(obj, *example_inputs, **options)
