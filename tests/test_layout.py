"""Layout within a time budget: a picture dot cannot lay out in time is laid out by sfdp, and says so."""

from __future__ import annotations

import pytest

import jitviz
from jitviz.layout import LayoutTimeoutError, run_dot

from . import seed_functions as seed

pytestmark = pytest.mark.exe


def _source() -> str:
    return jitviz.show(seed.looping).source


def test_a_picture_within_the_budget_is_laid_out_by_dot():
    svg = run_dot(_source(), "svg").decode()
    assert svg.lstrip().startswith("<?xml") and "laid out by sfdp" not in svg


def test_a_picture_over_the_budget_falls_back_to_sfdp_with_a_note_in_its_title():
    svg = run_dot(_source(), "svg", timeout=1e-4).decode()
    assert "laid out by sfdp" in svg and "looping (scripted)" in svg


def test_when_even_the_fallback_runs_out_of_time_the_error_says_what_to_do():
    with pytest.raises(LayoutTimeoutError, match="Draw less of it"):
        run_dot(_source(), "svg", timeout=1e-4, fallback_timeout=1e-4)


def test_a_picture_shown_in_a_cell_keeps_to_the_budget(monkeypatch):
    monkeypatch.setattr("jitviz.layout.LAYOUT_SECONDS", 1e-4)
    assert "laid out by sfdp" in jitviz.show(seed.looping).svg()


def test_a_png_is_drawn_at_a_size_a_bitmap_can_hold(tmp_path, monkeypatch):
    import struct

    monkeypatch.setattr("jitviz.display._PNG_PIXELS", 300)
    path = jitviz.show(seed.looping).save(tmp_path / "looping.png")
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    assert max(width, height) <= 300 + 2 and min(width, height) > 20
