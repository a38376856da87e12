"""Do pictures of real library code read well? Drawn nodes, picture size and time, beside torchview.

Run:  ./dev.sh bench        (installs the `bench` extra: torchview, transformers; then runs this)
      .venv/bin/python bench/readability.py [--repeat N] [--only NAME ...]

For every model of bench/zoo.py (torch.nn layers, torchvision-style models, Hugging Face BERT and
GPT-2 built from a small config when `transformers` is installed), and for each way jitviz can
get its graph (traced, scripted, exported), the default view's drawn node count, its size in
points, and the median time from the call to the SVG; for the traced view, torchview's median time
from the call to its SVG on the same model and inputs, the two run in turn, and the ratio. The
first picture of each is not timed (jitviz's first also starts the spare ``dot`` that each later
picture finds warm: jitviz.layout).

Targets (issue 11): scripted TransformerEncoderLayer at most 60 nodes and 2,500 pt wide, GRUCell at
most 30 nodes, every default view no slower than torchview's, no picture under the node budget
laying out in more than 5 s.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import zoo  # noqa: E402

import jitviz  # noqa: E402


def _median_seconds(make, repeat: int, other=None) -> tuple[float, float | None]:
    """Median seconds of ``make`` (and of ``other``, run in turn with it, so that both see the same
    load on a busy machine)."""
    times: list[float] = []
    others: list[float] = []
    for _ in range(repeat):
        for job, into in ((make, times), (other, others)):
            if job is not None:
                start = time.perf_counter()
                job()
                into.append(time.perf_counter() - start)
    return statistics.median(times), (statistics.median(others) if others else None)


def _size(svg: str) -> str:
    match = re.search(r'width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    return f"{float(match.group(1)):.0f}x{float(match.group(2)):.0f}" if match else "?"


def _torchview(module, inputs):
    try:
        from torchview import draw_graph
    except ImportError:
        return None

    def make():
        graph = draw_graph(module, input_data=list(inputs), graph_name="m", save_graph=False)
        return graph.visual_graph.pipe(format="svg")

    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {args.repeat} runs each, median seconds from the call to the SVG")
    print(f"{'model':24} {'view':9} {'nodes':>5} {'size (pt)':>11} {'jitviz s':>9} {'torchview s':>11} {'ratio':>6}")
    for case in zoo.cases():
        if args.only and case.name not in args.only:
            continue
        module, inputs = case.build()
        views = []
        if case.trace:
            views.append(("traced", lambda m=module, i=inputs: jitviz.show(m, *i)))
        if case.script:
            scripted = torch.jit.script(module)
            views.append(("scripted", lambda s=scripted: jitviz.show(s)))
        if case.export:
            try:
                program = torch.export.export(module, inputs, strict=False)
                views.append(("exported", lambda p=program: jitviz.show(p)))
            except Exception as error:  # some library code does not export; say so and go on
                print(f"{case.name:24} {'exported':9} could not export: {str(error).splitlines()[0][:60]}")
        for view, show in views:
            picture = show()
            svg = picture.svg()
            other = _torchview(module, inputs) if view == "traced" else None
            if other is not None:
                other()  # its first call, like jitviz's above, is not timed
            seconds, theirs = _median_seconds(lambda show=show: show().svg(), args.repeat, other)
            ratio = f"{seconds / theirs:6.2f}" if theirs else ""
            theirs_text = f"{theirs:11.3f}" if theirs else ""
            print(f"{case.name:24} {view:9} {picture.drawing.node_count:5} {_size(svg):>11} "
                  f"{seconds:9.3f} {theirs_text:>11} {ratio:>6}")


if __name__ == "__main__":
    main()
