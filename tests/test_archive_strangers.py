"""Files from strangers: every odd archive ends in a truthful report or a NotTorchScriptFileError,
within seconds, and nothing torch would choke on (or read differently) is handed to torch.jit.load.

Every file is generated here, with :mod:`tests.zipforge`.
"""

import html
import pickle
import re
import struct
import time
import xml.etree.ElementTree
import zipfile

import pytest
import torch

import jitviz
from jitviz.extract import zipcheck

from . import zipforge
from .zipforge import PROTO2, STOP, Member, tensor_pickle, unicode


class AddOne(torch.nn.Module):
    def forward(self, x):
        return x + 1


class Frozen(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(3, 2)

    def forward(self, x):
        return torch.nn.functional.gelu(self.linear(x))


@pytest.fixture
def add_one(tmp_path):
    """The entries of a saved ``x + 1`` module (folder ``m``) and the code that says it."""
    members = zipforge.saved_module(tmp_path / "m.pt", AddOne())
    return members


@pytest.fixture
def no_torch_load(monkeypatch):
    """torch.jit.load fails the test if called: what is refused must be refused before torch sees it."""

    def refuse(*args, **kwargs):
        raise AssertionError("this file reached torch.jit.load")

    monkeypatch.setattr(torch.jit, "load", refuse)


def _code(members):
    """The entry holding AddOne's code (``m/code/__torch__/tests/test_archive_strangers.py``)."""
    return next(m for m in members if str(m.name).endswith(".py") and b"torch.add(x, 1)" in m.data)


def _local(members):
    return str(_code(members).name).split("/", 1)[1]


def _times_1000(members):
    member = _code(members)
    evil = member.data.replace(b"torch.add(x, 1)", b"torch.add(x, 1000)")
    assert evil != member.data
    return Member(member.name, evil, member.method)


# --- what torch reads ---------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["after", "before", "case"])
def test_two_entries_of_one_name_are_ambiguous_and_not_loaded(tmp_path, add_one, no_torch_load, where):
    evil = _times_1000(add_one)
    if where == "case":  # miniz compares names with case ignored: this IS code/__torch__.py to torch
        evil = Member(str(evil.name).replace("code", "CODE"), evil.data, evil.method)
    index = add_one.index(_code(add_one)) + (where != "before")
    path = zipforge.write(tmp_path / "dup.pt", add_one[:index] + [evil] + add_one[index:])
    report = jitviz.inspect_archive(path)
    assert _local(add_one) not in report.code  # neither copy is shown as what torch runs
    assert any("used by more than one entry" in note and "ambiguous" in note for note in report.notes)
    assert "entries of a repeated name are not shown: none of them is surely what torch reads" in report.notes
    assert "ambiguous" in report._repr_html_()
    with pytest.raises(jitviz.NotTorchScriptFileError, match="ambiguous"):
        jitviz.show(path)


def test_of_two_top_level_folders_the_first_entrys_is_shown_as_torch_reads_it(tmp_path, add_one, no_torch_load):
    evil = [Member("n/" + str(m.name).split("/", 1)[1], m.data, m.method) for m in add_one]
    evil[add_one.index(_code(add_one))] = Member("n/" + _local(add_one), _times_1000(add_one).data)
    for order, expected in (("evil first", b"1000"), ("evil last", b"x, 1)")):
        members = evil + add_one if order == "evil first" else add_one + evil
        path = zipforge.write(tmp_path / "two.pt", members)
        report = jitviz.inspect_archive(path)
        assert expected.decode() in report.code[_local(add_one)], order
        assert any("other top-level name" in note and "torch ignores" in note for note in report.notes)
        assert "entries outside the folder torch reads are listed but not shown" in report.notes
        outside = {e.kind for e in report.entries if e.name.split("/")[0] != ("n" if order == "evil first" else "m")}
        assert outside == {"outside the folder torch reads"}, order
        with pytest.raises(jitviz.NotTorchScriptFileError, match="other top-level name"):
            jitviz.show(path)


def test_a_folder_in_other_case_is_read_as_torch_reads_it(tmp_path, add_one):
    members = list(add_one)
    members[add_one.index(_code(add_one))] = Member(str(_code(add_one).name).upper(), _times_1000(add_one).data)
    path = zipforge.write(tmp_path / "case.pt", members)
    report = jitviz.inspect_archive(path)
    assert "torch.add(x, 1000)" in report.code[_local(add_one)]  # torch runs this one (measured)
    assert any("read by torch.jit.load as part of the folder 'm'" in note for note in report.notes)


def test_a_name_with_a_nul_is_not_taken_for_the_name_before_it(tmp_path, add_one):
    # zipfile cuts names at a NUL; torch (miniz) compares them whole and reads the real entry
    decoy = Member(str(_code(add_one).name) + "\x00", _times_1000(add_one).data)
    path = zipforge.write(tmp_path / "nul.pt", [decoy, *add_one])
    report = jitviz.inspect_archive(path)
    assert "torch.add(x, 1)" in report.code[_local(add_one)]
    assert "1000" not in "".join(report.code.values())
    assert torch.jit.load(str(path))(torch.zeros(1)).item() == 1  # what torch runs, measured


def test_data_put_before_the_archive_makes_it_ambiguous(tmp_path, add_one, no_torch_load):
    # zipfile shifts every entry by the 100 bytes; torch (miniz) reads where the directory says
    path = tmp_path / "shifted.pt"
    path.write_bytes(b"#" * 100 + zipforge.write(tmp_path / "m.pt", add_one).read_bytes())
    report = jitviz.inspect_archive(path)
    assert any("100 bytes away from where the archive's directory says" in note for note in report.notes)
    with pytest.raises(jitviz.NotTorchScriptFileError, match="100 bytes away"):
        jitviz.show(path)


# --- pickles that cost more than their bytes ----------------------------------------------------


def test_a_billion_laughs_storage_key_is_refused_in_seconds(tmp_path, add_one, no_torch_load):
    laughs = unicode("ha") + b"q\x00h\x00\x86" * 40  # remember t, recall it, (t, t): 2**40 strings
    data = tensor_pickle(laughs, b"(K\x01t")
    start = time.perf_counter()
    path = zipforge.write(tmp_path / "laughs.pt", zipforge.replaced(add_one, "data.pkl", data)
                          + [Member("m/data/0", b"\0" * 4)])
    report = jitviz.inspect_archive(path)
    assert any(f"more than {zipcheck.MAX_PICKLE_ITEMS} items" in note for note in report.notes)
    with pytest.raises(jitviz.NotTorchScriptFileError, match="items"):
        jitviz.show(path)
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("kind, depth", [("list", 400_000), ("tuple", 900_000), ("dict", 5_000)])
def test_deep_nesting_is_refused_before_torch_sees_it(tmp_path, add_one, no_torch_load, kind, depth):
    body = {"list": b"(" * depth + b"l" * depth,  # torch.jit.load segfaults on this one
            "tuple": b"(" * depth + b"t" * depth,
            "dict": b"}" + (unicode("k") + b"}") * depth + b"s" * depth}[kind]
    path = zipforge.write(tmp_path / "deep.pt", zipforge.replaced(add_one, "data.pkl", PROTO2 + body + STOP))
    with pytest.raises(jitviz.NotTorchScriptFileError, match=f"nests deeper than {zipcheck.MAX_PICKLE_DEPTH}"):
        jitviz.show(path)
    report = jitviz.inspect_archive(path)  # a report, with what it could not read said
    assert "torch.add(x, 1)" in report.code[_local(add_one)]


@pytest.mark.parametrize("expression, says", [
    ("(" * 100_000 + "x" + ")" * 100_000, "too many nested parentheses"),  # each of these three
    ("-" * 100_000 + "x", "is not code torch.jit.save writes"),  # segfaults torch.jit.load (measured)
    ("[" * 100_000 + "x" + "]" * 100_000, "too many nested parentheses"),
    ("x" + " if x.dim() else x" * 600, "nests code deeper than 500 levels"),
])
def test_deeply_nested_code_is_refused_before_torch_sees_it(tmp_path, add_one, no_torch_load, expression, says):
    code = _code(add_one)
    deep = Member(code.name, code.data.replace(b"torch.add(x, 1)", f"torch.add({expression}, 1)".encode()))
    path = zipforge.write(tmp_path / "deep.pt", [deep if m is code else m for m in add_one])
    with pytest.raises(jitviz.NotTorchScriptFileError, match=re.escape(says)):
        jitviz.show(path)


def test_a_storage_larger_than_its_record_is_refused(tmp_path, add_one, no_torch_load):
    # torch sizes the storage by the pickle: 2**28 floats over 16 bytes load, and crash when read
    data = tensor_pickle(unicode("0"), b"(K\x04t", elements=b"J\x00\x00\x00\x10")
    path = zipforge.write(tmp_path / "over.pt", zipforge.replaced(add_one, "data.pkl", data)
                          + [Member("m/data/0", b"\0" * 16)])
    with pytest.raises(jitviz.NotTorchScriptFileError, match="claims 268435456 elements .* holds 16 bytes"):
        jitviz.show(path)


def test_a_container_changed_after_nesting_cannot_hide_its_depth(tmp_path, add_one, no_torch_load):
    # L0 = []; then L(i) is appended to L(i-1) *before* L(i) gets its own child: depth grows unseen
    chain = b"]" + b"".join(b"(]r" + struct.pack("<I", i) + b"ej" + struct.pack("<I", i) for i in range(1, 5000))
    pickle = PROTO2 + chain + b"\x86" + STOP
    path = zipforge.write(tmp_path / "chain.pt", zipforge.replaced(add_one, "data.pkl", pickle))
    with pytest.raises(jitviz.NotTorchScriptFileError, match="changes a container after placing it in another"):
        jitviz.show(path)


def test_a_container_holding_itself_is_refused(tmp_path, add_one, no_torch_load):
    pickle = PROTO2 + b"]q\x00(h\x00e" + STOP
    path = zipforge.write(tmp_path / "self.pt", zipforge.replaced(add_one, "data.pkl", pickle))
    with pytest.raises(jitviz.NotTorchScriptFileError, match="holds itself"):
        jitviz.show(path)


@pytest.mark.parametrize("body, says", [
    (b"N1", "opcode POP_MARK, which torch.jit.load cannot read"),  # Python reads it; torch does not
    (b"Nr\xff\xff\xff\xff", "memo slot 4294967295"),  # torch would allocate 4 billion slots
    (b"(NNNd", "a key without a value"),  # torch would read one past its stack
    (b"\x80\x03N", "pickle protocol 2"),  # a .debug_pkl so made fails late, in the middle of drawing
])
def test_what_torchs_unpickler_cannot_read_safely_is_refused(tmp_path, add_one, no_torch_load, body, says):
    path = zipforge.write(tmp_path / "odd.pt", zipforge.replaced(add_one, "data.pkl", PROTO2 + body + STOP))
    with pytest.raises(jitviz.NotTorchScriptFileError, match=re.escape(says)):
        jitviz.show(path)


@pytest.mark.parametrize("debug, says", [
    (b"\x80\x02\xff\xfe", "malformed pickle"),
    (zipforge.debug_pickle(200), "pointing past its string table"),  # torch.jit.load segfaults on it
    (zipforge.debug_pickle(-1), "pointing past its string table"),
    (pickle.dumps((1, 2), 2), "is debug info in which a source range record is not a tuple"),
    (pickle.dumps(("FORMAT_WITH_STRING_TABLE",), 2), "with a string table but not 3 parts"),
])
def test_a_tampered_debug_pkl_is_refused_before_torch_sees_it(tmp_path, add_one, no_torch_load, debug, says):
    path = zipforge.write(tmp_path / "debug.pt", zipforge.replaced(add_one, ".debug_pkl", debug))
    with pytest.raises(jitviz.NotTorchScriptFileError, match=f"debug_pkl': .*{re.escape(says)}"):
        jitviz.show(path)


def test_a_well_formed_debug_pkl_is_accepted(tmp_path, add_one):
    path = zipforge.write(tmp_path / "debug.pt", zipforge.replaced(add_one, ".debug_pkl", zipforge.debug_pickle(1)))
    assert "aten::add" in [node.kind for node in jitviz.graph(path).nodes]


def test_a_module_without_forward_is_a_clear_error_at_load(tmp_path, add_one):
    code = _code(add_one)
    renamed = Member(code.name, code.data.replace(b"def forward(", b"def backward("))
    path = zipforge.write(tmp_path / "noforward.pt", [renamed if m is code else m for m in add_one])
    with pytest.raises(jitviz.NotTorchScriptFileError, match="torch.jit.load could not read .*has no forward method "
                       "to draw; its methods are: backward") as caught:
        jitviz.show(path)
    assert isinstance(caught.value.__cause__, jitviz.JitvizError)


def test_torchs_own_errors_are_a_clear_error_with_torchs_cause(tmp_path, add_one):
    broken = Member(_code(add_one).name, _code(add_one).data.replace(b"torch.add(x, 1)", b"torch.no_such_op(x, 1)"))
    path = zipforge.write(tmp_path / "syntax.pt", [broken if m is _code(add_one) else m for m in add_one])
    with pytest.raises(jitviz.NotTorchScriptFileError, match="torch.jit.load could not read") as caught:
        jitviz.show(path)
    assert isinstance(caught.value.__cause__, RuntimeError)


# --- broken zips --------------------------------------------------------------------------------


def _broken(tmp_path, add_one, case):
    member = _code(add_one)
    if case == "utf8 flag on a cp437 name":
        odd = Member("m/code/caf\xe9.py".encode("latin-1"), b"x", flags=0x800)
        return zipforge.write(tmp_path / "utf8.pt", add_one + [odd])
    if case == "zip64 offset 2**64-1":
        extra = struct.pack("<HHQ", 1, 8, 2**64 - 1)
        odd = Member(member.name, member.data, central_extra=extra, header_offset=0xFFFFFFFF)
        return zipforge.write(tmp_path / "zip64.pt", [odd if m is member else m for m in add_one])
    swap = {
        "lzma": Member(member.name, member.data, method=14),
        "unknown method 99": Member(member.name, member.data, method=99),
        "bad deflate": Member(member.name, b"\xff" * 40, zipfile.ZIP_DEFLATED, compress=False),
        "version 25.5": Member(member.name, member.data, zipfile.ZIP_DEFLATED, version_needed=255),
        "offset past the end": Member(member.name, member.data, header_offset=10**9),
    }[case]
    return zipforge.write(tmp_path / "bad.pt", [swap if m is member else m for m in add_one])


CASES = ["utf8 flag on a cp437 name", "zip64 offset 2**64-1", "lzma", "unknown method 99", "bad deflate",
         "version 25.5", "offset past the end"]


@pytest.mark.parametrize("case", CASES)
def test_a_broken_zip_ends_in_a_report_or_a_clear_error(tmp_path, add_one, no_torch_load, case):
    path = _broken(tmp_path, add_one, case)
    try:
        report = jitviz.inspect_archive(path)
    except jitviz.NotTorchScriptFileError as error:
        assert case in ("utf8 flag on a cp437 name", "version 25.5"), error
        assert "damaged zip archive" in str(error) and error.__cause__ is not None
    else:
        repr(report), report._repr_html_()
        assert _local(add_one) not in report.code
        assert any(f"{_local(add_one)}'" in note for note in report.notes)
    with pytest.raises(jitviz.NotTorchScriptFileError):
        jitviz.show(path)


# --- what the report says of tensors ------------------------------------------------------------


def test_a_frozen_models_weights_and_data_version_are_reported(tmp_path):
    path = tmp_path / "frozen.pt"
    torch.jit.save(torch.jit.freeze(torch.jit.script(Frozen()).eval()), str(path))
    with zipfile.ZipFile(path) as archive:
        written = archive.read("frozen/.data/version").decode().strip() if "frozen/.data/version" in \
            archive.namelist() else archive.read("frozen/version").decode().strip()
    report = jitviz.inspect_archive(path)
    assert sorted((t.folder, t.dtype, t.shape) for t in report.tensors) == [
        ("constants", "float32", (2,)), ("constants", "float32", (2, 3))]
    assert report.tensor_bytes == 4 * (6 + 2)
    assert {e.kind for e in report.entries if "/constants/" in e.name} == {"constant tensor data"}
    assert report.version == written
    assert "constants/" in repr(report) and "2x3" in repr(report)


def test_the_data_version_record_is_read_first_as_torch_does(tmp_path, add_one):
    members = [m for m in add_one if not str(m.name).endswith("version")]
    members += [Member("m/version", b"3\n"), Member("m/.data/version", b"10\n")]
    report = jitviz.inspect_archive(zipforge.write(tmp_path / "v.pt", members))
    assert report.version == "10"


@pytest.mark.parametrize("shape, says", [
    (b"(J@B\x0f\x00J@B\x0f\x00t", "data/0 claims shape 1000000x1000000, which needs 4000000000000 bytes, "
                                  "but its storage holds 12"),  # 10**6 x 10**6
    (b"(J\xff\xff\xff\xfft", "a size of -1"),
    (b"(K\x00K\x02J\xff\xff\xff\xfft", "data/0 has an impossible shape: a size of -1;"),  # the size that is wrong
    (b"(G" + struct.pack(">d", 1.5) + b"t", "a size of a float"),
    (b"(\x88t", "a size of True (a bool)"),
    (b"(" + b"K\x01" * 5000 + b"t", "an impossible shape: 5000 dimensions"),
    (b"(\x8b" + struct.pack("<I", 2076) + b"\x00" * 2074 + b"\x80\x00t", "a size of <16600-bit integer>"),
])
def test_absurd_shapes_are_noted_and_never_break_the_report(tmp_path, add_one, shape, says):
    data = tensor_pickle(unicode("0"), shape, stride=b"(J@B\x0f\x00K\x01t")
    members = zipforge.replaced(add_one, "data.pkl", data) + [Member("m/data/0", b"\0" * 12)]
    report = jitviz.inspect_archive(zipforge.write(tmp_path / "shape.pt", members))
    assert any(says in note for note in report.notes), report.notes
    assert says in repr(report) and html.escape(says) in report._repr_html_()


_INT = b"J\xff\xff\xff\xff"  # -1


@pytest.mark.parametrize("shape, stride, offset, storage, held, needs", [
    (b"(K\x02K\x02t", b"(K\x04K\x01t", b"K\x00", "FloatStorage", 20, 24),  # strides reach past 2x2 elements
    (b"(K\x01M\xe8\x03t", b"(M\xe8\x03K\x01t", b"K\x00", "FloatStorage", 12, 4000),  # a 1x1000 row
    (b"(K\x02t", b"(K\x01t", b"K\x01", "FloatStorage", 8, 12),  # the offset counts
    (b"(K\x02t", b"(K\x01t", b"K\x00", "DoubleStorage", 12, 16),  # 8 bytes a double
    (b"(K\x04t", b"N", b"K\x00", "FloatStorage", 12, 16),  # no stride: contiguous
    (b"(K\x02K\x02t", b"(K\x01t", b"K\x00", "FloatStorage", 12, 16),  # strides not one a size: contiguous
    (b"(K\x02t", b"(" + _INT + b"t", b"K\x00", "FloatStorage", 4, 8),  # a negative stride: contiguous
    (b"(K\x03t", b"(K\x00t", b"K\x00", "FloatStorage", 4, None),  # three views of one element fit
    (b"(K\x00K\x03t", b"(K\x03K\x01t", b"K\x00", "FloatStorage", 0, None),  # empty: needs nothing
    (b"(" + b"K\x01" * 64 + b"t", b"(K\x01t", b"K\x00", "FloatStorage", 4, None),  # 64 dimensions are allowed
    (b"(K\x04t", b"(K\x01t", unicode("x"), "FloatStorage", 4, None),  # an odd offset: not known
    (b"(K\x04t", b"(K\x01t", b"\x88", "FloatStorage", 4, None),  # offset True: not known
    (b"(K\x04t", b"(K\x01t", b"K\x00", "QInt8Storage", 1, None),  # a dtype jitviz has no size for
])
def test_a_view_needing_more_bytes_than_its_storage_is_noted(tmp_path, add_one, shape, stride, offset, storage,
                                                               held, needs):
    data = tensor_pickle(unicode("0"), shape, stride=stride, offset=offset, storage=storage)
    members = zipforge.replaced(add_one, "data.pkl", data) + [Member("m/data/0", b"\0" * held)]
    report = jitviz.inspect_archive(zipforge.write(tmp_path / "view.pt", members))
    notes = [note for note in report.notes if note.startswith("data/0")]
    tensor = report.tensors[0]
    assert tensor.shape is not None  # a possible shape, shown
    if needs is None:
        assert notes == []
    else:
        shown = "x".join(map(str, tensor.shape))
        assert notes == [f"data/0 claims shape {shown}, which needs {needs} bytes, but its storage holds {held}: "
                         "torch.jit.load would refuse it."]


def test_a_small_file_cannot_make_a_huge_html_report(tmp_path, add_one):
    code = [Member(f"m/code/__torch__/f{i}.py", b"<" * 900_000, zipfile.ZIP_DEFLATED) for i in range(17)]
    path = zipforge.write(tmp_path / "wide.pt", add_one + code + [Member(f"m/extra/{i}", b"") for i in range(3000)])
    assert path.stat().st_size < 400_000
    report = jitviz.inspect_archive(path)
    page = report._repr_html_()
    assert len(page) < 2_000_000, len(page)
    assert "Not shown, to keep this report small" in page and "characters of code/__torch__/f" in page
    listed_but_not_drawn = report.entry_count - jitviz.archive.MAX_HTML_ROWS
    assert f"{listed_but_not_drawn} entries" in page
    assert page.count("<tr>") <= 2 * (jitviz.archive.MAX_HTML_ROWS + 1)
    assert len(repr(report)) < 100_000


def test_control_characters_from_the_file_are_shown_as_text(tmp_path, add_one):
    sneaky = "\x1b[31mred\x00\u202eevil"
    code = _code(add_one)
    members = [Member(code.name, code.data + f"# {sneaky}\n".encode()) if m is code else m for m in add_one]
    members += [Member(f"m/extra/{sneaky}", b""), Member(f"../{sneaky}", b"")]
    report = jitviz.inspect_archive(zipforge.write(tmp_path / "ctl.pt", members))
    page = report._repr_html_()
    for text in (repr(report), page):
        assert not re.search("[\x00-\x08\x0b-\x1f\u202e]", text)
        assert "\\x1b[31mred\\x00\\u202eevil" in text
    assert "  extra/\\x1b[31mred\\x00\\u202eevil: 0 bytes" in repr(report).splitlines()  # not via a note's repr()
    names = ["".join(code.itertext()) for code in xml.etree.ElementTree.fromstring(f"<root>{page}</root>").iter("code")]
    assert "m/extra/\\x1b[31mred\\x00\\u202eevil" in names
    xml.etree.ElementTree.fromstring(f"<root>{page}</root>")  # well-formed: safe inside SVG/XHTML too


# --- a torch.export program whatever its suffix ---------------------------------------------------


def test_an_exported_program_saved_as_pt_is_drawn(tmp_path):
    program = torch.export.export(AddOne(), (torch.ones(2),))
    path = tmp_path / "prog.pt"
    torch.export.save(program, str(path.with_suffix(".pt2")))
    path.write_bytes(path.with_suffix(".pt2").read_bytes())
    with pytest.raises(jitviz.UntrustedFileError, match="torch.export.load unpickles"):
        jitviz.graph(path)  # judged by its content: any zip laid out like a .pt2 needs trust
    drawn = jitviz.graph(path, trusted=True)
    assert drawn.origin == "loaded .pt2"
    assert [node.kind for node in drawn.nodes] == ["aten::add.Tensor"]
    with pytest.raises(jitviz.NotTorchScriptFileError, match="without a code/ folder, so it is not TorchScript: "
                       "it looks like a torch.export .pt2, which inspect_archive does not read yet.$"):
        jitviz.inspect_archive(path)
    with zipfile.ZipFile(path) as archive:  # torch's reader ignores case: an ambiguous copy
        members = [Member(info.filename, archive.read(info)) for info in archive.infolist()]
    twice = zipforge.write(tmp_path / "twice.pt2", members + [Member(members[-1].name.upper(), b"x")])
    with pytest.raises(jitviz.NotTorchScriptFileError, match="not handed to torch.export.load: .*ambiguous"):
        jitviz.graph(twice)


# --- a short fuzz run (the longer one, through torch too: bench/fuzz_archive.py) ----------------------


def test_mutated_copies_of_a_real_file_end_in_a_report_or_a_clear_error(tmp_path, add_one):
    import random

    original = zipforge.write(tmp_path / "m.pt", add_one).read_bytes()
    rng = random.Random(0)
    outcomes = {"report": 0, "refused": 0}
    for case in range(200):
        data = bytearray(original)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        path = tmp_path / f"case{case}.pt"
        path.write_bytes(bytes(data))
        try:
            report = jitviz.inspect_archive(path)
            repr(report), report._repr_html_()
            outcomes["report"] += 1
        except jitviz.JitvizError:
            outcomes["refused"] += 1
    assert outcomes["report"] > 10 and outcomes["refused"] > 10, outcomes  # both kinds were reached


@pytest.mark.parametrize("character", ["\x1b", "&", "\u200b"])
def test_the_report_is_bounded_in_bytes_whatever_the_names(tmp_path, add_one, character):
    # 120 entries named by 65,000 characters each gave a 62 MB report before names were cut
    count = 65_000 // len(character.encode())  # a zip name holds at most 65,535 bytes
    long_names = [Member(f"m/extra/{i}" + character * count, b"x") for i in range(120)]
    path = zipforge.write(tmp_path / "names.pt", add_one + long_names)
    report = jitviz.inspect_archive(path)
    assert len(report._repr_html_()) < 1_000_000 and len(repr(report)) < 300_000
    assert re.search(r"… \(\d+,\d{3} characters\)", report._repr_html_())  # the cut says how long it was
    assert character == "&" or character not in repr(report)


def test_a_name_hiding_a_zero_width_character_is_told_apart(tmp_path, add_one):
    code = _code(add_one)
    twin = Member(str(code.name).replace(".py", "\u200b.py"), code.data)
    report = jitviz.inspect_archive(zipforge.write(tmp_path / "twin.pt", add_one + [twin]))
    shown = repr(report) + report._repr_html_()
    assert "\\u200b.py" in shown and "\u200b" not in shown
