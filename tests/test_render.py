"""render.to_dot: what the picture contains, how labels are escaped, and golden DOT files."""

import inspect
import re
from pathlib import Path

import pytest
import torch

import jitviz
from jitviz.render import to_dot

from . import seed_functions as seed

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
    from jitviz.render import draw

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
