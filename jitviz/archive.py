"""Look inside a saved TorchScript ``.pt`` without loading it, unpickling it or running any of it.

    report = jitviz.inspect_archive("model.pt")   # shows as tables in a notebook cell
    report.tensors[0].shape                        # (8, 4), read from data.pkl without unpickling

Safe on files from strangers: nothing is extracted to disk, nothing is executed, and memory stays
bounded. The archive is read as ``torch.jit.load`` reads it (the first entry's folder, names
compared with case ignored); a file that different readers would read differently (two entries
of one name, several top-level folders) is said to be ambiguous in a note. The bounds live in
:mod:`jitviz.extract.zipcheck`: at most ``MAX_ENTRIES`` entries, checked before the directory is
parsed; each member read up to ``MAX_MEMBER_BYTES`` however large it claims or turns out to be,
at most ``MAX_TOTAL_BYTES`` in all; ``data.pkl`` and ``constants.pkl`` walked opcode by opcode,
not unpickled, with limits on depth and on the size of anything built. At most ``MAX_LISTED``
entries are listed and the HTML report is capped (``MAX_HTML_ROWS`` rows a table,
``MAX_CODE_CHARS`` of code), saying what was cut.
"""

from __future__ import annotations

import html
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import NotTorchScriptFileError
from .extract import zipcheck
from .extract.zipcheck import (
    MAX_ENTRIES,
    MAX_MEMBER_BYTES,
    MAX_TOTAL_BYTES,
    BigInt,
    SafeZip,
    TensorSpec,
    UnreadableError,
    unsafe_name,
)
from .text import plural, visible

__all__ = ["inspect_archive", "ArchiveReport", "Entry", "StoredTensor",
           "MAX_ENTRIES", "MAX_LISTED", "MAX_MEMBER_BYTES", "MAX_TOTAL_BYTES", "MAX_HTML_ROWS", "MAX_NAME_CHARS",
           "MAX_CODE_CHARS"]

MAX_LISTED = 500
MAX_HTML_ROWS = 200  # rows of each table in the HTML report
MAX_CODE_CHARS = 200_000  # characters of code in the HTML report, all files together
MAX_NOTES = 50
_MAX_DIMS = 64  # more is no real tensor, and multiplying thousands of sizes would take long

_ITEM_BYTES = {"float64": 8, "int64": 8, "complex128": 16, "complex64": 8, "float32": 4, "int32": 4,
               "float16": 2, "bfloat16": 2, "int16": 2, "int8": 1, "uint8": 1, "bool": 1}
# A name is shown up to this many characters (a crafted file can name 120 entries with 65,000
# characters each): the report stays bounded in bytes, not only in rows.
MAX_NAME_CHARS = 300


@dataclass(frozen=True)
class Entry:
    """One member of the archive: its name, sizes, and what it is (``code``, ``tensor``, ...)."""

    name: str
    size: int
    compressed_size: int
    kind: str


@dataclass(frozen=True)
class StoredTensor:
    """A tensor's storage under ``data/`` (or ``constants/`` in a frozen model), with its dtype and
    shape when the pickle says them (``shape`` is None when it is absent or absurd: see the notes)."""

    key: str
    bytes: int
    dtype: str | None = None
    shape: tuple[int, ...] | None = None
    folder: str = "data"


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
            f"<jitviz archive {_visible(Path(self.path).name)}: {plural(self.entry_count, 'entry', 'entries')}, "
            f"format version {_visible(str(self.version))}, {plural(len(self.code), 'code file')}, "
            f"{plural(len(self.tensors), 'tensor')} ({plural(self.tensor_bytes, 'byte')})>"
        ]
        for tensor in self.tensors[:MAX_HTML_ROWS]:
            lines.append(f"  {tensor.folder}/{_visible(tensor.key)}: {tensor.dtype or '?'} "
                         f"{_shape_text(tensor.shape, 'x')}, {tensor.bytes} bytes")
        if len(self.tensors) > MAX_HTML_ROWS:
            lines.append(f"  ... and {len(self.tensors) - MAX_HTML_ROWS} more tensors")
        lines += [f"  extra/{_visible(name)}: {size} bytes" for name, size in list(self.extra.items())[:MAX_HTML_ROWS]]
        lines += [f"  note: {_visible(note)}" for note in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        cut: list[str] = []
        rows = _rows(
            [(f"<code>{_e(entry.name)}</code>", _e(entry.kind), str(entry.size)) for entry in self.entries],
            "entries", cut, hidden=self.entry_count - len(self.entries),
        )
        tensors = _rows(
            [(f"{t.folder}/{_e(t.key)}", _e(t.dtype or "?"), _e(_shape_text(t.shape, ", ")), str(t.bytes))
             for t in self.tensors],
            "tensors", cut,
        )
        code, code_cut = _code_html(self.code)
        cut += code_cut
        notes = "".join(f"<li>{_e(note)}</li>" for note in self.notes)
        cut_note = (f"<p><i>Not shown, to keep this report small: {_e('; '.join(cut))}. "
                    "The fields of this report hold everything read.</i></p>") if cut else ""
        return (
            f"<div><p><b>{_e(Path(self.path).name)}</b>: format version {_e(str(self.version))}, "
            f"byte order {_e(str(self.byteorder))}, {self.entry_count} entries</p>"
            f"<table><tr><th>entry</th><th>kind</th><th>bytes</th></tr>{rows}</table>"
            f"<p>Tensors ({self.tensor_bytes} bytes):</p>"
            f"<table><tr><th>storage</th><th>dtype</th><th>shape</th><th>bytes</th></tr>{tensors}</table>"
            f"<p>TorchScript code:</p>{code}"
            + (f"<ul>{notes}</ul>" if notes else "")
            + cut_note
            + "</div>"
        )


def _e(text: str) -> str:
    return html.escape(_visible(text))


def _visible(text: str) -> str:
    """A name as text that cannot act on the screen or hide (:func:`jitviz.text.visible`), cut at
    :data:`MAX_NAME_CHARS` characters with the length said."""
    if len(text) > MAX_NAME_CHARS:
        text = f"{text[:MAX_NAME_CHARS]}… ({len(text):,} characters)"
    return visible(text)


def _shape_text(shape: tuple[int, ...] | None, joiner: str) -> str:
    if shape is None:
        return "?"
    return joiner.join(map(str, shape)) or "scalar"


def _rows(cells: list[tuple[str, ...]], what: str, cut: list[str], hidden: int = 0) -> str:
    shown = cells[:MAX_HTML_ROWS]
    more = len(cells) - len(shown) + hidden
    if more > 0:
        cut.append(f"{more} {what}")
    return "".join("<tr>" + "".join(_cell(cell) for cell in row) + "</tr>" for row in shown)


def _cell(text: str) -> str:
    return f"<td style='text-align:right'>{text}</td>" if text.isdigit() else f"<td>{text}</td>"


def _code_html(code: dict[str, str]) -> tuple[str, list[str]]:
    parts, cut, left = [], [], MAX_CODE_CHARS
    for index, (name, text) in enumerate(code.items()):
        if index >= MAX_HTML_ROWS or left <= 0:
            cut.append(f"{len(code) - index} code files")
            break
        shown = text[:left]
        if len(shown) < len(text):
            cut.append(f"the last {len(text) - len(shown)} characters of {name}")
        left -= len(shown)
        parts.append(f"<details><summary><code>{_e(name)}</code></summary><pre>{_e(shown)}</pre></details>")
    return "".join(parts), cut


def inspect_archive(path: str | Path) -> ArchiveReport:
    """What is inside a saved TorchScript file, read without running it: ``inspect_archive("m.pt")``."""
    if isinstance(path, bytes) or not isinstance(path, (str, Path)) and not hasattr(path, "__fspath__"):
        raise TypeError(f"inspect_archive(path): path must be a str or os.PathLike, not {type(path).__name__}")
    path = Path(path)
    if not path.is_file():
        what = "a folder" if path.is_dir() else "not a regular file" if path.exists() else "no such file"
        raise NotTorchScriptFileError(f"No file at {str(path)!r} ({what}).")
    with SafeZip(path) as archive:
        return _Reader(path, archive).report()


class _Reader:
    def __init__(self, path: Path, archive: SafeZip) -> None:
        self.path = path
        self.archive = archive
        self.notes: list[str] = archive.ambiguities()
        if archive.duplicates():
            self.notes.append("entries of a repeated name are not shown: none of them is surely what torch reads")
        if archive.other_folders():
            self.notes.append("entries outside the folder torch reads are listed but not shown")

    def _note(self, text: str) -> None:
        if len(self.notes) < MAX_NOTES:
            self.notes.append(text[:500])
        elif len(self.notes) == MAX_NOTES:
            self.notes.append("further notes are left out")

    def report(self) -> ArchiveReport:
        infos = self.archive.infos
        unsafe = [info.filename for info in infos if unsafe_name(info.filename)]
        if unsafe:
            self._note(
                f"{len(unsafe)} entr{'y has' if len(unsafe) == 1 else 'ies have'} a name that would "
                f"escape a folder if extracted (for example {unsafe[0]!r}); nothing is extracted here, "
                "but do not unzip this file."
            )
        mine = [(info, local) for info in infos if (local := self.archive.local(info)) is not None]
        if not any(local.startswith("code/") for _, local in mine):
            raise NotTorchScriptFileError(
                f"{self.path.name!r} is a zip archive without a code/ folder, so it is not TorchScript"
                + (": it looks like a torch.export .pt2, which inspect_archive does not read yet."
                   if zipcheck.is_export_layout([local for _, local in mine])
                   else " (a torch.save file is opened with torch.load).")
            )
        entries = [Entry(info.filename, info.file_size, info.compress_size, self._kind(info))
                   for info in infos[:MAX_LISTED]]
        if len(infos) > MAX_LISTED:
            self._note(f"{len(infos) - MAX_LISTED} more entries are counted but not listed.")
        code = {local: text for info, local in mine
                if local.startswith("code/") and local.endswith(".py")
                and (text := self._text(info, local)) is not None}
        tensors = self._tensors(mine, "data") + self._tensors(mine, "constants")
        constants = self.archive.find("constants.pkl")
        extra = {local.removeprefix("extra/"): info.file_size for info, local in mine if local.startswith("extra/")}
        version = self._small(".data/version") or self._small("version")  # torch's order
        return ArchiveReport(
            str(self.path), len(infos), entries, version, self._small("byteorder"), code, tensors,
            constants.file_size if constants is not None else None, extra, self.notes,
        )

    def _kind(self, info: zipfile.ZipInfo) -> str:
        local = self.archive.local(info)
        if unsafe_name(info.filename):
            return "unsafe name"
        if local is None:
            return "outside the folder torch reads"
        if local.startswith("code/"):
            return "debug info" if local.endswith(".debug_pkl") else "code"
        if local.startswith("data/"):
            return "tensor data"
        if local.startswith("constants/"):
            return "constant tensor data"
        if local.startswith("extra/"):
            return "extra file"
        if local.endswith(".pkl"):
            return "pickle"
        return "metadata"

    def _read(self, info: zipfile.ZipInfo, local: str) -> bytes | None:
        if self.archive.find(local) is not info:
            return None  # one of several entries of this name: the ambiguity note says so
        try:
            return self.archive.read(info)
        except UnreadableError as reason:
            self._note(f"{info.filename!r} {reason}.")
            return None

    def _text(self, info: zipfile.ZipInfo, local: str) -> str | None:
        data = self._read(info, local)
        return None if data is None else data.decode(errors="replace")  # UTF-8

    def _small(self, local: str) -> str | None:
        info = self.archive.find(local)
        text = self._text(info, local) if info is not None else None
        return text.strip()[:100] if text is not None else None

    def _tensors(self, mine: list[tuple[zipfile.ZipInfo, str]], folder: str) -> list[StoredTensor]:
        stored = [(info, local.removeprefix(f"{folder}/")) for info, local in mine
                  if local.startswith(f"{folder}/") and not info.is_dir()]
        if not stored:
            return []
        specs = self._specs(f"{folder}.pkl")
        return [self._tensor(key, info.file_size, specs.get(key), folder) for info, key in stored]

    def _specs(self, local: str) -> dict[str, TensorSpec]:
        info = self.archive.find(local)
        data = self._read(info, local) if info is not None else None
        if data is None:
            self._note(f"{local} is missing or unreadable: tensor shapes and dtypes are unknown.")
            return {}
        try:
            return zipcheck.walk_pickle(data)
        except UnreadableError as reason:
            self._note(f"tensor shapes and dtypes in {local} cannot be read without unpickling ({reason}).")
            return {}

    def _tensor(self, key: str, size: int, spec: TensorSpec | None, folder: str) -> StoredTensor:
        if spec is None:
            return StoredTensor(key, size, folder=folder)
        shape = self._checked_shape(f"{folder}/{key}", spec, size)
        return StoredTensor(key, size, spec.dtype, shape, folder)

    def _checked_shape(self, where: str, spec: TensorSpec, size: int) -> tuple[int, ...] | None:
        """The shape if it is one torch could build over ``size`` bytes; otherwise None and a note."""
        shape = spec.shape
        if shape is None:
            return None
        if len(shape) > _MAX_DIMS:
            self._note(f"{where} has an impossible shape: {len(shape)} dimensions; shown as '?'.")
            return None
        if not all(type(s) is int and s >= 0 for s in shape):
            odd = next(s for s in shape if not (type(s) is int and s >= 0))
            self._note(f"{where} has an impossible shape: a size of {_describe(odd)}; shown as '?'.")
            return None
        needed = _bytes_needed(spec, shape)
        if needed is not None and needed > size:
            self._note(f"{where} claims shape {_shape_text(shape, 'x')}, which needs {needed} bytes, "
                       f"but its storage holds {size}: torch.jit.load would refuse it.")
        return shape


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"{value} (a bool)"
    if isinstance(value, BigInt):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"a {type(value).__name__}"


def _bytes_needed(spec: TensorSpec, shape: tuple[int, ...]) -> int | None:
    """Bytes the storage must hold for this view (offset and strides counted), None if not known."""
    item = _ITEM_BYTES.get(spec.dtype or "")
    stride = spec.stride
    if item is None or not isinstance(spec.offset, int) or isinstance(spec.offset, bool):
        return None
    if 0 in shape:
        return 0
    if stride is None or len(stride) != len(shape) or not all(type(s) is int and s >= 0 for s in stride):
        return (spec.offset + math.prod(shape)) * item
    return (spec.offset + sum((n - 1) * s for n, s in zip(shape, stride)) + 1) * item

