"""Every notebook opened in JupyterLab and run in Chromium: no errors, every picture rendered,
and the widgets answer when a user changes them."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from jitviz.style import RUN_STYLES as PALETTE

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
DOCS = ROOT / "docs"
RUN_TIMEOUT_MS = 150_000
RUNNING_AT_ONCE = 3

_ALL_PROMPTS_DONE = """() => {
  const prompts = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')]
    .map(p => p.textContent.trim());
  return prompts.length > 0 && prompts.every(t => /^\\[\\d+\\]:$/.test(t));
}"""
# A picture is shown as an <img> of its SVG inside HTML, which JupyterLab renders even untrusted.
_PICTURE = '.jp-OutputArea-output img[src^="data:image/svg+xml"]'
_BROKEN_IMAGES = f"""() => [...document.querySelectorAll('{_PICTURE}')]
  .filter(img => !img.complete || img.naturalWidth === 0).length"""


def _expected_pictures(name: str) -> tuple[int, int]:
    """(pictures as <img> of an SVG, inline <svg> in HTML) in the committed notebook's outputs.

    Widget outputs are left out: in a live notebook the widget is shown, not its HTML fallback.
    """
    notebook = json.loads((ROOT / "notebooks" / name).read_text())
    images = html = 0
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "application/vnd.jupyter.widget-view+json" in data:
                continue
            text = "".join(data.get("text/html", []))
            images += text.count('src="data:image/svg+xml')
            html += text.count("<svg")
    return images, html


def _menu(page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
    page.get_by_role("menuitem", name=item, exact=True).click()


def _start_running(browser, lab, name):
    """Open a notebook, wait for its kernel, clear the committed outputs, run every cell (not waiting)."""
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(lab.notebook_url(name))
    page.locator(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']").last.wait_for(
        state="attached", timeout=90_000)
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=90_000)
    assert page.locator(".jp-NotebookPanel").count() == 1, "another notebook was restored beside it"
    _menu(page, "Edit", "Clear Outputs of All Cells")
    _menu(page, "Run", "Run All Cells")
    return page


def _wait_until_run(page, name, screenshots):
    try:
        page.wait_for_function(_ALL_PROMPTS_DONE, timeout=RUN_TIMEOUT_MS, polling=500)
    except Exception:
        page.screenshot(path=str(screenshots / f"{Path(name).stem}-timeout.png"))
        prompts = page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
        pytest.fail(f"{name} did not finish running in {RUN_TIMEOUT_MS // 1000} s; prompts {prompts}")
    return page


def _run_all(browser, lab, name, screenshots):
    """Open a notebook, wait for its kernel, clear the committed outputs, run every cell to the end."""
    return _wait_until_run(_start_running(browser, lab, name), name, screenshots)


def _cell(page, text: str, nth: int = 0):
    """The code cell whose source contains `text` (the nth such cell)."""
    return page.locator(".jp-CodeCell").filter(has=page.locator(".jp-InputArea", has_text=text)).nth(nth)


def _set_slider(cell, value) -> None:
    """Type a value into the slider's readout in ``cell``, as a user can, and press Enter."""
    readout = cell.locator(".widget-slider .widget-readout").first
    readout.click()
    cell.page.keyboard.press("Control+A")
    cell.page.keyboard.type(str(value))
    cell.page.keyboard.press("Enter")


@pytest.fixture(scope="module")
def pages(browser, lab, screenshots):
    """Each notebook run once, in its own page, kept open for the checks that follow."""
    opened = {}
    running: list[str] = []  # a few kernels at once: one waits on its start while another computes

    def finish(name):
        _wait_until_run(opened[name], name, screenshots).screenshot(path=str(screenshots / f"{Path(name).stem}.png"))

    for name in NOTEBOOKS:
        if len(running) == RUNNING_AT_ONCE:
            finish(running.pop(0))
        opened[name] = _start_running(browser, lab, name)
        running.append(name)
    for name in running:
        finish(name)
    yield opened
    for page in opened.values():
        page.close()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_without_errors_and_draws_every_picture(pages, name):
    page = pages[name]
    stderr = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    tracebacks = [t for t in stderr.all_inner_texts() if "Traceback (most recent call last)" in t]
    assert tracebacks == []
    assert page.get_by_text("Cannot display an untrusted SVG").count() == 0
    svg, html = _expected_pictures(name)
    assert page.locator(_PICTURE).count() == svg
    assert page.evaluate(_BROKEN_IMAGES) == 0  # each picture decoded to a real image, not an empty box
    assert page.locator(".jp-RenderedHTMLCommon svg").count() >= html
    if svg:
        box = page.locator(_PICTURE).first.bounding_box()
        assert box and box["width"] > 50 and box["height"] > 50


def test_tracing_slider_moves_the_eager_and_traced_outputs_and_the_mismatch_mark(pages):
    page = pages["01_tracing.ipynb"]
    table = _cell(page, "explorer = jitviz.explore(").locator(".widget-html-content table")
    _set_slider(_cell(page, "explorer = jitviz.explore("), "0.5")
    expect(table).not_to_contain_text("✗", timeout=15_000)
    expect(table).to_contain_text("tensor(2.)")
    _set_slider(_cell(page, "explorer = jitviz.explore("), "2.5")
    expect(table).to_contain_text("✗ differs from eager", timeout=15_000)
    expect(table).to_contain_text("tensor(1.)")


def test_scripting_slider_moves_the_highlighted_branch(pages):
    page = pages["02_scripting.ipynb"]
    picture = _cell(page, "explorer = jitviz.explore(").locator(".widget-html-content svg")
    _set_slider(_cell(page, "explorer = jitviz.explore("), "0.5")
    expect(picture).to_contain_text("else · ran 1×", timeout=15_000)
    expect(picture).to_contain_text("then · not run")
    _set_slider(_cell(page, "explorer = jitviz.explore("), "2.5")
    expect(picture).to_contain_text("then · ran 1×", timeout=15_000)
    expect(picture).to_contain_text("else · not run")


def test_mixing_decode_steps_follow_the_control(pages):
    page = pages["03_mixing.ipynb"]
    table = _cell(page, "explorer = jitviz.explore(").locator(".widget-html-content table")
    for steps in (2, 5):
        _set_slider(_cell(page, "explorer = jitviz.explore("), str(steps))
        tokens = r"\[" + r",\s*".join([r"\d+"] * steps) + r"\]"  # eager's list of `steps` tokens
        expect(table).to_contain_text(re.compile(tokens), timeout=15_000)
        expect(table).not_to_contain_text("✗")


def test_screenshots_of_the_key_pictures(pages, screenshots):
    """The README's pictures: the frozen trace, the highlighted prim::If, trace vs script."""
    tracing, scripting = pages["01_tracing.ipynb"], pages["02_scripting.ipynb"]
    shots = {
        "frozen_trace.png": _cell(tracing, "jitviz.show(ftrace)", nth=1).locator(_PICTURE),
        "trace_vs_script.png": _cell(tracing, "comparison = jitviz.compare(").locator(".jp-OutputArea-output").last,
        "highlighted_if.png": _cell(scripting, "highlight=True)", nth=0).locator(_PICTURE),
    }
    update_docs = os.environ.get("JITVIZ_UPDATE_DOCS", "").lower() in ("1", "yes", "true")
    for filename, element in shots.items():
        page = element.page
        box = element.bounding_box()
        assert box is not None, filename
        # tall enough that the whole output fits, so no toolbar or status bar lies over it
        page.set_viewport_size({"width": 1500, "height": int(box["height"]) + 400})
        element.scroll_into_view_if_needed()
        element.screenshot(path=str(screenshots / filename))
        _assert_shows_a_picture(screenshots / filename, element.bounding_box(), green=filename == "highlighted_if.png")
        if update_docs:
            DOCS.mkdir(exist_ok=True)
            shutil.copy(screenshots / filename, DOCS / filename)


def _assert_shows_a_picture(path: Path, box: dict, green: bool) -> None:
    """The screenshot is the whole element, drawn: its size, many colours, not one flat background;
    with ``green``, the highlight's green (what ran) is in it."""
    from PIL import Image  # Pillow comes with matplotlib, which the notebooks need

    with Image.open(path) as image:
        rgb = image.convert("RGB")
    assert (abs(rgb.width - box["width"]) <= 2 and abs(rgb.height - box["height"]) <= 2), (rgb.size, box)
    colours = rgb.getcolors(maxcolors=rgb.width * rgb.height)
    background_count, _ = max(colours)
    drawn = 1 - background_count / (rgb.width * rgb.height)
    assert len(colours) > 16 and drawn > 0.02, f"{path.name} looks blank: {len(colours)} colours, {drawn:.1%} drawn"
    if green:
        stroke = tuple(int(PALETTE["ran"]["stroke"][i:i + 2], 16) for i in (1, 3, 5))
        # the outline of the block that ran: hundreds of pixels (anti-aliasing alone gives a few)
        outline = sum(count for count, colour in colours
                      if all(abs(a - b) <= 8 for a, b in zip(colour, stroke, strict=True)))
        assert outline > 100, f"{path.name} has {outline} pixels of the highlight's green {PALETTE['ran']['stroke']}"


NO_DOT_NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": [
            "import os, torch, jitviz\n",
            "os.environ['PATH'] = '/nonexistent'  # as if Graphviz were not installed\n",
            "class Net(torch.nn.Module):\n",
            "    def __init__(self):\n",
            "        super().__init__()\n",
            "        self.fc1 = torch.nn.Linear(4, 8)\n",
            "        self.fc2 = torch.nn.Linear(8, 2)\n",
            "    def forward(self, x):\n",
            "        return self.fc2(torch.relu(self.fc1(x)))\n",
            "net = torch.jit.script(Net())\n",
            "jitviz.show(net)"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": ["viewer = jitviz.explore_graph(net)\n", "viewer"]},
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}


def test_without_graphviz_pictures_are_laid_out_in_the_browser(browser, lab, screenshots):
    (lab.root / "no_dot.ipynb").write_text(json.dumps(NO_DOT_NOTEBOOK))
    page = _run_all(browser, lab, "no_dot.ipynb", screenshots)
    try:
        show_output = _cell(page, "jitviz.show(net)").locator(".jp-OutputArea-output svg").first
        expect(show_output).to_contain_text("fc1: Linear", timeout=30_000)  # WASM Graphviz drew it
        viewer = _cell(page, "viewer = jitviz.explore_graph(net)")
        expect(viewer.locator(".jp-OutputArea-output svg").first).to_contain_text("fc2: Linear", timeout=30_000)
        viewer.get_by_label("expand", exact=True).select_option("fc1")  # open a submodule from the list
        expect(viewer.locator(".jp-OutputArea-output svg").first).to_contain_text("aten::linear", timeout=30_000)
        page.screenshot(path=str(screenshots / "no_dot.png"))
    finally:
        page.close()
