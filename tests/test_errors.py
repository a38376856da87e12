"""Bad input gets a JitvizError that says what was wrong and what to do; never a raw torch error."""



import pytest
import torch

import jitviz

from . import seed_functions as seed
from . import zipforge


def test_unsupported_object():
    with pytest.raises(jitviz.UnsupportedObjectError, match="cannot draw a int.*Python function"):
        jitviz.show(42)
    with pytest.raises(jitviz.UnsupportedObjectError, match="cannot draw a type"):
        jitviz.show(torch.nn.Linear)  # the class, not an instance


def test_scripting_rejection_keeps_torchscript_message_and_suggests_tracing():
    def uses_numpy(x):
        import numpy

        return numpy.sum(x)

    with pytest.raises(jitviz.ScriptingError) as caught:
        jitviz.show(uses_numpy)
    message = str(caught.value)
    assert "Scripting uses_numpy failed" in message
    assert "import" in message  # TorchScript's own complaint, with the source it points at
    assert "trace it with example inputs" in message
    assert "frame #" not in message


def test_trace_without_inputs_or_with_wrong_kind_of_inputs():
    with pytest.raises(jitviz.TracingError, match="needs example inputs"):
        jitviz.show(seed.double, mode="trace")
    with pytest.raises(jitviz.TracingError, match=r"#1 of double is a str \('hello'\)"):
        jitviz.show(seed.double, "hello")
    with pytest.raises(jitviz.TracingError, match=r"#2 of looping is a int"):
        jitviz.show(seed.looping, torch.ones(2), 3, mode="trace")
    with pytest.raises(jitviz.TracingError, match="Example inputs are only used to trace"):
        jitviz.show(torch.jit.script(seed.double).graph, torch.ones(2))


def test_trace_that_fails_to_run_says_so():
    net = seed.TinyNet()
    with pytest.raises(jitviz.TracingError, match="Tracing TinyNet failed while running it") as caught:
        jitviz.show(net, torch.ones(3, 5))  # Linear(4, 8) cannot take 5 features
    assert "frame #" not in str(caught.value)


def test_missing_path_directory_and_non_torchscript_files(tmp_path):
    with pytest.raises(jitviz.NotTorchScriptFileError, match="No file at"):
        jitviz.show(tmp_path / "nothing.pt")
    with pytest.raises(jitviz.NotTorchScriptFileError, match="is a directory"):
        jitviz.show(tmp_path)
    text = tmp_path / "notes.pt"
    text.write_text("not a model")
    with pytest.raises(jitviz.NotTorchScriptFileError, match="not a zip archive"):
        jitviz.show(text)
    state = tmp_path / "state.pt"
    torch.save(seed.TinyNet().state_dict(), state)
    with pytest.raises(jitviz.NotTorchScriptFileError, match="torch.save.*torch.load"):
        jitviz.show(state)


def test_corrupt_torchscript_file(tmp_path):
    broken = zipforge.without_tensors(tmp_path, seed.TinyNet())
    with pytest.raises(jitviz.NotTorchScriptFileError, match="torch.jit.load could not read") as refused:
        jitviz.show(broken)
    # torch's own error is chained, whole, for whoever needs more than the line the message quotes
    cause = refused.value.__cause__
    assert cause is not None and not isinstance(cause, jitviz.JitvizError) and str(cause)


def test_graph_over_the_node_budget_is_refused_quickly():
    with pytest.raises(jitviz.GraphTooLargeError, match="more than max_nodes=5.*expand_calls=False"):
        jitviz.show(seed.looping, max_nodes=5)


def test_bad_options_name_the_valid_choices():
    with pytest.raises(ValueError, match="'fold', 'nodes', 'hide'"):
        jitviz.show(seed.double, torch.ones(2), constants="inline")
    with pytest.raises(ValueError, match="expand_calls must be"):
        jitviz.show(seed.double, torch.ones(2), expand_calls=-1)


class _DictOut(torch.nn.Module):
    def forward(self, x):
        return {"double": x * 2, "plus_one": x + 1}


def _dict_out(x):
    return {"double": x * 2, "plus_one": x + 1}


def test_a_model_or_function_that_returns_a_dict_is_traced_not_refused():
    for graph in (jitviz.graph(_DictOut(), torch.ones(2)), jitviz.graph(_dict_out, torch.ones(2)),
                  jitviz.graph(_DictOut(), torch.ones(2), expand_calls=1)):
        assert graph.find("aten::mul") and graph.find("aten::add")


class _LanguageModel(torch.nn.Module):
    def forward(self, input_ids, **kwargs):  # **kwargs: TorchScript cannot compile it
        return input_ids * 2


def test_a_scripting_failure_suggests_inputs_that_fit_the_forward():
    suggestion = r"jitviz.show\(_LanguageModel, torch.randint\(0, 100, \(1, 8\)\)\)"
    with pytest.raises(jitviz.ScriptingError, match=suggestion):
        jitviz.show(_LanguageModel())


def test_already_torchscript_refuses_inputs_and_a_mode_it_would_ignore():
    scripted = torch.jit.script(seed.branchy)
    with pytest.raises(jitviz.TracingError, match="already TorchScript .scripted.*highlight=True"):
        jitviz.show(scripted, torch.ones(2, 2))
    with pytest.raises(jitviz.TracingError, match="mode='trace' cannot apply"):
        jitviz.show(scripted, mode="trace")
    assert jitviz.show(scripted, mode="script").model.origin == "scripted"


def test_expand_calls_naming_no_submodule_is_refused_with_the_ones_there_are():
    with pytest.raises(ValueError, match=r"'fc9'.*calls are: fc1, fc2"):
        jitviz.graph(torch.jit.script(seed.TinyNet()), expand_calls="fc9")
    assert jitviz.graph(torch.jit.script(seed.TinyNet()), expand_calls="fc2").find("aten::linear")


class _Box:
    pass


def _returns_a_box(x):
    return x, _Box()


def test_a_failed_trace_names_what_it_could_not_record_without_printing_a_tensor_in_full():
    with pytest.raises(jitviz.TracingError, match="which the tracer cannot record") as caught:
        jitviz.graph(_returns_a_box, torch.randn(30, 30))  # under the 1,000 elements torch prints in full
    assert len(str(caught.value)) < 2000
    from jitviz.extract.torchscript import _first_lines

    said = _first_lines(RuntimeError(f"Tracer cannot infer type of ({torch.randn(30, 30)!r}, <Box>)"))
    assert said == "Tracer cannot infer type of (tensor(…), <Box>)"
