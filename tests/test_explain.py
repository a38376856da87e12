"""jitviz.explain: which source line became which drawn nodes, and what a line that left none says."""

import inspect
import re

import pytest
import torch

import jitviz
from jitviz import ir
from jitviz.display import GraphView
from jitviz.drawing import IN_LABELS
from jitviz.explain import drawn_sources
from jitviz.render import draw

from . import seed_functions as seed
from .source_files import module_from_source


def line_of(fn, text: str) -> int:
    """The file line number of the first line of ``fn`` containing ``text``."""
    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, line in enumerate(lines) if text in line)


def kinds(explanation, ids):
    by_id = {n.id: n for n in explanation.view.model.walk()}
    return sorted(by_id[i].kind for i in ids)


# --- the mapping, on the model ------------------------------------------------------------------


def test_a_constant_folded_into_a_label_is_drawn_nowhere_and_the_user_keeps_its_own_line():
    one = ir.SourceLocation("f.py", 1, "k = 3")
    two = ir.SourceLocation("f.py", 2, "return x + k")
    x = ir.Value("v0", "x", "Tensor")
    k = ir.Value("v1", "k", "int")
    out = ir.Value("v2", "y", "Tensor")
    constant = ir.Node("n0", "prim::Constant", outputs=[k], attributes={"value": 3}, source=one)
    add = ir.Node("n1", "aten::add", inputs=[x, k], outputs=[out], source=two)
    model = ir.Graph("f", "scripted", inputs=[x], nodes=[constant, add], outputs=[out])
    drawing = draw(model)
    assert drawing.drawn_as["n0"] == IN_LABELS and "n0" not in drawing.elements
    assert drawn_sources(GraphView(model, drawing)) == {"n1": [two]}


CHECKED = """
import torch

def checked(x):
    if x.dim() != 2:
        raise ValueError("expected a 2-D input")
    return x * 2
"""


def test_a_folded_check_stands_for_every_line_it_folds(tmp_path):
    checked = module_from_source(tmp_path, "checked_source", CHECKED).checked
    view = jitviz.show(torch.jit.script(checked))
    check = next(node for node in view.drawing.nodes() if node.role == "check")
    lines = {where.line for where in drawn_sources(view)[check.id]}
    assert lines == {line_of(checked, "if x.dim()"), line_of(checked, "raise ValueError")}
    mul = next(node for node in view.drawing.nodes() if node.label[0] == "aten::mul")
    assert [where.line for where in drawn_sources(view)[mul.id]] == [line_of(checked, "return x * 2")]


def test_every_drawn_node_and_its_lines_agree_both_ways_on_a_scripted_transformer_layer():
    layer = torch.nn.TransformerEncoderLayer(64, 4, 128, batch_first=True).eval()
    explanation = jitviz.explain(layer)
    assert explanation.sections[0].title.startswith("TransformerEncoderLayer.forward")
    drawn = explanation.view.drawing.elements
    folded = 0
    for node in explanation.view.model.walk():
        lines = explanation.lines_of(node.id)
        assert (node.id in drawn) or not lines  # only drawn nodes are linked
        for where in lines:
            assert node.id in explanation.nodes_of(where.line, where.file)
        folded += len(lines) > 1
    assert folded, "a node standing for several lines (a folded list of constants) maps to all of them"
    start = line_of(type(layer).forward, "return torch._transformer_encoder_layer_fwd(")
    fast_path = explanation.nodes_of(start, "transformer.py")
    assert "aten::_transformer_encoder_layer_fwd" in kinds(explanation, fast_path)


# --- traced: lines that left no node, and why ---------------------------------------------------


def test_the_traced_if_line_left_no_node_and_says_which_branch_the_trace_kept():
    explanation = jitviz.explain(seed.branchy, torch.ones(2, 2))
    if_line = line_of(seed.branchy, "if x.mean() > 1.0")
    else_body = line_of(seed.branchy, "r = torch.tensor(2.0)")
    then_body = line_of(seed.branchy, "r = torch.tensor(1.0)")
    assert explanation.nodes_of(if_line) == []
    assert "decided once, while tracing" in explanation.reasons[("seed_functions.py", if_line)]
    assert "else branch" in explanation.reasons[("seed_functions.py", if_line)]
    assert any("Python boolean" in m for m in explanation.warnings[("seed_functions.py", if_line)])
    assert explanation.nodes_of(else_body) and not explanation.nodes_of(then_body)
    assert explanation.reasons[("seed_functions.py", then_body)] == (
        f"not run while tracing: the then branch of the `if` on line {if_line}, which the trace left out")
    assert ("seed_functions.py", else_body) not in explanation.reasons


def add_rows(x):  # notebook 01's unrolled loop
    y = x
    for i in range(x.shape[0]):
        y = y + x[i]
    return y


def test_an_unrolled_loop_links_its_body_line_to_every_copy_and_says_so_on_the_for_line():
    explanation = jitviz.explain(add_rows, torch.ones(3))
    for_line = line_of(add_rows, "for i in range")
    body = line_of(add_rows, "y = y + x[i]")
    assert kinds(explanation, explanation.nodes_of(body)).count("aten::add") == 3
    assert "unrolled" in explanation.reasons[("test_explain.py", for_line)]
    assert "3 copies" in explanation.reasons[("test_explain.py", for_line)]


def test_a_traced_resnet_links_each_submodule_call_to_the_line_that_calls_it():
    from bench.models import ResNet18Like

    model = ResNet18Like().eval()
    explanation = jitviz.explain(model, torch.randn(1, 3, 32, 32))
    by_id = {n.id: n for n in explanation.view.model.walk()}
    stages = explanation.nodes_of(line_of(ResNet18Like.forward, "x = self.layer4("))
    assert sorted(by_id[i].attributes["module_path"] for i in stages) == ["layer1", "layer2", "layer3", "layer4"]
    stem = explanation.nodes_of(line_of(ResNet18Like.forward, "x = self.stem(x)"))
    assert [by_id[i].attributes["module_path"] for i in stem] == ["stem"]
    assert explanation.reasons == {}  # every statement of forward left a node


# --- scripted with inputs: run counts, controls --------------------------------------------------


def test_run_counts_per_line_follow_what_the_script_ran(monkeypatch):
    explanation = jitviz.explain(seed.looping, controls={"n": (0, 6)},
                                 make_inputs=lambda n: (torch.zeros(2), n))
    even = line_of(seed.looping, "x = x + i")
    odd = line_of(seed.looping, "x = x * 2")
    for n in (0, 3, 6):
        explanation.set(n=n)
        expected_even = sum(1 for i in range(n) if i % 2 == 0)
        assert explanation.runs_of(even) == expected_even
        assert explanation.runs_of(odd) == n - expected_even


@pytest.mark.exe
def test_moving_a_control_repaints_both_sides_without_a_new_layout(monkeypatch):
    explanation = jitviz.explain(seed.looping, controls={"n": (0, 6)},
                                 make_inputs=lambda n: (torch.zeros(2), n))
    front = explanation.front
    before_svg, before_source = front.svg, front.source_html
    layouts = []
    real_pipe = GraphView._pipe
    monkeypatch.setattr(GraphView, "_pipe", lambda self, fmt: layouts.append(fmt) or real_pipe(self, fmt))
    explanation.set(n=3)
    assert layouts == []
    assert front.svg != before_svg and front.source_html != before_source
    assert "×2" in front.source_html  # x = x + i ran for i = 0 and 2


def test_controls_and_inputs_together_are_refused_and_an_unknown_control_is_named():
    with pytest.raises(ValueError, match="inputs or controls"):
        jitviz.explain(seed.looping, torch.zeros(2), 3, controls={"n": (0, 6)})
    explanation = jitviz.explain(seed.looping, controls={"n": (0, 6)}, make_inputs=lambda n: (torch.zeros(2), n))
    with pytest.raises(jitviz.OptionsError, match="the controls are n"):
        explanation.set(m=1)


# --- what is shown ----------------------------------------------------------------------------------


@pytest.mark.exe
def _image_svg(html_text: str) -> str:
    import base64
    import re

    (data,) = re.findall(r'<img src="data:image/svg\+xml;base64,([^"]+)"', html_text)
    return base64.b64decode(data).decode("utf-8")


def test_the_cell_offers_the_widget_and_a_static_html_fallback():
    explanation = jitviz.explain(seed.branchy, torch.ones(2, 2))
    bundle = explanation._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    static = bundle["text/html"]
    assert "<svg" not in static and 'class="jv-line' in static  # an inline <svg> is stripped by sanitizers
    picture = _image_svg(static)  # the picture is an <img>, whose SVG carries the line colours itself
    node = explanation.nodes_of(line_of(seed.branchy, "r = torch.tensor(2.0)"))[0]
    assert f'<g id="{node}" class="node jv-c0">' in picture  # the first linked line's colour
    assert "g.node.jv-c0 > polygon" in picture and "#1f77b4" in picture
    assert "decided once, while tracing" in static
    assert bundle["text/plain"].startswith("<jitviz explanation")


@pytest.mark.exe
def test_source_text_is_escaped_and_control_characters_made_visible(tmp_path):
    module = module_from_source(tmp_path, "strange_source", 'def strange(x):\n    s = "<script>alert(1)</script>'
                                '\x1b[31m\u202e\u200b\u2028\ufeff\u061c\x85"\n    return x * 2\n')
    static = jitviz.explain(module.strange, torch.ones(2)).static_html()
    assert "<script>alert" not in static and "&lt;" in static
    for hidden in "\x1b\u202e\u200b\u2028\ufeff\u061c\x85":  # none raw: each shown as its escape
        assert hidden not in static
        assert hidden.encode("unicode_escape").decode("ascii") in static
    assert re.search(r'data-key="strange_source.py:3"', static)


@pytest.mark.exe
def test_nbconvert_html_without_widget_state_shows_the_source_beside_the_picture():
    import nbformat
    from nbconvert import HTMLExporter

    bundle = jitviz.explain(seed.branchy, torch.ones(2, 2))._repr_mimebundle_()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "jitviz.explain(branchy, torch.ones(2, 2))",
        outputs=[nbformat.v4.new_output("display_data", data=bundle)])])
    html, _ = HTMLExporter().from_notebook_node(notebook)
    body = html[html.find("<body"):]
    assert "jv-explain jv-static" in body and body.count('class="jv-line') >= 6
    assert 'src="data:image/svg+xml;base64,' in body and "decided once, while tracing" in body


def test_a_scripted_function_lists_its_python_source():
    scripted = torch.jit.script(seed.looping)
    explanation = jitviz.explain(scripted, torch.zeros(2), 3, highlight=True)
    title = explanation.sections[0].title
    assert title.startswith("looping") and "(the lines the graph recorded)" not in title
    assert [listed.code for listed in explanation.sections[0].lines] == \
        [line.rstrip("\n") for line in inspect.getsourcelines(seed.looping)[0]]
    assert explanation.runs_of(line_of(seed.looping, "x = x + i")) == 2


def test_without_the_dot_binary_the_cell_shows_the_source_and_says_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    bundle = jitviz.explain(seed.branchy, torch.ones(2, 2))._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" not in bundle
    assert 'class="jv-line' in bundle["text/html"] and "Graphviz" in bundle["text/plain"]


def test_an_option_highlight_cannot_take_is_named_not_dropped():
    with pytest.raises(TypeError, match="not repeats"):
        jitviz.explain(seed.looping, torch.zeros(2), 3, highlight=True, repeats=True)


@pytest.mark.exe
def test_a_line_and_the_nodes_it_produced_share_a_colour():
    explanation = jitviz.explain(seed.looping, torch.zeros(2), 3, highlight=True)
    links, source = explanation.front.links, explanation.front.source_html
    line_class = {key: cls for cls, key in re.findall(r'class="jv-line (jv-c\d)[^"]*" data-key="([^"]+)"', source)}
    assert len(set(line_class.values())) > 3  # neighbouring lines get different colours
    for node_id, colour in links["colours"].items():
        assert line_class[links["nodes"][node_id][0]] == f"jv-c{colour}"


def test_a_control_value_the_code_cannot_take_is_reported_and_the_picture_kept():
    def make(n):
        if n == 4:
            raise ValueError("four is not allowed here")
        return (torch.zeros(2), n)

    explanation = jitviz.explain(seed.looping, controls={"n": (0, 6)}, make_inputs=make)
    explanation.set(n=2)
    view = explanation.view
    explanation.set(n=4)
    assert "ValueError: four is not allowed here" in explanation.status.value
    assert explanation.view is view and explanation.runs_of(line_of(seed.looping, "x = x + i")) == 1


@pytest.mark.exe
def test_why_a_line_left_no_node_is_escaped_on_the_line(tmp_path):
    module = module_from_source(tmp_path, "reason_source", 'import torch\n\n\ndef reason(x):\n'
                                '    if x.sum() > 0 and "<b>&\\"x\\"</b>" != "":\n'
                                '        return x * 2\n    return x - 1\n')
    explanation = jitviz.explain(module.reason, torch.ones(2))
    (line,) = [where for where in explanation.reasons if where[1] == 5]
    assert "decided once, while tracing" in explanation.reasons[line]
    static = explanation.static_html()
    row = static[static.index('data-key="reason_source.py:5"'):]
    row = row[:row.index("</div>")]
    reason = row[row.index('class="jv-reason"'):]
    assert "<b>" not in row and "&lt;b&gt;&amp;" in reason  # the reason quotes the line, escaped
