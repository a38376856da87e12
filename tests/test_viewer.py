"""The browser viewer: DOT laid out by the bundled WASM Graphviz, submodules opened on request."""

import pytest
import torch

import jitviz
from jitviz.viewer import _layout_widget

from . import seed_functions as seed


def test_explorer_lists_collapsed_submodules_and_expands_them():
    explorer = jitviz.explore_graph(torch.jit.script(seed.TinyNet()))
    assert explorer.expandable == ["fc1", "fc2"]
    layout = _layout_widget(explorer.widget)
    assert layout.dot_source == explorer.source and "fc1: Linear" in layout.dot_source
    explorer._chooser.value = "fc2"  # what choosing it in the list does
    assert explorer.expanded == ["fc2"] and explorer.expandable == ["fc1"]
    assert "aten::linear" in layout.dot_source and layout.dot_source == explorer.source
    assert "expanded: fc2" in repr(explorer)
    with pytest.raises(KeyError, match="choose from \\['fc1'\\]"):
        explorer.expand("fc3")


def test_viewer_works_without_the_dot_binary(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    explorer = jitviz.explore_graph(torch.jit.script(seed.TinyNet()))
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("<jitviz graph explorer:")


def test_the_widget_code_is_bundled_not_fetched():
    from graphviz_anywidget import GraphvizAnyWidget

    source = str(GraphvizAnyWidget._esm)  # the module's text, as anywidget sends it to the browser
    assert len(source) > 500_000  # the WASM Graphviz travels inside the wheel
    assert "cdn.jsdelivr" not in source and "unpkg.com" not in source
