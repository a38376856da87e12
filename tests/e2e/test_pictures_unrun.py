"""A committed notebook opened in a fresh JupyterLab, not run and not trusted, shows its pictures.

A fresh profile has never trusted the committed notebooks, and JupyterLab does not draw an
untrusted ``image/svg+xml`` output: it falls back to the text ``<jitviz graph: 2 nodes>``. jitviz
therefore puts each picture in ``text/html`` too, as an ``<img>`` of the SVG, which the sanitizer
keeps. This opens every notebook that draws, without running a cell, and counts loaded images.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))

# Images drawn from an SVG data URI that the browser decoded (a broken one has no natural width).
_SVG_IMAGES = """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img')]
  .filter(img => img.src.startsWith('data:image/svg+xml') && img.complete && img.naturalWidth > 0).length"""


def _committed_pictures(name: str) -> int:
    """How many outputs of the committed notebook are jitviz pictures (``jitviz.show`` and kin)."""
    notebook = json.loads((ROOT / "notebooks" / name).read_text())
    return sum(
        "".join(output.get("data", {}).get("text/plain", [])).startswith("<jitviz graph:")
        for cell in notebook["cells"] for output in cell.get("outputs", [])
    )


DRAWN = [name for name in NOTEBOOKS if _committed_pictures(name)]


@pytest.fixture(scope="module")
def opened_unrun(browser, lab):
    """Each notebook opened once, not run, in JupyterLab's default layout in a 1280-pixel-wide
    window, its committed pictures given time to decode; the pages stay open for both tests."""
    pages = {}

    def open_unrun(name: str):
        if name not in pages:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(lab.notebook_url(name))
            page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=90_000)
            page.locator(".jp-NotebookPanel .jp-OutputArea-output").first.wait_for(timeout=30_000)
            with contextlib.suppress(PlaywrightTimeout):  # counted by the tests, with a message saying what shows
                page.wait_for_function(f"() => ({_SVG_IMAGES})() >= {_committed_pictures(name)}", timeout=30_000,
                                       polling=250)
            pages[name] = page
        return pages[name]

    yield open_unrun
    for page in pages.values():
        page.close()


@pytest.mark.parametrize("name", DRAWN)
def test_pictures_show_when_a_notebook_is_opened_unrun_and_untrusted(opened_unrun, name):
    expected = _committed_pictures(name)
    page = opened_unrun(name)
    assert page.locator(".jp-NotebookPanel .jp-CodeCell .jp-InputPrompt", has_text="*").count() == 0
    # a result shown as its text/plain fallback (a printed `print(view)` is stdout, and meant)
    shown_as_text = page.locator(".jp-NotebookPanel .jp-RenderedText[data-mime-type='text/plain']",
                                 has_text="<jitviz graph:").count()
    assert shown_as_text == 0, f"{shown_as_text} of {expected} pictures show as text, not as pictures"
    assert page.evaluate(_SVG_IMAGES) >= expected


# Node labels are drawn at 11 pt, 14.7 CSS px when a picture is shown at its own size; a picture
# shrunk to fit the notebook column shows them smaller. 9 px is the smallest size read comfortably.
_LABEL_PX = 11 * 96 / 72
_SMALLEST_PX = 9.0
_SCALES = """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img')]
  .filter(img => img.src.startsWith('data:image/svg+xml') && img.complete && img.naturalWidth > 0)
  .map(img => [(img.closest('.jp-Cell')?.querySelector('.jp-InputArea-editor')?.textContent || '?').slice(0, 60),
               img.clientWidth / img.naturalWidth])"""


@pytest.mark.parametrize("name", DRAWN)
def test_every_picture_is_shown_large_enough_to_read_its_labels(opened_unrun, name):
    small = [(cell, round(_LABEL_PX * scale, 1)) for cell, scale in opened_unrun(name).evaluate(_SCALES)
             if _LABEL_PX * scale < _SMALLEST_PX]
    assert small == [], f"labels under {_SMALLEST_PX} px (the cell's code, px): {small}"
