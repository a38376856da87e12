"""Pictures laid out in the browser, for when Graphviz's ``dot`` program is missing.

``graphviz-anywidget`` (pinned in pyproject.toml) lays DOT out with a WASM build of Graphviz
bundled in its wheel: nothing is fetched at run time. Every picture jitviz shows in a notebook
(``show``, ``compare``, ``diff``, ``explore``, the graph viewer) falls back to it; this module
is low in the layers so that all of them can use it without importing one another.

    browser_layout(view.source)   # a widget; in a cell it draws the graph
"""

from __future__ import annotations

import warnings
from typing import Any

import ipywidgets as widgets
from graphviz_anywidget import graphviz_widget

__all__ = ["browser_layout", "layout_widget", "warn_once_no_dot", "widget_bundle"]

_WARNED_NO_DOT = False


def browser_layout(dot_source: str) -> widgets.Widget:
    """A widget that lays ``dot_source`` out in the browser, with zoom and search controls."""
    return graphviz_widget(dot_source, controls=["zoom", "search"])


def layout_widget(box: widgets.Widget) -> Any:
    """The GraphvizAnyWidget inside the box :func:`browser_layout` returns: set its ``dot_source``
    to redraw."""
    if hasattr(box, "dot_source"):
        return box
    for child in getattr(box, "children", ()):
        found = layout_widget(child)
        if found is not None:
            return found
    return None


def warn_once_no_dot(message: str) -> None:
    """Say once per session that static pictures need Graphviz (the browser layout does not)."""
    global _WARNED_NO_DOT
    if not _WARNED_NO_DOT:
        _WARNED_NO_DOT = True
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def widget_bundle(widget: widgets.Widget, text: str, include: Any = None, exclude: Any = None) -> dict[str, Any]:
    """``widget``'s notebook output with ``text`` as its plain-text form (ipywidgets may return a
    tuple of data and metadata, or nothing outside a kernel)."""
    bundle = widget._repr_mimebundle_(include=include, exclude=exclude) or {}
    bundle = dict(bundle[0] if isinstance(bundle, tuple) else bundle)
    bundle["text/plain"] = text
    return bundle
