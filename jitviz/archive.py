"""Look inside a saved TorchScript ``.pt`` without loading it, unpickling it or running any of it.

    report = jitviz.inspect_archive("model.pt")   # shows as tables in a notebook cell
    report.tensors[0].shape                        # (8, 4), read from data.pkl without unpickling

Safe on files from strangers: nothing is extracted to disk, nothing is executed, and memory stays
bounded. The bounds: at most ``MAX_ENTRIES`` entries are accepted (more raises), at most
``MAX_LISTED`` are listed one by one (the rest are counted), a member is read only up to
``MAX_MEMBER_BYTES`` however large it claims or turns out to be, and at most ``MAX_TOTAL_BYTES``
are read from the whole archive. ``data.pkl`` is not unpickled: its opcodes are walked by
:mod:`pickletools` and only tuples, strings, numbers and names are followed, which is enough to
read the shape and dtype of each stored tensor.
"""

from __future__ import annotations

import html
import pickletools
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import JitvizError, NotTorchScriptFileError

__all__ = ["inspect_archive", "is_export_archive", "ArchiveReport", "Entry", "StoredTensor",
           "MAX_ENTRIES", "MAX_LISTED", "MAX_MEMBER_BYTES", "MAX_TOTAL_BYTES"]

MAX_ENTRIES = 50_000
MAX_LISTED = 500
MAX_MEMBER_BYTES = 1 << 20  # 1 MiB
MAX_TOTAL_BYTES = 16 << 20  # 16 MiB

_STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
}
_TENSOR_REBUILDERS = {"torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor"}


@dataclass(frozen=True)
class Entry:
    """One member of the archive: its name, sizes, and what it is (``code``, ``tensor``, ...)."""

    name: str
    size: int
    compressed_size: int
    kind: str


@dataclass(frozen=True)
class StoredTensor:
    """A tensor's storage under ``data/``, with its dtype and shape when ``data.pkl`` says them."""

    key: str
    bytes: int
    dtype: str | None = None
    shape: tuple[int, ...] | None = None


@dataclass
class ArchiveReport:
    """What :func:`inspect_archive` found; plain data, and tables in a notebook."""

    path: str
    entry_count: int
    entries: list[Entry]
    version: str | None
    byteorder: str | None
    code: dict[str, str]
    tensors: list[StoredTensor]
    constants_bytes: int | None
    extra: dict[str, int]
    notes: list[str] = field(default_factory=list)

    @property
    def tensor_bytes(self) -> int:
        return sum(t.bytes for t in self.tensors)

    def __repr__(self) -> str:
        lines = [
            f"<jitviz archive {Path(self.path).name}: {self.entry_count} entries, format version "
            f"{self.version}, {len(self.code)} code files, {len(self.tensors)} tensors "
            f"({self.tensor_bytes} bytes)>"
        ]
        for tensor in self.tensors:
            shape = "?" if tensor.shape is None else "x".join(map(str, tensor.shape)) or "scalar"
            lines.append(f"  data/{tensor.key}: {tensor.dtype or '?'} {shape}, {tensor.bytes} bytes")
        lines += [f"  extra/{name}: {size} bytes" for name, size in self.extra.items()]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        rows = "".join(
            f"<tr><td><code>{e(entry.name)}</code></td><td>{entry.kind}</td>"
            f"<td style='text-align:right'>{entry.size}</td></tr>"
            for entry in self.entries
        )
        more = self.entry_count - len(self.entries)
        tensors = "".join(
            f"<tr><td>data/{e(t.key)}</td><td>{e(t.dtype or '?')}</td>"
            f"<td>{e('?' if t.shape is None else str(tuple(t.shape)))}</td>"
            f"<td style='text-align:right'>{t.bytes}</td></tr>"
            for t in self.tensors
        )
        code = "".join(
            f"<details><summary><code>{e(name)}</code></summary><pre>{e(text)}</pre></details>"
            for name, text in self.code.items()
        )
        notes = "".join(f"<li>{e(note)}</li>" for note in self.notes)
        return (
            f"<div><p><b>{e(Path(self.path).name)}</b>: format version {e(str(self.version))}, "
            f"byte order {e(str(self.byteorder))}, {self.entry_count} entries</p>"
            f"<table><tr><th>entry</th><th>kind</th><th>bytes</th></tr>{rows}</table>"
            + (f"<p>and {more} more entries, not listed</p>" if more > 0 else "")
            + f"<p>Tensors ({self.tensor_bytes} bytes):</p>"
            f"<table><tr><th>storage</th><th>dtype</th><th>shape</th><th>bytes</th></tr>{tensors}</table>"
            f"<p>TorchScript code:</p>{code}"
            + (f"<ul>{notes}</ul>" if notes else "")
            + "</div>"
        )


def inspect_archive(path: str | Path) -> ArchiveReport:
    """What is inside a saved TorchScript file, read without running it: ``inspect_archive("m.pt")``."""
    path = Path(path)
    if not path.is_file():
        raise NotTorchScriptFileError(f"No file at {str(path)!r}.")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise NotTorchScriptFileError(
            f"{path.name!r} is not a zip archive (or is truncated), so it is not a TorchScript file."
        ) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            raise JitvizError(
                f"{path.name!r} has {len(infos)} entries, more than the {MAX_ENTRIES} jitviz inspects; "
                "a TorchScript file has a few per module and tensor, so this is not one."
            )
        return _Reader(path, archive, infos).report()


class _Reader:
    def __init__(self, path: Path, archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
        self.path = path
        self.archive = archive
        self.infos = infos
        self.budget = MAX_TOTAL_BYTES
        self.notes: list[str] = []
        # torch.jit.save puts everything under one folder named after the file: where data.pkl is
        anchor = next((i.filename for i in infos if i.filename.endswith("/data.pkl")
                       and not _unsafe(i.filename)), "")
        self.prefix = anchor.rpartition("/")[0] + "/" if anchor else ""

    def report(self) -> ArchiveReport:
        unsafe = [info.filename for info in self.infos if _unsafe(info.filename)]
        if unsafe:
            self.notes.append(
                f"{len(unsafe)} entr{'y has' if len(unsafe) == 1 else 'ies have'} a name that would "
                f"escape a folder if extracted (for example {unsafe[0]!r}); nothing is extracted here, "
                "but do not unzip this file."
            )
        if not any(self._local(info).startswith("code/") for info in self.infos):
            is_export = is_export_archive([i.filename for i in self.infos])
            raise NotTorchScriptFileError(
                f"{self.path.name!r} is a zip archive without a code/ folder, so it is not TorchScript"
                + (": it looks like a torch.export .pt2, which inspect_archive does not read yet."
                   if is_export else " (a torch.save file is opened with torch.load).")
            )
        entries = [Entry(info.filename, info.file_size, info.compress_size, self._kind(info))
                   for info in self.infos[:MAX_LISTED]]
        if len(self.infos) > MAX_LISTED:
            self.notes.append(f"{len(self.infos) - MAX_LISTED} more entries are counted but not listed.")
        code = {}
        for info in self.infos:
            local = self._local(info)
            if local.startswith("code/") and local.endswith(".py"):
                text = self._read_text(info)
                if text is not None:
                    code[local] = text
        specs = self._tensor_specs()
        tensors = []
        for info in self.infos:
            local = self._local(info)
            if local.startswith("data/") and not info.is_dir():
                key = local.removeprefix("data/")
                dtype, shape = specs.get(key, (None, None))
                tensors.append(StoredTensor(key, info.file_size, dtype, shape))
        constants = next((i.file_size for i in self.infos if self._local(i) == "constants.pkl"), None)
        extra = {self._local(i).removeprefix("extra/"): i.file_size
                 for i in self.infos if self._local(i).startswith("extra/")}
        return ArchiveReport(
            str(self.path), len(self.infos), entries, self._small("version"), self._small("byteorder"),
            code, tensors, constants, extra, self.notes,
        )

    def _local(self, info: zipfile.ZipInfo) -> str:
        return info.filename.removeprefix(self.prefix)

    def _kind(self, info: zipfile.ZipInfo) -> str:
        local = self._local(info)
        if _unsafe(info.filename):
            return "unsafe name"
        if local.startswith("code/"):
            return "debug info" if local.endswith(".debug_pkl") else "code"
        if local.startswith("data/"):
            return "tensor data"
        if local.startswith("extra/"):
            return "extra file"
        if local.endswith(".pkl"):
            return "pickle"
        return "metadata"

    def _read(self, info: zipfile.ZipInfo) -> bytes | None:
        """At most MAX_MEMBER_BYTES of a member, whatever its header claims; None if over a bound."""
        limit = min(MAX_MEMBER_BYTES, self.budget)
        if info.file_size > limit:
            self.notes.append(f"{info.filename!r} claims {info.file_size} bytes; not read (limit {limit}).")
            return None
        try:
            with self.archive.open(info) as member:
                data = member.read(limit + 1)
        except (zipfile.BadZipFile, EOFError, OSError, RuntimeError, NotImplementedError) as error:
            self.notes.append(f"{info.filename!r} could not be read: {error}")
            return None
        if len(data) > limit:
            self.notes.append(f"{info.filename!r} expands past {limit} bytes (more than it claims); not read.")
            return None
        self.budget -= len(data)
        return data

    def _read_text(self, info: zipfile.ZipInfo) -> str | None:
        data = self._read(info)
        return None if data is None else data.decode("utf-8", errors="replace")

    def _small(self, local: str) -> str | None:
        info = next((i for i in self.infos if self._local(i) == local), None)
        text = self._read_text(info) if info is not None else None
        return text.strip() if text is not None else None

    def _tensor_specs(self) -> dict[str, tuple[str | None, tuple[int, ...] | None]]:
        info = next((i for i in self.infos if self._local(i) == "data.pkl"), None)
        data = self._read(info) if info is not None else None
        if data is None:
            self.notes.append("data.pkl is missing or too large: tensor shapes and dtypes are unknown.")
            return {}
        try:
            return _walk_pickle(data)
        except _Unreadable as reason:
            self.notes.append(f"tensor shapes and dtypes cannot be read without unpickling ({reason}).")
            return {}


def is_export_archive(names: list[str]) -> bool:
    """Whether zip member names look like a ``torch.export`` ``.pt2`` (its graph is JSON under models/)."""
    return any("/models/" in f"/{name}" or name.endswith("serialized_exported_program.json") for name in names)


def _unsafe(name: str) -> bool:
    pure = PurePosixPath(name.replace("\\", "/"))
    return pure.is_absolute() or ".." in pure.parts or (len(name) > 1 and name[1] == ":")


# --- reading data.pkl without unpickling it ------------------------------------------------------


class _Unreadable(Exception):
    pass


@dataclass(frozen=True)
class _Name:
    dotted: str


@dataclass(frozen=True)
class _Persistent:
    pid: Any


@dataclass(frozen=True)
class _Call:
    target: Any
    args: Any


_PUSH_ARG = {
    "BINUNICODE", "SHORT_BINUNICODE", "UNICODE", "BINUNICODE8", "STRING", "BINSTRING",
    "SHORT_BINSTRING", "BININT", "BININT1", "BININT2", "LONG1", "LONG4", "INT", "LONG", "BINFLOAT",
    "FLOAT", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8",
}
_PUSH_CONST = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False, "EMPTY_TUPLE": ()}


def _walk_pickle(data: bytes) -> dict[str, tuple[str | None, tuple[int, ...] | None]]:
    """Storage key -> (dtype, shape), for every tensor rebuilt in a pickle, by walking its opcodes."""
    stack: list[Any] = []
    marks: list[int] = []
    memo: dict[Any, Any] = {}
    found: dict[str, tuple[str | None, tuple[int, ...] | None]] = {}
    try:
        for op, arg, _ in pickletools.genops(data):
            name = op.name
            if name in ("PROTO", "FRAME", "STOP"):
                continue
            if name in _PUSH_ARG:
                stack.append(arg)
            elif name in _PUSH_CONST:
                stack.append(_PUSH_CONST[name])
            elif name == "MARK":
                marks.append(len(stack))
            elif name == "GLOBAL":
                stack.append(_Name(str(arg).replace(" ", ".")))
            elif name == "STACK_GLOBAL":
                attribute, module = stack.pop(), stack.pop()
                stack.append(_Name(f"{module}.{attribute}"))
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                count = int(name[-1])
                items = tuple(stack[-count:])
                del stack[-count:]
                stack.append(items)
            elif name == "TUPLE":
                start = marks.pop()
                items = tuple(stack[start:])
                del stack[start:]
                stack.append(items)
            elif name in ("EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET"):
                stack.append([])  # contents are not needed, only kept off the stack
            elif name in ("APPEND", "SETITEM"):
                del stack[-1 if name == "APPEND" else -2:]
            elif name in ("APPENDS", "SETITEMS", "ADDITEMS", "POP_MARK"):
                del stack[marks.pop():]
            elif name == "POP":
                stack.pop()
            elif name == "DUP":
                stack.append(stack[-1])
            elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
                memo[arg] = stack[-1]
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name in ("BINGET", "LONG_BINGET", "GET"):
                stack.append(memo[arg])
            elif name == "BINPERSID":
                stack.append(_Persistent(stack.pop()))
            elif name in ("REDUCE", "NEWOBJ"):
                args = stack.pop()
                target = stack.pop()
                call = _Call(target, args)
                _record_tensor(call, found)
                stack.append(call)
            elif name == "BUILD":
                stack.pop()
            else:
                raise _Unreadable(f"opcode {name}")
    except (IndexError, KeyError, ValueError) as error:
        raise _Unreadable(f"malformed pickle: {error}") from None
    return found


def _record_tensor(call: _Call, found: dict[str, tuple[str | None, tuple[int, ...] | None]]) -> None:
    if not (isinstance(call.target, _Name) and call.target.dotted in _TENSOR_REBUILDERS):
        return
    args = call.args if isinstance(call.args, tuple) else ()
    storage = args[0] if args else None
    if not (isinstance(storage, _Persistent) and isinstance(storage.pid, tuple) and len(storage.pid) >= 3):
        return
    storage_type, key = storage.pid[1], storage.pid[2]
    dtype = None
    if isinstance(storage_type, _Name):
        dtype = _STORAGE_DTYPES.get(storage_type.dotted.rsplit(".", 1)[-1])
    shape = args[2] if len(args) > 2 and isinstance(args[2], tuple) else None
    if shape is not None and not all(isinstance(s, int) for s in shape):
        shape = None
    found[str(key)] = (dtype, shape)
