"""A notebook shared as HTML (`jupyter nbconvert --to html`) keeps every picture it shows."""

import base64
import re
from html import unescape
from pathlib import Path

import nbformat
import pytest
from nbconvert import HTMLExporter

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def _pictures(notebook) -> list[tuple[str, str]]:
    """(mime type, data) of every picture in the committed outputs, HTML outputs holding SVG included."""
    pictures = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            pictures += [(mime, data[mime]) for mime in ("image/svg+xml", "image/png") if mime in data]
            if "<svg" in data.get("text/html", ""):  # jitviz.compare's two pictures in one table
                pictures.append(("text/html", data["text/html"]))
    return pictures


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_html_export_keeps_every_picture(path):
    notebook = nbformat.read(path, as_version=4)
    pictures = _pictures(notebook)
    assert pictures, "every notebook draws a graph or plots a measurement: its committed outputs should hold it"
    html, _ = HTMLExporter().from_notebook_node(notebook)
    # nbconvert embeds image outputs as base64 data URIs and writes HTML outputs into the page as they are
    embedded = {mime: [data.replace("\n", "") for data in re.findall(
        rf'src="data:image/{re.escape(mime)};base64,([^"]+)"', html)] for mime in ("svg+xml", "png")}
    svgs = [base64.b64decode(data).decode("utf-8") for data in embedded["svg+xml"]]
    for mime, data in pictures:
        if mime == "image/svg+xml":
            assert data in svgs and data.startswith("<svg") and data.rstrip().endswith("</svg>")
        elif mime == "image/png":
            assert data.replace("\n", "") in embedded["png"]
        else:  # nbconvert re-serialises HTML outputs (attributes sorted, lower case): compare what is drawn
            inner = re.findall(r"<svg\b.*?</svg>", data, re.DOTALL)
            assert inner and all(_texts(_exported(html, svg)) == _texts(svg) for svg in inner)


def _exported(html: str, svg: str) -> str:
    """The SVG in the exported page with the same viewBox as ``svg`` (empty when there is none)."""
    box = re.search(r'viewBox="([^"]+)"', svg).group(1)
    found = re.search(rf'<svg [^>]*viewbox="{re.escape(box)}".*?</svg>', html, re.DOTALL | re.IGNORECASE)
    return found.group(0) if found else ""


def _texts(svg: str) -> list[str]:
    """Every label the SVG draws, in order."""
    return [unescape(text) for text in re.findall(r"<text\b[^>]*>([^<]*)</text>", svg)]
