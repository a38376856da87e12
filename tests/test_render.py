"""render.to_dot: what the picture contains, how labels are escaped, and golden DOT files."""

import inspect
import re
from pathlib import Path

import pytest
import torch

import jitviz
from jitviz import ir
from jitviz.drawing import IN_LABELS, RUNS_PLACEHOLDER
from jitviz.fold import CHECK_KIND, FOLDED_KIND
from jitviz.render import draw, to_dot
from jitviz.style import MARK_STYLES, NODE_STYLE

from . import seed_functions as seed
from .drawing_check import missing_uses

GOLDEN = Path(__file__).parent / "golden"

GOLDEN_CASES = {
    "double_traced": lambda: jitviz.graph(seed.double, torch.ones(2, 2)),
    "branchy_traced": lambda: jitviz.graph(seed.branchy, torch.ones(2, 2)),
    "branchy_bool_scripted": lambda: jitviz.graph(seed.branchy_bool),
    "looping_scripted": lambda: jitviz.graph(seed.looping),
    "tinynet_scripted_expanded": lambda: jitviz.graph(torch.jit.script(seed.TinyNet()), expand_calls=True),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden_dot(name, update_golden):
    source = to_dot(GOLDEN_CASES[name]()).source
    path = GOLDEN / f"{name}.dot"
    if update_golden:
        path.write_text(source, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run pytest tests --update-golden once"
    assert source == path.read_text(encoding="utf-8"), (
        f"DOT for {name} changed; if the change is intended, rerun with --update-golden and review "
        "the diff of tests/golden/"
    )


def test_same_graph_gives_byte_identical_dot():
    assert to_dot(jitviz.graph(seed.looping)).source == to_dot(jitviz.graph(seed.looping)).source


def test_inputs_outputs_and_edges_carry_names_and_types():
    source = to_dot(jitviz.graph(seed.double, torch.ones(2, 2))).source
    assert 'label="x: Float(2, 2)"' in source and "shape=invhouse" in source
    assert 'label="output: Float(2, 2)"' in source and "shape=house" in source
    assert 'label="aten::mul\\nother=2"' in source  # the constant 2 folded into its user
    assert source.count("->") == 2 and source.count('label="Float(2, 2)"') >= 2


def test_constant_modes():
    g = jitviz.graph(seed.double, torch.ones(2, 2))
    nodes = to_dot(g, constants="nodes").source
    assert "prim::Constant\\nvalue=2" in nodes and nodes.count("->") == 3
    (constant,) = [line for line in nodes.splitlines() if "prim::Constant" in line]
    assert f'fillcolor="{NODE_STYLE["constant"]["fillcolor"]}"' in constant  # grey: not an operation
    hidden = to_dot(g, constants="hide").source
    assert "other=2" not in hidden and "prim::Constant" not in hidden


def test_if_is_a_cluster_with_then_and_else_blocks_and_their_returns():
    source = to_dot(jitviz.graph(seed.branchy_bool)).source
    assert "subgraph cluster_" in source
    assert "label=then" in source and "label=else" in source
    assert 'label="-> (1)"' in source and 'label="-> (2)"' in source
    assert 'label="if bool(x.mean() > 1.0):"' in source  # the cluster is titled by its source line
    assert "shape=diamond" in source and 'label="end if"' in source


def test_loop_draws_params_returns_and_the_carried_back_edge():
    source = to_dot(jitviz.graph(seed.looping)).source
    assert 'label="loop body"' in source
    assert source.count('label="next iteration"') == 2
    assert "while loop" in source and "max_trip_count" not in source  # the while loop: no 2**63-1
    assert source.count("subgraph cluster_") == 2 + 2 + 2 * 1 + 1  # 2 loops+bodies, if+2 blocks


def test_module_attributes_fold_into_their_users_and_calls_name_callees():
    source = to_dot(jitviz.graph(torch.jit.script(seed.TinyNet()), expand_calls=True)).source
    assert "prim::GetAttr" not in source
    assert "weight=self.fc1.weight" in source and "weight=self.fc2.weight" in source
    assert "fc1: Linear\\nprim::CallMethod" in source
    raw = to_dot(jitviz.graph(torch.jit.script(seed.TinyNet())), constants="nodes").source
    assert "prim::GetAttr\\nname='fc1'" in raw


def test_every_node_has_a_tooltip_with_its_source_line():
    source = to_dot(jitviz.graph(seed.branchy_bool)).source
    for line in source.splitlines():
        if "[label=" in line and "->" not in line and not line.strip().startswith("graph ["):
            assert "tooltip=" in line, line
    line = inspect.getsourcelines(seed.branchy_bool)[1] + 1
    assert f'tooltip="aten::Bool (seed_functions.py:{line}: if bool(x.mean() > 1.0):)"' in source


def test_dangerous_strings_are_escaped_in_dot():
    source = to_dot(jitviz.graph(seed.strings)).source
    assert "b='<script>alert(1)</script>'" in source
    assert "b='a\\\"b'" in source  # the quote escaped for DOT
    assert "b='a\\\\nb'" in source  # a newline shown as the two characters \n, not a line break
    assert "b='back\\\\\\\\slash \\\\\\\\N \\\\\\\\l'" in source  # backslashes doubled
    assert "ünï©ødé ✓" in source


def test_node_budget_counts_drawn_nodes_not_folded_ones():
    g = jitviz.graph(seed.double, torch.ones(2, 2))
    assert to_dot(g, max_nodes=3).source  # input, mul, output: the constant is folded
    with pytest.raises(jitviz.GraphTooLargeError, match="4 nodes"):
        to_dot(g, constants="nodes", max_nodes=3)


def test_a_picture_fits_a_budget_of_exactly_its_drawn_nodes():
    g = jitviz.graph(torch.jit.script(seed.TinyNet()), expand_calls=True)  # `self` is folded, not drawn
    size = draw(g).node_count
    assert draw(g, max_nodes=size).node_count == size
    with pytest.raises(jitviz.GraphTooLargeError, match=f"would have {size} nodes, more than max_nodes={size - 1};"):
        draw(g, max_nodes=size - 1)


def test_module_calls_are_labelled_by_path_and_type_and_expand_by_path():
    enc = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(16, 2, 32, batch_first=True), 2,
                                      enable_nested_tensor=False).eval()
    scripted = torch.jit.script(enc)
    top = jitviz.graph(scripted)
    layers = [n for n in top.find("prim::CallMethod")]
    assert [n.attributes.get("module_path") for n in layers] == ["layers.0", "layers.1"]
    assert "layers.0: TransformerEncoderLayer\\nprim::CallMethod" in jitviz.show(scripted).source
    one = jitviz.graph(scripted, expand_calls="layers.1")
    expanded = {n.attributes["module_path"] for n in one.find("prim::CallMethod") if n.blocks}
    assert expanded == {"layers.1"}  # at each of its call sites
    deeper = jitviz.graph(scripted, expand_calls=["layers.0.self_attn"])
    opened = {n.attributes["module_path"] for n in deeper.find("prim::CallMethod") if n.blocks}
    assert opened == {"layers.0", "layers.0.self_attn"}


def test_over_the_budget_the_picture_collapses_to_the_deepest_level_that_fits():
    net = torch.jit.script(seed.TinyNet())
    full = jitviz.show(net, expand_calls=True)
    drawn = len(re.findall(r"^\t+(?!graph |node |edge )\w+ \[", full.source, re.MULTILINE))
    view = jitviz.show(net, expand_calls=True, max_nodes=drawn - 1)
    assert view.model.call_depth() == 0
    assert "calls expanded 0 levels deep, not as asked" in view.source
    with pytest.raises(jitviz.GraphTooLargeError):
        jitviz.show(net, expand_calls=True, max_nodes=3)


def test_repeats_draws_a_chain_of_identical_submodules_once_with_a_count():
    class Block(torch.nn.Module):
        def __init__(self, width):
            super().__init__()
            self.fc = torch.nn.Linear(width, width)

        def forward(self, x):
            return torch.relu(self.fc(x))

    stack = torch.nn.Sequential(Block(4), Block(4), Block(4), torch.nn.Linear(4, 2), Block(2))
    scripted = torch.jit.script(stack)
    plain = jitviz.show(scripted)
    assert "×" not in plain.source
    merged = jitviz.show(scripted, repeats=True).source
    assert "×3 (0 … 2)" in merged  # the three identical blocks, each feeding the next
    assert "4: Block" in merged and "×" not in merged.split("4: Block")[1].split("\n")[0]  # different width
    calls = re.compile(r'label="[^"]*prim::CallMethod')
    assert len(calls.findall(merged)) == len(calls.findall(plain.source)) - 2


def test_inlined_traces_and_exported_programs_are_grouped_by_module_scope():
    traced = torch.jit.trace(seed.TinyNet(), torch.ones(1, 4))
    g = jitviz.graph(traced, inline=True)
    assert {n.scope for n in g.find("aten::linear")} == {"fc1", "fc2"}
    source = to_dot(g).source
    assert "subgraph cluster_scope_fc1" in source and "subgraph cluster_scope_fc2" in source
    fc1_cluster = source.split("subgraph cluster_scope_fc1")[1].split("}")[0]
    (linear1,) = [n for n in g.find("aten::linear") if n.scope == "fc1"]
    assert f"\t\t{linear1.id} [" in fc1_cluster  # the node sits inside its module's frame
    exported = to_dot(jitviz.graph(torch.export.export(seed.TinyNet(), (torch.ones(1, 4),)), expand_calls=True)).source
    assert "subgraph cluster_scope_fc1" in exported


def _casts(x: torch.Tensor) -> torch.Tensor:
    y = x.to(torch.float16)
    z = torch.zeros(2, dtype=torch.int64, layout=torch.strided)
    return y.add(z, alpha=2) + y.contiguous(memory_format=torch.channels_last).sum()


def test_enum_arguments_are_named_and_schema_defaults_left_out():
    source = to_dot(jitviz.graph(_casts)).source
    assert "dtype=float16" in source and "dtype=int64" in source and "layout=strided" in source
    assert "memory_format=channels_last" in source
    assert not re.search(r"(dtype|layout|memory_format)=\d", source)
    assert "alpha=2" in source and "alpha=1" not in source  # aten::add's default alpha=1 says nothing
    assert "non_blocking=False" not in source and "copy=False" not in source


def test_the_enum_numbers_are_the_ones_torch_uses():
    from jitviz.render import _ENUMS

    for position, name in enumerate(_ENUMS["ScalarType"][:16]):
        dtype = getattr(torch, name, None)
        if not isinstance(dtype, torch.dtype) or dtype.is_complex or name.startswith("q"):
            continue  # complex32 warns, quantized dtypes cannot make an empty tensor
        graph = torch.jit.trace(lambda x: torch.empty(1, dtype=dtype), torch.ones(1)).graph  # noqa: B023
        values = [n.i("value") for n in graph.nodes() if n.kind() == "prim::Constant"
                  and n.output().type().kind() == "IntType"]
        assert position in values, name
    for position, name in enumerate(_ENUMS["MemoryFormat"]):
        fmt = getattr(torch, name)
        example = torch.ones(1, 1, 1, 1, 1) if name == "channels_last_3d" else torch.ones(1, 1, 1, 1)
        graph = torch.jit.trace(lambda x, fmt=fmt: x.contiguous(memory_format=fmt), example).graph
        assert position in [n.i("value") for n in graph.nodes() if n.kind() == "prim::Constant"
                            and n.output().type().kind() == "IntType"], name


@pytest.mark.exe
def test_control_characters_in_source_lines_and_constants_keep_the_svg_well_formed(tmp_path, monkeypatch):
    import importlib
    import xml.dom.minidom

    (tmp_path / "odd_source.py").write_bytes(
        b"def f(x):\n    y = x * 2  # a \x01 and an \x1b[2J escape\n    return y\n\n"
        b"def g(s: str) -> str:\n    return s + 'a\\x1bb\\x00c\\u202e'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    odd = importlib.import_module("odd_source")
    for view in (jitviz.show(odd.f, torch.ones(2)), jitviz.show(torch.jit.script(odd.f)), jitviz.show(odd.g)):
        svg = view.svg()
        xml.dom.minidom.parseString(svg)  # raises on a control character
        assert "\\x1b" in svg  # shown, as its escape


# --- draw beyond the golden files: its options, the maps a Drawing hands to paint, and labels -----


def _node_line(dot: str, node_id: str) -> str:
    """The DOT statement that draws ``node_id``."""
    (line,) = [line for line in dot.splitlines() if line.strip().startswith(f"{node_id} [")]
    return line


@pytest.mark.parametrize("option, message", [
    ("constants", "constants must be one of 'fold', 'nodes', 'hide', not 'folded'."),
    ("mark_style", "mark_style must be one of 'warn', 'removed', 'added', not 'folded'."),
    ("rankdir", "rankdir must be one of 'TB', 'LR', 'BT', 'RL', not 'folded'."),
    ("checks", "checks must be one of 'fold', 'show', not 'folded'."),
])
def test_an_unknown_option_is_refused_with_what_it_accepts(option, message):
    with pytest.raises(jitviz.OptionsError) as refused:  # the one check every entry point uses
        draw(jitviz.graph(seed.double, torch.ones(2)), **{option: "folded"})
    assert str(refused.value) == message


@pytest.mark.parametrize("rankdir", ["TB", "LR", "BT", "RL"])
def test_every_graphviz_direction_is_drawn(rankdir):
    assert f"rankdir={rankdir}" in draw(jitviz.graph(seed.double, torch.ones(2)), rankdir=rankdir).dot.source


def _guarded(x):
    if x.dim() != 2:
        raise ValueError("want a matrix")
    if x.size(0) > 1 and x.size(1) > 1 and x.numel() > 4:
        x = x * 2
    return x


class _Noisy(torch.nn.Module):
    def forward(self, x):
        if self.training:
            x = x + torch.randn_like(x)
        return x * 2


def test_checks_fold_argument_checks_long_conditions_and_training_branches_and_show_draws_them():
    g = jitviz.graph(_guarded)
    folded, shown = draw(g).dot.source, draw(g, checks="show").dot.source
    assert "prim::RaiseException" not in folded and 'label="check\\n' in folded
    assert "ops folded" in folded and "aten::numel" not in folded
    assert "prim::RaiseException" in shown and "ops folded" not in shown and "aten::numel" in shown
    (raises,) = g.find("prim::RaiseException")
    assert any(raises.id in node.stands_for[1:] for node in draw(g).nodes())
    assert all(len(node.stands_for) <= 1 for node in draw(g, checks="show").nodes())
    noisy = jitviz.graph(torch.jit.script(_Noisy().eval()))
    assert "training only" in draw(noisy).dot.source and "aten::randn_like" not in draw(noisy).dot.source
    assert "aten::randn_like" in draw(noisy, checks="show").dot.source


@pytest.mark.parametrize("style, symbol", [("warn", "⚠ "), ("removed", "− "), ("added", "+ ")])
def test_a_marked_node_shows_its_note_in_its_style(style, symbol):
    g = jitviz.graph(seed.double, torch.ones(2))
    (mul,) = g.find("aten::mul")
    line = _node_line(draw(g, marks={mul.id: "look here"}, mark_style=style).dot.source, mul.id)
    assert f"\\n{symbol}look here\"" in line
    assert f'color="{MARK_STYLES[style]["color"]}"' in line and "penwidth=2.5" in line
    assert "penwidth" not in _node_line(draw(g).dot.source, mul.id)


def test_run_counts_leave_room_for_the_count_in_every_block_label():
    g = jitviz.graph(seed.branchy_bool)
    counted = draw(g, run_counts=True).dot.source
    assert "label=\"then · ran ?×\"" in counted and "label=\"else · ran ?×\"" in counted
    assert "ran ?×" not in draw(g).dot.source


def test_the_drawing_maps_every_edge_to_its_ends_and_every_node_to_where_it_is_drawn():
    g = jitviz.graph(seed.looping)
    drawing = draw(g)
    edges = re.findall(r"^\s+(\w+) -> (\w+) \[.*\bid=(e\d+)", drawing.dot.source, re.MULTILINE)
    assert {edge.id: edge.ends for edge in drawing.edges()} == {edge: (tail, head) for tail, head, edge in edges}
    assert len(edges) > 10
    for node in g.walk():
        if node.kind == "prim::Constant":
            assert drawing.drawn_as[node.id] == IN_LABELS
        elif node.id in drawing.elements:
            assert drawing.drawn_as[node.id] == node.id
            assert drawing.elements[node.id].sources == ((node.source,) if node.source else ())


def _refine(x, y: torch.Tensor | None):
    if y is not None:
        return x + y
    return x


def test_a_refined_value_is_drawn_as_what_it_refines():
    g = jitviz.graph(_refine)
    (cast,) = g.find("prim::unchecked_cast")
    drawing = draw(g)
    assert {value: alias.id for value, alias in drawing.aliases.items()} == {cast.outputs[0].id: cast.inputs[0].id}
    assert "prim::unchecked_cast" not in drawing.dot.source


def _cast_and_add(x: torch.Tensor) -> torch.Tensor:
    return x.to(torch.float16).add(torch.ones(2), alpha=2)


def test_the_drawing_says_which_inputs_it_renamed_or_left_out():
    g = jitviz.graph(_cast_and_add)
    drawing = draw(g)
    (to,) = g.find("aten::to")
    assert set(drawing.elements[to.id].shown_as.values()) == {"float16"}
    assert drawing.elements[to.id].left_out  # non_blocking=False, copy=False
    (add,) = g.find("aten::add")
    assert add.inputs[2].id not in drawing.elements[add.id].left_out  # alpha=2 is not aten::add's default


def _chain(n: int):
    def chain(x):
        for _ in range(n):
            x = x + 1
        return x
    return jitviz.graph(chain, torch.ones(2))


def test_over_400_nodes_edge_labels_are_placed_after_layout_and_layout_passes_capped():
    at_limit, over = draw(_chain(398)), draw(_chain(399))
    assert (at_limit.node_count, over.node_count) == (400, 401)
    assert "nslimit" not in at_limit.dot.source and 'label="Float(2)"' in at_limit.dot.source
    assert "nslimit=1 nslimit1=1" in over.dot.source
    assert 'xlabel="Float(2)"' in over.dot.source and ' label="Float(2)"' not in over.dot.source


def test_the_title_and_its_notes_are_never_cut():
    g = jitviz.graph(seed.double, torch.ones(2))
    g.notes.append("a note of more than forty-eight characters, which a label line would cut")
    assert "which a label line would cut" in draw(g).dot.source


def _v(name: str, type_: str = "Tensor") -> ir.Value:
    return ir.Value(name, name, type_)


def _constant(name: str, value: object) -> ir.Node:
    return ir.Node(f"n_{name}", "prim::Constant", outputs=[_v(name, "Any")], attributes={"value": value})


def _graph(nodes: list[ir.Node], outputs: list[ir.Value]) -> ir.Graph:
    return ir.Graph("made", "scripted", [_v("x")], nodes, outputs)


def test_several_outputs_are_numbered_and_a_constant_output_shows_its_value():
    source = draw(_graph([_constant("c", 3)], [_v("x"), ir.Value("c", "c", "int")]), checks="show").dot.source
    assert 'label="output 0: Tensor"' in source and 'label="output 1: int\\n3"' in source


@pytest.mark.parametrize("value, text", [((1,), "(1,)"), ((1, 2), "(1, 2)"), ([1, "a"], "[1, 'a']"),
                                         (None, "None"), ([(1,), []], "[(1,), []]")])
def test_constants_are_written_as_python_would(value, text):
    user = ir.Node("n1", "aten::f", inputs=[_v("x"), _v("c")], outputs=[_v("y")], arg_names=["self", "v"])
    source = draw(_graph([_constant("c", value), user], [_v("y")]), checks="show").dot.source
    assert f'label="aten::f\\nv={text}"' in source


def test_tuples_and_lists_of_constants_fold_into_their_users():
    one = ir.Node("n2", "prim::TupleConstruct", inputs=[_v("c")], outputs=[_v("t")])
    pair = ir.Node("n3", "prim::ListConstruct", inputs=[_v("c"), _v("c")], outputs=[_v("l")])
    user = ir.Node("n4", "aten::f", inputs=[_v("t"), _v("l")], outputs=[_v("y")], arg_names=["a", "b"])
    g = _graph([_constant("c", 3), one, pair, user], [_v("y")])
    assert 'label="aten::f\\na=(3,)\\nb=[3, 3]"' in draw(g, checks="show").dot.source
    assert 'label="aten::f"' in draw(g, checks="show", constants="hide").dot.source


@pytest.mark.parametrize("arg_type", ["ScalarType", "ScalarType?", "Optional[ScalarType]"])
def test_a_dtype_number_is_named_whatever_optional_type_it_comes_as(arg_type):
    def label(number):
        user = ir.Node("n1", "aten::f", inputs=[_v("c")], outputs=[_v("y")], arg_names=["dtype"], arg_types=[arg_type])
        return _node_line(draw(_graph([_constant("c", number), user], [_v("y")]), checks="show").dot.source, "n1")

    assert "dtype=float32" in label(6)
    assert "dtype=30" in label(30) and "dtype=uint64" in label(29)  # one past the last named is left a number


@pytest.mark.parametrize("kind, first", [(CHECK_KIND, ["check"]), (FOLDED_KIND, [])])
def test_a_folded_node_lists_the_lines_it_stands_for(kind, first):
    folded = ir.Node("n1", kind, inputs=[_v("x")], attributes={"lines": ["f.py:2  if x:", "f.py:3  raise"]})
    line = _node_line(draw(_graph([folded], [_v("x")]), checks="show").dot.source, "n1")
    expected = "\\n".join(first + ["f.py:2  if x:", "f.py:3  raise"])
    assert f'label="{expected}"' in line
    assert f'fillcolor="{NODE_STYLE["check"]["fillcolor"]}"' in line


def test_hidden_constants_leave_a_mark_where_a_value_is_returned_but_module_values_stay():
    hidden = draw(jitviz.graph(seed.branchy_bool), constants="hide").dot.source
    assert 'label="-> (…)"' in hidden and 'label="-> (1)"' not in hidden
    net = draw(jitviz.graph(torch.jit.script(seed.TinyNet()), expand_calls=True), constants="hide").dot.source
    assert "weight=self.fc1.weight" in net


def _meta(x):
    return torch.zeros(2, dtype=x.dtype, device=x.device)


def test_what_is_read_off_a_value_is_named_in_the_label():
    for constants in ("fold", "hide"):
        source = draw(jitviz.graph(_meta), constants=constants).dot.source
        assert "dtype=x.dtype\\ndevice=x.device" in source and "prim::dtype" not in source


def _returns_from_a_loop(x, n: int):
    for i in range(n):
        if i > 2:
            return x  # the loop's other result is left uninitialized on this path
        x = x + 1
    return x * 2


def test_an_uninitialized_value_is_named_not_drawn():
    g = jitviz.graph(_returns_from_a_loop)
    assert g.find("prim::Uninitialized")
    source = draw(g).dot.source
    assert "uninitialized" in source and "prim::Uninitialized" not in source
    assert "uninitialized" not in draw(g, constants="hide").dot.source


def test_a_for_loop_over_a_constant_range_shows_its_trip_count():
    def three(x):
        for _ in range(3):
            x = x + 1
        return x

    assert "prim::Loop\\nmax_trip_count=3" in draw(jitviz.graph(three)).dot.source


class _Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 4)

    def forward(self, x):
        return torch.relu(self.fc(x))


class _Branching(torch.nn.Module):
    """Two identical blocks, the first one's result also handed back by the branch."""

    def __init__(self):
        super().__init__()
        self.b0, self.b1 = _Block(), _Block()

    def forward(self, x, c: bool):
        if c:
            y = self.b0(x)
            z = self.b1(y)
        else:
            y = x
            z = x
        return y + z


def test_a_chain_is_only_merged_where_each_result_feeds_only_the_next_call():
    pair = jitviz.graph(torch.jit.script(torch.nn.Sequential(_Block(), _Block())))
    drawing = draw(pair, repeats=True)
    assert "×2 (0 … 1)" in drawing.dot.source
    first, second = pair.find("prim::CallMethod")
    assert drawing.drawn_as[second.id] == first.id
    assert "×" not in draw(pair).dot.source  # draw's default draws every call
    branching = jitviz.graph(torch.jit.script(_Branching()))
    assert "×" not in draw(branching, repeats=True).dot.source  # y is also returned by the branch
    expanded = jitviz.graph(torch.jit.script(torch.nn.Sequential(_Block(), _Block())), expand_calls=True)
    assert "×" not in draw(expanded, repeats=True).dot.source  # opened calls are drawn, not merged


def _helper(x, k: int):
    return x * k


def _calls_helper(x):
    return _helper(x, 3)


def test_an_expanded_function_call_shows_the_arguments_it_was_given():
    source = draw(jitviz.graph(torch.jit.script(_calls_helper), expand_calls=True)).dot.source
    assert "aten::mul\\nother=3" in source


class _Outer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = _Inner()

    def forward(self, x):
        return self._twice(self.inner.half(x))

    def _twice(self, x):
        return x * 2


class _Inner(torch.nn.Module):
    def forward(self, x):
        return x

    def half(self, x):
        return x / 2


def test_a_call_to_another_method_names_the_module_and_the_method():
    source = draw(jitviz.graph(torch.jit.script(_Outer()))).dot.source
    assert "inner: _Inner.half\\nprim::CallMethod" in source
    assert "self: _Outer._twice\\nprim::CallMethod" in source


def test_scope_frames_nest_as_the_modules_do():
    model = torch.nn.Sequential(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU()), torch.nn.Linear(2, 2))
    g = jitviz.graph(torch.jit.trace(model, torch.ones(1, 2)), inline=True)
    drawing = draw(g)
    frames = {e.id: e for e in drawing.elements.values() if e.role == "scope"}
    parent = {frames[i].label[0]: frames[frames[i].frame].label[0] if frames[i].frame else None for i in frames}
    assert parent == {"0": None, "0.0": "0", "0.1": "0", "1": None}
    linears = [n for n in drawing.nodes() if n.label[0] == "aten::linear"]
    assert [frames[n.frame].label[0] for n in linears] == ["0.0", "1"]
    assert "subgraph cluster_scope_0_0 {" in drawing.dot.source.split("subgraph cluster_scope_1 {")[0]


def test_an_exported_programs_parameters_are_drawn_as_parameters_when_asked():
    g = jitviz.graph(torch.export.export(seed.TinyNet(), (torch.ones(1, 4),)))
    source = draw(g, constants="nodes").dot.source
    weight = next(v for v in g.inputs if v.role)
    line = _node_line(source, f"in_{weight.id}")
    assert f"({weight.role})" in line and f'fillcolor="{NODE_STYLE["parameter"]["fillcolor"]}"' in line
    assert f"in_{weight.id}" not in draw(g).dot.source  # folded into its users' labels by default


def test_every_drawn_element_is_mapped_to_the_innermost_block_it_sits_in():
    g = jitviz.graph(seed.looping)
    drawing = draw(g)
    where = {element.id: element.block for element in drawing.elements.values()}
    (for_loop, while_loop) = g.find("prim::Loop")
    (if_node,) = g.find("prim::If")
    assert where[for_loop.id] is None and where[f"cluster_{for_loop.id}"] is None
    body = ir.block_key(for_loop, 0)
    assert where[if_node.id] == body and where[f"cluster_{if_node.id}"] == body
    assert where[f"{if_node.id}_join"] == body
    for index, block in enumerate(if_node.blocks):
        key = ir.block_key(if_node, index)
        assert where[f"cluster_{if_node.id}_b{index}"] == key
        assert where[f"{if_node.id}_r{index}"] == key
        assert all(where[n.id] == key for n in block.nodes if n.id in where)
    assert where[f"{while_loop.id}_p0"] == ir.block_key(while_loop, 0)


def test_the_edges_into_a_branch_say_which_way_the_condition_went():
    source = draw(jitviz.graph(seed.branchy_bool)).dot.source
    (if_node,) = jitviz.graph(seed.branchy_bool).find("prim::If")
    labels = dict(re.findall(rf"{if_node.id} -> {if_node.id}_r(\d) \[label=(\w+)", source))
    assert labels == {"0": "true", "1": "false"}


def _odd_elif(x: torch.Tensor, s: str) -> torch.Tensor:
    if s == "<b>":
        y = x
    elif s == "\"q\" & {x}":
        y = x + 1
    elif s == "c":
        y = x + 2
    else:
        y = x - 1
    return y


def test_an_elif_chains_arms_are_named_after_their_model_blocks_and_say_their_condition_not_true_or_false():
    from jitviz.paint import painted_dot

    model = jitviz.graph(_odd_elif)
    drawing = draw(model, run_counts=True)
    source = drawing.dot.source
    ifs = model.find("prim::If")
    assert len(ifs) == 3
    keys = [ir.block_key(ifs[0], 0), ir.block_key(ifs[1], 0), ir.block_key(ifs[2], 0), ir.block_key(ifs[2], 1)]
    elements = drawing.elements
    for key in keys:  # each arm keeps the DOT ids of the model block it is, and sits in it
        owner, index = key.split("/")
        assert elements[f"cluster_{owner}_b{index}"].block == key and elements[f"{owner}_r{index}"].block == key
        assert any(edge.ends == (f"{owner}_r{index}", f"{ifs[0].id}_join") for edge in drawing.edges())
    assert f"cluster_{ifs[0].id}_b1" not in elements  # the first if's else block is the elifs
    assert elements[f"cluster_{ifs[0].id}"].label == ("if … elif … else: 4 arms",)  # not the first arm's line again
    arms = [element.label for element in elements.values() if element.kind == "frame" and element.role == "block"]
    assert arms == [(f'if s == "<b>" · {RUNS_PLACEHOLDER}',), (f'elif s == "\\"q\\" & {{x}}" · {RUNS_PLACEHOLDER}',),
                    (f'elif s == "c" · {RUNS_PLACEHOLDER}',), (f"else · {RUNS_PLACEHOLDER}",)]
    labels = re.findall(r'id=cluster_n\d+_b\d label="([^"\\]*(?:\\.[^"\\]*)*)"', source)
    assert labels == [f"if s == \\\"<b>\\\" · {RUNS_PLACEHOLDER}",
                      f"elif s == \\\"\\\\\\\"q\\\\\\\" & {{x}}\\\" · {RUNS_PLACEHOLDER}",
                      f"elif s == \\\"c\\\" · {RUNS_PLACEHOLDER}", f"else · {RUNS_PLACEHOLDER}"]
    entries = [line for line in source.splitlines() if line.strip().startswith(f"{ifs[0].id} -> ")]
    assert len(entries) == 4 and not any("label=" in line for line in entries)
    painted = painted_dot(drawing, ir.Execution({key: int(key == keys[1]) for key in keys}))
    assert 'label="elif s == \\"c\\" · not run"' in painted and "& {x}\\\" · ran 1×" in painted
    svg = jitviz.show(_odd_elif).svg()
    assert "elif s == &quot;\\&quot;q\\&quot; &amp; {x}&quot;" in svg


def test_a_long_line_is_cut_to_48_characters_ending_in_an_ellipsis():
    line = 'if x.size(0) > 1 and x.size(1) > 1 and x.numel() > 4:'
    assert f'label="{line[:47]}…"' in draw(jitviz.graph(_guarded)).dot.source


def test_a_node_without_a_source_line_says_so_and_an_odd_graph_name_is_made_safe():
    user = ir.Node("n1", "aten::f", inputs=[_v("x")], outputs=[_v("y")])
    g = _graph([user], [_v("y")])
    g.name = "my model (v2)"
    source = draw(g, checks="show").dot.source
    assert 'tooltip="aten::f (no source line recorded)"' in _node_line(source, "n1")
    assert source.startswith("digraph my_model__v2_ {")
    g.name = ""
    assert draw(g, checks="show").dot.source.startswith('digraph "graph" {')  # a DOT keyword, quoted


def test_over_the_budget_the_error_says_what_to_draw_instead():
    with pytest.raises(jitviz.GraphTooLargeError) as refused:
        draw(jitviz.graph(seed.looping), max_nodes=3)
    assert "the budget that keeps Graphviz's layout to seconds (bench/render.py). Draw less: leave calls " \
           "collapsed (expand_calls=False), " \
           "use constants='fold', draw a submodule on its own" in str(refused.value)


def _slicing(x):
    return x[:, 1:] + x[:, :-1] + x[1:3, ::2].sum()


def _slicing_from(x, n: int):
    return x[n:]


def _slice_labels(view) -> list[str]:
    return [line.split('label="')[1].split('"')[0] for line in view.source.splitlines() if "aten::slice" in line
            and 'label="' in line]


def test_a_slice_reads_as_the_python_slice_it_is_traced_or_scripted():
    traced = _slice_labels(jitviz.show(_slicing, torch.ones(4, 4)))
    scripted = _slice_labels(jitviz.show(_slicing))
    for labels in (traced, scripted):
        assert "aten::slice\\n[:, 1:]" in labels and "aten::slice\\n[:, :-1]" in labels
        assert "aten::slice\\n[1:3]" in labels and "aten::slice\\n[:, ::2]" in labels
        assert not any("9223372036854775807" in label for label in labels)  # a trace's "to the end"
    # a start known only at run time (an argument) keeps the slice's parts named, with an edge for n
    (from_n,) = _slice_labels(jitviz.show(_slicing_from))
    assert "[" not in from_n and from_n.startswith("aten::slice")


def test_a_recorded_calls_first_input_is_data_and_a_functions_value_is_not():
    constant, x, y = _constant("k", 3), _v("x"), _v("y")
    recorded = ir.Node("n1", "prim::CallFunction", inputs=[constant.outputs[0], x], outputs=[y],
                       arg_names=["k", "input"], callee="torch.nn.functional.f")  # a traced F call jitviz recorded
    model = ir.Graph("made", "traced", [x], [constant, recorded], [y])
    drawing = draw(model, checks="show")
    assert recorded.called() is None and drawing.elements["n1"].label == (
        "prim::CallFunction", "torch.nn.functional.f", "k=3")
    assert missing_uses(model, drawing) == []
    function = ir.Value("f", "f", "torch.nn.functional.f", is_function=True)
    scripted = ir.Node("n2", "prim::CallFunction", inputs=[function, x], outputs=[_v("z")], arg_names=["", "input"],
                       callee="torch.nn.functional.f")
    assert scripted.called() is function
