"""Without Graphviz's `dot`, every picture is laid out in the browser, with what ran painted in."""

import warnings

import pytest
import torch

import jitviz
import jitviz.display
from jitviz.browser import layout_widget
from jitviz.style import RUN_STYLES as PALETTE

from . import pitfalls
from . import seed_functions as seed

WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(autouse=True)
def no_dot(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no `dot` anywhere on PATH
    monkeypatch.setattr("jitviz.browser._WARNED_NO_DOT", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the once-per-session "dot is missing"
        yield


def _laid_out(widget):
    """The DOT the browser is asked to lay out inside ``widget`` (a box holding the layout)."""
    found = layout_widget(widget)
    assert found is not None, "no browser layout in this output"
    return found.dot_source


def test_a_highlighted_picture_is_laid_out_in_the_browser_with_its_counts_and_colours(monkeypatch):
    laid_out = []
    real = jitviz.display.browser_layout
    monkeypatch.setattr("jitviz.display.browser_layout", lambda source: laid_out.append(source) or real(source))
    view = jitviz.show(seed.branchy_bool, torch.ones(2, 2), highlight=True)
    assert WIDGET in view._repr_mimebundle_()
    (source,) = laid_out
    assert "else · ran 1×" in source and "then · not run" in source and "ran ?×" not in source
    grey = PALETTE["not_run"]
    then_block = next(line for line in source.splitlines() if "then · not run" in line)
    assert f'color="{grey["stroke"]}"' in then_block and f'fillcolor="{grey["fill"]}"' in then_block
    assert "ran 1×" not in view.source  # the unpainted DOT stays as drawn
    assert source.count("penwidth=2.5") == sum(
        1 for node in view.model.walk() for i in range(len(node.blocks)) if view.execution.runs(f"{node.id}/{i}"))


def test_compare_shows_its_table_and_both_pictures_in_the_browser():
    c = jitviz.compare(pitfalls.branch, (torch.ones(2, 2),), [torch.full((2, 2), 3.0)])
    bundle = c._repr_mimebundle_()
    assert WIDGET in bundle and bundle["text/plain"] == repr(c)
    assert "✗" in bundle["text/plain"] or "BAD" in bundle["text/plain"]


def test_diff_shows_in_the_browser():
    scripted = torch.jit.script(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)).eval())
    d = jitviz.diff(scripted, torch.jit.freeze(scripted))
    bundle = d._repr_mimebundle_()
    assert WIDGET in bundle and "aten::batch_norm: 1 -> 0" in bundle["text/plain"]


def test_explore_builds_and_moves_the_highlight_in_the_browser_layout():
    explorer = jitviz.explore(seed.branchy_bool, inputs=lambda fill: (torch.full((2, 2), fill),), fill=(0.0, 3.0, 0.5))
    explorer.set(fill=0.5)
    low = _laid_out(explorer.picture)
    assert "else · ran 1×" in low and "then · not run" in low
    explorer.set(fill=2.5)
    high = _laid_out(explorer.picture)
    assert "then · ran 1×" in high and "else · not run" in high
    assert explorer.widget.children[-1] is explorer.picture


def test_ipython_formats_reports_without_printing_a_traceback(capsys):
    from IPython.core.formatters import DisplayFormatter

    scripted = torch.jit.script(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU()).eval())
    reports = [jitviz.compare(pitfalls.branch, (torch.ones(2, 2),), [torch.ones(2, 2)]),
               jitviz.diff(scripted, torch.jit.freeze(scripted))]
    for report in reports:
        data, _ = DisplayFormatter().format(report)
        assert WIDGET in data and "text/html" not in data
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out and "GraphvizNotFoundError" not in captured.err
