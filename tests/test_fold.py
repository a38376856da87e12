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
from .drawing_check import missing_uses
from .source_files import module_from_source

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


# --- elif chains (issue 20): one decision, one block per arm ------------------------------------------


def _elif_chain(folder: Path, arms: int, name: str = "chain"):
    """``if n == 0: ... elif n == 1: ... else: ...`` with ``arms`` arms, the else included."""

    lines = [f"def {name}(x: torch.Tensor, n: int) -> torch.Tensor:"]
    for index in range(arms - 1):
        lines += [f"    {'if' if index == 0 else 'elif'} n == {index}:", f"        y = x * {index + 10}"]
    lines += ["    else:", "        y = x - 1", "    return y"]
    return getattr(module_from_source(folder, name, "import torch\n\n\n" + "\n".join(lines) + "\n"), name)


def _decisions(graph: jitviz.ir.Graph) -> list[jitviz.ir.Node]:
    return [node for node in graph.walk() if node.kind == "prim::If"]


def _model_blocks(model: jitviz.ir.Graph) -> dict[str, jitviz.ir.Block]:
    return {jitviz.ir.block_key(node, index): block for node in model.walk() for index, block in enumerate(node.blocks)}


def _nested_arms(x: torch.Tensor, n: int) -> torch.Tensor:
    if n == 0:
        y = x + 1
    elif n == 1:
        if x.sum() > 0:
            y = x * 2
        else:
            y = x * 3
    elif n == 2:
        if n > 5:
            y = x
        elif n > 4:
            y = x - 2
        else:
            y = x - 3
    else:
        y = x - 1
    return y


def _long_arm_conditions(x: torch.Tensor, n: int, flag: bool) -> torch.Tensor:
    if x.dim() == 2 and x.size(0) > 1 and flag:
        y = x.relu()
    elif x.dim() == 1 and n > 3 and not flag:
        y = x.sigmoid()
    elif bool(x.mean() > 0.5):
        y = x.tanh()
    else:
        y = x
    return y


def _condition_used_in_its_arm(x: torch.Tensor, n: int) -> torch.Tensor:
    if n == 0:
        y = x
    else:
        s = x.sum()
        if s > 0:
            y = x * s
        else:
            y = x / s
    return y


def _else_that_prints(x: torch.Tensor, n: int) -> torch.Tensor:
    if n == 0:
        y = x
    else:
        print("not zero")
        if n == 1:
            y = x + 1
        else:
            y = x - 1
    return y


def _else_returning_more(x: torch.Tensor, n: int) -> torch.Tensor:
    if n == 0:
        y = x
        z = x * 0
    else:
        if n == 1:
            y = x + 1
        else:
            y = x - 1
        z = x
    return y + z


def _condition_read_again_by_the_next_elif(x: torch.Tensor, n: int) -> torch.Tensor:
    if n == 0:
        y = x
    else:
        k = n % 4
        if k == 1:
            y = x + 1
        elif k == 2:
            y = x + 2
        else:
            y = x - 1
    return y


def _else_computing_for_its_arm(x: torch.Tensor, n: int) -> torch.Tensor:
    if n == 0:
        y = x
    else:
        s = x.sum()
        if n == 1:
            y = x * s
        else:
            y = x - 1
    return y


def _elif_that_mutates(x: torch.Tensor, n: int) -> torch.Tensor:
    if n == 0:
        y = x
    elif bool(x.add_(1).sum() > 0):
        y = x + 1
    else:
        y = x - 1
    return y


def _ternary_chain(x: torch.Tensor, n: int) -> torch.Tensor:
    y = x if n == 0 else (x * 2 if n == 1 else x * 3)
    return y


def _else_that_checks(x: torch.Tensor, n: int) -> torch.Tensor:
    if n == 0:
        y = x
    else:
        assert n > -5, "n is too small"
        if n == 1:
            y = x + 1
        else:
            y = x - 1
    return y


def _ternary_chain_named_if(x: torch.Tensor, n: int) -> torch.Tensor:
    ifft = x if n == 0 else (x * 2 if n == 1 else x * 3)  # a name beginning with "if" is no if statement
    return ifft


def _elif_without_else(x: torch.Tensor, n: int) -> torch.Tensor:
    y = x
    if n == 0:
        y = x + 1
    elif n == 1:
        y = x + 2
    return y


def test_an_elif_chain_is_one_decision_with_one_block_per_arm_in_order(tmp_path):
    model = jitviz.graph(_elif_chain(tmp_path, 5))
    assert len(_decisions(model)) == 4  # TorchScript nests each elif in the else block before it
    folded = fold(model)
    (decision,) = _decisions(folded.graph)
    assert [block.label for block in decision.blocks] == ["if n == 0", "elif n == 1", "elif n == 2", "elif n == 3",
                                                         "else"]
    assert [[n.kind for n in block.nodes] for block in decision.blocks] == [["aten::mul"]] * 4 + [["aten::sub"]]
    assert [_factor(model, block) for block in decision.blocks[:-1]] == [10, 11, 12, 13]
    # each arm is the model block it stands for: its key, its nodes, its returns
    model_blocks = _model_blocks(model)
    ifs = _decisions(model)
    assert [block.key for block in decision.blocks] == [f"{ifs[0].id}/0", f"{ifs[1].id}/0", f"{ifs[2].id}/0",
                                                         f"{ifs[3].id}/0", f"{ifs[3].id}/1"]
    for block in decision.blocks:
        assert [n.id for n in block.nodes] == [n.id for n in model_blocks[block.key].nodes]
        assert [v.id for v in block.returns] == [v.id for v in model_blocks[block.key].returns]
    # the elifs and every condition are drawn as the decision
    assert decision.id == ifs[0].id and decision.outputs == ifs[0].outputs
    conditions = [n for n in model.walk() if n.kind == "aten::eq"]
    assert len(conditions) == 4
    assert {folded.drawn_as[n.id] for n in [*ifs[1:], *conditions]} == {decision.id}
    assert {m.id for m in decision.members} == {n.id for n in [*ifs[1:], *conditions]}
    assert decision.attributes["arms"].text == "5 (if, 3 elifs, else)"
    assert decision.attributes["conditions"].text == "4 ops folded, lines 5–11"
    assert [v.name for v in decision.inputs] == ["n.1"]


def _factor(model: jitviz.ir.Graph, block: jitviz.ir.Block) -> int:
    """The constant an arm's ``aten::mul`` multiplies by."""
    (mul,) = block.nodes
    producer = next(n for n in model.walk() if mul.inputs[1] in n.outputs)
    return int(producer.attributes["value"])


def test_an_elif_chain_is_drawn_with_every_use_accounted_for_and_checks_show_keeps_the_nesting(tmp_path):
    from .drawing_check import missing_uses

    model = jitviz.graph(_elif_chain(tmp_path, 5))
    drawing = draw(model)
    assert missing_uses(model, drawing) == []
    assert sum(1 for element in drawing.elements.values() if element.kind == "frame" and element.role == "if") == 1
    shown = draw(model, checks="show")
    assert missing_uses(model, shown) == []
    assert sum(1 for element in shown.elements.values() if element.kind == "frame" and element.role == "if") == 4
    assert len(_decisions(fold(model, conditions=False, checks=True, training=True).graph)) == 4


@pytest.mark.parametrize("arms", [3, 4])
def test_the_shortest_chains_fold_too(tmp_path, arms):
    model = jitviz.graph(_elif_chain(tmp_path, arms, name=f"short_{arms}"))
    (decision,) = _decisions(fold(model).graph)
    assert [block.label for block in decision.blocks] == (
        ["if n == 0", "elif n == 1", "else"] if arms == 3 else ["if n == 0", "elif n == 1", "elif n == 2", "else"])
    # its frame is titled as a chain, not with the first arm's line that the first arm's block says
    assert draw(model).elements[f"cluster_{decision.id}"].label == (f"if … elif … else: {arms} arms",)


def test_an_if_else_is_no_chain():
    folded = fold(jitviz.graph(seed.branchy_bool))
    (decision,) = _decisions(folded.graph)
    assert [block.label for block in decision.blocks] == ["then", "else"]
    assert "arms" not in decision.attributes


def test_arms_holding_ifs_and_chains_of_their_own_fold_arm_by_arm():
    from .drawing_check import missing_uses

    model = jitviz.graph(_nested_arms)
    folded = fold(model).graph
    labels = [[block.label for block in node.blocks] for node in _decisions(folded)]
    assert labels == [["if n == 0", "elif n == 1", "elif n == 2", "else"], ["then", "else"],
                      ["if n > 5", "elif n > 4", "else"]]
    assert missing_uses(model, draw(model)) == []


def test_an_arm_whose_condition_takes_several_ops_folds_them_into_the_decision():
    from .drawing_check import missing_uses

    model = jitviz.graph(_long_arm_conditions)
    folded = fold(model)
    (decision,) = [n for n in folded.graph.nodes if n.kind == "prim::If"]
    assert [block.label for block in decision.blocks] == [
        "if x.dim() == 2 and x.size(0) > 1 and flag", "elif x.dim() == 1 and n > 3 and not flag",
        "elif bool(x.mean() > 0.5)", "else"]
    # the conditions' own ifs (`and`) are folded in, and nothing of them is drawn outside
    assert [n.kind for n in folded.graph.walk()].count("prim::If") == 1
    assert sorted(v.name for v in decision.inputs) == ["flag.1", "n.1", "x.1"]
    assert decision.attributes["conditions"].text.startswith(f"{len(decision.members) - 2} ops folded")
    assert missing_uses(model, draw(model)) == []


@pytest.mark.parametrize("function", [_condition_used_in_its_arm, _else_that_prints, _else_computing_for_its_arm,
                                      _elif_that_mutates, _ternary_chain, _ternary_chain_named_if])
def test_an_else_that_does_more_than_decide_or_a_ternary_is_no_elif(function):
    from .drawing_check import missing_uses

    model = jitviz.graph(function)
    folded = fold(model).graph
    assert all(len(node.blocks) == 2 and "arms" not in node.attributes for node in _decisions(folded))
    assert len(_decisions(folded)) == len(_decisions(model))
    assert missing_uses(model, draw(model)) == []


def test_an_else_that_checks_before_its_if_is_no_elif_and_its_check_stays_a_check():
    from .drawing_check import missing_uses

    model = jitviz.graph(_else_that_checks)
    outer, inner = _decisions(fold(model).graph)
    assert [[block.label for block in node.blocks] for node in (outer, inner)] == [["then", "else"]] * 2
    kinds = [n.kind for n in outer.blocks[1].nodes if n.kind != "prim::Constant"]
    assert kinds[0] == CHECK_KIND and kinds[-1] == "prim::If"  # the assert, drawn before the if it precedes
    assert missing_uses(model, draw(model)) == []


def test_an_else_that_also_returns_a_value_of_its_own_is_no_elif():
    from .drawing_check import missing_uses

    model = jitviz.graph(_else_returning_more)
    outer, inner = _decisions(model)
    assert len(outer.outputs) == 2 and len(inner.outputs) == 1
    folded = fold(model).graph
    assert [[block.label for block in node.blocks] for node in _decisions(folded)] == [["then", "else"]] * 2
    assert missing_uses(model, draw(model)) == []


def test_an_else_whose_condition_the_next_elif_reads_again_is_no_elif():
    from .drawing_check import missing_uses

    model = jitviz.graph(_condition_read_again_by_the_next_elif)
    folded = fold(model).graph
    outer, inner = _decisions(folded)
    assert [block.label for block in outer.blocks] == ["then", "else"]
    assert [block.label for block in inner.blocks] == ["if k == 1", "elif k == 2", "else"]
    assert [n.kind for n in outer.blocks[1].nodes] == ["prim::If"]
    assert "aten::remainder" in [n.kind for n in inner.members]  # k = n % 4: folded into the chain that reads it
    assert missing_uses(model, draw(model)) == []


def test_a_mutation_in_an_elifs_condition_stays_drawn():
    folded = fold(jitviz.graph(_elif_that_mutates))
    assert "aten::add_" in [n.kind for n in folded.graph.walk()]


def test_a_chain_without_else_keeps_its_empty_else_arm():
    model = jitviz.graph(_elif_without_else)
    (decision,) = _decisions(fold(model).graph)
    assert [block.label for block in decision.blocks] == ["if n == 0", "elif n == 1", "else"]
    assert [n.kind for n in decision.blocks[2].nodes] == []


class _ElifOnAnAttribute(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.mode = 2

    def forward(self, x: torch.Tensor, n: int) -> torch.Tensor:
        if n == 0:
            y = x
        elif n == self.mode:
            y = x * 2
        else:
            y = x - 1
        return y


def test_an_attribute_an_elif_reads_is_drawn_before_the_decision():
    # TorchScript reads self.mode in the else block it nests the elif in
    from .drawing_check import missing_uses

    model = jitviz.graph(torch.jit.script(_ElifOnAnAttribute()))
    folded = fold(model).graph
    (decision,) = _decisions(folded)
    assert [block.label for block in decision.blocks] == ["if n == 0", "elif n == self.mode", "else"]
    assert "prim::GetAttr" in [n.kind for n in folded.nodes[:folded.nodes.index(decision)]]
    assert missing_uses(model, draw(model)) == []


def _commented_chain(x: torch.Tensor, s: str) -> torch.Tensor:
    if s == "#":  # a hash in a string is the condition's
        y = x
    elif s == "a":  # the usual case
        y = x * 2
    else:  # anything else
        y = x - 1
    return y


def test_a_comment_on_an_if_or_elif_line_is_not_part_of_its_arms_label():
    (decision,) = _decisions(fold(jitviz.graph(_commented_chain)).graph)
    assert [block.label for block in decision.blocks] == ['if s == "#"', 'elif s == "a"', "else"]


def test_the_arms_of_a_chain_show_which_one_ran_and_how_often(tmp_path):
    from jitviz.highlight import Highlighter

    chain = _elif_chain(tmp_path, 5)
    _, view = Highlighter(chain).run(torch.ones(2), 2)  # the third arm
    (decision,) = _decisions(fold(view.model).graph)
    runs = [view.execution.runs(jitviz.ir.block_key(decision, index)) for index in range(5)]
    assert runs == [0, 0, 1, 0, 0]
    svg = view.svg()
    said = re.findall(r"<text[^>]*>([^<]*) · ([^<]*)</text>", svg)
    assert said == [("if n == 0", "not run"), ("elif n == 1", "not run"), ("elif n == 2", "ran 1×"),
                    ("elif n == 3", "not run"), ("else", "not run")]
    _, view = Highlighter(chain).run(torch.ones(2), 7)  # the else arm
    said = re.findall(r"<text[^>]*>([^<]*) · ([^<]*)</text>", view.svg())
    assert said[-1] == ("else", "ran 1×") and all(ran == "not run" for _, ran in said[:-1])


def _elif_in_a_loop(x: torch.Tensor, n: int) -> torch.Tensor:
    for i in range(n):
        if i % 3 == 0:
            x = x + 1
        elif i % 3 == 1:
            x = x * 2
        else:
            x = x - 1
    return x


def test_the_arms_of_a_chain_in_a_loop_count_every_iteration():
    from jitviz.highlight import Highlighter

    _, view = Highlighter(_elif_in_a_loop).run(torch.zeros(2), 7)  # i = 0, 3, 6 / 1, 4 / 2, 5
    said = re.findall(r"<text[^>]*>([^<]*) · ([^<]*)</text>", view.svg())
    assert said == [("loop body", "ran 7×"), ("if i % 3 == 0", "ran 3×"), ("elif i % 3 == 1", "ran 2×"),
                    ("else", "ran 2×")]


def test_a_hundred_arm_chain_is_one_row_of_arms(tmp_path):
    view = jitviz.show(_elif_chain(tmp_path, 101, name="hundred"))
    # per arm: its node, its returns; then inputs, the decision, its join and the output
    assert view.drawing.node_count == 2 * 101 + 5
    height = float(re.search(r'<svg width="[\d.]+pt" height="([\d.]+)pt"', view.svg()).group(1))
    assert height < 800  # nested, it was 25,488 pt tall (and 13 s of dot)


STASH = """
from typing import List

import torch
from torch import Tensor, nn


class Stash(nn.Module):
    seen: List[Tensor]

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(x * 2)
        return x + 1
"""


def test_what_a_module_keeps_on_itself_is_data_not_a_check(tmp_path):
    # RAFT's `self.corr_pyramid.append(...)`: a later call reads what this one appended
    stash = module_from_source(tmp_path, "stash_source", STASH).Stash()
    model = jitviz.graph(torch.jit.script(stash))
    drawing = draw(model)
    labels = [node.label for node in drawing.nodes()]
    assert ("aten::append", "self=self.seen") in labels and ("aten::mul", "other=2") in labels
    assert not [node for node in drawing.nodes() if node.role == "check"]
    assert missing_uses(model, drawing) == []


MAYBE_STASH = """
from typing import List, Optional

import torch
from torch import Tensor, nn


class MaybeStash(nn.Module):
    seen: Optional[List[Tensor]]

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        seen = self.seen
        if seen is not None:
            seen.append(x * 2)
        return x + 1
"""


def test_a_write_to_an_optional_attribute_is_data_too(tmp_path):
    # TorchScript refines `seen` from Optional: the list appended to is self.seen behind a cast
    stash = module_from_source(tmp_path, "maybe_stash_source", MAYBE_STASH).MaybeStash()
    model = jitviz.graph(torch.jit.script(stash))
    assert "prim::unchecked_cast" in model.kinds()
    drawing = draw(model)
    assert "aten::append" in [node.label[0] for node in drawing.nodes()]
    assert ("aten::mul", "other=2") in [node.label for node in drawing.nodes()]
    assert missing_uses(model, drawing) == []


BOXED = """
import torch
from torch import Tensor


@torch.jit.script
class Box:
    def __init__(self, t: Tensor):
        self.t = t


def boxed(x):
    b = Box(x * 2)
    if b.t.dim() != 2:
        raise ValueError("expected 2-D")
    return b.t + 1
"""


@pytest.mark.parametrize("inline", [False, True])
def test_a_check_reading_an_attribute_of_an_object_the_code_made_is_joined_to_it(tmp_path, inline):
    # torchvision's scripted detectors check the boxes of an ImageList they made: `b.t` is drawn
    boxed = module_from_source(tmp_path, "boxed_source", BOXED).boxed
    model = jitviz.graph(torch.jit.script(boxed), inline=inline)
    drawing = draw(model)
    (check,) = [node for node in drawing.nodes() if node.role == "check"]
    attributes = [node.id for node in drawing.nodes() if node.label[0] == "prim::GetAttr"]
    assert any(edge.ends[1] == check.id and edge.ends[0] in attributes for edge in drawing.edges())
    assert missing_uses(model, drawing) == []
