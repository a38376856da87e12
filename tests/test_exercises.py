"""Every exercise check says "right" for its worked solution and "not yet" for a wrong answer.

The worked solutions are read from the notebooks themselves (the folded `<details>` cells), so the
solution a learner opens is the one tested.
"""

import ast
import inspect
import re
import sys
import types
import warnings
from pathlib import Path

import nbformat
import pytest
import torch
from torch import nn

from jitviz import exercises

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
CHECKS = [name for name in exercises.__all__ if name != "Verdict"]


def _solutions():
    found = []
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.get("id", "").endswith("-solution"):
                code = re.search(r"```python\n(.*?)\n```", cell.source, re.DOTALL)
                assert code, f"{cell.id}: a solution cell holds one python code block"
                found.append(pytest.param(code.group(1), id=cell.id))
    return found


SOLUTIONS = _solutions()


def _run(code: str, folder: Path):
    """exec the solution and return the value of its last expression (the check's verdict).

    The code is written to a file first, since torch.jit.script reads a function's source file.
    """
    path = folder / "solution.py"
    path.write_text(code)
    tree = ast.parse(code)
    last = tree.body.pop()
    assert isinstance(last, ast.Expr), "a solution ends with the call to its check"
    # a real module in sys.modules: torch.export looks up the globals of the code it traces there
    module = types.ModuleType("exercise_solution")
    module.__file__ = str(path)
    sys.modules[module.__name__] = module
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(tree, str(path), "exec"), module.__dict__)  # noqa: S102 - the notebooks' own solutions
            return eval(compile(ast.Expression(last.value), str(path), "eval"), module.__dict__)
    finally:
        del sys.modules[module.__name__]


def test_every_exercise_has_a_solution_in_a_notebook():
    called = set()
    for param in SOLUTIONS:
        called |= set(re.findall(r"exercises\.(\w+)\(", param.values[0]))
    assert called == set(CHECKS)
    assert len(SOLUTIONS) == len(CHECKS) == 21


@pytest.mark.parametrize("code", SOLUTIONS)
def test_worked_solution_is_right(code, tmp_path):
    verdict = _run(code, tmp_path)
    assert isinstance(verdict, exercises.Verdict)
    assert verdict.ok, str(verdict)
    assert str(verdict).startswith("right: ")


@pytest.mark.parametrize("check", CHECKS)
def test_an_unanswered_exercise_says_not_yet(check):
    function = getattr(exercises, check)
    verdict = function(*([...] * len(inspect.signature(function).parameters)))
    assert not verdict.ok and "replace the `...`" in str(verdict)


# --- answers written by hand: plausible wrong ones, and right ones written differently ---------
# Functions that the checks script live here, at module level: torch.jit.script reads their source.

def _two_arms(x):
    if x.mean() > 1.0:
        r = torch.tensor(1.0)
    else:
        r = torch.tensor(2.0)
    return r


def _elif_at_0_6(x):
    if x.mean() > 1.0:
        return torch.tensor(1.0)
    elif x.mean() > 0.6:
        return torch.tensor(3.0)
    return torch.tensor(2.0)


def _max_not_mean(x):
    if x.max() > 1.0:
        return torch.tensor(1.0)
    elif x.max() > 0.5:
        return torch.tensor(3.0)
    return torch.tensor(2.0)


def _at_least_one(x):
    if x.mean() >= 1.0:
        return torch.tensor(1.0)
    elif x.mean() > 0.5:
        return torch.tensor(3.0)
    return torch.tensor(2.0)


def _elif_first(x):
    if x.mean() > 0.5:
        return torch.tensor(3.0)
    elif x.mean() > 1.0:
        return torch.tensor(1.0)
    return torch.tensor(2.0)


def _arms_nested(x):
    m = x.mean()
    if bool(m > 1.0):
        return torch.tensor(1.0)
    else:
        if bool(m > 0.5):
            return torch.tensor(3.0)
        else:
            return torch.tensor(2.0)


def _arms_where(x):
    m = x.mean()
    return torch.where(m > 1.0, torch.tensor(1.0), torch.where(m > 0.5, torch.tensor(3.0), torch.tensor(2.0)))


ARM_INPUTS = [torch.full((2, 2), 2.0), torch.full((2, 2), 0.75), torch.zeros(2, 2)]


def _count_up(x, n: int):
    for _ in range(n):
        x = x + 1
    return x


def _forever(x, n: int):
    while n > 0:
        x = x + 1
    return x


def _forever_quietly(x, n: int):
    while n > 0:
        y = x + 1  # noqa: F841 - the loop does nothing, forever
    return x


def _count_up_forever(x, n: int):
    while n > 0:
        x = x + 1
        n += 1
    return x


def _down_to_minus_one(x, n: int):
    while n >= 0:
        x = x + 1
        n -= 1
    return x


def _no_loop(x, n: int):
    return x + n


def _countdown_doubling(x, n: int):
    while bool(n > 0):
        n = n - 1
        x = x * 2
    return x


def _countdown_by_two(x, n: int):
    while n > 0:
        x = x - 1
        n -= 2
    return x


def _first_with_try(xs: list[torch.Tensor]):
    try:
        return xs[0]
    except IndexError:
        return torch.zeros(1)


def _first_wrong(xs: list[torch.Tensor]):
    if len(xs) == 0:
        return torch.ones(1)
    return xs[0]


def _last(xs: list[torch.Tensor]):
    if len(xs) == 0:
        return torch.zeros(1)
    return xs[-1]


def _zeros_two(xs: list[torch.Tensor]):
    if len(xs) == 0:
        return torch.zeros(2)
    return xs[0]


def _zeros_long(xs: list[torch.Tensor]):
    if len(xs) == 0:
        return torch.zeros(1, dtype=torch.long)
    return xs[0]


def _first_if_any(xs: list[torch.Tensor]):
    if len(xs) > 0:
        return xs[0]
    return torch.zeros(1)


def _first_ternary(xs: list[torch.Tensor]):
    return torch.zeros(1) if len(xs) == 0 else xs[0]


def _add_rows_copy(x):
    y = x
    for i in range(x.shape[0]):
        y = y + x[i]
    return y


def _add_rows_in_place(x):
    y = x
    y += x.sum(0)
    return y


class _AddRows(nn.Module):
    def forward(self, x):
        return torch.sum(x, dim=0, keepdim=True) + x


class _Decoder(nn.Module):
    """The notebook's decoder without the repeat stop: the wrong answer to mixing_1."""

    def __init__(self, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.encoder = nn.Linear(4, 8)
        self.embed = nn.Embedding(6, 8)
        self.cell = nn.GRUCell(8, 8)
        self.out = nn.Linear(8, 6)

    def forward(self, src, steps: int) -> list[int]:
        h = torch.tanh(self.encoder(src)).mean(0).unsqueeze(0)
        tokens: list[int] = []
        token = 1
        for _ in range(steps):
            h = self.cell(self.embed(torch.tensor([token])), h)
            token = int(self.out(h).argmax())
            tokens.append(token)
            if token == 0:
                break
        return tokens


class _RepeatStop(_Decoder):
    def forward(self, src, steps: int) -> list[int]:
        h = torch.tanh(self.encoder(src)).mean(0).unsqueeze(0)
        tokens: list[int] = []
        token = 1
        for _ in range(steps):
            h = self.cell(self.embed(torch.tensor([token])), h)
            token = int(self.out(h).argmax())
            tokens.append(token)
            if token == 0 or (len(tokens) >= 2 and tokens[-2] == token):
                break
        return tokens


class _RepeatStopWhile(_Decoder):
    def forward(self, src, steps: int) -> list[int]:
        h = torch.tanh(self.encoder(src)).mean(0).unsqueeze(0)
        tokens: list[int] = []
        token = 1
        done = False
        while not done and len(tokens) < steps:
            h = self.cell(self.embed(torch.tensor([token])), h)
            new = int(self.out(h).argmax(-1).item())
            done = new == 0 or (len(tokens) > 0 and new == tokens[-1])
            tokens.append(new)
            token = new
        return tokens


class _RepeatOfStartToken(_Decoder):
    """Compares the first token with the start token 1 too."""

    def forward(self, src, steps: int) -> list[int]:
        h = torch.tanh(self.encoder(src)).mean(0).unsqueeze(0)
        tokens: list[int] = []
        token = 1
        for _ in range(steps):
            h = self.cell(self.embed(torch.tensor([token])), h)
            previous = token
            token = int(self.out(h).argmax())
            tokens.append(token)
            if token == 0 or token == previous:
                break
        return tokens


class _StopBeforeRepeat(_Decoder):
    """Stops without appending the repeated token."""

    def forward(self, src, steps: int) -> list[int]:
        h = torch.tanh(self.encoder(src)).mean(0).unsqueeze(0)
        tokens: list[int] = []
        token = 1
        for _ in range(steps):
            h = self.cell(self.embed(torch.tensor([token])), h)
            token = int(self.out(h).argmax())
            if len(tokens) > 0 and tokens[-1] == token:
                break
            tokens.append(token)
            if token == 0:
                break
        return tokens


class _RepeatStopOnly(_Decoder):
    """Stops on a repeat, but no longer at a 0."""

    def forward(self, src, steps: int) -> list[int]:
        h = torch.tanh(self.encoder(src)).mean(0).unsqueeze(0)
        tokens: list[int] = []
        token = 1
        for _ in range(steps):
            h = self.cell(self.embed(torch.tensor([token])), h)
            token = int(self.out(h).argmax())
            tokens.append(token)
            if len(tokens) >= 2 and tokens[-2] == token:
                break
        return tokens


class _Renamed(nn.Module):
    """A decoder whose submodules have other names: the check cannot set its weights."""

    def __init__(self, seed: int, repeat_stop: bool):
        super().__init__()
        torch.manual_seed(seed)
        self.enc = nn.Linear(4, 8)
        self.emb = nn.Embedding(6, 8)
        self.gru = nn.GRUCell(8, 8)
        self.proj = nn.Linear(8, 6)
        self.repeat_stop = repeat_stop

    def forward(self, src, steps: int) -> list[int]:
        h = torch.tanh(self.enc(src)).mean(0).unsqueeze(0)
        tokens: list[int] = []
        token = 1
        for _ in range(steps):
            h = self.gru(self.emb(torch.tensor([token])), h)
            token = int(self.proj(h).argmax())
            tokens.append(token)
            if token == 0 or (self.repeat_stop and len(tokens) >= 2 and tokens[-2] == token):
                break
        return tokens


class _Relabelled(nn.Module):
    """Runs a scripted decoder and renames its tokens 1<->5, 2<->4: same lengths, repeats and 0s."""

    def __init__(self, scripted):
        super().__init__()
        self.scripted = scripted

    def forward(self, src, steps: int) -> list[int]:
        return [0 if token == 0 else 6 - token for token in self.scripted(src, steps)]


def _pair(cls, *args):
    eager = cls(*args).eval()
    return eager, torch.jit.script(eager)


class _Cond(nn.Module):
    """torch.cond(x.<reduce>() <op> threshold, then, else) for export_1's and export_2's answers."""

    def __init__(self, then, otherwise, test=lambda x: x.mean() > 1.0):
        super().__init__()
        self.then, self.otherwise, self.test = then, otherwise, test

    def forward(self, x):
        return torch.cond(self.test(x), self.then, self.otherwise, (x,))


class _Where(nn.Module):
    def forward(self, x):
        return torch.where(x.mean() > 1.0, x * 2, x - 1)


class _WhereScalar(nn.Module):
    def forward(self, x):
        return torch.where(x.mean() > 1.0, torch.ones(()), torch.full((), 2.0))


def _export(module, dynamic=None):
    dynamic_shapes = {"x": {0: dynamic}} if dynamic is not None else None
    torch._dynamo.reset()   # branch functions shared between exports: no specialisation carried over
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.export.export(module, (torch.ones(2, 2),), dynamic_shapes=dynamic_shapes)


def _double(x):
    return x * 2


def _decrement(x):
    return x - 1


_ONE = lambda x: torch.ones((), dtype=x.dtype)  # noqa: E731
_TWO = lambda x: torch.full((), 2.0, dtype=x.dtype)  # noqa: E731


@pytest.fixture(scope="module")
def gate():
    """The scripted Gate and the `if` line of its code, built once for every saving_2 answer."""
    scripted = torch.jit.script(exercises._Gate().eval())
    line = next(text for text in scripted.code.splitlines() if text.strip().startswith("if "))
    return scripted, line


class _OtherIf(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        if bool(x.sum() > 3):
            return x
        return self.fc(x)


class _InvertedGate(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        if bool(x.mean() > 0):
            return -x
        return self.fc(x)


class _GateTwoIfs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        if x.shape[0] > 100:
            x = x * 1.0
        if bool(x.mean() > 0):
            return self.fc(x)
        return -x


def _loaded(module, folder):
    torch.jit.save(module, folder / "gate.pt")
    return torch.jit.load(folder / "gate.pt")


def _compiled_where(x):
    y = x * 2
    return torch.where(y.sum() > 0, y + 1, y)


def _compiled_cond(x):
    y = x * 2
    return torch.cond(y.sum() > 0, lambda t: t + 1, lambda t: t.clone(), (y,))


def _compiled_arithmetic(x):
    y = x * 2
    return y + (y.sum() > 0).to(y.dtype)


def _compiled_at_least(x):
    y = x * 2
    return torch.where(y.sum() >= 0, y + 1, y)


def _compiled_elementwise(x):
    y = x * 2
    return torch.where(y > 0, y + 1, y)


def _compiled_always(x):
    return x * 2 + 1


def _compiled_still_prints(x):
    y = x * 2
    print("scaled")
    return torch.where(y.sum() > 0, y + 1, y)


def _compiled_item(x):
    y = x * 2
    return y + 1 if y.sum().item() > 0 else y


# check -> label -> a function of (gate, tmp_path) giving the check's arguments. Each is built in its
# own test only; what several share (the scripted Gate) is a module-scoped fixture.
WRONG = {
    "compile_1": {
        "unchanged": lambda g, t: (exercises.messy,),
        "still prints": lambda g, t: (_compiled_still_prints,),
        ".item() instead": lambda g, t: (_compiled_item,),
        ">= for >": lambda g, t: (_compiled_at_least,),
        "element by element": lambda g, t: (_compiled_elementwise,),
        "always adds": lambda g, t: (_compiled_always,),
    },
    "compile_2": {"the breaks": lambda g, t: (3,), "one": lambda g, t: (1,), "five": lambda g, t: (5,),
                  "words": lambda g, t: ("four",)},
    "start_1": {
        "other only": lambda g, t: ({"other": 1},),
        "alpha 2": lambda g, t: ({"other": 1, "alpha": 2},),
        "self too": lambda g, t: ({"other": 1, "alpha": 1, "self": 0},),
        "booleans": lambda g, t: ({"other": True, "alpha": True},),
        "wrong names": lambda g, t: ({"x": 1, "y": 1},),
    },
    "start_2": {"3": lambda g, t: (3,), "5": lambda g, t: (5,), "99": lambda g, t: (99,),
                "4.5": lambda g, t: (4.5,)},
    "tracing_1": {
        "empty": lambda g, t: ([],),
        "one": lambda g, t: ([0.0],),
        "subset": lambda g, t: ([0.0, 0.5],),
        "superset": lambda g, t: ([0.0, 0.5, 1.0, 1.5],),
        "the other side": lambda g, t: ([1.5, 2.0, 3.0],),
        "the example": lambda g, t: ([3.0],),
    },
    "tracing_2": {
        "3.0": lambda g, t: (3.0,), "1.0": lambda g, t: (1.0,), "0": lambda g, t: (0,),
        "tensor 3": lambda g, t: (torch.tensor(3.0),), "two-element tensor": lambda g, t: (torch.tensor([2.0, 2.0]),),
    },
    "tracing_3": {
        "doubles": lambda g, t: (lambda x: x * 2,),
        "unchanged": lambda g, t: (_add_rows_copy,),
        "first row only": lambda g, t: (lambda x: x + x[0],),
        "sum only": lambda g, t: (lambda x: x.sum(0),),
        "arange formula": lambda g, t: (lambda x: x + x.numel() * (x.numel() - 1) / 2,),
        "max formula": lambda g, t: (lambda x: x + x.max() * (x.max() + 1) / 2,),
        "in place": lambda g, t: (_add_rows_in_place,),
        "scripted": lambda g, t: (torch.jit.script(_add_rows_copy),),
    },
    "scripting_1": {
        "two arms": lambda g, t: (_two_arms, ARM_INPUTS),
        "elif at 0.6": lambda g, t: (_elif_at_0_6, ARM_INPUTS),
        "max not mean": lambda g, t: (_max_not_mean, ARM_INPUTS),
        ">= 1.0": lambda g, t: (_at_least_one, ARM_INPUTS),
        "elif first": lambda g, t: (_elif_first, ARM_INPUTS),
        "two inputs in one arm": lambda g, t: (_arms_nested, [torch.full((2, 2), 2.0), torch.full((2, 2), 3.0),
                                                             torch.zeros(2, 2)]),
        "two inputs": lambda g, t: (_arms_nested, ARM_INPUTS[:2]),
    },
    "scripting_2": {
        "no decrement": lambda g, t: (_forever, 0),
        "no decrement, no effect": lambda g, t: (_forever_quietly, 0),
        "n counts up": lambda g, t: (_count_up_forever, 0),
        "body_runs False": lambda g, t: (_countdown_doubling, False),
        "body_runs 1": lambda g, t: (_countdown_doubling, 1),
        "n >= 0": lambda g, t: (_down_to_minus_one, 0),
        "no loop": lambda g, t: (_no_loop, 0),
        "for loop, 1 run": lambda g, t: (_count_up, 1),
        "body_runs '0'": lambda g, t: (_countdown_doubling, "0"),
    },
    "scripting_3": {
        "ones": lambda g, t: (_first_wrong,),
        "last": lambda g, t: (_last,),
        "zeros(2)": lambda g, t: (_zeros_two,),
        "long zeros": lambda g, t: (_zeros_long,),
        "try/except": lambda g, t: (_first_with_try,),
    },
    "mixing_1": {
        "unchanged": lambda g, t: _pair(_Decoder, 0),
        "start token repeats": lambda g, t: _pair(_RepeatOfStartToken, 10),
        "stops before the repeat": lambda g, t: _pair(_StopBeforeRepeat, 10),
        "no stop at 0": lambda g, t: _pair(_RepeatStopOnly, 10),
        "scripted another decoder": lambda g, t: (_RepeatStop(10).eval(), torch.jit.script(_RepeatStop(11).eval())),
        "eager relabels the tokens": lambda g, t: (lambda s: (_Relabelled(s), s))(
            torch.jit.script(_RepeatStop(10).eval())),
        "eager twice": lambda g, t: (_RepeatStop(10).eval(), _RepeatStop(10).eval()),
        "renamed, unchanged": lambda g, t: _pair(_Renamed, 0, False),
    },
    "mixing_2": {"1": lambda g, t: (1,), "0": lambda g, t: (0,), "6": lambda g, t: (6,), "'3'": lambda g, t: ("3",)},
    "saving_1": {
        "+1": lambda g, t: ([1.0],), "none": lambda g, t: ([],), "both": lambda g, t: ([1.0, -1.0],),
        "strings": lambda g, t: (["-1"],),
    },
    "saving_2": {
        "return line": lambda g, t: (g[0], "return _0"),
        "else": lambda g, t: (g[0], "else:"),
        "all the code": lambda g, t: (g[0], g[0].code),
        "a fake module": lambda g, t: (types.SimpleNamespace(code="if True:\n  pass"), "if True:"),
        "another scripted module": lambda g, t: (lambda m: (m, next(
            x for x in m.code.splitlines() if x.strip().startswith("if "))))(torch.jit.script(_OtherIf())),
        "an inverted Gate": lambda g, t: (lambda m: (m, next(
            x for x in m.code.splitlines() if x.strip().startswith("if "))))(torch.jit.script(_InvertedGate())),
        "the other if of a Gate": lambda g, t: (lambda m: (m, next(
            x for x in m.code.splitlines() if x.strip().startswith("if "))))(torch.jit.script(_GateTwoIfs())),
        "the traced Gate": lambda g, t: (torch.jit.trace(exercises._Gate(), torch.ones(1, 4)), g[1]),
    },
    "saving_3": {
        "matmul": lambda g, t: ("aten::matmul",), "mean": lambda g, t: ("aten::mean",),
        "neg": lambda g, t: ("aten::neg",), "the call": lambda g, t: ("prim::CallMethod",),
        "the module": lambda g, t: ("Linear",), "addmm": lambda g, t: ("addmm",),
    },
    "speed_1": {
        "1": lambda g, t: (1,), "one more": lambda g, t: (exercises.aten_ops_per_step() + 1,),
        "one fewer": lambda g, t: (exercises.aten_ops_per_step() - 1,), "0": lambda g, t: (0,),
    },
    "speed_2": {"error": lambda g, t: ("error",), "right": lambda g, t: ("right",),
                "maybe": lambda g, t: ("maybe",)},
    "export_1": {
        "always double": lambda g, t: (_export(_Cond(_double, _double)),),
        "threshold 2": lambda g, t: (_export(_Cond(_double, _decrement, lambda x: x.mean() > 2.0)),),
        "max": lambda g, t: (_export(_Cond(_double, _decrement, lambda x: x.max() > 1.0)),),
        ">=": lambda g, t: (_export(_Cond(_double, _decrement, lambda x: x.mean() >= 1.0)),),
        "swapped": lambda g, t: (_export(_Cond(_decrement, _double)),),
        "no cond": lambda g, t: (_export(_Where()),),
    },
    "export_2": {
        "static batch": lambda g, t: (_export(_Cond(_ONE, _TWO)),),
        "no cond": lambda g, t: (_export(_WhereScalar(), torch.export.Dim("batch", min=1, max=64)),),
        "threshold 2": lambda g, t: (_export(_Cond(_ONE, _TWO, lambda x: x.mean() > 2.0),
                                             torch.export.Dim("batch", min=1, max=64)),),
        "swapped": lambda g, t: (_export(_Cond(_TWO, _ONE), torch.export.Dim("batch", min=1, max=64)),),
    },
    "large_1": {
        "helper": lambda g, t: ("torch.nn.functional._canonical_mask",),
        "the module": lambda g, t: ("MultiheadAttention",),
        "sdpa": lambda g, t: ("scaled_dot_product_attention",),
        "forward": lambda g, t: ("forward",),
    },
    "large_2": {
        "two sizes": lambda g, t: ((2, 10),), "last two": lambda g, t: ((10, 64),),
        "swapped": lambda g, t: ((2, 64, 10),), "Tensor": lambda g, t: ("Tensor",),
        "batch 1": lambda g, t: ("Float(1, 10, 64)",), "four sizes": lambda g, t: ((2, 10, 64, 1),),
    },
}

RIGHT = {
    "compile_1": {
        "torch.where": lambda g, t: (_compiled_where,),
        "torch.cond": lambda g, t: (_compiled_cond,),
        "arithmetic": lambda g, t: (_compiled_arithmetic,),
    },
    "compile_2": {"4": lambda g, t: (4,), "'4'": lambda g, t: (" 4",), "tensor": lambda g, t: (torch.tensor(4),)},
    "start_1": {
        "ints": lambda g, t: ({"other": 1, "alpha": 1},),
        "floats, other order, a tensor": lambda g, t: ({"alpha": 1.0, "other": torch.tensor(1)},),
    },
    "start_2": {"4": lambda g, t: (4,), "4.0": lambda g, t: (4.0,), "tensor": lambda g, t: (torch.tensor(4),)},
    "tracing_1": {
        "list": lambda g, t: ([0.0, 0.5, 1.0],),
        "ints, tuple, shuffled": lambda g, t: ((1, 0.5, 0),),
        "tensor": lambda g, t: (torch.tensor([0.0, 0.5, 1.0]),),
        "set with a repeat": lambda g, t: ({0, 0.5, 1.0},),
    },
    "tracing_2": {
        "2.0": lambda g, t: (2.0,), "2": lambda g, t: (2,), "tensor(2.)": lambda g, t: (torch.tensor(2.0),),
        "tensor(2)": lambda g, t: (torch.tensor(2),),
    },
    "tracing_3": {
        "x + x.sum(0)": lambda g, t: (lambda x: x + x.sum(0),),
        "torch.sum first": lambda g, t: (lambda x: torch.sum(x, dim=0) + x,),
        "a module": lambda g, t: (_AddRows(),),
        "x + x.sum()": lambda g, t: (lambda x: x + x.sum(),),
    },
    "scripting_1": {
        "early returns": lambda g, t: (exercises._three_arms, ARM_INPUTS),
        "nested": lambda g, t: (_arms_nested, [torch.zeros(3), torch.full((5,), 0.9), torch.full((1,), 7.0)]),
        "where": lambda g, t: (_arms_where, tuple(ARM_INPUTS)),
    },
    "scripting_2": {
        "doubling": lambda g, t: (_countdown_doubling, 0),
        "by two": lambda g, t: (_countdown_by_two, 0.0),
        "tensor": lambda g, t: (_countdown_doubling, torch.tensor(0)),
    },
    "scripting_3": {"len > 0": lambda g, t: (_first_if_any,), "ternary": lambda g, t: (_first_ternary,)},
    "mixing_1": {
        "seed 10": lambda g, t: _pair(_RepeatStop, 10),
        "seed 0": lambda g, t: _pair(_RepeatStop, 0),
        "while loop": lambda g, t: _pair(_RepeatStopWhile, 3),
        "renamed": lambda g, t: _pair(_Renamed, 10, True),
    },
    "mixing_2": {"3": lambda g, t: (3,), "3.0": lambda g, t: (3.0,), "tensor": lambda g, t: (torch.tensor(3),)},
    "saving_1": {"list": lambda g, t: ([-1.0],), "int tuple": lambda g, t: ((-1,),),
                 "tensor": lambda g, t: (torch.tensor([-1.0]),)},
    "saving_2": {
        "the line": lambda g, t: g,
        "stripped, with a newline": lambda g, t: (g[0], g[1].strip() + "\n"),
        "loaded from a file": lambda g, t: (_loaded(g[0], t), g[1]),
    },
    "saving_3": {"aten::linear": lambda g, t: ("aten::linear",), "linear": lambda g, t: ("linear",),
                 "torch.ops": lambda g, t: (" torch.ops.aten.linear ",)},
    "speed_1": {"int": lambda g, t: (exercises.aten_ops_per_step(),),
                "float": lambda g, t: (float(exercises.aten_ops_per_step()),),
                "tensor": lambda g, t: (torch.tensor(exercises.aten_ops_per_step()),)},
    "speed_2": {"wrong": lambda g, t: ("wrong",), "Wrong": lambda g, t: (" Wrong",),
                "WRONG.": lambda g, t: ("WRONG.",)},
    "export_1": {
        "named branches": lambda g, t: (_export(_Cond(_double, _decrement)),),
        "sum > 4": lambda g, t: (_export(_Cond(_double, _decrement, lambda x: x.sum() > 4.0)),),
        "dynamic": lambda g, t: (_export(_Cond(_double, _decrement), torch.export.Dim("batch")),),
    },
    "export_2": {
        "Dim with a range": lambda g, t: (_export(_Cond(_ONE, _TWO), torch.export.Dim("batch", min=1, max=64)),),
        "Dim.DYNAMIC": lambda g, t: (_export(_Cond(_ONE, _TWO), torch.export.Dim.DYNAMIC),),
        "plain Dim": lambda g, t: (_export(_Cond(_ONE, _TWO), torch.export.Dim("b")),),
    },
    "large_1": {
        "qualified": lambda g, t: ("torch.nn.functional.multi_head_attention_forward",),
        "short": lambda g, t: (" multi_head_attention_forward",),
        "F.": lambda g, t: ("F.multi_head_attention_forward()",),
    },
    "large_2": {
        "tuple": lambda g, t: ((2, 10, 64),), "list": lambda g, t: ([2, 10, 64],),
        "Size": lambda g, t: (torch.Size([2, 10, 64]),),
        "print(graph)": lambda g, t: ("Float(2, 10, 64, strides=[640, 64, 1], requires_grad=0, device=cpu)",),
        "short type": lambda g, t: ("Float(2, 10, 64)",), "2x10x64": lambda g, t: ("2x10x64",),
        "tensor": lambda g, t: (torch.tensor([2, 10, 64]),),
    },
}


def test_every_check_has_wrong_and_right_answers_below():
    assert set(WRONG) == set(RIGHT) == set(CHECKS)
    for check in CHECKS:
        assert len(WRONG[check]) >= 3, check
        assert len(RIGHT[check]) >= 2, check


def _verdict(check, answer, gate, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(exercises, check)(*answer(gate, tmp_path))


@pytest.mark.parametrize(("check", "label"), [(c, label) for c in WRONG for label in WRONG[c]])
def test_a_wrong_answer_is_not_yet_right(check, label, gate, tmp_path):
    verdict = _verdict(check, WRONG[check][label], gate, tmp_path)
    assert isinstance(verdict, exercises.Verdict)
    assert not verdict.ok, str(verdict)
    assert str(verdict).startswith("not yet: ") and "replace the `...`" not in str(verdict)
    assert "could not use this answer" not in str(verdict), str(verdict)


@pytest.mark.parametrize(("check", "label"), [(c, label) for c in RIGHT for label in RIGHT[c]])
def test_a_right_answer_written_differently_is_right(check, label, gate, tmp_path):
    verdict = _verdict(check, RIGHT[check][label], gate, tmp_path)
    assert verdict.ok, str(verdict)


JUNK = [None, torch.ones(2, 2), "junk", [torch.ones(2), torch.ones(3)], 7, [], {"a": torch.ones(1)}]


@pytest.mark.parametrize("check", CHECKS)
def test_junk_gets_a_verdict_not_an_error(check):
    function = getattr(exercises, check)
    count = len([p for p in inspect.signature(function).parameters.values() if p.default is p.empty])
    for junk in JUNK:
        verdict = function(*([junk] * count))
        assert isinstance(verdict, exercises.Verdict) and not verdict.ok, (junk, verdict)
        assert "could not use this answer" not in verdict.message, (junk, verdict)


def test_junk_in_the_second_place_gets_a_verdict(gate):
    for junk in JUNK:
        for verdict in (exercises.scripting_1(exercises._three_arms, junk),
                        exercises.scripting_2(_countdown_doubling, junk),
                        exercises.mixing_1(*_pair(_RepeatStop, 10)[:1], junk),
                        exercises.saving_2(gate[0], junk)):
            assert not verdict.ok and "could not use this answer" not in verdict.message, (junk, verdict)


def test_an_endless_loop_is_cut_off_and_named():
    verdict = exercises.scripting_2(_forever, 0)
    assert "forever" in verdict.message


@pytest.mark.parametrize(("tokens", "steps", "right"), [
    ([3, 5, 5], 8, True), ([1, 1], 8, True), ([2, 0], 8, True), ([4, 2, 4, 2], 4, True), ([], 0, True),
    ([3, 3, 4], 8, False), ([1, 1, 1], 8, False), ([3, 5, 5, 5], 8, False), ([0, 2], 8, False),
    ([3, 5], 8, False), ([], 3, False), ([4, 2, 4], 2, False),
])
def test_the_stop_rule(tokens, steps, right):
    assert (exercises._follows_stop_rule(tokens, steps) == "") == right


def test_the_unchanged_decoder_fails_for_every_initialisation():
    for seed in range(40):
        assert not exercises.mixing_1(*_pair(_Decoder, seed)).ok, seed
        assert not exercises.mixing_1(*_pair(_Renamed, seed, False)).ok, seed


def test_the_decoder_check_leaves_the_weights_as_they_were():
    eager, scripted = _pair(_RepeatStop, 10)
    before = {name: value.clone() for name, value in eager.state_dict().items()}
    assert exercises.mixing_1(eager, scripted).ok
    assert all(torch.equal(before[name], value) for name, value in eager.state_dict().items())


def test_code_that_raises_is_reported_not_raised():
    verdict = exercises.scripting_3(_first_with_try)
    assert not verdict.ok and "UnsupportedNodeError" in str(verdict)
