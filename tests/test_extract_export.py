"""torch.export and torch.fx graphs in the same picture language as TorchScript."""

import re

import pytest
import torch
from torch import nn
from torch.export import Dim, export

import jitviz
from jitviz.style import category

from . import seed_functions as seed


class Double(nn.Module):
    def forward(self, x):
        return x * 2


class CondBranch(nn.Module):
    def forward(self, x):
        return torch.cond(x.mean() > 1.0, lambda x: x.sum() * 0 + 1.0, lambda x: x.sum() * 0 + 2.0, (x,))


class Stack(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = seed.TinyNet()
        self.register_buffer("scale", torch.tensor(2.0))

    def forward(self, x):
        return self.encoder(x) * self.scale


def test_plain_export_has_inputs_ops_and_shapes():
    g = jitviz.graph(export(Double(), (torch.ones(2, 2),)))
    assert g.origin == "exported" and g.name == "Double"
    assert [(v.name, v.type, v.role) for v in g.inputs] == [("x", "Float(2, 2)", "")]
    (mul,) = g.find("aten::mul.Tensor")
    assert mul.attributes == {"other": 2} and mul.outputs[0].type == "Float(2, 2)"
    assert mul.source.file == "test_extract_export.py" and mul.source.code == "return x * 2"
    assert "aten::mul.Tensor\\nother=2" in jitviz.show(export(Double(), (torch.ones(2, 2),))).source


def test_cond_is_drawn_like_prim_if():
    program = export(CondBranch(), (torch.ones(2, 2),))
    g = jitviz.graph(program)
    (cond,) = g.find("higher_order::cond")
    assert [b.label for b in cond.blocks] == ["true branch", "false branch"]
    assert category(cond.kind) == category("prim::If") == "if"
    assert cond.arg_names[0] == "pred" and cond.inputs[0].type == "Bool()"
    assert [len(b.params) for b in cond.blocks] == [1, 1]
    source = jitviz.show(program).source
    assert "shape=diamond" in source and 'label="true branch"' in source and "label=true" in source
    assert [program.module()(torch.full((2, 2), v)).item() for v in (3.0, 1.0)] == [1.0, 2.0]


def test_dynamic_dimensions_show_as_symbols():
    batch = Dim("batch", min=1, max=64)
    g = jitviz.graph(export(Double(), (torch.ones(2, 3),), dynamic_shapes={"x": {0: batch}}))
    assert re.fullmatch(r"Float\(s\d+, 3\)", g.inputs[0].type)


def test_parameters_and_buffers_are_marked_and_module_hierarchy_is_kept():
    g = jitviz.graph(export(Stack(), (torch.ones(1, 4),)))
    roles = {v.name: v.role for v in g.inputs}
    assert roles["x"] == ""
    assert sum(role == "parameter" for role in roles.values()) == 4
    assert sum(role == "buffer" for role in roles.values()) == 1
    assert {v.name for v in g.inputs if v.role == "parameter"} == {
        "encoder.fc1.weight", "encoder.fc1.bias", "encoder.fc2.weight", "encoder.fc2.bias"}
    opened = jitviz.graph(export(Stack(), (torch.ones(1, 4),)), expand_calls=True)
    scopes = {n.scope for n in opened.walk() if n.kind == "aten::linear"}
    assert scopes == {"encoder.fc1", "encoder.fc2"}
    assert "(parameter)" in jitviz.show(export(Stack(), (torch.ones(1, 4),)), constants="nodes").source


def test_exported_submodules_are_collapsed_like_torchscript_calls_and_open_by_depth_or_path():
    program = export(Stack(), (torch.ones(1, 4),))
    collapsed = jitviz.graph(program)
    calls = [n for n in collapsed.nodes if n.kind == "call_module"]
    assert [n.attributes["module_path"] for n in calls] == ["encoder"]
    assert not collapsed.find("aten::linear")  # inside the call
    source = jitviz.show(program).source
    assert "encoder: TinyNet" in source and "(parameter)" not in source  # weights belong to the call
    one = jitviz.graph(program, expand_calls=1)
    assert [n.attributes["module_path"] for n in one.nodes if n.kind == "call_module"] == [
        "encoder.fc1", "encoder.fc2"]
    by_path = jitviz.graph(program, expand_calls="encoder.fc2")
    assert [n.attributes["module_path"] for n in by_path.nodes if n.kind == "call_module"] == ["encoder.fc1"]
    assert len(by_path.find("aten::linear")) == 1  # fc2's linear, opened
    folded = jitviz.show(program, expand_calls=True).source
    assert "weight=self.encoder.fc1.weight" in folded  # parameters fold into their users' labels


def test_saved_pt2_and_fx_graph_modules(tmp_path):
    path = tmp_path / "cond.pt2"
    torch.export.save(export(CondBranch(), (torch.ones(2, 2),)), str(path))
    loaded = jitviz.graph(path)
    assert loaded.origin == "loaded .pt2" and len(loaded.find("higher_order::cond")) == 1
    fx = torch.fx.symbolic_trace(seed.TinyNet())
    assert [n.kind for n in jitviz.graph(fx).walk()] == ["call_module::fc1", "relu", "call_module::fc2"]
    with pytest.raises(jitviz.NotTorchScriptFileError, match="No file"):
        jitviz.graph(tmp_path / "missing.pt2")
    with pytest.raises(jitviz.TracingError, match="drawn as it is"):
        jitviz.graph(fx, torch.ones(1, 4))


def test_a_symbolic_size_says_which_input_dimension_it_is_and_its_range():
    class Double(nn.Module):
        def forward(self, x):
            return x * 2

    batch = torch.export.Dim("batch", min=1, max=64)
    program = export(Double(), (torch.ones(4, 3),), dynamic_shapes={"x": {0: batch}})
    graph = jitviz.graph(program)
    (symbol,) = {v.type.split("(")[1].split(",")[0] for v in graph.inputs}
    assert f"{symbol} = x.size(0), 1..64" in graph.notes
    assert f"{symbol} = x.size(0), 1..64" in jitviz.show(program).source  # under the title


class Resize(nn.Module):
    def forward(self, x):
        return nn.functional.interpolate(x, size=(2, 2)) + nn.functional.interpolate(x, size=[2, 2])


def test_an_fx_graph_keeps_tuples_and_lists_apart_as_torchscript_does():
    gm = torch.fx.symbolic_trace(Resize())
    sizes = [n.attributes["size"] for n in jitviz.graph(gm).walk() if n.kind == "interpolate"]
    assert sizes == [(2, 2), [2, 2]] and [type(size) for size in sizes] == [tuple, list]
    assert "size=(2, 2)" in jitviz.show(gm).source  # drawn as written, not as [2, 2]
