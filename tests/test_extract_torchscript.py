"""jitviz.graph: TorchScript objects of every accepted kind become the plain graph model."""

import linecache
import math
import os
import re
import warnings

import pytest
import torch

import jitviz
from jitviz import ir
from jitviz.extract import torchscript
from jitviz.extract.execution import schema_of

from . import seed_functions as seed
from . import zipforge


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
    assert jitviz.graph(seed.branchy_bool, mode="script").find("prim::If")
    assert jitviz.graph(seed.double, torch.ones(2), mode="trace").origin == "traced"
    with pytest.raises(ValueError, match="mode must be one of 'auto', 'trace', 'script', 'compile'"):
        jitviz.graph(seed.double, mode="jit")
    with pytest.raises(jitviz.TracingError, match=r"mode='compile' runs double: give its inputs"):
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
    # what `block` does (its linear, its constant 3) is not recorded: no loose nodes from inside it
    assert not call.members and not [n for n in g.walk() if n.kind in ("aten::linear", "aten::mul")]
    assert (one.kind, one.attributes, add.kind) == ("prim::Constant", {"value": 1}, "aten::add")
    assert add.inputs == [call.outputs[0], g.inputs[1], one.outputs[0]]
    assert add.arg_names == ["self", "other", "alpha"]  # the module's own nodes keep their schema
    assert g.outputs == add.outputs


class _Boom(torch.nn.Module):
    def forward(self, x):
        raise RuntimeError("no way")


def test_a_collapsed_trace_that_fails_says_so_and_leaves_the_tracer_as_it_was():
    with pytest.raises(jitviz.TracingError, match=r"Tracing _Boom failed while running it on the example "
                       r"inputs: no way\nCheck that _Boom\(\*inputs\) runs eagerly"):
        jitviz.graph(_Boom(), torch.ones(2))
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
                       r"TorchScript \(traced\) and is drawn as it is\. Leave mode='auto', or pass the Python "
                       r"function or module to script it\.$"):
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

        @torch.jit.script_method
        def another(self, x):
            return x + 2

    with pytest.raises(jitviz.UnsupportedObjectError, match=r"^OnlyOther has no forward method to draw; its methods "
                       r"are: (other, another|another, other)\.$"):
        jitviz.graph(OnlyOther())


class _Twin(torch.nn.Module):
    """Two submodules of one kind (drawn alike), one of another, and a plain attribute."""

    def __init__(self):
        super().__init__()
        self.a = _Scaled()
        self.b = _Scaled()
        self.c = torch.nn.Linear(4, 4)
        self.scale: float = 2.0

    def forward(self, x):
        return self.c(self.b(self.a(x))) * self.scale


def _calls(g):
    return {n.attributes["module_path"]: n for n in g.walk() if n.kind == "prim::CallMethod"}


def test_scripted_submodule_calls_carry_their_path_type_signature_and_parameter_names():
    g = jitviz.graph(torch.jit.script(_Twin()))
    calls = _calls(g)
    assert list(calls) == ["a", "b", "c"]
    a, b, c = calls.values()
    assert [n.callee for n in (a, b, c)] == ["self.a.forward", "self.b.forward", "self.c.forward"]
    assert [n.attributes["module_type"] for n in (a, b, c)] == ["_Scaled", "_Scaled", "Linear"]
    assert a.attributes["module_signature"] == b.attributes["module_signature"] != c.attributes["module_signature"]
    assert (a.arg_names, c.arg_names) == (["self", "x"], ["self", "input"])
    assert all(n.blocks == [] for n in (a, b, c))
    attributes = {n.attributes["name"]: n.attributes for n in g.find("prim::GetAttr")}
    assert attributes["scale"]["current"] == 2.0 and "current" not in attributes["a"]


def test_expanding_scripted_calls_by_depth_or_path_opens_the_callee_with_paths_from_the_top():
    opened = jitviz.graph(torch.jit.script(_Twin()), expand_calls=1)
    calls = _calls(opened)
    assert list(calls) == ["a", "a.fc", "b", "b.fc", "c"]
    (body,) = calls["a"].blocks
    assert body.label == "self.a.forward"
    assert [(p.type, p.is_module) for p in body.params] == [("_Scaled", True), ("Tensor", False)]
    assert calls["a.fc"] in body.nodes and calls["a.fc"].blocks == []  # one level only
    assert [n.kind for n in body.nodes if n.kind.startswith("aten::")] == ["aten::mul"]
    assert body.returns == body.nodes[-1].outputs
    by_path = _calls(jitviz.graph(torch.jit.script(_Twin()), expand_calls="b.fc"))
    assert {path: len(n.blocks) for path, n in by_path.items()} == {"a": 0, "b": 1, "b.fc": 1, "c": 0}
    assert [n.kind for n in by_path["b.fc"].blocks[0].nodes if n.kind.startswith("aten::")] == ["aten::linear"]


class _PassThrough(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = _Twin()

    def forward(self, x):
        return self._impl(x)

    def _impl(self, x):
        return self.inner(x) + 1


def test_a_forward_that_only_hands_over_to_one_call_shows_it_opened_without_spending_a_level():
    g = jitviz.graph(torch.jit.script(_PassThrough()))
    (impl,) = [n for n in g.nodes if n.kind == "prim::CallMethod"]
    assert impl.callee == "self._impl" and len(impl.blocks) == 1
    assert {path: len(n.blocks) for path, n in _calls(g).items()} == {"": 1, "inner": 0}
    one = jitviz.graph(torch.jit.script(_PassThrough()), expand_calls=1)
    assert {path: len(n.blocks) for path, n in _calls(one).items()} == {
        "": 1, "inner": 1, "inner.a": 0, "inner.b": 0, "inner.c": 0}
    with pytest.raises(ValueError, match=r"^expand_calls names 'inner.q', but _PassThrough calls no submodule "
                       r"there. The submodules it calls are: inner, inner.a, inner.b, inner.c.$"):
        jitviz.graph(torch.jit.script(_PassThrough()), expand_calls="inner.q")


def test_a_traced_call_takes_its_result_shape_from_the_callee():
    g = jitviz.graph(_Twin(), torch.ones(1, 4), expand_calls=1)
    calls = _calls(g)
    assert [calls[p].outputs[0].type for p in ("a", "a.fc", "b", "c")] == ["Float(1, 4)"] * 4
    assert calls["a"].blocks[0].returns[0].type == "Float(1, 4)"


def _with_default(x, k: int = 3):
    return x + k


def _calls_with_default(x):
    return _with_default(x) * 2


def test_a_function_call_names_its_arguments_and_notes_the_callee_defaults():
    g = jitviz.graph(torch.jit.script(_calls_with_default))
    (call,) = g.find("prim::CallFunction")
    assert call.callee == "tests.test_extract_torchscript._with_default"
    assert call.arg_names == ["", "x", "k"] and call.defaults == {"k": 3}
    assert [v.type for v in call.inputs[1:]] == ["Tensor", "int"]


@torch.jit.script
def _constants(x):
    flag = True
    nothing: int | None = None
    return x.to(torch.device("cpu")), flag, nothing, "s", 1.5, [1, 2], (3, 4), 2j


def test_constants_of_every_type_keep_their_python_value():
    values = [n.attributes["value"] for n in jitviz.graph(_constants).find("prim::Constant")]
    assert sorted(map(repr, values)) == sorted(map(repr, [  # repr: True, not the 1 it is stored as
        (3, 4), "s", False, None, True, ir.Literal("device('cpu')"), 1.5, 1, 2, ir.Literal("2j")]))
    assert torchscript.obtain(seed.double, ()).origin == "scripted"  # mode="auto" unless told
    (call,) = jitviz.graph(torch.jit.script(_calls_with_default)).find("prim::CallFunction")
    function = next(n for n in jitviz.graph(torch.jit.script(_calls_with_default)).nodes
                    if n.kind == "prim::Constant" and n.outputs[0].type != "int")
    assert function.attributes == {"name": "_with_default"}
    assert call.inputs[0].type == call.callee  # a function's type drops TorchScript's __torch__ prefix


_SMALL = torch.tensor([1.0, 2.0])
_BIG = torch.arange(5.0)


def _adds_tensors(x):
    return x[:2] + _SMALL, x + _BIG, x * torch.tensor([[1.0, 2.0], [3.0, 4.0]]).sum()


def test_a_traced_tensor_constant_shows_its_values_when_small_and_its_type_when_not():
    values = {n.outputs[0].type: n.attributes["value"] for n in jitviz.graph(_adds_tensors, torch.ones(5)).nodes
              if n.kind == "prim::Constant" and isinstance(n.attributes["value"], ir.Literal)}
    assert values["Float(2)"] == ir.Literal("tensor([1., 2.])")
    assert values["Float(2, 2)"] == ir.Literal("tensor([[1., 2.],         [3., 4.]])")  # on one line
    assert values["Float(5)"] == ir.Literal("Float(5) tensor")


def _graph_with_attributes() -> torch._C.Graph:
    graph = torch._C.Graph()
    node = graph.create("prim::Custom", [graph.addInput("x")], 1)
    node.s_("s", "text").i_("i", 3).f_("f", 1.5).ss_("ss", ["a", "b"]).is_("is", [1, 2])
    node.t_("four", torch.tensor([1.0, 2.0, 3.0, 4.0])).t_("five", torch.ones(5, dtype=torch.complex64))
    node.t_("meta", torch.ones(2, device="meta")).ts_("several", [torch.ones(1)])
    graph.appendNode(node)
    graph.registerOutput(node.output())
    return graph


def test_every_kind_of_node_attribute_is_shown():
    (node,) = jitviz.graph(_graph_with_attributes()).nodes
    assert node.attributes == {
        "s": "text", "i": 3, "f": 1.5, "ss": ["a", "b"], "is": [1, 2],
        "four": ir.Literal("tensor([1., 2., 3., 4.])"), "five": ir.Literal("complex64(5) tensor"),
        "meta": ir.Literal("Float(2) tensor"),  # a meta tensor has no values to print
        "several": ir.Literal("<ts attribute>"),
    }
    assert node.arg_names == [""] and node.writes == ()


def test_control_flow_inputs_are_named_and_unknown_sizes_print_as_stars():
    for loop in jitviz.graph(seed.looping).find("prim::Loop"):
        assert loop.arg_names == ["max_trip_count", "start_condition", ""]  # then the carried x
        assert loop.writes == () and loop.arg_types == []
    graph = torch._C.parse_ir("graph(%x : Float(*, 2)):\n  %y : Float(*, 2) = aten::relu(%x)\n  return (%y)")
    g = jitviz.graph(graph)
    assert [v.type for v in g.inputs + g.outputs] == ["Float(*, 2)", "Float(*, 2)"]
    assert g.nodes[0].arg_types == ["Tensor"] and g.nodes[0].arg_names == ["self"]


@pytest.mark.parametrize("filename, shown", [("/tmp/ipykernel_4242/3170.py", "cell"), ("<ipython-input-3-abc>", "cell"),
                                             ("/home/me/project/model.py", "model.py")])
def test_source_lines_name_notebook_cells_and_files_without_their_directories(monkeypatch, filename, shown):
    code = "def f(x): return x * 2\n"  # one line: the span is on the first line of TorchScript's range
    monkeypatch.setitem(linecache.cache, filename, (len(code), None, [code], filename))
    namespace = {"__name__": "notebook"}
    exec(compile(code, filename, "exec"), namespace)
    for g in (jitviz.graph(namespace["f"], torch.ones(2)), jitviz.graph(namespace["f"])):
        (mul,) = g.find("aten::mul")
        assert mul.source == ir.SourceLocation(shown, 1, "def f(x): return x * 2")


def _named(name, body):
    """A module class called `name` (two of them can share a name, as in two notebook cells)."""
    return type(name, (torch.nn.Module,), {"forward": body})


def test_submodules_are_drawn_alike_only_when_they_compute_the_same_thing():
    def twice(self, x):
        return x * 2

    def plus_two(self, x):
        return x + 2

    class Four(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = _named("Block", twice)(), _named("Block", plus_two)()  # same name, other code
            self.c, self.d = _named("Other", twice)(), _named("Block", twice)()  # other name, same code
            self.e, self.f = torch.nn.Linear(2, 2), torch.nn.Linear(2, 3)  # other shapes
            self.g = torch.nn.Linear(2, 2).double()  # other dtype
            self.h = torch.nn.Linear(2, 2)

        def forward(self, x):
            return (self.a(x), self.b(x), self.c(x), self.d(x), self.e(x), self.f(x), self.g(x.double()), self.h(x))

    signatures = {path: n.attributes["module_signature"]
                  for path, n in _calls(jitviz.graph(torch.jit.script(Four()))).items()}
    assert signatures["a"] == signatures["d"] and signatures["e"] == signatures["h"]
    assert len({signatures[p] for p in "abcefg"}) == 6


def test_tracer_warnings_are_kept_with_their_line_and_passed_on_to_the_user():
    with pytest.warns(torch.jit.TracerWarning) as passed_on:
        source = torchscript.obtain(seed.branchy, (torch.ones(2, 2),), "trace")
    assert [(note.where, note.message.split(".")[0]) for note in source.tracer_warnings] == [
        (ir.SourceLocation("seed_functions.py", 14, "if x.mean() > 1.0:"),
         "Converting a tensor to a Python boolean might cause the trace to be incorrect"),
        (ir.SourceLocation("seed_functions.py", 17, "r = torch.tensor(2.0)"),
         "torch"),  # "torch.tensor results are registered as constants in the trace..."
    ]
    assert [str(w.message) for w in passed_on if w.category is torch.jit.TracerWarning] == [
        note.message for note in source.tracer_warnings]
    assert source.runnable(torch.ones(2, 2)) == torch.tensor(2.0)  # the trace, to run for highlighting


def _noisy(x):
    return x + torch.rand(2)


def test_tracing_does_not_run_the_model_again_to_check_the_trace():
    source = torchscript.obtain(_noisy, (torch.ones(2),), "trace")  # a checker would call it nondeterministic
    assert source.tracer_warnings == []


def _takes(x, y=None):
    return x


@pytest.mark.parametrize("inputs, described", [
    ((torch.ones(1), 3), "#2 of _takes is a int (3)"),
    (([],), "#1 of _takes is an empty list"),
    (((torch.ones(1), (torch.ones(1), "s")),), "#1 of _takes is a str ('s')"),
    (({"a": torch.ones(1), "b": 1.5},), "#1 of _takes is a float (1.5)"),
    (("x" * 60,), "#1 of _takes is a str ('" + "x" * 36 + "...)"),  # cut at 40 characters
    (("x" * 38,), "#1 of _takes is a str ('" + "x" * 38 + "')"),  # 40 characters: whole
])
def test_an_input_tracing_cannot_take_is_named_by_position_and_what_it_is(inputs, described):
    with pytest.raises(jitviz.TracingError, match=rf"^Example input {re.escape(described)}; tracing needs tensors "
                       r"\(or tuples, lists or dicts of tensors\)\. Wrap numbers with torch\.tensor\(\.\.\.\), or "
                       r"script the function with mode='script' to keep Python-typed arguments\.$"):
        jitviz.graph(_takes, *inputs)
    nested = (torch.ones(1), [torch.ones(1)], {"k": torch.ones(1)})
    assert jitviz.graph(_takes, torch.ones(1), nested).origin == "traced"


def test_tracing_without_inputs_and_a_failed_scripting_say_what_to_do_instead():
    with pytest.raises(jitviz.TracingError, match=r"^Tracing double needs example inputs: jitviz.show\(double, "
                       r"torch.ones\(2, 2\)\)\. Without inputs, use mode='script' \(or leave mode='auto'\) to script "
                       r"it instead\.$"):
        jitviz.graph(seed.double, mode="trace")

    def uses_numpy(x):
        import numpy

        return numpy.sum(x)

    with pytest.raises(jitviz.ScriptingError, match=r"^Scripting uses_numpy failed:\n(.|\n)*\nTo draw it anyway, trace "
                       r"it with example inputs: jitviz.show\(uses_numpy, torch.ones\(2, 2\)\) \(a trace records only "
                       r"the path those inputs take\), or change the code as TorchScript's message above says\.$"):
        jitviz.graph(uses_numpy)


class _Layers(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.Sequential(*[torch.nn.ReLU() for _ in range(11)])

    def forward(self, x):
        return self.layers(x)


class _Shallow(torch.nn.Module):
    """Calls a grandchild directly: `block` itself is never called, `block.fc` is."""

    def __init__(self):
        super().__init__()
        self.block = _Scaled()

    def forward(self, x):
        return self.block.fc(x)


def test_expand_calls_accepts_a_path_on_the_way_to_a_call_and_lists_the_calls_in_natural_order():
    g = jitviz.graph(torch.jit.script(_Shallow()), expand_calls="block")
    assert {path: len(n.blocks) for path, n in _calls(g).items()} == {"block.fc": 1}
    listed = {path: len(n.blocks)
              for path, n in _calls(jitviz.graph(torch.jit.script(_Twin()), expand_calls=["b.fc"])).items()}
    assert listed == {"a": 0, "b": 1, "b.fc": 1, "c": 0}
    assert _calls(jitviz.graph(torch.jit.script(_Twin()), expand_calls=0)).keys() == {"a", "b", "c"}
    eleven = torch.nn.Sequential(*[torch.nn.ReLU() for _ in range(11)])
    with pytest.raises(ValueError, match=r"calls are: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10\.$"):
        jitviz.graph(torch.jit.script(eleven), expand_calls="11")
    with pytest.raises(ValueError, match=r"calls are: layers, layers\.0, layers\.1, layers\.2, layers\.3, layers\.4, "
                       r"layers\.5, layers\.6, layers\.7, layers\.8, layers\.9, layers\.10\.$"):
        jitviz.graph(torch.jit.script(_Layers()), expand_calls="layers.11")  # 2 before 10, as people count
    with pytest.raises(ValueError, match=r"^expand_calls names 'fc', but double calls no submodule there\. The "
                       r"submodules it calls are: none\.$"):
        jitviz.graph(seed.double, expand_calls="fc")


def test_a_file_that_is_not_a_module_says_what_it_is(tmp_path):
    fifo = tmp_path / "pipe.pt"
    os.mkfifo(fifo)
    with pytest.raises(jitviz.NotTorchScriptFileError, match=rf"^{re.escape(repr(str(fifo)))} is not a regular file "
                       r"\(a FIFO or a device\), not a saved TorchScript file\.$"):
        jitviz.graph(fifo)
    with pytest.raises(jitviz.NotTorchScriptFileError, match=rf"^{re.escape(repr(str(tmp_path)))} is a directory, "):
        jitviz.graph(tmp_path)
    missing = tmp_path / "none.pt"
    with pytest.raises(jitviz.NotTorchScriptFileError, match=rf"^No file at {re.escape(repr(str(missing)))}\. Save a "
                       r"module with torch.jit.save\(module, path\) first, or check the path\.$"):
        jitviz.graph(missing)
    text = tmp_path / "notes.pt"
    text.write_text("not a model")
    with pytest.raises(jitviz.NotTorchScriptFileError, match=rf"^{re.escape(repr(str(text)))} is not a TorchScript "
                       r"file \(it is not a zip archive\)\. Files written by torch.jit.save are zip archives with a "
                       r"code/ folder\.$"):
        jitviz.graph(text)
    program = tmp_path / "prog.pt"
    torch.export.save(torch.export.export(seed.TinyNet(), (torch.ones(1, 4),)), str(program))
    with pytest.raises(jitviz.NotTorchScriptFileError, match=rf"^{re.escape(repr(str(program)))} is a zip archive "
                       r"without TorchScript code, so it is a torch.export program: draw it with "
                       r"jitviz.show\(path\)\.$"):
        torchscript.load_torchscript_file(program)  # jitviz.graph itself hands it to the export reader
    state = tmp_path / "state.pt"
    torch.save({"w": torch.ones(1)}, state)
    with pytest.raises(jitviz.NotTorchScriptFileError, match=r"so it is probably written by torch.save \(tensors or a "
                       r"state dict\): open it with torch.load\.$"):
        jitviz.graph(state)


def _identity(x):
    return x


class _Doubler:
    """A callable object: it has no __name__, so its class names it."""

    def __call__(self, x):
        return x * 2


def test_inlining_keeps_the_name_origin_notes_and_module_attributes_and_a_bare_graph_has_no_submodules():
    g = jitviz.graph(torch.jit.script(_Twin()), inline=True)
    assert (g.name, g.origin) == ("_Twin", "scripted") and not g.find("prim::CallMethod")
    assert {n.attributes["name"]: n.attributes.get("current") for n in g.find("prim::GetAttr")}["scale"] == 2.0
    gru = jitviz.graph(torch.jit.script(torch.nn.GRU(2, 3)), inline=True)
    assert gru.notes == ["forward is overloaded (forward__0, forward__1): drawing forward__0"]
    with pytest.raises(ValueError, match=r"but graph calls no submodule there\. The submodules it calls are: none\.$"):
        jitviz.graph(torch.jit.script(seed.TinyNet()).graph, expand_calls="fc1")  # no module to find fc1 in
    assert [v.name for v in jitviz.graph(seed.looping).inputs] == ["x.1", "n.1"]  # TorchScript's own names
    assert [jitviz.graph(f).origin for f in (_identity, torch.jit.script(_identity))] == ["scripted", "scripted"]
    with pytest.raises(jitviz.TracingError, match="^Tracing _Doubler failed while running it on the example inputs"):
        jitviz.graph(_Doubler(), torch.ones(2))


class _Box:
    pass


class _ReturnsABox(torch.nn.Module):
    def forward(self, x):
        return x, _Box()


@pytest.mark.parametrize("returns, what", [
    (lambda x: {"a": x, "b": _Box()}, "a _Box"), (lambda x: [x, 3], "a int"), (lambda x: {"a": x, "b": "s"}, "a str"),
    (_ReturnsABox(), "a _Box"), (lambda x: (x, _Box()), "something"),
])
def test_a_trace_of_something_that_returns_more_than_tensors_says_what_it_returned(returns, what):
    name = type(returns).__name__ if isinstance(returns, torch.nn.Module) else "<lambda>"
    with pytest.raises(jitviz.TracingError, match=rf"\n{re.escape(name)} returns {what}, which the tracer cannot "
                       r"record: only tensors, and tuples, lists or dicts of them, can be traced\. Make it return "
                       r"tensors \(a Hugging Face model: config.use_cache=False and return_dict=False\), or script "
                       r"it with mode='script'\.$"):
        jitviz.graph(returns, torch.ones(2))


def _with_forward(parameter: str, config=None):
    def forward(self, *args, **options):
        return args[0]

    code = f"def forward(self, {parameter}, **options):\n    return {parameter}\n" if parameter else None
    namespace: dict = {}
    if code:
        exec(code, namespace)
    members = {"forward": namespace.get("forward", forward)}
    module = type("Model", (torch.nn.Module,), members)()
    if config is not None:
        module.config = config
    return module


@pytest.mark.parametrize("parameter, config, example", [
    ("input_ids", type("Config", (), {"vocab_size": 500})(), "torch.randint(0, 500, (1, 8))"),
    ("tokens", None, "torch.randint(0, 100, (1, 8))"), ("token_ids", None, "torch.randint(0, 100, (1, 8))"),
    ("ids", None, "torch.randint(0, 100, (1, 8))"),
    ("images", None, "torch.rand(1, 3, 224, 224)"), ("image", None, "torch.rand(1, 3, 224, 224)"),
    ("pixel_values", None, "torch.rand(1, 3, 224, 224)"), ("img", None, "torch.rand(1, 3, 224, 224)"),
    ("x", None, "torch.ones(2, 2)"), ("", None, "torch.ones(2, 2)"),  # "": only *args, nothing positional
])
def test_a_scripting_failure_suggests_example_inputs_that_fit_the_first_parameter(parameter, config, example):
    with pytest.raises(jitviz.ScriptingError, match=rf"trace it with example inputs: jitviz.show\(Model, "
                       rf"{re.escape(example)}\) \(a trace"):
        jitviz.graph(_with_forward(parameter, config))


def test_a_scripting_failure_of_something_without_a_signature_still_suggests_inputs():
    with pytest.raises(jitviz.ScriptingError, match=r"jitviz.show\(hypot, torch.ones\(2, 2\)\)"):
        jitviz.graph(math.hypot)


def _raises(message):
    def fails(x):
        raise RuntimeError(message)

    return fails


@pytest.mark.parametrize("raised, quoted", [
    ("\n".join(f"line {i}" for i in range(10)), "line 0\nline 1\nline 2\nline 3\nline 4\nline 5\n..."),
    ("", "RuntimeError"),
    ("\n".join(f"line {i}" for i in range(6)), "line 0\nline 1\nline 2\nline 3\nline 4\nline 5"),  # six: all
    ("bad shape\nException raised from check at shape.cpp:12\nframe #0: c10::fail", "bad shape"),
    ("bad value\nframe #0: c10::fail\nframe #1: more", "bad value"),
    (f"cannot add {torch.arange(40.0)!r} and 1", "cannot add tensor(…) and 1"),
])
def test_a_failed_trace_quotes_at_most_six_lines_of_torch_without_its_cpp_stack_or_tensors(raised, quoted):
    with pytest.raises(jitviz.TracingError) as caught:
        jitviz.graph(_raises(raised), torch.ones(2))
    assert str(caught.value) == (f"Tracing fails failed while running it on the example inputs: {quoted}\n"
                                 "Check that fails(*inputs) runs eagerly on these inputs; if it does, script it "
                                 "instead with mode='script'.")


class _Careful(torch.nn.Module):
    def forward(self, x):
        warnings.warn("mind the gap", UserWarning, stacklevel=1)
        return x * 2


def test_the_default_view_of_a_traced_module_passes_the_model_s_own_warnings_on():
    with pytest.warns(UserWarning, match="mind the gap"):
        g = jitviz.graph(_Careful(), torch.ones(2))
    assert [n.kind for n in g.nodes if n.kind.startswith("aten::")] == ["aten::mul"]


@torch.jit.script
def _grows(x):
    y = torch.cat([x, x])
    y.add_(1)
    return y.sum(0)


def test_each_input_gets_its_schema_name_type_and_default_and_in_place_ops_say_what_they_write():
    described = {n.kind: (n.arg_names, n.arg_types, n.defaults, n.writes) for n in jitviz.graph(_grows).nodes
                 if n.kind != "prim::Constant"}
    assert described["prim::ListConstruct"] == ([""], [], {}, ())  # the last one, [0]; no schema
    assert described["aten::cat"] == (["tensors", "dim"], ["List[Tensor]", "int"], {"dim": 0}, ())
    assert described["aten::add_"] == (["self", "other", "alpha"], ["Tensor", "number", "number"], {"alpha": 1}, (0,))
    assert described["aten::sum"][1:3] == (["Tensor", "Optional[List[int]]", "bool", "Optional[ScalarType]"],
                                           {"keepdim": False, "dtype": None})


def _sees(images, **options):  # **options: TorchScript cannot compile it
    return images


def test_a_function_that_fails_to_script_gets_inputs_that_fit_its_first_parameter():
    with pytest.raises(jitviz.ScriptingError, match=r"jitviz.show\(_sees, torch.rand\(1, 3, 224, 224\)\)"):
        jitviz.graph(_sees)


@torch.jit.script
def _formats(n: int):
    return f"n={n}"


def test_a_variadic_op_names_and_types_only_the_inputs_its_schema_declares():
    (fmt,) = [n for n in jitviz.graph(_formats).nodes if n.kind == "aten::format"]
    assert (fmt.arg_names, fmt.arg_types) == (["self", ""], ["str", ""])


def test_a_bare_graph_s_calls_name_no_submodule():
    bare = jitviz.graph(torch.jit.script(_Twin()).graph)
    assert [n.callee for n in bare.find("prim::CallMethod")] == ["?.forward"] * 3


def test_each_expanded_level_opens_one_level_of_submodules_and_hand_overs_are_free_inside_callees_too():
    two = jitviz.graph(torch.jit.script(_PassThrough()), expand_calls=2)
    assert {path: len(n.blocks) for path, n in _calls(two).items()} == {
        "": 1, "inner": 1, "inner.a": 1, "inner.a.fc": 0, "inner.b": 1, "inner.b.fc": 0, "inner.c": 1}

    class Holder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = _PassThrough()

        def forward(self, x):
            return self.p(x) * 2

    one = jitviz.graph(torch.jit.script(Holder()), expand_calls=1)
    assert [(n.callee, n.attributes["module_path"], len(n.blocks)) for n in one.find("prim::CallMethod")] == [
        ("self.p.forward", "p", 1), ("self._impl", "p", 1), ("self.inner.forward", "p.inner", 0)]


def _hands_over(x):
    return _with_default(x)


def test_a_function_that_only_calls_another_shows_that_call_opened():
    (call,) = jitviz.graph(torch.jit.script(_hands_over)).find("prim::CallFunction")
    assert len(call.blocks) == 1 and [n.kind for n in call.blocks[0].nodes][-1] == "aten::add"


def _hop_that_doubles():
    class Hop(torch.nn.Module):
        def forward(self, x):
            return self._impl(x)

        def _impl(self, x):
            return x * 2

    return Hop()


def _hop_that_adds():
    class Hop(torch.nn.Module):  # the same name and forward; another _impl
        def forward(self, x):
            return self._impl(x)

        def _impl(self, x):
            return x + 2

    return Hop()


def test_calls_to_other_methods_are_drawn_alike_only_when_those_methods_are_the_same():
    class Three(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p, self.q, self.r = _hop_that_doubles(), _hop_that_doubles(), _hop_that_adds()

        def forward(self, x):
            return self.p(x) + self.q(x) + self.r(x)

    g = jitviz.graph(torch.jit.script(Three()), expand_calls=1)
    p, q, r = (n.attributes["module_signature"] for n in g.find("prim::CallMethod") if n.callee == "self._impl")
    assert p == q != r


def test_obtain_refuses_an_unknown_mode_and_inputs_for_what_it_draws_as_it_is(tmp_path):
    with pytest.raises(ValueError, match=r"^mode must be one of 'auto', 'trace', 'script' here, not 'compile'\.$"):
        torchscript.obtain(seed.double, (), "compile")
    path = tmp_path / "net.pt"
    torch.jit.save(torch.jit.script(seed.TinyNet()), str(path))
    for obj, what in ((torch.jit.script(seed.double).graph, "a torch._C.Graph"), (path, "a saved file")):
        with pytest.raises(jitviz.TracingError, match=rf"^Example inputs are only used to trace a Python function "
                           rf"or module; {re.escape(what)} is drawn as it is\. Call jitviz\.show\(obj\) without "
                           r"inputs\.$"):
            torchscript.obtain(obj, (torch.ones(2),), "auto")
    with pytest.raises(jitviz.UnsupportedObjectError, match=r"^jitviz cannot draw a int\. Pass a Python function or "
                       r"nn\.Module \(with example inputs to trace it, without to script it\), a torch\.jit\."
                       r"ScriptFunction or ScriptModule, a torch\._C\.Graph, or the path of a file saved with "
                       r"torch\.jit\.save\.$"):
        torchscript.obtain(42, (), "auto")
    scripted = torchscript.obtain(torch.jit.script(seed.looping), (), "auto")
    assert [argument.name for argument in schema_of(scripted).arguments] == ["x", "n"]  # runnable kept


def test_convert_checks_expand_calls_itself_and_can_leave_hand_overs_closed():
    source = torchscript.obtain(torch.jit.script(_PassThrough()), (), "auto")
    with pytest.raises(ValueError, match=r"^expand_calls must be True, False, a depth >= 0 or submodule paths such as "
                       r"'layers\.0', not -1$"):
        torchscript.convert(source, expand_calls=-1)
    with pytest.raises(ValueError, match=r"^expand_calls names 'x\.y', 'z', but _PassThrough calls"):
        torchscript.convert(source, expand_calls=["x.y", "z"])
    assert {path: len(n.blocks) for path, n in _calls(torchscript.convert(source, expand_calls=None)).items()} == {
        "": 1, "inner": 0}
    closed = torchscript.convert(source, open_pass_through=False)  # what highlighting counts on
    assert [len(n.blocks) for n in closed.find("prim::CallMethod")] == [0]


def _no_parameters():
    return 1


class _Branches(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 2)

    def forward(self, x):
        if bool(x.sum() > 0):
            return self.fc(x)
        return x


def test_a_function_without_parameters_and_a_branch_that_only_calls_draw_as_they_are():
    assert jitviz.graph(torch.jit.script(_no_parameters)).inputs == []
    (fc,) = jitviz.graph(torch.jit.script(_Branches())).find("prim::CallMethod")
    assert fc.blocks == []  # a branch holding one call is not a hand-over: the call stays closed


def test_a_file_torch_cannot_load_quotes_torch(tmp_path):
    broken = zipforge.without_tensors(tmp_path, seed.TinyNet())
    with pytest.raises(jitviz.NotTorchScriptFileError) as refused:
        jitviz.graph(broken)
    prefix = f"torch.jit.load could not read {str(broken)!r}: "
    message = str(refused.value)
    assert message.startswith(prefix) and message[len(prefix):].splitlines()[0] in str(refused.value.__cause__)


def test_a_collapsed_trace_with_several_calls_keeps_the_graph_s_invariants():
    g = jitviz.graph(_Twin(), torch.ones(1, 4)).validate()  # the default view is not `convert`'s: checked here
    calls = [n for n in g.nodes if n.kind == "prim::CallMethod"]
    assert [n.attributes["module_path"] for n in calls] == ["a", "b", "c"]
    assert len({n.id for n in calls}) == 3 and all(m.id for n in calls for m in n.members)


@pytest.mark.parametrize("layer", [torch.nn.LSTM(4, 4), torch.nn.GRU(4, 4), torch.nn.RNN(4, 4)])
def test_a_recurrent_layer_with_an_overloaded_forward_is_drawn_scripted_loaded_and_compared(layer, tmp_path):
    drawn = jitviz.graph(layer)  # jitviz scripts it: forward is forward__0 / forward__1
    assert drawn.origin == "scripted" and any("forward is overloaded" in note for note in drawn.notes)
    path = tmp_path / "recurrent.pt"
    torch.jit.save(torch.jit.script(layer), str(path))
    loaded = jitviz.graph(path)  # a saved file's graph is re-compiled from its code: kinds, not node for node
    assert loaded.origin == "loaded" and any("forward is overloaded" in note for note in loaded.notes)
    assert loaded.find("prim::If") and loaded.kinds()["prim::CallMethod"] == drawn.kinds()["prim::CallMethod"]
    result = jitviz.compare(layer, (torch.randn(3, 1, 4),), [torch.randn(5, 1, 4)])
    assert result.scripted is not None and result.probes[0].traced_agrees


def _nested_ifs(depth: int):
    source = "def nested(x: torch.Tensor, k: int):\n" + "".join(
        "    " * (i + 1) + f"if k > {i}:\n" + "    " * (i + 2) + f"x = x + {i}\n" for i in range(depth)
    ) + "    return x\n"
    return torch.jit.CompilationUnit(source).nested  # no indentation limit, unlike a .py file


def test_nesting_deeper_than_jitviz_can_follow_is_a_clear_error_not_a_recursion_error():
    from jitviz.extract.torchscript import MAX_NESTING

    assert len(jitviz.graph(_nested_ifs(60)).find("prim::If")) == 60
    with pytest.raises(jitviz.GraphTooLargeError, match=f"nests its blocks .* {MAX_NESTING + 1} deep, deeper than "
                       "jitviz can follow"):
        jitviz.graph(_nested_ifs(MAX_NESTING + 1))  # at once: counted before converting


def test_an_inlined_trace_keeps_each_nodes_innermost_module_path():
    model = torch.nn.Sequential(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU()), torch.nn.Linear(2, 2))
    g = jitviz.graph(torch.jit.trace(model, torch.ones(1, 2)), inline=True)
    scopes = {n.kind: [m.scope for m in g.nodes if m.kind == n.kind] for n in g.nodes}
    assert scopes["aten::linear"] == ["0.0", "1"] and scopes["aten::relu"] == ["0.1"]
