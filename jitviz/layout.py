"""Run Graphviz's ``dot`` on DOT text, within a time budget: ``run_dot(source, "svg")``.

``dot`` can take minutes on a picture well under the node budget: a 100-deep ``elif`` chain is
about 600 drawn nodes, but the edges from each branch to its ``end if`` cross hundreds of ranks,
which ``dot`` turns into tens of thousands of virtual nodes (30 s measured, 0.5 s in ``sfdp``). A
picture that ``dot`` does not lay out in ``LAYOUT_SECONDS`` is laid out by ``sfdp`` instead, which
has no ranks, so long edges cost it nothing; only if that too runs out of time is a
:class:`LayoutTimeoutError` raised.

Starting ``dot`` and loading its fonts costs 10-30 ms, more than laying out a picture of a few
dozen nodes, and a notebook or a slider asks for one picture after another. So each SVG is drawn
by a ``dot`` started, and warmed up on a one-node graph, while the previous picture was being made
(:class:`_WarmDot`): 8 ms where a fresh ``dot`` took 25 ms for an ``nn.GRU``, the same SVG.
"""

from __future__ import annotations

import atexit
import os
import re
import select
import shutil
import subprocess
import threading
import time
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
        if fmt == "svg" and not extra and os.name == "posix":
            svg = _served(source, timeout)
            if svg is not None:
                return svg
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
        raise _timed_out(timeout) from error
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()[:3]
        raise JitvizError(f"Graphviz could not draw this picture: {' '.join(reason) or 'no reason given'}")
    return done.stdout


def _timed_out(timeout: float | None) -> LayoutTimeoutError:
    return LayoutTimeoutError(
        f"Graphviz did not lay this picture out within {timeout:g} s. Draw less of it: leave calls "
        "collapsed, draw one submodule (jitviz.show(model.layer1, ...)), or use "
        "jitviz.explore_graph(...) to lay it out in the browser."
    )


def _served(source: str, timeout: float) -> bytes | None:
    """The SVG from a ``dot`` started and warmed up before it was needed; ``None`` if it failed."""
    program = shutil.which("dot")
    if program is None:
        raise GraphvizNotFoundError("Drawing SVG")
    with _SPARES_LOCK:
        spare = _SPARES.pop(program, None)
        if spare is None or not spare.usable():  # the first picture, or one after a fork
            spare = _WarmDot(program)
        _SPARES[program] = _WarmDot(program)  # warms up while this one draws
    return spare.render(source.encode("utf-8"), timeout)


class _WarmDot:
    """A ``dot -Tsvg`` started ahead, which has drawn a one-node graph to load its fonts.

    The next graph on its input is drawn as ``dot`` alone would draw it, except that the picture's
    element ids get the prefix ``page0,1_``, which :meth:`render` takes off. (A ``dot`` kept for
    many graphs would be faster still, but it draws the clusters of each graph after the first in
    a different order each time, so its SVG would depend on what was drawn before.)
    """

    _WARM_UP = b'digraph { node [fontname=Helvetica]; warm [label="warm"] }\n'
    _END = b"</svg>\n"  # the warm-up picture's end; text inside an SVG is escaped (&lt;/svg&gt;)

    def __init__(self, program: str) -> None:
        self.owner = os.getpid()  # a forked child starts its own: the pipes are its parent's
        self._process = subprocess.Popen([program, "-Tsvg"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE)
        assert self._process.stdin is not None
        self._process.stdin.write(self._WARM_UP)
        self._process.stdin.flush()

    def usable(self) -> bool:
        if self.owner != os.getpid():  # a forked child's copy of its parent's spare: not its to stop
            return False
        if self._process.poll() is None:
            return True
        self.stop()
        return False

    def render(self, source: bytes, timeout: float) -> bytes | None:
        """The SVG of ``source``; raises like :func:`run_dot` when ``dot`` fails or runs out of time.

        It waits for the warm-up picture first: a graph that reached ``dot`` while it was still
        reading the warm-up was read into the same buffer, and graphviz orders sibling clusters by
        where their names landed in memory, so the SVG changed from one run to the next.
        """
        deadline = time.monotonic() + timeout
        process = self._process
        assert process.stdout is not None
        warm_up = b""
        while not warm_up.endswith(self._END):
            ready, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(process.stdout.fileno(), 1 << 16) if ready else None
            if chunk is None:
                self.stop()
                raise _timed_out(timeout)
            if not chunk:  # it died: let a fresh dot draw the picture (and report its error)
                self.stop()
                return None
            warm_up += chunk
        try:
            out, err = process.communicate(source + b"\n", timeout=max(0.001, deadline - time.monotonic()))
        except subprocess.TimeoutExpired as error:
            self.stop()
            raise _timed_out(timeout) from error
        if process.returncode != 0:
            reason = err.decode("utf-8", "replace").strip().splitlines()[:3]
            raise JitvizError(f"Graphviz could not draw this picture: {' '.join(reason) or 'no reason given'}")
        return out.replace(b'"page0,1_', b'"')  # attribute values only: a quote in text is &quot;

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.communicate()


_SPARES: dict[str, _WarmDot] = {}
_SPARES_LOCK = threading.Lock()


@atexit.register
def _stop_spares() -> None:
    for spare in _SPARES.values():
        spare.stop()
