"""The 2019 post's examples, and a few more shapes of graph, kept in one file so that the source
lines recorded in the golden DOT files stay put when the tests change."""


import torch
from torch import nn


def double(x):
    return x * 2


def branchy(x):
    if x.mean() > 1.0:
        r = torch.tensor(1.0)
    else:
        r = torch.tensor(2.0)
    return r


def branchy_bool(x):
    if bool(x.mean() > 1.0):
        r = 1
    else:
        r = 2
    return r


def looping(x, n: int):
    for i in range(n):
        if i % 2 == 0:
            x = x + i
        else:
            x = x * 2
    while bool(x.sum() < 100):
        x = x + 1
    return x


def helper(x, k: int):
    return x + k


def calls_helper(x):
    return helper(x, 3) * 2


def strings(s: str) -> list[str]:
    return [
        s + "<script>alert(1)</script>",
        s + 'a"b',
        s + "{x|y}",
        s + "a\nb",
        s + "ünï©ødé ✓",
        s + '<b>&"x"</b>',
        s + "back\\slash \\N \\l",
    ]


class TinyNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 2)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def grade(x):
    score = float(x.mean())
    if score > 2.0:
        g = 3
    elif score > 1.0:
        g = 2
    elif score > 0.0:
        g = 1
    else:
        g = 0
    return g


def nested(x):
    if bool(x.sum() > 0):
        if bool(x.max() > 10):
            return 2
        return 1
    return 0


def early_return(x, n: int):
    if n < 0:
        return x
    for _ in range(n):
        x = x + 1
    return x * 2


def calls_branchy_helper(x):
    return branchy_helper(x) + branchy_helper(-x)


def branchy_helper(x):
    if bool(x.sum() > 0):
        return x * 2
    return x
