"""Saving and loading: same outputs, same graph, extra files and map_location, nothing overwritten."""

import pytest
import torch

import jitviz

from . import seed_functions as seed


def _shape(graph):
    return [(n.kind, n.callee, sorted(n.attributes.items(), key=str), [b.label for b in n.blocks])
            for n in graph.walk()]


@pytest.mark.parametrize("how", ["trace", "script"])
def test_save_and_load_keep_outputs_and_graph(tmp_path, how):
    net = seed.TinyNet().eval()
    module = torch.jit.trace(net, torch.ones(1, 4)) if how == "trace" else torch.jit.script(net)
    path = tmp_path / f"{how}.pt"
    torch.jit.save(module, str(path))
    loaded = torch.jit.load(str(path))
    for x in (torch.ones(1, 4), torch.randn(3, 4)):
        assert torch.equal(module(x), loaded(x))
    assert _shape(jitviz.graph(module)) == _shape(jitviz.graph(path))
    assert _shape(jitviz.graph(module, expand_calls=True)) == _shape(jitviz.graph(path, expand_calls=True))


def test_control_flow_survives_the_round_trip(tmp_path):
    path = tmp_path / "bool.pt"
    torch.jit.save(torch.jit.script(seed.branchy_bool), str(path))
    loaded = torch.jit.load(str(path))
    assert [loaded(torch.full((2,), v)) for v in (0.0, 3.0)] == [2, 1]
    assert len(jitviz.graph(path).find("prim::If")) == 1


def test_extra_files_and_map_location(tmp_path):
    path = tmp_path / "extra.pt"
    torch.jit.save(torch.jit.script(seed.TinyNet()), str(path), _extra_files={"config.json": b'{"a": 1}'})
    extra = {"config.json": ""}
    loaded = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    assert extra == {"config.json": b'{"a": 1}'}
    assert loaded.fc1.weight.device.type == "cpu"
    assert jitviz.inspect_archive(path).extra == {"config.json": 8}


def test_saving_a_picture_never_overwrites_a_users_file(tmp_path):
    mine = tmp_path / "graph.svg"
    mine.write_text("mine")
    with pytest.raises(FileExistsError):
        jitviz.show(seed.double, torch.ones(2)).save(mine)
    assert mine.read_text() == "mine"
