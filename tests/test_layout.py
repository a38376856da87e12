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



def _spare():
    from jitviz import layout

    (spare,) = layout._SPARES.values()
    return spare._process


def test_pictures_come_from_a_dot_started_ahead_and_are_what_a_fresh_dot_draws():
    from jitviz.layout import _run

    fresh = _run(["dot", "-Tsvg"], _source(), "svg", 10)
    run_dot(_source(), "svg")
    spare = _spare()
    drawn = [run_dot(_source(), "svg") for _ in range(3)]
    assert spare.returncode == 0 and _spare().poll() is None  # it drew, and another one waits
    assert drawn == [fresh] * 3  # the same bytes: no "page0,1_" ids, clusters in the same order
    tricky = run_dot('digraph { a [label="</svg>\\n<svg>"] }', "svg").decode()  # escaped: not the end
    assert tricky.count("</svg>") == 1 and "&lt;/svg&gt;" in tricky and "warm" not in tricky


def test_a_graph_dot_cannot_read_gives_its_error_and_the_next_picture_draws():
    from jitviz.errors import JitvizError

    run_dot(_source(), "svg")
    with pytest.raises(JitvizError, match="syntax error"):
        run_dot("digraph { a -> }", "svg")
    assert "looping" in run_dot(_source(), "svg").decode()


def test_a_dot_started_ahead_keeps_to_the_time_budget():
    run_dot(_source(), "svg")
    assert "laid out by sfdp" in run_dot(_source(), "svg", timeout=1e-4).decode()
    assert "laid out by sfdp" not in run_dot(_source(), "svg").decode()
