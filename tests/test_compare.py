"""jitviz.compare: which probes a trace gets wrong, and what it froze, tied to source lines."""

import base64
import inspect
import re
import xml.etree.ElementTree as ET

import pytest
import torch

import jitviz

from . import pitfalls


def line_of(fn, text):
    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, line in enumerate(lines) if text in line)


def test_seed_branch_is_reported_frozen_with_its_line_and_the_branch_kept():
    c = jitviz.compare(pitfalls.branch, (torch.ones(2, 2),), [torch.ones(2, 2), torch.full((2, 2), 3.0)])
    assert [p.traced_agrees for p in c.probes] == [True, False]
    assert [p.scripted_agrees for p in c.probes] == [True, True]
    assert c.probes[1].eager == "tensor(1.)" and c.probes[1].traced == "tensor(2.)"
    assert c.disagreements == [c.probes[1]]
    branch = next(f for f in c.findings if f.kind == "branch")
    assert branch.where.line == line_of(pitfalls.branch, "if x.mean()")
    assert f"kept only the else branch (line {line_of(pitfalls.branch, 'tensor(2.0)')})" in branch.explanation
    (if_node,) = c.scripted.model.find("prim::If")
    assert branch.script_nodes == [if_node.id]
    assert "the trace froze this" in c.scripted.source
    # the TracerWarning about the condition is tied to the same line
    bool_warning = next(w for w in c.tracer_warnings if "Python boolean" in w.message)
    assert bool_warning.where.line == branch.where.line


@pytest.mark.parametrize(
    "fn, example, probe, kind, line_text, words",
    [
        (pitfalls.loop, torch.ones(3), torch.ones(5), "loop", "for i in range", "holds 3 copies"),
        (pitfalls.size_const, torch.ones(3), torch.ones(4), "constant", "int(x.size(0))", "a tensor size"),
        (pitfalls.length, torch.ones(3), torch.ones(4), "constant", "len(x)", "len() of a tensor"),
        (pitfalls.item, torch.ones(3), torch.full((3,), 2.0), "constant", ".item()", "(.item())"),
        (pitfalls.device, torch.ones(3), torch.ones(3), "constant", "device=x.device", "the tensor's device"),
    ],
)
def test_tracing_pitfalls_are_found_on_their_lines(fn, example, probe, kind, line_text, words):
    c = jitviz.compare(fn, (example,), [probe])
    matching = [f for f in c.findings if f.kind == kind and f.where.line == line_of(fn, line_text)]
    assert matching, [(f.kind, f.where.line) for f in c.findings]
    assert words in matching[0].explanation
    if fn is not pitfalls.device:  # a device only differs on another device (the notebook uses meta)
        assert c.probes[0].traced_agrees is False and c.probes[0].scripted_agrees is True


@pytest.mark.parametrize("fn", [pitfalls.loop_branch, pitfalls.loop_steps])
@pytest.mark.parametrize("signs", [[1.0], [1.0, -1.0], [-1.0, 1.0, 1.0], [1.0, 1.0, -1.0, -1.0], [-1.0, -1.0, -1.0]])
def test_an_unrolled_loop_whose_if_went_both_ways_counts_every_iteration(fn, signs):
    c = jitviz.compare(fn, (torch.tensor(signs),), [torch.tensor(signs)])
    (loop,) = [f for f in c.findings if f.kind == "loop"]
    n = len(signs)
    copies = "1 copy" if n == 1 else f"{n} copies"
    iterations = "1 iteration " if n == 1 else f"{n} iterations "
    assert f"holds {copies} of its body and runs exactly {iterations}" in loop.explanation


def test_unrolled_loop_nodes_are_marked_in_the_trace_picture():
    c = jitviz.compare(pitfalls.loop, (torch.ones(3),), [torch.ones(3)])
    loop = next(f for f in c.findings if f.kind == "loop")
    assert len([n for n in loop.trace_nodes if n.startswith("n")]) == 6  # 3 x (select, add)
    assert c.traced.source.count("⚠ frozen (line") == 6


@pytest.mark.exe
def test_when_scripting_fails_eager_and_traced_are_still_compared():
    def not_scriptable(x):
        return x * len([v for v in x.tolist() if v > 0] + [object()])

    c = jitviz.compare(not_scriptable, (torch.ones(2),), [torch.ones(2), -torch.ones(3)])
    assert c.scripted is None and "Scripting not_scriptable failed" in c.script_error
    assert [p.scripted for p in c.probes] == [None, None]
    assert [p.traced_agrees for p in c.probes] == [True, False]
    assert "scripting failed" in repr(c) and "scripting failed" in c._repr_html_()


def test_a_probe_that_does_not_fit_is_reported_not_raised():
    c = jitviz.compare(pitfalls.length, (torch.ones(3),), [(torch.ones(3), torch.ones(3))])
    assert c.probes[0].eager.startswith("error: TypeError")
    assert c.probes[0].traced.startswith("error:")


@pytest.mark.exe
def test_html_shows_table_and_both_pictures_and_escapes_text():
    c = jitviz.compare(pitfalls.branch, (torch.ones(2, 2),), [torch.full((2, 2), 3.0)])
    page = c._repr_html_()
    # both pictures, as <img> of their SVG (an untrusted notebook drops inline <svg>)
    found = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    pictures = [base64.b64decode(data).decode() for data in found]
    assert pictures == [c.traced.svg(), c.scripted.svg()] and "<svg" not in page and "✗" in page
    assert "<code>if x.mean() &gt; 1.0:</code>" in page  # the TracerWarning's line, escaped
    ET.fromstring(f"<root>{page.replace('<br>', '<br/>')}</root>")  # well-formed


def test_text_form_is_deterministic():
    args = (pitfalls.branch, (torch.ones(2, 2),), [torch.full((2, 2), 3.0)])
    assert repr(jitviz.compare(*args)) == repr(jitviz.compare(*args))
    assert "0x" not in repr(jitviz.compare(*args))


def test_a_baked_device_shows_on_a_meta_probe_without_a_gpu():
    c = jitviz.compare(pitfalls.device, (torch.ones(3),), [torch.ones(3, device="meta")])
    (probe,) = c.probes
    assert probe.inputs == "meta Tensor(3)" and probe.eager == "meta Tensor(3)"
    assert probe.traced == "error: RuntimeError: Tensor on device cpu is not on the expected device meta!"
    assert not probe.traced_agrees
    assert probe.scripted == "meta Tensor(3)" and probe.scripted_agrees


def test_tracer_warnings_are_tied_to_their_line_and_its_trace_nodes():
    c = jitviz.compare(pitfalls.branch, (torch.ones(2, 2),), [torch.ones(2, 2)])
    constant_warning = next(w for w in c.tracer_warnings if "registered as constants" in w.message)
    assert constant_warning.where.line == line_of(pitfalls.branch, "tensor(2.0)")
    drawn = {n.id: n for n in c.traced.model.walk()}
    assert constant_warning.trace_nodes and all(
        drawn[n].source.line == constant_warning.where.line for n in constant_warning.trace_nodes)
    assert {drawn[n].kind for n in constant_warning.trace_nodes} >= {"aten::to", "aten::detach"}


def test_tracer_warnings_from_another_file_name_that_file(tmp_path, monkeypatch):
    (tmp_path / "library_helpers.py").write_text(
        "def positive_part(x):\n"
        "    if x.sum() > 0:\n"
        "        return x\n"
        "    return -x\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from library_helpers import positive_part

    def uses_a_library(x):
        return positive_part(x) * 2

    c = jitviz.compare(uses_a_library, (torch.ones(2),), [-torch.ones(2)])
    (warning,) = [w for w in c.tracer_warnings if w.where.file == "library_helpers.py"]
    assert warning.where.line == 2
    assert "line 2 of library_helpers.py" in repr(c) and "line 2 of library_helpers.py" in c._repr_html_()
    assert f"line {line_of(uses_a_library, 'positive_part(x) * 2')} of" not in repr(c)  # its own lines stay short


def test_the_public_functions_are_not_shadowed_by_modules_of_the_same_name():
    import sys

    import jitviz.comparison
    import jitviz.graph_diff

    assert jitviz.compare is jitviz.comparison.compare and jitviz.diff is jitviz.graph_diff.diff
    # `import jitviz.compare` would otherwise be a module and `jitviz.compare(...)` a function
    assert "jitviz.compare" not in sys.modules and "jitviz.diff" not in sys.modules


def test_a_result_of_the_wrong_length_is_counted_in_words_that_agree_with_the_number():
    from jitviz.results import agree

    one = torch.ones(1)
    assert agree((one, one), (one,)) == (False, "1 result instead of 2")
    assert agree((one,), (one, one)) == (False, "2 results instead of 1")


@pytest.mark.parametrize("rows, columns", [(3, 2), (2, 4), (1, 3)])
def test_an_outer_loop_counts_its_own_iterations_not_its_inner_loops(rows, columns):
    c = jitviz.compare(pitfalls.loop_nested, (torch.ones(rows, columns),), [torch.ones(rows, columns)])
    loops = [f for f in c.findings if f.kind == "loop"]
    outer = next(f for f in loops if f.where.line == line_of(pitfalls.loop_nested, "for i in"))
    assert f"runs exactly {rows} iteration{'s' if rows != 1 else ''} for" in outer.explanation
    inner = next(f for f in loops if f.where.line == line_of(pitfalls.loop_nested, "for j in"))
    assert f"holds {rows * columns} copies" in inner.explanation  # every copy the trace holds, all rows
