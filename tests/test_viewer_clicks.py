"""The browser viewer opens a collapsed call when it is clicked and closes an open one's frame."""

import pytest
import torch
from torch import nn

import jitviz
from jitviz.viewer import _layout_widget, natural_key

from . import seed_functions as seed


def call_id(model, path: str) -> str:
    return next(n.id for n in model.walk() if n.kind == "prim::CallMethod" and n.attributes.get("module_path") == path)


def click(explorer, name: str) -> None:
    """What the browser sends when the element `name` is clicked, delivered as a widget message."""
    _layout_widget(explorer.widget)._handle_custom_msg({"event": "jitviz-click", "name": name}, [])


def test_clicking_a_collapsed_call_opens_it_and_clicking_its_frame_closes_it():
    net = torch.jit.script(seed.TinyNet())
    explorer = jitviz.explore_graph(net)
    assert explorer.clicks_reported
    layout = _layout_widget(explorer.widget)
    before = layout.dot_source
    click(explorer, call_id(jitviz.graph(net), "fc1"))
    assert explorer.expanded == ["fc1"] and explorer.collapsible == ["fc1"]
    assert "aten::linear" in layout.dot_source
    opened = call_id(jitviz.graph(net, expand_calls=["fc1"]), "fc1")
    click(explorer, "in_x")  # neither a call nor a frame: nothing happens
    assert explorer.expanded == ["fc1"]
    click(explorer, f"cluster_{opened}")
    assert explorer.expanded == [] and layout.dot_source == before


def test_closing_a_module_closes_what_was_opened_inside_it():
    from bench.models import transformer_encoder

    explorer = jitviz.explore_graph(torch.jit.script(transformer_encoder(2, 32)))
    explorer.expand("layers.0")
    assert "layers.0.self_attn" in explorer.expandable
    explorer.expand("layers.0.self_attn")
    explorer.collapse("layers.0")
    assert explorer.expanded == [] and "layers.0" in explorer.expandable
    with pytest.raises(KeyError, match="not an opened submodule"):
        explorer.collapse("layers.1")


def test_the_viewer_bundle_is_wrapped_once_to_report_clicks():
    explorer = jitviz.explore_graph(torch.jit.script(seed.TinyNet()))
    esm = _layout_widget(explorer.widget)._esm
    assert esm.count("render: jitvizReportClicks(render)") == 1
    assert "function jitvizReportClicks(render)" in esm
    assert "cdn.jsdelivr" not in esm and "unpkg.com" not in esm


class Stack(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.h = nn.ModuleList([nn.Linear(2, 2) for _ in range(11)])

    def forward(self, x):
        for layer in self.h:
            x = layer(x)
        return x


def test_submodule_paths_sort_naturally():
    explorer = jitviz.explore_graph(torch.jit.script(Stack()))
    assert explorer.expandable == [f"h.{i}" for i in range(11)]
    assert sorted(["b10", "b9", "a", "b1x"], key=natural_key) == ["a", "b1x", "b9", "b10"]
