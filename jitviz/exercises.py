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
import functools
import inspect
import math
import numbers
import re
import textwrap
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

__all__ = [
    "Verdict",
    "compile_1",
    "compile_2",
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
    """Same shape and values (any dtype); a plain number counts as the 0-dim tensor holding it."""
    if isinstance(a, (torch.Tensor, numbers.Real)) and isinstance(b, (torch.Tensor, numbers.Real)) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        a, b = torch.as_tensor(a), torch.as_tensor(b)
        if a.dtype.is_complex or b.dtype.is_complex or a.dtype is torch.bool or b.dtype is torch.bool:
            return False
        return a.shape == b.shape and torch.allclose(a.double(), b.double(), rtol=1e-5, atol=1e-6)
    return False

def _guarded(check: Callable[..., Verdict]) -> Callable[..., Verdict]:
    """A last net under every check: an answer the check did not foresee gets a verdict, never a traceback."""

    @functools.wraps(check)
    def guarded(*args: Any, **kwargs: Any) -> Verdict:
        try:
            return check(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - whatever the answer was, say so instead of raising
            first = (str(error).strip().splitlines() or [""])[0]
            return _wrong(f"the check could not use this answer ({type(error).__name__}: {first}); "
                          "look at what the exercise asks you to pass")

    return guarded


def _number(answer: Any) -> float | None:
    """A plain number, or a one-element tensor holding one; None for anything else (True/False included)."""
    if isinstance(answer, bool):
        return None
    if isinstance(answer, numbers.Real):
        return float(answer)
    if isinstance(answer, torch.Tensor) and answer.numel() == 1 and not answer.dtype.is_complex \
            and answer.dtype is not torch.bool:
        return float(answer.item())
    return None


def _count(answer: Any) -> int | None:
    """A whole number written as an int, a float such as 4.0, or a one-element tensor; else None."""
    value = _number(answer)
    if value is None or not math.isfinite(value) or not value.is_integer():
        return None
    return int(value)


def _numbers(answer: Any) -> set[float] | None:
    """A list (tuple, set, 1-D tensor) of numbers as a set of floats; None when it is anything else."""
    if isinstance(answer, torch.Tensor):
        answer = answer.flatten().tolist() if answer.dim() <= 1 else None
    if isinstance(answer, (str, bytes, dict)) or not isinstance(answer, Iterable):
        return None
    values = [_number(item) for item in answer]
    if any(value is None for value in values):
        return None
    return {float(value) for value in values if value is not None}


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return str(value.tolist()) if value.numel() <= 8 else f"a tensor of shape {tuple(value.shape)}"
    return repr(value)


# --- 00_start_here -------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _start_1_truth() -> tuple[tuple[str, Any], ...]:
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
    return tuple(truth.items())


@_guarded
def start_1(folded: Any) -> Verdict:
    """Which constants did `jitviz.show(lambda x: x.relu() + 1, torch.ones(3))` fold into labels?

    Answer with a dict from argument name to value: ``{"name": value, ...}``.
    """
    if _unanswered(folded):
        return _UNANSWERED
    if not isinstance(folded, dict) or not all(isinstance(key, str) for key in folded):
        return _wrong("answer with a dict from the argument name (a string) to its value, e.g. {'other': 5}")
    truth = dict(_start_1_truth())
    if set(folded) == set(truth) and all(
            _number(folded[name]) is not None and _number(folded[name]) == float(value)
            for name, value in truth.items()):
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
        hints.append("the names are right; look at the values (numbers) in the node's label again")
    return _wrong("; ".join(hints))


@functools.lru_cache(maxsize=1)
def _start_2_truth() -> int:
    from .api import show

    def pick(x):
        if bool(x.mean() > 1.0):
            r = 1
        else:
            r = 2
        return r

    return show(torch.jit.script(pick), constants="nodes").source.count('label="prim::Constant')


@_guarded
def start_2(count: Any) -> Verdict:
    """How many `prim::Constant` boxes does `jitviz.show(pick, constants="nodes")` draw?"""
    if _unanswered(count):
        return _UNANSWERED
    if _count(count) is None:
        return _wrong(f"{_describe(count)} is not a count: answer with a whole number")
    truth = _start_2_truth()
    if _count(count) == truth:
        return _right(f"{truth} constant boxes; by default each is folded into the label of the "
                      "node or block that uses it")
    return _wrong(f"{_describe(count)} is not the number of prim::Constant boxes; count them in the picture "
                  "(the None that aten::mean gets for its dtype is one of them)")


# --- 01_tracing ----------------------------------------------------------------------------

def _my_branch(x: torch.Tensor) -> torch.Tensor:
    if x.mean() > 1.0:
        r = torch.tensor(1.0)
    else:
        r = torch.tensor(2.0)
    return r


TRACING_1_FILLS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)


@_guarded
def tracing_1(wrong_fills: Any) -> Verdict:
    """Traced on `torch.full((2, 2), 3.0)`, which fills of `TRACING_1_FILLS` does `my_branch` get wrong?"""
    if _unanswered(wrong_fills):
        return _UNANSWERED
    answer = _numbers(wrong_fills)
    if answer is None:
        return _wrong("answer with a list of fill values (numbers), e.g. [0.5, 2.0]")
    with _quiet():
        traced = torch.jit.trace(_my_branch, torch.full((2, 2), 3.0), check_trace=False)
    truth = {fill for fill in TRACING_1_FILLS
             if not torch.equal(traced(torch.full((2, 2), fill)), _my_branch(torch.full((2, 2), fill)))}
    if answer == truth:
        return _right(f"wrong for {sorted(truth)}: this trace kept the then-branch, tensor(1.), so it "
                      "is wrong wherever the mean is not above 1")
    if answer < truth:
        hint = "some are missing"
    elif answer - truth:
        hint = f"it is right for {sorted(answer - truth)}"
    else:
        hint = "it is not the set"
    return _wrong(f"{sorted(answer)} is not the set of fills the trace gets wrong ({hint}); compare "
                  "traced(torch.full((2, 2), fill)) with my_branch(...) for each fill")


@_guarded
def tracing_2(constant: Any) -> Verdict:
    """`f(x) = x * x.max().item()` traced on `torch.arange(3.0)`: which number does the trace multiply by?"""
    if _unanswered(constant):
        return _UNANSWERED
    value = _number(constant)
    if value is None:
        return _wrong(f"{_describe(constant)} is not a number: answer with the number the trace multiplies by")
    with _quiet():
        traced = torch.jit.trace(lambda x: x * x.max().item(), torch.arange(3.0), check_trace=False)
    truth = float(traced(torch.ones(1)))
    if math.isclose(value, truth):
        return _right(f"the trace multiplies every input by {truth}, the max of the example it saw")
    return _wrong(f"{_describe(constant)} is not it: `.item()` turns the max into a Python number while "
                  "tracing; which number was that for torch.arange(3.0)?")


def _add_rows(x: torch.Tensor) -> torch.Tensor:
    y = x
    for i in range(x.shape[0]):
        y = y + x[i]
    return y


def _tracing_3_probes() -> list[torch.Tensor]:
    """Seeded random lengths and values: no pattern (an arange, all ones) that a formula could exploit."""
    generator = torch.Generator().manual_seed(3)
    return [torch.randn(length, generator=generator) * 3 for length in (1, 2, 3, 3, 4, 5, 8, 13)]


@_guarded
def tracing_3(fn: Any) -> Verdict:
    """A version of `add_rows` whose trace (on `torch.ones(3)`) is right for every length."""
    if _unanswered(fn):
        return _UNANSWERED
    if isinstance(fn, (torch.jit.ScriptFunction, torch.jit.ScriptModule)):
        return _wrong("torch.jit.trace hands a scripted function back unchanged, so nothing is traced: "
                      "pass a plain Python function, rewritten so that its trace is right")
    if not callable(fn) or isinstance(fn, type):
        return _wrong("pass your function itself (not its result)")
    traced, problem = _run("tracing your function on torch.ones(3)",
                           lambda: torch.jit.trace(fn, torch.ones(3), check_trace=False))
    if problem:
        return problem
    for x in _tracing_3_probes():
        given = x.clone()
        result, problem = _run(f"the trace on a length-{len(x)} input", traced, given)
        if problem:
            return problem
        if not torch.equal(given, x):
            return _wrong("your function changes its input in place (add_rows leaves x alone): "
                          "write y = x + ..., not y += ... on y = x")
        if not _same(result, _add_rows(x)):
            return _wrong(f"on the length-{len(x)} input {_describe(x)} the trace gives {_describe(result)}, "
                          f"add_rows gives {_describe(_add_rows(x))}")
    loops = [k for k in _kinds(traced.graph) if k in ("aten::select", "prim::Loop")]
    return _right("the trace gives add_rows' answer for random inputs of lengths 1 to 13"
                  + (" and no longer unrolls a loop" if not loops else ""))


# --- 02_scripting --------------------------------------------------------------------------

def _three_arms(x: torch.Tensor) -> torch.Tensor:
    if x.mean() > 1.0:
        return torch.tensor(1.0)
    elif x.mean() > 0.5:
        return torch.tensor(3.0)
    return torch.tensor(2.0)


def _threshold_probes(thresholds: Iterable[float], shape: tuple[int, ...],
                      seed: int) -> list[torch.Tensor]:
    """Inputs just below, exactly at and just above each threshold (constant fills, so the mean is
    exact), inputs whose mean, max, min and sum fall on different sides, and seeded random ones."""
    probes = []
    for threshold in thresholds:
        for fill in (threshold - 1e-3, threshold, threshold + 1e-3, threshold - 0.1, threshold + 0.1):
            probes.append(torch.full(shape, fill))
    for threshold in thresholds:
        # mean just above / below the threshold, with a spread that puts max and min far from it
        for offset in (0.05, -0.05):
            spread = torch.linspace(-1.5, 1.5, math.prod(shape)).reshape(shape)
            probes.append(spread - spread.mean() + threshold + offset)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(24):
        probes.append(torch.rand(shape, generator=generator) * 3 - 0.75)
    return probes


@_guarded
def scripting_1(fn: Any, inputs: Any = ...) -> Verdict:
    """`my_branch` with an `elif x.mean() > 0.5:` arm returning `tensor(3.)`, and one input per arm."""
    if _unanswered(fn, inputs):
        return _UNANSWERED
    if not callable(fn) or isinstance(fn, (type, torch.Tensor)):
        return _wrong("pass your function itself first, then the list of three inputs")
    scripted, problem = _run("torch.jit.script(your function)", torch.jit.script, fn)
    if problem:
        return problem
    for x in _threshold_probes((0.5, 1.0), (2, 2), seed=1):
        result, problem = _run(f"the scripted function on {_describe(x)}", scripted, x.clone())
        if problem:
            return problem
        if not _same(result, _three_arms(x)):
            return _wrong(f"on {_describe(x)} (mean {x.mean().item():.4g}) it returns {_describe(result)}, "
                          f"but the three arms give {_describe(_three_arms(x))} there "
                          "(mean > 1: 1., > 0.5: 3., else 2.)")
    if isinstance(inputs, torch.Tensor) and inputs.dim() >= 1:
        inputs = list(inputs)
    if isinstance(inputs, (str, bytes, dict)) or not isinstance(inputs, Iterable):
        return _wrong("inputs should be a list of three tensors, one per arm")
    inputs = list(inputs)
    if len(inputs) != 3 or not all(isinstance(x, torch.Tensor) and x.is_floating_point() and x.numel()
                                   for x in inputs):
        return _wrong("inputs should be a list of three float tensors, one per arm")
    outputs = [float(_three_arms(x)) for x in inputs]
    if sorted(outputs) != [1.0, 2.0, 3.0]:
        return _wrong(f"your inputs reach the arms giving {outputs}: one input per arm is needed")
    return _right("the scripted function keeps all three arms, and each of your inputs takes a different one")


_LOOP_CAP = 100


def _capped(scripted: Any, cap: int) -> Callable[..., Any]:
    """A copy of a scripted function whose `while` loops stop after `cap` rounds, run or not.

    A `while` loop is a prim::Loop whose trip count is the largest int64: the copy gets `cap`
    instead, so a loop that never ends on its own returns after `cap` rounds.
    """
    graph = scripted.graph.copy()
    torch._C._jit_pass_inline(graph)
    for loop in graph.findAllNodes("prim::Loop"):
        trip = loop.inputsAt(0)
        if trip.node().kind() == "prim::Constant" and trip.toIValue() == 2**63 - 1:
            limit = graph.insertConstant(cap)
            limit.node().moveBefore(loop)
            loop.replaceInput(0, limit)
    return torch._C._create_function_from_graph(f"capped_{cap}", graph)


def _invariant_loop(scripted: Any) -> bool:
    """True when a `while` loop's condition does not depend on anything the loop changes."""
    graph = scripted.graph.copy()
    torch._C._jit_pass_inline(graph)
    for loop in graph.findAllNodes("prim::Loop"):
        trip = loop.inputsAt(0)
        if not (trip.node().kind() == "prim::Constant" and trip.toIValue() == 2**63 - 1):
            continue
        body = next(iter(loop.blocks()))
        carried = {value.debugName() for value in list(body.inputs())[1:]}
        inside: set[str] = set()

        def collect(nodes: Iterable[torch._C.Node], inside: set[str] = inside) -> None:
            for node in nodes:
                inside.update(output.debugName() for output in node.outputs())
                for block in node.blocks():
                    collect(block.nodes())

        collect(body.nodes())
        stack, seen, depends = [next(iter(body.outputs()))], set(), False
        while stack:
            value = stack.pop()
            if value.debugName() in carried:
                depends = True
                break
            if value.debugName() in seen or value.debugName() not in inside:
                continue
            seen.add(value.debugName())
            if value.node().kind() in ("aten::rand", "aten::randn", "aten::randint", "aten::bernoulli"):
                depends = True
                break
            stack.extend(value.node().inputs())
        if not depends:
            return True
    return False


@_guarded
def scripting_2(fn: Any, body_runs: Any = ...) -> Verdict:
    """A scripted `f(x, n: int)` with a `while n > 0:` loop, and how often its body ran for n = 0."""
    if _unanswered(fn, body_runs):
        return _UNANSWERED
    if isinstance(fn, (nn.Module, type)) or not callable(fn):
        return _wrong("pass your function `def f(x, n: int)` itself first, then the number of runs")
    scripted, problem = _run("torch.jit.script(your function)", torch.jit.script, fn)
    if problem:
        return problem
    if "prim::Loop" not in _kinds(scripted.graph):
        return _wrong("the scripted graph has no prim::Loop: write the loop as `while n > 0:`")
    if _invariant_loop(scripted):
        return _wrong("the loop's condition never changes inside the loop, so for n > 0 it would run "
                      "forever: the body must count n down (n -= 1)")
    x = torch.ones(2)
    result, problem = _run("f(torch.ones(2), 0)", _capped(scripted, _LOOP_CAP), x.clone(), 0)
    if problem:
        return problem
    if not _same(result, x):
        return _wrong(f"f(torch.ones(2), 0) returns {_describe(result)}: with n = 0 the loop must not run, "
                      "so x comes back unchanged")
    for n in (1, 2, 5):
        # run with the loop capped at 100 and at 101 rounds: a loop that stops by itself gives the
        # same answer both times, one that does not stop never hangs the check
        once, problem = _run(f"f(torch.ones(2), {n})", _capped(scripted, _LOOP_CAP), x.clone(), n)
        if problem:
            return problem
        again, problem = _run(f"f(torch.ones(2), {n})", _capped(scripted, _LOOP_CAP + 1), x.clone(), n)
        if problem:
            return problem
        if not _same(once, again):
            return _wrong(f"with n = {n} the loop does not stop: the check cut it off after {_LOOP_CAP} rounds "
                          "(it would run forever); the body must count n down (n -= 1)")
    if _count(body_runs) is None:
        return _wrong(f"{_describe(body_runs)} is not a number of runs: answer with a whole number")
    if _count(body_runs) != 0:
        return _wrong(f"{_describe(body_runs)} is not what the highlight says for n = 0: look at the loop "
                      "body's label in jitviz.show(f, torch.ones(2), 0, highlight=True)")
    return _right("for n = 0 the loop body never runs: the highlight draws it greyed out, 'not run' "
                  "(and for n > 0 your loop stops)")


def _first_or_zero(xs: list[torch.Tensor]) -> torch.Tensor:
    if len(xs) == 0:
        return torch.zeros(1)
    return xs[0]


@_guarded
def scripting_3(fn: Any) -> Verdict:
    """`first_or_zero` without try/except: scriptable, and the same answers as the original."""
    if _unanswered(fn):
        return _UNANSWERED
    if isinstance(fn, (type, torch.Tensor)) or not callable(fn):
        return _wrong("pass your function itself (not its result)")
    scripted, problem = _run("torch.jit.script(your function)", torch.jit.script, fn)
    if problem:
        return problem
    for xs in ([], [torch.ones(2)], [torch.full((3,), 2.0), torch.ones(1)],
               [torch.arange(4.0).reshape(2, 2), torch.zeros(1), torch.ones(3)]):
        result, problem = _run(f"your scripted function on a list of {len(xs)}", scripted, list(xs))
        if problem:
            return problem
        if not (isinstance(result, torch.Tensor) and _same(result, _first_or_zero(xs))
                and result.dtype == _first_or_zero(xs).dtype):
            return _wrong(f"on a list of {len(xs)} tensors it returns {_describe(result)}, the original "
                          f"returns {_describe(_first_or_zero(xs))}")
    return _right("it scripts, and gives the original's answer for an empty list and for longer ones")


# --- 03_mixing -----------------------------------------------------------------------------

def _follows_stop_rule(tokens: list[int], steps: int) -> str:
    """Why `tokens` breaks the rule 'stop after a 0 or after a token equal to the previous one'."""
    if len(tokens) > steps:
        return f"{len(tokens)} tokens for steps={steps}"
    for i, token in enumerate(tokens[:-1]):
        if token == 0:
            return f"{tokens}: it went on after a 0"
        if i > 0 and token == tokens[i - 1]:
            return f"{tokens}: it went on after {token} came twice in a row"
    if len(tokens) < steps and not tokens:
        return f"it produced nothing for steps={steps}"
    if len(tokens) < steps and tokens[-1] != 0 and (len(tokens) < 2 or tokens[-1] != tokens[-2]):
        return f"{tokens}: it stopped early with no reason to"
    return ""


# Token-to-next-token tables that the check's own weights make the decoder follow (start token 1):
# a repeat after a change, a repeat of the first token, a stop at 0, a cycle that never repeats
_MIXING_1_TABLES = ({1: 3, 3: 5, 5: 5}, {1: 1}, {1: 2, 2: 0}, {1: 4, 4: 2, 2: 4}, {1: 0})


def _table_tokens(table: dict[int, int], steps: int) -> list[int]:
    tokens: list[int] = []
    token = 1
    for _ in range(steps):
        previous, token = token, table.get(token, token)
        tokens.append(token)
        if token == 0 or (len(tokens) > 1 and token == previous):
            break
    return tokens


def _table_weights(table: dict[int, int]) -> dict[str, torch.Tensor]:
    """Weights for embed (6x8), cell (GRUCell 8->8) and out (8->6) that ignore the encoder's state:
    the update gate is shut (z ~ 0, so h = tanh(4 * embed(token))), each token embeds as a one-hot
    vector, and `out` maps that one-hot vector to the table's next token."""
    embed = torch.zeros(6, 8)
    embed[torch.arange(6), torch.arange(6)] = 1.0
    weight_ih = torch.zeros(24, 8)
    weight_ih[16:24] = 4.0 * torch.eye(8)
    bias_ih = torch.zeros(24)
    bias_ih[8:16] = -30.0
    out = torch.zeros(6, 8)
    for token in range(6):
        out[table.get(token, token), token] = 1.0
    return {"embed.weight": embed, "cell.weight_ih": weight_ih, "cell.weight_hh": torch.zeros(24, 8),
            "cell.bias_ih": bias_ih, "cell.bias_hh": torch.zeros(24), "out.weight": out,
            "out.bias": torch.zeros(6)}


@contextlib.contextmanager
def _weights_set(modules: Iterable[Any], weights: dict[str, torch.Tensor]) -> Iterator[None]:
    """Copy `weights` into each module's parameters of those names, and put the old values back after."""
    saved = []
    try:
        with torch.no_grad():
            for module in modules:
                parameters = dict(module.named_parameters())
                for name, value in weights.items():
                    saved.append((parameters[name], parameters[name].detach().clone()))
                    parameters[name].copy_(value)
        yield
    finally:
        with torch.no_grad():
            for parameter, old in reversed(saved):
                parameter.copy_(old)


def _has_decoder_weights(module: Any) -> bool:
    try:
        parameters = dict(module.named_parameters())
    except Exception:  # noqa: BLE001 - not a module
        return False
    return all(name in parameters and parameters[name].shape == value.shape
               for name, value in _table_weights({}).items())


@_guarded
def mixing_1(eager: Any, scripted: Any = ..., source: Any = None) -> Verdict:
    """The decoder, changed to stop also when a token repeats the previous one; eager and scripted."""
    if _unanswered(eager, scripted):
        return _UNANSWERED
    if not isinstance(eager, nn.Module):
        return _wrong("pass your eager decoder (the nn.Module) first, then torch.jit.script of it")
    if not isinstance(scripted, torch.jit.ScriptModule):
        return _wrong("pass the scripted decoder (torch.jit.script(your module)) as the second argument")
    generator = torch.Generator().manual_seed(0)
    sources = [source] if isinstance(source, torch.Tensor) else []
    sources += [torch.randn(5, 4, generator=generator) for _ in range(6)]

    def compare(src: torch.Tensor, steps: int, label: str) -> tuple[list[int] | None, Verdict | None]:
        expected, problem = _run(f"your eager decoder with steps={steps}", eager, src, steps)
        if problem:
            return None, problem
        got, problem = _run(f"your scripted decoder with steps={steps}", scripted, src, steps)
        if problem:
            return None, problem
        for output in (expected, got):
            if not (isinstance(output, list) and all(isinstance(t, int) and not isinstance(t, bool)
                                                     for t in output)):
                return None, _wrong(f"the decoder returns {_describe(output)}: it should return a list of ints")
        if got != expected:
            return None, _wrong(f"{label}steps={steps}: scripted {got} but eager {expected}")
        reason = _follows_stop_rule(got, steps)
        if reason:
            return None, _wrong(label + reason)
        return got, None

    stopped_on_repeat = False
    for src in sources:
        for steps in range(9):
            got, problem = compare(src, steps, "")
            if problem:
                return problem
            assert got is not None
            if len(got) < steps and len(got) >= 2 and got[-1] == got[-2] != 0:
                stopped_on_repeat = True
    if _has_decoder_weights(eager) and _has_decoder_weights(scripted):
        # the check's own weights: each table's tokens, whatever the learner's weights are
        for table in _MIXING_1_TABLES:
            with _weights_set({id(m): m for m in (eager, scripted)}.values(), _table_weights(table)):
                for steps in range(9):
                    label = f"with weights that make the tokens go {_table_tokens(table, 8)}..., "
                    got, problem = compare(sources[-1], steps, label)
                    if problem:
                        return problem
                    if got != _table_tokens(table, steps):
                        return _wrong(f"{label}steps={steps} gives {got}, not {_table_tokens(table, steps)}")
        stopped_on_repeat = True
    if not stopped_on_repeat:
        return _wrong("your decoder never stopped on a repeated token on the test sources, so the repeat "
                      "rule could not be tried: keep the notebook's weights (subclass GreedyDecoder) or "
                      "pick a seed whose tokens repeat")
    return _right("scripted and eager agree, and both stop at a 0 or right after a repeated token")


@functools.lru_cache(maxsize=1)
def _mixing_2_truth() -> int:
    def smooth(x: torch.Tensor, rounds: int) -> torch.Tensor:
        for _ in range(rounds):
            x = (x + x.roll(1)) / 2
        return x

    with _quiet():
        traced = torch.jit.trace(lambda x: smooth(x * 2, 3) + 1, torch.arange(4.0))
    return _kinds(traced.graph).count("aten::roll")


@_guarded
def mixing_2(count: Any) -> Verdict:
    """`pipeline` traced with a plain-Python `smooth`: how many `aten::roll` nodes does the trace hold?"""
    if _unanswered(count):
        return _UNANSWERED
    if _count(count) is None:
        return _wrong(f"{_describe(count)} is not a count: answer with a whole number")
    truth = _mixing_2_truth()
    if _count(count) == truth:
        return _right(f"{truth} aten::roll nodes: the loop ran {truth} times while tracing and was "
                      "unrolled, with no prim::Loop and no call left")
    return _wrong(f"{_describe(count)} is not the count; draw the trace and count the aten::roll boxes")


# --- 04_save_and_load ----------------------------------------------------------------------

class _Gate(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if bool(x.mean() > 0):
            return self.fc(x)
        return -x


@_guarded
def saving_1(wrong_means: Any) -> Verdict:
    """The traced Gate (traced on `torch.ones(1, 4)`), saved and loaded: which of means +1, -1 is wrong?"""
    if _unanswered(wrong_means):
        return _UNANSWERED
    answer = _numbers(wrong_means)
    if answer is None:
        return _wrong("answer with a list of means (numbers), e.g. [1.0]")
    gate = _Gate().eval()
    with _quiet():
        traced = torch.jit.trace(gate, torch.ones(1, 4), check_trace=False)
    truth = {m for m in (1.0, -1.0)
             if not torch.allclose(traced(torch.full((1, 4), m)), gate(torch.full((1, 4), m)))}
    if answer == truth:
        return _right(f"wrong for mean {sorted(truth)}: the file holds the trace's one branch, and "
                      "saving writes down the graph as it is; it cannot bring back the other branch")
    return _wrong(f"{sorted(answer)} is not it: which branch did the example torch.ones(1, 4) take?")


def _behaves_like_gate(module: Any) -> bool:
    """Gate's behaviour: -x when the mean is not above 0, its own fc(x) when it is."""
    fc = getattr(module, "fc", None)
    if fc is None:
        return False
    for fill in (1.0, -1.0, 0.0):
        x = torch.full((1, 4), fill) + torch.linspace(-0.1, 0.1, 4)
        result, problem = _run("the module", module, x)
        if problem or not isinstance(result, torch.Tensor):
            return False
        expected, problem = _run("its fc", fc, x) if x.mean() > 0 else (-x, None)
        if problem or not _same(result, expected):
            return False
    return True


@_guarded
def saving_2(module: Any, line: Any = ...) -> Verdict:
    """The line of `module.code` that holds `Gate.forward`'s `if`."""
    if _unanswered(module, line):
        return _UNANSWERED
    if not isinstance(module, torch.jit.ScriptModule) or not isinstance(getattr(module, "code", None), str):
        return _wrong("pass the loaded scripted Gate (loaded_scripted) first, then the line, as a string")
    if not _behaves_like_gate(module):
        return _wrong("this module does not behave like Gate (fc(x) when the mean is above 0, else -x): "
                      "pass loaded_scripted, the scripted Gate loaded back from its file")
    lines = [text.strip() for text in module.code.splitlines()]
    if not isinstance(line, str) or not line.strip() or "\n" in line.strip() or line.strip() not in lines:
        return _wrong("copy one whole line of module.code, as a string")
    text = line.strip()
    if not text.startswith("if ") or not text.endswith(":"):
        return _wrong(f"{text!r} is a line of the code, but not the `if`")
    if "torch.mean(x)" not in text or "torch.gt(" not in text:
        return _wrong(f"{text!r} is an `if`, but not the one that tests the mean against 0")
    return _right(f"{text!r}: the `if` is kept as TorchScript source in the file's code/ folder")


@functools.lru_cache(maxsize=1)
def _saving_3_truth() -> tuple[bool, frozenset[str]]:
    scripted = torch.jit.script(_Gate().eval())
    frozen = torch.jit.freeze(scripted)
    kinds = _kinds(frozen.graph)
    new = {kind for kind in kinds if kind.startswith("aten::")} - set(_kinds(scripted.graph))
    return "prim::CallMethod" in kinds, frozenset(new)


@_guarded
def saving_3(op: Any) -> Verdict:
    """After `torch.jit.freeze`, what replaced the call to `self.fc` in Gate's graph?"""
    if _unanswered(op):
        return _UNANSWERED
    if not isinstance(op, str) or not op.strip():
        return _wrong('answer with the operator\'s name, as a string such as "aten::something"')
    kept_call, ops = _saving_3_truth()
    name = op.strip().removesuffix("()")
    for prefix in ("torch.ops.aten.", "aten::", "aten."):
        name = name.removeprefix(prefix)
    name = "aten::" + name.removesuffix(".default")
    if kept_call:
        return _wrong("this PyTorch still keeps the call: freezing did not inline it")
    if name in ops:
        return _right(f"{name}: freezing inlined fc.forward and made its weight and bias constants")
    return _wrong(f"{op!r} is not the operator that took fc.forward's place; draw jitviz.show(frozen)")


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


@_guarded
def speed_1(ops_per_step: Any) -> Verdict:
    """How many `aten::` nodes does the traced RNN's inlined graph gain per time step?"""
    if _unanswered(ops_per_step):
        return _UNANSWERED
    if _count(ops_per_step) is None:
        return _wrong(f"{_describe(ops_per_step)} is not a count: answer with a whole number")
    truth = aten_ops_per_step()
    if _count(ops_per_step) == truth:
        return _right(f"{truth} ATen operators per step in the trace (GRUCell's Python maths, "
                      "recorded op by op), where the script calls aten::gru_cell once per step")
    return _wrong(f"{_describe(ops_per_step)} is not it: trace on sequences of length 1 and 2 and subtract "
                  "the counts of aten:: kinds in .inlined_graph")


@_guarded
def speed_2(outcome: Any) -> Verdict:
    """The RNN traced on length 20, run on length 40: "error", "wrong" or "right"?"""
    if _unanswered(outcome):
        return _UNANSWERED
    word = outcome.strip().strip("\"'.!").lower() if isinstance(outcome, str) else None
    if word not in ("error", "wrong", "right"):
        return _wrong('answer "error", "wrong" or "right"')
    model = _RNNLoop().eval()
    with _quiet():
        traced = torch.jit.trace(model, torch.randn(20, 4, 16), check_trace=False)
    seq = torch.randn(40, 4, 16)
    try:
        truth = "right" if torch.allclose(traced(seq), model(seq), atol=1e-6) else "wrong"
    except Exception:  # noqa: BLE001 - any failure is the "error" outcome
        truth = "error"
    if word == truth:
        return _right("it runs without complaint and returns the state after 20 steps: the loop "
                      "was unrolled for the example's length, so the last 20 inputs are ignored"
                      if truth == "wrong" else f"it is {truth}")
    return _wrong(f"{outcome!r} is not what happens: run it and compare with the eager model")


# --- 06_from_torchscript_to_torch_export ---------------------------------------------------

def _cond_in(program: Any) -> bool:
    return any(node.target is torch.ops.higher_order.cond for node in program.graph.nodes)


def _run_program(program: Any, x: torch.Tensor) -> tuple[Any, Verdict | None]:
    got, problem = _run(f"program.module() on {_describe(x)}", program.module(), x)
    if problem is None and not isinstance(got, torch.Tensor):
        return None, _wrong(f"program.module() returns {_describe(got)}, not one tensor")
    return got, problem


@_guarded
def export_1(program: Any) -> Verdict:
    """An exported program: `x * 2` when `x.mean() > 1.0`, else `x - 1`, with `torch.cond`."""
    if _unanswered(program):
        return _UNANSWERED
    if not isinstance(program, torch.export.ExportedProgram):
        return _wrong("pass the ExportedProgram that torch.export.export returned")
    if not _cond_in(program):
        return _wrong("the program has no torch.cond: the branch must be in the graph")
    for x in _threshold_probes((1.0,), (2, 2), seed=6):
        got, problem = _run_program(program, x.clone())
        if problem:
            return problem
        expected = x * 2 if x.mean() > 1.0 else x - 1
        if not _same(got, expected):
            return _wrong(f"on {_describe(x)} (mean {x.mean().item():.4g}) it returns {_describe(got)}, "
                          f"expected {_describe(expected)} (x * 2 when the mean is above 1, else x - 1)")
    return _right("both branches are in the graph; they return the same dtype and shape here")


@_guarded
def export_2(program: Any) -> Verdict:
    """`CondBranch` exported with a dynamic batch (first) dimension."""
    if _unanswered(program):
        return _UNANSWERED
    if not isinstance(program, torch.export.ExportedProgram):
        return _wrong("pass the ExportedProgram that torch.export.export returned")
    if not _cond_in(program):
        return _wrong("the program has no torch.cond: export CondBranch, whose branch is a torch.cond")
    for batch in (1, 2, 5, 9):
        for x in (torch.full((batch, 2), 3.0), torch.full((batch, 2), 1.0), torch.full((batch, 2), 1.001),
                  torch.zeros(batch, 2), torch.linspace(-2.0, 5.0, batch * 2).reshape(batch, 2)):
            got, problem = _run_program(program, x)
            if problem:
                return _wrong(problem.message + " (is the batch dimension declared with Dim?)")
            expected = torch.tensor(1.0) if x.mean() > 1.0 else torch.tensor(2.0)
            if not _same(got, expected):
                return _wrong(f"on a batch of {batch} with mean {x.mean().item():.4g} it returns "
                              f"{_describe(got)}, not tensor({expected.item():g})")
    return _right("batches of 1 to 9 run: the input's first dimension is a symbol, with its range "
                  "in program.range_constraints")


# --- 07_large_models -----------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _large_1_callees() -> frozenset[str]:
    attention = torch.jit.script(nn.MultiheadAttention(8, 2, batch_first=True).eval())
    callees = set()
    for node in attention.graph.findAllNodes("prim::CallFunction"):
        callees.add(str(node.inputsAt(0).type()).removeprefix("__torch__."))  # its qualified name
    return frozenset(callees)


@_guarded
def large_1(name: Any) -> Verdict:
    """Which TorchScript function does a scripted `nn.MultiheadAttention` call?"""
    if _unanswered(name):
        return _UNANSWERED
    if not isinstance(name, str) or not name.strip():
        return _wrong("answer with the function's name, as a string")
    callees = _large_1_callees()
    worker = next((c for c in callees if c.endswith("multi_head_attention_forward")), None)
    short = name.strip().removesuffix("()").split(".")[-1]
    if worker and short == worker.split(".")[-1]:
        return _right(f"{worker}: the functional form does the attention, so opening self_attn "
                      "shows a call to it (beside small helpers such as _canonical_mask)")
    if any(c.split(".")[-1] == short for c in callees):
        return _wrong(f"{name} is called, but only as a helper: which call does the attention itself?")
    return _wrong(f"{name!r} is not among the functions it calls; look for the yellow call node's label")


def _shape_of(answer: Any) -> tuple[int, ...] | None:
    """A shape from a tuple, list, torch.Size or 1-D tensor of ints, or from a string such as
    "Float(2, 10, 64, strides=[640, 64, 1], requires_grad=0, device=cpu)", "(2, 10, 64)" or "2x10x64"."""
    if isinstance(answer, str):
        text = re.sub(r"(?<=\d)\s*[x×]\s*(?=\d)", ", ", answer)
        text = re.split(r"\b[A-Za-z_]+\s*=", text)[0]        # what follows strides=, device=, ...
        return tuple(int(d) for d in re.findall(r"(?<![\w.])\d+(?![\w.])", text))
    if isinstance(answer, torch.Tensor):
        answer = answer.tolist() if answer.dim() == 1 else None
    if isinstance(answer, (tuple, list)):
        sizes = [_count(size) for size in answer]
        if all(size is not None for size in sizes):
            return tuple(size for size in sizes if size is not None)
    return None


@_guarded
def large_2(shape: Any) -> Verdict:
    """The traced encoder on `torch.randn(2, 10, 64)`: what shape does the edge into `layers.0` carry?"""
    if _unanswered(shape):
        return _UNANSWERED
    numbers = _shape_of(shape)
    if numbers == (2, 10, 64):
        return _right("Float(2, 10, 64): a trace records the example's shapes on every edge; the "
                      "scripted picture only says Tensor")
    if numbers is None:
        return _wrong(f"{_describe(shape)} is not a shape: answer with a tuple of sizes, e.g. (1, 2, 3)")
    return _wrong(f"{_describe(shape)} is not the shape the edge carries; read its label in the traced picture")


# --- 08_from_torchscript_to_torch_compile ---------------------------------------------------


def messy(x: torch.Tensor) -> torch.Tensor:
    """Exercise 08-1's function: three graphs and two breaks under torch.compile."""
    y = x * 2
    print("scaled")
    if y.sum() > 0:
        y = y + 1
    return y


def three_breaks(x: torch.Tensor) -> torch.Tensor:
    """Exercise 08-2's function: how many graphs does torch.compile make of it on torch.ones(2, 2)?"""
    y = x.sin()
    if y.mean() > 0.5:
        y = y * 2
    print("after the branch")
    total = y.sum().item()
    return y / total


def _quiet_messy(x: torch.Tensor) -> torch.Tensor:
    y = x * 2
    return y + 1 if bool(y.sum() > 0) else y


def _compile_probes() -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(8)
    probes = [torch.randn(2, 3, generator=generator) for _ in range(6)]
    probes += [torch.zeros(2, 3), torch.full((2, 3), 1e-3), torch.full((2, 3), -1e-3),
               torch.tensor([[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]]),  # a sum of exactly 0: not > 0
               torch.tensor([[3.0, -1.0, -1.0], [-1.0, 0.5, 0.0]]), torch.ones(5), -torch.ones(1, 4)]
    return probes


@_guarded
def compile_1(fn: Any) -> Verdict:
    """Rewrite `messy` so that torch.compile captures it in one graph, with the same results (minus the print)."""
    if _unanswered(fn):
        return _UNANSWERED
    if not callable(fn) or isinstance(fn, type):
        return _wrong("pass your rewritten function (a plain Python function of one tensor)")
    from .extract.compiled import capture_compiled

    for x in _compile_probes():
        expected = _quiet_messy(x)
        try:
            with _quiet(), contextlib.redirect_stdout(None):
                capture = capture_compiled(fn, (x.clone(),), fullgraph=True)
        except Exception as error:  # noqa: BLE001 - a break under fullgraph=True, or the learner's own error
            first = (str(error).strip().splitlines() or [""])[0]
            return _wrong(f"on a {tuple(x.shape)} input, torch.compile(fullgraph=True) refuses it: {first[:300]}")
        if len(capture.graphs) != 1:
            return _wrong(f"torch.compile made {len(capture.graphs)} graphs of it, not one")
        got, problem = _run("your function", fn, x.clone())
        if problem:
            return problem
        if not _same(got, expected):
            return _wrong(f"on an input whose y.sum() is {float((x * 2).sum()):.4g} it returns {_describe(got)}, "
                          f"where messy returns {_describe(expected)}")
        if _printed(fn, x):
            return _wrong("it still prints: a print is a graph break (run it outside the compiled function)")
    return _right("one graph, no break (fullgraph=True accepts it), and messy's results on inputs whose sums are "
                  "positive, negative and exactly zero")


def _printed(fn: Callable[..., Any], x: torch.Tensor) -> bool:
    import io

    out = io.StringIO()
    with _quiet(), contextlib.redirect_stdout(out):
        fn(x.clone())
    return bool(out.getvalue())


@_guarded
def compile_2(count: Any) -> Verdict:
    """How many graphs does torch.compile capture of `three_breaks` on torch.ones(2, 2)?"""
    if _unanswered(count):
        return _UNANSWERED
    if isinstance(count, str):  # "4" as well as 4
        count = int(count.strip()) if count.strip().isdigit() else None
    graphs = _count(count)
    if graphs is None:
        return _wrong("answer with a whole number of graphs")
    from .extract.compiled import capture_compiled

    with _quiet(), contextlib.redirect_stdout(None):
        capture = capture_compiled(three_breaks, (torch.ones(2, 2),))
    truth = len(capture.graphs)
    if graphs == truth:
        return _right(f"{truth} graphs: each of the {capture.break_count} breaks (the data-dependent if, the "
                      "print, the .item()) ends one graph and starts the next")
    if graphs == capture.break_count:
        return _wrong(f"{graphs} is the number of breaks; each break ends a graph and starts another, "
                      "so there is one graph more than breaks")
    return _wrong(f"not {graphs}: count the lines Dynamo cannot put in a graph, then the pieces between them")
