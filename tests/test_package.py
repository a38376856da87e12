"""The package as a user imports it: what ``import jitviz`` makes reachable."""

import sys

import pytest

import jitviz


def test_jitviz_cpp_is_reachable_after_a_plain_import(monkeypatch):
    # as in a fresh kernel: jitviz imported, jitviz.cpp never imported by anyone
    monkeypatch.delitem(sys.modules, "jitviz.cpp", raising=False)
    monkeypatch.delattr(jitviz, "cpp", raising=False)
    assert callable(jitviz.cpp.run) and callable(jitviz.cpp.build)
    assert sys.modules["jitviz.cpp"] is jitviz.cpp


def test_a_missing_attribute_is_still_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        jitviz.nope  # noqa: B018
    assert not hasattr(jitviz, "cpp_")
