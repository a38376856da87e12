"""Wrong arguments are refused at once, by an OptionsError that names the argument and what it accepts."""

import functools
import inspect

import pytest
import torch

import jitviz

from . import pitfalls
from . import seed_functions as seed

X = torch.ones(2, 2)


def test_options_error_is_a_jitviz_error_and_a_value_and_type_error():
    assert issubclass(jitviz.OptionsError, jitviz.JitvizError)
    assert issubclass(jitviz.OptionsError, ValueError) and issubclass(jitviz.OptionsError, TypeError)
    assert issubclass(jitviz.ExecutionError, jitviz.JitvizError)


@pytest.mark.parametrize("options, message", [
    ({"max_nodes": "x"}, "max_nodes must be a whole number of nodes >= 1"),
    ({"max_nodes": None}, "max_nodes must be a whole number"),
    ({"max_nodes": True}, "max_nodes must be a whole number"),
    ({"max_nodes": 0}, "max_nodes must be a whole number"),
    ({"mode": "bogus"}, "mode must be one of 'auto', 'trace', 'script', 'compile', not 'bogus'"),
    ({"expand_calls": -5}, "expand_calls must be True, False, a depth >= 0"),
    ({"expand_calls": [1]}, "expand_calls must be"),
    ({"rankdir": "XY"}, "rankdir must be one of 'TB', 'LR', 'BT', 'RL'"),
    ({"constants": 1}, "constants must be one of 'fold', 'nodes', 'hide', not 1"),
    ({"inline": "yes"}, "inline must be True or False"),
    ({"highlight": "yes"}, "highlight must be True or False"),
])
def test_show_refuses_bad_options_before_any_work(options, message, monkeypatch):
    monkeypatch.setattr("jitviz.extract.torchscript.obtain", lambda *a, **k: pytest.fail("ran with bad options"))
    with pytest.raises(jitviz.OptionsError, match=message):
        jitviz.show(seed.double, X, **options)


def test_an_exported_program_refuses_torchscript_options_instead_of_ignoring_them():
    program = torch.export.export(torch.nn.ReLU(), (X,))
    with pytest.raises(jitviz.OptionsError, match="mode must be one of"):
        jitviz.graph(program, mode="bogus", expand_calls=-5)
    with pytest.raises(jitviz.OptionsError, match="mode='trace', inline=True cannot apply to an exported program"):
        jitviz.graph(program, mode="trace", inline=True, expand_calls=2)
    assert jitviz.graph(program).find("aten::relu")
    assert jitviz.graph(program, expand_calls=2).find("aten::relu")  # its submodules open, as a module's do


def test_a_partial_is_traced_with_inputs_and_refused_clearly_without():
    def scale(x, k: float = 1.0):
        return x * k

    half = functools.partial(scale, k=0.5)
    view = jitviz.show(half, X)
    assert view.model.find("aten::mul") and "partial_scale" in view.source
    with pytest.raises(jitviz.ScriptingError, match=r"cannot be scripted.*jitviz.show\(p.func\)"):
        jitviz.show(half)
    with pytest.raises(jitviz.ScriptingError, match="cannot be scripted"):
        jitviz.show(half, X, highlight=True)
    explorer = jitviz.explore(half, inputs=lambda v: (torch.full((2,), float(v)),), v=(0, 4))
    assert "cannot be scripted" in explorer.script_error and explorer.set(v=4).traced == "tensor([2., 2.])"


@pytest.mark.parametrize("example, probes, message", [
    (None, [X], "example_inputs must be a tuple of fn's inputs.*not None"),
    (X, [X], r"example_inputs must be a tuple.*Tensor\(2, 2\) float32: wrap it, \(x,\)"),
    ((X,), None, "probe_inputs must be a list of probes.*not None"),
    ((X,), X, "probe_inputs must be a list.*a tensor would be taken row by row"),
])
def test_compare_refuses_inputs_of_the_wrong_shape(example, probes, message):
    with pytest.raises(jitviz.OptionsError, match=message):
        jitviz.compare(pitfalls.branch, example, probes)


def test_compare_keeps_the_reason_scripting_failed_in_its_text_form():
    def with_try(x):
        try:
            y = x * 2
        except Exception:
            y = x
        return y

    c = jitviz.compare(with_try, (X,), [X])
    (line,) = [line for line in repr(c).splitlines()
               if "scripting failed" in line and ":" in line.split("failed", 1)[1]]
    assert "try blocks aren't supported" in line


@pytest.mark.parametrize("labels", [("a",), (1, 2), "ab", None])
def test_diff_labels_must_be_two_names(labels):
    scripted = torch.jit.script(torch.nn.ReLU())
    with pytest.raises(jitviz.OptionsError, match="labels must be two names"):
        jitviz.diff(scripted, scripted, labels=labels)


def test_diff_takes_max_nodes_and_counts_what_it_cannot_draw():
    layers = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 1,
                                         enable_nested_tensor=False).eval()
    scripted = torch.jit.script(layers)
    frozen = torch.jit.freeze(scripted)
    d = jitviz.diff(scripted, frozen, max_nodes=300)
    assert d.before is None and d.after is None  # both far over 300 nodes once inlined
    assert "max_nodes=300" in d.note and "jitviz.diff(..., max_nodes=" in d.note and "expand_calls" not in d.note
    assert d.removed["prim::GetAttr"] > 0 and "Not drawn" in repr(d)
    assert jitviz.diff(scripted, frozen).after is not None  # the default budget draws both
    with pytest.raises(jitviz.OptionsError, match="max_nodes must be"):
        jitviz.diff(scripted, frozen, max_nodes="x")


def test_explore_refuses_controls_and_arguments_it_cannot_use():
    def fill(v):
        return (torch.full((2, 2), float(v)),)

    for controls, message in [({"v": []}, r"v=\[\] has no choices"), ({"v": (1, 0)}, r"v=\(1, 0\) is not a slider"),
                              ({"v": (0.0, 1.0, -0.5)}, "is not a slider"), ({}, "at least one control")]:
        with pytest.raises(jitviz.OptionsError, match=message):
            jitviz.explore(seed.double, inputs=fill, **controls)
    with pytest.raises(jitviz.OptionsError, match="picture must be a picture from jitviz.show"):
        jitviz.explore(seed.double, inputs=fill, picture=5, v=(0, 3))
    with pytest.raises(jitviz.OptionsError, match="example must be a tuple.*taken row by row"):
        jitviz.explore(seed.double, inputs=fill, example=X, v=(0, 3))
    with pytest.raises(jitviz.OptionsError, match="inputs= could not build the inputs.*ZeroDivisionError") as caught:
        jitviz.explore(seed.double, inputs=lambda v: 1 / 0, v=(0, 3))
    assert isinstance(caught.value.__cause__, ZeroDivisionError)


def test_example_inputs_with_mode_script_are_refused_not_ignored():
    with pytest.raises(jitviz.OptionsError, match="mode='script' compiles the code from its source"):
        jitviz.show(seed.double, torch.ones(2), mode="script")


def test_a_source_line_of_any_length_draws_with_its_tooltip_cut(tmp_path):
    from .source_files import module_from_source

    module = module_from_source(tmp_path, "long_line",
                                "def long_line(x):\n    return x * 2 + len('" + "a" * 20_000 + "')\n")
    view = jitviz.show(module.long_line, torch.ones(2))
    assert "a" * 16_000 not in view.source and "…" in view.source
    assert view.svg().startswith("<svg")


def test_the_mark_styles_options_accepts_are_the_ones_the_style_table_draws():
    from jitviz.options import MARK_STYLE_NAMES
    from jitviz.style import MARK_STYLES

    assert set(MARK_STYLE_NAMES) == set(MARK_STYLES)


def test_draw_refuses_bad_options_with_the_same_errors_as_show():
    from jitviz.render import draw

    model = jitviz.graph(seed.double, torch.ones(2))
    for options, message in [({"constants": "x"}, "constants must be one of"), ({"rankdir": "up"}, "rankdir"),
                             ({"checks": "all"}, "checks must be one of"), ({"mark_style": "blue"}, "mark_style")]:
        with pytest.raises(jitviz.OptionsError, match=message):
            draw(model, **options)


def test_an_input_nested_thousands_deep_is_a_clear_error_not_a_recursion_error():
    deep = torch.ones(2)
    for _ in range(5_000):
        deep = (deep,)
    for mode in ("auto", "compile"):
        with pytest.raises(jitviz.TracingError, match=r"Example input #1 nests tuples, lists or dicts more than 100"):
            jitviz.show(seed.double, deep, mode=mode)
    shallow = ((torch.ones(2),),)  # a few levels are fine: the error is about the depth, not the nesting
    assert jitviz.graph(lambda t: t[0][0] * 2, shallow).origin == "traced"


_BAD_OPTIONS = {  # each option every public entry point takes, given a value it does not accept
    "mode": "fast", "expand_calls": 1.5, "inline": "yes", "constants": "inline", "max_nodes": "many",
    "rankdir": "up", "highlight": "yes", "repeats": 2, "checks": "none", "trusted": "yes", "dynamic": "maybe",
    "fullgraph": "no",
}
_ENTRY_POINTS = {
    "show": lambda **o: jitviz.show(seed.double, torch.ones(2), **o),
    "graph": lambda **o: jitviz.graph(seed.double, torch.ones(2), **o),
    "explain": lambda **o: jitviz.explain(seed.double, torch.ones(2), **o),
    "explore_graph": lambda **o: jitviz.explore_graph(seed.double, torch.ones(2), **o),
    "diff": lambda **o: jitviz.diff(torch.jit.script(seed.double), torch.jit.script(seed.double), **o),
}


@pytest.mark.parametrize("entry", sorted(_ENTRY_POINTS))
def test_every_public_entry_point_refuses_every_bad_option_with_an_options_error_naming_it(entry):
    accepted = inspect.signature(getattr(jitviz, entry)).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    checked = 0
    for option, value in _BAD_OPTIONS.items():
        if option not in accepted and not takes_any:
            continue
        with pytest.raises(jitviz.OptionsError, match=option):
            _ENTRY_POINTS[entry](**{option: value})
        checked += 1
    assert checked >= 5


def test_compare_and_explore_refuse_bad_flags_with_an_options_error():
    with pytest.raises(jitviz.OptionsError, match="compiled"):
        jitviz.compare(seed.double, (torch.ones(2),), [(torch.ones(2),)], compiled="yes")
    with pytest.raises(jitviz.OptionsError, match="show"):
        jitviz.explore(seed.double, example=(torch.ones(2),), show="everything")
