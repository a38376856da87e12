"""The lies a trace tells, one function each: used by the comparison tests."""

import warnings

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

def loop_one_line(x):
    y = x
    for _ in range(x.shape[0]): y = y * 2  # noqa: E701  (the whole loop on its header's line)
    return y

def only_then(x):
    if x.sum() > 0:
        x = x + 1
    return x

def tensor_in_loop(x):
    for _ in range(x.shape[0]):
        x = x + torch.tensor(1.0)
    return x

def two_reads(x):
    n = len(x) + int(x.max().item())
    return x * x.max().item() / n

def warns(x):
    warnings.warn("One sentence only.", torch.jit.TracerWarning, stacklevel=1)  # this line is the one to name
    return x * 2

class LoopModule(torch.nn.Module):
    def forward(self, x):
        y = x
        for i in range(x.shape[0]):
            y = y + x[i]
        return y
