"""Control flow nested deeper than ``nesting=`` is one node standing for all inside it, opened on demand."""

import time

import pytest
import torch

import jitviz
from bench.nesting import nested, nested_source
from jitviz.explain import drawn_sources
from jitviz.paint import painted_dot
from jitviz.render import NESTED_ROLE, draw
from jitviz.style import IF_KINDS, LOOP_KINDS
from jitviz.viewer import _layout_widget

from .drawing_check import missing_uses

STRUCTURED = IF_KINDS | LOOP_KINDS


def levels(model: jitviz.ir.Graph) -> dict[str, int]:
    """Each if and loop of the model -> how many ifs and loops enclose it, itself included (1 at the top)."""
    found: dict[str, int] = {}
    pending = [(node, 1) for node in model.nodes]
    while pending:
        node, level = pending.pop()
        if node.kind in STRUCTURED:
            found[node.id] = level
        inner = level + (node.kind in STRUCTURED)
        pending.extend((child, inner) for block in node.blocks for child in block.nodes)
    return found


def label_in(dot: str, node_id: str) -> str:
    return dot.split(f'\t{node_id} [label="', 1)[1].split('"', 1)[0]


def folded(drawing):
    return [node for node in drawing.nodes() if node.role == NESTED_ROLE]


def inside(model, node_id):
    top = next(node for node in model.walk() if node.id == node_id)
    return {node.id for node in top.walk()}


def test_the_generated_function_nests_as_deep_as_asked():
    assert max(levels(jitviz.graph(nested(30))).values()) == 30
    assert "    " * 30 + "x = x + 29" in nested_source(30)


def test_a_30_deep_nesting_is_one_folded_node_below_the_20th_level_and_every_use_is_drawn():
    model = jitviz.graph(nested(30))
    drawing = draw(model)
    [node] = folded(drawing)
    depth = levels(model)
    assert depth[node.id] == 21 and node.id == node.stands_for[0]
    # it stands for everything inside it, and nothing inside it is drawn elsewhere
    assert set(node.stands_for) == inside(model, node.id)
    assert {drawing.drawn_as[i] for i in inside(model, node.id)} == {node.id}
    assert missing_uses(model, drawing) == []
    assert node.label[0] == "prim::If" and node.label[1] == "line 42: if n > 20:"
    assert f"{len(inside(model, node.id)) - 1} nodes inside" in node.label
    assert "open with nesting=21 or a click" in node.label
    # what it reads from outside comes in by edges, what it makes goes out
    tails = {edge.ends[0] for edge in drawing.edges() if edge.ends[1] == node.id}
    assert tails and all(tail in drawing.elements for tail in tails)
    assert any(edge.ends[0] == node.id for edge in drawing.edges())
    assert drawing.node_count < 120 and draw(model, nesting=30).node_count > 160


@pytest.mark.exe
def test_a_30_deep_nesting_lays_out_quickly():
    function = nested(30)
    start = time.perf_counter()
    svg = jitviz.show(function).svg()
    assert time.perf_counter() - start < 20  # 2.6 s and 1 prim::If frame in another: 0.2 s now
    assert "nodes inside" in svg


def test_200_levels_are_drawn_as_a_handful_of_nodes():
    model = jitviz.graph(nested(200))
    drawing = draw(model, max_nodes=120)  # a folded node counts as one node in the budget
    assert len(folded(drawing)) == 1 and missing_uses(model, drawing) == []
    assert len(next(iter(folded(drawing))).stands_for) == len(inside(model, folded(drawing)[0].id))


@pytest.mark.parametrize("depth, nesting, folded_at", [
    (6, 6, None), (7, 6, 7), (5, 6, None), (1, 0, 1), (1, 1, None), (2, 1, 2), (3, 3, None), (4, 3, 4)])
def test_the_boundary_is_exact(depth, nesting, folded_at):
    model = jitviz.graph(nested(depth))
    drawing = draw(model, nesting=nesting)
    found = [levels(model)[node.id] for node in folded(drawing)]
    assert found == ([] if folded_at is None else [folded_at])
    assert missing_uses(model, drawing) == []


def test_the_default_opens_20_levels():
    assert jitviz.show.__kwdefaults__["nesting"] == 20
    assert draw(jitviz.graph(nested(20))).dot.source == draw(jitviz.graph(nested(20)), nesting=200).dot.source
    assert len(folded(draw(jitviz.graph(nested(21))))) == 1


@pytest.mark.parametrize("nesting", range(0, 10))
@pytest.mark.parametrize("checks", ["fold", "show"])
def test_every_use_is_accounted_for_at_every_nesting(nesting, checks):
    model = jitviz.graph(nested(9))
    drawing = draw(model, nesting=nesting, checks=checks)
    assert missing_uses(model, drawing) == []
    assert all(node.id in drawing.drawn_as for node in model.walk() if node.kind != "prim::Constant")
    assert len(folded(drawing)) == (nesting < 9)


class Inner(torch.nn.Module):
    def forward(self, x: torch.Tensor, n: int) -> torch.Tensor:
        if n > 0:
            for _ in range(n):
                if n > 2:
                    x = x + 2
                    torch._assert(bool(x.sum() > 0), "positive")
        return x


class Outer(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = Inner()

    def forward(self, x: torch.Tensor, n: int) -> torch.Tensor:
        if n > 1:
            x = self.inner(x, n)
        return x


def test_a_call_is_no_level_and_a_folded_node_stands_for_the_checks_inside_it():
    model = jitviz.graph(torch.jit.script(Outer()), expand_calls=True)
    drawing = draw(model, nesting=2)
    assert missing_uses(model, drawing) == []
    # outer's if is level 1, the call no level, inner's if level 2 and its loop level 3: folded
    [node] = folded(drawing)
    assert levels(model)[node.id] == 3 and model.kinds()["prim::CallMethod"] == 1
    assert set(node.stands_for) == inside(model, node.id)
    assert f"{len(inside(model, node.id)) - 1} nodes inside" in node.label  # the check's nodes counted
    assert "check" in {e.role for e in draw(model).nodes()}  # drawn when open ...
    assert "check" not in {e.role for e in drawing.nodes()}  # ... and inside the folded node here


def pick(x: torch.Tensor, y: torch.Tensor, n: int) -> torch.Tensor:
    if n > 0:
        if n > 1:
            x = x + 1
        else:
            x = y  # y is only handed back by the inner if's else block
    return x


def test_a_folded_node_reads_a_value_its_blocks_only_hand_back():
    model = jitviz.graph(torch.jit.script(pick))
    drawing = draw(model, nesting=1)
    [node] = folded(drawing)
    y = model.inputs[1]
    assert (f"in_{y.id}", node.id) in {edge.ends for edge in drawing.edges()}


def after(x: torch.Tensor, y: torch.Tensor, n: int) -> torch.Tensor:
    if n > 0:
        x = x - 1
        if n > 1:
            if n > 2:
                x = x + 1
            x = x * y  # after an if nested in the folded one: y is read only here
            x = x - 4
    return x


def test_a_folded_node_stands_for_what_follows_an_if_nested_in_it():
    model = jitviz.graph(torch.jit.script(after))
    drawing = draw(model, nesting=1)
    [node] = folded(drawing)
    assert set(node.stands_for) == inside(model, node.id)
    assert f"{len(inside(model, node.id)) - 1} nodes inside" in node.label
    assert (f"in_{model.inputs[1].id}", node.id) in {edge.ends for edge in drawing.edges()}
    assert missing_uses(model, drawing) == []


def test_open_blocks_opens_one_level_further():
    model = jitviz.graph(nested(9))
    first = folded(draw(model, nesting=3))[0]
    opened = draw(model, nesting=3, open_blocks=[first.id])
    assert f"cluster_{first.id}" in opened.elements
    [deeper] = folded(opened)
    assert levels(model)[deeper.id] == 5 and missing_uses(model, opened) == []


def test_explain_links_every_line_inside_to_the_folded_node():
    model = jitviz.graph(nested(9))
    view = jitviz.show(nested(9), nesting=2)
    [node] = folded(view.drawing)
    lines = {source.line for source in drawn_sources(view)[node.id]}
    inner = {n.source.line for n in model.walk() if n.id in inside(model, node.id) and n.source}
    assert inner and lines == inner


def test_a_highlighted_folded_node_says_how_often_it_ran():
    view = jitviz.show(nested(10), torch.zeros(2), 9, highlight=True, nesting=2)
    [node] = folded(view.drawing)
    assert node.block is not None and view.execution.runs(node.block) == 9  # inside the 9-iteration loop
    dot = painted_dot(view.drawing, view.execution)
    assert label_in(dot, node.id).endswith("ran 9×")
    not_run = jitviz.show(nested(10), torch.zeros(2), 0, highlight=True, nesting=2)
    dot = painted_dot(not_run.drawing, not_run.execution)
    [node] = folded(not_run.drawing)
    assert label_in(dot, node.id).endswith("not run")


def click(explorer, name: str) -> None:
    _layout_widget(explorer.widget)._handle_custom_msg({"event": "jitviz-click", "name": name}, [])


def test_clicking_a_folded_node_opens_it_one_level_further_and_its_frame_closes_it():
    function = nested(9)
    explorer = jitviz.explore_graph(function, nesting=2)
    layout = _layout_widget(explorer.widget)
    before = layout.dot_source
    [first] = folded(explorer._view.drawing)
    click(explorer, first.id)
    assert explorer.opened_blocks == [first.id] and layout.dot_source == explorer.source != before
    [second] = folded(explorer._view.drawing)
    assert levels(explorer._view.model)[second.id] == 4
    click(explorer, second.id)
    assert explorer.opened_blocks == [first.id, second.id]
    click(explorer, "in_x")  # neither: nothing happens
    assert explorer.opened_blocks == [first.id, second.id]
    click(explorer, f"cluster_{first.id}")  # closes it, and what was opened inside it
    assert explorer.opened_blocks == [] and layout.dot_source == before
    assert "expanded: nothing" in repr(explorer)


@pytest.mark.parametrize("options, message", [
    ({"nesting": -1}, "nesting must be a whole number of levels >= 0"),
    ({"nesting": True}, "nesting must be a whole number"),
    ({"nesting": 2.0}, "nesting must be a whole number"),
    ({"nesting": "6"}, "nesting must be a whole number"),
    ({"open_blocks": "n3"}, "open_blocks must be a list of node ids"),
    ({"open_blocks": [""]}, "open_blocks must be a list of node ids"),
    ({"open_blocks": [3]}, "open_blocks must be a list of node ids"),
])
def test_bad_nesting_options_are_refused_by_name(options, message):
    with pytest.raises(jitviz.OptionsError, match=message):
        jitviz.show(nested(2), **options)
    with pytest.raises(jitviz.OptionsError, match=message):
        draw(jitviz.graph(nested(2)), **options)


def test_real_models_keep_their_pictures_under_the_default():
    # torch.nn's attention code nests 14 levels drawn with checks="show" and calls expanded (notebook 07)
    layer = torch.nn.TransformerEncoderLayer(16, 2, 32, batch_first=True)
    model = jitviz.graph(torch.jit.script(torch.nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)),
                         expand_calls=True)
    assert max(levels(model).values()) == 14
    assert folded(draw(model, checks="show", max_nodes=10_000)) == []
    assert folded(draw(model, checks="show", nesting=13, max_nodes=10_000)) != []


@pytest.mark.exe
def test_the_laid_out_picture_says_how_often_a_folded_node_ran():
    view = jitviz.show(nested(10), torch.zeros(2), 9, highlight=True, nesting=2)
    [node] = folded(view.drawing)
    group = view.svg().split(f'<g id="{node.id}" class="node">', 1)[1].split("</g>", 1)[0]
    assert "ran 9&#215;" in group or "ran 9×" in group
