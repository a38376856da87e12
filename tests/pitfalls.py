"""The lies a trace tells, one function each: used by the comparison tests."""

import torch

from .seed_functions import branchy as branch  # noqa: F401  (the 2019 post's example: the first lie)


def loop(x):
    y = x
    for i in range(x.shape[0]):
        y = y + x[i]
    return y

def size_const(x):
    n = int(x.size(0))
    return x.sum() / n

def length(x):
    return x * len(x)

def item(x):
    return x * x.max().item()

def device(x):
    return x + torch.ones(x.shape, device=x.device)

def loop_branch(x):
    y = x
    for i in range(x.shape[0]):
        if x[i] > 0:
            y = y + 1
        else:
            y = y * 2
    return y

def loop_steps(x):
    y = x
    for i in range(x.shape[0]):
        y = y * 2
        if x[i] > 0:
            y = y + x[i]
    return y

def loop_nested(x):
    y = x
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            y = y + x[i, j]
            y = y - 1
        y = y * 2
    return y
