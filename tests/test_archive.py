"""inspect_archive: what is inside a .pt, read without running it, and safe on files from strangers."""

import re
import xml.etree.ElementTree
import zipfile
import zlib

import pytest
import torch

import jitviz
from jitviz.extract import zipcheck

from . import seed_functions as seed
from . import zipforge


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "tiny.pt"
    torch.jit.save(torch.jit.script(seed.TinyNet()), str(path), _extra_files={"vocab.txt": "a b c"})
    return path


def _copy_with(src, dst, extra_members=(), skip=()):
    """A copy of archive `src` with members added (name, bytes) or left out."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if not any(part in info.filename for part in skip):
                new.writestr(info.filename, old.read(info.filename))
        for name, data in extra_members:
            new.writestr(name, data)
    return dst


def test_reports_code_tensors_with_shapes_version_and_extra_files(saved):
    report = jitviz.inspect_archive(saved)
    assert report.version and report.version.isdigit()
    assert report.byteorder == "little"
    assert any("class TinyNet" in text for text in report.code.values())
    shapes = sorted((t.dtype, t.shape) for t in report.tensors)
    assert shapes == sorted([("float32", (8, 4)), ("float32", (8,)), ("float32", (2, 8)), ("float32", (2,))])
    assert report.tensor_bytes == 4 * (32 + 8 + 16 + 2)
    assert report.extra == {"vocab.txt": 5}
    assert report.notes == []
    assert "data/0: float32 8x4" in repr(report)
    assert "<table>" in report._repr_html_()


def test_never_unpickles_or_runs_anything(saved, monkeypatch):
    import pickle

    def refuse(*args, **kwargs):
        raise AssertionError("inspect_archive must not unpickle")

    for name in ("loads", "load", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(torch.jit, "load", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    assert jitviz.inspect_archive(saved).tensors


def test_not_a_zip_and_truncated_zip(tmp_path, saved):
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(jitviz.NotTorchScriptFileError, match="not a zip archive"):
        jitviz.inspect_archive(text)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    with pytest.raises(jitviz.NotTorchScriptFileError, match="not a zip archive \\(or is truncated\\)"):
        jitviz.inspect_archive(truncated)
    with pytest.raises(jitviz.NotTorchScriptFileError, match="No file"):
        jitviz.inspect_archive(tmp_path / "missing.pt")


def test_a_state_dict_file_is_not_torchscript(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(seed.TinyNet().state_dict(), path)
    with pytest.raises(jitviz.NotTorchScriptFileError, match="without a code/ folder, so it is not TorchScript "
                       "\\(a torch.save file is opened with torch.load\\).$"):
        jitviz.inspect_archive(path)


def test_names_that_would_escape_a_folder_are_flagged_and_nothing_is_extracted(tmp_path, saved):
    evil = _copy_with(saved, tmp_path / "evil.pt",
                      [("../../outside.txt", b"x"), ("/etc/passwd_copy", b"y"), ("tiny/..\\win.txt", b"z")])
    before = set(tmp_path.iterdir())
    report = jitviz.inspect_archive(evil)
    assert set(tmp_path.iterdir()) == before
    assert not (tmp_path.parent / "outside.txt").exists()
    flagged = [e.name for e in report.entries if e.kind == "unsafe name"]
    assert set(flagged) == {"../../outside.txt", "/etc/passwd_copy", "tiny/..\\win.txt"}
    assert any("3 entries have a name that would escape a folder" in note for note in report.notes)


def test_an_entry_that_claims_to_be_huge_is_not_read(tmp_path, saved, monkeypatch):
    monkeypatch.setattr(zipcheck, "MAX_MEMBER_BYTES", 1000)
    big = _copy_with(saved, tmp_path / "big.pt", [("tiny/code/__torch__/big.py", b"# " + b"x" * 5000)])
    report = jitviz.inspect_archive(big)
    assert "code/__torch__/big.py" not in report.code
    assert any("claims 5002 bytes; not read" in note for note in report.notes)


def test_an_entry_that_expands_past_what_it_claims_is_cut_off(tmp_path, saved, monkeypatch):
    monkeypatch.setattr(zipcheck, "MAX_MEMBER_BYTES", 1000)
    members = zipforge.members_of(saved) + [
        zipforge.Member("tiny/code/__torch__/bomb.py", b"0" * 200_000, zipfile.ZIP_DEFLATED, claimed_size=10)]
    bomb = zipforge.write(tmp_path / "bomb.pt", members)
    assert bomb.stat().st_size < 5000  # 200 kB inflated from a few hundred bytes
    report = jitviz.inspect_archive(bomb)
    assert "code/__torch__/bomb.py" not in report.code
    assert any("bomb.py' expands past 1000 bytes (it claims 10)" in note for note in report.notes)


def test_an_entry_whose_size_or_crc_lies_is_not_shown_cut_short(tmp_path, saved):
    real = b"class Lies(Module):\n  pass\n"
    members = zipforge.members_of(saved) + [
        zipforge.Member("tiny/code/__torch__/short.py", real, zipfile.ZIP_DEFLATED, claimed_size=10),
        zipforge.Member("tiny/code/__torch__/long.py", real, zipfile.ZIP_STORED, claimed_size=len(real) + 5),
        zipforge.Member("tiny/code/__torch__/edited.py", real, zipfile.ZIP_DEFLATED, crc=zlib.crc32(b"other")),
    ]
    report = jitviz.inspect_archive(zipforge.write(tmp_path / "lies.pt", members))
    assert not {"code/__torch__/short.py", "code/__torch__/long.py", "code/__torch__/edited.py"} & set(report.code)
    notes = " ".join(report.notes)
    assert f"short.py' holds {len(real)} bytes but claims 10" in notes
    assert f"long.py' holds {len(real)} bytes but claims {len(real) + 5}" in notes
    assert "edited.py' fails its CRC check" in notes


def test_the_total_budget_is_spent_across_members(tmp_path, saved, monkeypatch):
    monkeypatch.setattr(zipcheck, "MAX_TOTAL_BYTES", 2500)
    members = [zipforge.Member(f"tiny/code/__torch__/f{i}.py", b"#" * 1000) for i in range(5)]
    archive = zipforge.write(tmp_path / "five.pt", zipforge.members_of(saved)[:1] + members)
    report = jitviz.inspect_archive(archive)
    assert sorted(report.code) == ["code/__torch__/f0.py", "code/__torch__/f1.py"]
    assert any("f2.py' claims 1000 bytes; not read (limit 500)" in note for note in report.notes)


def test_thousands_of_entries_give_a_bounded_truthful_report(tmp_path, saved):
    many = _copy_with(saved, tmp_path / "many.pt", [(f"tiny/extra/f{i}", b"") for i in range(3000)])
    report = jitviz.inspect_archive(many)
    assert len(report.entries) == jitviz.archive.MAX_LISTED
    assert report.entry_count == 3000 + len(zipfile.ZipFile(saved).infolist())
    assert any(f"{report.entry_count - jitviz.archive.MAX_LISTED} more entries" in n for n in report.notes)


def test_too_many_entries_is_refused_before_the_directory_is_parsed(tmp_path, saved, monkeypatch):
    many = _copy_with(saved, tmp_path / "many.pt", [(f"tiny/extra/f{i}", b"") for i in range(200)])
    monkeypatch.setattr(zipcheck, "MAX_ENTRIES", 100)

    def parse(*args, **kwargs):
        raise AssertionError("the central directory was parsed before its entry count was checked")

    monkeypatch.setattr(zipcheck.zipfile, "ZipFile", parse)
    for read in (jitviz.inspect_archive, jitviz.show):
        with pytest.raises(jitviz.NotTorchScriptFileError, match="has 2.. entries, more than the 100 jitviz"):
            read(many)


def test_a_huge_central_directory_is_refused_before_it_is_parsed(tmp_path, saved, monkeypatch):
    many = _copy_with(saved, tmp_path / "many.pt", [(f"tiny/extra/f{i}", b"") for i in range(200)])
    monkeypatch.setattr(zipcheck, "MAX_DIRECTORY_BYTES", 4000)
    monkeypatch.setattr(zipcheck.zipfile, "ZipFile", None)  # calling it would fail with a TypeError
    with pytest.raises(jitviz.NotTorchScriptFileError, match="-byte list of entries, more than the 4000"):
        jitviz.inspect_archive(many)


def test_unreadable_data_pkl_is_said_not_guessed(tmp_path, saved):
    payload = b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03."
    odd = _copy_with(saved, tmp_path / "odd.pt", [("tiny/data.pkl", payload)],
                     skip=["data.pkl"])
    report = jitviz.inspect_archive(odd)
    assert all(t.shape is None and t.dtype is None for t in report.tensors)
    assert len(report.tensors) == 4


def test_what_is_not_a_path_to_a_file_is_refused_plainly(tmp_path):
    import os

    for wrong in (None, b"tiny.pt", 3):
        with pytest.raises(TypeError, match="inspect_archive\\(path\\): path must be a str or os.PathLike"):
            jitviz.inspect_archive(wrong)
    with pytest.raises(jitviz.NotTorchScriptFileError, match="No file at .* \\(a folder\\)"):
        jitviz.inspect_archive(tmp_path)
    os.mkfifo(tmp_path / "fifo")  # opening a FIFO to read it would block forever
    with pytest.raises(jitviz.NotTorchScriptFileError) as caught:
        jitviz.inspect_archive(tmp_path / "fifo")
    assert str(caught.value) == f"No file at {str(tmp_path / 'fifo')!r} (not a regular file)."
    for read in (jitviz.inspect_archive, jitviz.show):
        with pytest.raises(jitviz.NotTorchScriptFileError, match="not a regular file"):
            read(tmp_path / "fifo")


# --- what the report shows, read as a user reads it ----------------------------------------------

_CONTAINERS = {"root", "div", "table", "tr", "ul"}


def _page(report):
    """The HTML report parsed; every container holds elements only (no stray text between rows or cells)."""
    root = xml.etree.ElementTree.fromstring(f"<root>{report._repr_html_()}</root>")
    for element in root.iter():
        if element.tag in _CONTAINERS:
            assert not (element.text or "").strip(), f"text inside <{element.tag}>: {element.text!r}"
            for child in element:
                assert not (child.tail or "").strip(), f"text after <{child.tag}>: {child.tail!r}"
    return root


def _table(root, index):
    """The rows of the page's ``index``-th table (header left out) as (text, right-aligned) cells."""
    rows = root.findall(".//table")[index].findall("tr")[1:]
    return [[("".join(cell.itertext()), "right" in cell.get("style", "")) for cell in row] for row in rows]


def _cut(root):
    """What the page says it left out, as its items ('14 entries', ...); [] when it says nothing."""
    text = " ".join("".join(p.itertext()) for p in root.iter("p"))
    found = re.search(r"Not shown, to keep this report small: (.*)\. The fields of this report hold everything read\.",
                      text)
    # "1 tensor" and "1 tensors" both pass: the count is what is pinned here, not the grammar
    return [re.sub(r"^1 (.*?)s?$", r"1 \1", item) for item in found.group(1).split("; ")] if found else []


def _kind(name):
    local = name.split("/", 1)[1]
    for prefix, kind in (("extra/", "extra file"), ("data/", "tensor data")):
        if local.startswith(prefix):
            return kind
    if local.startswith("code/"):
        return "debug info" if local.endswith(".debug_pkl") else "code"
    return "pickle" if local.endswith(".pkl") else "metadata"


def test_the_report_shows_every_entry_and_tensor_as_saved(saved):
    report = jitviz.inspect_archive(saved)
    with zipfile.ZipFile(saved) as archive:
        infos = archive.infolist()
    assert report.path == str(saved)
    assert [(e.name, e.size, e.compressed_size, e.kind) for e in report.entries] == [
        (i.filename, i.file_size, i.compress_size, _kind(i.filename)) for i in infos]
    assert report.constants_bytes == next(i.file_size for i in infos if i.filename.endswith("constants.pkl"))
    lines = repr(report).splitlines()
    assert lines[0] == (f"<jitviz archive tiny.pt: {len(infos)} entries, format version {report.version}, "
                        f"{len(report.code)} code files, 4 tensors ({report.tensor_bytes} bytes)>")
    assert "  data/0: float32 8x4, 128 bytes" in lines[1:]
    root = _page(report)
    heading = "".join(root.find("div/p").itertext())
    assert heading == f"tiny.pt: format version {report.version}, byte order little, {len(infos)} entries"
    assert _table(root, 0) == [[(i.filename, False), (_kind(i.filename), False), (str(i.file_size), True)]
                               for i in infos]
    assert [[text for text, _ in row] for row in _table(root, 1)] == [
        ["data/0", "float32", "8, 4", "128"], ["data/1", "float32", "8", "32"],
        ["data/2", "float32", "2, 8", "64"], ["data/3", "float32", "2", "8"]]
    assert _cut(root) == [] and "Not shown" not in report._repr_html_()
    assert root.find(".//ul") is None  # no notes, no list


def test_notes_are_listed_one_an_item(tmp_path, saved):
    report = jitviz.inspect_archive(_copy_with(saved, tmp_path / "odd.pt", [("../x", b"")]))
    assert report.notes[0].startswith("besides the folder 'tiny' (the first entry's, the only one torch.jit.load")
    assert report.notes[1:] == [
        "entries outside the folder torch reads are listed but not shown",
        "1 entry has a name that would escape a folder if extracted (for example '../x'); "
        "nothing is extracted here, but do not unzip this file."]
    items = _page(report).findall(".//ul/li")
    assert ["".join(item.itertext()) for item in items] == report.notes


def test_a_report_too_long_to_show_says_what_it_leaves_out(saved, monkeypatch):
    monkeypatch.setattr(jitviz.archive, "MAX_HTML_ROWS", 2)
    report = jitviz.inspect_archive(saved)
    root = _page(report)
    assert len(_table(root, 0)) == 2 and len(_table(root, 1)) == 2
    assert _cut(root) == [f"{report.entry_count - 2} entries", "2 tensors", "1 code file"]
    assert "\n  ... and 2 more tensors\n" in repr(report)
    assert sum(line.startswith("  data/") for line in repr(report).splitlines()) == 2


@pytest.mark.parametrize("rows, cut", [(3, ["1 tensor"]), (4, [])])
def test_a_report_that_just_fits_cuts_nothing_and_one_row_more_is_said(saved, monkeypatch, rows, cut):
    monkeypatch.setattr(jitviz.archive, "MAX_HTML_ROWS", rows)
    report = jitviz.inspect_archive(saved)  # 4 tensors
    assert [item for item in _cut(_page(report)) if "tensor" in item] == cut
    assert ("more tensors" in repr(report)) == bool(cut)


@pytest.mark.parametrize("chars, rows, shown, cut", [
    (25, 10, ["a" * 10, "b" * 10, "c" * 5], ["the last 5 characters of code/c.py"]),
    (21, 10, ["a" * 10, "b" * 10, "c"], ["the last 9 characters of code/c.py"]),
    (20, 10, ["a" * 10, "b" * 10], ["1 code file"]),  # the budget spent exactly: c.py not begun
    (100, 2, ["a" * 10, "b" * 10], ["1 code file"]),  # one file more than the rows shown
])
def test_the_code_shown_is_cut_to_its_budget_and_says_so(tmp_path, saved, monkeypatch, chars, rows, shown, cut):
    monkeypatch.setattr(jitviz.archive, "MAX_CODE_CHARS", chars)
    monkeypatch.setattr(jitviz.archive, "MAX_HTML_ROWS", rows)
    code = [zipforge.Member(f"tiny/code/{name}.py", name.encode() * 10) for name in "abc"]
    report = jitviz.inspect_archive(zipforge.write(tmp_path / "abc.pt", zipforge.members_of(saved)[:1] + code))
    assert report.code == {f"code/{name}.py": name * 10 for name in "abc"}  # the fields hold it all
    root = _page(report)
    assert ["".join(d.find("summary").itertext()) for d in root.iter("details")] == [
        f"code/{name}.py" for name in "abc"[:len(shown)]]
    assert [d.find("pre").text for d in root.iter("details")] == shown
    assert [item for item in _cut(root) if "entries" not in item] == cut


def test_exactly_the_listed_number_of_entries_is_not_said_to_be_cut(saved, monkeypatch):
    count = len(zipfile.ZipFile(saved).infolist())
    monkeypatch.setattr(jitviz.archive, "MAX_LISTED", count)
    report = jitviz.inspect_archive(saved)
    assert len(report.entries) == count and report.notes == []


def test_notes_are_bounded_in_number_and_length(tmp_path, saved):
    long_name = "tiny/code/" + "n" * 1000 + ".py"
    unreadable = [zipforge.Member(long_name, b"x", method=14)] + [
        zipforge.Member(f"tiny/code/f{i}.py", b"x", method=14) for i in range(70)]  # lzma: not read
    report = jitviz.inspect_archive(zipforge.write(tmp_path / "noisy.pt", zipforge.members_of(saved) + unreadable))
    assert len(report.notes) == jitviz.archive.MAX_NOTES + 1
    assert report.notes[-1] == "further notes are left out"
    assert report.notes[0].startswith(repr(long_name)[:100]) and len(report.notes[0]) == 500
    assert all(len(note) <= 500 for note in report.notes)


def test_code_that_is_not_utf8_is_shown_with_replacement_characters(tmp_path, saved):
    odd = zipforge.Member("tiny/code/odd.py", b"# caf\xe9\n")
    report = jitviz.inspect_archive(zipforge.write(tmp_path / "odd.pt", zipforge.members_of(saved) + [odd]))
    assert report.code["code/odd.py"] == "# caf\ufffd\n"


def test_a_long_version_record_is_cut_to_100_characters(tmp_path, saved):
    members = [m for m in zipforge.members_of(saved) if not str(m.name).endswith("/version")]
    report = jitviz.inspect_archive(zipforge.write(tmp_path / "v.pt", members + [zipforge.Member("tiny/version",
                                                                                                 b"7" * 300)]))
    assert report.version == "7" * 100


def test_tensors_without_a_data_pkl_are_listed_with_what_is_unknown_said(tmp_path, saved):
    members = [m for m in zipforge.members_of(saved) if not str(m.name).endswith("/data.pkl")]
    report = jitviz.inspect_archive(zipforge.write(tmp_path / "nopkl.pt", members))
    assert [(t.folder, t.key, t.bytes, t.dtype, t.shape) for t in report.tensors] == [
        ("data", "0", 128, None, None), ("data", "1", 32, None, None),
        ("data", "2", 64, None, None), ("data", "3", 8, None, None)]
    assert report.notes == ["data.pkl is missing or unreadable: tensor shapes and dtypes are unknown."]
    assert "  data/0: ? ?, 128 bytes" in repr(report).splitlines()
    assert [text for text, _ in _table(_page(report), 1)[0]] == ["data/0", "?", "?", "128"]


def test_any_path_like_is_read_and_anything_else_is_named_in_the_error(saved):
    class Where:
        def __fspath__(self):
            return str(saved)

    for path in (str(saved), Where()):
        assert jitviz.inspect_archive(path).path == str(saved)
    for wrong, name in ((3, "int"), (b"tiny.pt", "bytes"), (None, "NoneType")):
        with pytest.raises(TypeError, match=f"must be a str or os.PathLike, not {name}$"):
            jitviz.inspect_archive(wrong)


def test_a_missing_file_is_named_in_the_error(tmp_path):
    missing = tmp_path / "missing.pt"
    with pytest.raises(jitviz.NotTorchScriptFileError, match=re.escape(f"No file at {str(missing)!r} (no such file).")):
        jitviz.inspect_archive(missing)


def test_a_scalar_and_a_constant_without_a_spec_are_shown_as_such(tmp_path, saved):
    scalar = zipforge.tensor_pickle(zipforge.unicode("0"), b")", stride=b")")
    members = [m for m in zipforge.members_of(saved) if "/data" not in str(m.name)] + [
        zipforge.Member("tiny/data.pkl", scalar), zipforge.Member("tiny/data/0", b"\0" * 4),
        zipforge.Member("tiny/constants/0", b"\0" * 8)]  # constants.pkl does not mention it
    report = jitviz.inspect_archive(zipforge.write(tmp_path / "scalar.pt", members))
    assert [(t.folder, t.key, t.bytes, t.dtype, t.shape) for t in report.tensors] == [
        ("data", "0", 4, "float32", ()), ("constants", "0", 8, None, None)]
    assert "  data/0: float32 scalar, 4 bytes" in repr(report).splitlines()
    assert "  constants/0: ? ?, 8 bytes" in repr(report).splitlines()
    assert [text for text, _ in _table(_page(report), 1)[0]] == ["data/0", "float32", "scalar", "4"]


def test_counts_of_one_read_in_the_singular(tmp_path):
    class _OneWeight(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(1))

        def forward(self, x):
            return x * self.w

    path = tmp_path / "one.pt"
    torch.jit.save(torch.jit.script(_OneWeight()), str(path))
    head = repr(jitviz.inspect_archive(path)).splitlines()[0]
    assert ", 1 code file, 1 tensor (4 bytes)>" in head
