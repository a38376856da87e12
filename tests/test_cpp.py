"""The C++ loader: built against the pip wheel's libtorch, it agrees with Python on saved models."""

import os
import shutil
import subprocess
import threading
import time

import pytest
import torch

import jitviz
import jitviz.cpp

from . import pitfalls
from . import seed_functions as seed

pytestmark = pytest.mark.skipif(shutil.which("cmake") is None,
                                reason="cmake is not installed (./dev.sh test installs it)")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cpp")
    saved = {
        "branch_traced": torch.jit.trace(pitfalls.branch, torch.ones(2, 2)),
        "branch_scripted": torch.jit.script(pitfalls.branch),
        "bool_scripted": torch.jit.script(seed.branchy_bool),
        "double_traced": torch.jit.trace(seed.double, torch.ones(3)),
        "tinynet_traced": torch.jit.trace(seed.TinyNet().eval(), torch.ones(1, 4)),
    }
    paths = {}
    for name, module in saved.items():
        paths[name] = folder / f"{name}.pt"
        torch.jit.save(module, str(paths[name]))
    return saved, paths


def test_cpp_agrees_with_python_and_only_the_script_is_right_on_control_flow(models):
    saved, paths = models
    for fill in (0.5, 1.0, 3.0):
        x = torch.full((2, 2), fill)
        for name in ("branch_traced", "branch_scripted"):
            (result,) = jitviz.cpp.run(paths[name], fill=fill, shape=(2, 2), trusted=True)
            assert result.kind == "tensor" and result.values == (saved[name](x).item(),)
        (scripted,) = jitviz.cpp.run(paths["branch_scripted"], fill=fill, shape=(2, 2), trusted=True)
        assert scripted.values == (pitfalls.branch(x).item(),)  # eager Python's answer
    (traced_wrong,) = jitviz.cpp.run(paths["branch_traced"], fill=3.0, shape=(2, 2), trusted=True)
    assert traced_wrong.values == (2.0,) and pitfalls.branch(torch.full((2, 2), 3.0)).item() == 1.0


def test_numbers_vectors_and_modules(models):
    saved, paths = models
    assert [str(r) for r in jitviz.cpp.run(paths["bool_scripted"], fill=3.0, trusted=True)] == ["int 1"]
    (doubled,) = jitviz.cpp.run(paths["double_traced"], 1, 2, 3.5, trusted=True)
    assert doubled.shape == (3,) and doubled.values == (2.0, 4.0, 7.0)
    (net,) = jitviz.cpp.run(paths["tinynet_traced"], fill=1.0, shape=(1, 4), trusted=True)
    expected = saved["tinynet_traced"](torch.ones(1, 4))
    assert net.shape == (1, 2)
    assert torch.allclose(torch.tensor(net.values), expected.flatten(), atol=1e-5)


def test_the_binary_is_cached(models):
    first = jitviz.cpp.build()
    stamp = first.stat().st_mtime
    assert jitviz.cpp.build() == first and first.stat().st_mtime == stamp


def test_a_missing_model_gives_a_clear_error(tmp_path):
    with pytest.raises(jitviz.NotTorchScriptFileError, match="No file at .*missing.pt"):
        jitviz.cpp.run(tmp_path / "missing.pt", fill=1.0, trusted=True)


def test_running_a_model_in_cpp_needs_the_user_to_trust_its_file(models):
    _, paths = models
    with pytest.raises(jitviz.UntrustedFileError, match="trusted=True"):
        jitviz.cpp.run(paths["branch_scripted"], fill=1.0)
    with pytest.raises(jitviz.OptionsError, match="trusted must be True or False"):
        jitviz.cpp.run(paths["branch_scripted"], fill=1.0, trusted="yes")


def test_a_file_that_would_crash_the_loader_is_refused_with_its_reason_before_cpp_sees_it(tmp_path):
    from . import seed_functions, zipforge

    path = tmp_path / "deep.pt"
    deep = zipforge.PROTO2 + b"(" * 5_000 + b"l" * 5_000 + zipforge.STOP  # lists 5,000 deep
    members = zipforge.saved_module(tmp_path / "good.pt", seed_functions.TinyNet())
    zipforge.write(path, zipforge.replaced(members, "data.pkl", deep))
    with pytest.raises(jitviz.NotTorchScriptFileError, match="nests deeper"):
        jitviz.cpp.run(path, fill=1.0, trusted=True)


def test_processes_building_at_once_take_turns(monkeypatch, tmp_path):
    # two notebooks, or a notebook and this file in parallel tests, may build at the same moment;
    # each thread opens the lock file itself, as another process would
    spans = []

    def slow_build(sources):
        start = time.monotonic()
        time.sleep(0.3)
        spans.append((start, time.monotonic()))
        return tmp_path / "run_model"

    monkeypatch.setattr(jitviz.cpp, "_build", slow_build)
    threads = [threading.Thread(target=jitviz.cpp.build) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spans.sort()
    assert len(spans) == 3
    assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:])), spans


def test_a_binary_as_new_as_its_newest_source_is_reused(monkeypatch, tmp_path):
    # a checkout or a coarse-clocked file system gives the binary and a source the same time stamp
    sources = [tmp_path / "run_model.cpp", tmp_path / "CMakeLists.txt"]
    binary = tmp_path / "build" / "run_model"
    binary.parent.mkdir()
    for path in [*sources, binary]:
        path.write_text("")
    for stamp, path in ((100, sources[0]), (200, sources[1]), (200, binary)):
        os.utime(path, (stamp, stamp))
    commands = []
    monkeypatch.setattr(jitviz.cpp, "BUILD_DIR", binary.parent)
    monkeypatch.setattr(jitviz.cpp.shutil, "which", lambda tool: f"/usr/bin/{tool}")

    def run(command, **_):
        commands.append(command)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(jitviz.cpp.subprocess, "run", run)
    assert jitviz.cpp._build(sources) == binary and commands == []
    os.utime(sources[0], (201, 201))  # one source changed after the build: built again
    assert jitviz.cpp._build(sources) == binary and [command[0] for command in commands] == ["cmake", "cmake"]
