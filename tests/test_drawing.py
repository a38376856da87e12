"""jitviz.drawing: the Drawing a picture is decided in, and the DOT printed from it.

The drawing below is made by hand, element by element, so these tests need no model and no ``dot``
and pin what every reader of a drawing relies on: which elements are nodes and edges, where each
model node is drawn, and the DOT, byte for byte: each element in its own frame, every node, edge and
painted frame carrying its id, a submodule's frame none, every label and tooltip escaped.
"""

import dataclasses
import xml.etree.ElementTree as ET

import pytest

import jitviz
from jitviz.drawing import EDGE, FRAME, IN_LABELS, NODE, RUNS_PLACEHOLDER, Drawing, Element


def _drawing(**changes) -> Drawing:
    """``f`` with an input, a submodule's frame holding a mul, and an if whose `then` holds a relu."""
    elements = [
        Element("in_x", NODE, "input", ("x: Tensor",), "graph input %x", stands_for=("v0",),
                style={"shape": "invhouse"}),
        Element("cluster_scope_fc", FRAME, "scope", ("fc",), stands_for=()),
        Element("n1", NODE, "aten", ("aten::mul", "other=2"), "aten::mul (f.py:2)", frame="cluster_scope_fc",
                stands_for=("n1", "n0")),
        Element("cluster_n2", FRAME, "if", ("if x:",), "prim::If (f.py:3)", stands_for=("n2",),
                style={"style": "rounded"}),
        Element("cluster_n2_b0", FRAME, "block", (f"then · {RUNS_PLACEHOLDER}",), frame="cluster_n2"),
        Element("n3", NODE, "aten", ("aten::relu",), block="n2/0", frame="cluster_n2_b0", stands_for=("n3",)),
        Element("cluster_n2_b1", FRAME, "block", ("else",), frame="cluster_n2"),  # nothing inside
        Element("e0", EDGE, "data", ("Tensor",), ends=("in_x", "n1")),
        Element("e1", EDGE, "control", (), "mul to relu", ends=("n1", "n3"), style={"style": "dashed"}),
    ]
    drawing = Drawing("f", ("f (scripted)", "a note"), "LR", {element.id: element for element in elements},
                      not_drawn={"n9": IN_LABELS, "n3": "dropped"})
    return dataclasses.replace(drawing, **changes)


EXPECTED = """\
digraph f {
	graph [fontname=Helvetica fontsize=11 labelloc=t nodesep=0.3 rankdir=LR ranksep=0.35]
	graph [label="f (scripted)\\na note"]
	node [fontname=Helvetica fontsize=11 height=0.3]
	edge [arrowsize=0.7 fontname=Helvetica]
	in_x [label="x: Tensor" id=in_x shape=invhouse tooltip="graph input %x"]
	subgraph cluster_scope_fc {
		label=fc
		n1 [label="aten::mul\\nother=2" id=n1 tooltip="aten::mul (f.py:2)"]
	}
	subgraph cluster_n2 {
		id=cluster_n2 label="if x:" style=rounded tooltip="prim::If (f.py:3)"
		subgraph cluster_n2_b0 {
			id=cluster_n2_b0 label="then · ran ?×"
			n3 [label="aten::relu" id=n3]
		}
		subgraph cluster_n2_b1 {
			id=cluster_n2_b1 label=else
		}
	}
	in_x -> n1 [label=Tensor id=e0]
	n1 -> n3 [id=e1 style=dashed tooltip="mul to relu"]
}
"""


def test_the_dot_is_printed_byte_for_byte_from_the_drawing():
    assert _drawing().dot.source == EXPECTED
    assert _drawing().dot.source == _drawing().dot.source  # the same drawing, the same bytes


def test_nodes_and_edges_are_listed_in_drawing_order_and_frames_are_neither():
    drawing = _drawing()
    assert [node.id for node in drawing.nodes()] == ["in_x", "n1", "n3"]
    assert [edge.id for edge in drawing.edges()] == ["e0", "e1"]
    assert drawing.node_count == 3
    assert _drawing(elements={}).node_count == 0


def test_drawn_as_maps_every_model_node_to_its_drawn_node_and_not_drawn_wins():
    drawn_as = _drawing().drawn_as
    assert drawn_as["n0"] == "n1" and drawn_as["n1"] == "n1"  # a folded node lists what it folds
    assert drawn_as["v0"] == "in_x"
    assert drawn_as["n9"] == IN_LABELS
    assert drawn_as["n3"] == "dropped"  # what not_drawn says, even over a node that names it
    assert "n2" not in drawn_as  # a frame shows no model node by itself: only drawn nodes count
    assert set(drawn_as) == {"v0", "n1", "n0", "n3", "n9"}


def test_each_node_and_frame_is_printed_inside_its_own_frame():
    lines = _drawing().dot.source.splitlines()
    opened = {line.strip().split()[1]: index for index, line in enumerate(lines) if "subgraph" in line}
    at = {name: next(i for i, line in enumerate(lines) if line.strip().startswith(f"{name} [")) for name in
          ("in_x", "n1", "n3")}
    assert at["in_x"] < opened["cluster_scope_fc"]  # the top level, outside every frame
    assert opened["cluster_scope_fc"] < at["n1"] < opened["cluster_n2"]
    assert opened["cluster_n2"] < opened["cluster_n2_b0"] < at["n3"]
    assert lines[at["n3"]].startswith("\t\t\t")  # two frames deep


def test_a_painted_frame_carries_its_id_and_a_submodules_frame_none():
    source = _drawing().dot.source
    assert "id=cluster_n2 " in source and "id=cluster_n2_b0 " in source
    assert "id=cluster_scope_fc" not in source


def test_every_node_and_edge_carries_its_id():
    source = _drawing().dot.source
    assert 'in_x [label="x: Tensor" id=in_x ' in source
    assert "in_x -> n1 [label=Tensor id=e0]" in source and "n1 -> n3 [id=e1 " in source


def test_in_the_fast_layout_edge_labels_are_placed_after_layout_and_passes_capped():
    source = _drawing(fast_layout=True).dot.source
    assert "\tgraph [nslimit=1 nslimit1=1]\n" in source
    assert "in_x -> n1 [id=e0 xlabel=Tensor]" in source
    assert "n1 -> n3 [id=e1 style=dashed tooltip=\"mul to relu\"]" in source  # no label: none made up
    assert ' label="aten::relu"' in source.replace("[label=", " label=")  # node labels stay labels
    assert "nslimit" not in _drawing().dot.source


@pytest.mark.parametrize("text, printed", [
    ('<b>&"x"</b>', '"<b>&\\"x\\"</b>"'),  # quoted, never an HTML label
    ("<b>", '"<b>"'),
    ("back\\slash \\N \\l", '"back\\\\slash \\\\N \\\\l"'),  # DOT's escapes written as text
    ("{x|y}", '"{x|y}"'),
    ("ünï©ødé ✓", '"ünï©ødé ✓"'),
])
def test_every_label_and_tooltip_is_escaped(text, printed):
    elements = {
        "n1": Element("n1", NODE, "aten", (text, text), text),
        "cluster_n2": Element("cluster_n2", FRAME, "if", (text,), text),
        "n3": Element("n3", NODE, "aten", ("y",), frame="cluster_n2"),
        "e0": Element("e0", EDGE, "data", (text,), text, ends=("n1", "n3")),
    }
    source = Drawing("f", (text,), "TB", elements).dot.source
    body = printed[1:-1]
    assert f'graph [label="{body}"]' in source
    assert f'n1 [label="{body}\\n{body}" id=n1 tooltip="{body}"]' in source
    assert f'id=cluster_n2 label="{body}" tooltip="{body}"' in source
    assert f'n1 -> n3 [label="{body}" id=e0 tooltip="{body}"]' in source


def test_an_element_without_a_label_or_tooltip_prints_none():
    elements = {"n1": Element("n1", NODE, "aten"), "n2": Element("n2", NODE, "aten", tooltip=""),
                "e0": Element("e0", EDGE, "data", ends=("n1", "n2"))}
    source = Drawing("g", ("g",), "TB", elements).dot.source
    assert '\tn1 [label="" id=n1]\n' in source
    assert '\tn2 [label="" id=n2 tooltip=""]\n' in source  # an empty tooltip is still one
    assert "\tn1 -> n2 [id=e0]\n" in source


def shout(s: str, loud: bool) -> str:
    if loud:
        return s + '<b>&"x"</b>'
    return s + "\x07\x1b[2J"


def _shown_as_written(source: str, svg_text: str) -> None:
    assert 'label="aten::add\\nb=\'<b>&\\"x\\"</b>\'"' in source  # quoted for DOT, never an HTML label
    assert "label=\"aten::add\\nb='\\\\x07\\\\x1b[2J'\"" in source  # the control characters as escapes
    assert "\x07" not in source and "\x1b" not in source
    svg = ET.fromstring(svg_text)  # raises where a character breaks the XML
    texts = [text.text for text in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert "b='<b>&\"x\"</b>'" in texts and "b='\\x07\\x1b[2J'" in texts
    titles = [a.get("{http://www.w3.org/1999/xlink}title") or "" for a in svg.iter("{http://www.w3.org/2000/svg}a")]
    assert any("return s + '<b>&\"x\"</b>'" in title for title in titles)  # the tooltips too
    assert any('return s + "\\x07\\x1b[2J"' in title for title in titles)
    assert not any(tag.tag.endswith("}b") for tag in svg.iter())  # the <b> stayed text


@pytest.mark.exe
def test_a_string_constant_and_a_control_character_are_drawn_as_written_and_keep_the_svg_well_formed():
    view = jitviz.show(shout)
    labels = [node.label for node in view.drawing.nodes()]
    assert ("aten::add", "b='<b>&\"x\"</b>'") in labels
    assert ("aten::add", "b='\\x07\\x1b[2J'") in labels
    _shown_as_written(view.source, view.svg())
    painted = jitviz.show(shout, "a", True, highlight=True)  # the else branch never ran: painted grey
    assert "else · not run" in painted.painted_source
    _shown_as_written(painted.painted_source, painted.svg())
