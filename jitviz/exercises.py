"""Checks for the notebooks' exercises: each says "right", or what is still wrong.

One function per exercise, named after its notebook (`tracing_3` is exercise 3 of 01_tracing).
A check never raises because an answer is wrong: it runs the learner's code, catches what that
code raises, and says so in its verdict. The truth is computed, not stored, wherever torch can
compute it, so a check stays right when PyTorch changes.

    >>> from jitviz import exercises
    >>> exercises.tracing_2(2.0)
    right: the trace multiplies every input by 2.0, the max of the example it saw
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import math
import textwrap
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

__all__ = [
    "Verdict",
    "export_1",
    "export_2",
    "large_1",
    "large_2",
    "mixing_1",
    "mixing_2",
    "saving_1",
    "saving_2",
    "saving_3",
    "scripting_1",
    "scripting_2",
    "scripting_3",
    "speed_1",
    "speed_2",
    "start_1",
    "start_2",
    "tracing_1",
    "tracing_2",
    "tracing_3",
]


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check: ``Verdict(True, "...")`` prints as ``right: ...``."""

    ok: bool
    message: str

    def __str__(self) -> str:
        return ("right: " if self.ok else "not yet: ") + self.message

    __repr__ = __str__


def _right(message: str) -> Verdict:
    return Verdict(True, message)


def _wrong(message: str) -> Verdict:
    return Verdict(False, message)


_UNANSWERED = _wrong("replace the `...` with your answer, then run the cell again")


def _unanswered(*answers: Any) -> bool:
    """True when an answer is still the `...` placeholder, or a function whose body is only `...`."""
    for answer in answers:
        if answer is ...:
            return True
        if callable(answer) and not isinstance(answer, (torch.nn.Module, torch.jit.ScriptFunction)):
            with contextlib.suppress(OSError, TypeError, SyntaxError, IndexError):
                tree = ast.parse(textwrap.dedent(inspect.getsource(answer)))
                body = tree.body[0].body if isinstance(tree.body[0], ast.FunctionDef) else []
                if len(body) == 1 and isinstance(body[0], ast.Expr) and \
                        getattr(body[0].value, "value", None) is Ellipsis:
                    return True
    return False


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence TracerWarnings and deprecation notices while a check traces or scripts."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _run(what: str, fn: Callable[..., Any], *args: Any) -> tuple[Any, Verdict | None]:
    """Call fn(*args); on any exception, a verdict naming `what` failed and why (the learner's code)."""
    try:
        with _quiet():
            return fn(*args), None
    except Exception as error:  # noqa: BLE001 - the learner's code may raise anything
        first = (str(error).strip().splitlines() or [""])[0]
        return None, _wrong(f"{what} raised {type(error).__name__}: {first}")


def _kinds(graph: torch._C.Graph) -> list[str]:
    kinds: list[str] = []

    def walk(nodes: Iterable[torch._C.Node]) -> None:
        for node in nodes:
            kinds.append(node.kind())
            for block in node.blocks():
                walk(block.nodes())

    walk(graph.nodes())
    return kinds


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.shape == b.shape and torch.allclose(a.float(), b.float())
    return a == b


# --- 00_start_here -------------------------------------------------------------------------

def start_1(folded: Any) -> Verdict:
    """Which constants did `jitviz.show(lambda x: x.relu() + 1, torch.ones(3))` fold into labels?

    Answer with a dict from argument name to value: ``{"name": value, ...}``.
    """
    if _unanswered(folded):
        return _UNANSWERED
    if not isinstance(folded, dict):
        return _wrong("answer with a dict from the argument name to its value, e.g. {'other': 5}")
    with _quiet():
        traced = torch.jit.trace(lambda x: x.relu() + 1, torch.ones(3))
    truth: dict[str, Any] = {}
    for node in traced.graph.nodes():
        if node.kind() == "prim::Constant":
            continue
        arguments = node.schema().split("(", 1)[1].split(")", 1)[0].split(", ")
        arguments = [argument for argument in arguments if argument != "*"]
        for argument, value in zip(arguments, node.inputs()):
            if value.node().kind() == "prim::Constant":
                truth[argument.split()[-1].split("=")[0]] = value.toIValue()
    if {k: float(v) for k, v in folded.items() if isinstance(v, (int, float))} == \
            {k: float(v) for k, v in truth.items()} and len(folded) == len(truth):
        return _right(f"aten::add got {truth}: `+ 1` passes other=1 and the default alpha=1 "
                      "(add computes self + alpha * other)")
    missing = sorted(set(truth) - set(folded))
    extra = sorted(set(folded) - set(truth))
    hints = []
    if missing:
        hints.append(f"the picture also folds {', '.join(missing)}")
    if extra:
        hints.append(f"no folded constant is called {', '.join(extra)}")
    if not hints:
        hints.append("the names are right; look at the values in the node's label again")
    return _wrong("; ".join(hints))


def start_2(count: Any) -> Verdict:
    """How many `prim::Constant` boxes does `jitviz.show(pick, constants="nodes")` draw?"""
    if _unanswered(count):
        return _UNANSWERED
    from .api import show

    def pick(x):
        if bool(x.mean() > 1.0):
            r = 1
        else:
            r = 2
        return r

    truth = show(torch.jit.script(pick), constants="nodes").source.count('label="prim::Constant')
    if count == truth:
        return _right(f"{truth} constant boxes; by default each is folded into the label of the "
                      "node or block that uses it")
    return _wrong(f"{count} is not the number of prim::Constant boxes; count them in the picture "
                  "(the None that aten::mean gets for its dtype is one of them)")


# --- 01_tracing ----------------------------------------------------------------------------

def _my_branch(x: torch.Tensor) -> torch.Tensor:
    if x.mean() > 1.0:
        r = torch.tensor(1.0)
    else:
        r = torch.tensor(2.0)
    return r


TRACING_1_FILLS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)


def tracing_1(wrong_fills: Any) -> Verdict:
    """Traced on `torch.full((2, 2), 3.0)`, which fills of `TRACING_1_FILLS` does `my_branch` get wrong?"""
    if _unanswered(wrong_fills):
        return _UNANSWERED
    try:
        answer = {float(fill) for fill in wrong_fills}
    except (TypeError, ValueError):
        return _wrong("answer with a list of fill values, e.g. [0.5, 2.0]")
    with _quiet():
        traced = torch.jit.trace(_my_branch, torch.full((2, 2), 3.0), check_trace=False)
    truth = {fill for fill in TRACING_1_FILLS
             if not torch.equal(traced(torch.full((2, 2), fill)), _my_branch(torch.full((2, 2), fill)))}
    if answer == truth:
        return _right(f"wrong for {sorted(truth)}: this trace kept the then-branch, tensor(1.), so it "
                      "is wrong wherever the mean is not above 1")
    return _wrong(f"{sorted(answer)} is not the set of fills the trace gets wrong; compare "
                  "traced(torch.full((2, 2), fill)) with my_branch(...) for each fill")


def tracing_2(constant: Any) -> Verdict:
    """`f(x) = x * x.max().item()` traced on `torch.arange(3.0)`: which number does the trace multiply by?"""
    if _unanswered(constant):
        return _UNANSWERED
    with _quiet():
        traced = torch.jit.trace(lambda x: x * x.max().item(), torch.arange(3.0), check_trace=False)
    truth = float(traced(torch.ones(1)))
    if isinstance(constant, (int, float)) and math.isclose(float(constant), truth):
        return _right(f"the trace multiplies every input by {truth}, the max of the example it saw")
    return _wrong(f"{constant!r} is not it: `.item()` turns the max into a Python number while "
                  "tracing; which number was that for torch.arange(3.0)?")


def _add_rows(x: torch.Tensor) -> torch.Tensor:
    y = x
    for i in range(x.shape[0]):
        y = y + x[i]
    return y


def tracing_3(fn: Any) -> Verdict:
    """A version of `add_rows` whose trace (on `torch.ones(3)`) is right for every length."""
    if _unanswered(fn):
        return _UNANSWERED
    if not callable(fn):
        return _wrong("pass your function itself (not its result)")
    traced, problem = _run("tracing your function on torch.ones(3)",
                           lambda: torch.jit.trace(fn, torch.ones(3), check_trace=False))
    if problem:
        return problem
    for length in (1, 3, 5, 8):
        x = torch.arange(float(length))
        result, problem = _run(f"the trace on a length-{length} input", traced, x)
        if problem:
            return problem
        if not _same(result, _add_rows(x)):
            return _wrong(f"on torch.arange({length}.0) the trace gives {result.tolist()}, add_rows "
                          f"gives {_add_rows(x).tolist()}")
    loops = [k for k in _kinds(traced.graph) if k in ("aten::select", "prim::Loop")]
    return _right("the trace gives add_rows' answer for lengths 1, 3, 5 and 8"
                  + (" and no longer unrolls a loop" if not loops else ""))


# --- 02_scripting --------------------------------------------------------------------------

def _three_arms(x: torch.Tensor) -> torch.Tensor:
    if x.mean() > 1.0:
        return torch.tensor(1.0)
    elif x.mean() > 0.5:
        return torch.tensor(3.0)
    return torch.tensor(2.0)


def scripting_1(fn: Any, inputs: Any = ...) -> Verdict:
    """`my_branch` with an `elif x.mean() > 0.5:` arm returning `tensor(3.)`, and one input per arm."""
    if _unanswered(fn, inputs):
        return _UNANSWERED
    scripted, problem = _run("torch.jit.script(your function)", torch.jit.script, fn)
    if problem:
        return problem
    for fill in (0.0, 0.5, 0.75, 1.0, 1.5, 3.0):
        x = torch.full((2, 2), fill)
        result, problem = _run(f"the scripted function on fill {fill}", scripted, x)
        if problem:
            return problem
        if not _same(result, _three_arms(x)):
            return _wrong(f"on a mean of {fill} it returns {result}, but the three arms should give "
                          f"{_three_arms(x)} there (mean > 1: 1., > 0.5: 3., else 2.)")
    try:
        outputs = [float(_three_arms(x)) for x in inputs]
    except Exception as error:  # noqa: BLE001 - whatever the learner passed
        return _wrong(f"inputs should be three tensors, one per arm ({type(error).__name__})")
    if sorted(outputs) != [1.0, 2.0, 3.0]:
        return _wrong(f"your inputs reach the arms giving {outputs}: one input per arm is needed")
    return _right("the scripted function keeps all three arms, and each of your inputs takes a different one")


def scripting_2(fn: Any, body_runs: Any = ...) -> Verdict:
    """A scripted `f(x, n: int)` with a `while n > 0:` loop, and how often its body ran for n = 0."""
    if _unanswered(fn, body_runs):
        return _UNANSWERED
    scripted, problem = _run("torch.jit.script(your function)", torch.jit.script, fn)
    if problem:
        return problem
    if "prim::Loop" not in _kinds(scripted.graph):
        return _wrong("the scripted graph has no prim::Loop: write the loop as `while n > 0:`")
    x = torch.ones(2)
    result, problem = _run("f(torch.ones(2), 0)", scripted, x, 0)
    if problem:
        return problem
    if not _same(result, x):
        return _wrong(f"f(torch.ones(2), 0) returns {result}: with n = 0 the loop must not run, "
                      "so x comes back unchanged")
    if body_runs != 0:
        return _wrong(f"{body_runs!r} is not what the highlight says for n = 0: look at the loop "
                      "body's label in jitviz.show(f, torch.ones(2), 0, highlight=True)")
    return _right("for n = 0 the loop body never runs: the highlight draws it greyed out, 'not run'")


def _first_or_zero(xs: list[torch.Tensor]) -> torch.Tensor:
    if len(xs) == 0:
        return torch.zeros(1)
    return xs[0]


def scripting_3(fn: Any) -> Verdict:
    """`first_or_zero` without try/except: scriptable, and the same answers as the original."""
    if _unanswered(fn):
        return _UNANSWERED
    scripted, problem = _run("torch.jit.script(your function)", torch.jit.script, fn)
    if problem:
        return problem
    for xs in ([], [torch.ones(2)], [torch.full((3,), 2.0), torch.ones(1)]):
        result, problem = _run(f"your scripted function on a list of {len(xs)}", scripted, xs)
        if problem:
            return problem
        if not _same(result, _first_or_zero(xs)):
            return _wrong(f"on a list of {len(xs)} tensors it returns {result}, the original "
                          f"returns {_first_or_zero(xs)}")
    return _right("it scripts, and gives the original's answer for an empty list and for longer ones")


# --- 03_mixing -----------------------------------------------------------------------------

def _follows_stop_rule(tokens: list[int], steps: int) -> str:
    """Why `tokens` breaks the rule 'stop after a 0 or after a token equal to the previous one'."""
    if len(tokens) > steps:
        return f"{len(tokens)} tokens for steps={steps}"
    for i, token in enumerate(tokens[:-1]):
        if token == 0:
            return f"{tokens}: it went on after a 0"
        if token == tokens[i + 1] and i + 1 < len(tokens) - 1:
            return f"{tokens}: it went on after {token} came twice in a row"
    if len(tokens) < steps and tokens and tokens[-1] != 0 and (len(tokens) < 2 or tokens[-1] != tokens[-2]):
        return f"{tokens}: it stopped early with no reason to"
    if len(tokens) < steps and not tokens:
        return f"it produced nothing for steps={steps}"
    return ""


def mixing_1(eager: Any, scripted: Any = ..., source: Any = None) -> Verdict:
    """The decoder, changed to stop also when a token repeats the previous one; eager and scripted."""
    if _unanswered(eager, scripted):
        return _UNANSWERED
    if not isinstance(scripted, torch.jit.ScriptModule):
        return _wrong("pass the scripted decoder (torch.jit.script(your module)) as the second argument")
    generator = torch.Generator().manual_seed(0)
    sources = [source] if source is not None else []
    sources += [torch.randn(5, 4, generator=generator) for _ in range(3)]
    longest = 0
    for src in sources:
        for steps in range(9):
            expected, problem = _run(f"your eager decoder with steps={steps}", eager, src, steps)
            if problem:
                return problem
            got, problem = _run(f"your scripted decoder with steps={steps}", scripted, src, steps)
            if problem:
                return problem
            if list(got) != list(expected):
                return _wrong(f"steps={steps}: scripted {list(got)} but eager {list(expected)}")
            reason = _follows_stop_rule(list(got), steps)
            if reason:
                return _wrong(reason)
            longest = max(longest, len(got))
    if longest < 2:
        return _wrong("your decoder stops after one token on every test source, so the repeat "
                      "rule could not be tried: keep the notebook's weights (subclass GreedyDecoder)")
    return _right("scripted and eager agree, and both stop at a 0 or right after a repeated token")


def mixing_2(count: Any) -> Verdict:
    """`pipeline` traced with a plain-Python `smooth`: how many `aten::roll` nodes does the trace hold?"""
    if _unanswered(count):
        return _UNANSWERED

    def smooth(x: torch.Tensor, rounds: int) -> torch.Tensor:
        for _ in range(rounds):
            x = (x + x.roll(1)) / 2
        return x

    with _quiet():
        traced = torch.jit.trace(lambda x: smooth(x * 2, 3) + 1, torch.arange(4.0))
    truth = _kinds(traced.graph).count("aten::roll")
    if count == truth:
        return _right(f"{truth} aten::roll nodes: the loop ran {truth} times while tracing and was "
                      "unrolled, with no prim::Loop and no call left")
    return _wrong(f"{count!r} is not the count; draw the trace and count the aten::roll boxes")


# --- 04_save_and_load ----------------------------------------------------------------------

class _Gate(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if bool(x.mean() > 0):
            return self.fc(x)
        return -x


def saving_1(wrong_means: Any) -> Verdict:
    """The traced Gate (traced on `torch.ones(1, 4)`), saved and loaded: which of means +1, -1 is wrong?"""
    if _unanswered(wrong_means):
        return _UNANSWERED
    try:
        answer = {float(m) for m in wrong_means}
    except (TypeError, ValueError):
        return _wrong("answer with a list of means, e.g. [1.0]")
    gate = _Gate().eval()
    with _quiet():
        traced = torch.jit.trace(gate, torch.ones(1, 4), check_trace=False)
    truth = {m for m in (1.0, -1.0)
             if not torch.allclose(traced(torch.full((1, 4), m)), gate(torch.full((1, 4), m)))}
    if answer == truth:
        return _right(f"wrong for mean {sorted(truth)}: the file holds the trace's one branch, and "
                      "saving writes down the graph as it is; it cannot bring back the other branch")
    return _wrong(f"{sorted(answer)} is not it: which branch did the example torch.ones(1, 4) take?")


def saving_2(module: Any, line: Any = ...) -> Verdict:
    """The line of `module.code` that holds `Gate.forward`'s `if`."""
    if _unanswered(module, line):
        return _UNANSWERED
    code = getattr(module, "code", None)
    if not isinstance(code, str):
        return _wrong("pass the loaded scripted module first, then the line, as a string")
    lines = [text.strip() for text in code.splitlines()]
    if not isinstance(line, str) or line.strip() not in lines:
        return _wrong("copy one whole line of module.code, as a string")
    if not line.strip().startswith("if "):
        return _wrong(f"{line.strip()!r} is a line of the code, but not the `if`")
    return _right(f"{line.strip()!r}: the `if` is kept as TorchScript source in the file's code/ folder")


def saving_3(op: Any) -> Verdict:
    """After `torch.jit.freeze`, what replaced the call to `self.fc` in Gate's graph?"""
    if _unanswered(op):
        return _UNANSWERED
    frozen = torch.jit.freeze(torch.jit.script(_Gate().eval()))
    kinds = _kinds(frozen.graph)
    ops = {kind for kind in kinds if kind.startswith("aten::") and kind not in ("aten::mean", "aten::gt",
                                                                              "aten::Bool", "aten::neg")}
    name = str(op) if str(op).startswith("aten::") else "aten::" + str(op)
    if "prim::CallMethod" in kinds:
        return _wrong("this PyTorch still keeps the call: freezing did not inline it")
    if name in ops:
        return _right(f"{name}: freezing inlined fc.forward and made its weight and bias constants")
    return _wrong(f"{op!r} is not in the frozen graph where fc.forward was; draw jitviz.show(frozen)")


# --- 05_trace_vs_script_speed --------------------------------------------------------------

class _RNNLoop(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.cell = nn.GRUCell(16, 32)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        h = torch.zeros(seq.shape[1], 32)
        for t in range(seq.shape[0]):
            h = self.cell(seq[t], h)
        return h


def aten_ops_per_step() -> int:
    """How many ATen operators the trace of `RNNLoop` grows by per extra time step.

        >>> aten_ops_per_step() > 1
        True
    """
    model = _RNNLoop().eval()
    with _quiet():
        counts = [sum(kind.startswith("aten::") for kind in _kinds(
            torch.jit.trace(model, torch.randn(length, 4, 16), check_trace=False).inlined_graph))
            for length in (1, 2)]
    return counts[1] - counts[0]


def speed_1(ops_per_step: Any) -> Verdict:
    """How many `aten::` nodes does the traced RNN's inlined graph gain per time step?"""
    if _unanswered(ops_per_step):
        return _UNANSWERED
    truth = aten_ops_per_step()
    if ops_per_step == truth:
        return _right(f"{truth} ATen operators per step in the trace (GRUCell's Python maths, "
                      "recorded op by op), where the script calls aten::gru_cell once per step")
    return _wrong(f"{ops_per_step!r} is not it: trace on sequences of length 1 and 2 and subtract "
                  "the counts of aten:: kinds in .inlined_graph")


def speed_2(outcome: Any) -> Verdict:
    """The RNN traced on length 20, run on length 40: "error", "wrong" or "right"?"""
    if _unanswered(outcome):
        return _UNANSWERED
    if outcome not in ("error", "wrong", "right"):
        return _wrong('answer "error", "wrong" or "right"')
    model = _RNNLoop().eval()
    with _quiet():
        traced = torch.jit.trace(model, torch.randn(20, 4, 16), check_trace=False)
    seq = torch.randn(40, 4, 16)
    try:
        truth = "right" if torch.allclose(traced(seq), model(seq), atol=1e-6) else "wrong"
    except Exception:  # noqa: BLE001 - any failure is the "error" outcome
        truth = "error"
    if outcome == truth:
        return _right("it runs without complaint and returns the state after 20 steps: the loop "
                      "was unrolled for the example's length, so the last 20 inputs are ignored"
                      if truth == "wrong" else f"it is {truth}")
    return _wrong(f"{outcome!r} is not what happens: run it and compare with the eager model")


# --- 06_from_torchscript_to_torch_export ---------------------------------------------------

def _cond_in(program: Any) -> bool:
    return any(node.target is torch.ops.higher_order.cond for node in program.graph.nodes)


def export_1(program: Any) -> Verdict:
    """An exported program: `x * 2` when `x.mean() > 1.0`, else `x - 1`, with `torch.cond`."""
    if _unanswered(program):
        return _UNANSWERED
    if not isinstance(program, torch.export.ExportedProgram):
        return _wrong("pass the ExportedProgram that torch.export.export returned")
    if not _cond_in(program):
        return _wrong("the program has no torch.cond: the branch must be in the graph")
    for fill in (0.0, 1.0, 3.0):
        x = torch.full((2, 2), fill)
        got, problem = _run(f"program.module() on fill {fill}", program.module(), x)
        if problem:
            return problem
        expected = x * 2 if fill > 1.0 else x - 1
        if not _same(got, expected):
            return _wrong(f"on fill {fill} it returns {got.flatten().tolist()}, expected "
                          f"{expected.flatten().tolist()}")
    return _right("both branches are in the graph; they return the same dtype and shape here")


def export_2(program: Any) -> Verdict:
    """`CondBranch` exported with a dynamic batch (first) dimension."""
    if _unanswered(program):
        return _UNANSWERED
    if not isinstance(program, torch.export.ExportedProgram):
        return _wrong("pass the ExportedProgram that torch.export.export returned")
    for batch in (1, 5):
        x = torch.full((batch, 2), 3.0)
        got, problem = _run(f"program.module() on a batch of {batch}", program.module(), x)
        if problem:
            return _wrong(problem.message + " (is the batch dimension declared with Dim?)")
        if float(got) != 1.0:
            return _wrong(f"on a batch of {batch} with mean 3 it returns {got}, not tensor(1.)")
    return _right("batches of 1 and 5 run: the input's first dimension is a symbol, with its range "
                  "in program.range_constraints")


# --- 07_large_models -----------------------------------------------------------------------

def large_1(name: Any) -> Verdict:
    """Which TorchScript function does a scripted `nn.MultiheadAttention` call?"""
    if _unanswered(name):
        return _UNANSWERED
    attention = torch.jit.script(nn.MultiheadAttention(8, 2, batch_first=True).eval())
    callees = set()
    for node in attention.graph.findAllNodes("prim::CallFunction"):
        callees.add(str(node.inputsAt(0).type()).removeprefix("__torch__."))  # its qualified name
    worker = next((c for c in callees if c.endswith("multi_head_attention_forward")), None)
    if isinstance(name, str) and worker and name.split(".")[-1] == worker.split(".")[-1]:
        return _right(f"{worker}: the functional form does the attention, so opening self_attn "
                      "shows a call to it (beside small helpers such as _canonical_mask)")
    if isinstance(name, str) and any(c.endswith(name.split(".")[-1]) for c in callees):
        return _wrong(f"{name} is called, but only as a helper: which call does the attention itself?")
    return _wrong(f"{name!r} is not among the functions it calls; look for the yellow call node's label")


def large_2(shape: Any) -> Verdict:
    """The traced encoder on `torch.randn(2, 10, 64)`: what shape does the edge into `layers.0` carry?"""
    if _unanswered(shape):
        return _UNANSWERED
    numbers = tuple(shape) if isinstance(shape, (tuple, list, torch.Size)) else None
    if isinstance(shape, str):
        digits = "".join(c if c.isdigit() else " " for c in shape).split()
        numbers = tuple(int(d) for d in digits)
    if numbers == (2, 10, 64):
        return _right("Float(2, 10, 64): a trace records the example's shapes on every edge; the "
                      "scripted picture only says Tensor")
    return _wrong(f"{shape!r} is not the shape the edge carries; read its label in the traced picture")
