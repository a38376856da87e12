"""Big models: drawn node counts and the median time from the call to SVG, default and expanded.

Run:  .venv/bin/python bench/large.py [--repeat N]

Targets on the 2-core reference machine, after `import torch`: every default view under 1 s; the
fully expanded traced 12-layer encoder under 2 s; nothing over 10 s at any setting below the node
budget (over it, jitviz draws the deepest expansion that fits, and the row says so).
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

from models import ResNet50Like, transformer_encoder  # noqa: E402

import jitviz  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    torch.manual_seed(0)
    resnet = ResNet50Like().eval()
    encoder = transformer_encoder(12, 256)
    image, tokens = torch.randn(1, 3, 64, 64), torch.randn(2, 16, 256)
    # traced and scripted once, outside the timing: the rows time jitviz, not torch.jit
    models = {
        "ResNet-50-like, traced": torch.jit.trace(resnet, image, check_trace=False),
        "ResNet-50-like, scripted": torch.jit.script(resnet),
        "12-layer encoder, traced": torch.jit.trace(encoder, tokens, check_trace=False),
        "12-layer encoder, scripted": torch.jit.script(encoder),
    }
    print(f"torch {torch.__version__}, median of {args.repeat}, node budget {jitviz.render.DEFAULT_MAX_NODES}")
    print(f"{'model':28} {'view':10} {'IR nodes':>8} {'drawn':>6} {'to SVG s':>9}  note")
    for name, module in models.items():
        for view, expand in (("default", False), ("expanded", True)):
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                picture = jitviz.show(module, expand_calls=expand)
                picture.svg()
                times.append(time.perf_counter() - start)
            drawn = picture.drawing.node_count
            note = "; ".join(picture.model.notes)[:60]
            print(f"{name:28} {view:10} {len(list(picture.model.walk())):8d} {drawn:6d} "
                  f"{statistics.median(times):9.3f}  {note}")


if __name__ == "__main__":
    main()
