"""A traced module's default view: each submodule call one node, connected as the data flows."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F  # noqa: N812 (the name every torch user knows, and the lines below read)
from torch import nn

import jitviz
from jitviz.extract.calls import recording_calls
from jitviz.render import draw

from .drawing_check import missing_uses


class _Block(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.fc = nn.Linear(width, width)

    def forward(self, x):
        return torch.relu(self.fc(x))


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = _Block(4)
        self.second = _Block(4)
        self.head = nn.Linear(4, 2)

    def forward(self, x, y):
        h = self.second(self.first(x)) + y  # a line of the module's own
        return self.head(h)


def _calls(model):
    return {node.attributes["module_path"]: node for node in model.find("prim::CallMethod")}


def test_each_submodule_call_is_one_node_and_its_body_is_not_recorded():
    model = jitviz.graph(_Net(), torch.ones(1, 4), torch.ones(1, 4))
    assert [n.kind for n in model.nodes if n.kind != "prim::Constant"] == [
        "prim::CallMethod", "prim::CallMethod", "aten::add", "prim::CallMethod"]
    assert not model.find("aten::relu") and not model.find("aten::linear")  # inside the blocks
    calls = _calls(model)
    assert {path: node.attributes["module_type"] for path, node in calls.items()} == {
        "first": "_Block", "second": "_Block", "head": "Linear"}
    assert calls["head"].callee == "head.forward"


def test_calls_read_what_they_were_given_and_later_nodes_read_what_they_returned():
    model = jitviz.graph(_Net(), torch.ones(1, 4), torch.ones(1, 4))
    x, y = model.inputs[:2]
    calls = _calls(model)
    (add,) = model.find("aten::add")
    assert calls["first"].inputs == [x]
    assert calls["second"].inputs == calls["first"].outputs
    assert add.inputs[:2] == [calls["second"].outputs[0], y]
    assert calls["head"].inputs == add.outputs and model.outputs == calls["head"].outputs
    assert calls["head"].outputs[0].type == "Float(1, 2)"  # the shape the call returned


def test_inputs_are_named_after_forward_and_parameters_after_the_state_dict():
    model = jitviz.graph(_Net(), torch.ones(1, 4), torch.ones(1, 4))
    assert [v.name for v in model.inputs[:2]] == ["x", "y"]
    assert {v.name for v in model.inputs[2:]} == set(_Net().state_dict())
    listed = jitviz.graph(_ListInput(), [torch.ones(2), torch.ones(2)])
    assert [v.name for v in listed.inputs] == ["images[0]", "images[1]"]


class _ListInput(nn.Module):
    def forward(self, images):
        return images[0] + images[1]


def test_a_call_points_at_the_line_that_made_it():
    model = jitviz.graph(_Net(), torch.ones(1, 4), torch.ones(1, 4))
    where = _calls(model)["first"].source
    assert where.file == "test_calls.py"
    assert where.code == "h = self.second(self.first(x)) + y  # a line of the module's own"


class _Passing(nn.Module):
    """Submodules that return their input itself (Identity), change it in place, or return a dict."""

    def __init__(self) -> None:
        super().__init__()
        self.same = nn.Identity()
        self.act = nn.ReLU(inplace=True)
        self.pack = _Pack()

    def forward(self, x):
        y = self.act(self.same(x * 2))
        out = self.pack(y)
        return out["twice"] + out["result"].result


@dataclass
class _Result:
    result: torch.Tensor


class _Pack(nn.Module):
    def forward(self, x):
        return {"twice": x * 2, "result": _Result(x + 1)}


def test_returned_inputs_in_place_results_dicts_and_dataclasses_stay_connected():
    model = jitviz.graph(_Passing(), torch.ones(2))
    calls = _calls(model)
    (mul,) = model.find("aten::mul")
    (add,) = model.find("aten::add")
    assert calls["same"].inputs == mul.outputs  # Identity: no floating call
    assert calls["act"].inputs == calls["same"].outputs
    assert calls["pack"].inputs == calls["act"].outputs
    assert len(calls["pack"].outputs) == 2 and add.inputs[:2] == calls["pack"].outputs


def test_identical_submodules_are_drawn_once_with_repeats():
    stack = nn.Sequential(_Block(4), _Block(4), _Block(4), nn.Linear(4, 2), _Block(2))
    merged = jitviz.show(stack, torch.ones(1, 4), repeats=True).source
    assert "×3 (0 … 2)" in merged
    assert "4: _Block" in merged and "×" not in merged.split("4: _Block")[1].split("\n")[0]  # another width


def test_submodules_of_one_type_with_other_sizes_or_other_parts_are_not_merged():
    relu, tanh = (nn.Sequential(nn.Linear(4, 4), act) for act in (nn.ReLU(), nn.Tanh()))
    for stack in (nn.Sequential(_Block(4), _Block(4), _Block(4)), nn.Sequential(relu, tanh)):
        with recording_calls(stack) as recorded:
            torch.jit._get_trace_graph(stack, (torch.ones(1, 4),))
        calls = recorded.calls
        assert [call.path for call in calls] == ["0", "1", "2"][:len(stack)]
        assert len({call.signature for call in calls}) == (1 if len(stack) == 3 else 2)
    wide, narrow = nn.Sequential(_Block(4), _Block(4)), nn.Sequential(_Block(2), _Block(2))
    signatures = set()
    for stack, width in ((wide, 4), (narrow, 2)):
        with recording_calls(stack) as recorded:
            torch.jit._get_trace_graph(stack, (torch.ones(1, width),))
        signatures |= {call.signature for call in recorded.calls}
    assert len(signatures) == 2


class _Failing(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = _Raises()

    def forward(self, x):
        return self.inner(x)


class _Raises(nn.Module):
    def forward(self, x):
        raise ValueError("inner trouble")


def test_a_failing_submodule_gives_a_tracing_error_and_leaves_torch_as_it_was():
    slow_forward = nn.Module._slow_forward
    with pytest.raises(jitviz.TracingError, match="inner trouble"):
        jitviz.graph(_Failing(), torch.ones(2))
    assert nn.Module._slow_forward is slow_forward
    assert torch._C._get_tracing_state() is None


def test_recording_is_limited_to_the_block_and_to_the_module_given():
    slow_forward = nn.Module._slow_forward
    net, other = _Net(), _Block(4)
    with recording_calls(net) as recorded:
        torch.jit._get_trace_graph(other, (torch.ones(1, 4),))  # not net's: its children are traced as usual
    assert recorded.calls == []
    with recording_calls(net) as recorded:
        graph, _ = torch.jit._get_trace_graph(net, (torch.ones(1, 4), torch.ones(1, 4)))
    calls = recorded.calls
    assert [call.path for call in calls] == ["first", "second", "head"]
    assert calls[0].signature == calls[1].signature != calls[2].signature
    assert nn.Module._slow_forward is slow_forward


class _Attention(nn.Module):
    """A module whose own forward calls torch.nn.functional: one many-operation function, one not."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2)

    def forward(self, x):
        out, _ = F.multi_head_attention_forward(
            x, x, x, 8, 2, self.attn.in_proj_weight, self.attn.in_proj_bias, None, None, False, 0.0,
            self.attn.out_proj.weight, self.attn.out_proj.bias, training=False, need_weights=False)
        return F.relu(out) + x


def test_a_functional_call_of_many_operations_is_one_call_and_of_one_operation_that_operation():
    x = torch.randn(3, 1, 8)
    model = jitviz.graph(_Attention().eval(), x)
    assert [n.kind for n in model.nodes if n.kind != "prim::Constant"] == [
        "prim::CallFunction", "aten::relu", "aten::add"]
    (call,) = model.find("prim::CallFunction")
    (relu,) = model.find("aten::relu")
    assert call.callee == "torch.nn.functional.multi_head_attention_forward"
    assert call.inputs[0] is model.inputs[0] and call.arg_names[0] == "query"
    assert relu.source.file == "functional.py"
    assert "in_proj_weight" in call.arg_names and call.inputs[call.arg_names.index("in_proj_weight")].role
    assert relu.inputs == [call.outputs[0]] and len(call.outputs) == 1  # its unused weights: not an output
    assert call.source.code.startswith("out, _ = F.multi_head_attention_forward(")
    (add,) = model.find("aten::add")
    assert add.source.code == "return F.relu(out) + x"  # not the recorder's own line
    text = jitviz.show(_Attention().eval(), x).source
    assert "multi_head_attention_forward" in text and "aten::bmm" not in text


def test_functional_calls_are_opened_with_expand_calls_and_torch_is_left_as_it_was():
    x = torch.randn(3, 1, 8)
    opened = jitviz.graph(_Attention().eval(), x, expand_calls=True)
    assert not opened.find("prim::CallFunction")
    assert sum(n.kind.startswith("aten::") for n in opened.walk()) > 10  # the function's operations
    assert torch.overrides._get_current_function_mode_stack() == []


class _AttentionOut(_Attention):
    def forward(self, x):
        return F.multi_head_attention_forward(
            x, x, x, 8, 2, self.attn.in_proj_weight, self.attn.in_proj_bias, None, None, False, 0.0,
            self.attn.out_proj.weight, self.attn.out_proj.bias, training=False, need_weights=False)[0]


def test_a_functional_call_whose_result_is_the_output_makes_the_output():
    model = jitviz.graph(_AttentionOut().eval(), torch.randn(3, 1, 8))
    (call,) = model.find("prim::CallFunction")
    assert model.outputs == call.outputs


class _Box:
    def __init__(self, tensor):
        self.tensor = tensor


class _Boxing(nn.Module):
    def forward(self, x):
        return _Box(x * 2)


class _Stashing(nn.Module):
    """Keeps its result on itself and returns nothing: no return value to follow."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        self.last = self.fc(x)


class _Unboxing(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.box, self.stash = _Boxing(), _Stashing()

    def forward(self, x):
        self.stash(x)
        return self.box(x).tensor + self.stash.last


def test_tensors_in_returned_objects_and_tensors_a_call_stored_on_its_submodule_connect():
    boxed = jitviz.graph(_Unboxing(), torch.ones(1, 2))
    (add,) = boxed.find("aten::add")
    stash, box = boxed.find("prim::CallMethod")
    assert (stash.attributes["module_path"], box.attributes["module_path"]) == ("stash", "box")
    assert add.inputs[:2] == [box.outputs[0], stash.outputs[0]]  # self.stash.last: what the stash call stored
    assert not boxed.find("prim::GetAttr")  # recorded, not traced in full (a full trace reads self.stash)

    class _OnlyBox(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.box = _Boxing()

        def forward(self, x):
            return self.box(x).tensor + 1

    model = jitviz.graph(_OnlyBox(), torch.ones(2))
    (call,) = model.find("prim::CallMethod")
    (add,) = model.find("aten::add")
    assert add.inputs[0] is call.outputs[0]


class _Cache:
    def __init__(self) -> None:
        self.kept: list[torch.Tensor] = []


class _CacheWriter(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x, cache):
        y = self.fc(x)
        cache.kept.append(y.view(1, 2, 2, 2).transpose(1, 2))  # a view the trace never saw made
        return y


class _CacheReader(nn.Module):
    def forward(self, x, cache):
        return x * len(cache.kept)


class _Cached(nn.Module):
    """Submodules share a cache object, as Hugging Face decoders share their key/value cache."""

    def __init__(self) -> None:
        super().__init__()
        self.first, self.second, self.reader = _CacheWriter(), _CacheWriter(), _CacheReader()

    def forward(self, x):
        cache = _Cache()
        return self.reader(self.second(self.first(x, cache), cache), cache)


def test_a_cache_of_tensors_made_inside_calls_is_passed_over_not_asked_about():
    # torch crashed (a segmentation fault) when asked for the trace's value of such a tensor
    model = jitviz.graph(_Cached(), torch.ones(2, 4))
    first, second, reader = model.find("prim::CallMethod")
    assert first.inputs == [model.inputs[0]] and second.inputs == first.outputs and reader.inputs == second.outputs


class _AttentionThenLinear(_AttentionOut):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return self.fc(super().forward(x))


def test_a_submodule_reads_what_a_functional_call_returned():
    model = jitviz.graph(_AttentionThenLinear().eval(), torch.randn(3, 1, 8))
    (function,) = model.find("prim::CallFunction")
    (call,) = model.find("prim::CallMethod")
    assert call.inputs == function.outputs


class _Masked(nn.Module):
    def forward(self, x, mask=None, bias=None, pair=(), **extra):
        out = x * mask + bias + pair[0] * pair[1]
        return out + sum(extra.values()) if extra else out


class _Keywords(nn.Module):
    """Calls its submodule with tensors given positionally, by keyword, in a tuple and by ``**kwargs``."""

    def __init__(self) -> None:
        super().__init__()
        self.block = _Masked()

    def forward(self, x, m, b):
        return self.block(x * 2, bias=b, pair=(m, b), mask=m + 1, scale=b * 3)


def test_tensors_given_by_keyword_are_read_by_the_call_in_parameter_order_and_named_after_them():
    model = jitviz.graph(_Keywords(), torch.ones(2), torch.ones(2), torch.ones(2))
    x, m, b = model.inputs[:3]
    (call,) = model.find("prim::CallMethod")
    (mul2, mul3) = [n for n in model.find("aten::mul")]
    (add,) = model.find("aten::add")
    # mask=m + 1 is read before bias=b though written after it; pair's b is the b already read (once)
    assert call.arg_names == ["x", "mask", "bias", "pair[0]", "scale"]
    assert call.inputs == [mul2.outputs[0], add.outputs[0], b, m, mul3.outputs[0]]
    assert x not in call.inputs  # x * 2 is read, not x


def _plain_trace(module, *inputs) -> list[str]:
    """What torch.jit.trace records for ``module``, every submodule's body included: each node's kind,
    attributes and inputs' types (``str(graph)`` names each trace's classes apart)."""
    graph = torch.jit.trace(module, inputs).inlined_graph
    nodes = [f"{n.kind()}{sorted(n.attributeNames())}{[str(v.type()) for v in n.inputs()]}" for n in graph.nodes()]
    return [re.sub(r"___torch_mangle_\d+\.", "", node) for node in nodes]


_NET = _Net()
_BEFORE_JITVIZ = _plain_trace(_NET, torch.ones(1, 4), torch.ones(1, 4))  # at import: before any test ran jitviz


def _left_as_found(slow_forward) -> None:
    """torch is as jitviz found it: its own ``_slow_forward``, no trace, no mode, plain traces as before."""
    try:
        assert nn.Module._slow_forward is slow_forward
        assert torch._C._get_tracing_state() is None
        assert torch.overrides._get_current_function_mode_stack() == []
        assert _plain_trace(_NET, torch.ones(1, 4), torch.ones(1, 4)) == _BEFORE_JITVIZ
        assert [line for line in _BEFORE_JITVIZ if "aten::linear" in line] and "jitviz" not in str(_BEFORE_JITVIZ)
    finally:
        nn.Module._slow_forward = slow_forward  # for the tests after this one, whatever happened


def _summary(model) -> list:
    return [(n.kind, n.attributes.get("module_path"), n.arg_names, [v.id for v in n.inputs]) for n in model.nodes]


class _Waiting(nn.Module):
    """Signals ``inside`` from within its call, then waits (at most a moment) for ``go``."""

    def __init__(self, inside, go) -> None:
        super().__init__()
        self.inside, self.go = inside, go

    def forward(self, x):
        self.inside.set()
        self.go.wait(timeout=0.3)
        return x + 1


class _Meeting(nn.Module):
    def __init__(self, inside, go) -> None:
        super().__init__()
        self.wait = _Waiting(inside, go)
        self.after = _Block(2)

    def forward(self, x):
        return self.after(self.wait(x))


def test_overlapping_pictures_in_two_threads_are_drawn_as_alone_and_leave_torch_as_it_was():
    slow_forward = nn.Module._slow_forward
    events = [threading.Event(), threading.Event()]
    # each model's first call waits, inside its recording, for the other thread's to be inside its own
    models = [_Meeting(events[0], events[1]), _Meeting(events[1], events[0])]
    alone = [_summary(jitviz.graph(m, torch.ones(1, 2))) for m in models]
    for event in events:
        event.clear()
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(lambda m: _summary(jitviz.graph(m, torch.ones(1, 2))), models))
    assert together == alone
    assert [n[1] for n in alone[0] if n[0] == "prim::CallMethod"] == ["wait", "after"]
    _left_as_found(slow_forward)


def test_a_plain_trace_in_another_thread_while_a_picture_is_recorded_is_a_plain_trace():
    slow_forward = nn.Module._slow_forward
    inside, go = threading.Event(), threading.Event()
    meeting = _Meeting(inside, go)
    with ThreadPoolExecutor(1) as pool:
        drawn = pool.submit(jitviz.graph, meeting, torch.ones(1, 2))
        assert inside.wait(timeout=5)  # the other thread is inside its recording now
        traced = _plain_trace(_NET, torch.ones(1, 4), torch.ones(1, 4))  # of a model the recording knows too
        other = _plain_trace(meeting.after, torch.ones(1, 2))
        go.set()
        drawn.result()
    assert traced == _BEFORE_JITVIZ
    assert [line for line in other if "aten::linear" in line] and "jitviz" not in str(other)
    _left_as_found(slow_forward)


def test_many_pictures_in_four_threads_are_the_pictures_drawn_one_at_a_time():
    slow_forward = nn.Module._slow_forward
    cases = [(_Net(), (torch.ones(1, 4), torch.ones(1, 4))), (_Keywords(), (torch.ones(2),) * 3),
             (_Passing(), (torch.ones(2),)), (_Cached(), (torch.ones(2, 4),))]

    def picture(index):
        module, inputs = cases[index % len(cases)]
        if index < len(cases):  # the whole picture, once each
            return jitviz.show(module, *inputs).source
        return _summary(jitviz.graph(module, *inputs))

    alone = [picture(index) for index in range(40)]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(picture, range(40)))
    assert together == alone
    _left_as_found(slow_forward)


class _Interrupted(nn.Module):
    def forward(self, x):
        raise KeyboardInterrupt


@pytest.mark.parametrize("where", ["submodule", "module"])
def test_a_picture_interrupted_inside_forward_or_failed_leaves_torch_as_it_was(where):
    slow_forward = nn.Module._slow_forward
    interrupted = nn.Sequential(nn.Linear(2, 2), _Interrupted()) if where == "submodule" else _Interrupted()
    with pytest.raises(KeyboardInterrupt):
        jitviz.graph(interrupted, torch.ones(1, 2))
    _left_as_found(slow_forward)
    with pytest.raises(jitviz.TracingError):
        jitviz.graph(_Failing(), torch.ones(2))
    _left_as_found(slow_forward)
    with ThreadPoolExecutor(1) as pool:  # no recording is left holding the others off
        drawn = pool.submit(jitviz.graph, _Net(), torch.ones(1, 4), torch.ones(1, 4)).result(timeout=10)
    assert len(drawn.find("prim::CallMethod")) == 3


class _Counting(nn.Module):
    """Counts its forward's runs; its submodule ``inner`` raises, or its own code does."""

    def __init__(self, where: str) -> None:
        super().__init__()
        self.runs, self.where = 0, where
        self.first, self.inner = nn.Linear(2, 2), _Raises()

    def forward(self, x):
        self.runs += 1
        if self.where == "own code":
            raise ValueError("own trouble")
        if self.where == "own operation":
            return x @ torch.ones(3, 3)
        return self.inner(self.first(x))


@pytest.mark.parametrize("where", ["submodule", "own code", "own operation"])
def test_a_model_that_raises_runs_once_and_gives_one_error_naming_what_failed(where):
    model = _Counting(where)
    with pytest.raises(jitviz.TracingError) as raised:
        jitviz.graph(model, torch.ones(1, 2))
    assert model.runs == 1
    cause = RuntimeError if where == "own operation" else ValueError
    assert isinstance(raised.value, jitviz.JitvizError) and type(raised.value.__cause__) is cause
    message = str(raised.value)
    assert message.startswith("Tracing _Counting failed")
    if where == "submodule":
        assert raised.value.__cause__.args == ("inner trouble",)
        assert "submodule inner (_Raises) raised ValueError: inner trouble" in message
        assert "return self.inner(self.first(x))" in message  # the line that called it
    else:
        assert ("own trouble" if where == "own code" else "cannot be multiplied") in message


def test_the_new_pictures_draw_every_edge():
    meeting = _Meeting(threading.Event(), threading.Event())
    meeting.wait.go.set()
    for module, inputs in ((_Keywords(), (torch.ones(2),) * 3), (meeting, (torch.ones(1, 2),))):
        model = jitviz.graph(module, *inputs)
        for checks in ("fold", "show"):
            assert missing_uses(model, draw(model, checks=checks)) == []


def test_a_recording_inside_a_recording_in_one_thread_gives_back_the_outer_one():
    slow_forward = nn.Module._slow_forward
    net, stack = _Net(), nn.Sequential(_Block(4), _Block(4))

    found = []

    def nested():
        with recording_calls(net) as outer:
            with recording_calls(stack) as inner:  # the same thread may record again (no deadlock)
                torch.jit._get_trace_graph(stack, (torch.ones(1, 4),))
            torch.jit._get_trace_graph(net, (torch.ones(1, 4), torch.ones(1, 4)))  # the outer one's again
        found.append(([call.path for call in inner.calls], [call.path for call in outer.calls]))

    thread = threading.Thread(target=nested, daemon=True)  # a deadlocked one does not hold pytest
    thread.start()
    thread.join(timeout=10)
    assert found == [(["0", "1"], ["first", "second", "head"])]
    _left_as_found(slow_forward)


class _Upsample(torch.nn.Module):
    def forward(self, x):
        return torch.nn.functional.interpolate(x * 2, size=x.shape[-2:], mode="bilinear", align_corners=False)


def test_a_functional_call_reading_sizes_made_between_its_operations_is_drawn_after_them():
    # F.interpolate(size=x.shape[-2:]): the trace records the size reads between interpolate's own operations
    model = jitviz.graph(_Upsample(), torch.randn(1, 2, 4, 4)).validate()
    (call,) = model.find("prim::CallFunction")
    assert call.callee == "torch.nn.functional.interpolate"
    readers = {value.id for node in model.walk() for value in node.outputs}
    assert all(value.id in readers or value in model.inputs for value in call.inputs)
    assert model.outputs[0] in call.outputs


class _Activated(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        return F.softmax(self.fc(x), -1)  # its own functional call: run, not recorded


class _OneOperationEach(nn.Module):
    """One-operation ``torch.nn.functional`` calls in a forward, around submodules and a module made on the fly."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = _Activated()
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        y = F.layer_norm(x, (3,)) + F.dropout(x, 0.5, self.training)
        y = F.relu(self.inner(y)) + F.softmax(self.drop(x), -1)
        return F.gelu(y) + nn.Sequential(nn.Tanh())(F.relu(y))


@pytest.mark.parametrize("module, inputs", [
    (_OneOperationEach(), (torch.randn(2, 3),)),
    (nn.TransformerEncoderLayer(16, 2, 32, batch_first=True), (torch.randn(1, 3, 16),)),  # its F.relu
], ids=["functions", "TransformerEncoderLayer"])
def test_one_operation_functional_calls_are_that_operation_in_no_frame_of_jitviz_own(module, inputs):
    module.eval()
    model = jitviz.graph(module, *inputs)
    assert {node.scope for node in model.walk()} == {""}  # not jitviz.function.0: the recorder is no module
    assert not model.find("prim::CallFunction")
    text = jitviz.show(module, *inputs).source
    assert "cluster_scope" not in text and "jitviz.function" not in text
    assert missing_uses(model, draw(model)) == []
    if isinstance(module, _OneOperationEach):
        kinds = [node.kind for node in model.nodes]
        for kind in ("aten::layer_norm", "aten::dropout", "aten::relu", "aten::softmax", "aten::gelu", "aten::tanh"):
            assert kind in kinds
        assert [n.attributes["module_path"] for n in model.find("prim::CallMethod")] == ["inner", "drop"]
        assert "aten::linear" not in kinds  # inner's body: run, not recorded


def test_an_inlined_trace_keeps_its_module_frames():
    model = jitviz.graph(_OneOperationEach().eval(), torch.randn(2, 3), inline=True)
    assert {node.scope for node in model.walk()} == {"", "inner", "inner.fc", "drop"}
    assert "cluster_scope_inner" in jitviz.show(_OneOperationEach().eval(), torch.randn(2, 3), inline=True).source


class _Pyramid(nn.Module):
    """RAFT's CorrBlock: ``build`` stores a pyramid on the module, and ``forward`` reads it later."""

    def __init__(self) -> None:
        super().__init__()
        self.levels: list[torch.Tensor] = [torch.tensor(0)]

    def build(self, fmap1: torch.Tensor, fmap2: torch.Tensor) -> None:
        torch._assert(fmap1.shape == fmap2.shape, "feature maps of one shape")
        corr = fmap1 * fmap2
        self.levels = [corr]
        for _ in range(2):
            corr = F.avg_pool2d(corr, 2)
            self.levels.append(corr)

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        return torch.cat([level.mean() * coords for level in self.levels], 1)


class _Flow(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Conv2d(3, 2, 1)
        self.corr_block = _Pyramid()
        self.head = nn.Conv2d(2, 2, 1)

    def forward(self, image1: torch.Tensor, image2: torch.Tensor) -> torch.Tensor:
        fmap1, fmap2 = self.encoder(image1), self.encoder(image2)
        self.corr_block.build(fmap1, fmap2)
        return self.corr_block(self.head(fmap1))


def test_a_method_that_stores_its_result_on_its_submodule_is_a_call_that_the_later_call_reads():
    images = torch.randn(1, 3, 4, 4), torch.randn(1, 3, 4, 4)
    model = jitviz.graph(_Flow(), *images)
    assert [n.callee for n in model.nodes if n.kind != "prim::Constant"] == [
        "encoder.forward", "encoder.forward", "corr_block.build", "head.forward", "corr_block.forward"]
    first, second, build, head, corr = model.find("prim::CallMethod")
    assert build.attributes["module_path"] == "corr_block" and build.attributes["module_type"] == "_Pyramid"
    assert build.inputs == [first.outputs[0], second.outputs[0]] and build.arg_names == ["fmap1", "fmap2"]
    assert build.source.code == "self.corr_block.build(fmap1, fmap2)"
    assert corr.inputs == [head.outputs[0], *build.outputs] and len(build.outputs) == 3  # the three levels
    assert corr.arg_names == ["coords", "self.levels[0]", "self.levels[1]", "self.levels[2]"]
    drawing = draw(model)
    assert "check" not in drawing.dot.source and "build" in drawing.dot.source
    assert missing_uses(model, drawing) == []


def test_a_scripted_call_made_for_what_it_stores_is_drawn_as_a_call_not_a_check():
    model = jitviz.graph(_Flow())
    (build,) = [n for n in model.find("prim::CallMethod") if n.callee.endswith(".build")]
    assert build.outputs == []  # its None, read by nothing, is not a result: the call is made for its effect
    drawing = draw(model)
    assert "check" not in drawing.dot.source and drawing.drawn_as.get(build.id) == build.id
    assert missing_uses(model, drawing) == []


class _Decoder(nn.Module):
    """A submodule with a method of its own that the traced code calls: ``decode`` after ``forward``."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = 2.0

    def forward(self, x):
        return x.flatten(1)

    def decode(self, rel, anchors):
        return (rel * self.scale + anchors).clamp(min=0) - anchors.mean()


class _Detector(nn.Module):
    """SSD's shape: stages called from a helper of the model's own (opened), a submodule's method, and a
    postprocess of the model's own with a loop over the classes (one call)."""

    def __init__(self, classes: int = 6) -> None:
        super().__init__()
        self.backbone = nn.Conv2d(3, 4, 3, 2, 1)
        self.extra = nn.ModuleList([nn.Conv2d(4, 4, 3, 2, 1) for _ in range(2)])
        self.cls_head = nn.Conv2d(4, classes, 1)
        self.decoder = _Decoder()
        self.classes = classes

    def forward(self, images):
        return self._forward_impl(images)

    def _forward_impl(self, images):
        features = self._features(images)
        logits = torch.cat([self.decoder(self.cls_head(f)) for f in features], 1)
        boxes = self.decoder.decode(logits[:, :4], torch.ones(4))
        return self.postprocess(logits, boxes)

    def _features(self, x):
        x = self.backbone(x)
        out = [x]
        for block in self.extra:
            x = block(x)
            out.append(x)
        return out

    def postprocess(self, logits, boxes):
        scores = F.softmax(logits.reshape(-1, self.classes), -1)
        kept = []
        for label in range(1, scores.shape[-1]):
            score = scores[:, label]
            kept.append(boxes.sum(0) * score[score > 0.1].max())
        return torch.stack(kept)


def test_a_detector_is_drawn_as_its_stages_its_own_postprocess_and_its_submodules_methods_one_call_each():
    image = torch.randn(1, 3, 8, 8)
    model = jitviz.graph(_Detector().eval(), image)
    calls = [n.callee for n in model.nodes if n.kind == "prim::CallMethod"]
    assert calls == ["backbone.forward", "extra.0.forward", "extra.1.forward", "cls_head.forward", "decoder.forward",
                     "cls_head.forward", "decoder.forward", "cls_head.forward", "decoder.forward",
                     "decoder.decode", "self.postprocess"]  # _forward_impl and _features: opened, they call stages
    work = [n for n in model.nodes if n.kind != "prim::Constant"]
    assert len(work) == 17  # and cat, two slices, ones, two lists: the postprocess loop is not unrolled
    decode, postprocess = work[-2:]
    assert postprocess.attributes["module_path"] == "" and postprocess.arg_names[:2] == ["logits", "boxes"]
    assert decode.outputs[0] in postprocess.inputs and model.outputs == postprocess.outputs
    assert "self: _Detector.postprocess" in jitviz.show(_Detector().eval(), image).source
    drawing = draw(model)
    assert missing_uses(model, drawing) == [] and "check" not in drawing.dot.source
    opened = jitviz.graph(_Detector().eval(), image, expand_calls=True)  # traced in full: every operation
    assert len(opened.find("aten::gt")) == 5  # one per class but the first


class _Helpers(nn.Module):
    """A one-operation helper of the module's own is that operation; a method called in a loop is one call per run."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(3)

    def forward(self, x):
        for _ in range(2):
            x = self.norm.forward(self._scale(x))  # forward called directly: a method call like any
        return self._double(x)

    def _scale(self, x):
        return x * 3 - 1

    def _double(self, x):
        return x * 2


def test_helpers_of_one_operation_are_that_operation_and_each_run_of_a_method_is_its_own_call():
    model = jitviz.graph(_Helpers(), torch.randn(2, 3))
    kinds = [(n.kind, n.callee) for n in model.nodes if n.kind != "prim::Constant"]
    assert kinds == [("prim::CallMethod", "self._scale"), ("prim::CallMethod", "norm.forward")] * 2 + [
        ("aten::mul", None)]
    assert {n.scope for n in model.walk()} == {""}
    assert missing_uses(model, draw(model)) == []
