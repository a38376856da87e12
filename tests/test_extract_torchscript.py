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


class _Scaled(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x) * 3


class _Outer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.block = _Scaled()
        self.register_buffer("shift", torch.zeros(4))

    def forward(self, x):
        return self.block(x) + self.shift


def test_a_traced_module_shows_each_submodule_as_one_call_with_its_constants_inside():
    g = jitviz.graph(_Outer(), torch.ones(1, 4))  # the default view: calls collapsed
    assert g.origin == "traced" and g.name == "_Outer"
    assert [(v.name, v.role) for v in g.inputs[1:]] == [
        ("shift", "buffer"), ("block.fc.weight", "parameter"), ("block.fc.bias", "parameter")]
    call, one, add = g.nodes
    assert call.kind == "prim::CallMethod" and call.callee == "block.forward"
    assert (call.attributes["module_path"], call.attributes["module_type"]) == ("block", "_Scaled")
    assert call.inputs == [g.inputs[0]]  # the weights belong to the call, not drawn as its inputs
    # the constant 3 is used only inside `block`: it is part of the call, not a loose node
    assert [(m.kind, m.attributes.get("value")) for m in call.members] == [
        ("aten::linear", None), ("prim::Constant", 3), ("aten::mul", None)]
    assert (one.kind, one.attributes, add.kind) == ("prim::Constant", {"value": 1}, "aten::add")
    assert add.inputs == [call.outputs[0], g.inputs[1], one.outputs[0]]
    assert add.arg_names == ["self", "other", "alpha"]  # the module's own nodes keep their schema
    assert g.outputs == add.outputs
    assert torch.jit._trace._trace_module_map is None  # the tracer's module map is put back


class _Boom(torch.nn.Module):
    def forward(self, x):
        raise RuntimeError("no way")


def test_a_collapsed_trace_that_fails_says_so_and_leaves_the_tracer_as_it_was():
    with pytest.raises(jitviz.TracingError, match=r"Tracing _Boom failed while running it on the example "
                       r"inputs: no way\nCheck that _Boom\(\*inputs\) runs eagerly"):
        jitviz.graph(_Boom(), torch.ones(2))
    assert torch.jit._trace._trace_module_map is None
    with pytest.raises(jitviz.TracingError, match=r"Example input #2 of _Outer is a float \(1.5\)"):
        jitviz.graph(_Outer(), torch.ones(1, 4), 1.5)


def test_every_kind_of_object_is_named_and_says_how_it_was_obtained(tmp_path):
    net = seed.TinyNet()
    traced_net = torch.jit.trace(net, torch.ones(1, 4))
    path = tmp_path / "net.pt"
    torch.jit.save(traced_net, str(path))
    cases = {
        "python function, traced": (jitviz.graph(seed.double, torch.ones(2)), "double", "traced"),
        "python function, scripted": (jitviz.graph(seed.double), "double", "scripted"),
        "module, scripted": (jitviz.graph(net), "TinyNet", "scripted"),
        "module, traced and expanded": (jitviz.graph(net, torch.ones(1, 4), expand_calls=True), "TinyNet", "traced"),
        "ScriptFunction, scripted": (jitviz.graph(torch.jit.script(seed.double)), "double", "scripted"),
        "ScriptFunction, traced": (jitviz.graph(torch.jit.trace(seed.double, torch.ones(2))), "double", "traced"),
        "ScriptModule, scripted": (jitviz.graph(torch.jit.script(net)), "TinyNet", "scripted"),
        "ScriptModule, traced": (jitviz.graph(traced_net), "TinyNet", "traced"),
        "saved file": (jitviz.graph(path), "TinyNet", "loaded"),
        "torch._C.Graph": (jitviz.graph(traced_net.graph), "graph", "graph"),
    }
    assert {case: (g.name, g.origin) for case, (g, *_) in cases.items()} == {
        case: (name, origin) for case, (_, name, origin) in cases.items()}


def test_already_traced_torchscript_refuses_inputs_and_script_mode_naming_itself():
    traced = torch.jit.trace(seed.double, torch.ones(2))
    with pytest.raises(jitviz.TracingError, match=r"^double is already TorchScript \(traced\), so it is drawn as it "
                       r"is.*jitviz.show\(double\) without inputs.*show\(double, \*inputs, highlight=True\); to "
                       r"trace the Python original, pass the Python function or module instead\.$"):
        jitviz.graph(traced, torch.ones(2))
    with pytest.raises(jitviz.TracingError, match=r"^mode='script' cannot apply to TinyNet: it is already "
                       r"TorchScript \(traced\).*module to script it\.$"):
        jitviz.graph(torch.jit.trace(seed.TinyNet(), torch.ones(1, 4)), mode="script")
    with pytest.raises(jitviz.TracingError, match=r"^mode='trace' cannot apply to double: .*\(scripted\).*to trace it"):
        jitviz.graph(torch.jit.script(seed.double), mode="trace")
    assert jitviz.graph(traced, mode="trace").origin == "traced"


def test_an_overloaded_forward_draws_the_first_overload_and_says_so():
    g = jitviz.graph(torch.jit.script(torch.nn.GRU(2, 3)))
    assert g.notes == ["forward is overloaded (forward__0, forward__1): drawing forward__0"]
    assert [v.type for v in g.inputs] == ["GRU", "Tensor", "Optional[Tensor]"]  # forward__1 takes a PackedSequence

    class OnlyOther(torch.jit.ScriptModule):
        @torch.jit.script_method
        def other(self, x):
            return x + 1

    with pytest.raises(jitviz.UnsupportedObjectError, match=r"^OnlyOther has no forward method to draw; its methods "
                       r"are: other\.$"):
        jitviz.graph(OnlyOther())
