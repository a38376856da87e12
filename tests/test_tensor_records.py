"""Tensor records torch.jit.load would allocate: never more than the storages need, never a deflate bomb.

torch reads a storage's whole record, whatever the pickle says the storage needs; found by
``bench/fuzz_show.py``: a 265 KB ``.pt`` whose 1-float storage had a 256 MiB record of deflated
zeros was drawn, and torch took 256 MiB to load it (a zip64 record could claim terabytes).
"""

from __future__ import annotations

import zipfile
import zlib

import pytest
import torch
from torch import nn

import jitviz
from jitviz.extract import zipcheck

from . import zipforge


class Buffers(nn.Module):
    """A buffer of each common dtype, and a parameter that is a view into a larger storage."""

    def __init__(self) -> None:
        super().__init__()
        for dtype in (torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.int32,
                      torch.int16, torch.int8, torch.uint8, torch.bool, torch.complex64, torch.complex128):
            self.register_buffer(f"b_{str(dtype).split('.')[1]}", torch.ones(3, dtype=dtype))
        self.view = nn.Parameter(torch.arange(12.0)[2:5])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.view


def test_records_torch_saved_hold_exactly_what_their_storages_need(tmp_path):
    path = tmp_path / "buffers.pt"
    torch.jit.save(torch.jit.script(Buffers()), str(path))
    assert jitviz.graph(path).kinds()["aten::add"] == 1  # vetted, then loaded


def _with_record(tmp_path, data, method: int = zipfile.ZIP_STORED, **lies):
    """``nn.Linear(2, 3)`` saved, its data/0 (6 floats) replaced by ``data(old bytes)``."""
    members = zipforge.saved_module(tmp_path / "m.pt", nn.Linear(2, 3))
    record = next(m for m in members if str(m.name).endswith("/data/0"))
    members = [zipforge.Member(m.name, data(m.data), method, **lies) if m is record else m for m in members]
    return zipforge.write(tmp_path / "big.pt", members)


def test_a_record_larger_than_its_storage_needs_is_refused(tmp_path):
    path = _with_record(tmp_path, lambda old: old + b"\0" * 4)  # one float more than the 6 the pickle says
    with pytest.raises(jitviz.NotTorchScriptFileError) as refused:
        jitviz.graph(path)
    assert "storage '0' needs 24 bytes but its record data/0 holds 28 (torch.jit.load would read all of it" in str(
        refused.value)


def test_a_deflate_bomb_in_a_tensor_record_is_refused_before_torch_allocates_it(tmp_path):
    size = 64 << 20
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = packer.compress(bytes(size)) + packer.flush()
    path = _with_record(tmp_path, lambda old: bomb, zipfile.ZIP_DEFLATED, compress=False, claimed_size=size,
                           crc=zlib.crc32(bytes(size)))
    assert path.stat().st_size < 100_000
    with pytest.raises(jitviz.NotTorchScriptFileError, match=f"storage '0' needs 24 bytes but its record data/0 "
                                                             f"holds {size}"):
        jitviz.show(path)


def test_tensor_records_that_inflate_far_past_the_file_are_refused(tmp_path, monkeypatch):
    model = nn.Linear(100, 100)
    with torch.no_grad():
        model.weight.zero_()  # 40,000 bytes of zeros: deflated, a few dozen
    members = zipforge.saved_module(tmp_path / "m.pt", model)
    path = zipforge.write(tmp_path / "zeros.pt", [zipforge.Member(m.name, m.data, zipfile.ZIP_DEFLATED)
                                                  for m in members])
    size = path.stat().st_size
    assert jitviz.graph(path)  # within VET_TOTAL_BYTES: drawn
    monkeypatch.setattr(zipcheck, "VET_TOTAL_BYTES", 1)
    with pytest.raises(jitviz.NotTorchScriptFileError) as refused:
        jitviz.graph(path)
    assert (f"its compressed tensor records inflate to 40,400 bytes, more than the {4 * size:,} jitviz lets "
            f"torch.jit.load allocate for a file of {size:,} bytes (torch.jit.save stores tensors uncompressed)"
            ) in str(refused.value)
