"""Every interactive output has a picture a viewer without widgets shows: an <img>, which survives
JupyterLab's sanitizer in a notebook opened unrun and untrusted (an inline <svg> does not)."""

from __future__ import annotations

import base64
import re

import pytest
import torch

import jitviz

from . import seed_functions as seed

pytestmark = pytest.mark.exe


def _pictures(html_text: str) -> list[str]:
    return [base64.b64decode(data).decode("utf-8")
            for data in re.findall(r'<img src="data:image/svg\+xml;base64,([^"]+)"', html_text)]


def test_explore_shows_its_first_picture_and_table_without_the_widget():
    explorer = jitviz.explore(seed.branchy, inputs=lambda fill: torch.full((2, 2), fill), fill=(0.0, 3.0))
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # a live kernel shows the widget
    static = bundle["text/html"]
    (picture,) = _pictures(static)
    assert picture.startswith("<svg") and "<svg" not in static
    assert "<table>" in static and "eager" in static and "Run the cell" in static


def test_explore_graph_shows_the_picture_it_starts_with_without_the_widget():
    viewer = jitviz.explore_graph(seed.TinyNet())
    static = viewer._repr_mimebundle_()["text/html"]
    (picture,) = _pictures(static)
    assert "<svg" not in static and 'class="node"' in picture and "fc1" in picture


def test_explain_shows_its_picture_as_an_image():
    static = jitviz.explain(seed.branchy, torch.ones(2, 2))._repr_mimebundle_()["text/html"]
    assert len(_pictures(static)) == 1 and "<svg" not in static
