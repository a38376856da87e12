"""Build zip archives byte by byte, lies included, and pickles opcode by opcode, for the tests of
files from strangers (no committed binaries: every odd file is made by the test that needs it)."""

from __future__ import annotations

import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass
class Member:
    """One entry. ``data`` is the content before compression; the other fields can lie."""

    name: str | bytes
    data: bytes
    method: int = zipfile.ZIP_STORED  # 8 deflates; any other number writes ``data`` as it is
    flags: int = 0
    claimed_size: int | None = None  # uncompressed size written in the central directory
    crc: int | None = None
    central_extra: bytes = b""
    header_offset: int | None = None
    version_needed: int = 20
    compress: bool = True  # False: ``data`` is written as it is, whatever ``method`` says


def write(path: Path, members: list[Member]) -> Path:
    """Write ``members`` as a zip archive at ``path``, exactly as described."""
    out, central = bytearray(), bytearray()
    for member in members:
        name = member.name.encode() if isinstance(member.name, str) else member.name
        flags = member.flags | (0x800 if isinstance(member.name, str) and not member.name.isascii() else 0)
        payload = member.data
        if member.method == zipfile.ZIP_DEFLATED and member.compress:
            packer = zlib.compressobj(9, zlib.DEFLATED, -15)
            payload = packer.compress(member.data) + packer.flush()
        crc = zlib.crc32(member.data) if member.crc is None else member.crc
        size = len(member.data) if member.claimed_size is None else member.claimed_size
        offset = len(out) if member.header_offset is None else member.header_offset
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", member.version_needed, flags, member.method,
                           0, 0x21, crc, len(payload), size, len(name), 0) + name + payload
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, member.version_needed, flags,
                               member.method, 0, 0x21, crc, len(payload), size, len(name),
                               len(member.central_extra), 0, 0, 0, 0, offset) + name + member.central_extra
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(out), 0)
    path.write_bytes(bytes(out + central + end))
    return path


def members_of(path: Path) -> list[Member]:
    """The entries of a real archive, in order, as editable :class:`Member` s (deflated)."""
    with zipfile.ZipFile(path) as archive:
        return [Member(info.filename, archive.read(info), zipfile.ZIP_DEFLATED) for info in archive.infolist()]


def saved_module(path: Path, module: torch.nn.Module) -> list[Member]:
    """Script and save ``module`` at ``path``; its entries as :class:`Member` s."""
    torch.jit.save(torch.jit.script(module), str(path))
    return members_of(path)


def replaced(members: list[Member], suffix: str, data: bytes) -> list[Member]:
    """The same entries with the one whose name ends in ``suffix`` holding ``data`` instead."""
    hits = [m for m in members if str(m.name).endswith(suffix)]
    assert len(hits) == 1, f"{suffix} matches {len(hits)} entries"
    return [Member(m.name, data, m.method) if m is hits[0] else m for m in members]


# --- pickles ----------------------------------------------------------------------------------------

PROTO2 = b"\x80\x02"
STOP = b"."


def unicode(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def tensor_pickle(key: bytes, shape: bytes, stride: bytes = b"(K\x01t", offset: bytes = b"K\x00",
                  storage: str = "FloatStorage", elements: bytes = b"K\x01") -> bytes:
    """A pickle of one ``_rebuild_tensor_v2`` call, with the storage key, shape and stride given as
    opcodes that each push one value (``unicode("0")``, ``b"(K\\x02K\\x03t"`` for ``(2, 3)``)."""
    persistent = b"(" + unicode("storage") + f"ctorch\n{storage}\n".encode() + key + unicode("cpu") + elements + b"tQ"
    return (PROTO2 + b"ctorch._utils\n_rebuild_tensor_v2\n(" + persistent + offset + shape + stride
            + b"\x89ccollections\nOrderedDict\n)Rt" + b"R" + STOP)


def debug_pickle(line_index: int) -> bytes:
    """A ``.debug_pkl`` in torch's string-table layout with one source range, whose source is the
    table's line ``line_index`` (1 is the only valid one: the table is '', a line, a file name)."""
    table = unicode("") + unicode("    return x + 1\n") + unicode("m.py") + b"\x87"
    intlist = b"ctorch.jit._pickle\nbuild_intlist\n(](J" + struct.pack("<i", line_index) + b"etR"
    source = intlist + b"K\x02K\x01\x87"  # (lines, file name index, first line number)
    record = b"K\x00" + source + b"K\x04K\x0a\x87" + b"K\x00\x87"  # (offset, (source, start, end), handle)
    return PROTO2 + unicode("FORMAT_WITH_STRING_TABLE") + table + b"(" + record + b"t\x87" + STOP


def without_tensors(folder: Path, module: torch.nn.Module) -> Path:
    """``module`` saved with torch.jit.save, then copied without its constants and tensor data:
    a file zip tools read and torch.jit.load refuses."""
    good, broken = folder / "good.pt", folder / "broken.pt"
    torch.jit.save(torch.jit.script(module), str(good))
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(broken, "w") as target:
        for name in source.namelist():
            if not name.endswith("constants.pkl") and "/data/" not in name:
                target.writestr(name, source.read(name))
    return broken
