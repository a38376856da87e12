"""A library's function called from a traced forward is one call, as a ``torch.nn.functional`` one is.

The library here is a fake one, written into a ``site-packages`` folder made for the test (no
``transformers`` needed); the models are in a file outside it, as a user's are. Hugging Face's GPT-2,
where the rule was needed (its attention mask built in ``masking_utils``), is checked when installed.
"""

from __future__ import annotations

import sys
import sysconfig
import warnings
from pathlib import Path

import pytest
import torch

import jitviz
from jitviz.extract.calls import library_file, recording_calls
from jitviz.render import draw

from .drawing_check import missing_uses
from .source_files import module_from_source

LIBRARY = '''
import contextlib
import functools

import torch


def scaled(scale):
    """A decorator whose wrapper does an operation of its own."""
    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            return func(*args, **kwargs) * scale
        return wrapper
    return decorate


def passing(func):
    """A decorator that only passes the call on (no functools.wraps)."""
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


safe_relu = passing(torch.relu)  # a wrapper around a function not written in Python


class quiet(contextlib.ContextDecorator):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _normalized(x):
    return x / (x.abs().amax(-1, keepdim=True) + 1)


@scaled(2.0)
def make_mask(x, lengths):
    positions = torch.arange(x.shape[1])
    mask = positions[None, :] < lengths[:, None]
    return _normalized(x) * mask[..., None]


@quiet()
def gated(x, gate):
    return torch.sigmoid(gate) * x + x


@torch.no_grad()
def centred(x):
    return x - x.mean(-1, keepdim=True)


def fill(buffer, x):
    """Writes into the tensor it was given, returns None."""
    buffer.copy_(torch.tanh(x) * 3)


def summary(x):
    return {"low": x.amin(-1), "high": x.amax(-1), "name": "summary"}


def nothing_of_use(x):
    float((x * 2).sum())  # its operations make nothing the caller reads
    return None


def apply(fn, x):
    """Calls back what it was given."""
    return fn(x + 1) - 1
'''

MODELS = '''
import torch
from torch import nn

import fakelib


def own_helper(x):
    return torch.tanh(x) + x


@fakelib.passing
def own_decorated(x):
    return torch.relu(x) - x


class UsesLibrary(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x, lengths):
        h = self.fc(x)
        masked = fakelib.make_mask(h, lengths)
        return own_helper(masked)


class Decorated(nn.Module):
    def forward(self, x, gate):
        return fakelib.gated(fakelib.centred(x), gate)


class OwnDecorated(nn.Module):
    def forward(self, x):
        return fakelib.safe_relu(own_decorated(x) * 3)


class Effects(nn.Module):
    def forward(self, x):
        buffer = torch.zeros_like(x)
        fakelib.fill(buffer, x)
        fakelib.nothing_of_use(x)
        found = fakelib.summary(x + buffer)
        return found["high"] - found["low"]


class CallsBack(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        y = fakelib.apply(self._twice, x)
        return fakelib.apply(self.fc, y)

    def _twice(self, x):
        return x * 2 + x
'''

INSTALLED_MODEL = '''
import torch
from torch import nn

import fakelib


def _rescale(x):
    return x * 4 - 1


class InstalledModel(nn.Module):
    """A model from an installed package, as Hugging Face's are: its own file's helper stays open."""

    def forward(self, x, lengths):
        return _rescale(fakelib.make_mask(x, lengths))
'''


@pytest.fixture
def lib(tmp_path, monkeypatch):
    """The fake library (``fakelib``) and an installed model package (``fakemodels``) in a
    ``site-packages`` folder on ``sys.path``, and the user's models from a file outside it."""
    packages = tmp_path / "site-packages"
    for name, source in (("fakelib", LIBRARY), ("fakemodels", INSTALLED_MODEL)):
        (packages / name).mkdir(parents=True)
        (packages / name / "__init__.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(packages))
    for name in ("fakelib", "fakemodels"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    user = tmp_path / "project"
    user.mkdir()
    models = module_from_source(user, "user_models", MODELS)
    import fakemodels
    yield models, fakemodels
    for name in ("fakelib", "fakemodels"):
        sys.modules.pop(name, None)


def _graph(module, *inputs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jitviz.graph(module, *inputs).validate()


def _work(model):
    return [node for node in model.nodes if node.kind != "prim::Constant"]


def _complete(model):
    for checks in ("fold", "show"):
        assert missing_uses(model, draw(model, checks=checks)) == []


def _inputs():
    return torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(0)), torch.tensor([2, 3])


def test_a_decorated_library_function_is_one_call_reading_its_arguments_and_making_its_result(lib):
    models, _ = lib
    model = _graph(models.UsesLibrary().eval(), *_inputs())
    x, lengths = model.inputs[:2]
    (call,) = model.find("prim::CallFunction")
    (fc,) = model.find("prim::CallMethod")
    assert call.callee == "fakelib.make_mask"
    assert call.inputs == [fc.outputs[0], lengths] and call.arg_names == ["x", "lengths"]
    assert call.source.file == "user_models.py" and call.source.code == "masked = fakelib.make_mask(h, lengths)"
    assert len(call.outputs) == 1 and call.outputs[0].type == "Float(2, 3, 4)"
    (tanh,) = model.find("aten::tanh")  # the user's helper: open
    assert tanh.inputs == call.outputs and tanh.source.code == "return torch.tanh(x) + x"
    (add,) = model.find("aten::add")
    assert call.outputs[0] in add.inputs and model.outputs == add.outputs
    # the decorator's `* scale`, the mask and the nested _normalized: all inside the one call
    assert [n.kind for n in _work(model)] == ["prim::CallMethod", "prim::CallFunction", "aten::tanh", "aten::add"]
    assert {n.scope for n in model.walk()} == {""}
    _complete(model)
    text = jitviz.show(models.UsesLibrary().eval(), *_inputs()).source
    assert "fakelib.make_mask" in text and "aten::arange" not in text and "jitviz.function" not in text


def test_expand_calls_opens_a_library_call(lib):
    models, _ = lib
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opened = jitviz.graph(models.UsesLibrary().eval(), *_inputs(), expand_calls=True)
    assert not opened.find("prim::CallFunction")
    kinds = {node.kind for node in opened.walk()}
    assert {"aten::arange", "aten::amax", "aten::lt", "aten::tanh"} <= kinds
    assert torch.overrides._get_current_function_mode_stack() == []


def test_context_decorators_and_torch_no_grad_are_part_of_the_call_they_wrap(lib):
    models, _ = lib
    model = _graph(models.Decorated().eval(), torch.randn(2, 4), torch.randn(2, 4))
    calls = model.find("prim::CallFunction")
    assert [c.callee for c in calls] == ["fakelib.centred", "fakelib.gated"]
    centred, gated = calls
    assert centred.inputs == [model.inputs[0]] and centred.arg_names == ["x"]
    assert dict(zip(gated.arg_names, gated.inputs)) == {"x": centred.outputs[0], "gate": model.inputs[1]}
    assert len(gated.inputs) == 2 and model.outputs == gated.outputs  # in the order they were read: gate first
    assert [n.kind for n in _work(model)] == ["prim::CallFunction"] * 2
    _complete(model)


def test_a_library_decorator_around_the_users_own_function_is_no_call(lib):
    models, _ = lib
    model = _graph(models.OwnDecorated(), torch.randn(2, 4))
    assert not model.find("prim::CallFunction")  # and safe_relu, one operation, is that operation
    assert [n.kind for n in _work(model)] == ["aten::relu", "aten::sub", "aten::mul", "aten::relu"]
    _complete(model)


def test_library_calls_returning_none_or_a_dict_and_writing_in_place_stay_connected(lib):
    models, _ = lib
    model = _graph(models.Effects(), torch.randn(2, 4))
    calls = {c.callee: c for c in model.find("prim::CallFunction")}
    assert set(calls) >= {"fakelib.fill", "fakelib.summary"}
    fill, summary = calls["fakelib.fill"], calls["fakelib.summary"]
    (zeros,) = model.find("aten::zeros_like")
    assert zeros.outputs[0] in fill.inputs and model.inputs[0] in fill.inputs
    (add,) = model.find("aten::add")
    assert fill.outputs and fill.outputs[0] in add.inputs  # what it wrote into the buffer is read after
    assert summary.inputs == add.outputs and len(summary.outputs) == 2
    (sub,) = model.find("aten::sub")
    assert sub.inputs[:2] == summary.outputs[::-1] and model.outputs == sub.outputs
    _complete(model)


def test_a_library_call_that_calls_back_a_method_is_one_call_and_one_that_calls_a_submodule_is_opened(lib):
    models, _ = lib
    model = _graph(models.CallsBack(), torch.randn(2, 4))
    work = _work(model)
    assert [(n.kind, n.callee) for n in work] == [
        ("prim::CallFunction", "fakelib.apply"), ("aten::add", None), ("prim::CallMethod", "fc.forward"),
        ("aten::sub", None)]  # apply(self.fc, y): its calls are the model's stages, so it is opened
    first, add, fc, sub = work
    assert first.inputs == [model.inputs[0]] and add.inputs[0] is first.outputs[0]
    assert fc.inputs == add.outputs and sub.inputs[0] is fc.outputs[0] and model.outputs == sub.outputs
    _complete(model)


SUBMODULE = '''
import torch


def padding_mask(x):
    return torch.where(x > 0, x, torch.zeros_like(x)).sum(-1)


def compose(first, second):
    def composed(*args):  # a closure over two functions, neither called func: no decorator's wrapper
        return second(first(*args))
    return composed


def _double(x):
    return x * 2


def _shift(x):
    return x + torch.ones_like(x)


double_then_shift = compose(_double, _shift)
'''

SUBMODULE_USER = '''
from torch import nn

import fakelib.masking_utils


class UsesSubmodule(nn.Module):
    def forward(self, x):
        return fakelib.masking_utils.padding_mask(x * 2) + 1


class UsesComposed(nn.Module):
    def forward(self, x):
        return fakelib.masking_utils.double_then_shift(x).relu()
'''


@pytest.fixture
def submodule_user(lib, tmp_path):
    """``fakelib.masking_utils``, a module inside the library, and a user's models calling it."""
    (tmp_path / "site-packages" / "fakelib" / "masking_utils.py").write_text(SUBMODULE, encoding="utf-8")
    try:
        yield module_from_source(tmp_path, "submodule_user", SUBMODULE_USER)
    finally:
        sys.modules.pop("fakelib.masking_utils", None)


def test_a_call_into_a_librarys_submodule_is_named_after_the_submodule(submodule_user):
    # transformers.masking_utils.create_causal_mask is drawn as masking_utils.create_causal_mask
    model = _graph(submodule_user.UsesSubmodule(), torch.randn(2, 3))
    (call,) = model.find("prim::CallFunction")
    assert call.callee == "masking_utils.padding_mask"
    _complete(model)


def test_a_closure_over_several_functions_is_a_call_of_its_own_not_of_one_it_closes_over(submodule_user):
    model = _graph(submodule_user.UsesComposed(), torch.randn(2, 3))
    (call,) = model.find("prim::CallFunction")
    assert call.callee == "masking_utils.compose.<locals>.composed"
    assert [n.kind for n in _work(model)] == ["prim::CallFunction", "aten::relu"]
    _complete(model)


def test_an_installed_models_own_helper_stays_open_and_the_library_it_calls_is_one_call(lib):
    _, installed = lib
    model = _graph(installed.InstalledModel(), *_inputs())
    assert [(n.kind, n.callee) for n in _work(model)] == [
        ("prim::CallFunction", "fakelib.make_mask"), ("aten::mul", None), ("aten::sub", None)]
    _complete(model)


def test_only_the_outermost_library_call_is_recorded(lib):
    models, _ = lib
    module = models.UsesLibrary().eval()
    with recording_calls(module) as recorded, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit._get_trace_graph(module, _inputs())
    assert [(f.module, f.name) for f in recorded.functions.values()] == [("fakelib", "make_mask")]
    assert not recorded.methods


class _Distribution(torch.nn.Module):
    def forward(self, x, loc):
        return torch.distributions.Normal(loc, 2.0, validate_args=False).log_prob(x)


def test_torchs_own_python_code_is_not_a_library_call():
    # torch's Python functions are what a trace records as operations (torch.nn.functional has its own rule)
    model = _graph(_Distribution(), torch.randn(3), torch.zeros(3))
    assert not model.find("prim::CallFunction") and not model.find("prim::CallMethod")
    assert {"aten::sub", "aten::pow", "aten::div"} <= {node.kind for node in model.nodes}
    _complete(model)


@pytest.mark.parametrize("path, library", [
    ("/usr/lib/python3/dist-packages/numpy/core.py", True),
    ("/home/me/.venv/lib/python3.11/site-packages/transformers/masking_utils.py", True),
    (str(Path(warnings.__file__)), True),  # the standard library
    ("/home/me/project/model.py", False),
    ("/home/me/site-packages-notes/model.py", False),  # a name that only begins alike
    ("/home/me/my-dist-packages/model.py", False),  # ... or ends alike
    (sysconfig.get_paths()["stdlib"] + "-notes/model.py", False),  # a folder beside the standard library's
])
def test_library_files_are_installed_packages_and_the_standard_library(path, library):
    assert library_file(path) is library


def test_gpt2s_attention_mask_is_one_call_to_create_causal_mask():
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=100, n_positions=64, use_cache=False)
    module = transformers.GPT2Model(config).eval()
    module.config.return_dict = False
    model = _graph(module, torch.randint(0, 100, (1, 8)))
    (mask,) = model.find("prim::CallFunction")
    assert mask.callee == "masking_utils.create_causal_mask" and mask.source.file == "modeling_gpt2.py"
    blocks = [n for n in model.find("prim::CallMethod") if n.attributes["module_path"].startswith("h.")]
    assert len(blocks) == 2 and all(mask.outputs[0] in block.inputs for block in blocks)
    drawing = draw(model)
    assert drawing.node_count <= 30 and missing_uses(model, drawing) == []
