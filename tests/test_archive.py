"""inspect_archive: what is inside a .pt, read without running it, and safe on files from strangers."""

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
    with pytest.raises(jitviz.NotTorchScriptFileError, match="torch.save file is opened with torch.load"):
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
    for read in (jitviz.inspect_archive, jitviz.show):
        with pytest.raises(jitviz.NotTorchScriptFileError, match="not a regular file"):
            read(tmp_path / "fifo")
