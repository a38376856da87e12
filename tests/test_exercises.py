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
    assert len(SOLUTIONS) == len(CHECKS) == 19


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


# --- wrong answers, one per check: each must be told it is not yet right -----------------------

def _two_arms(x):
    if x.mean() > 1.0:
        r = torch.tensor(1.0)
    else:
        r = torch.tensor(2.0)
    return r


def _count_up(x, n: int):
    for _ in range(n):
        x = x + 1
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


class _Greedy(nn.Module):
    """The notebook's decoder without the repeat stop: the wrong answer to mixing_1."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.encoder = nn.Linear(4, 8)
        self.embed = nn.Embedding(6, 8)
        self.cell = nn.GRUCell(8, 8)
        self.out = nn.Linear(8, 6)
        with torch.no_grad():
            self.out.bias[0] = -100.0   # never the end token: it runs all its steps and repeats

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


class _AlwaysDouble(nn.Module):
    def forward(self, x):
        return torch.cond(x.mean() > 1.0, lambda x: x * 2, lambda x: x * 2, (x,))


class _Plain(nn.Module):
    def forward(self, x):
        return torch.cond(x.mean() > 1.0, lambda x: torch.ones(()), lambda x: torch.full((), 2.0), (x,))


def _wrong_answers():
    scripted = torch.jit.script(_Greedy().eval())
    gate_code = torch.jit.script(exercises._Gate().eval())
    return {
        "start_1": ({"other": 1},),
        "start_2": (99,),
        "tracing_1": ([3.0],),
        "tracing_2": (3.0,),
        "tracing_3": (lambda x: x * 2,),
        "scripting_1": (_two_arms, [torch.full((2, 2), 2.0), torch.full((2, 2), 0.75), torch.zeros(2, 2)]),
        "scripting_2": (_count_up, 1),
        "scripting_3": (_first_wrong,),
        "mixing_1": (_Greedy().eval(), scripted),
        "mixing_2": (1,),
        "saving_1": ([1.0],),
        "saving_2": (gate_code, "return _0"),
        "saving_3": ("aten::matmul",),
        "speed_1": (1,),
        "speed_2": ("error",),
        "export_1": (torch.export.export(_AlwaysDouble(), (torch.ones(2, 2),)),),
        "export_2": (torch.export.export(_Plain(), (torch.ones(2, 2),)),),
        "large_1": ("torch.nn.functional._canonical_mask",),
        "large_2": ((2, 10),),
    }


def test_every_check_has_a_wrong_answer_below():
    assert set(_wrong_answers()) == set(CHECKS)


@pytest.mark.parametrize("check", CHECKS)
def test_a_wrong_answer_is_not_yet_right(check):
    verdict = getattr(exercises, check)(*_wrong_answers()[check])
    assert not verdict.ok
    assert str(verdict).startswith("not yet: ") and "replace the `...`" not in str(verdict)


def test_code_that_raises_is_reported_not_raised():
    verdict = exercises.scripting_3(_first_with_try)
    assert not verdict.ok and "UnsupportedNodeError" in str(verdict)
