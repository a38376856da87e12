"""Run Graphviz's ``dot`` on DOT text, within a time budget: ``run_dot(source, "svg")``.

``dot`` can take minutes on a picture well under the node budget: a 100-deep ``elif`` chain is
about 600 drawn nodes, but the edges from each branch to its ``end if`` cross hundreds of ranks,
which ``dot`` turns into tens of thousands of virtual nodes (30 s measured, 0.5 s in ``sfdp``). A
picture that ``dot`` does not lay out in ``LAYOUT_SECONDS`` is laid out by ``sfdp`` instead, which
has no ranks, so long edges cost it nothing; only if that too runs out of time is a
:class:`LayoutTimeoutError` raised.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence

from .errors import GraphvizNotFoundError, JitvizError

__all__ = ["run_dot", "LayoutTimeoutError", "LAYOUT_SECONDS", "FALLBACK_SECONDS"]

#: How long ``dot`` may take before the picture is laid out by ``sfdp`` instead (which then takes
#: well under a second at the node budget, so that no picture takes much over 5 s in all).
LAYOUT_SECONDS = 4.0
#: How long the ``sfdp`` fallback may take before jitviz gives up with a :class:`LayoutTimeoutError`.
FALLBACK_SECONDS = 30.0


class LayoutTimeoutError(JitvizError):
    """Graphviz did not lay the picture out within the time budget."""


def run_dot(source: str, fmt: str, *, timeout: float | None = None, fallback_timeout: float | None = None,
            extra: Sequence[str] = ()) -> bytes:
    """Lay ``source`` out and render it as ``fmt`` (``svg``, ``png``, ``pdf``), within ``timeout`` seconds.

    A picture that ``dot`` cannot lay out in time is laid out by ``sfdp`` instead (a force-directed
    layout: no ranks, but it takes well under a second at the node budget), and says so in its title.
    The budgets default to ``LAYOUT_SECONDS`` and ``FALLBACK_SECONDS``.
    """
    timeout = LAYOUT_SECONDS if timeout is None else timeout
    fallback_timeout = FALLBACK_SECONDS if fallback_timeout is None else fallback_timeout
    try:
        return _run(["dot", *extra, f"-T{fmt}"], source, fmt, timeout)
    except LayoutTimeoutError:
        pass
    title = _TITLE.search(source)
    note = f"laid out by sfdp: dot took over {timeout:g} s (draw less of it for the ordered picture)"
    label = "" if title is None else title.group(1)
    label = label[1:-1] if label.startswith('"') else label
    retitled = _TITLE.sub(lambda m: f'graph [label="{label}\\n{note}"]', source, count=1) if title else source
    return _run(["dot", "-Ksfdp", "-Goverlap=prism", *extra, f"-T{fmt}"], retitled, fmt, fallback_timeout)


_TITLE = re.compile(r'graph \[label=("(?:[^"\\]|\\.)*"|[^\s\]]+)\]')


def _run(command: list[str], source: str, fmt: str, timeout: float | None) -> bytes:
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
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()[:3]
        raise JitvizError(f"Graphviz could not draw this picture: {' '.join(reason) or 'no reason given'}")
    return done.stdout
