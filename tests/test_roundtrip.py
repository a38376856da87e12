"""A saved file is drawn like the module that was saved, and inspect_archive agrees with that module."""

import pytest
import torch

import jitviz

from . import seed_functions as seed


class Gated(torch.nn.Module):
    """A loop around an if around a submodule call: every kind of block a file can hold."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(2, 2)
        self.register_buffer("scale", torch.full((2,), 0.5))

    def forward(self, x, n: int):
        for _ in range(n):
            if bool(x.sum() > 0):  # noqa: SIM108 (a statement, as the notebooks write control flow)
                x = self.fc(x)
            else:
                x = -x * self.scale
        return x


MODULES = {
    "traced TinyNet": lambda: torch.jit.trace(seed.TinyNet().eval(), torch.ones(1, 4)),
    "scripted TinyNet": lambda: torch.jit.script(seed.TinyNet()),
    "scripted loop, if and call": lambda: torch.jit.script(Gated()),
}


def _structure(graph, scripted: bool):
    """Everything a picture shows but the debug names: ids are given in program order, so equal
    structures have equal ids. A trace's shapes, source lines and module scopes are what the tracer
    recorded and are not saved (the file keeps the code TorchScript generated from the trace), so
    those are compared for scripts only."""
    def values(vs):
        return [(v.id, v.type if scripted else None, v.is_module) for v in vs]

    nodes = [(n.id, n.kind, n.callee, n.scope if scripted else None, sorted(n.attributes.items(), key=str),
              values(n.inputs), values(n.outputs), n.source if scripted else None,
              [(b.label, values(b.params), values(b.returns)) for b in n.blocks])
             for n in graph.walk()]
    return values(graph.inputs), nodes, values(graph.outputs)


@pytest.mark.parametrize("expand_calls", [False, True])
@pytest.mark.parametrize("name", MODULES)
def test_a_saved_file_is_drawn_like_the_module_that_was_saved(tmp_path, name, expand_calls):
    module = MODULES[name]()
    path = tmp_path / "model.pt"
    torch.jit.save(module, str(path))
    drawn, loaded = jitviz.graph(module, expand_calls=expand_calls), jitviz.graph(path, expand_calls=expand_calls)
    assert loaded.origin == "loaded" and loaded.name == drawn.name
    assert _structure(loaded, "scripted" in name) == _structure(drawn, "scripted" in name)
    assert loaded.call_depth() == drawn.call_depth() == (1 if expand_calls else 0)
    assert jitviz.show(path).source.count("prim::CallMethod") == jitviz.show(module).source.count("prim::CallMethod")


@pytest.mark.parametrize("name", MODULES)
def test_inspect_archive_lists_the_saved_modules_tensors_and_code(tmp_path, name):
    module = MODULES[name]()
    path = tmp_path / "model.pt"
    torch.jit.save(module, str(path))
    report = jitviz.inspect_archive(path)
    state = module.state_dict().values()
    dtypes = {torch.float32: "float32"}
    assert sorted((t.dtype, t.shape) for t in report.tensors) == sorted(
        (dtypes[t.dtype], tuple(t.shape)) for t in state)
    assert report.tensor_bytes == sum(t.numel() * t.element_size() for t in state)
    assert any(f"class {module.original_name}" in code for code in report.code.values())
