"""jitviz.paint: what ran, painted onto an SVG already laid out (string work, no Graphviz run).

The SVG below is written by hand in Graphviz's shape (one ``<g id=... class=...>`` per node, cluster
and edge, ``×`` escaped as ``&#215;`` or not), so these tests need no ``dot`` and pin each rule:
an if with a `then` block that ran 3 times, an `else` that never ran, and inside `then` a nested if
whose block is not counted.
"""

import dataclasses
import re

import pytest

from jitviz.drawing import EDGE, FRAME, NODE, RUNS_PLACEHOLDER, Drawing, Element
from jitviz.ir import Execution
from jitviz.paint import Painter, _runs, painted_dot
from jitviz.style import RUN_STYLES as PALETTE

GREEN, GREY = PALETTE["ran"], PALETTE["not_run"]


def _node(node_id: str, shape: str = '<polygon fill="#e3f2fd" stroke="#1565c0" points="0,0"/>') -> str:
    return (f'<g id="{node_id}" class="node">\n<title>{node_id}</title>\n{shape}\n'
            f'<text text-anchor="middle" x="1" y="2" fill="#0d47a1">op {node_id}</text>\n</g>\n')


def _cluster(cluster_id: str, label: str, path: str = '<path fill="none" stroke="#9e9e9e" d="M0,0"/>') -> str:
    return (f'<g id="{cluster_id}" class="cluster">\n<title>{cluster_id}</title>\n{path}\n'
            f'<text text-anchor="middle" x="1" y="2">{label}</text>\n</g>\n')


def _edge(edge_id: str) -> str:
    return (f'<g id="{edge_id}" class="edge">\n<title>{edge_id}</title>\n'
            '<path fill="none" stroke="#555555" d="M0,0"/>\n<polygon fill="#555555" stroke="#555555" points="0,0"/>\n'
            '<text text-anchor="middle" x="1" y="2">Tensor</text>\n</g>\n')


FRAME_PATH = '<path fill="#fff3e0" stroke="#e65100" d="M0,0"/>'
ESCAPED = RUNS_PLACEHOLDER.replace("×", "&#215;")  # how Graphviz writes the placeholder

SVG = (
    '<svg width="100pt" height="100pt">\n<g id="graph0" class="graph">\n<title>f</title>\n'
    '<polygon fill="white" stroke="none" points="0,0"/>\n'
    + _node("n1")  # top level
    + _cluster("cluster_n7", "if x &gt; 0", FRAME_PATH)
    + _cluster("cluster_n7_b0", f"then · {ESCAPED}")  # ran 3 times
    + _node("n2")
    + _cluster("cluster_n9", "if y", FRAME_PATH)  # a nested if inside `then`
    + _cluster("cluster_n9_b0", f"then · {RUNS_PLACEHOLDER}")  # not counted
    + _node("n4")
    + _cluster("cluster_n7_b1", f"else · {ESCAPED}")  # never ran
    + _cluster("cluster_n8", "if z", FRAME_PATH)  # a nested if inside `else`
    + "".join(_edge(edge) for edge in ("e_top_then", "e_top_else", "e_else_uncounted", "e_then_else"))
    + _node("n3", '<polygon fill="#e3f2fd" stroke="#1565c0" points="0,0"/>\n'
                  '<path fill="transparent" stroke="none" d="M0,0"/>')  # last: in `else`
    + "</g>\n</svg>\n"
)
REGIONS: dict[str, str | None] = {
    "n1": None, "cluster_n7": None,
    "cluster_n7_b0": "n7/0", "n2": "n7/0", "cluster_n9": "n7/0",
    "cluster_n9_b0": "n9/0", "n4": "n9/0",
    "cluster_n7_b1": "n7/1", "cluster_n8": "n7/1", "n3": "n7/1",
}
EDGE_ENDS = {"e_top_then": ("n1", "n2"), "e_top_else": ("n1", "n3"), "e_else_uncounted": ("n3", "n4"),
             "e_then_else": ("n2", "n3")}


def _drawing(regions: dict[str, str | None], edge_ends: dict[str, tuple[str, str]]) -> Drawing:
    """The drawing the SVG above was laid out from: each element's block, each edge's ends."""
    elements = {}
    for element_id, block in regions.items():
        if element_id.startswith("cluster_"):
            role = "block" if re.search(r"_b\d+$", element_id) else "if"
            elements[element_id] = Element(element_id, FRAME, role, block=block)
        else:
            elements[element_id] = Element(element_id, NODE, "aten", block=block)
    for edge_id, ends in edge_ends.items():
        elements[edge_id] = Element(edge_id, EDGE, "data", ends=ends)
    return Drawing("f", ("f",), "TB", elements)


DRAWING = _drawing(REGIONS, EDGE_ENDS)
RUNS = Execution({"n7/0": 3, "n7/1": 0})  # n9/0 is missing: its count is unknown


@pytest.fixture  # per test, not per module: mutmut links a mutant only to tests that call its function
def painted() -> str:
    return Painter(SVG, DRAWING).paint(RUNS)


def element(svg: str, element_id: str) -> str:
    (found,) = re.findall(rf'<g id="{element_id}" class="\w+">.*?</g>', svg, re.DOTALL)
    return found


def test_without_an_execution_the_svg_is_returned_as_laid_out():
    assert Painter(SVG, DRAWING).paint(None) == SVG


def test_painting_keeps_everything_outside_the_elements(painted):
    def outside(svg: str) -> str:
        return re.sub(r'<g id="\w+" class="(node|edge|cluster)">.*?</g>', "<g/>", svg, flags=re.DOTALL)

    assert outside(painted) == outside(SVG)


@pytest.mark.parametrize("element_id", ["n1", "cluster_n7", "n2", "cluster_n9", "n4", "e_top_then"])
def test_what_ran_at_the_top_or_inside_a_block_that_ran_keeps_its_own_colours(painted, element_id):
    assert element(painted, element_id) == element(SVG, element_id)


def test_each_block_cluster_says_how_often_it_ran(painted):
    assert "then · ran 3×" in element(painted, "cluster_n7_b0")
    assert "else · not run" in element(painted, "cluster_n7_b1")
    assert "then · not counted" in element(painted, "cluster_n9_b0")
    assert "?" not in painted


def test_a_block_whose_count_is_unknown_is_not_coloured(painted):
    assert element(painted, "cluster_n9_b0") == element(SVG, "cluster_n9_b0").replace(RUNS_PLACEHOLDER, "not counted")


def test_a_block_that_ran_is_filled_and_outlined_in_green_with_a_thicker_line(painted):
    cluster = element(painted, "cluster_n7_b0")
    assert f'<path stroke-width="2.5" fill="{GREEN["fill"]}" stroke="{GREEN["stroke"]}"' in cluster
    assert f'fill="{GREEN["text"]}">then · ran 3×</text>' in cluster


def test_a_block_that_never_ran_is_filled_and_outlined_in_grey(painted):
    cluster = element(painted, "cluster_n7_b1")
    assert f'<path fill="{GREY["fill"]}" stroke="{GREY["stroke"]}"' in cluster
    assert f'fill="{GREY["text"]}">else · not run</text>' in cluster
    assert "stroke-width" not in cluster


def test_a_node_that_never_ran_is_greyed_fill_outline_and_text(painted):
    node = element(painted, "n3")  # also the last element of the SVG
    assert f'<polygon fill="{GREY["fill"]}" stroke="{GREY["stroke"]}"' in node
    assert re.search(rf'<text [^>]*fill="{GREY["text"]}">op n3</text>', node)
    assert node.count("fill=") == 3  # the text's own fill was replaced, not doubled


def test_transparent_and_absent_colours_stay_so(painted):
    assert '<path fill="transparent" stroke="none"' in element(painted, "n3")


def test_a_frame_that_never_ran_keeps_its_fill_and_greys_its_outline(painted):
    frame = element(painted, "cluster_n8")
    assert f'<path fill="#fff3e0" stroke="{GREY["stroke"]}"' in frame
    assert f'fill="{GREY["text"]}">if z</text>' in frame


@pytest.mark.parametrize("edge_id", ["e_top_else", "e_then_else"])
def test_an_edge_into_or_out_of_what_never_ran_is_grey_arrowhead_included(painted, edge_id):
    edge = element(painted, edge_id)
    assert f'<path fill="none" stroke="{GREY["stroke"]}"' in edge  # a line has no fill to paint
    assert f'<polygon fill="{GREY["stroke"]}" stroke="{GREY["stroke"]}"' in edge


def test_an_edge_touching_an_uncounted_block_is_left_alone_even_from_a_block_that_never_ran(painted):
    assert element(painted, "e_else_uncounted") == element(SVG, "e_else_uncounted")


def test_one_painter_paints_many_executions_from_the_same_layout():
    painter = Painter(SVG, DRAWING)
    first = painter.paint(Execution({"n7/0": 0, "n7/1": 1, "n9/0": 0}))
    assert "then · not run" in element(first, "cluster_n7_b0") and "else · ran 1×" in element(first, "cluster_n7_b1")
    assert painter.paint(RUNS) == painter.paint(RUNS)
    assert "then · ran 3×" in element(painter.paint(RUNS), "cluster_n7_b0")


# --- painted_dot: the same colours, printed into the DOT (a PNG or PDF file, the browser's layout) ---

GREY_BLOCK = {"color": "#9e9e9e", "fontcolor": "#616161", "style": "rounded,dashed"}
AN_IF = {"color": "#e65100", "fontcolor": "#e65100", "style": "rounded"}
AN_OP = {"color": "#1565c0", "fillcolor": "#e3f2fd", "shape": "box", "style": "rounded,filled"}
FRAMES = {"cluster_n7_b0": "cluster_n7", "n2": "cluster_n7_b0", "cluster_n9": "cluster_n7_b0",
          "cluster_n9_b0": "cluster_n9", "n4": "cluster_n9_b0", "cluster_n7_b1": "cluster_n7",
          "cluster_n8": "cluster_n7_b1", "n3": "cluster_n7_b1"}


def _labelled(regions: dict[str, str | None], edge_ends: dict[str, tuple[str, str]]) -> Drawing:
    """DRAWING's elements with labels, tooltips and their own styles, as jitviz.render draws them."""
    elements = {}
    for element_id, element in _drawing(regions, edge_ends).elements.items():
        if element.kind == EDGE:
            label, style = ("Tensor",), {"fontcolor": "#616161"}
        elif element.role == "block":
            label, style = (f"block · {RUNS_PLACEHOLDER}",), dict(GREY_BLOCK)
        elif element.kind == FRAME:
            label, style = (f"if {element_id}",), dict(AN_IF)
        else:
            label, style = (f"op {element_id}", f"says {RUNS_PLACEHOLDER}"), dict(AN_OP)
        elements[element_id] = dataclasses.replace(element, label=label, tooltip=f"tip {element_id}", style=style)
    for element_id, frame in FRAMES.items():  # the frames nest as the SVG's clusters do
        elements[element_id].frame = frame
    return Drawing("f", ("f",), "TB", elements)


LABELLED = _labelled(REGIONS, EDGE_ENDS)


def _with(element_id: str, **changes) -> Drawing:
    """LABELLED with one element changed."""
    changed = dataclasses.replace(LABELLED.elements[element_id], **changes)
    return dataclasses.replace(LABELLED, elements={**LABELLED.elements, element_id: changed})


@pytest.fixture
def dot() -> str:
    return painted_dot(LABELLED, RUNS)


def statement(dot: str, element_id: str) -> str:
    """The attributes DOT gives ``element_id``: a node's or edge's ``[...]``, a frame's first line."""
    for line in dot.splitlines():
        if re.search(rf"\bid={element_id}\b", line):
            return line.strip()
    raise AssertionError(f"{element_id} is not in the DOT")


def test_painted_dot_says_how_often_each_block_ran_and_leaves_no_placeholder(dot):
    assert 'label="block · ran 3×"' in statement(dot, "cluster_n7_b0")
    assert 'label="block · not run"' in statement(dot, "cluster_n7_b1")
    assert 'label="block · not counted"' in statement(dot, "cluster_n9_b0")
    assert RUNS_PLACEHOLDER not in dot.replace(f"says {RUNS_PLACEHOLDER}", "")


def test_painted_dot_fills_only_the_placeholder_of_a_block_frame(dot):
    # a node that happens to say "ran ?×" (a string constant) says it still
    assert f'label="op n3\\nsays {RUNS_PLACEHOLDER}"' in statement(dot, "n3")


def test_painted_dot_fills_and_outlines_a_block_that_ran_in_green_with_a_thicker_line(dot):
    assert statement(dot, "cluster_n7_b0") == (
        f'color="{GREEN["stroke"]}" fillcolor="{GREEN["fill"]}" fontcolor="{GREEN["text"]}" id=cluster_n7_b0 '
        f'label="block · ran 3×" penwidth=2.5 style="rounded,dashed,filled" tooltip="tip cluster_n7_b0"')


def test_painted_dot_fills_and_outlines_a_block_that_never_ran_in_grey(dot):
    assert statement(dot, "cluster_n7_b1") == (
        f'color="{GREY["stroke"]}" fillcolor="{GREY["fill"]}" fontcolor="{GREY["text"]}" id=cluster_n7_b1 '
        f'label="block · not run" style="rounded,dashed,filled" tooltip="tip cluster_n7_b1"')


def test_painted_dot_fills_a_block_of_no_style_of_its_own():
    painted = painted_dot(_with("cluster_n7_b1", style={}), RUNS)
    assert " style=filled " in statement(painted, "cluster_n7_b1")


def test_painted_dot_leaves_a_block_whose_count_is_unknown_as_drawn(dot):
    assert statement(dot, "cluster_n9_b0") == statement(LABELLED.dot.source, "cluster_n9_b0").replace(
        RUNS_PLACEHOLDER, "not counted")


def test_painted_dot_greys_the_outline_and_text_of_a_frame_that_never_ran_but_never_fills_it(dot):
    assert statement(dot, "cluster_n8") == (
        f'color="{GREY["stroke"]}" fontcolor="{GREY["text"]}" id=cluster_n8 label="if cluster_n8" style=rounded '
        'tooltip="tip cluster_n8"')


def test_painted_dot_greys_a_node_that_never_ran_fill_outline_and_text(dot):
    assert statement(dot, "n3") == (
        f'n3 [label="op n3\\nsays {RUNS_PLACEHOLDER}" color="{GREY["stroke"]}" fillcolor="{GREY["fill"]}" '
        f'fontcolor="{GREY["text"]}" id=n3 shape=box style="rounded,filled" tooltip="tip n3"]')


@pytest.mark.parametrize("element_id", ["n1", "cluster_n7", "n2", "cluster_n9", "n4", "e_top_then", "e_else_uncounted"])
def test_painted_dot_leaves_what_ran_outside_a_block_frame_and_what_was_not_counted_as_drawn(dot, element_id):
    assert statement(dot, element_id) == statement(LABELLED.dot.source, element_id)


@pytest.mark.parametrize("edge_id", ["e_top_else", "e_then_else"])
def test_painted_dot_greys_an_edge_into_or_out_of_what_never_ran(dot, edge_id):
    start, end = EDGE_ENDS[edge_id]
    assert statement(dot, edge_id) == (
        f'{start} -> {end} [label=Tensor color="{GREY["stroke"]}" fontcolor="{GREY["text"]}" id={edge_id} '
        f'tooltip="tip {edge_id}"]')


def test_painted_dot_leaves_the_drawing_as_it_was_and_keeps_its_layout_options(dot):
    before = LABELLED.dot.source
    assert dot != before
    painted_dot(LABELLED, RUNS)
    assert LABELLED.dot.source == before and f"says {RUNS_PLACEHOLDER}" in before
    fast = painted_dot(dataclasses.replace(LABELLED, fast_layout=True), RUNS)
    assert "nslimit=1" in fast and "xlabel=Tensor" in fast
    def statements(source: str) -> list[str]:
        return [re.sub(r" ?\[.*|=.*", "", line.strip()) for line in source.splitlines()]

    assert statements(dot) == statements(before)  # the same statements, in the same frames and order


def test_the_run_count_of_an_edge_is_the_smaller_of_its_ends():
    # n2 ran 3 times, n3 never: the edge between them never ran, whichever end it starts at
    for ends in (("n2", "n3"), ("n3", "n2")):
        drawing = _drawing(REGIONS, {"e": ends})
        assert _runs(drawing, drawing.elements["e"], RUNS) == 0
    drawing = _drawing({"a": "b/0", "b": "b/1"}, {"e": ("a", "b"), "f": ("b", "a")})
    counts = Execution({"b/0": 2, "b/1": 5})
    assert _runs(drawing, drawing.elements["e"], counts) == _runs(drawing, drawing.elements["f"], counts) == 2
    for unknown in (("n4", "n3"), ("n3", "n4"), ("n4", "n4")):  # unknown wins over any count, 0 included
        drawing = _drawing(REGIONS, {"e": unknown})
        assert _runs(drawing, drawing.elements["e"], RUNS) is None


def test_only_a_block_clusters_placeholder_is_filled_in():
    # a node or an edge that happens to say "ran ?×" (a string constant) says it still, painted or not
    svg = SVG.replace(">op n3<", f">op n3 {ESCAPED}<").replace(">op n1<", f">op n1 {RUNS_PLACEHOLDER}<")
    painted = Painter(svg, DRAWING).paint(RUNS)
    assert f">op n3 {ESCAPED}</text>" in element(painted, "n3") and f"op n1 {RUNS_PLACEHOLDER}" in painted
