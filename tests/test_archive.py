"""inspect_archive: what is inside a .pt, read without running it, and safe on files from strangers."""

import zipfile

import pytest
import torch

import jitviz
from jitviz import archive as archive_module

from . import seed_functions as seed


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
    monkeypatch.setattr(archive_module, "MAX_MEMBER_BYTES", 1000)
    big = _copy_with(saved, tmp_path / "big.pt", [("tiny/code/__torch__/big.py", b"# " + b"x" * 5000)])
    report = jitviz.inspect_archive(big)
    assert "code/__torch__/big.py" not in report.code
    assert any("claims 5002 bytes; not read" in note for note in report.notes)


def test_an_entry_that_expands_past_what_it_claims_is_cut_off(tmp_path, saved, monkeypatch):
    monkeypatch.setattr(archive_module, "MAX_MEMBER_BYTES", 1000)
    bomb = _copy_with(saved, tmp_path / "bomb.pt", [("tiny/code/__torch__/bomb.py", b"0" * 200_000)])
    # rewrite the central directory so the member claims to be tiny while it inflates to 200 kB
    data = bytearray(bomb.read_bytes())
    with zipfile.ZipFile(bomb) as z:
        info = z.getinfo("tiny/code/__torch__/bomb.py")
    central = data.rfind(b"PK\x01\x02", 0, data.rfind(b"tiny/code/__torch__/bomb.py") + 1)
    data[central + 24:central + 28] = (10).to_bytes(4, "little")  # uncompressed size: 10
    bomb.write_bytes(bytes(data))
    report = jitviz.inspect_archive(bomb)
    assert info.compress_size < 1000
    assert "code/__torch__/bomb.py" not in report.code
    assert any("bomb.py" in note and ("expands past" in note or "could not be read" in note)
               for note in report.notes)


def test_thousands_of_entries_give_a_bounded_truthful_report(tmp_path, saved):
    many = _copy_with(saved, tmp_path / "many.pt", [(f"tiny/extra/f{i}", b"") for i in range(3000)])
    report = jitviz.inspect_archive(many)
    assert len(report.entries) == jitviz.archive.MAX_LISTED
    assert report.entry_count == 3000 + len(zipfile.ZipFile(saved).infolist())
    assert any(f"{report.entry_count - jitviz.archive.MAX_LISTED} more entries" in n for n in report.notes)


def test_too_many_entries_is_an_error(tmp_path, saved, monkeypatch):
    monkeypatch.setattr(archive_module, "MAX_ENTRIES", 100)
    many = _copy_with(saved, tmp_path / "many.pt", [(f"tiny/extra/f{i}", b"") for i in range(200)])
    with pytest.raises(jitviz.JitvizError, match="more than the 100 jitviz inspects"):
        jitviz.inspect_archive(many)


def test_unreadable_data_pkl_is_said_not_guessed(tmp_path, saved):
    odd = _copy_with(saved, tmp_path / "odd.pt", [("tiny/data.pkl", b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.")],
                     skip=["data.pkl"])
    report = jitviz.inspect_archive(odd)
    assert all(t.shape is None and t.dtype is None for t in report.tensors)
    assert len(report.tensors) == 4
