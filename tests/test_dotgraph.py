"""jitviz.dotgraph.Digraph writes the DOT graphviz.Digraph writes, for every kind of string."""

import graphviz
import pytest

from jitviz.dotgraph import Digraph

STRINGS = ["plain", "two words", "-4.2", "", "node", "EDGE", "<<b>bold</b>>", graphviz.nohtml("<<b>bold</b>>"),
           '"quoted"', 'a \\"b\\" c', "back\\\\slash", "new\\nline", "ünï \x1b", "port:name:n", "<b>&\"x\"</b>"]


def _build(cls):
    dot = cls(name="g")
    dot.attr("graph", label=STRINGS[5], rankdir="TB")
    for index, text in enumerate(STRINGS):
        dot.node(f"n{index}", text, tooltip=text, id=f"n{index}", **{"style": "rounded,filled", "xlabel": text})
        dot.edge(f"n{index}", "port:name:n", label=text, _attributes=[("color", "red")])
    dot.node("bare")
    dot.node("unset", color=None)  # None: left out
    with dot.subgraph(name="cluster_x") as cluster:
        cluster.attr(label=STRINGS[6])
        cluster.node("inside", STRINGS[7])
    return dot.source


@pytest.mark.filterwarnings("ignore::graphviz.exceptions.DotSyntaxWarning")
def test_the_dot_is_byte_for_byte_what_graphviz_writes():
    assert _build(Digraph) == _build(graphviz.Digraph)
    assert _build(Digraph) == _build(Digraph)  # and again, from what it remembered
