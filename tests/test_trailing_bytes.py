"""Bytes after a ``.pt``'s end record: jitviz finds the archive where torch.jit.load finds it.

torch's zip reader (miniz) takes the last end-record signature with a whole record's room after it,
looking back from the end of the file in 4 KiB blocks; zipfile takes the last signature whatever
follows it, and looks back 64 KiB. A ``.pt`` followed by ``PK\\x05\\x06`` and a few bytes (6 in the
report that started this) loads in torch and was refused as "not a zip archive". Each case here is
checked against torch.jit.load itself on a file whose code runs nothing on load.
"""

from __future__ import annotations

import random
import struct

import pytest
import torch

import jitviz
from jitviz.extract import zipcheck


class AddOne(torch.nn.Module):
    def forward(self, x):
        return x + 1


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("saved") / "m.pt"
    torch.jit.save(torch.jit.script(AddOne()), str(path))
    data = path.read_bytes()
    assert len(data) < 4096 - 22  # the whole file is miniz's first block: see the last tests
    return data


def _end(data: bytes) -> bytes:
    at = data.rfind(b"PK\x05\x06")
    return data[at:at + 22]


def _torch_reads(path) -> bool:
    try:
        torch.jit.load(str(path))
    except RuntimeError:
        return False
    return True


TRAILERS = {
    "6 zeros": lambda data: b"\0" * 6,
    "100 random bytes": lambda data: random.Random(6).randbytes(100),
    "a partial end record, 6 bytes": lambda data: _end(data)[:6],
    "a partial end record, 21 bytes": lambda data: _end(data)[:21],
    "a signature and nothing else": lambda data: b"PK\x05\x06",
    "a zip64 end record's signature and bytes": lambda data: b"PK\x06\x06" + bytes(52),
    "a zip64 locator's signature and bytes": lambda data: b"PK\x06\x07" + bytes(22),
}


@pytest.mark.parametrize("trailer", TRAILERS)
def test_a_pt_torch_loads_despite_bytes_after_its_end_record_is_drawn(tmp_path, saved, trailer):
    path = tmp_path / "m.pt"
    path.write_bytes(saved + TRAILERS[trailer](saved))
    assert _torch_reads(path)
    assert jitviz.graph(path).kinds()["aten::add"] == 1
    assert jitviz.inspect_archive(path).notes == []


def test_a_comment_whose_length_disagrees_with_the_bytes_after_it_is_read(tmp_path, saved):
    for claimed, actual in ((10, 6), (6, 10), (0xFFFF, 6)):
        path = tmp_path / f"comment{claimed}.pt"
        path.write_bytes(saved[:-2] + struct.pack("<H", claimed) + b"c" * actual)
        assert _torch_reads(path)
        assert jitviz.graph(path).kinds()["aten::add"] == 1


def test_a_python_zipfile_archive_with_a_partial_end_record_after_it_is_read(tmp_path, saved):
    import zipfile

    source = tmp_path / "m.pt"
    source.write_bytes(saved)
    path = tmp_path / "py.pt"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(path, "w") as new:  # no zip64 records
        for info in old.infolist():
            new.writestr(info.filename, old.read(info))
    path.write_bytes(path.read_bytes() + b"PK\x05\x06\0\0")
    assert _torch_reads(path)
    assert jitviz.graph(path).kinds()["aten::add"] == 1


def test_behind_bytes_torch_does_not_look_through_the_file_is_refused_saying_why(tmp_path, saved):
    # miniz reads the last 4 KiB, misses the record, and its next block would start before the file
    path = tmp_path / "m.pt"
    path.write_bytes(saved + bytes(5000))
    assert not _torch_reads(path)
    with pytest.raises(jitviz.NotTorchScriptFileError) as refused:
        jitviz.graph(path)
    assert str(refused.value).startswith(
        "'m.pt' is not handed to torch.jit.load: 5,000 bytes follow the archive's end record, and "
        "torch.jit.load's zip reader does not find the record behind them (it would refuse the file: "
        f"\"failed finding central directory\"); the archive is the file's first {len(saved):,} bytes")
    report = jitviz.inspect_archive(path)  # the report still reads it, and says so
    assert report.notes[0].startswith("5,000 bytes follow the archive's end record")
    assert len(report.code) >= 1


def test_a_record_further_back_than_zipfile_looks_is_found_where_torch_finds_it(tmp_path, saved):
    path = tmp_path / "m.pt"
    path.write_bytes(saved + bytes(69_000))  # 64 KiB + 3.4 KiB: inside miniz's seventeenth block
    assert _torch_reads(path)
    assert jitviz.graph(path).kinds()["aten::add"] == 1


@pytest.mark.parametrize("extra", [0, 4000, 4100, 6400, 8100, 65_400, 65_500, 69_000, 69_600, 70_000])
def test_where_torch_finds_the_record_is_computed_exactly(tmp_path, saved, extra):
    path = tmp_path / "m.pt"
    path.write_bytes(saved + bytes(extra))
    with open(path, "rb") as file:
        assert zipcheck._find_end(file).torch_finds == _torch_reads(path)


def test_a_second_end_record_after_the_first_is_refused_as_read_differently(tmp_path, saved):
    # torch reads the directory where the last record says; zipfile and unzip look for it right
    # before that record, 98 bytes later (the zip64 records and the first end record), and fail
    path = tmp_path / "twice.pt"
    path.write_bytes(saved + _end(saved))
    with pytest.raises(jitviz.NotTorchScriptFileError) as refused:
        jitviz.graph(path)
    assert str(refused.value) == (
        "'twice.pt' has its end record 98 bytes after where its directory ends (a second end record, or bytes "
        "put inside the archive): torch.jit.load reads the directory where the record says, zip tools look for "
        "it right before the record and find none, so the file is ambiguous.")


def test_a_file_cut_inside_its_end_record_is_still_no_zip(tmp_path, saved):
    path = tmp_path / "cut.pt"
    path.write_bytes(saved[:-1])
    assert not zipcheck.is_zip(path)
    with pytest.raises(jitviz.NotTorchScriptFileError, match="is not a TorchScript file \\(it is not a zip archive\\)"):
        jitviz.graph(path)
