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
    _rejects(graph, "value id 'v0'", "graph input", "output of node n1")


def test_a_value_produced_twice_is_caught():
    graph = _if_graph()
    graph.nodes[0].outputs.append(graph.inputs[0])  # the constant node "produces" the input x again
    _rejects(graph, "produced twice", "%x")


def test_a_block_parameter_that_is_also_a_node_output_is_caught():
    graph = _loop_graph()
    (loop,) = graph.nodes
    loop.blocks[0].params.append(loop.outputs[0])
    _rejects(graph, "produced twice", "%y")


def test_a_use_with_no_producer_is_caught():
    graph = _if_graph()
    graph.find("aten::mul")[0].inputs.append(Value("v99", "stray", "Tensor"))
    _rejects(graph, "%stray", "produced nowhere", "input of node n2")


def test_a_graph_output_with_no_producer_is_caught():
    graph = _if_graph()
    graph.outputs.append(Value("v99", "stray", "Tensor"))
    _rejects(graph, "%stray", "graph output")


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
    _rejects(graph, "%d", "graph output", "not visible")


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
