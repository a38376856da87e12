"""Running user code safely and describing what it was given and returned: shared by compare,
explore, explain and the execution recorder's errors (one describer per purpose, all here)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from .text import plural

__all__ = ["Failed", "call", "agree", "describe", "describe_input", "describe_type", "TOLERANCE"]

#: How close a traced or scripted tensor must be to eager's to agree with it.
TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}


@dataclass
class Failed:
    """What a call that raised returns instead: the error, in one line."""

    message: str


def call(fn: Any, args: tuple[Any, ...]) -> Any:
    """``fn(*args)`` without gradients; an exception becomes a :class:`Failed`."""
    try:
        with torch.no_grad():
            return fn(*args)
    except Exception as error:  # a probe that does not fit is reported, not raised
        return Failed(f"{type(error).__name__}: {_reason(error)}")


def _reason(error: Exception) -> str:
    """The line that says what went wrong; TorchScript's interpreter puts it after a stack."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if lines and lines[0].startswith("The following operation failed in the TorchScript interpreter"):
        errors = [line for line in lines if "Error: " in line]
        if errors:
            return errors[-1].split("Error: ")[-1]
    return lines[0] if lines else "(no message)"


def agree(expected: Any, actual: Any) -> tuple[bool, str]:
    """Whether two results match (tensors within TOLERANCE), and if not, how they differ."""
    if isinstance(expected, Failed) or isinstance(actual, Failed):
        same = isinstance(expected, Failed) and isinstance(actual, Failed)
        return same, "" if same else "one of them raised an error"
    if isinstance(expected, torch.Tensor) or isinstance(actual, torch.Tensor):
        a = torch.as_tensor(expected)
        b = torch.as_tensor(actual)
        if a.shape != b.shape:
            return False, f"shape {tuple(b.shape)} instead of {tuple(a.shape)}"
        if a.device != b.device:
            return False, f"device {b.device} instead of {a.device}"
        if a.device.type == "meta":
            return True, ""  # meta tensors hold no values: same shape and device is all there is
        if a.numel() == 0:
            return True, ""
        if torch.allclose(a.double(), b.double(), equal_nan=True, **TOLERANCE):
            return True, ""
        return False, f"max |difference| {float((a.double() - b.double()).abs().max()):g}"
    if isinstance(expected, (tuple, list)) and isinstance(actual, (tuple, list)):
        if len(expected) != len(actual):
            return False, f"{plural(len(actual), 'result')} instead of {len(expected)}"
        for e, a in zip(expected, actual):
            same, why = agree(e, a)
            if not same:
                return False, why
        return True, ""
    if isinstance(expected, dict) and isinstance(actual, dict):  # a segmentation model's {"out": ..., "aux": ...}
        if list(expected) != list(actual):
            return False, f"keys {list(actual)!r} instead of {list(expected)!r}"
        for key in expected:
            same, why = agree(expected[key], actual[key])
            if not same:
                return False, f"[{key!r}]: {why}"
        return True, ""
    if isinstance(expected, float) and isinstance(actual, float):
        return math.isclose(expected, actual, rel_tol=1e-6), ""
    try:
        same = bool(expected == actual)
    except Exception:  # noqa: BLE001 - a value whose == is not a bool (a tensor inside another container)
        same = False
    return same, "" if same else f"{describe(actual)} instead of {describe(expected)}"


def describe(value: Any) -> str:
    """A short, deterministic text for a result: ``describe(torch.tensor([4, 4]))`` is ``tensor([4, 4])``."""
    if isinstance(value, Failed):
        return f"error: {value.message}"
    if isinstance(value, torch.Tensor):
        if value.device.type == "meta":
            return f"meta {_shape(value)}"
        if value.dim() == 0:
            return f"tensor({_numbers(value.item())})"
        if value.numel() <= 6:
            return f"tensor({_numbers(value.tolist())})"
        return f"{_shape(value)}, mean {value.double().mean().item():.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(describe(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(describe(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def _numbers(values: Any) -> str:
    """Numbers as torch prints them, in short: ``2.`` for a float (``2`` is an int), ``0.5``, ``1e+10``."""
    if isinstance(values, list):
        return "[" + ", ".join(_numbers(v) for v in values) + "]"
    if isinstance(values, float):
        text = f"{values:.6g}"
        return f"{text}." if text.lstrip("-").isdigit() else text  # tensor(2.) is not tensor(2)
    return str(values)


def describe_input(value: Any) -> str:
    """An input, shortly: ``describe_input(torch.ones(2, 2))`` is ``Tensor(2, 2) of 1``."""
    if isinstance(value, torch.Tensor):
        if value.device.type == "meta":
            return f"meta {_shape(value)}"
        if value.numel() and bool((value == value.flatten()[0]).all()):
            return f"{_shape(value)} of {value.flatten()[0].item():g}"
        return _shape(value)
    return repr(value)


def describe_type(value: Any) -> str:
    """What kind of value it is, for error messages: ``describe_type(torch.ones(2))`` is ``Tensor(2) float32``."""
    if isinstance(value, torch.Tensor):
        return f"{_shape(value)} {str(value.dtype).removeprefix('torch.')}"
    return type(value).__name__


def _shape(value: torch.Tensor) -> str:
    return f"Tensor({', '.join(map(str, value.shape))})"
