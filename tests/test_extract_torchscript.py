"""jitviz.graph: TorchScript objects of every accepted kind become the plain graph model."""

import pytest
import torch

import jitviz
from jitviz import ir

from . import seed_functions as seed


def test_trace_of_double_is_one_mul_with_traced_shapes():
    g = jitviz.graph(seed.double, torch.ones(2, 2))
    assert g.origin == "traced"
    assert [v.type for v in g.inputs] == ["Float(2, 2)"]
    (mul,) = g.find("aten::mul")
    assert mul.inputs[0] is g.inputs[0]
    assert mul.outputs[0].type == "Float(2, 2)"
    assert g.outputs == mul.outputs
    assert mul.arg_names == ["self", "other"]
    assert mul.source.file == "seed_functions.py" and mul.source.code == "return x * 2"


def test_trace_of_branch_freezes_it_no_if_in_graph():
    g = jitviz.graph(seed.branchy, torch.ones(2, 2))
    assert g.find("prim::If") == []
    constants = [n.attributes["value"] for n in g.find("prim::Constant")]
    assert ir.Literal("tensor(2.)") in constants  # the else branch, baked in


def test_script_of_branch_keeps_prim_if_with_both_blocks():
    g = jitviz.graph(seed.branchy_bool)
    assert g.origin == "scripted"
    (if_node,) = g.find("prim::If")
    assert [b.label for b in if_node.blocks] == ["then", "else"]
    returned = [b.returns[0] for b in if_node.blocks]
    producers = {v.id: n for n in g.walk() for v in n.outputs}
    assert [producers[v.id].attributes["value"] for v in returned] == [1, 2]
    assert all(b.nodes == [] for b in if_node.blocks)  # blocks that only return a constant
    assert if_node.inputs[0].type == "bool"
    assert g.find("aten::Bool"), "torch 2.x spells the tensor-to-bool conversion aten::Bool"
    assert g.outputs[0].type == "int"
    assert if_node.source.code == "if bool(x.mean() > 1.0):"


def test_loops_have_params_and_carried_values_nested_ifs():
    g = jitviz.graph(seed.looping)
    loops = g.find("prim::Loop")
    assert len(loops) == 2
    for_loop, while_loop = loops
    body = for_loop.blocks[0]
    assert body.label == "loop body"
    assert [p.type for p in body.params] == ["int", "Tensor"]  # iteration counter, carried x
    assert len(body.returns) == 2  # continue-condition, next x
    assert [n.kind for n in body.nodes if n.kind == "prim::If"] == ["prim::If"]
    assert while_loop.attributes.get("unbounded") is True
    assert "unbounded" not in for_loop.attributes


def test_calls_stay_collapsed_unless_expanded():
    collapsed = jitviz.graph(torch.jit.script(seed.calls_helper))
    (call,) = collapsed.find("prim::CallFunction")
    assert call.callee == "tests.seed_functions.helper" or call.callee.endswith("helper")
    assert call.blocks == []
    expanded = jitviz.graph(torch.jit.script(seed.calls_helper), expand_calls=True)
    (call,) = expanded.find("prim::CallFunction")
    (body,) = call.blocks
    assert [n.kind for n in body.nodes if n.kind.startswith("aten::")] == ["aten::add"]
    assert [p.type for p in body.params] == ["Tensor", "int"]


def test_module_calls_name_the_submodule_and_expand():
    net = seed.TinyNet()
    g = jitviz.graph(torch.jit.script(net))
    assert [n.callee for n in g.find("prim::CallMethod")] == ["self.fc1.forward", "self.fc2.forward"]
    assert g.inputs[0].is_module and g.inputs[0].type == "TinyNet"
    expanded = jitviz.graph(net, torch.ones(1, 4), expand_calls=True)
    linears = [n for n in expanded.walk() if n.kind == "aten::linear"]
    assert len(linears) == 2
    inlined = jitviz.graph(torch.jit.script(net), inline=True)
    assert inlined.find("prim::CallMethod") == []
    assert len(inlined.find("aten::linear")) == 2


def test_ids_are_unique_and_conversion_is_deterministic():
    first = jitviz.graph(seed.looping)
    second = jitviz.graph(seed.looping)
    ids = [n.id for n in first.walk()]
    assert len(ids) == len(set(ids))
    assert ids == [n.id for n in second.walk()]
    assert [repr(n) for n in first.walk()] == [repr(n) for n in second.walk()]


def test_torch_graph_and_saved_file_are_accepted(tmp_path):
    scripted = torch.jit.script(seed.branchy_bool)
    assert jitviz.graph(scripted.graph).origin == "graph"
    path = tmp_path / "model.pt"
    torch.jit.save(torch.jit.trace(seed.TinyNet(), torch.ones(1, 4)), str(path))
    loaded = jitviz.graph(path)
    assert loaded.origin == "loaded"
    assert [n.callee for n in loaded.find("prim::CallMethod")] == ["self.fc1.forward", "self.fc2.forward"]
    assert len(jitviz.graph(str(path), expand_calls=True).find("aten::linear")) == 2


def test_mode_forces_trace_or_script():
    assert jitviz.graph(seed.branchy_bool, torch.ones(2), mode="script").find("prim::If")
    assert jitviz.graph(seed.double, torch.ones(2), mode="trace").origin == "traced"
    with pytest.raises(ValueError, match="mode must be one of"):
        jitviz.graph(seed.double, mode="compile")


def test_summary_counts_nodes_and_control_flow():
    g = jitviz.graph(seed.branchy_bool)
    assert g.summary() == f"{len(list(g.walk()))} nodes, 1 prim::If"
