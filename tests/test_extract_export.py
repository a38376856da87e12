"""torch.export and torch.fx graphs in the same picture language as TorchScript."""

import inspect
import re
import warnings
import zipfile

import pytest
import torch
from torch import nn
from torch.export import Dim, export
from torch.fx.passes.shape_prop import ShapeProp

import jitviz
from jitviz import ir
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
    loaded = jitviz.graph(path, trusted=True)
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


class _Sizes(nn.Module):
    def forward(self, x, y):
        return x.sum(0) + y.sum(0)


class _NonZero(nn.Module):
    def forward(self, x):
        return x.nonzero()


def test_symbolic_sizes_are_listed_in_order_with_their_source_and_range_unbounded_or_data_dependent():
    dims = {"x": {0: Dim("a", max=64)}, "y": {0: Dim("b")}}
    g = jitviz.graph(export(_Sizes(), (torch.ones(3, 2), torch.ones(4, 2)), dynamic_shapes=dims))
    sx, sy = (v.type.split("(")[1].split(",")[0] for v in g.inputs)
    assert g.notes == sorted([f"{sx} = x.size(0), 0..64", f"{sy} = y.size(0), 0..∞"])
    assert jitviz.graph(export(_NonZero(), (torch.ones(3),))).notes == ["u0, 0..3"]  # from data: no input's size


class _Mixed(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = torch.tensor([1.0, 2.0])  # neither parameter nor buffer: a lifted constant

    def forward(self, x):
        top, where = torch.max(x, dim=0)
        return top + self.c + torch.ones(2, device="cpu", dtype=torch.float64), where


def test_exported_constants_tuples_and_keyword_arguments_are_shown():
    g = jitviz.graph(export(_Mixed(), (torch.ones(3, 2),)))
    assert [(v.name, v.role) for v in g.inputs] == [("c", "constant"), ("x", "")]
    kinds = [n.kind for n in g.nodes]
    assert kinds == ["aten::max.dim", "getitem", "getitem", "aten::add.Tensor", "aten::ones", "aten::add.Tensor"]
    top = g.nodes[0]
    assert top.outputs[0].type == "(Float(2), Long(2))" and top.attributes == {"dim": 0}
    assert [n.outputs[0].type for n in g.nodes[1:3]] == ["Float(2)", "Long(2)"]
    assert g.nodes[3].arg_names == ["self", "other"]
    assert g.nodes[4].attributes == {"size": [2], "dtype": ir.Literal("torch.float64"), "device": ir.Literal("cpu"),
                                     "pin_memory": False}


class _Flatten(nn.Module):
    def forward(self, x):
        return x.relu().view(x.size(0), -1)


def test_a_dynamic_size_read_outside_every_module_is_a_plain_node_not_a_call():
    program = export(_Flatten(), (torch.ones(3, 2),), dynamic_shapes={"x": {0: Dim("b")}})
    g = jitviz.graph(program)
    assert [(n.kind, n.outputs[0].type, n.scope) for n in g.nodes][0] == ("aten::sym_size.int", "SymInt", "")
    assert [n.kind for n in g.nodes] == ["aten::sym_size.int", "aten::relu", "aten::view"]


def test_an_fx_graph_names_methods_and_takes_types_from_shape_propagation():
    gm = torch.fx.symbolic_trace(_Flatten())
    g = jitviz.graph(gm)
    assert (g.name, g.origin) == ("_Flatten", "fx")
    assert [n.kind for n in g.nodes] == ["call_method::relu", "call_method::size", "call_method::view"]
    assert {v.type for n in g.nodes for v in n.outputs} == {"?"}  # no shapes recorded
    assert g.nodes[0].arg_names == [""]  # a method has no schema to name its arguments
    net = torch.fx.symbolic_trace(seed.TinyNet())
    ShapeProp(net).propagate(torch.ones(1, 4))
    shaped = jitviz.graph(net)
    assert [v.type for v in shaped.inputs] + [n.outputs[0].type for n in shaped.nodes] == [
        "Float(1, 4)", "Float(1, 8)", "Float(1, 8)", "Float(1, 2)"]


def test_an_fx_attribute_read_is_named_and_an_fx_subgraph_is_a_block_named_after_it():
    g = jitviz.graph(torch.fx.symbolic_trace(Stack()))
    (scale,) = g.find("get_attr")
    assert scale.attributes == {"name": "scale"}
    root = nn.Module()
    root.sub = torch.fx.symbolic_trace(Double())
    graph = torch.fx.Graph()
    x = graph.placeholder("x")
    graph.output(graph.call_function(_apply, (graph.get_attr("sub"), x)))
    applied = jitviz.graph(torch.fx.GraphModule(root, graph))
    (apply,) = applied.nodes  # the subgraph's get_attr is drawn inside the node, not as a node of its own
    assert apply.kind == "_apply" and apply.inputs == applied.inputs
    (block,) = apply.blocks
    assert block.label == "sub" and [n.kind for n in block.nodes] == ["mul"]
    assert block.returns == block.nodes[0].outputs and [p.name for p in block.params] == ["x"]


def _apply(module, x):
    return module(x)


def test_module_paths_as_older_torch_recorded_them_are_read_the_same():
    program = export(Stack(), (torch.ones(1, 4),))
    for node in program.graph.nodes:  # dynamo's spelling: L['self'].encoder, and the class, not its name
        stack = node.meta.get("nn_module_stack")
        if stack:
            node.meta["nn_module_stack"] = {key: (f"L['self'].{path}" if path else "L['self']",
                                                  seed.TinyNet if path == "encoder" else kind)
                                            for key, (path, kind) in stack.items()}
    calls = [n for n in jitviz.graph(program).nodes if n.kind == "call_module"]
    assert [(n.attributes["module_path"], n.attributes["module_type"]) for n in calls] == [("encoder", "TinyNet")]
    opened = jitviz.graph(program, expand_calls=True)
    assert [n.scope for n in opened.nodes] == ["encoder.fc1", "encoder", "encoder.fc2", ""]


def test_a_program_saved_under_any_suffix_is_read_as_one_and_a_bad_one_is_refused(tmp_path):
    program = export(Double(), (torch.ones(2, 2),))
    saved = tmp_path / "prog.pt"
    torch.export.save(program, str(saved))
    assert jitviz.graph(saved, trusted=True).origin == "loaded .pt2"  # judged by content, not by suffix
    torch.jit.save(torch.jit.script(seed.TinyNet()), str(tmp_path / "net.pt"))
    assert jitviz.graph(tmp_path / "net.pt").origin == "loaded"
    missing = tmp_path / "missing.pt2"
    with pytest.raises(jitviz.NotTorchScriptFileError, match=f"^No file at {re.escape(repr(str(missing)))}.$"):
        jitviz.graph(missing)
    twice = tmp_path / "twice.pt2"
    with zipfile.ZipFile(twice, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name: that is the point
        archive.writestr("prog/archive_format", "pt2")
        archive.writestr("prog/archive_format", "pt3")
        archive.writestr("other/archive_format", "pt2")
    with pytest.raises(jitviz.NotTorchScriptFileError, match=r"^'twice.pt2' is not handed to torch.export.load: "
                       r"1 name is used by more than one entry.*; besides the folder 'prog'.*torch ignores\.$"):
        jitviz.graph(twice, trusted=True)
    hollow = tmp_path / "hollow.pt2"
    with zipfile.ZipFile(hollow, "w") as archive:
        archive.writestr("prog/archive_format", "pt2")
    with pytest.raises(jitviz.NotTorchScriptFileError) as refused:
        jitviz.graph(hollow, trusted=True)
    said = str(refused.value.__cause__).splitlines()[0]  # torch's own first line, its error chained
    assert str(refused.value) == f"torch.export.load could not read 'hollow.pt2': {said}"


class _Same(nn.Module):
    def forward(self, x):
        return x


def test_a_program_with_no_module_calls_is_named_exportedprogram_and_cond_subgraphs_are_no_nodes():
    assert jitviz.graph(export(_Same(), (torch.ones(2),))).name == "ExportedProgram"
    g = jitviz.graph(export(CondBranch(), (torch.ones(2, 2),)))
    assert [n.kind for n in g.nodes] == ["aten::mean", "aten::gt.Scalar", "higher_order::cond", "getitem"]
    (mul,) = jitviz.graph(export(Double(), (torch.ones(2, 2),))).nodes
    assert mul.source.line == inspect.getsourcelines(Double.forward)[1] + 1


class _Times(nn.Module):
    def forward(self, n: int, x):
        return x * n


def test_a_program_whose_first_input_is_a_number_still_says_where_its_symbols_come_from():
    program = export(_Times(), (3, torch.ones(2)), dynamic_shapes={"n": None, "x": {0: Dim("b", max=8)}})
    g = jitviz.graph(program)
    assert [v.type for v in g.inputs][0] == "int"
    (symbol,) = [v.type[len("Float("):-1] for v in g.inputs[1:]]
    assert g.notes == [f"{symbol} = x.size(0), 0..8"]


def test_an_fx_subgraph_held_by_a_submodule_is_drawn_inside_its_user():
    root = nn.Module()
    root.outer = nn.Module()
    root.outer.sub = torch.fx.symbolic_trace(Double())
    graph = torch.fx.Graph()
    x = graph.placeholder("x")
    graph.output(graph.call_function(_apply, (graph.get_attr("outer.sub"), x)))
    (apply,) = jitviz.graph(torch.fx.GraphModule(root, graph)).nodes
    assert [(b.label, [n.kind for n in b.nodes]) for b in apply.blocks] == [("outer.sub", ["mul"])]
