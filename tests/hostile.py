"""A stranger's TorchScript file, as a module to save: ``torch.jit.save(torch.jit.script(Carrier(path)), "m.pt")``.

``torch.jit.load`` runs the ``__setstate__`` of every TorchScript class in a file; this one fills 8
bytes of the file named by ``target`` with 'X'. tests/test_untrusted_files.py and bench/fuzz_show.py
check that no entry point of jitviz lets it run without ``trusted=True``.
"""

from __future__ import annotations

import torch
from torch import nn


@torch.jit.script
class Payload:
    def __init__(self, target: str):
        self.target = target
        self.written = 0

    def __getstate__(self) -> tuple[str, int]:
        return (self.target, 0)

    def __setstate__(self, state: tuple[str, int]) -> None:
        self.target = state[0]
        self.written = int(torch.from_file(state[0], True, 8, dtype=torch.uint8).fill_(88).sum())


class Carrier(nn.Module):
    def __init__(self, target: str) -> None:
        super().__init__()
        self.payload = Payload(target)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 1
