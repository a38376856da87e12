"""mode="compile": torch.compile's graphs as numbered frames, the graph breaks between them at their lines."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ElementTree

import pytest
import torch
from torch import nn

import jitviz
from jitviz import ir
from jitviz.extract import compiled
from jitviz.render import draw

from .drawing_check import missing_uses


def seed(x):
    y = x * 2
    if y.mean() > 1.0:
        y = y + 1
    print("between graphs")
    z = y.sum().item()
    return y * z


def straight(x):
    return torch.relu(x * 2) + 1


def leading_print(x):
    print("before any tensor work")
    return x + 1


_LINES = {"if": 22, "print": 24, "item": 25}  # seed's lines in this file


def _frames(model: ir.Graph) -> list[ir.Node]:
    return [node for node in model.nodes if node.kind == ir.COMPILED_GRAPH]


def _breaks(model: ir.Graph) -> list[ir.Node]:
    return [node for node in model.nodes if node.kind == ir.GRAPH_BREAK]


@pytest.fixture(scope="module")
def seed_model() -> ir.Graph:
    return jitviz.graph(seed, torch.ones(2, 2), mode="compile").validate()


def test_each_graph_is_a_frame_in_the_order_it_ran_with_a_break_between(seed_model):
    kinds = [node.kind for node in seed_model.nodes]
    assert kinds == [ir.COMPILED_GRAPH, ir.GRAPH_BREAK] * 3 + [ir.COMPILED_GRAPH]
    assert [frame.callee for frame in _frames(seed_model)] == [f"graph {i} of 4" for i in range(1, 5)]
    assert [b.source.line for b in _breaks(seed_model)] == [_LINES["if"], _LINES["print"], _LINES["item"]]
    assert seed_model.origin == "compiled" and "torch.compile: 4 graphs, 3 graph breaks" in seed_model.notes
    # what each graph holds: the lines before, between and after the breaks
    lines = [sorted({n.source.line for n in frame.walk() if n.source and n is not frame})
             for frame in _frames(seed_model)]
    assert lines == [[21, 22], [23], [25], [26]]


def test_a_break_says_what_broke_in_the_registrys_words(seed_model):
    first, second, third = _breaks(seed_model)
    assert (first.attributes["gb_id"], first.attributes["gb_type"]) == ("GB0170", "Data-dependent branching")
    assert any("torch.cond" in hint for hint in first.attributes["hints"])
    assert "data-dependent branching" in first.attributes["explanation"]
    assert second.attributes["gb_type"] == "Failed to trace builtin operator" and "print" in second.attributes[
        "explanation"]
    assert "capture_scalar_outputs" in " ".join(third.attributes["hints"])
    for node in (first, second, third):
        assert node.attributes["gb_id"] in compiled.registry()  # a real registry id, not made up


def test_values_flow_from_graph_to_break_to_next_graph(seed_model):
    frames, breaks = _frames(seed_model), _breaks(seed_model)
    assert [value.name for value in seed_model.inputs] == ["x"]  # Dynamo's l_x_ as the user wrote it
    for frame, after in zip(frames, breaks):
        assert after.inputs == frame.outputs  # the break reads what the graph returned
    second_inputs = {v.id for n in frames[1].walk() for v in n.inputs}
    assert {v.id for v in breaks[0].outputs} <= second_inputs  # and makes the next graph's inputs
    assert seed_model.outputs == frames[-1].outputs


def test_every_use_is_drawn_as_an_edge_or_a_label(seed_model):
    assert missing_uses(seed_model, draw(seed_model)) == []
    module = jitviz.graph(nn.TransformerEncoderLayer(16, 2, 32, batch_first=True).eval(), torch.randn(2, 5, 16),
                          mode="compile", expand_calls=True)
    assert missing_uses(module, draw(module)) == []


def test_a_function_dynamo_captures_whole_is_one_frame_and_passes_fullgraph():
    model = jitviz.graph(straight, torch.ones(3), mode="compile", fullgraph=True)
    assert [node.kind for node in model.nodes] == [ir.COMPILED_GRAPH]
    assert "torch.compile: 1 graph, 0 graph breaks" in model.notes
    assert "guard x: TENSOR_MATCH (float32, (3,))" in model.notes


def test_fullgraph_refuses_a_break_and_says_where_and_why():
    with pytest.raises(jitviz.TracingError, match=rf"fullgraph=True.*test_compiled.py:{_LINES['if']}: "
                                                  "Data-dependent branching.*torch.cond"):
        jitviz.show(seed, torch.ones(2, 2), mode="compile", fullgraph=True)


def test_a_break_before_any_graph_is_drawn_before_the_graph_that_resumed_after_it():
    model = jitviz.graph(leading_print, torch.ones(2), mode="compile").validate()
    assert [node.kind for node in model.nodes] == [ir.GRAPH_BREAK, ir.COMPILED_GRAPH]
    assert model.nodes[0].source.code == 'print("before any tensor work")'


def test_a_module_shows_its_submodules_as_calls_and_its_parameters_folded():
    layer = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True).eval()
    model = jitviz.graph(layer, torch.randn(2, 5, 16), mode="compile")
    calls = [n.attributes.get("module_path") for n in model.walk() if n.kind == "call_module"]
    assert calls[:2] == ["self_attn", "dropout1"] and "linear2" in calls
    assert [value.name for value in model.inputs if not value.role] == ["src"]  # forward's own name
    opened = jitviz.graph(layer, torch.randn(2, 5, 16), mode="compile", expand_calls=True)
    roles = {value.name: value.role for value in opened.inputs if value.role}
    assert roles["linear1.weight"] == "parameter" and roles["self_attn.out_proj.bias"] == "parameter"
    assert "self.linear1.weight" in jitviz.show(layer, torch.randn(2, 5, 16), mode="compile",
                                                expand_calls=True).source  # folded into its user


def test_a_module_dynamo_does_not_trace_is_one_break_that_says_so():
    model = jitviz.graph(nn.GRU(4, 8), torch.randn(5, 1, 4), mode="compile")
    (only,) = model.nodes
    assert only.kind == ir.GRAPH_BREAK and "RNN, GRU, or LSTM" in only.attributes["gb_type"]
    assert "Dynamo captured no graph: the whole function ran in Python" in model.notes


def test_text_from_the_users_line_is_escaped_in_the_picture():
    def shout(x):
        print("<b>&\"x\"</b>")
        return x + 1

    svg = jitviz.show(shout, torch.ones(2), mode="compile").svg()
    texts = ["".join(element.itertext()) for element in ElementTree.fromstring(svg).iter()  # well-formed XML
             if element.tag.endswith("text")]
    assert any('print("<b>&\\"x\\"</b>")' in text for text in texts)  # the line as written
    assert "<b>" not in svg


@pytest.mark.parametrize("options, message", [
    ({"dynamic": "yes"}, "dynamic must be None"),
    ({"fullgraph": 1}, "fullgraph must be True or False"),
    ({"inline": True}, "inline=True is TorchScript's"),
    ({"highlight": True}, "highlight=True runs a TorchScript graph"),
])
def test_options_that_cannot_apply_are_refused(options, message):
    with pytest.raises(jitviz.OptionsError, match=message):
        jitviz.show(straight, torch.ones(2), mode="compile", **options)


@pytest.mark.parametrize("mode", ["auto", "trace", "script"])
def test_compile_options_without_compile_mode_are_refused_not_ignored(mode):
    with pytest.raises(jitviz.OptionsError, match="applies only with mode='compile'"):
        jitviz.show(straight, torch.ones(2), mode=mode, fullgraph=True)


def test_a_capture_leaves_logging_as_it_found_it():
    logger = logging.getLogger("torch._dynamo")
    before = logger.level
    try:
        logger.setLevel(logging.INFO)  # a level of the user's own, which the capture must put back
        jitviz.graph(seed, torch.ones(2, 2), mode="compile")
        assert logger.level == logging.INFO
    finally:
        logger.setLevel(before)


def test_explain_colours_each_line_by_its_graph_and_says_why_a_line_broke():
    explanation = jitviz.explain(seed, torch.ones(2, 2), mode="compile")
    home = "test_compiled.py"
    assert set(explanation.breaks) == {(home, line) for line in _LINES.values()}
    assert "GB0170" in explanation.breaks[(home, _LINES["if"])] and "torch.cond" in explanation.breaks[
        (home, _LINES["if"])]
    source = explanation._source_html()
    assert source.count('class="jv-line jv-break"') == 3
    colours = explanation._colours
    assert colours[(home, 21)] == 0  # graph 1
    assert colours[(home, 23)] == 1 and colours[(home, 25)] == 2 and colours[(home, 26)] == 3
    breaks = {node.source.line: node.id for node in _breaks(explanation.view.model)}
    for line in _LINES.values():  # hovering a break line lights its break node, and back
        assert breaks[line] in explanation.nodes_of(line)
        assert [where.line for where in explanation.lines_of(breaks[line])] == [line]


def test_compare_adds_the_compiled_column_right_where_the_trace_is_wrong():
    def branch(x):
        if x.mean() > 1.0:
            return x * 2
        return x - 1

    result = jitviz.compare(branch, (torch.ones(2, 2),), [torch.zeros(2, 2), torch.full((2, 2), 3.0)],
                            compiled=True)
    assert [p.traced_agrees for p in result.probes] == [True, False]
    assert [p.compiled_agrees for p in result.probes] == [True, True]
    assert result.compiled is not None and "graph break" in result.compiled.source
    assert "<th>compiled</th>" in result._repr_html_()
    plain = jitviz.compare(branch, (torch.ones(2, 2),), [torch.zeros(2, 2)])
    assert plain.compiled is None and "<th>compiled</th>" not in plain._repr_html_()


def test_compare_says_which_probe_made_torch_compile_recompile_and_why():
    result = jitviz.compare(straight, (torch.ones(2, 2),), [torch.zeros(2, 2), torch.ones(3, 3), torch.ones(4, 4)],
                            compiled=True)
    assert [p.recompiled for p in result.probes][0] == ""  # the example's shape: the graph is reused
    assert result.probes[1].recompiled.startswith("recompiled: ") and "size mismatch" in result.probes[1].recompiled
    assert result.probes[2].recompiled == ""  # the recompiled graph is dynamic: reused for the next size
    assert "recompiled: " in result._repr_html_() and "recompiled: " in repr(result)
