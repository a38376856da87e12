"""Trace versus script: run both on probe inputs, and point at what the trace froze.

``jitviz.compare(f, (torch.ones(2, 2),), [torch.zeros(2, 2), torch.full((2, 2), 3.0)])`` traces
``f`` on the example inputs, scripts it, runs eager, traced and scripted ``f`` on every probe, and
explains each place where the trace baked in a decision that the scripted graph still makes.
"""

from __future__ import annotations

import html
import inspect
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from . import ir
from .display import GraphView, report_bundle, report_html
from .errors import ScriptingError
from .extract import compiled as compiled_capture
from .extract import torchscript
from .options import OptionsError
from .options import check as check_options
from .render import draw
from .results import agree, call, describe, describe_input, describe_type
from .style import HTML_STYLES
from .text import plural, visible

__all__ = ["compare", "Comparison", "ProbeResult", "Finding", "TracerWarningAt"]

# Script ops whose result a trace reads once and stores as a constant: kind -> what it reads.
_READ_ONCE = {
    "aten::size": "a tensor size",
    "aten::len": "len() of a tensor",
    "aten::item": "a tensor value (.item())",
    "aten::Int": "a tensor converted with int()",
    "aten::Float": "a tensor converted with float()",
    "aten::dim": "the number of dimensions",
    "aten::numel": "the number of elements",
    "prim::device": "the tensor's device",
    "prim::dtype": "the tensor's dtype",
}


@dataclass
class ProbeResult:
    """One probe: the inputs, what eager, traced and scripted code returned, and who agrees."""

    inputs: str
    eager: str
    traced: str
    scripted: str | None
    traced_agrees: bool
    scripted_agrees: bool | None
    traced_difference: str = ""
    compiled: str | None = None  # torch.compile(fn, backend="eager"), with compare(..., compiled=True)
    compiled_agrees: bool | None = None
    recompiled: str = ""  # why this probe made Dynamo compile again (the guard that failed), if it did


@dataclass
class Finding:
    """One thing the trace froze: ``Finding("branch", where, "the trace kept only ...")``."""

    kind: str  # "branch", "loop", "constant" or "warning"
    where: ir.SourceLocation
    explanation: str
    trace_nodes: list[str] = field(default_factory=list)
    script_nodes: list[str] = field(default_factory=list)


@dataclass
class TracerWarningAt:
    """A TracerWarning, its source line, and the trace nodes built from that line."""

    message: str
    where: ir.SourceLocation
    trace_nodes: list[str]


@dataclass
class Comparison:
    """The result of :func:`compare`; shows itself in a notebook as a table and two pictures."""

    name: str
    probes: list[ProbeResult]
    findings: list[Finding]
    tracer_warnings: list[TracerWarningAt]
    traced: GraphView
    scripted: GraphView | None
    script_error: str | None = None
    home: str | None = None  # the file fn is written in; lines elsewhere are named with their file
    compiled: GraphView | None = None  # what torch.compile captured on the example inputs

    @property
    def disagreements(self) -> list[ProbeResult]:
        """The probes on which the traced (or scripted) code disagrees with eager Python."""
        return [p for p in self.probes
                if not p.traced_agrees or p.scripted_agrees is False or p.compiled_agrees is False]

    def __repr__(self) -> str:
        lines = [
            f"<jitviz comparison of {self.name}: traced disagrees with eager on "
            f"{sum(not p.traced_agrees for p in self.probes)} of {len(self.probes)} probes"
            + (
                f", scripted on {sum(p.scripted_agrees is False for p in self.probes)}"
                if self.scripted is not None
                else "; scripting failed"
            )
            + ">"
        ]
        for probe in self.probes:
            mark = "ok " if probe.traced_agrees else "BAD"
            scripted = f" | scripted {probe.scripted}" if probe.scripted is not None else ""
            if probe.compiled is not None:
                scripted += f" | compiled {probe.compiled}{'' if probe.compiled_agrees else ' (disagrees)'}"
                scripted += f" ({probe.recompiled})" if probe.recompiled else ""
            lines.append(f"  {mark} {probe.inputs}: eager {probe.eager} | traced {probe.traced}{scripted}")
        for finding in self.findings:
            lines.append(f"  {_line(finding.where, self.home)} ({finding.kind}): {finding.explanation}")
        if self.script_error:
            lines.append(f"  scripting failed: {_script_reason(self.script_error)}")
        return visible("\n".join(lines))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return report_bundle(_head(self), _pictures(self), repr(self), include, exclude)

    def _repr_html_(self) -> str | None:
        return report_html(_head(self), _pictures(self))


def compare(
    fn: Callable[..., Any],
    example_inputs: Sequence[Any],
    probe_inputs: Iterable[Any],
    *,
    compiled: bool = False,
) -> Comparison:
    """Trace ``fn`` on ``example_inputs``, script it, and run all three on each probe.

    ``compare(f, (torch.ones(2, 2),), [torch.zeros(2, 2)])``: a probe is one input, or a tuple of
    inputs. When scripting fails the comparison still runs eager against traced, and says why.
    ``compiled=True`` adds a column for ``torch.compile(fn, backend="eager")`` on the same probes,
    and its picture (graphs and breaks, on the example inputs); it resets Dynamo's caches, as
    ``jitviz.show(..., mode="compile")`` does, and takes seconds.
    """
    check_options(compiled=compiled)
    example_inputs, probe_inputs = _checked(example_inputs, probe_inputs)
    traced_source = torchscript.obtain(fn, example_inputs, "trace")
    script_error = None
    scripted_source = None
    try:
        scripted_source = torchscript.obtain(fn, (), "script")
    except ScriptingError as error:
        script_error = str(error)
    traced_model = torchscript.convert(traced_source)
    scripted_model = torchscript.convert(scripted_source) if scripted_source else None
    at_line = _nodes_by_line(traced_model)
    home = _home_file(fn)
    order = {node.id: index for index, node in enumerate(traced_model.walk())}
    findings = _findings(at_line, order, scripted_model, traced_source.tracer_warnings, home)
    trace_marks = {n: f"frozen (line {f.where.line})" for f in findings for n in f.trace_nodes}
    script_marks = {n: f"the trace froze this (line {f.where.line})" for f in findings for n in f.script_nodes}
    traced_view = GraphView(traced_model, draw(traced_model, marks=trace_marks))
    scripted_view = (
        GraphView(scripted_model, draw(scripted_model, marks=script_marks)) if scripted_model else None
    )
    probes = [
        _probe(fn, traced_source.runnable, scripted_source.runnable if scripted_source else None, p)
        for p in probe_inputs
    ]
    compiled_view = _compiled(fn, example_inputs, probe_inputs, probes) if compiled else None
    tracer_warnings = [
        TracerWarningAt(note.message, note.where,
                        [n.id for n in at_line[(note.where.file, note.where.line)]])
        for note in traced_source.tracer_warnings
    ]
    return Comparison(traced_source.name, probes, findings, tracer_warnings,
                      traced_view, scripted_view, script_error, home, compiled_view)


def _compiled(fn: Any, example_inputs: tuple[Any, ...], probe_inputs: list[Any],
              probes: list[ProbeResult]) -> GraphView:
    """The compiled column: ``fn`` compiled as ``torch.compile(fn, backend="eager")`` compiles it,
    first on the example inputs, then on each probe, with the guard that made a probe recompile;
    and the picture of what was captured on the example inputs."""
    capture = compiled_capture.capture_compiled(fn, example_inputs)
    model = compiled_capture.convert(capture)
    compiles: list[torch.fx.GraphModule] = []
    failed: list[str] = []
    runnable = torch._dynamo.optimize(compiled_capture.keeping(compiles),  # backend="eager", counted
                                      guard_fail_fn=lambda fail: failed.append(str(fail.reason)))(fn)
    with compiled_capture.dynamo_quiet():
        call(runnable, tuple(example_inputs))  # compiled for the example first, as the picture is
        for probe, inputs in zip(probes, probe_inputs):
            args = inputs if isinstance(inputs, tuple) else (inputs,)
            before = len(compiles)
            failed.clear()
            result = call(runnable, args)
            probe.compiled = describe(result)
            probe.compiled_agrees = agree(call(fn, args), result)[0]
            if len(compiles) > before:  # a guard failed, or the probe took a path the example did not
                probe.recompiled = (f"recompiled: {failed[0].split(': ', 1)[-1]}" if failed
                                    else "compiled a new graph: a path the example did not take")
    torch._dynamo.reset()  # leave no compiled entry of ours behind for fn's code
    return GraphView(model, draw(model))


def _checked(example_inputs: Any, probe_inputs: Any) -> tuple[tuple[Any, ...], list[Any]]:
    """The inputs as a tuple and the probes as a list; a tensor or ``None`` in their place is
    refused (iterating a tensor would silently take its rows as inputs or probes)."""
    if not isinstance(example_inputs, (tuple, list)):
        raise OptionsError(
            f"example_inputs must be a tuple of fn's inputs, such as (torch.ones(2, 2),), not "
            f"{_kind_of(example_inputs)}" + (": wrap it, (x,)." if isinstance(example_inputs, torch.Tensor) else ".")
        )
    if isinstance(probe_inputs, (torch.Tensor, str, bytes)) or not isinstance(probe_inputs, Iterable):
        raise OptionsError(
            f"probe_inputs must be a list of probes (each one input, or a tuple of inputs), such as "
            f"[torch.zeros(2, 2)], not {_kind_of(probe_inputs)}"
            + (": a tensor would be taken row by row; wrap it, [x]." if isinstance(probe_inputs, torch.Tensor) else ".")
        )
    return tuple(example_inputs), list(probe_inputs)


def _kind_of(value: Any) -> str:
    return "None" if value is None else f"a {describe_type(value)}"


def _line(where: ir.SourceLocation, home: str | None) -> str:
    """``line 12``, or ``line 360 of functional.py`` when it is not in fn's own file."""
    return f"line {where.line}" + ("" if home is None or where.file == home else f" of {where.file}")


def _script_reason(error: str) -> str:
    """The first two lines of a scripting error: ``Scripting f failed:`` and TorchScript's reason."""
    return " ".join([line.strip() for line in error.splitlines() if line.strip()][:2])


# --- what the trace froze ------------------------------------------------------------------------


def _home_file(fn: Any) -> str | None:
    """The file ``fn`` is written in, named as source locations name it (library code is not)."""
    code = type(fn).forward if isinstance(fn, torch.nn.Module) else fn
    try:
        path = inspect.getsourcefile(code)
    except TypeError:
        return None
    return torchscript.short_file(path) if path else None


def _findings(
    trace_at: dict[tuple[str, int], list[ir.Node]], order: dict[str, int], scripted: ir.Graph | None,
    warnings: list[ir.TracerWarningNote], home: str | None,
) -> list[Finding]:
    """What the trace froze; ``trace_at`` is the trace's nodes by (file, line), ``order`` their places
    in program order."""
    findings: list[Finding] = []
    if scripted is not None:
        users: dict[str, list[ir.Node]] = defaultdict(list)
        for node in scripted.walk():
            for value in node.inputs:
                users[value.id].append(node)
        for node in scripted.walk():
            location = _location(node, users, home)
            if location is None:
                continue  # what torch's own library code does is not the user's to fix
            where = (location.file, location.line)
            if node.kind == "prim::If":
                findings.append(_frozen_branch(node, location, trace_at))
            elif node.kind == "prim::Loop":
                findings.append(_unrolled_loop(node, location, trace_at, order))
            elif (node.kind in _READ_ONCE and not any(n.kind == node.kind for n in trace_at[where])
                  and not any(f.kind == "constant" and f.where == location for f in findings)):
                    findings.append(Finding(
                        "constant", location,
                        f"`{location.code}` read {_READ_ONCE[node.kind]} while tracing, and the "
                        "trace keeps the value it had then as a constant.",
                        [n.id for n in trace_at[where] if n.kind != "prim::Constant"], [node.id],
                    ))
    explained = {(f.where.file, f.where.line) for f in findings}
    for note in warnings:
        where = (note.where.file, note.where.line)
        if where not in explained:
            explained.add(where)
            first_sentence = note.message.split(". ")[0].rstrip(".") + "."
            findings.append(Finding("warning", note.where, f"TracerWarning: {first_sentence}",
                                    [n.id for n in trace_at[where]]))
    return sorted(findings, key=lambda f: (f.where.line, f.kind))


def _nodes_by_line(graph: ir.Graph) -> dict[tuple[str, int], list[ir.Node]]:
    found: dict[tuple[str, int], list[ir.Node]] = defaultdict(list)
    for node in graph.walk():
        if node.source is not None:
            found[(node.source.file, node.source.line)].append(node)
    return found


def _location(node: ir.Node, users: dict[str, list[ir.Node]], home: str | None) -> ir.SourceLocation | None:
    """Where the user wrote ``node``: its own line, or else the line of the first node using it
    (``x.device`` and ``x.shape`` are built from TorchScript's builtins, with no line of the user's)."""
    candidates = [node] + [user for value in node.outputs for user in users[value.id]]
    for candidate in candidates:
        if candidate.source is not None and (home is None or candidate.source.file == home):
            return candidate.source
    return None


def _lines(nodes: list[ir.Node]) -> set[tuple[str, int]]:
    found = set()
    for node in nodes:
        if node.source is not None:
            found.add((node.source.file, node.source.line))
        for block in node.blocks:
            found |= _lines(block.nodes)
    return found


def _frozen_branch(node: ir.Node, location: ir.SourceLocation,
                   trace_at: dict[tuple[str, int], list[ir.Node]]) -> Finding:
    kept: list[tuple[str, list[int]]] = []
    for block in node.blocks:
        lines = _lines(block.nodes)
        if any(trace_at.get(line) for line in lines):
            kept.append((block.label, sorted(line for _, line in lines)))
    code = f"`{location.code}`"
    if len(kept) == 1:
        label, kept_lines = kept[0]  # a kept branch has a traced line, so kept_lines is never empty
        what = f"the trace kept only the {label} branch (line {kept_lines[0]}) and takes it for every input."
    else:
        what = "the trace recorded only the branch its example input took, for every input."
    trace_nodes = [n.id for block in node.blocks for line in _lines(block.nodes) for n in trace_at.get(line, [])
                   if n.kind != "prim::Constant"]
    return Finding("branch", location, f"{code} was decided once, while tracing: {what}",
                   trace_nodes, [node.id])


def _unrolled_loop(node: ir.Node, location: ir.SourceLocation,
                   trace_at: dict[tuple[str, int], list[ir.Node]], order: dict[str, int]) -> Finding:
    body = node.blocks[0]
    lines = sorted(_lines(body.nodes))
    traced = [n for line in lines for n in trace_at.get(line, []) if n.kind != "prim::Constant"]
    code = f"`{location.code}`"
    if not traced:
        return Finding("loop", location,
                       f"{code} ran zero times while tracing, so the trace has no trace of its body.",
                       [], [node.id])
    header = (location.file, location.line)
    in_body = sorted((n for n in traced if _at(n) != header), key=lambda n: order[n.id])
    # a loop written on one line (`for i in range(n): y = y * 2`) has all its ops on the header's line
    copies = (_iterations(in_body, _statement_keys(body.nodes)) if in_body
              else _periods([n.kind for n in sorted(traced, key=lambda n: order[n.id])]))
    return Finding(
        "loop", location,
        f"{code} was unrolled: the trace holds {plural(copies, 'copy', 'copies')} of its body and runs "
        f"exactly {plural(copies, 'iteration')} for every input.",
        [n.id for n in traced], [node.id],
    )


# Where a source line sits in a loop body: for each enclosing statement, its line, which of its
# blocks holds the line (-1 for the statement's own line) and whether it is a loop.
_Key = tuple[tuple[int, int, bool], ...]


def _statement_keys(nodes: list[ir.Node], outer: _Key = ()) -> dict[tuple[str, int], _Key]:
    """Each line of a scripted loop body, keyed by where it sits among the body's statements."""
    keys: dict[tuple[str, int], _Key] = {}
    for node in nodes:
        if node.source is None:
            continue
        where = (node.source.file, node.source.line)
        keys.setdefault(where, outer + ((node.source.line, -1, False),))
        for index, block in enumerate(node.blocks):
            inner = outer + ((node.source.line, index, node.kind == "prim::Loop"),)
            for line, key in _statement_keys(block.nodes, inner).items():
                keys.setdefault(line, key)
    return keys


def _iterations(traced: list[ir.Node], keys: dict[tuple[str, int], _Key]) -> int:
    """How many times a loop body ran while tracing, from its trace nodes in program order.

    A new iteration starts where the trace goes back to an earlier statement of the body, or to
    the other arm of an ``if`` (one pass through the body takes one arm). Repeats of a single
    statement cannot be told apart by position, so they count as the times its ops repeat.
    """
    count, segment = 0, [traced[0]]
    for before, after in zip(traced, traced[1:]):
        if _restarts(keys.get(_at(before), ()), keys.get(_at(after), ())):
            count += _repeats(segment, keys)
            segment = []
        segment.append(after)
    return count + _repeats(segment, keys)


def _at(node: ir.Node) -> tuple[str, int]:
    assert node.source is not None
    return (node.source.file, node.source.line)


def _restarts(before: _Key, after: _Key) -> bool:
    """Whether the trace node at ``after`` starts a new iteration after the one at ``before``."""
    for (line_a, block_a, loop_a), (line_b, block_b, _) in zip(before, after):
        if (line_a, block_a) == (line_b, block_b):
            if loop_a:
                return False  # an inner loop going round again is still the same outer iteration
            continue
        return line_b < line_a or (line_b == line_a and (block_b < block_a or min(block_a, block_b) >= 0))
    return False


def _repeats(segment: list[ir.Node], keys: dict[tuple[str, int], _Key]) -> int:
    """How many iterations a segment with no visible restart holds.

    A statement runs once per iteration (unless it sits in an inner loop), so a run of one
    statement's ops repeated ``r`` times whole spans ``r`` iterations, ``r - 1`` of them
    holding nothing else (``y = y * 2`` twice, then ``y = y * 2; y = y + 1``: 2 iterations).
    """
    count = 1
    for key, run in itertools.groupby(segment, key=lambda n: keys.get(_at(n), ())):
        if not any(is_loop for _, _, is_loop in key):
            count += _periods([n.kind for n in run]) - 1
    return count


def _periods(kinds: list[str]) -> int:
    """How many times the shortest repeating pattern of ``kinds`` repeats: 3 for a, b, a, b, a, b."""
    period = next(p for p in range(1, len(kinds) + 1)
                  if len(kinds) % p == 0 and kinds == kinds[:p] * (len(kinds) // p))
    return len(kinds) // period


# --- running the probes ---------------------------------------------------------------------------


def _probe(eager_fn: Any, traced_fn: Any, scripted_fn: Any, inputs: Any) -> ProbeResult:
    args = inputs if isinstance(inputs, tuple) else (inputs,)
    eager = call(eager_fn, args)
    traced = call(traced_fn, args)
    scripted = call(scripted_fn, args) if scripted_fn is not None else None
    traced_agrees, difference = agree(eager, traced)
    scripted_agrees = agree(eager, scripted)[0] if scripted_fn is not None else None
    return ProbeResult(
        inputs=", ".join(describe_input(a) for a in args),
        eager=describe(eager),
        traced=describe(traced),
        scripted=describe(scripted) if scripted_fn is not None else None,
        traced_agrees=traced_agrees,
        scripted_agrees=scripted_agrees,
        traced_difference=difference,
    )


# --- HTML --------------------------------------------------------------------------------------


def _head(comparison: Comparison) -> str:
    """The table, what the trace froze and the TracerWarnings, as HTML."""
    def e(text: str) -> str:
        return html.escape(visible(text))

    bad = HTML_STYLES["wrong"]
    rows = []
    for probe in comparison.probes:
        traced_style = "" if probe.traced_agrees else bad
        scripted_style = bad if probe.scripted_agrees is False else ""
        traced_text = e(probe.traced) + ("" if probe.traced_agrees else f" ✗ {e(probe.traced_difference)}")
        scripted_cell = (
            f'<td style="{scripted_style}">{e(probe.scripted)}{" ✓" if probe.scripted_agrees else " ✗"}</td>'
            if probe.scripted is not None else "<td>—</td>"
        )
        recompiled = f"<br><i>{e(probe.recompiled)}</i>" if probe.recompiled else ""
        compiled_cell = (
            f'<td style="{"" if probe.compiled_agrees else bad}">{e(probe.compiled)}'
            f'{" ✓" if probe.compiled_agrees else " ✗"}{recompiled}</td>' if probe.compiled is not None else ""
        )
        rows.append(
            f"<tr><td>{e(probe.inputs)}</td><td>{e(probe.eager)}</td>"
            f'<td style="{traced_style}">{traced_text}{" ✓" if probe.traced_agrees else ""}</td>'
            f"{scripted_cell}{compiled_cell}</tr>"
        )
    compiled_head = "<th>compiled</th>" if comparison.compiled is not None else ""
    table = (
        f'<table><thead><tr><th>probe</th><th>eager</th><th>traced</th><th>scripted</th>{compiled_head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    findings = "".join(
        f"<li><b>{e(_line(f.where, comparison.home))}</b>: {e(f.explanation)}</li>"
        for f in comparison.findings
    )
    warnings = "".join(
        f"<li>{e(_line(w.where, comparison.home))} <code>{e(w.where.code)}</code>: {e(w.message)}"
        f" ({plural(len(w.trace_nodes), 'trace node')} from this line)</li>"
        for w in comparison.tracer_warnings
    )
    return (
        f"<p><b>{e(comparison.name)}</b>: traced vs scripted vs eager</p>{table}"
        + (f"<p>What the trace froze:</p><ul>{findings}</ul>" if findings
           else "<p>The trace froze nothing that jitviz can see.</p>")
        + (f"<p>TracerWarnings while tracing:</p><ul>{warnings}</ul>" if warnings else "")
    )


def _pictures(comparison: Comparison) -> list[tuple[str, GraphView | str]]:
    scripted: tuple[str, GraphView | str] = (
        ("scripted", comparison.scripted) if comparison.scripted is not None
        else ("scripting failed", f"<pre>{html.escape(visible(comparison.script_error or ''))}</pre>")
    )
    pictures = [("traced", comparison.traced), scripted]
    if comparison.compiled is not None:
        pictures.append(("compiled (torch.compile)", comparison.compiled))
    return pictures
