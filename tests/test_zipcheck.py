"""zipcheck, the bounded reader of files from strangers: each bound holds exactly where it is set, what
it refuses it says in plain words, and what torch reads is read as torch reads it.

Every odd file and pickle is made here (pickles by ``pickle.dumps`` or opcode by opcode, archives with
:mod:`tests.zipforge`); nothing reaches torch.jit.load.
"""

import ast
import io
import pickle
import random
import re
import struct
import zipfile
import zlib

import pytest
import torch
import torch.jit._pickle

import jitviz
from jitviz.extract import zipcheck
from jitviz.extract.zipcheck import BigInt, TensorSpec, UnreadableError, check_code, check_debug_pickle, walk_pickle

from . import zipforge
from .zipforge import PROTO2, STOP, Member, tensor_pickle, unicode


class AddOne(torch.nn.Module):
    def forward(self, x):
        return x + 1


@pytest.fixture
def add_one(tmp_path):
    """The entries of a saved ``x + 1`` module, in folder ``m``."""
    return zipforge.saved_module(tmp_path / "m.pt", AddOne())


def _refusal(path):
    """Why vet_torchscript refuses ``path``: the words between the file's name and the advice."""
    with pytest.raises(jitviz.NotTorchScriptFileError) as caught:
        zipcheck.vet_torchscript(path)
    message = str(caught.value)
    head = f"{path.name!r} is not handed to torch.jit.load: "
    tail = ". jitviz.inspect_archive(path) shows what is inside."
    assert message.startswith(head) and message.endswith(tail), message
    return message[len(head):-len(tail)]


def _unreadable(read, *args):
    with pytest.raises(UnreadableError) as caught:
        read(*args)
    return str(caught.value)


# --- pickles, walked opcode by opcode -------------------------------------------------------------------

_PAST_STACK = "malformed pickle: a key without a value (torch would read past its stack)"
_PROTOCOL = "it does not start with pickle protocol 2 (and only there), as torch.jit.load needs"


@pytest.mark.parametrize("body, torch_only, says", [
    (b"NN\x87", False, "malformed pickle: IndexError: stack underflow"),  # a 3-tuple of 2 items
    (b"NN(00t", False, "malformed pickle: IndexError: stack underflow"),  # a mark above the stack
    (b"N\x85Na", False, "malformed pickle: items added to a value of kind tuple"),
    (b"K\x01Na", False, "malformed pickle: items added to a value of kind int"),
    (b"NQNa", False, "malformed pickle: items added to a value of kind persistent"),  # a persistent id
    (b"]q\x00(h\x00e", False, "a container holds itself"),
    (b"]q\x00]q\x01ah\x01Na", False,
     "it changes a container after placing it in another, which torch's pickler never does"),
    (b"(NNNd", False, _PAST_STACK),
    (b"}(NNNu", False, _PAST_STACK),
    (b"Nr\xff\xff\xff\xff", False,
     "it stores a value at memo slot 4294967295 (torch would allocate every slot below it)"),
    (b"Pabc\n", False, "it uses the pickle opcode PERSID, which TorchScript files never contain"),
    (b"\x8f", True, "it uses the pickle opcode EMPTY_SET, which torch.jit.load cannot read"),
    (b"N" + PROTO2, True, _PROTOCOL),  # PROTO again, after the start
    # opcodes of other protocols, read for the report
    (b"\x8f(NN\x90t", False, "malformed pickle: IndexError: pop from empty list"),  # ADDITEMS takes its mark
    (b"NN]2a", False, "a container holds itself"),  # DUP
    (b"]\x94(h\x00e", False, "a container holds itself"),  # MEMOIZE
    (b"]p0\n(g0\ne", False, "a container holds itself"),  # PUT, GET
    (b")}\x92", False, "malformed pickle: IndexError: stack underflow"),  # NEWOBJ_EX takes three
])
def test_a_pickle_that_cannot_be_read_safely_is_refused_saying_why(body, torch_only, says):
    assert _unreadable(walk_pickle, PROTO2 + body + STOP, torch_only) == says


@pytest.mark.parametrize("data", [b"N.", b"\x80\x03N."])
def test_torch_reads_only_pickles_that_start_with_protocol_2(data):
    assert _unreadable(walk_pickle, data, True) == _PROTOCOL
    assert walk_pickle(data) == {}  # the report reads them


@pytest.mark.parametrize("body", [
    b"(NN\x91",  # FROZENSET
    b"N(NN1",  # POP_MARK
    b"Np0\n",  # PUT
    b"(NNd",  # DICT of one pair
    b"}NNs",  # SETITEM
    b"ccollections\nOrderedDict\n)}\x92",  # NEWOBJ_EX
])
def test_opcodes_of_other_protocols_are_read_for_the_report(body):
    assert walk_pickle(PROTO2 + body + STOP) == {}


def test_the_error_text_of_a_malformed_pickle_is_cut_to_100_characters():
    says = _unreadable(walk_pickle, b"L" + b"x" * 300 + b"L\n.")  # int() quotes the whole literal
    assert says.startswith("malformed pickle: ValueError: invalid literal for int()")
    assert len(says) == len("malformed pickle: ValueError: ") + 100


def test_a_protocol_4_pickle_is_walked_for_the_report_but_refused_for_torch():
    data = pickle.dumps({"a": [1, 2]}, 4)  # FRAME, MEMOIZE, SHORT_BINUNICODE: not torch's
    assert walk_pickle(data) == {}
    assert _unreadable(walk_pickle, data, True) == _PROTOCOL


def _nested_lists(depth, leaves=0):
    return PROTO2 + b"(" * depth + b"K\x01" * leaves + b"l" * depth + STOP


def test_the_nesting_bound_holds_exactly(monkeypatch):
    monkeypatch.setattr(zipcheck, "MAX_PICKLE_DEPTH", 5)
    assert walk_pickle(_nested_lists(5)) == {}
    assert _unreadable(walk_pickle, _nested_lists(6)) == "it nests deeper than 5 levels (torch.jit.load would crash)"


def test_the_bound_on_items_built_holds_exactly_and_counts_nested_ones(monkeypatch):
    monkeypatch.setattr(zipcheck, "MAX_PICKLE_ITEMS", 10)
    too_many = "it builds more than 10 items (shared ones counted at each use)"
    assert walk_pickle(_nested_lists(1, leaves=9)) == {}  # a list and 9 ints
    assert _unreadable(walk_pickle, _nested_lists(1, leaves=10)) == too_many
    assert walk_pickle(_nested_lists(2, leaves=8)) == {}  # [[8 ints]]: 10
    assert _unreadable(walk_pickle, _nested_lists(2, leaves=9)) == too_many  # [[9 ints]]: 11
    assert walk_pickle(PROTO2 + b"Nr\x0a\x00\x00\x00" + STOP) == {}  # memo slot 10
    assert "memo slot 11 " in _unreadable(walk_pickle, PROTO2 + b"Nr\x0b\x00\x00\x00" + STOP)


# --- what data.pkl says of tensors ----------------------------------------------------------------------

REBUILD = b"ctorch._utils\n_rebuild_tensor_v2\n"
FLOAT = b"ctorch\nFloatStorage\n"


def _pid(*items):
    """A persistent id, the tuple of ``items``."""
    return b"(" + b"".join(items) + b"tQ"


STORAGE = _pid(unicode("storage"), FLOAT, unicode("0"), unicode("cpu"), b"K\x02")


def _rebuild(*args, target=REBUILD):
    return PROTO2 + target + b"(" + b"".join(args) + b"tR" + STOP


def _stack_global(module, name):
    return unicode(module) + unicode(name) + b"\x93"


_SHAPE, _STRIDE, _ZERO = b"(K\x02K\x03t", b"(K\x03K\x01t", b"K\x00"


@pytest.mark.parametrize("data, specs", [
    (_rebuild(STORAGE, b"K\x05", _SHAPE, _STRIDE), {"0": TensorSpec("float32", (2, 3), (3, 1), 5)}),
    (_rebuild(STORAGE, _ZERO, b")", b")"), {"0": TensorSpec("float32", (), (), 0)}),  # a scalar
    (_rebuild(STORAGE, _ZERO, b"K\x02", b"K\x01"), {"0": TensorSpec("float32", None, None, 0)}),  # not tuples
    (_rebuild(STORAGE), {"0": TensorSpec("float32", None, None, None)}),  # only the storage
    (_rebuild(STORAGE, b"K\x03"), {"0": TensorSpec("float32", None, None, 3)}),
    # protocol 4 names globals by STACK_GLOBAL
    (_rebuild(_pid(unicode("storage"), _stack_global("torch", "FloatStorage"), unicode("0"), unicode("cpu"),
                   b"K\x02"), _ZERO, _SHAPE, _STRIDE, target=_stack_global("torch._utils", "_rebuild_tensor_v2")),
     {"0": TensorSpec("float32", (2, 3), (3, 1), 0)}),
    # a storage type that is not a global of two strings has no dtype
    (_rebuild(_pid(unicode("storage"), b"K\x05" + unicode("FloatStorage") + b"\x93", unicode("0")), _ZERO),
     {"0": TensorSpec(None, None, None, 0)}),
    (_rebuild(_pid(unicode("storage"), unicode("torch.FloatStorage"), unicode("0")), _ZERO),
     {"0": TensorSpec(None, None, None, 0)}),
    (_rebuild(_pid(unicode("storage"), FLOAT, unicode("0")), _ZERO), {"0": TensorSpec("float32", None, None, 0)}),
    # what is not a tensor torch would rebuild is not taken for one
    (_rebuild(STORAGE, _ZERO, _SHAPE, target=b"cos\nsystem\n"), {}),
    (PROTO2 + REBUILD + b"(" + STORAGE + b"lR" + STOP, {}),  # its arguments a list
    (_rebuild(b"K\x05", _ZERO, _SHAPE), {}),  # no storage
    (_rebuild(unicode("0") + b"Q", _ZERO, _SHAPE), {}),  # a persistent id that is not a tuple
    (_rebuild(_pid(unicode("storage"), FLOAT), _ZERO, _SHAPE), {}),  # without a key
    (_rebuild(_pid(unicode("storage"), FLOAT, b"K\x00"), _ZERO, _SHAPE), {}),  # a key that is not a string
])
def test_tensors_are_read_from_torchs_rebuild_calls_only(data, specs):
    assert walk_pickle(data) == specs


def test_integers_up_to_64_bits_are_kept_and_wider_ones_only_by_their_width():
    shape = b"(" + b"".join(b"\x8a" + bytes([len(raw)]) + raw for raw in map(pickle.encode_long, (2**63, 2**64))) + b"t"
    assert walk_pickle(tensor_pickle(unicode("0"), shape))["0"].shape == (2**63, BigInt(65))
    assert str(BigInt(65)) == "<65-bit integer>"


# --- debug info ---------------------------------------------------------------------------------------


class _Call:
    """Pickled as a call of ``function`` on ``args``, as torch pickles ``build_intlist([...])``."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def _lines(*indices):
    return _Call(torch.jit._pickle.build_intlist, list(indices))


TABLE = ("", "    return x + 1\n", "m.py")


def _debug(source=None, start=4, end=10, record=None, table=TABLE, layout=None):
    """A .debug_pkl in torch's string-table layout with one record (offset, (source, start, end), handle)."""
    source = (_lines(1, 1), 2, 1) if source is None else source
    record = (0, (source, start, end), 0) if record is None else record
    root = ("FORMAT_WITH_STRING_TABLE", table, (record,)) if layout is None else layout
    return pickle.dumps(root, 2)


def _old(source):
    """A .debug_pkl in the older layout: the source is (text, file name or None, first line)."""
    return pickle.dumps(((0, (source, 0, 4), 0),), 2)


def _list_opcode(data):
    """``data`` with its lists made by MARK ... LIST, which torch's unpickler also reads: ``]`` (EMPTY_LIST),
    ``q`` n, ``(`` ... ``e`` (APPENDS) rewritten as ``(`` ... ``l``."""
    return re.sub(rb"\]q.\((.*?)e", rb"(\1l", data, flags=re.S)


@pytest.mark.parametrize("data", [
    _debug(),
    _list_opcode(_debug()),  # its line list made by LIST
    _debug(record=(0, ((_lines(1, 1), 2, 1), 4, 10))),  # a record of two parts
    _debug(start=3, end=3),
    _old(("def f(x):", "m.py", 1)),
    _old(("def f(x):", None, 1)),
])
def test_debug_info_as_torch_writes_it_is_accepted(data):
    assert check_debug_pickle(data) is None


_MALFORMED = "is debug info with a malformed source"
_PAST_TABLE = "is debug info pointing past its string table (torch.jit.load would crash on it)"


@pytest.mark.parametrize("data, says", [
    (pickle.dumps([1, 2], 2), "is debug info in which the debug info is not a tuple"),
    (_debug(table=["", "m.py"]), "is debug info in which the string table is not a tuple"),
    (_debug(table=("", 1)), "is debug info whose string table holds something other than strings"),
    (_debug(layout=("FORMAT_WITH_STRING_TABLE", TABLE, [1, 2])),
     "is debug info in which the source ranges is not a tuple"),
    (_debug(layout=("FORMAT_WITH_STRING_TABLE", TABLE)), "is debug info with a string table but not 3 parts"),
    (_debug(record=(0, ((_lines(1, 1), 2, 1), 4, 10), 0, 0)), "is debug info with a malformed source range record"),
    (_debug(record=("0", ((_lines(1, 1), 2, 1), 4, 10))), "is debug info with a malformed source range record"),
    (_debug(record=(0, [1, 2])), "is debug info in which a source range is not a tuple"),
    (_debug(record=(0, ((_lines(1, 1), 2, 1), 4))), "is debug info in which a source range has 2 parts, not 3"),
    (_debug(start=5, end=4), "is debug info with a source range that is not a pair of offsets"),
    (_debug(start=-1), "is debug info with a source range that is not a pair of offsets"),
    (_debug(end="x"), "is debug info with a source range that is not a pair of offsets"),
    (_debug(source=[1, 2]), "is debug info in which a source is not a tuple"),
    (_debug(source=(_lines(1, 1), 2)), "is debug info in which a source has 2 parts, not 3"),
    (_old((5, "m.py", 1)), _MALFORMED),
    (_old(("def f(x):", 5, 1)), _MALFORMED),
    (_old(("def f(x):", "m.py", "1")), _MALFORMED),
    (_debug(source=(5, 2, 1)), _MALFORMED),  # lines: not build_intlist([...])
    (_debug(source=(_Call(list, [1, 1]), 2, 1)), _MALFORMED),
    (_debug(source=(_Call(torch.jit._pickle.build_intlist, (1, 1)), 2, 1)), _MALFORMED),
    (_debug(source=(_Call(torch.jit._pickle.build_intlist, 5), 2, 1)), _MALFORMED),
    (_debug(source=(_Call(torch.jit._pickle.build_intlist, [1, 1], [1, 1]), 2, 1)), _MALFORMED),
    (_debug(source=(_lines("a", "b"), 2, 1)), _MALFORMED),
    (_debug(source=(_lines(1, 1), "2", 1)), _MALFORMED),
    (_debug(source=(_lines(1, 1), 2, "1")), _MALFORMED),
    (_debug(source=(_lines(1, 3), 2, 1)), _PAST_TABLE),
    (_debug(source=(_lines(1, 1), 3, 1)), _PAST_TABLE),
    (pickle.dumps((1, 2), 3), _PROTOCOL),
    (PROTO2 + b"\x8f\x85" + STOP, "it uses the pickle opcode EMPTY_SET, which torch.jit.load cannot read"),
])
def test_tampered_debug_info_is_refused_saying_why(data, says):
    assert _unreadable(check_debug_pickle, data) == says


# --- code ---------------------------------------------------------------------------------------------


def _depth(code):
    """Depth of the syntax tree of ``code``, the module counted 1."""
    pending, deepest = [(ast.parse(code), 1)], 0
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def test_the_code_depth_bound_holds_exactly(monkeypatch):
    code = "def forward(self, x):\n    return -(-(-(x + 1)))\n"
    monkeypatch.setattr(zipcheck, "MAX_CODE_DEPTH", _depth(code))
    assert check_code(code.encode()) is None
    monkeypatch.setattr(zipcheck, "MAX_CODE_DEPTH", _depth(code) - 1)
    assert _unreadable(check_code, code.encode()) == (
        f"nests code deeper than {_depth(code) - 1} levels (torch.jit.load would crash)")


def test_code_that_is_not_python_text_is_refused_saying_why():
    assert _unreadable(check_code, b"# caf\xe9\n") == "is not UTF-8 text, so not code torch.jit.save wrote"
    assert _unreadable(check_code, b"def f(:\n").startswith("is not code torch.jit.save writes (SyntaxError: ")


# --- vetting a file before torch.jit.load -----------------------------------------------------------------


def _body(key, elements, storage=b"ctorch\nFloatStorage\n"):
    """One rebuild call (no PROTO, no STOP) of a 1-d tensor over storage ``key`` of ``elements``."""
    persistent = _pid(unicode("storage"), storage, unicode(key), unicode("cpu"), elements)
    return REBUILD + b"(" + persistent + b"K\x00(K\x01t(K\x01t\x89ccollections\nOrderedDict\n)RtR"


def _with_storages(add_one, records, *bodies, pickle_name="data.pkl"):
    data = PROTO2 + b"(" + b"".join(bodies) + b"t" + STOP
    return zipforge.replaced(add_one, pickle_name, data) + [Member(f"m/{name}", b"\0" * size) for name, size in records]


_FLOAT, _DOUBLE, _QINT8 = (f"ctorch\n{name}Storage\n".encode() for name in ("Float", "Double", "QInt8"))


@pytest.mark.parametrize("storage, elements, held, says", [
    (_FLOAT, b"K\x04", 16, None),
    (_FLOAT, b"K\x04", 15, "storage '0' claims 4 elements (16 bytes) but its record data/0 holds 15 bytes"),
    (_DOUBLE, b"K\x02", 15, "storage '0' claims 2 elements (16 bytes) but its record data/0 holds 15 bytes"),
    (_QINT8, b"K\x10", 16, None),  # a type jitviz has no size for: 1 byte an element
    (_QINT8, b"K\x11", 16, "storage '0' claims 17 elements (17 bytes) but its record data/0 holds 16 bytes"),
    (unicode("torch.FloatStorage"), b"K\x10", 16, None),  # not a global: 1 byte an element
    (_FLOAT, b"K\x00", 0, None),
    (_FLOAT, b"J\xff\xff\xff\xff", 16, "storage '0' has -1 elements"),
    (_FLOAT, unicode("x"), 16, "storage '0' has x elements"),
])
def test_a_storage_must_fit_its_record(tmp_path, add_one, storage, elements, held, says):
    path = zipforge.write(tmp_path / "s.pt", _with_storages(add_one, [("data/0", held)], _body("0", elements, storage)))
    if says is None:
        assert "data/0" in zipcheck.vet_torchscript(path)
    else:
        suffix = " (torch would read past it)" if "claims" in says else ""
        assert _refusal(path) == f"'m/data.pkl': {says}{suffix}"


def test_every_storage_is_checked_past_one_whose_record_is_missing(tmp_path, add_one):
    # torch says plainly that a record is missing; the next storage is still checked
    members = _with_storages(add_one, [("data/1", 4)], _body("0", b"K\x01"), _body("1", b"K\x02"))
    path = zipforge.write(tmp_path / "two.pt", members)
    assert _refusal(path) == ("'m/data.pkl': storage '1' claims 2 elements (8 bytes) but its record data/1 "
                              "holds 4 bytes (torch would read past it)")


def test_a_frozen_models_constants_must_fit_their_records(tmp_path, add_one):
    members = _with_storages(add_one, [("constants/0", 4)], _body("0", b"K\x02"), pickle_name="constants.pkl")
    assert _refusal(zipforge.write(tmp_path / "c.pt", members)) == (
        "'m/constants.pkl': storage '0' claims 2 elements (8 bytes) but its record constants/0 holds 4 bytes "
        "(torch would read past it)")


@pytest.mark.parametrize("folder", ["data", "constants"])
@pytest.mark.parametrize("method, flags", [(14, 0), (zipfile.ZIP_STORED, 1)])
def test_tensor_data_torch_cannot_read_is_refused(tmp_path, add_one, folder, method, flags):
    path = zipforge.write(tmp_path / "t.pt", add_one + [Member(f"m/{folder}/0", b"\0" * 4, method, flags=flags)])
    assert _refusal(path) == (f"'m/{folder}/0': is compressed with method {method} or encrypted, "
                              "which torch cannot read")


def _vetted(add_one):
    """What vetting reads: pickles, code, and the version and byte order records (no tensor data)."""
    return sum(len(m.data) for m in add_one if not str(m.name).endswith("serialization_id"))


def test_vetting_reads_within_its_own_budgets_and_exactly_up_to_them(tmp_path, add_one, monkeypatch):
    monkeypatch.setattr(zipcheck, "MAX_MEMBER_BYTES", 1)  # the report's budgets are not vetting's
    monkeypatch.setattr(zipcheck, "MAX_TOTAL_BYTES", 1)
    big = [Member("m/data/0", b"\0" * 5000), Member("m/extra/notes.txt", b"x" * 5000)]  # never read
    path = zipforge.write(tmp_path / "m.pt", add_one + big)
    largest = max(len(m.data) for m in add_one)
    monkeypatch.setattr(zipcheck, "VET_MEMBER_BYTES", largest)
    monkeypatch.setattr(zipcheck, "VET_TOTAL_BYTES", _vetted(add_one))
    assert "data/0" in zipcheck.vet_torchscript(path)
    monkeypatch.setattr(zipcheck, "VET_TOTAL_BYTES", _vetted(add_one) - 1)
    assert re.fullmatch(r"'m/[^']+': claims \d+ bytes; not read \(limit \d+\)", _refusal(path))
    monkeypatch.setattr(zipcheck, "VET_TOTAL_BYTES", _vetted(add_one))
    monkeypatch.setattr(zipcheck, "VET_MEMBER_BYTES", largest - 1)
    assert _refusal(path).endswith(f": claims {largest} bytes; not read (limit {largest - 1})")


def test_every_ambiguity_is_said_when_vetting_refuses(tmp_path, add_one):
    twice = add_one + [Member(str(add_one[-1].name).upper(), add_one[-1].data)]
    path = tmp_path / "both.pt"
    path.write_bytes(b"#" * 100 + zipforge.write(tmp_path / "m.pt", twice).read_bytes())
    first, second = _refusal(path).split("; ", 1)
    assert first.startswith("the entries are 100 bytes away from where the archive's directory says")
    assert second.startswith("1 name is used by more than one entry")


def test_too_many_entries_are_refused_saying_what_a_torchscript_file_holds(tmp_path, add_one, monkeypatch):
    path = zipforge.write(tmp_path / "many.pt", add_one + [Member(f"m/extra/{i}", b"") for i in range(20)])
    monkeypatch.setattr(zipcheck, "MAX_ENTRIES", 20)
    with pytest.raises(jitviz.NotTorchScriptFileError) as caught:
        zipcheck.SafeZip(path)
    assert str(caught.value) == (f"'many.pt' has {len(add_one) + 20} entries, more than the 20 jitviz inspects; "
                                 "a TorchScript file has a few per module and tensor, so this is not one.")


# --- the zip archive, read with bounds ----------------------------------------------------------------


def _open(tmp_path, members, name="z.pt", **bounds):
    return zipcheck.SafeZip(zipforge.write(tmp_path / name, members), **bounds)


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_member_is_read_up_to_its_limit_exactly(tmp_path, method):
    data = bytes(range(256)) * 4
    with _open(tmp_path, [Member("m/a", data, method)], member_bytes=len(data)) as archive:
        assert archive.read(archive.find("a")) == data
    with _open(tmp_path, [Member("m/a", data, method)], member_bytes=len(data) - 1) as archive:
        says = _unreadable(archive.read, archive.find("a"))
        assert says == f"claims {len(data)} bytes; not read (limit {len(data) - 1})"


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_member_that_holds_more_than_it_claims_is_cut_at_the_limit(tmp_path, method):
    members = [Member("m/a", b"x" * 1000, method, claimed_size=10), Member("m/b", b"x" * 101, method, claimed_size=10),
               Member("m/c", b"x" * 100, method, claimed_size=10)]
    with _open(tmp_path, members, member_bytes=100, total_bytes=10_000) as archive:
        assert _unreadable(archive.read, archive.find("a")) == "expands past 100 bytes (it claims 10); not read"
        assert 10_000 - 102 <= archive.budget <= 10_000 - 101  # what was read is charged: up to just past the limit
        assert _unreadable(archive.read, archive.find("b")) == "expands past 100 bytes (it claims 10); not read"
        assert _unreadable(archive.read, archive.find("c")) == "holds 100 bytes but claims 10; torch would refuse it"


def test_the_total_budget_is_charged_for_every_byte_read(tmp_path):
    members = [Member(f"m/{name}", bytes([i]) * 1000, zipfile.ZIP_DEFLATED) for i, name in enumerate("abc")]
    members[1] = Member("m/b", b"\1" * 1000, zipfile.ZIP_DEFLATED, crc=0)  # read, then refused
    with _open(tmp_path, members, member_bytes=1000, total_bytes=2500) as archive:
        assert archive.read(archive.find("a")) == b"\0" * 1000
        assert "fails its CRC check" in _unreadable(archive.read, archive.find("b"))
        assert archive.budget == 500
        assert _unreadable(archive.read, archive.find("c")) == "claims 1000 bytes; not read (limit 500)"


def test_the_report_reads_16_mib_in_all_whatever_the_file_holds(tmp_path):
    # 24 code files of 1 MiB each (a few kilobytes deflated): the first 16 are read, then nothing
    size = zipcheck.MAX_MEMBER_BYTES
    code = [Member(f"m/code/f{i:02}.py", b"#" * size, zipfile.ZIP_DEFLATED) for i in range(24)]
    report = jitviz.inspect_archive(zipforge.write(tmp_path / "big.pt", [Member("m/version", b"3\n"), *code]))
    assert sorted(report.code) == [f"code/f{i:02}.py" for i in range(16)]
    assert [note for note in report.notes if "/code/" in note] == [
        f"'m/code/f{i:02}.py' claims {size} bytes; not read (limit 0)." for i in range(16, 24)]


@pytest.mark.parametrize("member, says", [
    (Member("m/a", b"x", flags=1), "is encrypted, which torch cannot read"),
    (Member("m/a", b"x", method=14), "is compressed with method 14 (lzma), which torch cannot read"),
    (Member("m/a", b"x", method=99), "is compressed with method 99 (AES), which torch cannot read"),
    (Member("m/a", b"x", method=7), "is compressed with method 7 (unknown), which torch cannot read"),
    (Member("m/a", b"x", header_offset=1), "has no local header where the central directory says"),
    (Member("m/a", b"\xff" * 10, zipfile.ZIP_DEFLATED, compress=False),
     "is not valid deflate data (Error -3 while decompressing data: invalid block type)"),
    (Member("m/a", b"x" * 10, zipfile.ZIP_DEFLATED, claimed_size=20),
     "holds 10 bytes but claims 20; torch would refuse it"),
])
def test_a_member_that_cannot_be_read_is_refused_saying_why(tmp_path, member, says):
    with _open(tmp_path, [Member("m/version", b"3\n"), member]) as archive:
        assert _unreadable(archive.read, archive.find("a")) == says


def test_a_deflated_member_cut_short_is_refused(tmp_path):
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    cut = (packer.compress(bytes(range(256)) * 40) + packer.flush())[:-20]
    member = Member("m/a", cut, zipfile.ZIP_DEFLATED, compress=False, claimed_size=10240, crc=0)
    with _open(tmp_path, [member], member_bytes=20_000) as archive:
        assert re.fullmatch(r"holds \d+ bytes but claims 10240; torch would refuse it",
                            _unreadable(archive.read, archive.find("a")))


# --- names, as torch looks them up ---------------------------------------------------------------------


def test_names_are_looked_up_inside_the_first_entrys_folder_with_ascii_case_ignored(tmp_path):
    members = [Member("Model/version", b"3\n"), Member("MODEL/CODE/A.PY", b"a"), Member("other/deep/x", b""),
               Member("model/data/\xc9", b""), Member("top.txt", b"")]
    with _open(tmp_path, members) as archive:
        assert archive.folder == "Model/"
        assert [archive.local(info) for info in archive.infos] == ["version", "code/a.py", None, "data/\xc9", None]
        assert archive.find("Code/a.py") is archive.infos[1]
        assert archive.find("data/\xe9") is None  # only ASCII letters are folded, as miniz folds them
        assert archive.other_folders() == ["other", "top.txt"]
        assert archive.duplicates() == []


def test_a_name_used_twice_is_found_by_neither_entry(tmp_path):
    members = [Member("m/version", b"3\n"), Member("m/a", b"1"), Member("M/A", b"2"), Member("m/b", b"")]
    with _open(tmp_path, members) as archive:
        assert archive.find("a") is None and archive.find("b") is archive.infos[3]
        assert archive.duplicates() == ["m/a"]


def test_the_first_entry_outside_a_folder_means_torch_reads_nothing(tmp_path):
    with _open(tmp_path, [Member("version", b"3\n"), Member("m/a", b"")]) as archive:
        assert archive.folder == ""
        assert [archive.local(info) for info in archive.infos] == [None, None]
        assert archive.ambiguities() == [
            "the first entry is not inside a folder, and torch.jit.load reads only files saved inside one "
            "(it would refuse this file)"]


def test_ambiguities_are_said_in_plain_words_with_counts(tmp_path):
    members = [Member("mo/version", b"3\n"), Member("mo/a", b""), Member("mo/A", b""), Member("mo/b", b""),
               Member("mo/B", b"")] + [Member(f"{top}/x", b"") for top in "pqrs"] + [Member("MO/x/c", b"")]
    with _open(tmp_path, members) as archive:
        assert archive.ambiguities() == [
            "2 names are used by more than one entry (for example 'mo/a'; case is ignored, as torch ignores it): "
            "which copy torch.jit.load reads depends on the order miniz sorts them in, so the file is ambiguous",
            "besides the folder 'mo' (the first entry's, the only one torch.jit.load reads) the archive holds "
            "4 other top-level names ('p', 'q', 'r', ...), which torch ignores",
            "entries under 'MO' are read by torch.jit.load as part of the folder 'mo' (it ignores case), "
            "unlike unzip and most zip tools",
        ]
    for tops, says in (("pqr", "3 other top-level names ('p', 'q', 'r'), which"),
                       ("pq", "2 other top-level names ('p', 'q'), which"),
                       ("p", "1 other top-level name ('p'), which")):
        members = [Member("mo/version", b"3\n")] + [Member(f"{top}/x", b"") for top in tops]
        with _open(tmp_path, members, name=f"{tops}.pt") as archive:
            assert archive.ambiguities() == [
                f"besides the folder 'mo' (the first entry's, the only one torch.jit.load reads) the archive holds "
                f"{says} torch ignores"]


@pytest.mark.parametrize("name, unsafe", [
    ("../x", True), ("m/../../x", True), ("/etc/x", True), ("m\\..\\x", True), ("C:x", True), ("\\x", True),
    ("C:", True), ("m/x..y", False), ("m/..x", False), ("C", False), ("m/C:x", False), ("m/x", False),
])
def test_names_that_would_escape_a_folder(name, unsafe):
    assert zipcheck.unsafe_name(name) is unsafe


@pytest.mark.parametrize("names, export", [
    (["models/m.json"], True), (["archive_format"], True), (["serialized_exported_program.json"], True),
    (["data/x.serialized_exported_program.json"], True), (["code/models/x.py", "data.pkl"], False),
    (["archive_format.txt"], False), ([], False),
])
def test_a_torch_export_archive_is_told_by_its_names(names, export):
    assert zipcheck.is_export_layout(names) is export


# --- the end records, read before zipfile parses the directory -------------------------------------------


def _saved(tmp_path):
    """A file as torch.jit.save writes it: a zip64 end record, its locator, then the plain end record."""
    path = tmp_path / "m.pt"
    torch.jit.save(torch.jit.script(AddOne()), str(path))
    return path.read_bytes()


def _zip64_fields(data):
    """The entry count and directory size the zip64 end record gives, and their offsets in ``data``."""
    at = data.rfind(b"PK\x06\x06")
    count, size = struct.unpack("<QQ", data[at + 32:at + 48])
    return at, count, size


def test_a_file_torch_saved_with_data_put_before_it_is_ambiguous(tmp_path):
    path = tmp_path / "shifted.pt"
    path.write_bytes(b"#" * 100 + _saved(tmp_path))
    with zipcheck.SafeZip(path) as archive:
        assert archive.shift == 100
        assert archive.ambiguities() == [
            "the entries are 100 bytes away from where the archive's directory says (something was put before or "
            "inside the archive): zip tools read them where they are, torch.jit.load where the directory says, "
            "so the file is ambiguous"]
    assert _refusal(path).startswith("the entries are 100 bytes away from where the archive's directory says")


def test_a_zip64_locator_pointing_elsewhere_is_ambiguous(tmp_path):
    data = bytearray(_saved(tmp_path))
    locator = data.rfind(b"PK\x06\x07")
    data[locator + 8:locator + 16] = struct.pack("<Q", 0)  # torch would look for the zip64 record at 0
    path = tmp_path / "located.pt"
    path.write_bytes(bytes(data))
    with zipcheck.SafeZip(path) as archive:
        assert archive.shift != 0
    assert "bytes away from where the archive's directory says" in _refusal(path)


def test_the_zip64_records_counts_are_the_ones_checked(tmp_path, monkeypatch):
    data = bytearray(_saved(tmp_path))
    _, count, size = _zip64_fields(data)
    end = data.rfind(b"PK\x05\x06")
    data[end + 8:end + 16] = struct.pack("<HHL", 0xFFFF, 0xFFFF, 0xFFFFFFFF)  # "see the zip64 record"
    path = tmp_path / "z64.pt"
    path.write_bytes(bytes(data))
    monkeypatch.setattr(zipcheck, "MAX_ENTRIES", count)
    monkeypatch.setattr(zipcheck, "MAX_DIRECTORY_BYTES", size)
    with zipcheck.SafeZip(path) as archive:
        assert len(archive.infos) == count and archive.shift == 0
    monkeypatch.setattr(zipcheck, "MAX_DIRECTORY_BYTES", size - 1)
    with pytest.raises(jitviz.NotTorchScriptFileError) as caught:
        zipcheck.SafeZip(path)
    assert str(caught.value) == (f"'z64.pt' has a {size}-byte list of entries, more than the {size - 1} jitviz reads; "
                                 "a TorchScript file's is a few kilobytes.")
    monkeypatch.setattr(zipcheck, "MAX_DIRECTORY_BYTES", size)
    monkeypatch.setattr(zipcheck, "MAX_ENTRIES", count - 1)
    too_many = f"^'z64.pt' has {count} entries, more than the {count - 1} "
    with pytest.raises(jitviz.NotTorchScriptFileError, match=too_many):
        zipcheck.SafeZip(path)


def test_the_plain_end_records_counts_are_checked_exactly(tmp_path, add_one, monkeypatch):
    path = zipforge.write(tmp_path / "m.pt", add_one)
    with zipfile.ZipFile(path) as archive:
        size = sum(46 + len(info.orig_filename.encode()) for info in archive.infolist())
    monkeypatch.setattr(zipcheck, "MAX_ENTRIES", len(add_one))
    monkeypatch.setattr(zipcheck, "MAX_DIRECTORY_BYTES", size)
    with zipcheck.SafeZip(path) as archive:
        assert archive.shift == 0
    monkeypatch.setattr(zipcheck, "MAX_DIRECTORY_BYTES", size - 1)
    with pytest.raises(jitviz.NotTorchScriptFileError, match=f"has a {size}-byte list of entries"):
        zipcheck.SafeZip(path)


def test_a_large_file_or_one_with_a_comment_is_not_taken_for_a_shifted_one(tmp_path, add_one):
    big = zipforge.write(tmp_path / "big.pt", add_one + [Member("m/data/0", bytes(range(256)) * 400)])  # 100 kB
    assert big.stat().st_size > 22 + 0xFFFF
    data = bytearray(zipforge.write(tmp_path / "m.pt", add_one).read_bytes())
    data[-2:] = struct.pack("<H", 30)  # the end record's comment length
    commented = tmp_path / "commented.pt"
    commented.write_bytes(bytes(data) + b"c" * 30)
    for path in (big, commented):
        with zipcheck.SafeZip(path) as archive:
            assert archive.shift == 0 and archive.ambiguities() == [], path.name


def test_a_file_cut_inside_its_end_record_is_not_a_zip(tmp_path, add_one):
    path = tmp_path / "cut.pt"
    path.write_bytes(zipforge.write(tmp_path / "m.pt", add_one).read_bytes()[:-5])
    with pytest.raises(jitviz.NotTorchScriptFileError) as caught:
        zipcheck.SafeZip(path)
    assert str(caught.value) == "'cut.pt' is not a zip archive (or is truncated), so it is not a TorchScript file."


def test_a_damaged_directory_is_refused_naming_the_damage(tmp_path, add_one):
    odd = Member("m/code/caf\xe9.py".encode("latin-1"), b"x", flags=0x800)  # flagged UTF-8, and it is not
    path = zipforge.write(tmp_path / "utf8.pt", add_one + [odd])
    with pytest.raises(jitviz.NotTorchScriptFileError) as caught:
        zipcheck.SafeZip(path)
    message = str(caught.value)
    assert message.startswith("'utf8.pt' is a damaged zip archive (UnicodeDecodeError: 'utf-8' codec can't decode")
    assert message.endswith("); torch.jit.save never writes one like it.")
    assert isinstance(caught.value.__cause__, UnicodeDecodeError)


# --- what is read from disk ---------------------------------------------------------------------------


def _noise(size, values=16):
    """``size`` bytes of ``values`` different values, deterministic: deflate packs 16 values about 2:1."""
    return random.Random(0).randbytes(size).translate(bytes(b % values for b in range(256)))


def _deflated(data):
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


class _Counted(io.FileIO):
    """A file that counts the bytes read from it."""

    count = 0

    def readinto(self, buffer):
        read = super().readinto(buffer)
        self.count += read or 0
        return read

    def readall(self):
        data = super().readall()
        self.count += len(data)
        return data


def test_reading_a_member_reads_from_disk_no_further_than_the_member(tmp_path, monkeypatch):
    data = _noise(400_000)
    stream = _deflated(data)
    assert len(stream) > 3 << 16  # read in several chunks
    members = [Member("m/version", b"3\n"), Member("m/a", stream, zipfile.ZIP_DEFLATED, compress=False,
                                                   claimed_size=len(data), crc=zlib.crc32(data)),
               Member("m/z", _noise(2_000_000, 256))]  # what lies after it is not read
    files = []

    def counted_open(path, mode):
        files.append(_Counted(path, "r"))
        return io.BufferedReader(files[-1])

    monkeypatch.setattr(zipcheck, "open", counted_open, raising=False)
    with _open(tmp_path, members, member_bytes=len(data)) as archive:
        for name, size, expected in (("version", 2, b"3\n"), ("a", len(stream), data)):
            before = files[0].count
            assert archive.read(archive.find(name)) == expected
            assert files[0].count - before < size + (1 << 16), name


@pytest.mark.parametrize("past", [1, 0])
def test_a_deflated_member_is_inflated_no_further_than_just_past_its_limit(tmp_path, past):
    # the stream is fed in 64 KiB chunks: the first chunk's output ends 1 byte past the limit (past=1),
    # or exactly at it with more to come (past=0), the two places where a reader could lose count
    data = _noise(400_000)
    stream = _deflated(data)
    limit = len(zlib.decompressobj(-15).decompress(stream[:1 << 16])) - past
    member = Member("m/a", stream, zipfile.ZIP_DEFLATED, compress=False, claimed_size=limit, crc=zlib.crc32(data))
    with _open(tmp_path, [member], member_bytes=limit, total_bytes=10**7) as archive:
        says = _unreadable(archive.read, archive.find("a"))
        assert says == f"expands past {limit} bytes (it claims {limit}); not read"
        assert 10**7 - archive.budget <= limit + 2


def test_a_member_with_a_name_longer_than_32_kib_is_read(tmp_path):
    name = "m/" + "n" * 40_000  # its length does not fit a signed 16-bit field
    with _open(tmp_path, [Member("m/version", b"3\n"), Member(name, b"data")]) as archive:
        assert archive.read(archive.find(name[2:])) == b"data"


def test_an_offset_past_what_a_file_can_hold_is_refused_saying_so(tmp_path):
    extra = struct.pack("<HHQ", 1, 8, 2**64 - 1)  # a zip64 offset of 2**64 - 1
    member = Member("m/a", b"x", central_extra=extra, header_offset=0xFFFFFFFF)
    with _open(tmp_path, [Member("m/version", b"3\n"), member]) as archive:
        assert _unreadable(archive.read, archive.find("a")).startswith("has an impossible offset (")


def test_an_end_record_zipfile_refuses_to_read_is_still_a_zip(tmp_path):
    data = bytearray(_saved(tmp_path))
    locator = data.rfind(b"PK\x06\x07")
    data[locator + 16:locator + 20] = struct.pack("<L", 2)  # "spans 2 disks": zipfile.is_zipfile raises
    path = tmp_path / "disks.pt"
    path.write_bytes(bytes(data))
    assert zipcheck.is_zip(path) is True  # so the loaders ask SafeZip, which says what is wrong
    with pytest.raises(jitviz.NotTorchScriptFileError, match="not a zip archive"):
        zipcheck.SafeZip(path)


def _end_record(data, **fields):
    """``data`` with fields of its (plain) end record replaced: count, size (of the directory), comment."""
    at = data.rfind(b"PK\x05\x06")
    count, size, offset, comment = struct.unpack("<4x4xHxxLLH", data[at:at + 22])
    count, size, comment = fields.get("count", count), fields.get("size", size), fields.get("comment", comment)
    return data[:at] + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count & 0xFFFF, count & 0xFFFF, size, offset,
                                   comment) + data[at + 22:]


@pytest.mark.parametrize("fields, says", [
    ({"count": 40_000}, "has 40000 entries, more than the 30000 jitviz inspects"),  # past a signed 16-bit count
    ({"size": 0x90000000}, f"has a {0x90000000}-byte list of entries"),  # past a signed 32-bit size
])
def test_counts_in_the_end_record_are_refused_before_the_directory_is_parsed(tmp_path, add_one, monkeypatch,
                                                                              fields, says):
    path = tmp_path / "big.pt"
    path.write_bytes(_end_record(zipforge.write(tmp_path / "m.pt", add_one).read_bytes(), **fields))
    monkeypatch.setattr(zipcheck, "MAX_ENTRIES", 30_000)
    monkeypatch.setattr(zipcheck.zipfile, "ZipFile", None)  # calling it would fail with a TypeError
    with pytest.raises(jitviz.NotTorchScriptFileError, match=f"^'big.pt' {says}"):
        zipcheck.SafeZip(path)


def test_a_longest_comment_does_not_hide_the_end_record(tmp_path, add_one, monkeypatch):
    data = _end_record(zipforge.write(tmp_path / "m.pt", add_one).read_bytes(), comment=0xFFFF) + b"c" * 0xFFFF
    path = tmp_path / "comment.pt"
    path.write_bytes(data)
    monkeypatch.setattr(zipcheck, "MAX_ENTRIES", len(add_one) - 1)
    monkeypatch.setattr(zipcheck.zipfile, "ZipFile", None)
    with pytest.raises(jitviz.NotTorchScriptFileError, match=f"has {len(add_one)} entries, more than"):
        zipcheck.SafeZip(path)


def test_an_end_record_that_understates_its_entries_is_caught_after_parsing(tmp_path, add_one, monkeypatch):
    path = tmp_path / "few.pt"
    path.write_bytes(_end_record(zipforge.write(tmp_path / "m.pt", add_one).read_bytes(), count=1))
    monkeypatch.setattr(zipcheck, "MAX_ENTRIES", len(add_one) - 1)
    with pytest.raises(jitviz.NotTorchScriptFileError) as caught:
        zipcheck.SafeZip(path)  # zipfile reads the whole directory whatever the count says
    assert str(caught.value) == (f"'few.pt' has {len(add_one)} entries, more than the {len(add_one) - 1} jitviz "
                                 "inspects; a TorchScript file has a few per module and tensor, so this is not one.")


def test_opening_a_large_file_reads_only_its_end_and_directory(tmp_path, add_one, monkeypatch):
    path = zipforge.write(tmp_path / "big.pt", add_one + [Member("m/data/0", _noise(2_000_000, 256))])
    files = []

    def counted_open(path, mode):
        files.append(_Counted(path, "r"))
        return io.BufferedReader(files[-1])

    monkeypatch.setattr(zipcheck, "open", counted_open, raising=False)
    with zipcheck.SafeZip(path) as archive:
        assert len(archive.infos) == len(add_one) + 1
    assert files[0].count < 200_000  # of 2 MB


def test_an_empty_archive_is_refused_as_not_torchscript(tmp_path):
    path = zipforge.write(tmp_path / "empty.pt", [])
    with zipcheck.SafeZip(path) as archive:
        assert archive.infos == [] and archive.folder == ""
    with pytest.raises(jitviz.NotTorchScriptFileError, match="is a zip archive without a code/ folder"):
        jitviz.inspect_archive(path)


def test_a_zip64_count_past_a_signed_64_bit_integer_is_refused_before_parsing(tmp_path, monkeypatch):
    data = bytearray(_saved(tmp_path))
    at, _, _ = _zip64_fields(data)
    data[at + 24:at + 40] = struct.pack("<QQ", 2**63, 2**63)  # entries on this disk, entries in all
    end = data.rfind(b"PK\x05\x06")
    data[end + 8:end + 12] = struct.pack("<HH", 0xFFFF, 0xFFFF)
    path = tmp_path / "z64.pt"
    path.write_bytes(bytes(data))
    monkeypatch.setattr(zipcheck.zipfile, "ZipFile", None)
    with pytest.raises(jitviz.NotTorchScriptFileError, match=f"^'z64.pt' has {2**63} entries, more than"):
        zipcheck.SafeZip(path)
