"""Deeply nested control flow: time to SVG and picture size, for ifs inside loops inside ifs.

Run:  .venv/bin/python bench/nesting.py [DEPTH ...] [--option nesting=6]

``nested_source(depth)`` writes a TorchScript function whose ``if``s and ``for``s alternate ``depth``
levels deep, each level adding to ``x``; it is compiled with ``torch.jit.CompilationUnit`` (TorchScript's
own parser: Python's refuses more than 100 levels of indentation).
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jitviz  # noqa: E402


def nested_source(depth: int, name: str = "nested") -> str:
    """``if n > 0:`` / ``for i1 in range(n):`` / ``if n > 2:`` ... ``depth`` levels, ``x = x + level`` in each."""
    lines = [f"def {name}(x: Tensor, n: int) -> Tensor:"]
    for level in range(depth):
        indent = "    " * (level + 1)
        lines.append(f"{indent}if n > {level}:" if level % 2 == 0 else f"{indent}for i{level} in range(n):")
        lines.append(f"{indent}    x = x + {level}")
    lines.append("    return x * 2")
    return "\n".join(lines) + "\n"


def nested(depth: int) -> torch.jit.ScriptFunction:
    """The ``depth``-deep function, scripted."""
    return torch.jit.CompilationUnit(nested_source(depth)).nested


def measure(depth: int, **options: object) -> dict[str, object]:
    function = nested(depth)
    start = time.perf_counter()
    view = jitviz.show(function, **options)
    svg = view.svg()
    seconds = time.perf_counter() - start
    width, height = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups()  # type: ignore[union-attr]
    return {"depth": depth, "seconds": round(seconds, 2), "nodes": view.drawing.node_count,
            "size_pt": f"{float(width):,.0f} x {float(height):,.0f}"}


def main(argv: list[str]) -> None:
    options: dict[str, object] = {}
    depths = []
    for arg in argv:
        if "=" in arg:
            key, value = arg.split("=", 1)
            options[key] = int(value)
        else:
            depths.append(int(arg))
    for depth in depths or [30, 100, 200]:
        print(measure(depth, **options), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
