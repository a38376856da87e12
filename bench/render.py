"""Time from a model to jitviz's graph model, to DOT and to SVG, with node counts.

Run:  .venv/bin/python bench/render.py [--repeat N]

Targets on the 2-core reference machine, after `import torch`: traced ResNet-18 and traced 6-layer
encoder to SVG under 0.5 s each, scripted ones under 1 s; no graph under 3,000 drawn nodes over 3 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from models import ResNet18Like, seed_branchy, seed_branchy_bool, seed_double, transformer_encoder  # noqa: E402

import jitviz  # noqa: E402
from jitviz.render import draw  # noqa: E402


def cases():
    image = torch.randn(1, 3, 64, 64)
    tokens = torch.randn(2, 16, 256)
    resnet = ResNet18Like().eval()
    encoder = transformer_encoder(6, 256)
    return [
        ("seed x*2, traced", seed_double, (torch.ones(2, 2),)),
        ("seed if, traced", seed_branchy, (torch.ones(2, 2),)),
        ("seed if+bool, scripted", torch.jit.script(seed_branchy_bool), ()),
        ("ResNet-18-like, traced", resnet, (image,)),
        ("ResNet-18-like, scripted", resnet, ()),
        ("6-layer encoder, traced", encoder, (tokens,)),
        ("6-layer encoder, scripted", encoder, ()),
        ("ResNet-18-like, traced, expanded", resnet, (image,), {"expand_calls": True}),
        ("ResNet-18-like, scripted, expanded", resnet, (), {"expand_calls": True}),
        ("6-layer encoder, traced, expanded", encoder, (tokens,), {"expand_calls": True}),
        ("6-layer encoder, scripted, 1 level", encoder, (), {"expand_calls": 1}),
    ]


def measure(obj, inputs, repeat, options):
    """Median seconds from the object to the model, to DOT, and to SVG (each from scratch)."""
    to_model, to_source, to_svg = [], [], []
    for _ in range(repeat):
        start = time.perf_counter()
        model = jitviz.graph(obj, *inputs, **options)
        t_model = time.perf_counter()
        drawing = draw(model)
        dot = drawing.dot
        _ = dot.source
        t_dot = time.perf_counter()
        svg = jitviz.GraphView(model, drawing).svg()
        t_svg = time.perf_counter()
        to_model.append(t_model - start)
        to_source.append(t_dot - start)
        to_svg.append(t_svg - start)
    drawn = drawing.node_count
    return model, drawn, len(svg), statistics.median(to_model), statistics.median(to_source), statistics.median(to_svg)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of {args.repeat}")
    print(f"{'case':36} {'IR nodes':>8} {'drawn':>6} {'model s':>8} {'DOT s':>7} {'SVG s':>7}")
    for name, obj, inputs, *options in cases():
        try:
            model, drawn, _, t_model, t_dot, t_svg = measure(obj, inputs, args.repeat, *options or [{}])
        except jitviz.GraphTooLargeError as error:
            print(f"{name:36} refused: {str(error).split(';')[0]}")
            continue
        print(f"{name:36} {len(list(model.walk())):8d} {drawn:6d} {t_model:8.3f} {t_dot:7.3f} {t_svg:7.3f}")


if __name__ == "__main__":
    main()
