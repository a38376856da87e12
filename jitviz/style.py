"""The style table: how each category of node, block and edge looks in a picture.

Every colour and shape in jitviz comes from here (the pictures, the run highlight and the teaching
views' HTML reports; tests/test_style.py checks no other module spells a colour), so the README's
legend and the pictures agree.
"""

from __future__ import annotations

from .ir import COMPILED_GRAPH, GRAPH_BREAK

__all__ = ["CATEGORIES", "NODE_STYLE", "MARK_STYLES", "RUN_STYLES", "HTML_STYLES", "CLUSTER_STYLE", "IF_KINDS",
           "EDGE_STYLE", "GRAPH_STYLE", "category"]

#: Category name -> what it means, in the order of the README's legend.
CATEGORIES = {
    "input": "a graph input (name: type)",
    "output": "a graph output",
    "parameter": "an exported program's parameter, buffer or constant (a graph input torch.export lifted)",
    "aten": "an ATen operator (aten::mul, aten::conv2d): the tensor maths",
    "prim": "a TorchScript primitive (prim::ListConstruct, prim::TupleUnpack...)",
    "if": "prim::If (or torch.cond): the condition, with one cluster per branch",
    "loop": "prim::Loop: the loop, with its body as a cluster",
    "nested": "an if or loop nested deeper than nesting= allows, drawn as one node standing for all inside it",
    "call": "a call (prim::CallFunction / prim::CallMethod) naming the callee",
    "check": "checks folded into one node (a raise, a warning, the lines they check), or a branch that cannot run now",
    "constant": "a constant, drawn as a node only with constants='nodes'",
    "block": "the parameters or the returns (-> ...) of a block",
    "join": "where the branches of an if, or the iterations of a loop, meet again",
    "scope": "a grey-blue frame: the submodule an inlined trace or an exported program recorded",
    "break": "a graph break: the line torch.compile ran in Python between two compiled graphs",
}

NODE_STYLE: dict[str, dict[str, str]] = {
    "input": {"shape": "invhouse", "style": "filled", "fillcolor": "#dcedc8", "color": "#558b2f"},
    "output": {"shape": "house", "style": "filled", "fillcolor": "#dcedc8", "color": "#558b2f"},
    "parameter": {"shape": "invhouse", "style": "filled,dashed", "fillcolor": "#f1f8e9", "color": "#9e9e9e",
                  "fontsize": "10"},
    "aten": {"shape": "box", "style": "rounded,filled", "fillcolor": "#e3f2fd", "color": "#1565c0"},
    "prim": {"shape": "box", "style": "rounded,filled", "fillcolor": "#f3e5f5", "color": "#6a1b9a"},
    "if": {"shape": "diamond", "style": "filled", "fillcolor": "#ffe0b2", "color": "#e65100"},
    "loop": {"shape": "hexagon", "style": "filled", "fillcolor": "#ffe0b2", "color": "#e65100"},
    "nested": {"shape": "box3d", "style": "filled,dashed", "fillcolor": "#fff3e0", "color": "#e65100",
               "fontsize": "10"},
    "call": {"shape": "component", "style": "filled", "fillcolor": "#fff9c4", "color": "#f9a825"},
    "check": {"shape": "note", "style": "filled,dashed", "fillcolor": "#fafafa", "color": "#9e9e9e",
              "fontcolor": "#616161", "fontsize": "9"},
    "constant": {"shape": "box", "style": "filled", "fillcolor": "#eeeeee", "color": "#9e9e9e"},
    "block": {"shape": "box", "style": "rounded,dashed", "color": "#757575", "fontsize": "10"},
    "break": {"shape": "octagon", "style": "filled", "fillcolor": "#fce4ec", "color": "#ad1457",
              "fontcolor": "#880e4f", "fontsize": "10"},
    "join": {"shape": "invtrapezium", "style": "filled", "fillcolor": "#ffe0b2", "color": "#e65100",
             "fontsize": "10"},
}

#: Laid over a node's own style where jitviz points at it: a warning (what a trace froze), or
#: what a graph pass removed or added.
MARK_STYLES = {
    "warn": {"color": "#c62828", "penwidth": "2.5", "fontcolor": "#b71c1c"},
    "removed": {"color": "#c62828", "penwidth": "2.5", "fontcolor": "#b71c1c", "style": "dashed,rounded,filled",
                "fillcolor": "#ffebee"},
    "added": {"color": "#2e7d32", "penwidth": "2.5", "fontcolor": "#1b5e20", "style": "rounded,filled",
              "fillcolor": "#e8f5e9"},
}

#: Laid over a drawn element to show whether it ran (``jitviz.paint``, on the SVG or the DOT).
RUN_STYLES = {
    "ran": {"stroke": "#2e7d32", "text": "#1b5e20", "fill": "#f1f8e9"},
    "not_run": {"stroke": "#c8c8c8", "text": "#a0a0a0", "fill": "#f7f7f7"},
}

#: Inline CSS of the teaching views' HTML reports: a result that disagrees with eager or an input
#: that failed ("wrong"), an error message ("error"), and a count a pass raised or lowered (the
#: colours of the "added" and "removed" marks, so the table agrees with the pictures).
HTML_STYLES = {
    "wrong": "background:#ffebee;color:#b71c1c;font-weight:bold",
    "error": "color:#b71c1c",
    "more": f"color:{MARK_STYLES['added']['color']}",
    "fewer": f"color:{MARK_STYLES['removed']['color']}",
}

CLUSTER_STYLE: dict[str, dict[str, str]] = {
    "if": {"style": "rounded", "color": "#e65100", "fontcolor": "#e65100"},
    "loop": {"style": "rounded", "color": "#e65100", "fontcolor": "#e65100"},
    "call": {"style": "rounded", "color": "#f9a825", "fontcolor": "#8d6e00"},
    "block": {"style": "rounded,dashed", "color": "#9e9e9e", "fontcolor": "#616161"},
    "scope": {"style": "rounded,filled", "color": "#cfd8dc", "fillcolor": "#f8fafb", "fontcolor": "#546e7a"},
}

EDGE_STYLE: dict[str, dict[str, str]] = {
    "data": {"fontsize": "9", "fontcolor": "#616161"},
    "control": {"style": "dashed", "color": "#e65100", "fontsize": "9", "fontcolor": "#e65100"},
    "carry": {"style": "dashed", "color": "#e65100", "constraint": "false", "fontsize": "9",
              "fontcolor": "#e65100"},
}

GRAPH_STYLE = {
    "graph": {"fontname": "Helvetica", "fontsize": "11", "labelloc": "t", "nodesep": "0.3",
              "ranksep": "0.35"},
    "node": {"fontname": "Helvetica", "fontsize": "11", "height": "0.3"},
    "edge": {"fontname": "Helvetica", "arrowsize": "0.7"},
}

_CALL_KINDS = {"prim::CallFunction", "prim::CallMethod", "call_module", COMPILED_GRAPH}
#: Node kinds drawn as a branch: TorchScript's prim::If and torch.export's torch.cond.
IF_KINDS = {"prim::If", "higher_order::cond"}
#: Node kinds drawn as a loop: TorchScript's prim::Loop and torch.export's while_loop.
LOOP_KINDS = {"prim::Loop", "higher_order::while_loop"}


def category(kind: str) -> str:
    """The style category of a node kind: ``category("aten::mul") == "aten"``."""
    if kind in IF_KINDS:
        return "if"
    if kind in LOOP_KINDS:
        return "loop"
    if kind in _CALL_KINDS:
        return "call"
    if kind == GRAPH_BREAK:
        return "break"
    if kind == "prim::Constant":
        return "constant"
    if kind.startswith("aten::"):
        return "aten"
    return "prim"
