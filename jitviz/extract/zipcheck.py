"""Bounded, safe reading of zip archives and pickles from strangers, read the way torch reads them.

    with SafeZip(Path("model.pt")) as archive:        # refuses malformed zips before parsing them
        data = archive.read(archive.find("data.pkl"))
    walk_pickle(data)["0"].shape                       # (8, 4), and nothing unpickled

Used by ``jitviz.inspect_archive`` (the report) and by ``load_torchscript_file``, which calls
:func:`vet_torchscript` before ``torch.jit.load`` sees a file. How torch reads a ``.pt``
(``caffe2/serialize`` ``PyTorchStreamReader`` over miniz), and so how this module reads it:

* the archive's folder is the top-level folder of the *first* entry; every record is looked up as
  ``folder/name``, entries in other folders are never read;
* names are compared whole (zipfile cuts them at a NUL) with ASCII case ignored (miniz's sorted
  lookup), so ``M/CODE/__TORCH__.PY`` *is* ``m/code/__torch__.py`` to torch;
* when two entries share a name (case ignored), which one torch reads depends on miniz's unstable
  sort: measured on torch 2.13 it is sometimes the first, sometimes the later one;
* entries are read where the central directory says; zipfile shifts them when data was put
  before the archive, torch does not;
* the end record is the last signature with a whole record's room after it, looked for as miniz
  looks (bytes after it are ignored; behind too many of them torch does not find it);
* a member is stored or deflated; its sizes and CRC must match the central directory.

A file that zip tools and torch would read differently is *ambiguous*: :meth:`SafeZip.ambiguities`
says how, the report notes it, and :func:`vet_torchscript` refuses it.

Every bound is a module constant, read at call time: entries and central-directory bytes are
checked from the end-of-central-directory record *before* :class:`zipfile.ZipFile` parses the
directory; members are inflated here, up to a per-member and a total byte budget, whatever their
headers claim; pickles are walked opcode by opcode with limits on nesting depth, on the size of
anything built (shared references counted each time, so a "billion laughs" tuple is caught
early), on memo slots and on integer width; vetting also refuses the opcodes torch's unpickler
does not read, a ``.debug_pkl`` pointing outside its string table, and code nested deeper than
torch's recursive parser survives.
"""

from __future__ import annotations

import ast
import pickletools
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from ..errors import NotTorchScriptFileError

__all__ = [
    "SafeZip", "UnreadableError", "is_zip", "walk_pickle", "check_debug_pickle", "check_code",
    "vet_torchscript", "is_export_layout", "unsafe_name", "TensorSpec", "BigInt",
    "MAX_ENTRIES", "MAX_DIRECTORY_BYTES", "MAX_MEMBER_BYTES", "MAX_TOTAL_BYTES", "VET_MEMBER_BYTES",
    "VET_TOTAL_BYTES", "INFLATED_TENSOR_RATIO", "MAX_PICKLE_DEPTH", "MAX_PICKLE_ITEMS", "MAX_CODE_DEPTH",
    "MAX_INT_BITS", "MAX_PICKLE_OPCODES", "MAX_CODE_BYTES", "code_run_on_load",
]

MAX_ENTRIES = 50_000
MAX_DIRECTORY_BYTES = 8 << 20  # a central directory of 50,000 entries with 120-byte names
MAX_MEMBER_BYTES = 1 << 20  # 1 MiB: what a report reads of one member
MAX_TOTAL_BYTES = 16 << 20  # 16 MiB: what a report reads in all
VET_MEMBER_BYTES = 64 << 20  # a large model's data.pkl or .debug_pkl, vetted before torch reads it
VET_TOTAL_BYTES = 256 << 20
# Tensor records a file may inflate to, for each byte of the file (and at least VET_TOTAL_BYTES):
# torch.jit.save stores them as they are; a zip tool's deflate shrinks weights a little, zeros 1,000 times.
INFLATED_TENSOR_RATIO = 4
# Nesting: torch's pickler recurses once or twice per submodule level, so real files stay in the
# tens; torch.jit.load segfaults somewhere below 400,000 (a list nested that deep killed the kernel).
MAX_PICKLE_DEPTH = 1_000
MAX_PICKLE_ITEMS = 10_000_000  # items built, a shared one counted at every place it is used
# Opcodes read from one pickle: a model's data.pkl is about 15 a tensor and 10 a module (BERT-base
# about 10,000); 63 MiB of NONE opcodes kept the walker busy for 80 s before this bound.
MAX_PICKLE_OPCODES = 2_000_000
# A code file torch.jit.save writes is a few kilobytes to a few hundred (one file a class); parsing
# is the costly check (ast.parse of 60 MiB of `x = 1` lines took 50 s and 12 GB).
MAX_CODE_BYTES = 4 << 20
# Syntax-tree depth of a code file: real ones reach about 20; torch's recursive parser crashed
# the process on 100,000 nested parentheses (or unary minuses, or brackets), and read 5,000.
MAX_CODE_DEPTH = 500
MAX_INT_BITS = 64  # torch's unpickler reads 64-bit integers; wider ones are not a tensor's size

_STORED, _DEFLATED = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
_METHODS = {1: "shrink", 6: "implode", 9: "deflate64", 12: "bzip2", 14: "lzma", 93: "zstd", 95: "xz", 99: "AES"}
_END = b"PK\x05\x06"
_END64_LOCATOR = b"PK\x06\x07"
_END64 = b"PK\x06\x06"
_LOCAL = b"PK\x03\x04"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class UnreadableError(Exception):
    """A member or pickle that cannot be read safely; the message says why, in plain words."""


def fold(name: str) -> str:
    """A name as miniz compares it: ASCII letters lowered, nothing else changed."""
    return name.translate(_ASCII_LOWER)


# --- the zip archive --------------------------------------------------------------------------


class SafeZip:
    """A zip archive opened with bounds, its members read as torch reads them.

        with SafeZip(Path("m.pt")) as archive: archive.read(archive.find("data.pkl"))

    Raises :class:`NotTorchScriptFileError` when the file is not a zip, is damaged, or lists more
    than ``MAX_ENTRIES`` entries; :meth:`read` raises :class:`UnreadableError`.
    """

    def __init__(self, path: Path, member_bytes: int | None = None, total_bytes: int | None = None) -> None:
        self.path = path
        self.member_bytes = MAX_MEMBER_BYTES if member_bytes is None else member_bytes
        self.budget = MAX_TOTAL_BYTES if total_bytes is None else total_bytes
        self._file: BinaryIO = open(path, "rb")  # noqa: SIM115 - held until close(), as ZipFile does
        try:
            self.infos, self.shift, self._missed = _list(path, self._file)
        except BaseException:
            self._file.close()
            raise
        first = self.infos[0].filename if self.infos else ""
        # torch: archive_name is the first entry's name up to its first '/'
        self.folder = first.split("/", 1)[0] + "/" if "/" in first else ""
        self._by_name: dict[str, list[zipfile.ZipInfo]] = {}
        for info in self.infos:
            self._by_name.setdefault(fold(info.filename), []).append(info)

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def local(self, info: zipfile.ZipInfo) -> str | None:
        """The name torch reads the member by, inside its folder and with ASCII case folded
        (``code/__torch__.py`` for ``M/CODE/__TORCH__.PY`` in folder ``m/``); None outside the folder."""
        name = fold(info.filename)
        if self.folder and name.startswith(fold(self.folder)):
            return name[len(self.folder):]
        return None

    def find(self, local: str) -> zipfile.ZipInfo | None:
        """The entry torch reads for ``folder/local``; None when missing or ambiguous (see :meth:`duplicates`)."""
        found = self._by_name.get(fold(self.folder + local), [])
        return found[0] if len(found) == 1 else None

    def duplicates(self) -> list[str]:
        """Names (case ignored) that more than one entry has: torch may read any of them."""
        return [infos[0].filename for infos in self._by_name.values() if len(infos) > 1]

    def other_folders(self) -> list[str]:
        """Top-level folders and files other than torch's folder: torch never reads them."""
        outside = {info.filename.split("/", 1)[0] for info in self.infos if self.local(info) is None}
        return sorted(outside)

    def ambiguities(self) -> list[str]:
        """Plain sentences on what makes this archive read differently by different readers."""
        notes = [self._missed] if self._missed else []
        if self.shift:
            notes.append(
                f"the entries are {self.shift} bytes away from where the archive's directory says "
                "(something was put before or inside the archive): zip tools read them where they are, "
                "torch.jit.load where the directory says, so the file is ambiguous"
            )
        duplicates = self.duplicates()
        if duplicates:
            notes.append(
                f"{len(duplicates)} name{'s are' if len(duplicates) > 1 else ' is'} used by more than one "
                f"entry (for example {duplicates[0]!r}; case is ignored, as torch ignores it): which copy "
                "torch.jit.load reads depends on the order miniz sorts them in, so the file is ambiguous"
            )
        if not self.folder:
            notes.append("the first entry is not inside a folder, and torch.jit.load reads only files saved "
                         "inside one (it would refuse this file)")
        others = self.other_folders()
        if self.folder and others:
            shown = ", ".join(repr(name) for name in others[:3]) + (", ..." if len(others) > 3 else "")
            notes.append(
                f"besides the folder {self.folder[:-1]!r} (the first entry's, the only one torch.jit.load "
                f"reads) the archive holds {len(others)} other top-level name{'s' if len(others) > 1 else ''} "
                f"({shown}), which torch ignores"
            )
        recased = sorted({info.filename.split("/", 1)[0] for info in self.infos
                          if self.local(info) is not None and not info.filename.startswith(self.folder)})
        if recased:
            notes.append(
                f"entries under {recased[0]!r} are read by torch.jit.load as part of the folder "
                f"{self.folder[:-1]!r} (it ignores case), unlike unzip and most zip tools"
            )
        return notes

    def read(self, info: zipfile.ZipInfo) -> bytes:
        """The member's bytes, inflated here and checked against its size and CRC; at most ``member_bytes``,
        and at most what is left of the total budget."""
        limit = min(self.member_bytes, self.budget)
        if info.flag_bits & 0x1:
            raise UnreadableError("is encrypted, which torch cannot read")
        if info.compress_type not in (_STORED, _DEFLATED):
            method = _METHODS.get(info.compress_type, "unknown")
            raise UnreadableError(f"is compressed with method {info.compress_type} ({method}), which torch cannot read")
        if info.file_size > limit:
            raise UnreadableError(f"claims {info.file_size} bytes; not read (limit {limit})")
        try:
            self._file.seek(info.header_offset)
            header = self._file.read(30)
            if len(header) < 30 or header[:4] != _LOCAL:
                raise UnreadableError("has no local header where the central directory says")
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            self._file.seek(info.header_offset + 30 + name_length + extra_length)
            data = self._payload(info, limit)
        except (OSError, OverflowError, ValueError) as error:  # an offset past 2**63, ...
            raise UnreadableError(f"has an impossible offset ({error})") from error
        self.budget -= len(data)  # charged even when refused below: the work was done
        if len(data) > limit:
            raise UnreadableError(f"expands past {limit} bytes (it claims {info.file_size}); not read")
        if len(data) != info.file_size:
            raise UnreadableError(f"holds {len(data)} bytes but claims {info.file_size}; torch would refuse it")
        if zlib.crc32(data) != info.CRC:
            raise UnreadableError("fails its CRC check (damaged or edited after saving); torch would refuse it")
        return data

    def _payload(self, info: zipfile.ZipInfo, limit: int) -> bytes:
        if info.compress_type == _STORED:
            return self._file.read(min(info.compress_size, limit + 1))
        inflater = zlib.decompressobj(-15)
        left = info.compress_size
        out = bytearray()
        try:
            while left > 0 and len(out) <= limit:
                chunk = self._file.read(min(left, 1 << 16))
                if not chunk:
                    break
                left -= len(chunk)
                out += inflater.decompress(chunk, limit + 1 - len(out))
                if inflater.unconsumed_tail:  # more output than the limit allows
                    out += b"\0"
                    break
        except zlib.error as error:
            raise UnreadableError(f"is not valid deflate data ({error})") from error
        return bytes(out)


def is_zip(path: Path) -> bool:
    """Whether ``path`` has a zip end record where a reader looks for one (a damaged one included:
    :class:`SafeZip` then says what is wrong with it)."""
    with open(path, "rb") as file:
        return _find_end(file).at is not None


# torch's zip reader (miniz 3.0.2, mz_zip_reader_locate_header_sig) looks for the end record from the
# end of the file in blocks of 4 KiB, each overlapping the next by 3 bytes, taking the last signature
# with room for a whole record after it; it gives up once it has looked 64 KiB + 22 bytes back, and
# (its offset being signed) when the next block would start before the file does.
_SCAN_BLOCK = 4096
_SCAN_STEP = _SCAN_BLOCK - 3
_SCAN_REACH = 0xFFFF + 22  # the longest comment and the record
_TAIL = _SCAN_REACH + _SCAN_BLOCK  # covers every block miniz may read


@dataclass(frozen=True)
class _End:
    size: int  # of the file
    tail_start: int  # where ``tail`` starts in the file
    tail: bytes  # the file's last ``_TAIL`` bytes
    at: int | None  # where the end record is (in the file): the last signature with 22 bytes after it
    torch_finds: bool  # whether torch's zip reader finds that record


def _find_end(file: BinaryIO) -> _End:
    size = file.seek(0, 2)
    tail_start = max(0, size - _TAIL)
    file.seek(tail_start)
    tail = file.read()
    # a signature with fewer than 22 bytes after it is no end record to miniz; zipfile takes the last
    # signature whatever follows it, and so called a .pt with 6 bytes after its end record no zip
    found = tail.rfind(_END, 0, max(0, len(tail) - 22 + 4))
    at = None if found < 0 else tail_start + found
    return _End(size, tail_start, tail, at, at is not None and _miniz_end(tail, tail_start, size) == at)


def _miniz_end(tail: bytes, tail_start: int, size: int) -> int | None:
    """Where torch's zip reader finds the end record, or None where it does not (see ``_SCAN_BLOCK``)."""
    if size < 22:
        return None
    start = max(size - _SCAN_BLOCK, 0)
    while True:
        block = tail[start - tail_start:start - tail_start + min(_SCAN_BLOCK, size - start)]
        found = block.rfind(_END, 0, max(0, min(len(block), size - 22 - start + 4)))
        if found >= 0:
            return start + found
        if start == 0 or size - start >= _SCAN_REACH:
            return None
        start -= _SCAN_STEP
        if start < 0:
            return None  # miniz's offset goes below zero and its read fails


class _Window:
    """The file as zipfile should see it: ending with the end record torch reads, comment dropped, so
    that bytes after the record (which torch ignores) cannot make zipfile take another record or none."""

    def __init__(self, file: BinaryIO, end: int) -> None:
        self._file, self._end, self._at = file, end, 0

    def seek(self, offset: int, whence: int = 0) -> int:
        at = offset + (0, self._at, self._end)[whence]
        if at < 0:
            raise OSError("seek before the start of the file")
        self._at = at
        return at

    def tell(self) -> int:
        return self._at

    def read(self, n: int = -1) -> bytes:
        stop = self._end if n is None or n < 0 else min(self._end, self._at + n)
        if stop <= self._at:
            return b""
        self._file.seek(self._at)
        data = self._file.read(stop - self._at)
        if self._at + len(data) == self._end:  # the last two bytes: the comment's length, read as none
            data = data[:-2] + b"\0\0"[max(0, 2 - len(data)):]
        self._at += len(data)
        return data


def _list(path: Path, file: BinaryIO) -> tuple[list[zipfile.ZipInfo], int, str | None]:
    end = _find_end(file)
    if end.at is None:
        raise NotTorchScriptFileError(
            f"{path.name!r} is not a zip archive (or is truncated), so it is not a TorchScript file."
        )
    shift = _check_end_record(path, file, end)
    missed = None
    if not end.torch_finds:
        missed = (f"{end.size - end.at - 22:,} bytes follow the archive's end record, and torch.jit.load's zip "
                  "reader does not find the record behind them (it would refuse the file: \"failed finding "
                  f"central directory\"); the archive is the file's first {end.at + 22:,} bytes")
    try:
        with zipfile.ZipFile(_Window(file, end.at + 22)) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile as error:
        if shift:
            raise NotTorchScriptFileError(
                f"{path.name!r} has its end record {shift} bytes after where its directory ends (a second end "
                "record, or bytes put inside the archive): torch.jit.load reads the directory where the record "
                "says, zip tools look for it right before the record and find none, so the file is ambiguous."
            ) from error
        raise NotTorchScriptFileError(
            f"{path.name!r} is not a zip archive (or is truncated), so it is not a TorchScript file."
        ) from error
    except (ValueError, NotImplementedError, OverflowError, EOFError, OSError, struct.error) as error:
        # UnicodeDecodeError (a name flagged UTF-8 that is not), zip64 offsets past 2**63, ...
        raise NotTorchScriptFileError(
            f"{path.name!r} is a damaged zip archive ({type(error).__name__}: {str(error)[:200]}); "
            "torch.jit.save never writes one like it."
        ) from error
    if len(infos) > MAX_ENTRIES:
        raise _too_many(path, len(infos))
    for info in infos:
        # zipfile cuts a name at a NUL; miniz does not, so torch would look up the whole name
        info.filename = info.orig_filename
    return infos, shift, missed


def _check_end_record(path: Path, file: BinaryIO, end: _End) -> int:
    """Refuse a directory too large to parse, from the end record's counts, before zipfile reads it.

    Returns how many bytes the directory lies after where the end record says it starts: zipfile
    shifts every entry by that much (to read archives with data put before them), torch does not.
    """
    assert end.at is not None
    tail, at = end.tail, end.at - end.tail_start
    count, directory_bytes, directory_at = struct.unpack("<HLL", tail[at + 10:at + 20])
    directory_end = end.at
    file.seek(max(end.at - 20, 0))
    locator = file.read(20) if end.at >= 20 else b""
    moved = 0
    if locator[:4] == _END64_LOCATOR:
        (offset,) = struct.unpack("<Q", locator[8:16])
        record_at = directory_end - 20 - 56  # where zipfile reads the zip64 record; torch reads `offset`
        file.seek(max(record_at, 0))
        record = file.read(56)
        if record[:4] == _END64:
            count, directory_bytes, directory_at = struct.unpack("<QQQ", record[32:56])
            directory_end = record_at
            moved = offset != record_at
    if count > MAX_ENTRIES:
        raise _too_many(path, count)
    if directory_bytes > MAX_DIRECTORY_BYTES:
        raise NotTorchScriptFileError(
            f"{path.name!r} has a {directory_bytes}-byte list of entries, more than the "
            f"{MAX_DIRECTORY_BYTES} jitviz reads; a TorchScript file's is a few kilobytes."
        )
    return (directory_end - directory_bytes - directory_at) or int(moved)


def _too_many(path: Path, count: int) -> NotTorchScriptFileError:
    return NotTorchScriptFileError(
        f"{path.name!r} has {count} entries, more than the {MAX_ENTRIES} jitviz inspects; "
        "a TorchScript file has a few per module and tensor, so this is not one."
    )


def unsafe_name(name: str) -> bool:
    """Whether an entry's name would escape a folder if extracted (``../x``, ``/etc/x``, ``C:x``)."""
    pure = PurePosixPath(name.replace("\\", "/"))
    return pure.is_absolute() or ".." in pure.parts or (len(name) > 1 and name[1] == ":")


def is_export_layout(local_names: list[str]) -> bool:
    """Whether names inside the folder are a ``torch.export`` archive's (``models/``, ``archive_format``)."""
    return any(name.startswith("models/") or name == "archive_format"
               or name.endswith("serialized_exported_program.json") for name in local_names)


# --- pickles, walked without unpickling ------------------------------------------------------------


@dataclass(frozen=True)
class BigInt:
    """An integer wider than ``MAX_INT_BITS``, kept by its width: printing it could take seconds."""

    bits: int

    def __str__(self) -> str:
        return f"<{self.bits}-bit integer>"


@dataclass(frozen=True)
class TensorSpec:
    """What ``data.pkl`` says of one stored tensor: dtype, size, stride and offset (in elements)."""

    dtype: str | None
    shape: tuple[Any, ...] | None
    stride: tuple[Any, ...] | None
    offset: Any


@dataclass(frozen=True)
class _Name:
    dotted: str


class _Node:
    """Anything mutable or built from parts: a list, dict, set, object, call or tuple."""

    __slots__ = ("depth", "kind", "nested", "payload", "size")

    def __init__(self, kind: str, depth: int = 1, size: int = 1, payload: Any = None) -> None:
        self.kind, self.depth, self.size, self.nested, self.payload = kind, depth, size, False, payload


_STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
    "ComplexFloatStorage": "complex64", "ComplexDoubleStorage": "complex128",
}
_STORAGE_BYTES = {  # bytes an element; a type not listed counts 1, the smallest there is
    "DoubleStorage": 8, "LongStorage": 8, "ComplexDoubleStorage": 16, "ComplexFloatStorage": 8,
    "FloatStorage": 4, "IntStorage": 4, "QInt32Storage": 4, "HalfStorage": 2, "BFloat16Storage": 2,
    "ShortStorage": 2, "ComplexHalfStorage": 4, "UInt16Storage": 2, "UInt32Storage": 4, "UInt64Storage": 8,
}
_TENSOR_REBUILDERS = {"torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor"}
_PUSH_ARG = {
    "BINUNICODE", "SHORT_BINUNICODE", "UNICODE", "BINUNICODE8", "STRING", "BINSTRING",
    "SHORT_BINSTRING", "BININT", "BININT1", "BININT2", "LONG1", "LONG4", "INT", "LONG", "BINFLOAT",
    "FLOAT", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8",
}
_PUSH_CONST = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}
_EMPTY = {"EMPTY_LIST": "list", "EMPTY_DICT": "dict", "EMPTY_SET": "set"}
# What torch's own unpickler (torch/csrc/jit/serialization/unpickler.cpp) reads; any other opcode
# is an error there, raised lazily for a .debug_pkl (when a node's source range is first asked for).
_TORCH_OPCODES = {
    "PROTO", "STOP", "MARK", "EMPTY_LIST", "EMPTY_TUPLE", "EMPTY_DICT", "BINPUT", "LONG_BINPUT",
    "BINGET", "LONG_BINGET", "NEWTRUE", "NEWFALSE", "NONE", "BININT1", "BININT2", "BININT", "LONG1",
    "BINUNICODE", "BINFLOAT", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "APPENDS", "LIST", "DICT",
    "SETITEMS", "SETITEM", "GLOBAL", "NEWOBJ", "BUILD", "REDUCE", "BINPERSID",
}


class _Walker:
    """A pickle machine that builds only the shape of things: what they are, how deep, how large."""

    def __init__(self, torch_only: bool) -> None:
        self.torch_only = torch_only
        self.stack: list[Any] = []
        self.marks: list[int] = []
        self.memo: dict[Any, Any] = {}
        self.tensors: dict[str, TensorSpec] = {}
        self.result: Any = None
        self.storages: dict[str, tuple[str, Any]] = {}  # key -> (storage type, elements)
        self.started = False  # an opcode was read: PROTO may come first and only there

    def run(self, data: bytes) -> dict[str, TensorSpec]:
        try:
            for count, (op, arg, _) in enumerate(pickletools.genops(data)):
                if count >= MAX_PICKLE_OPCODES:
                    raise UnreadableError(f"it has more than {MAX_PICKLE_OPCODES:,} pickle opcodes, more than "
                                          "a real model's (jitviz stops reading there)")
                if op.name == "STOP":
                    self.result = self.stack.pop()
                self._step(op.name, arg)
        except (IndexError, KeyError, ValueError, TypeError, AttributeError) as error:
            raise UnreadableError(f"malformed pickle: {type(error).__name__}: {str(error)[:100]}") from error
        return self.tensors

    def _step(self, name: str, arg: Any) -> None:
        stack = self.stack
        if self.torch_only and name not in _TORCH_OPCODES:
            raise UnreadableError(f"it uses the pickle opcode {name}, which torch.jit.load cannot read")
        if self.torch_only and (self.started == (name == "PROTO") or name == "PROTO" and arg != 2):
            raise UnreadableError("it does not start with pickle protocol 2 (and only there), as torch.jit.load needs")
        self.started = True
        if name in ("PROTO", "FRAME", "STOP"):
            return
        if name in _PUSH_ARG:
            stack.append(BigInt(arg.bit_length()) if isinstance(arg, int) and arg.bit_length() > MAX_INT_BITS
                         else arg)
        elif name in _PUSH_CONST:
            stack.append(_PUSH_CONST[name])
        elif name == "EMPTY_TUPLE":
            stack.append(())
        elif name == "MARK":
            self.marks.append(len(stack))
        elif name == "GLOBAL":
            stack.append(_Name(str(arg).replace(" ", ".")))
        elif name == "STACK_GLOBAL":
            attribute, module = stack.pop(), stack.pop()
            ok = isinstance(attribute, str) and isinstance(module, str)
            stack.append(_Name(f"{module}.{attribute}" if ok else "?"))
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            self._tuple(len(stack) - int(name[-1]))
        elif name in ("TUPLE", "FROZENSET"):
            self._tuple(self.marks.pop())
        elif name in _EMPTY:
            stack.append(_Node(_EMPTY[name], payload=[]))  # only a list's items are kept (see _grow)
        elif name in ("LIST", "DICT"):
            items = self._take(self.marks.pop())
            if name == "DICT" and len(items) % 2:
                raise UnreadableError("malformed pickle: a key without a value (torch would read past its stack)")
            stack.append(self._grow(_Node(name.lower(), payload=[]), items))
        elif name in ("APPEND", "SETITEM", "APPENDS", "SETITEMS", "ADDITEMS"):
            start = self.marks.pop() if name in ("APPENDS", "SETITEMS", "ADDITEMS") else len(stack) - (
                1 if name == "APPEND" else 2)
            items = self._take(start)
            if name == "SETITEMS" and len(items) % 2:  # SETITEM takes two by construction
                raise UnreadableError("malformed pickle: a key without a value (torch would read past its stack)")
            self._grow(stack[-1], items)
        elif name == "POP_MARK":
            self._take(self.marks.pop())
        elif name == "POP":
            stack.pop()
        elif name == "DUP":
            stack.append(stack[-1])
        elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
            if not isinstance(arg, int) or not 0 <= arg <= MAX_PICKLE_ITEMS:
                raise UnreadableError(
                    f"it stores a value at memo slot {arg} (torch would allocate every slot below it)")
            self.memo[arg] = stack[-1]
        elif name == "MEMOIZE":
            self.memo[len(self.memo)] = stack[-1]
        elif name in ("BINGET", "LONG_BINGET", "GET"):
            stack.append(self.memo[arg])
        elif name == "BINPERSID":
            node = self._grow(_Node("persistent", payload=stack[-1]), self._take(len(stack) - 1))
            node.nested = True  # immutable from here on
            self._record_storage(_plain(node.payload))
            stack.append(node)
        elif name in ("REDUCE", "NEWOBJ", "NEWOBJ_EX"):
            parts = self._take(len(stack) - (3 if name == "NEWOBJ_EX" else 2))
            call = self._grow(_Node("call", payload=tuple(parts)), parts)
            self._record_tensor(call)
            stack.append(call)
        elif name == "BUILD":
            self._grow(stack[-2], self._take(len(stack) - 1))
        else:
            raise UnreadableError(f"it uses the pickle opcode {name}, which TorchScript files never contain")

    def _take(self, start: int) -> list[Any]:
        if start < 0 or start > len(self.stack):
            raise IndexError("stack underflow")
        items = self.stack[start:]
        del self.stack[start:]
        return items

    def _tuple(self, start: int) -> None:
        items = self._take(start)
        node = self._grow(_Node("tuple", payload=tuple(items)), items)
        node.nested = True  # immutable from here on
        self.stack.append(node)

    def _grow(self, node: Any, items: list[Any]) -> _Node:
        """Put ``items`` inside ``node``, keeping its depth and size exact and bounded."""
        if not isinstance(node, _Node) or node.kind in ("tuple", "persistent") and node.nested:
            what = node.kind if isinstance(node, _Node) else type(node).__name__
            raise UnreadableError(f"malformed pickle: items added to a value of kind {what}")
        if node.nested:
            raise UnreadableError(
                "it changes a container after placing it in another, which torch's pickler never does")
        if node.kind == "list":
            node.payload.extend(items)  # kept: a debug_pkl's line numbers are lists of ints
        for item in items:
            if item is node:
                raise UnreadableError("a container holds itself")
            if isinstance(item, _Node):
                item.nested = True
                node.depth = max(node.depth, item.depth + 1)
                node.size += item.size
            else:
                node.size += 1
        if node.depth > MAX_PICKLE_DEPTH:
            raise UnreadableError(f"it nests deeper than {MAX_PICKLE_DEPTH} levels (torch.jit.load would crash)")
        if node.size > MAX_PICKLE_ITEMS:
            raise UnreadableError(f"it builds more than {MAX_PICKLE_ITEMS} items (shared ones counted at each use)")
        return node

    def _record_storage(self, pid: Any) -> None:
        """``("storage", torch.FloatStorage, key, device, elements)``, as torch's pickler writes it."""
        if isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and isinstance(pid[2], str):
            self.storages[pid[2]] = (_storage_type(pid[1]), pid[4])

    def _record_tensor(self, call: _Node) -> None:
        target, args = call.payload[0], call.payload[1]
        if not (isinstance(target, _Name) and target.dotted in _TENSOR_REBUILDERS):
            return
        args = _plain(args)
        if not (isinstance(args, tuple) and args and isinstance(args[0], _Node) and args[0].kind == "persistent"):
            return
        pid = _plain(args[0].payload)
        if not (isinstance(pid, tuple) and len(pid) >= 3 and isinstance(pid[2], str)):
            return
        dtype = _STORAGE_DTYPES.get(_storage_type(pid[1]))
        offset = args[1] if len(args) > 1 else None
        shape, stride = (_plain(args[i]) if len(args) > i else None for i in (2, 3))
        self.tensors[pid[2]] = TensorSpec(dtype, shape if isinstance(shape, tuple) else None,
                                          stride if isinstance(stride, tuple) else None, offset)


def _storage_type(value: Any) -> str:
    """``FloatStorage`` for the global ``torch.FloatStorage``; ``?`` for anything else."""
    return value.dotted.rsplit(".", 1)[-1] if isinstance(value, _Name) else "?"


def _plain(value: Any) -> Any:
    """A tuple node's items as a tuple (one level), anything else as it is."""
    return value.payload if isinstance(value, _Node) and value.kind == "tuple" else value


def walk_pickle(data: bytes, torch_only: bool = False) -> dict[str, TensorSpec]:
    """Storage key -> what ``data.pkl`` says of that tensor, read by walking the pickle's opcodes.

    ``walk_pickle(data)["0"].shape == (8, 4)``. Raises :class:`UnreadableError` for a malformed pickle
    or one past a bound (depth, items built, memo slots); with ``torch_only``, also for an opcode
    torch's unpickler does not read.
    """
    return _Walker(torch_only).run(data)


def check_debug_pickle(data: bytes) -> None:
    """Refuse a ``.debug_pkl`` that torch would index out of bounds (it segfaults on a line index
    past its string table): the layout torch 2.13's ``ConcreteSourceRangeUnpickler`` reads, checked.

    ``check_debug_pickle(archive.read(info))`` returns None or raises :class:`UnreadableError`.
    """
    walker = _Walker(torch_only=True)
    walker.run(data)
    root = _items(walker.result, "the debug info")
    table: tuple[Any, ...] | None = None
    if root and root[0] == "FORMAT_WITH_STRING_TABLE":
        if len(root) != 3:
            raise UnreadableError("is debug info with a string table but not 3 parts")
        table = _items(root[1], "the string table")
        if not all(isinstance(text, str) for text in table):
            raise UnreadableError("is debug info whose string table holds something other than strings")
        root = _items(root[2], "the source ranges")
    for record in root:
        parts = _items(record, "a source range record")
        if len(parts) not in (2, 3) or not _is_int(parts[0]):
            raise UnreadableError("is debug info with a malformed source range record")
        _check_range(parts[1], table)


def _check_range(value: Any, table: tuple[Any, ...] | None) -> None:
    source, start, end = _sized(_items(value, "a source range"), 3, "a source range")
    if not (_is_int(start) and _is_int(end) and 0 <= start <= end):
        raise UnreadableError("is debug info with a source range that is not a pair of offsets")
    parts = _sized(_items(source, "a source"), 3, "a source")
    if table is None:  # the old layout: (text, file name or None, first line)
        if not (isinstance(parts[0], str) and (parts[1] is None or isinstance(parts[1], str)) and _is_int(parts[2])):
            raise UnreadableError("is debug info with a malformed source")
        return
    lines, file_index, first_line = parts
    indices = _int_list(lines)
    if not (_is_int(file_index) and _is_int(first_line)) or indices is None:
        raise UnreadableError("is debug info with a malformed source")
    if not all(0 <= index < len(table) for index in [*indices, file_index]):
        raise UnreadableError("is debug info pointing past its string table (torch.jit.load would crash on it)")


def _items(value: Any, what: str) -> tuple[Any, ...]:
    if isinstance(value, _Node) and value.kind == "tuple":
        return value.payload
    raise UnreadableError(f"is debug info in which {what} is not a tuple")


def _sized(items: tuple[Any, ...], count: int, what: str) -> tuple[Any, ...]:
    if len(items) != count:
        raise UnreadableError(f"is debug info in which {what} has {len(items)} parts, not {count}")
    return items


def _int_list(value: Any) -> list[int] | None:
    """The ints of ``torch.jit._pickle.build_intlist([...])``, None for anything else."""
    if not (isinstance(value, _Node) and value.kind == "call"):
        return None
    target, args = value.payload[0], _plain(value.payload[1])
    if not (isinstance(target, _Name) and target.dotted == "torch.jit._pickle.build_intlist"):
        return None
    if not (isinstance(args, tuple) and len(args) == 1 and isinstance(args[0], _Node) and args[0].kind == "list"):
        return None
    items = args[0].payload
    return items if all(_is_int(item) for item in items) else None


def _is_int(value: Any) -> bool:
    return type(value) is int


def check_code(data: bytes) -> None:
    """Refuse code torch's recursive parser could crash on: ``check_code(b"def f(x): return x")``.

    The code torch.jit.save writes is Python syntax, so Python's parser (which stops safely at
    200 nested brackets or a too complex expression) reads it first; the tree's depth is then
    bounded by ``MAX_CODE_DEPTH``. Raises :class:`UnreadableError`.
    """
    if len(data) > MAX_CODE_BYTES:
        raise UnreadableError(f"is {len(data):,} bytes of code, more than the {MAX_CODE_BYTES:,} jitviz parses "
                              "(a code file torch.jit.save writes is a few hundred kilobytes at most)")
    try:
        tree = ast.parse(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise UnreadableError("is not UTF-8 text, so not code torch.jit.save wrote") from error
    except (SyntaxError, ValueError, MemoryError, RecursionError) as error:
        raise UnreadableError(f"is not code torch.jit.save writes ({type(error).__name__}: {error})") from error
    pending: list[tuple[ast.AST, int]] = [(tree, 1)]
    while pending:  # iterative: the tree may be deep
        node, depth = pending.pop()
        if depth > MAX_CODE_DEPTH:
            raise UnreadableError(f"nests code deeper than {MAX_CODE_DEPTH} levels (torch.jit.load would crash)")
        pending.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


# --- vetting a file before torch.jit.load -------------------------------------------------------------


_VETTED_SMALL = ("version", ".data/version", "byteorder")


def vet_torchscript(path: Path, setstate_in: list[str] | None = None) -> list[str]:
    """Refuse a file that is not safe to hand to ``torch.jit.load``; the local names of its entries.

    Raises :class:`NotTorchScriptFileError` for a damaged or ambiguous zip, a pickle past a bound
    (a 900,000-deep ``data.pkl`` would crash torch), or a storage claiming more elements than its
    record holds (torch would read past the record). Tensor data itself is not read. The code files
    that mention ``setstate`` (see :func:`code_run_on_load`) are appended to ``setstate_in``, from
    the same reading.
    """
    with SafeZip(path, VET_MEMBER_BYTES, VET_TOTAL_BYTES) as archive:
        problems = archive.ambiguities()
        if problems:
            raise _refused(archive, "; ".join(problems))
        # no ambiguities: every entry is inside the folder torch reads
        entries = [(info, local) for info in archive.infos if (local := archive.local(info)) is not None]
        _check_inflated_tensors(archive, entries)
        for info, local in entries:
            try:
                storages = _vet_member(archive, info, local, setstate_in)
                if local in ("data.pkl", "constants.pkl"):
                    _check_storages(archive, local.removesuffix(".pkl"), storages)
            except UnreadableError as reason:
                raise _refused(archive, f"{info.filename!r}: {reason}") from reason
    return [local for _, local in entries]


_SETSTATE = re.compile(rb"setstate", re.IGNORECASE)


def code_run_on_load(path: Path) -> list[str]:
    """The code files of a TorchScript archive that ``torch.jit.load`` would run: ``code_run_on_load(p)``.

    Loading a TorchScript file compiles its code and runs none of it, except the ``__setstate__``
    of each scripted class whose objects ``data.pkl`` holds: torch calls it to rebuild the object,
    so a crafted file can run anything TorchScript can do there (write any file with
    ``torch.from_file``, loop for ever). Every code file that mentions ``setstate`` in any case is
    listed; an empty list means ``torch.jit.load`` runs nothing written in the file. Call it on a
    file :func:`vet_torchscript` accepted (it reads within the same budget).
    """
    found = []
    with SafeZip(path, VET_MEMBER_BYTES, VET_TOTAL_BYTES) as archive:
        for info in archive.infos:
            local = archive.local(info)
            if local is not None and local.startswith("code/") and not info.is_dir():
                try:
                    data = archive.read(info)
                except UnreadableError:
                    found.append(local)  # not read, so not known to be inert
                    continue
                if _SETSTATE.search(data):
                    found.append(local)
    return found


def _refused(archive: SafeZip, why: str) -> NotTorchScriptFileError:
    return NotTorchScriptFileError(
        f"{archive.path.name!r} is not handed to torch.jit.load: {why}. "
        "jitviz.inspect_archive(path) shows what is inside."
    )


def _vet_member(archive: SafeZip, info: zipfile.ZipInfo, local: str,
                setstate_in: list[str] | None = None) -> dict[str, tuple[str, Any]]:
    """Check one entry as torch will read it; a pickle's storages (key -> storage type, elements)."""
    if local.startswith(("data/", "constants/")) or info.is_dir():
        _check_method(info)  # tensor data can be gigabytes: torch reads it, checked by CRC
    elif local.endswith((".pkl", "_pkl", ".py")) or local in _VETTED_SMALL:
        data = archive.read(info)
        if local.endswith(".py"):
            check_code(data)
            if setstate_in is not None and local.startswith("code/") and _SETSTATE.search(data):
                setstate_in.append(local)
        elif local.endswith(".debug_pkl"):
            check_debug_pickle(data)
        elif local.endswith(".pkl"):
            walker = _Walker(torch_only=True)
            walker.run(data)
            return walker.storages
    return {}


def _check_inflated_tensors(archive: SafeZip, entries: list[tuple[zipfile.ZipInfo, str]]) -> None:
    """Refuse tensor records that inflate far past the file: torch.jit.save stores them uncompressed,
    and torch.jit.load allocates every record it reads (deflated zeros are 1,000 times smaller)."""
    inflated = sum(info.file_size for info, local in entries
                   if local.startswith(("data/", "constants/")) and info.compress_type != _STORED)
    bound = max(VET_TOTAL_BYTES, INFLATED_TENSOR_RATIO * archive.path.stat().st_size)
    if inflated > bound:
        raise _refused(archive, f"its compressed tensor records inflate to {inflated:,} bytes, more than the "
                                f"{bound:,} jitviz lets torch.jit.load allocate for a file of "
                                f"{archive.path.stat().st_size:,} bytes (torch.jit.save stores tensors "
                                "uncompressed)")


def _check_storages(archive: SafeZip, folder: str, storages: dict[str, tuple[str, Any]]) -> None:
    """Each storage's elements must fit its record: torch sizes the storage by the pickle and reads
    the record's bytes, so 2**28 floats over a 16-byte record load, then crash when read (measured)."""
    for key, (storage_type, elements) in storages.items():
        if type(elements) is not int or elements < 0:
            raise UnreadableError(f"storage {key!r} has {elements} elements")
        needed = elements * _STORAGE_BYTES.get(storage_type, 1)
        record = archive.find(f"{folder}/{key}")
        if record is None:
            continue  # torch says plainly that the record is missing
        held = record.file_size
        if needed > held:
            raise UnreadableError(
                f"storage {key!r} claims {elements} elements ({needed} bytes) but its record "
                f"{folder}/{key} holds {held} bytes (torch would read past it)"
            )
        # torch reads the whole record, whatever the storage needs: a 265 KB file whose 1-float storage
        # had a 256 MiB record of deflated zeros took 256 MiB (torch.jit.save writes exactly what is needed)
        room = needed if storage_type in _STORAGE_BYTES else elements * max(_STORAGE_BYTES.values())
        if held > room:
            raise UnreadableError(
                f"storage {key!r} needs {needed} bytes but its record {folder}/{key} holds {held} "
                "(torch.jit.load would read all of it; torch.jit.save writes exactly what a storage needs)"
            )


def _check_method(info: zipfile.ZipInfo) -> None:
    if info.compress_type not in (_STORED, _DEFLATED) or info.flag_bits & 0x1:
        raise UnreadableError(f"is compressed with method {info.compress_type} or encrypted, which torch cannot read")
