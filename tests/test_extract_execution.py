"""jitviz.extract.execution: a counting copy of a TorchScript graph says how often each block ran."""

import pytest
import torch

from jitviz.extract import torchscript
from jitviz.extract.execution import CountedRun, ExecutionError, schema_of

from . import seed_functions as seed


def _counted(obj, mode="auto"):
    source = torchscript.obtain(obj, (), mode)
    model = torchscript.convert(source, open_pass_through=False)
    return model, CountedRun(source, model, schema_of(source))


def _expected_looping(x, n):
    """What seed.looping's blocks run, counted in Python: for body, then, else, while body."""
    runs = [0, 0, 0, 0]
    for i in range(n):
        runs[0] += 1
        runs[1 if i % 2 == 0 else 2] += 1
        x = x + i if i % 2 == 0 else x * 2
    while bool(x.sum() < 100):
        runs[3] += 1
        x = x + 1
    return runs


@pytest.mark.parametrize("n", [0, 1, 4])
def test_every_block_is_counted_as_often_as_it_ran(n):
    model, run = _counted(seed.looping, "script")
    outputs, execution = run((torch.ones(2), n))
    for_loop, while_loop = model.find("prim::Loop")
    (branch,) = model.find("prim::If")
    keys = [f"{for_loop.id}/0", f"{branch.id}/0", f"{branch.id}/1", f"{while_loop.id}/0"]
    assert [execution.runs(key) for key in keys] == _expected_looping(torch.ones(2), n)
    assert set(execution.block_runs) == set(keys)
    assert torch.equal(outputs, seed.looping(torch.ones(2), n))
    assert run((torch.ones(2), n))[1] == execution  # each run counts afresh


def test_a_graph_with_no_schema_is_run_on_the_inputs_as_given():
    model, run = _counted(torch.jit.script(seed.branchy_bool).graph)
    assert schema_of(torchscript.obtain(torch.jit.script(seed.branchy_bool).graph, (), "auto")) is None
    (branch,) = model.find("prim::If")
    outputs, execution = run((torch.full((2,), 3.0),))
    assert outputs == 1 and execution.block_runs == {f"{branch.id}/0": 1, f"{branch.id}/1": 0}


def test_a_drawing_with_expanded_calls_cannot_be_counted():
    source = torchscript.obtain(torch.jit.script(seed.calls_branchy_helper), (), "auto")
    with pytest.raises(ExecutionError, match=r"^The drawn graph and the executed one have different blocks "
                       r"\(expanded calls\?\); highlight what ran with expand_calls=False, or inline=True\.$"):
        CountedRun(source, torchscript.convert(source, expand_calls=True))


def test_a_failed_run_names_the_module_its_inputs_and_what_torchscript_said_without_self():
    _, run = _counted(torch.jit.script(seed.TinyNet()))
    with pytest.raises(ExecutionError) as caught:
        run((torch.ones(3, 5),))  # Linear(4, 8) cannot take 5 features
    message = str(caught.value)
    said = next(line for line in str(caught.value.__cause__).splitlines() if line.strip())
    assert message == ("TinyNet could not run on these inputs (Tensor(3, 5) float32); it takes (x: Tensor). "
                       f"TorchScript said: {said.strip()}")
    assert caught.value.__cause__ is not None
    outputs, _ = run((torch.ones(3, 4),))  # the module's own parameters, passed as `self`
    assert outputs.shape == (3, 2)


def test_an_overloaded_forward_has_no_single_schema():
    assert schema_of(torchscript.obtain(torch.jit.script(torch.nn.GRU(2, 3)), (), "auto")) is None
    scripted = torchscript.obtain(torch.jit.script(seed.TinyNet()), (), "auto")
    assert [argument.name for argument in schema_of(scripted).arguments] == ["self", "x"]


def test_a_failed_run_lists_every_input_given():
    _, run = _counted(seed.looping, "script")
    with pytest.raises(ExecutionError, match=r"^looping could not run on these inputs \(Tensor\(2\) float32, str\); "
                       r"it takes \(x: Tensor, n: int\)\. TorchScript said: "):
        run((torch.ones(2), "three"))


def test_every_parameter_left_without_a_value_is_named():
    _, run = _counted(seed.looping, "script")
    with pytest.raises(ExecutionError, match=r"TorchScript said: no value for x, n, which has no default$"):
        run(())


def test_a_traced_function_is_run_without_a_self():
    source = torchscript.obtain(seed.double, (torch.ones(2),), "trace")
    outputs, execution = CountedRun(source, torchscript.convert(source), schema_of(source))((torch.ones(2),))
    assert torch.equal(outputs, torch.full((2,), 2.0)) and execution.block_runs == {}
