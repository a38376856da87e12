"""The explorer's logic, driven as a user would move its controls, without a browser."""

import ipywidgets as widgets
import pytest
import torch

import jitviz

from . import pitfalls
from . import seed_functions as seed


def filled(fill):
    return (torch.full((2, 2), fill),)


@pytest.mark.exe
def test_tracing_explorer_marks_the_traced_mismatch_and_follows_the_slider():
    explorer = jitviz.explore(pitfalls.branch, inputs=filled, example=(torch.ones(2, 2),), fill=(0.0, 3.0, 0.5))
    assert isinstance(explorer.controls["fill"], widgets.FloatSlider)
    assert explorer.controls["fill"].continuous_update is False
    state = explorer.set(fill=0.5)
    assert (state.eager, state.traced, state.traced_agrees) == ("tensor(2.)", "tensor(2.)", True)
    assert "✗" not in explorer.table.value
    state = explorer.set(fill=2.5)
    assert (state.eager, state.traced, state.traced_agrees) == ("tensor(1.)", "tensor(2.)", False)
    assert "✗ differs from eager" in explorer.table.value
    assert "traced tensor(2.) ✗ WRONG" in explorer.report()


@pytest.mark.exe
def test_scripting_explorer_always_agrees_and_moves_the_highlight():
    explorer = jitviz.explore(seed.branchy_bool, inputs=filled, fill=(0.0, 3.0, 0.5))
    assert explorer.trace_error and "Only tensors" in explorer.trace_error  # an int result
    low = explorer.set(fill=0.5)
    low_svg = explorer.picture.value
    assert low.scripted_agrees and low.eager == "2" and "ran: else×1" in explorer.report()
    high = explorer.set(fill=2.5)
    assert high.scripted_agrees and high.eager == "1" and "ran: then×1" in explorer.report()
    assert "then · ran 1×" in explorer.picture.value and "else · not run" in explorer.picture.value
    assert low_svg != explorer.picture.value


@pytest.mark.exe
def test_decode_steps_control_follows_into_loop_counts():
    explorer = jitviz.explore(seed.looping, inputs=lambda steps: (torch.zeros(2), steps), steps=(0, 6))
    assert isinstance(explorer.controls["steps"], widgets.IntSlider)
    for steps in (0, 3, 6):
        explorer.set(steps=steps)
        # the `for` loop is the first block in program order; the report leaves out blocks that did not run
        ran = explorer.report().split(" | ran: ")[1].split(", ")
        if steps:
            assert ran[0] == f"loop body×{steps}" and f"loop body · ran {steps}×" in explorer.picture.value
        else:
            assert ran[0].startswith("loop body×") and len(ran) == 1  # only the while loop ran
            assert "loop body · not run" in explorer.picture.value
    assert explorer.state.scripted_agrees


@pytest.mark.exe
def test_bad_inputs_keep_the_widget_alive_and_the_last_good_picture():
    explorer = jitviz.explore(seed.TinyNet(), inputs=lambda width: (torch.ones(1, width),), width=(4, 6))
    good_picture, good_table = explorer.picture.value, explorer.table.value
    state = explorer.set(width=5)  # Linear(4, 8) cannot take 5 features
    assert state.error and "does not run on these inputs" in state.error
    assert "does not run" in explorer.status.value
    assert explorer.picture.value == good_picture and explorer.table.value == good_table
    assert "width=5: TinyNet does not run" in explorer.report()
    state = explorer.set(width=4)
    assert state.error is None and explorer.status.value == ""


@pytest.mark.exe
def test_input_builder_errors_are_reported_too():
    explorer = jitviz.explore(pitfalls.length, inputs=lambda n: (torch.ones(n),), n=(1, 3))
    state = explorer.set(n=2)
    assert state.error is None
    explorer._make_inputs = lambda n: 1 / 0
    assert "Could not build the inputs" in explorer.refresh().error


@pytest.mark.exe
def test_controls_are_validated():
    with pytest.raises(ValueError, match="at least one control"):
        jitviz.explore(pitfalls.length)
    with pytest.raises(ValueError, match="not understood"):
        jitviz.explore(pitfalls.length, n="many")
    with pytest.raises(KeyError, match="the controls are n"):
        jitviz.explore(pitfalls.length, inputs=lambda n: (torch.ones(n),), n=(1, 3)).set(m=1)


@pytest.mark.exe
def test_text_form_is_deterministic_for_notebooks():
    explorer = jitviz.explore(pitfalls.branch, inputs=filled, example=(torch.ones(2, 2),), fill=(0.0, 3.0))
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("<jitviz explorer of branchy: fill=0.0: eager tensor(2.)")
    assert "0x" not in bundle["text/plain"]


@pytest.mark.exe
def test_extra_versions_get_their_own_column_and_mark():
    class Double(torch.nn.Module):
        def forward(self, x):
            return x * 2

    static = torch.export.export(Double(), (torch.ones(2, 3),))
    explorer = jitviz.explore(Double(), inputs=lambda batch: (torch.ones(batch, 3),), trace=False,
                              script=False, versions={"static export": static.module()},
                              picture=jitviz.show(static), batch=(1, 4))
    state = explorer.set(batch=2)
    assert state.others["static export"][1] is True and "✗" not in explorer.table.value
    state = explorer.set(batch=3)
    text, agrees = state.others["static export"]
    assert not agrees and text.startswith("error:")
    assert "static export error:" in explorer.report() and "✗ WRONG" in explorer.report()
    assert explorer.picture.value.startswith("<svg")


@pytest.mark.exe
def test_an_already_scripted_function_gets_no_traced_column():
    explorer = jitviz.explore(torch.jit.script(pitfalls.branch), inputs=filled, fill=(0.0, 3.0))
    assert explorer.state.traced is None and "traced" not in explorer.table.value
    assert explorer.set(fill=3.0).scripted == "tensor(1.)"


def test_names_and_messages_from_the_user_are_escaped_and_their_control_characters_shown():
    evil = '<img src=x onerror="alert(1)">\x1b[2J\u202e'
    explorer = jitviz.explore(seed.double, inputs=lambda v: (torch.full((2,), float(v)),), trace=False,
                              versions={evil: seed.double}, v=(0, 3))
    head = explorer.table.value.split("</tr>")[0]
    assert "<img" not in explorer.table.value and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in head
    assert "\x1b" not in explorer.table.value and "\\x1b[2J\\u202e" in head

    def raises(x):
        if float(x.sum()) > 1:
            raise ValueError("\x1b[31m<b>bad</b>\u202e")
        return x

    explorer = jitviz.explore(raises, inputs=lambda v: (torch.full((2,), float(v)),), script=False, v=(0, 3))
    explorer.set(v=2)
    assert "\x1b" not in explorer.report() and "\\x1b[31m" in explorer.report()
    assert "<b>" not in explorer.status.value and "\u202e" not in explorer.status.value
