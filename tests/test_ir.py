"""jitviz.ir: the plain graph model's queries and its invariant checker, on hand-built graphs."""

import pytest

import jitviz
from jitviz import ir
from jitviz.ir import Block, Execution, Graph, GraphInvariantError, Node, Value

from . import seed_functions as seed


def _if_graph() -> Graph:
    """``def f(x, c): if c: y = x * 2 else: y = x; return y`` by hand: an If with two blocks."""
    x, c, two, doubled, y = (Value(f"v{i}", name, "Tensor") for i, name in enumerate("xc2dy"))
    constant = Node("n0", "prim::Constant", outputs=[two], attributes={"value": 2})
    then = Block("then", nodes=[Node("n2", "aten::mul", inputs=[x, two], outputs=[doubled])], returns=[doubled])
    orelse = Block("else", returns=[x])
    branch = Node("n1", "prim::If", inputs=[c], outputs=[y], blocks=[then, orelse])
    return Graph("f", "scripted", inputs=[x, c], nodes=[constant, branch], outputs=[y])


def _loop_graph() -> Graph:
    """A loop whose body reads its own parameter and an outer value, and returns a new one."""
    n, x, i, carried, added, out = (Value(f"v{k}", name, "int") for k, name in enumerate("nxiacy"))
    body = Block("loop body", params=[i, carried],
                 nodes=[Node("n1", "aten::add", inputs=[carried, x], outputs=[added])], returns=[added])
    loop = Node("n0", "prim::Loop", inputs=[n, x], outputs=[out], blocks=[body])
    return Graph("g", "scripted", inputs=[n, x], nodes=[loop], outputs=[out])


@pytest.mark.parametrize("make", [_if_graph, _loop_graph])
def test_valid_hand_built_graphs_pass_and_are_returned(make):
    graph = make()
    assert graph.validate() is graph


def test_an_empty_graph_and_an_identity_graph_are_valid():
    x = Value("v0", "x", "Tensor")
    Graph("empty", "graph").validate()
    Graph("identity", "graph", inputs=[x], outputs=[x]).validate()


def test_graphs_from_both_extractors_are_valid():
    import torch

    jitviz.graph(seed.looping).validate()
    jitviz.graph(torch.export.export(torch.nn.Linear(2, 2), (torch.ones(1, 2),))).validate()


def _rejects(graph: Graph, *words: str) -> None:
    with pytest.raises(GraphInvariantError) as caught:
        graph.validate()
    message = str(caught.value)
    assert all(word in message for word in words), message


def test_a_node_id_used_twice_is_caught():
    graph = _if_graph()
    graph.find("aten::mul")[0].id = "n0"
    _rejects(graph, "node id 'n0'")


def test_a_value_id_given_to_two_values_is_caught():
    graph = _if_graph()
    graph.outputs[0].id = "v0"  # the If's output now shares the input x's id
    _rejects(graph, "value id 'v0' is given to two values: graph input and output of node n1")


def test_a_value_produced_twice_is_caught():
    graph = _if_graph()
    graph.nodes[0].outputs.append(graph.inputs[0])  # the constant node "produces" the input x again
    _rejects(graph, "produced twice", "%x")


def test_a_block_parameter_that_is_also_a_node_output_is_caught():
    graph = _loop_graph()
    (loop,) = graph.nodes
    loop.blocks[0].params.append(loop.outputs[0])
    _rejects(graph, "%y (v5) is produced twice: as parameter of block 0 ('loop body') of node n0 and as output")


def test_a_use_with_no_producer_is_caught():
    graph = _if_graph()
    graph.find("aten::mul")[0].inputs.append(Value("v99", "stray", "Tensor"))
    _rejects(graph, "%stray", "produced nowhere", "input of node n2")


def test_a_graph_output_with_no_producer_is_caught():
    graph = _if_graph()
    graph.outputs.append(Value("v99", "stray", "Tensor"))
    _rejects(graph, "%stray (v99), the graph output, is produced nowhere")


def test_a_block_return_with_no_producer_is_caught():
    graph = _if_graph()
    graph.nodes[1].blocks[1].returns[0] = Value("v99", "stray", "Tensor")
    _rejects(graph, "%stray", "return of block 1 ('else') of node n1")


def test_a_use_before_its_producer_is_caught():
    graph = _if_graph()
    graph.nodes.reverse()  # the If now reads the constant before the constant node
    _rejects(graph, "%2", "not visible", "input of node n2")


def test_a_node_reading_its_own_output_is_caught():
    graph = _if_graph()
    mul = graph.find("aten::mul")[0]
    mul.inputs.append(mul.outputs[0])
    _rejects(graph, "%d", "not visible")


def test_a_value_from_inside_a_block_used_outside_it_is_caught():
    graph = _if_graph()
    graph.outputs[0] = graph.find("aten::mul")[0].outputs[0]
    _rejects(graph, "%d (v3), the graph output, is used where it is not visible", "does not enclose this use")


def test_a_value_from_a_sibling_block_is_not_visible():
    graph = _if_graph()
    graph.nodes[1].blocks[1].returns[0] = graph.find("aten::mul")[0].outputs[0]  # else returns then's value
    _rejects(graph, "%d", "return of block 1", "not visible")


def test_a_block_parameter_is_not_visible_after_its_block():
    graph = _loop_graph()
    graph.outputs.append(graph.nodes[0].blocks[0].params[0])
    _rejects(graph, "%i", "graph output", "not visible")


def test_a_node_output_inside_a_block_is_not_visible_to_the_block_own_node():
    graph = _loop_graph()
    (loop,) = graph.nodes
    loop.inputs.append(loop.blocks[0].nodes[0].outputs[0])
    _rejects(graph, "%a", "input of node n0", "not visible")


def test_an_equal_looking_copy_of_a_value_is_not_its_producer():
    graph = _if_graph()
    x = graph.inputs[0]
    graph.find("aten::mul")[0].inputs[0] = Value(x.id, x.name, x.type)  # same id and name, another object
    _rejects(graph, "%x", "produced nowhere")


def test_the_error_is_a_jitviz_error():
    assert issubclass(GraphInvariantError, jitviz.JitvizError)


# --- queries: walk, kinds, find, summary, call depth, collapsing calls ---------------------------


def _call(node_id: str, callee: str, param: Value, body: list[Node], result: Value) -> Node:
    """A ``prim::CallMethod`` whose callee's body is expanded inside it as one block."""
    block = Block(callee, params=[param], nodes=body, returns=[body[-1].outputs[0]])
    return Node(node_id, "prim::CallMethod", outputs=[result], blocks=[block], callee=callee, scope="a",
                source=ir.SourceLocation("m.py", 7, f"return {callee}(x)"), attributes={"module_path": "a"},
                arg_names=["self"])


def _nested_calls() -> Graph:
    """``forward`` calls ``a`` (which calls ``b``, which does a relu), then an If uses the result."""
    x, c, r1, self_a, r2, self_b, y, z, d = (Value(f"v{i}", name, "Tensor") for i, name in enumerate(
        ["x", "c", "r1", "self_a", "r2", "self_b", "y", "z", "d"]))
    relu = Node("n2", "aten::relu", inputs=[x], outputs=[y])
    inner = _call("n1", "self.a.b.forward", self_b, [relu], r2)
    outer = _call("n0", "self.a.forward", self_a, [inner], r1)
    then = Block("then", nodes=[Node("n4", "aten::mul", inputs=[x, r1], outputs=[d])], returns=[d])
    branch = Node("n3", "prim::If", inputs=[c], outputs=[z], blocks=[then, Block("else", returns=[x])])
    return Graph("m", "scripted", inputs=[x, c], nodes=[outer, branch], outputs=[z], notes=["a note"])


def test_nested_calls_fixture_is_valid():
    _nested_calls().validate()


def test_walk_visits_every_node_in_program_order_blocks_included():
    assert [node.id for node in _nested_calls().walk()] == ["n0", "n1", "n2", "n3", "n4"]


def test_kinds_and_find_count_nested_nodes():
    graph = _nested_calls()
    assert graph.kinds() == {"prim::CallMethod": 2, "aten::relu": 1, "prim::If": 1, "aten::mul": 1}
    assert [node.id for node in graph.find("prim::CallMethod")] == ["n0", "n1"]
    assert graph.find("aten::relu")[0].callee is None
    assert graph.find("aten::add") == []


def test_summary_counts_all_nodes_and_names_the_control_flow_and_calls():
    assert _nested_calls().summary() == "5 nodes, 1 prim::If, 2 prim::CallMethod"
    assert _loop_graph().summary() == "2 nodes, 1 prim::Loop"
    x = Value("v0", "x", "Tensor")
    call = Node("n0", "prim::CallFunction", inputs=[x], outputs=[Value("v1", "y", "Tensor")], callee="f")
    assert Graph("g", "scripted", [x], [call, Node("n1", "prim::CallFunction", callee="g")]).summary() == (
        "2 nodes, 2 prim::CallFunction")


def test_call_depth_counts_nested_expanded_calls_not_control_flow():
    assert _nested_calls().call_depth() == 2
    assert _if_graph().call_depth() == 0
    assert _loop_graph().call_depth() == 0


def test_a_call_inside_a_branch_counts_one_level():
    graph = _if_graph()
    relu = Node("n8", "aten::relu", outputs=[Value("v8", "y", "Tensor")])
    graph.nodes[1].blocks[1].nodes.append(_call("n9", "self.f.forward", Value("v9", "self", "M"), [relu],
                                                Value("v10", "r", "Tensor")))
    graph.validate()
    assert graph.call_depth() == 1
    assert graph.collapsed(1).call_depth() == 1  # an if is not a call: it does not use up the depth
    assert graph.collapsed(0).call_depth() == 0


@pytest.mark.parametrize("depth, expanded", [(0, []), (1, ["n0"]), (2, ["n0", "n1"]), (5, ["n0", "n1"])])
def test_collapsed_keeps_calls_expanded_to_the_depth_asked(depth, expanded):
    graph = _nested_calls()
    collapsed = graph.collapsed(depth).validate()
    assert [node.id for node in collapsed.walk() if node.kind == "prim::CallMethod" and node.blocks] == expanded
    assert collapsed.call_depth() == min(depth, 2)
    assert len(collapsed.find("prim::If")[0].blocks) == 2  # control flow is never collapsed
    assert graph.call_depth() == 2  # the original is left as it was


def test_collapsing_keeps_every_node_outside_the_calls():
    graph = _if_graph()
    assert [node.id for node in graph.collapsed(0).walk()] == ["n0", "n1", "n2"]


def test_collapsed_copies_every_field_and_shares_nodes_and_values():
    graph = _nested_calls()
    collapsed = graph.collapsed(1)
    assert (collapsed.name, collapsed.origin, collapsed.notes) == ("m", "scripted", ["a note"])
    assert collapsed.inputs is graph.inputs and collapsed.outputs is graph.outputs
    assert collapsed.notes is not graph.notes  # a note added to one picture stays on it
    outer, inner = collapsed.nodes[0], collapsed.nodes[0].blocks[0].nodes[0]
    original = graph.nodes[0]
    fields = ("id", "kind", "inputs", "outputs", "attributes", "arg_names", "source", "callee", "scope")
    assert all(getattr(outer, name) == getattr(original, name) for name in fields)
    assert outer.blocks[0].label == "self.a.forward" and outer.blocks[0].params == original.blocks[0].params
    assert outer.blocks[0].returns == original.blocks[0].returns
    assert inner.blocks == [] and inner.callee == "self.a.b.forward"
    assert inner.outputs == original.blocks[0].nodes[0].outputs
    mul = graph.nodes[1].blocks[0].nodes[0]
    assert collapsed.nodes[1].blocks[0].nodes[0] is mul  # a node without blocks is shared as it is
    assert collapsed.nodes[1].outputs is graph.nodes[1].outputs


def test_block_key_and_execution_counts():
    graph = _if_graph()
    branch = graph.nodes[1]
    assert [ir.block_key(branch, i) for i in range(2)] == ["n1/0", "n1/1"]
    run = Execution({"n1/0": 0, "n1/1": 3, "n9/0": 1})
    assert run.runs(None) == 1  # the top level ran once
    assert run.runs("n1/1") == 3 and run.runs("n1/0") == 0
    assert run.runs("n5/0") is None  # not counted
    assert run.summary() == "2 of 3 blocks ran"
    assert Execution({}).summary() == "0 of 0 blocks ran"


def test_reprs_read_like_torchscript():
    graph = _if_graph()
    assert repr(graph.find("aten::mul")[0]) == "Node(%d = aten::mul(%x, %2))"
    assert repr(graph.inputs[0]) == "Value(%x : Tensor)"
    pair = [Value("v7", "a", "int"), Value("v8", "b", "int")]
    unpack = Node("n5", "prim::TupleUnpack", inputs=pair, outputs=pair)
    assert repr(unpack) == "Node(%a, %b = prim::TupleUnpack(%a, %b))"
    assert str(ir.SourceLocation("m.py", 3, "return x")) == "m.py:3: return x"
    assert str(ir.Literal("device('cpu')")) == "device('cpu')"


def test_the_documented_origins_are_the_ones_the_extractors_give(tmp_path):
    import re

    import torch

    net = torch.nn.Linear(2, 2)
    x = torch.ones(1, 2)
    program = torch.export.export(net, (x,))
    torch.jit.save(torch.jit.script(net), str(tmp_path / "m.pt"))
    torch.export.save(program, str(tmp_path / "m.pt2"))
    made = {jitviz.graph(obj, *inputs).origin for obj, inputs in [
        (net, (x,)), (net, ()), (tmp_path / "m.pt", ()), (torch.jit.script(net).graph, ()),
        (program, ()), (torch.fx.symbolic_trace(net), ())]} | {jitviz.graph(tmp_path / "m.pt2", trusted=True).origin}
    documented = set(re.findall(r'``"([^"]+)"``', Graph.__doc__.split("``origin``")[1]))
    assert made == documented
