"""The in-notebook graph viewer: layout in the browser, pan and zoom, search, expand a submodule.

    jitviz.explore_graph(model)       # a big model, one level deep; open submodules from the list

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

__all__ = ["explore_graph", "GraphExplorer", "browser_layout"]


class GraphExplorer:
    """A graph shown in the browser viewer, with a list of its collapsed submodules to open.

    ``explorer.expand("layers.0")`` does what choosing it in the list does; ``explorer.source`` is the
    DOT being shown; ``explorer.expandable`` lists what can still be opened.
    """

    def __init__(self, obj: Any, *example_inputs: Any, **options: Any) -> None:
        self._obj = obj
        self._inputs = example_inputs
        self._options = options
        self.expanded: list[str] = []
        self._view = show(obj, *example_inputs, **options)
        self._graph = browser_layout(self._view.source)
        self._chooser = widgets.Dropdown(description="expand", options=self._choices())
        self._chooser.observe(self._on_choice, names="value")
        self.widget = widgets.VBox([self._chooser, self._graph])

    @property
    def source(self) -> str:
        return self._view.source

    @property
    def expandable(self) -> list[str]:
        """Submodules drawn as a single call node, which can be opened."""
        return sorted({str(n.attributes["module_path"]) for n in self._view.model.walk()
                       if n.kind == "prim::CallMethod" and not n.blocks and n.attributes.get("module_path")})

    def expand(self, path: str) -> None:
        """Open one submodule (and keep those opened before): ``explorer.expand("layers.0")``."""
        if path not in self.expandable:
            raise KeyError(f"{path!r} is not a collapsed submodule here; choose from {self.expandable}")
        self.expanded.append(path)
        self._view = show(self._obj, *self._inputs, **{**self._options, "expand_calls": list(self.expanded)})
        _layout_widget(self._graph).dot_source = self._view.source
        self._chooser.options = self._choices()

    def _choices(self) -> list[tuple[str, str]]:
        return [("(choose a submodule)", "")] + [(path, path) for path in self.expandable]

    def _on_choice(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.expand(change["new"])

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude) or {}
        bundle = dict(bundle[0] if isinstance(bundle, tuple) else bundle)
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        opened = ", ".join(self.expanded) or "nothing"
        return f"<jitviz graph explorer: {self._view.model.summary()}; expanded: {opened}>"


def explore_graph(obj: Any, *example_inputs: Any, **options: Any) -> GraphExplorer:
    """Show a graph in the browser viewer: ``jitviz.explore_graph(model)``; options as :func:`jitviz.show`."""
    return GraphExplorer(obj, *example_inputs, **options)
