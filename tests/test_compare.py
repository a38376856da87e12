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
    assert "line 2 of library_helpers.py" in repr(c)
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


def test_the_text_form_gives_the_verdict_then_each_probe_then_each_finding():
    c = jitviz.compare(pitfalls.branch, (torch.ones(2, 2),), [torch.ones(2, 2), torch.full((2, 2), 3.0)])
    assert c.script_error is None
    lines = repr(c).splitlines()
    assert lines[0] == "<jitviz comparison of branchy: traced disagrees with eager on 1 of 2 probes, scripted on 0>"
    for line, mark, probe in zip(lines[1:3], ["ok ", "BAD"], c.probes):
        results = f"eager {probe.eager} | traced {probe.traced} | scripted {probe.scripted}"
        assert line == f"  {mark} {probe.inputs}: {results}"
    assert lines[3:] == [f"  line {f.where.line} ({f.kind}): {f.explanation}" for f in c.findings]
    assert len(c.findings) == 2  # the branch, and the torch.tensor line's warning


def not_scriptable(x):
    return x * len([v for v in x.tolist() if v > 0] + [object()])


def test_when_scripting_fails_the_text_form_says_why_in_its_first_two_lines():
    c = jitviz.compare(not_scriptable, (torch.ones(2),), [-torch.ones(2)])
    lines = repr(c).splitlines()
    assert lines[0].endswith("disagrees with eager on 1 of 1 probes; scripting failed>")
    probe = c.probes[0]
    assert lines[1] == f"  BAD {probe.inputs}: eager {probe.eager} | traced {probe.traced}"
    assert lines[-1] == ("  scripting failed: Scripting not_scriptable failed: "
                         "Comprehension ifs are not supported yet:")


@pytest.mark.exe
def test_the_notebook_output_is_the_html_report_with_the_text_form_as_plain_text():
    c = jitviz.compare(pitfalls.branch, (torch.ones(2, 2),), [torch.full((2, 2), 3.0)])
    assert c._repr_mimebundle_() == {"text/html": c._repr_html_(), "text/plain": repr(c)}


def _page(comparison):
    """The report's HTML, and parsed, after checking no text sits loose between its blocks."""
    page = comparison._repr_html_()
    root = ET.fromstring(f"<root>{page.replace('<br>', '<br/>')}</root>")
    blocks = [e for e in root.iter() if e.tag in ("div", "p", "table", "thead", "tbody", "tr", "ul", "li", "pre")]
    assert not (root.text or "").strip() and all(not (e.tail or "").strip() for e in blocks)
    return page, root


@pytest.mark.exe
def test_the_html_table_marks_each_disagreeing_cell():
    from jitviz.style import HTML_STYLES

    # a list probe: eager Python repeats it, the traced and scripted code want a tensor
    c = jitviz.compare(pitfalls.length, (torch.ones(3),), [torch.ones(3), torch.ones(4), [1, 2]])
    page, root = _page(c)
    rows = [[(cell.get("style"), "".join(cell.itertext())) for cell in row] for row in root.iter("tr")]
    assert [text for _, text in rows[0]] == ["probe", "eager", "traced", "scripted"]
    body = rows[1:]
    assert len(body) == 3 and page.count("<tr>") == 4
    for (probe, eager, traced, scripted), result in zip(body, c.probes):
        assert probe[1] == result.inputs and eager[1] == result.eager
        assert traced == (("", f"{result.traced} ✓") if result.traced_agrees
                          else (HTML_STYLES["wrong"], f"{result.traced} ✗ {result.traced_difference}"))
        assert scripted == (("", f"{result.scripted} ✓") if result.scripted_agrees
                            else (HTML_STYLES["wrong"], f"{result.scripted} ✗"))
    assert [p.traced_agrees for p in c.probes] == [True, False, False]
    assert [p.scripted_agrees for p in c.probes] == [True, True, False]


@pytest.mark.exe
def test_the_html_lists_the_findings_and_the_warnings_with_their_lines():
    c = jitviz.compare(pitfalls.branch, (torch.ones(2, 2),), [torch.ones(2, 2)])
    page, root = _page(c)
    lists = list(root.iter("ul"))
    assert len(lists) == 2 and "What the trace froze:" in page and "TracerWarnings while tracing:" in page
    assert ["".join(item.itertext()) for item in lists[0]] == [
        f"line {f.where.line}: {f.explanation}" for f in c.findings]
    warnings_listed = ["".join(item.itertext()) for item in lists[1]]
    assert len(warnings_listed) == len(c.tracer_warnings) >= 2
    for listed, warning in zip(warnings_listed, c.tracer_warnings):
        nodes = len(warning.trace_nodes)
        assert listed == (f"line {warning.where.line} {warning.where.code}: {warning.message} "
                          f"({nodes} trace node{'' if nodes == 1 else 's'} from this line)")
    titles = [b.text for div in root.iter("div") for b in div.findall("b")]
    assert titles[-2:] == ["traced", "scripted"]


@pytest.mark.exe
def test_the_html_of_a_comparison_with_nothing_frozen_says_so():
    c = jitviz.compare(lambda x: x * 2, (torch.ones(2),), [torch.ones(3)])
    page, _ = _page(c)
    assert c.findings == [] and c.tracer_warnings == []
    assert "<p>The trace froze nothing that jitviz can see.</p>" in page
    assert "What the trace froze" not in page and "TracerWarnings" not in page


@pytest.mark.exe
def test_the_html_shows_why_scripting_failed_in_place_of_the_scripted_picture():
    c = jitviz.compare(not_scriptable, (torch.ones(2),), [torch.ones(2)])
    page, root = _page(c)
    assert [b.text for div in root.iter("div") for b in div.findall("b")][-2:] == ["traced", "scripting failed"]
    assert [pre.text for pre in root.iter("pre")] == [c.script_error]
    assert "<td>—</td>" in page


@pytest.mark.parametrize("example, probes, message", [
    (torch.ones(2), [], "example_inputs must be a tuple of fn's inputs, such as (torch.ones(2, 2),), "
                        "not a Tensor(2) float32: wrap it, (x,)."),
    (None, [], "example_inputs must be a tuple of fn's inputs, such as (torch.ones(2, 2),), not None."),
    ((torch.ones(2),), torch.ones(2), "probe_inputs must be a list of probes (each one input, or a tuple of "
                                      "inputs), such as [torch.zeros(2, 2)], not a Tensor(2) float32: a tensor "
                                      "would be taken row by row; wrap it, [x]."),
    ((torch.ones(2),), "ab", "probe_inputs must be a list of probes (each one input, or a tuple of inputs), "
                             "such as [torch.zeros(2, 2)], not a str."),
    ((torch.ones(2),), None, "probe_inputs must be a list of probes (each one input, or a tuple of inputs), "
                             "such as [torch.zeros(2, 2)], not None."),
])
def test_inputs_in_the_wrong_shape_are_refused_with_what_to_write_instead(example, probes, message):
    with pytest.raises(jitviz.OptionsError) as refused:
        jitviz.compare(pitfalls.length, example, probes)
    assert str(refused.value) == message


def test_a_loop_that_ran_zero_times_while_tracing_says_so():
    c = jitviz.compare(pitfalls.loop, (torch.ones(0),), [torch.ones(2)])
    (loop,) = [f for f in c.findings if f.kind == "loop"]
    assert loop.where.line == line_of(pitfalls.loop, "for i in range")
    assert loop.explanation == ("`for i in range(x.shape[0]):` ran zero times while tracing, "
                                "so the trace has no trace of its body.")
    (scripted_loop,) = c.scripted.model.find("prim::Loop")
    assert loop.trace_nodes == [] and loop.script_nodes == [scripted_loop.id]


def test_a_loop_written_on_one_line_counts_its_iterations():
    c = jitviz.compare(pitfalls.loop_one_line, (torch.ones(3),), [torch.ones(5)])
    (loop,) = [f for f in c.findings if f.kind == "loop"]
    assert "holds 3 copies of its body and runs exactly 3 iterations" in loop.explanation


def test_a_branch_whose_taken_side_traced_nothing_is_still_reported():
    c = jitviz.compare(pitfalls.only_then, (-torch.ones(2),), [torch.ones(2)])
    (branch,) = [f for f in c.findings if f.kind == "branch"]
    assert branch.explanation == ("`if x.sum() > 0:` was decided once, while tracing: the trace recorded only "
                                  "the branch its example input took, for every input.")
    assert c.probes[0].traced_agrees is False


def test_repeated_tracer_warnings_on_one_line_are_one_finding_with_that_lines_nodes():
    c = jitviz.compare(pitfalls.tensor_in_loop, (torch.ones(3),), [torch.ones(3)])
    line = line_of(pitfalls.tensor_in_loop, "torch.tensor(1.0)")
    assert len([w for w in c.tracer_warnings if w.where.line == line]) == 3  # one per iteration
    (warning,) = [f for f in c.findings if f.where.line == line]
    assert warning.kind == "warning"
    assert warning.explanation == "TracerWarning: torch.tensor results are registered as constants in the trace."
    drawn = {n.id: n for n in c.traced.model.walk()}
    assert warning.trace_nodes and {drawn[n].source.line for n in warning.trace_nodes} == {line}


def test_each_line_that_reads_values_once_is_one_finding():
    c = jitviz.compare(pitfalls.two_reads, (torch.ones(3),), [torch.ones(4)])
    constants = [f for f in c.findings if f.kind == "constant"]
    assert [f.where.line for f in constants] == [line_of(pitfalls.two_reads, "len(x)"),
                                                 line_of(pitfalls.two_reads, "return x * x.max()")]
    assert constants[1].explanation == ("`return x * x.max().item() / n` read a tensor value (.item()) while "
                                        "tracing, and the trace keeps the value it had then as a constant.")


def test_a_tracer_warning_of_one_sentence_is_quoted_whole():
    c = jitviz.compare(pitfalls.warns, (torch.ones(2),), [torch.ones(2)])
    assert [f.explanation for f in c.findings] == ["TracerWarning: One sentence only."]


@pytest.mark.parametrize("fn", [pitfalls.loop, pitfalls.LoopModule()])
def test_what_torchscripts_builtins_read_is_reported_on_the_users_line(fn):
    c = jitviz.compare(fn, (torch.ones(3),), [torch.ones(4)])
    code = type(fn).forward if isinstance(fn, torch.nn.Module) else fn
    header = line_of(code, "for i in range")
    assert {(f.kind, f.where.line) for f in c.findings} == {("constant", header), ("loop", header)}
    assert {f.where.file for f in c.findings} == {"pitfalls.py"}


@pytest.mark.parametrize("fn, example", [(pitfalls.branch, torch.ones(2, 2)), (pitfalls.size_const, torch.ones(3)),
                                         (pitfalls.loop, torch.ones(3)), (pitfalls.item, torch.ones(3))])
def test_every_finding_marks_its_nodes_and_never_a_constant_in_both_pictures(fn, example):
    c = jitviz.compare(fn, (example,), [example])
    traced = {n.id: n for n in c.traced.model.walk()}
    for finding in (f for f in c.findings if f.kind != "warning"):
        assert finding.script_nodes, finding
        for node in finding.script_nodes:
            assert c.scripted.drawing.drawn_as.get(node) in _marked(c.scripted.source, "the trace froze this")
        assert all(traced[n].kind != "prim::Constant" for n in finding.trace_nodes)
        assert set(finding.trace_nodes) <= _marked(c.traced.source, "frozen")
    frozen = [f for f in c.findings if f.kind in ("branch", "loop")]
    assert all(f.trace_nodes for f in frozen)


def _marked(dot, words):
    """The ids of the DOT nodes whose label carries a mark with ``words``."""
    return set(re.findall(rf'^\s+(\w+) \[label="[^"]*⚠ {words}', dot, re.MULTILINE))


@pytest.mark.exe
def test_the_html_names_the_file_of_a_line_in_another_file(tmp_path, monkeypatch):
    (tmp_path / "library_helpers.py").write_text("def positive_part(x):\n    if x.sum() > 0:\n        return x\n"
                                                 "    return -x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from library_helpers import positive_part

    def uses_a_library(x):
        return positive_part(x) * 2

    page = jitviz.compare(uses_a_library, (torch.ones(2),), [-torch.ones(2)])._repr_html_()
    assert "<li><b>line 2 of library_helpers.py</b>: TracerWarning:" in page  # what the trace froze
    assert "<li>line 2 of library_helpers.py <code>if x.sum() &gt; 0:</code>" in page  # the warnings
