"""Checks, long conditions and eval-mode branches fold into compact nodes; the data flow stays drawn."""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

import jitviz
from jitviz.fold import CHECK_KIND, FOLDED_KIND, SMALL_CONDITION, fold
from jitviz.render import draw

from . import seed_functions as seed

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import zoo  # noqa: E402


def _checked(x: torch.Tensor) -> torch.Tensor:
    if x.dim() != 2:
        raise ValueError("expected a matrix")
    torch._assert(x.size(0) > 0, "empty")
    return x * 2


def _long_condition(x: torch.Tensor, flag: bool) -> torch.Tensor:
    if x.dim() == 2 and x.size(0) > 1 and flag:
        return x.relu()
    return x.sigmoid()


def _filled_by_a_loop(xs: list[torch.Tensor]) -> list[int]:
    sizes: list[int] = []
    for x in xs:
        sizes.append(x.size(0))
    return sizes


class _TrainingOnly(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        out = self.fc(x)
        if self.training:
            assert target is not None
            out = out + (out - target).pow(2).mean() * 0.0
        return out


def _kinds(graph: jitviz.ir.Graph) -> list[str]:
    return [node.kind for node in graph.walk()]


def test_a_raise_and_an_assert_become_one_check_node_naming_their_lines():
    model = jitviz.graph(_checked)
    drawn = fold(model).graph
    checks = [n for n in drawn.walk() if n.kind == CHECK_KIND]
    assert len(checks) == 2  # two unrelated checks, each its own node
    lines = [line for check in checks for line in check.attributes["lines"]]
    assert any("if x.dim() != 2:" in line for line in lines)
    assert not {"prim::If", "prim::RaiseException", "aten::dim"} & set(_kinds(drawn))
    assert "aten::mul" in _kinds(drawn)  # the data flow stays
    assert all(check.inputs and check.inputs[0].name.startswith("x") for check in checks)  # what they read


def test_checks_show_restores_every_node():
    model = jitviz.graph(_checked)
    full = draw(model, checks="show")
    folded = draw(model)
    assert folded.node_count < full.node_count
    assert set(n.id for n in model.walk() if n.kind not in ("prim::Constant",)) <= set(full.drawn_as)
    assert all(shown == node_id for node_id, shown in full.drawn_as.items() if shown in full.elements)


def test_a_long_condition_folds_into_its_if_and_a_short_one_stays():
    drawn = fold(jitviz.graph(_long_condition)).graph
    (branch,) = [n for n in drawn.walk() if n.kind == "prim::If"]
    assert "ops folded" in str(branch.attributes["condition"])
    assert [v.name for v in branch.inputs][:1] == ["x.1"]  # the if reads what its condition read
    seed_branch = fold(jitviz.graph(seed.branchy_bool)).graph
    assert "aten::Bool" in _kinds(seed_branch) and "aten::gt" in _kinds(seed_branch)


def _two_int_ops(x, n: int):
    if n + 1 > 2:
        return x * 2
    return x


def _three_int_ops(x, n: int):
    if n * 2 + 1 > 2:
        return x * 2
    return x


def test_a_condition_of_exactly_small_condition_operations_stays_drawn_and_one_more_folds():
    assert SMALL_CONDITION == 2  # the two functions above sit on each side of it
    two = fold(jitviz.graph(_two_int_ops)).graph
    (branch,) = two.find("prim::If")
    assert {"aten::add", "aten::gt"} <= set(_kinds(two)) and "condition" not in branch.attributes
    three = fold(jitviz.graph(_three_int_ops)).graph
    (branch,) = three.find("prim::If")
    assert not {"aten::mul", "aten::add", "aten::gt"} & {n.kind for n in three.nodes}
    assert "3 ops folded" in str(branch.attributes["condition"])
    assert {m.kind for m in branch.members} >= {"aten::mul", "aten::add", "aten::gt"}


def test_the_training_branch_of_an_eval_module_folds_and_of_a_training_module_does_not():
    eval_graph = fold(jitviz.graph(torch.jit.script(_TrainingOnly().eval()))).graph
    (unit,) = [n for n in eval_graph.walk() if n.kind == FOLDED_KIND]
    assert "eval mode" in " ".join(unit.attributes["lines"])
    assert "aten::pow" not in _kinds(eval_graph)
    train_graph = fold(jitviz.graph(torch.jit.script(_TrainingOnly().train()))).graph
    assert not [n for n in train_graph.walk() if n.kind == FOLDED_KIND]
    assert "aten::pow" in _kinds(train_graph)


def test_a_list_filled_by_a_loop_is_not_drawn_as_the_constant_it_starts_as():
    source = jitviz.show(_filled_by_a_loop).source
    assert "self=[]" not in source and "\\n[]" not in source
    assert "prim::ListConstruct" in source  # drawn as a node, with an edge to each use


@pytest.mark.parametrize("name, limit", [("TransformerEncoderLayer", 60), ("GRUCell", 30)])
def test_library_layers_scripted_read_well(name, limit):
    module, _ = {c.name: c for c in zoo.cases()}[name].build()
    drawing = draw(jitviz.graph(torch.jit.script(module)))
    assert drawing.node_count <= limit
    assert not re.search(r"dtype=\d", drawing.dot.source)  # enums by name


@pytest.mark.exe
def test_scripted_transformer_encoder_layer_fits_a_page_width():
    module = nn.TransformerEncoderLayer(64, 4, 128, batch_first=True).eval()
    svg = jitviz.show(torch.jit.script(module)).svg()
    width = float(re.search(r'width="([\d.]+)pt"', svg).group(1))
    assert width <= 2500


def test_the_pass_through_forward_of_a_resnet_opens_by_default():
    module, _ = {c.name: c for c in zoo.cases()}["ResNetStyle"].build()
    graph = jitviz.graph(torch.jit.script(module))
    (call,) = [n for n in graph.nodes if n.callee is not None]
    assert call.callee.endswith("_forward_impl") and call.blocks  # opened
    inner = [n.attributes.get("module_path") for n in call.blocks[0].nodes if n.callee is not None]
    assert {"conv1", "layer1", "layer2", "fc"} <= set(inner)  # its stages, each collapsed
    assert all(not n.blocks for n in call.blocks[0].nodes if n.callee is not None)


def test_a_traced_function_is_titled_traced():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(seed.branchy, torch.ones(2, 2))
    assert "branchy (traced)" in jitviz.show(traced).source
    assert "(scripted)" in jitviz.show(torch.jit.script(seed.branchy)).source


def _line_of(function, text: str) -> int:
    import inspect

    lines, first = inspect.getsourcelines(function)
    return first + next(index for index, line in enumerate(lines) if text in line)


def test_a_check_names_the_users_own_lines_not_torchs_helpers():
    drawn = fold(jitviz.graph(_checked)).graph
    labels = sorted(tuple(n.attributes["lines"]) for n in drawn.walk() if n.kind == CHECK_KIND)
    assert labels == sorted([
        (f"test_fold.py:{_line_of(_checked, 'if x.dim()')}  if x.dim() != 2:",),
        (f"test_fold.py:{_line_of(_checked, 'torch._assert')}  torch._assert(x.size(0) > 0, \"empty\")",),
    ])


def test_a_folded_condition_says_how_many_ops_and_from_which_lines():
    drawn = fold(jitviz.graph(_long_condition)).graph
    (branch,) = [n for n in drawn.walk() if n.kind == "prim::If"]
    text = str(branch.attributes["condition"])
    match = re.fullmatch(r"(\d+) ops folded, line (\d+)", text)
    assert match and int(match.group(2)) == _line_of(_long_condition, "if x.dim() == 2")
    assert int(match.group(1)) == len(branch.members) >= 4  # the comparisons and the `and`s


@pytest.mark.parametrize("type_name, is_tensor", [
    ("Tensor", True), ("Float(2, 3)", True), ("Tensor?", True), ("Optional[Tensor]", True),
    ("int", False), ("bool", False), ("Dict(str, Tensor)", False), ("Tuple(Tensor, Tensor)", False),
    ("List[int]", False), ("str", False)])
def test_which_values_are_tensors(type_name, is_tensor):
    from jitviz.fold import _is_tensor

    assert _is_tensor(type_name) is is_tensor
