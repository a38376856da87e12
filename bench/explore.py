"""Time one explorer update (a control moved: run eager, traced, scripted; repaint the picture).

Run:  .venv/bin/python bench/explore.py [--repeat N]

Target on the 2-core reference machine: under 100 ms per update for the seed functions, since the
layout is computed once and an update only repaints. For contrast it also prints the time of one
fresh layout of the same picture (what an update would cost if it re-ran Graphviz).
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

from models import seed_branchy, seed_branchy_bool, seed_double  # noqa: E402

import jitviz  # noqa: E402


def filled(fill):
    return (torch.full((2, 2), fill),)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"torch {torch.__version__}, median of {args.repeat} updates")
    print(f"{'seed function':24} {'update ms':>10} {'max ms':>8} {'fresh layout ms':>16}")
    for name, fn in [("x * 2", seed_double), ("if (traced away)", seed_branchy), ("if + bool", seed_branchy_bool)]:
        explorer = jitviz.explore(fn, inputs=filled, example=(torch.ones(2, 2),), fill=(0.0, 3.0, 0.5))
        times = []
        for step in range(args.repeat):
            start = time.perf_counter()
            explorer.set(fill=0.5 * (step % 7))
            times.append(time.perf_counter() - start)
        start = time.perf_counter()
        jitviz.show(fn, *filled(1.0), highlight=True).svg()
        fresh = time.perf_counter() - start
        print(f"{name:24} {statistics.median(times) * 1e3:10.2f} {max(times) * 1e3:8.2f} {fresh * 1e3:16.1f}")


if __name__ == "__main__":
    main()
