"""Executed-path highlighting: the counts come from what TorchScript ran, for every shape of code."""

import functools
import re

import pytest
import torch

import jitviz
from jitviz.extract.execution import ExecutionError
from jitviz.highlight import Highlighter

from . import seed_functions as seed


def runs(view, kind="prim::If"):
    """[[runs of block 0, runs of block 1, ...] for each node of `kind`], in program order."""
    return [[view.execution.runs(f"{n.id}/{i}") for i in range(len(n.blocks))] for n in view.model.find(kind)]


def test_if_else_takes_the_branch_the_input_selects():
    assert runs(jitviz.show(seed.branchy_bool, torch.ones(2, 2), highlight=True)) == [[0, 1]]
    assert runs(jitviz.show(seed.branchy_bool, torch.full((2, 2), 3.0), highlight=True)) == [[1, 0]]


@pytest.mark.exe
def test_blocks_that_only_return_a_constant_are_counted():
    view = jitviz.show(seed.branchy_bool, torch.ones(2, 2), highlight=True)
    (if_node,) = view.model.find("prim::If")
    assert all(block.nodes == [] for block in if_node.blocks)
    assert "then · not run" in view.svg() and "else · ran 1×" in view.svg()


@pytest.mark.parametrize("fill, taken", [(3.0, 0), (1.5, 1), (0.5, 2), (-1.0, 3)])
def test_elif_chain_runs_exactly_one_arm(fill, taken):
    highlighter = Highlighter(seed.grade)
    outputs, view = highlighter.run(torch.full((2,), fill))
    assert outputs == 3 - taken
    # an elif chain is nested ifs: arm k is the then-block of the k-th if, the last arm an else
    chain = runs(view)
    reached = [sum(blocks) for blocks in chain]
    assert reached == [1] + [1 if taken > depth else 0 for depth in range(len(chain) - 1)]
    ran_then = [blocks[0] for blocks in chain]
    assert ran_then == [1 if depth == taken else 0 for depth in range(len(chain))]


def test_nested_ifs_and_early_returns():
    assert runs(jitviz.show(seed.nested, torch.full((2,), 20.0), highlight=True)) == [[1, 0], [1, 0]]
    assert runs(jitviz.show(seed.nested, torch.ones(2), highlight=True)) == [[1, 0], [0, 1]]
    assert runs(jitviz.show(seed.nested, -torch.ones(2), highlight=True)) == [[0, 1], [0, 0]]


@pytest.mark.exe
def test_if_inside_a_loop_counts_each_branch_per_iteration():
    view = jitviz.show(seed.looping, torch.zeros(2), 5, highlight=True)
    for_loop, while_loop = runs(view, "prim::Loop")
    assert for_loop == [5]
    assert runs(view) == [[3, 2]]  # i = 0, 2, 4 took `then`; i = 1, 3 took `else`
    # the while loop ran until x.sum() reached 100; count it independently in eager Python
    x = torch.zeros(2)
    for i in range(5):
        x = x + i if i % 2 == 0 else x * 2
    iterations = 0
    while bool(x.sum() < 100):
        x, iterations = x + 1, iterations + 1
    assert while_loop == [iterations]
    svg = view.svg()
    assert "then · ran 3×" in svg and "else · ran 2×" in svg and "loop body · ran 5×" in svg


@pytest.mark.exe
def test_loops_that_run_zero_times_and_whiles_that_never_start():
    view = jitviz.show(seed.looping, torch.full((2,), 100.0), 0, highlight=True)
    assert runs(view, "prim::Loop") == [[0], [0]]
    assert runs(view) == [[0, 0]]  # the if inside the loop never ran either
    assert view.svg().count("loop body · not run") == 2


def test_early_return_of_a_whole_function():
    view = jitviz.show(seed.early_return, torch.ones(1), -1, highlight=True)
    assert runs(view, "prim::Loop") == [[0]]
    view = jitviz.show(seed.early_return, torch.ones(1), 4, highlight=True)
    assert runs(view, "prim::Loop") == [[4]]


@pytest.mark.exe
def test_calls_into_other_scripted_functions_are_counted_per_call_site():
    scripted = torch.jit.script(seed.calls_branchy_helper)
    collapsed = jitviz.show(scripted, torch.ones(2), highlight=True)
    assert len(collapsed.model.find("prim::CallFunction")) == 2
    assert collapsed.execution.block_runs == {}  # nothing to count at the top level...
    assert "not counted" not in collapsed.svg()
    expanded = jitviz.show(scripted, torch.ones(2), highlight=True, expand_calls=True)
    assert runs(expanded) == [[1, 0], [0, 1]]  # helper(x) took `then`, helper(-x) did not


def test_modules_are_run_with_their_own_parameters():
    class Gate(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(2, 2)

        def forward(self, x, steps: int):
            for _ in range(steps):
                if bool(x.sum() > 0):
                    x = self.fc(x)
            return x

    gate = Gate()
    outputs, view = Highlighter(gate).run(torch.ones(1, 2), 2)
    assert torch.allclose(outputs, torch.jit.script(gate)(torch.ones(1, 2), 2))
    assert runs(view, "prim::Loop") == [[2]]


def test_outputs_are_what_the_scripted_function_returns():
    scripted = torch.jit.script(seed.looping)
    for n in (0, 1, 4):
        outputs, _ = Highlighter(scripted).run(torch.ones(3), n)
        assert torch.equal(outputs, scripted(torch.ones(3), n))


@pytest.mark.exe
def test_repainting_does_not_lay_out_again(monkeypatch):
    highlighter = Highlighter(seed.branchy_bool)
    first = highlighter.run(torch.ones(2))[1].svg()
    calls = []
    monkeypatch.setattr("graphviz.Digraph.pipe", lambda *a, **k: calls.append(a))
    second = highlighter.run(torch.full((2,), 3.0))[1].svg()
    assert calls == []

    def geometry(svg: str) -> list[str]:
        return re.findall(r'\b(?:points|d|x|y|viewBox)="[^"]*"', svg)

    assert first != second and geometry(first) == geometry(second)  # same layout, other colours


def test_wrong_inputs_give_a_clear_error():
    highlighter = Highlighter(seed.looping)
    with pytest.raises(ExecutionError, match=r"looping could not run on these inputs \(Tensor\(2\) float32\); "
                                             r"it takes \(x: Tensor, n: int\)"):
        highlighter.run(torch.ones(2))
    with pytest.raises(ExecutionError, match="could not run"):
        highlighter.run(torch.ones(2), "three")
    assert isinstance(ExecutionError("x"), jitviz.JitvizError)
    outputs, _ = highlighter.run(torch.ones(2), 1)  # still usable after a bad call
    assert outputs.shape == (2,)


@pytest.mark.exe
def test_svg_of_a_highlight_is_valid_xml_and_marks_states():
    import xml.etree.ElementTree as ET

    svg = jitviz.show(seed.nested, torch.ones(2), highlight=True).svg()
    ET.fromstring(svg)
    assert "#2e7d32" in svg and "#c8c8c8" in svg


class _Detector(torch.nn.Module):
    """torchvision's detectors: an optional second argument the caller usually leaves out."""

    def forward(self, images: torch.Tensor, targets: list[dict[str, torch.Tensor]] | None = None,
                scale: float = 2.0) -> torch.Tensor:
        if targets is None:
            return images * scale
        return images - 1


def test_arguments_left_out_take_their_defaults_and_never_the_counter():
    view = jitviz.show(_Detector(), torch.ones(2), highlight=True)
    (if_node,) = view.model.find("prim::If")
    assert runs(view) == [[1, 0]]  # targets is None: the counter did not take its place
    outputs, _ = Highlighter(_Detector()).run(torch.ones(2))
    assert torch.equal(outputs, torch.full((2,), 2.0))  # scale's default, 2.0
    with pytest.raises(ExecutionError, match="it takes 3 inputs, 4 were given"):
        Highlighter(_Detector()).run(torch.ones(2), None, 1.0, torch.ones(1))
    with pytest.raises(ExecutionError, match="no value for x, which has no default"):
        Highlighter(seed.double).run()
    with pytest.raises(ExecutionError, match="it takes 1 input, 2 were given"):
        Highlighter(seed.double).run(torch.ones(2), torch.ones(2))


class _Stack(torch.nn.Module):
    """Four calls to a branching layer: inlined, each call site's branch is counted."""

    def __init__(self):
        super().__init__()
        self.layers = torch.nn.ModuleList([_Gated() for _ in range(4)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class _Gated(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 4)

    def forward(self, x):
        if x.sum() > 0:
            x = self.fc(x)
        return torch.relu(x)


def test_expand_calls_inlines_within_the_budget_and_falls_back_to_collapsed_calls_over_it():
    inlined = jitviz.show(_Stack().eval(), torch.ones(1, 4), highlight=True, expand_calls=1)
    assert len(inlined.model.find("prim::If")) == 4 and not inlined.model.find("prim::CallMethod")
    budget = inlined.drawing.node_count - 1
    collapsed = jitviz.show(_Stack().eval(), torch.ones(1, 4), highlight=True, expand_calls=1, max_nodes=budget)
    calls = collapsed.model.find("prim::CallMethod")
    assert len(calls) == 4 and not collapsed.model.find("prim::If")
    assert "calls not inlined, not as asked" in collapsed.source and "raise max_nodes" in collapsed.source
    assert collapsed.execution is not None  # still run and counted, with the calls collapsed


def test_repeats_draws_identical_calls_once_when_highlighting():
    plain = jitviz.show(_Stack().eval(), torch.ones(1, 4), highlight=True)
    repeated = jitviz.show(_Stack().eval(), torch.ones(1, 4), highlight=True, repeats=True)
    assert "×4" in repeated.source and "×4" not in plain.source


def test_highlighted_files_show_what_ran_in_every_format(tmp_path):
    view = jitviz.show(seed.looping, torch.ones(2), 3, highlight=True)
    dot = view.save(tmp_path / "g.dot").read_text()
    assert "loop body · ran 3×" in dot and "ran ?×" not in dot
    assert dot == view.painted_source and view.source != view.painted_source


@pytest.mark.exe
def test_a_highlighted_png_is_laid_out_from_the_painted_dot(tmp_path):
    import graphviz

    view = jitviz.show(seed.branchy_bool, torch.ones(2, 2), highlight=True)
    png = view.save(tmp_path / "g.png").read_bytes()
    assert png == graphviz.Source(view.painted_source).pipe(format="png")
    assert png != graphviz.Source(view.source).pipe(format="png")  # not the "ran ?×" placeholders


def test_expand_calls_naming_a_submodule_that_is_not_called_is_refused():
    with pytest.raises(ValueError, match="'no.such.module'.*The submodules it calls are: layers.0"):
        jitviz.show(_Stack().eval(), torch.ones(1, 4), highlight=True, expand_calls="no.such.module")
    view = jitviz.show(_Stack().eval(), torch.ones(1, 4), highlight=True, expand_calls="layers.0")
    assert len(view.model.find("prim::If")) == 4  # inlined, each call site counted


def test_a_highlighter_made_directly_leaves_calls_collapsed_and_repeats_drawn_out():
    _, view = Highlighter(_Stack().eval()).run(torch.ones(1, 4))
    assert len(view.model.find("prim::CallMethod")) == 4 and not view.model.find("prim::If")
    assert "×4" not in view.source


@pytest.mark.parametrize("option, bad", [
    ("mode", "scripted"), ("expand_calls", -1), ("inline", "yes"), ("constants", "folded"),
    ("max_nodes", 0), ("rankdir", "top-down"), ("repeats", 1),
])
def test_a_bad_option_is_refused_when_the_highlighter_is_made(option, bad):
    with pytest.raises(jitviz.OptionsError, match=option):
        Highlighter(seed.branchy_bool, **{option: bad})


def test_the_drawing_options_reach_the_picture():
    _, view = Highlighter(seed.double, constants="nodes", rankdir="LR").run(torch.ones(2))
    assert "prim::Constant\\nvalue=2" in view.source and "rankdir=LR" in view.source
    _, default = Highlighter(seed.double).run(torch.ones(2))
    assert "prim::Constant" not in default.source and "rankdir=TB" in default.source


def test_trace_mode_traces_on_the_first_inputs_and_every_node_ran_once():
    outputs, view = Highlighter(seed.branchy, mode="trace").run(torch.full((2, 2), 3.0))
    assert view.model.origin == "traced" and not view.model.find("prim::If")
    assert torch.equal(outputs, torch.tensor(1.0))
    outputs, _ = Highlighter(functools.partial(seed.looping, n=2), mode="trace").run(torch.ones(2))
    assert torch.equal(outputs, seed.looping(torch.ones(2), 2))


def test_a_traced_function_is_highlighted_as_the_trace_it_is():
    traced = torch.jit.trace(seed.double, torch.ones(2))
    view = jitviz.show(traced, torch.ones(2), highlight=True)  # mode left at "auto"
    assert view.model.origin == "traced"
    with pytest.raises(jitviz.TracingError, match="mode='script' cannot apply"):
        Highlighter(traced, mode="script").run(torch.ones(2))


class _PassThrough(torch.nn.Module):
    """A forward that only hands its input to one method (as torchvision's ResNet does)."""

    def forward(self, x):
        return self._impl(x)

    def _impl(self, x):
        if bool(x.sum() > 0):
            return x * 2
        return x - 1


def test_a_pass_through_forward_is_drawn_with_its_call_collapsed_so_it_can_be_counted():
    outputs, view = Highlighter(_PassThrough()).run(torch.ones(2))
    assert torch.equal(outputs, torch.full((2,), 2.0))
    assert [n.kind for n in view.model.walk()] == ["prim::CallMethod"]
    _, inlined = Highlighter(_PassThrough(), inline=True).run(-torch.ones(2))
    assert runs(inlined) == [[0, 1]]


class _ScaledStack(_Stack):
    def forward(self, x, scale: float = 2.0):
        for layer in self.layers:
            x = layer(x)
        return x * scale


def test_inlined_or_fallen_back_arguments_left_out_take_their_defaults():
    stack, x = _ScaledStack().eval(), torch.ones(1, 4)
    inlined = Highlighter(stack, expand_calls=True)
    outputs, view = inlined.run(x)
    assert torch.allclose(outputs, stack(x)) and len(view.model.find("prim::If")) == 4
    budget = view.drawing.node_count - 1
    outputs, collapsed = Highlighter(stack, expand_calls=True, max_nodes=budget).run(x)
    assert torch.allclose(outputs, stack(x)) and not collapsed.model.find("prim::If")


def test_the_fallback_note_says_how_big_the_inlined_picture_would_have_been():
    inlined = jitviz.show(_Stack().eval(), torch.ones(1, 4), highlight=True, expand_calls=True)
    size, budget = inlined.drawing.node_count, inlined.drawing.node_count - 1
    _, view = Highlighter(_Stack().eval(), expand_calls=True, max_nodes=budget).run(torch.ones(1, 4))
    assert view.model.notes == [f"calls not inlined, not as asked: inlined, {size} nodes, more than "
                                f"max_nodes={budget} (raise max_nodes, or highlight a submodule on its own)"]


def test_highlight_honours_checks_show():
    cell = torch.jit.script(torch.nn.GRUCell(4, 4))  # its argument checks fold by default
    folded = jitviz.show(cell, torch.ones(1, 4), highlight=True)
    shown = jitviz.show(cell, torch.ones(1, 4), highlight=True, checks="show")
    assert shown.drawing.node_count > folded.drawing.node_count  # every node drawn, as asked
    assert shown.execution is not None and shown.svg().startswith("<svg")
