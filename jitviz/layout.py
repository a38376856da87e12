"""Run Graphviz's ``dot`` on DOT text, within a time limit: ``run_dot(source, "svg")``.

Every picture is drawn by a ``dot`` started for it, so the same DOT gives the same bytes in any
process, in any order of calls and on a machine under any load. (A ``dot`` started ahead and kept
warm saved 10-20 ms a picture, but the order of its clusters then depended on what it had read
before, and its pipes tied a forked child to its parent.)

The layout engine never depends on time: a slow machine gives the same picture, later, and a
picture over :data:`LAYOUT_SECONDS` raises :class:`~jitviz.LayoutTimeoutError` with advice. Only
when ``dot`` *fails* (Graphviz 2.43's "trouble in init_rank" on some cluster-heavy pictures) is the
picture laid out again with ``-Gnewrank=true``, which ranks clusters another way, and its title
says so.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence

from .errors import GraphvizNotFoundError, JitvizError, LayoutTimeoutError

__all__ = ["run_dot", "LAYOUT_SECONDS"]

#: How long one run of ``dot`` may take before jitviz gives up with a :class:`LayoutTimeoutError`.
#: It only ends a picture; it never chooses another one (which would make a picture depend on load).
LAYOUT_SECONDS = 120.0

def run_dot(source: str, fmt: str, *, timeout: float | None = None, extra: Sequence[str] = ()) -> bytes:
    """Lay ``source`` out with ``dot`` and render it as ``fmt`` (``svg``, ``png``, ``pdf``, ``dot``).

    ``timeout`` defaults to :data:`LAYOUT_SECONDS`. If ``dot`` fails on a picture it can read,
    the picture is laid out again with ``-Gnewrank=true`` and its title says so; an error only
    reaches the caller when that fails too (or the DOT itself is wrong).
    """
    timeout = LAYOUT_SECONDS if timeout is None else timeout
    try:
        return _run(["dot", *extra, f"-T{fmt}"], source, fmt, timeout)
    except _DotFailedError as failure:
        if "syntax error" in failure.reason:  # the DOT itself is wrong: no layout will read it
            raise JitvizError(f"Graphviz could not draw this picture: {failure.reason}") from None
        first = failure.reason
    note = f"laid out with dot -Gnewrank=true: dot's default ranking failed ({_short(first)})"
    try:
        return _run(["dot", "-Gnewrank=true", *extra, f"-T{fmt}"], _retitled(source, note), fmt, timeout)
    except _DotFailedError as failure:
        raise JitvizError(f"Graphviz could not draw this picture: {first}; with -Gnewrank=true: "
                          f"{failure.reason}. Draw less of it, or use jitviz.explore_graph(...).") from None


class _DotFailedError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _run(command: list[str], source: str, fmt: str, timeout: float) -> bytes:
    program = shutil.which(command[0])
    if program is None:
        raise GraphvizNotFoundError(f"Drawing {fmt.upper()}")
    try:
        done = subprocess.run([program, *command[1:]], input=source.encode("utf-8"), capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as error:
        raise LayoutTimeoutError(
            f"Graphviz did not lay this picture out within {timeout:g} s. Draw less of it: leave calls "
            "collapsed, draw one submodule (jitviz.show(model.layer1, ...)), or use "
            "jitviz.explore_graph(...) to lay it out in the browser."
        ) from error
    except OSError as error:  # a 'dot' that is not a program, or one that closed its input at once
        raise JitvizError(f"Graphviz's {program!r} could not be run: {error}. Reinstall Graphviz.") from error
    if done.returncode != 0 or not done.stdout:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()[:3]
        raise _DotFailedError(" ".join(lines) or f"it exited with status {done.returncode} and drew nothing")
    return done.stdout


def _short(reason: str, limit: int = 80) -> str:
    reason = reason.removeprefix("Error: ").strip()
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"


_TITLE = re.compile(r'^\s*graph \[label=("(?:[^"\\]|\\.)*"|[^\s\]]+)', re.MULTILINE)


def _retitled(source: str, note: str) -> str:
    """``source`` with ``note`` added under its title (DOT from :mod:`jitviz.dotgraph`: one title line)."""
    note = note.replace("\\", "\\\\").replace('"', '\\"')
    title = _TITLE.search(source)
    if title is None:
        return source.replace("{", f'{{\n  graph [label="{note}" labelloc=t]', 1)
    label = title.group(1)
    label = label[1:-1] if label.startswith('"') else label
    return source[: title.start(1)] + f'"{label}\\n{note}"' + source[title.end(1):]
