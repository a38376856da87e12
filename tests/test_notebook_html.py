"""A notebook shared as HTML (`jupyter nbconvert --to html`) keeps its pictures as inline SVG."""

import base64
import re
from pathlib import Path

import nbformat
import pytest
from nbconvert import HTMLExporter

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def _svg_outputs(notebook) -> int:
    count = 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/svg+xml" in data:
                count += 1
            count += data.get("text/html", "").count("<svg")  # jitviz.compare's two pictures
    return count


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_html_export_keeps_every_picture_as_svg(path):
    notebook = nbformat.read(path, as_version=4)
    expected = _svg_outputs(notebook)
    html, _ = HTMLExporter().from_notebook_node(notebook)
    if path.stem.startswith(("00", "01", "02", "03", "04")):
        assert expected > 0, "this notebook draws graphs: its committed outputs should hold them"
    # nbconvert embeds image/svg+xml outputs as base64 data URIs; HTML outputs keep theirs inline
    embedded = [base64.b64decode(data).decode("utf-8")
                for data in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)]
    assert all(svg.startswith("<svg") and svg.rstrip().endswith("</svg>") for svg in embedded)
    inline = html[html.find("<body"):].count("<svg")
    assert len(embedded) + inline >= expected
