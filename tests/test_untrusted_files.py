"""A stranger's file runs nothing unless the user says they trust it, through every entry point.

Each hostile file is made here: a TorchScript class whose ``__setstate__`` (which ``torch.jit.load``
runs) writes into another file, and a ``torch.export`` archive whose pickled sample inputs run
Python when unpickled. The file they would write is checked byte for byte afterwards.
"""

from __future__ import annotations

import io
import pickle
import time
import zipfile
from pathlib import Path

import pytest
import torch
from torch import nn

import jitviz
from jitviz.extract import zipcheck

from . import zipforge
from .hostile import Carrier


class Plain(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2


@pytest.fixture
def victim(tmp_path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"the user's own file, 32 bytes ..")
    return path


@pytest.fixture
def setstate_file(tmp_path, victim) -> Path:
    path = tmp_path / "model.pt"
    torch.jit.save(torch.jit.script(Carrier(str(victim))), str(path))
    return path


ENTRY_POINTS = {
    "show": lambda path, **kw: jitviz.show(path, **kw).source,
    "graph": lambda path, **kw: jitviz.graph(path, **kw),
    "explain": lambda path, **kw: jitviz.explain(path, **kw),
    "explore_graph": lambda path, **kw: jitviz.explore_graph(path, **kw),
    "diff": lambda path, **kw: jitviz.diff(path, path, inline=False, **kw),
    "highlight": lambda path, **kw: jitviz.show(path, torch.ones(2), highlight=True, **kw),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_torchscript_setstate_does_not_run_without_trust(setstate_file, victim, entry):
    before = victim.read_bytes()
    with pytest.raises(jitviz.UntrustedFileError, match="trusted=True") as refused:
        ENTRY_POINTS[entry](setstate_file)
    assert victim.read_bytes() == before
    message = str(refused.value)
    assert "inspect_archive" in message and "Only load data you trust" in message
    if entry != "highlight":  # highlight refuses any file: it runs the forward
        assert "__setstate__" in message and "code/__torch__" in message


def test_with_trust_the_file_loads_and_its_setstate_runs(setstate_file, victim):
    # the hostile file is real: trusted, torch.jit.load runs its __setstate__
    jitviz.show(setstate_file, trusted=True)
    assert victim.read_bytes()[:8] == b"X" * 8


def test_a_file_whose_code_runs_nothing_on_load_is_drawn_without_being_asked(tmp_path):
    path = tmp_path / "plain.pt"
    torch.jit.save(torch.jit.script(nn.Sequential(nn.Linear(2, 2), nn.ReLU())), str(path))
    assert zipcheck.code_run_on_load(path) == []
    assert jitviz.graph(path).kinds()["prim::CallMethod"] == 2  # drawn: the linear and the relu calls


@pytest.mark.parametrize("spelling", [b"__setstate__", b"__SETSTATE__", b"__SetState__"])
def test_any_spelling_of_setstate_in_any_code_file_counts(tmp_path, spelling):
    members = zipforge.saved_module(tmp_path / "m.pt", nn.ReLU())
    code = next(m for m in members if str(m.name).endswith(".py") and "/code/" in str(m.name))
    members = [zipforge.Member(m.name, m.data + b"\n# " + spelling + b"\n", m.method) if m is code else m
               for m in members]
    path = zipforge.write(tmp_path / "marked.pt", members)
    assert zipcheck.code_run_on_load(path) == [str(code.name).split("/", 1)[1]]
    with pytest.raises(jitviz.UntrustedFileError):
        jitviz.show(path)


class _Runs:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('ran')",))


@pytest.fixture
def export_file_with_payload(tmp_path) -> tuple[Path, Path]:
    class AddOne(nn.Module):
        def forward(self, x):
            return x + 1

    good = tmp_path / "good.pt2"
    torch.export.save(torch.export.export(AddOne(), (torch.ones(2),)), str(good))
    marker = tmp_path / "ran.txt"
    payload = io.BytesIO()
    torch.save(_Runs(str(marker)), payload, pickle_protocol=2)  # what torch.export.load unpickles
    with zipfile.ZipFile(good) as archive:
        members = [zipforge.Member(info.filename, archive.read(info)) for info in archive.infolist()]
    members = zipforge.replaced(members, "sample_inputs/model.pt", payload.getvalue())
    return zipforge.write(tmp_path / "model.pt", members), marker  # any suffix: judged by content


@pytest.mark.parametrize("entry", [name for name in ENTRY_POINTS if name != "highlight"])
def test_an_export_archive_is_not_unpickled_without_trust(export_file_with_payload, entry):
    path, marker = export_file_with_payload
    with pytest.raises(jitviz.UntrustedFileError, match="torch.export.load unpickles"):
        ENTRY_POINTS[entry](path)
    assert not marker.exists()


def test_the_export_payload_is_real_and_runs_once_trusted(export_file_with_payload):
    path, marker = export_file_with_payload
    with pytest.raises(jitviz.JitvizError):
        jitviz.show(path, trusted=True)  # torch runs the payload, then finds no sample inputs in it
    assert marker.read_text() == "ran"


def test_trusted_must_be_a_bool(setstate_file):
    with pytest.raises(jitviz.OptionsError, match="trusted must be True or False"):
        jitviz.show(setstate_file, trusted="yes")


def _pickle_of_nones(count: int) -> bytes:
    return zipforge.PROTO2 + b"N" * count + b"N" + zipforge.STOP


@pytest.mark.parametrize("member, data, reason", [
    ("data.pkl", _pickle_of_nones(63 << 20), "more than 2,000,000 pickle opcodes"),
    ("test_untrusted_files.py", b"x = 1\n" * ((10 << 20) // 6), "bytes of code, more than the"),
], ids=["63-MiB-of-NONE-opcodes", "10-MiB-code-file"])  # not the data itself: it would be the test's name
def test_checks_before_any_load_are_bounded(tmp_path, member, data, reason):
    members = zipforge.saved_module(tmp_path / "m.pt", Plain())
    hit = next(m for m in members if str(m.name).endswith(member))
    members = [zipforge.Member(m.name, data, zipfile.ZIP_DEFLATED) if m is hit else m for m in members]
    path = zipforge.write(tmp_path / "bomb.pt", members)
    assert path.stat().st_size < 1 << 20  # a small file that inflates to tens of megabytes
    start = time.monotonic()
    with pytest.raises(jitviz.NotTorchScriptFileError, match=reason):
        jitviz.show(path)
    assert time.monotonic() - start < 20  # was 50 to 105 s (a bound against hangs, not a speed target)


def test_pickle_and_code_bounds_leave_real_files_room():
    assert zipcheck.MAX_PICKLE_OPCODES >= 1_000_000 and zipcheck.MAX_CODE_BYTES >= 1 << 20
    assert pickle.loads(_pickle_of_nones(3)) is None


def test_highlight_runs_a_files_forward_so_even_a_file_with_no_setstate_needs_trust(tmp_path):
    path = tmp_path / "plain.pt"
    torch.jit.save(torch.jit.script(Plain()), str(path))
    assert zipcheck.code_run_on_load(path) == []  # loading it runs nothing; running it runs its forward
    with pytest.raises(jitviz.UntrustedFileError, match="highlight=True runs the forward"):
        jitviz.show(path, torch.ones(2), highlight=True)
    assert jitviz.show(path, torch.ones(2), highlight=True, trusted=True).execution is not None
