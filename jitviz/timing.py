"""Timing small models steadily on a shared machine, for the speed notebook.

Wall-clock time counts whatever else the machine is doing; the CPU time of the calling thread
(`time.thread_time_ns`) counts only the work this thread did, so it is steadier within one run.
Between runs it can still change a lot: on a shared virtual machine, contention the guest cannot
see (a neighbour on the same physical core, a throttled host) slows the work itself, and thread
CPU time for the same call doubled between two runs here. So absolute times are not comparable
across runs; compare versions within one run, timed in interleaved rounds (`compare`). Thread CPU
time misses work done on other threads, so every measurement here runs PyTorch with one intra-op
thread.

    >>> import torch, jitviz.timing
    >>> jitviz.timing.measure(torch.relu, torch.ones(8)).median > 0
    True
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch

from .text import plural

__all__ = ["Startup", "Timing", "machine", "measure", "one_thread", "startup"]


@dataclass(frozen=True)
class Timing:
    """Per-call CPU seconds of one function, one value per repeat (each the mean of `calls` calls).

        >>> Timing("f", (1e-6, 2e-6, 3e-6), calls=10).median
        2e-06
    """

    label: str
    per_call: tuple[float, ...]
    calls: int

    @property
    def median(self) -> float:
        """The median over repeats, in seconds per call."""
        return statistics.median(self.per_call)

    @property
    def low(self) -> float:
        """The fastest repeat, in seconds per call."""
        return min(self.per_call)

    @property
    def high(self) -> float:
        """The slowest repeat, in seconds per call."""
        return max(self.per_call)

    @property
    def spread(self) -> float:
        """(slowest - fastest) / median: 0.03 means the repeats agree to 3%."""
        return (self.high - self.low) / self.median

    def __str__(self) -> str:
        return (f"{self.label}: median {self.median * 1e6:.1f} µs per call, "
                f"range {self.low * 1e6:.1f}-{self.high * 1e6:.1f} µs over {plural(len(self.per_call), 'repeat')} "
                f"of {plural(self.calls, 'call')}")


@dataclass(frozen=True)
class Startup:
    """What a TorchScript version costs before it runs steadily: capture, then its first calls.

        >>> Startup("f", compile_s=0.01, first_calls=(0.005, 0.001)).first_calls[0]
        0.005
    """

    label: str
    compile_s: float
    first_calls: tuple[float, ...]

    def __str__(self) -> str:
        calls = ", ".join(f"{t * 1e3:.2f}" for t in self.first_calls)
        return f"{self.label}: compile {self.compile_s * 1e3:.1f} ms, first calls {calls} ms"


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run the block with one PyTorch intra-op thread (thread CPU time sees only this thread).

        >>> with one_thread(): torch.get_num_threads()
        1
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _cpu_seconds(fn: Callable[..., Any], args: tuple[Any, ...], calls: int) -> float:
    start = time.thread_time_ns()
    for _ in range(calls):
        fn(*args)
    return (time.thread_time_ns() - start) / 1e9


def _check_counts(repeats: int, calls: int | None, warmup: int) -> None:
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive int, not {repeats!r}")
    if calls is not None and (not isinstance(calls, int) or calls < 1):
        raise ValueError(f"calls must be a positive int or None (chosen automatically), not {calls!r}")
    if not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be an int >= 0, not {warmup!r}")


def measure(fn: Callable[..., Any], *args: Any, label: str = "", repeats: int = 7,
            calls: int | None = None, warmup: int = 5, min_repeat_s: float = 0.02) -> Timing:
    """Time `fn(*args)` in thread CPU time, with one PyTorch thread and gradients off.

    `warmup` calls come first (TorchScript's profiling executor optimises a graph during its
    first calls); then `repeats` rounds of `calls` calls each (chosen so that a round takes
    about `min_repeat_s` when None).

        >>> measure(torch.relu, torch.ones(8), repeats=3).calls >= 1
        True
    """
    _check_counts(repeats, calls, warmup)
    if not callable(fn):
        raise TypeError(f"fn must be callable (a function or module), not {type(fn).__name__}")
    with one_thread(), torch.no_grad():
        for _ in range(warmup):
            fn(*args)
        if calls is None:
            calls = _calls_for(fn, args, min_repeat_s)
        per_call = tuple(_cpu_seconds(fn, args, calls) / calls for _ in range(repeats))
    return Timing(label or getattr(fn, "__name__", type(fn).__name__), per_call, calls)


def _calls_for(fn: Callable[..., Any], args: tuple[Any, ...], min_repeat_s: float) -> int:
    calls = 1
    while calls < 1_000_000:
        if _cpu_seconds(fn, args, calls) >= min_repeat_s / 4:
            return max(1, int(calls * 4))
        calls *= 4
    return calls


def startup(capture: Callable[[], Callable[..., Any]], *args: Any, label: str = "",
            first_calls: int = 3) -> Startup:
    """Time `capture()` (for example a `torch.jit.script` call) and the first calls of its result.

        >>> startup(lambda: torch.jit.script(torch.nn.ReLU()), torch.ones(2)).first_calls[0] > 0
        True
    """
    if not isinstance(first_calls, int) or first_calls < 1:
        raise ValueError(f"first_calls must be a positive int, not {first_calls!r}")
    with one_thread(), torch.no_grad():
        start = time.thread_time_ns()
        captured = capture()
        compile_s = (time.thread_time_ns() - start) / 1e9
        times = tuple(_cpu_seconds(captured, args, 1) for _ in range(first_calls))
    return Startup(label or "captured", compile_s, times)


def machine() -> str:
    """The CPU model and PyTorch version and threads, to print beside any figure.

        >>> "torch" in machine()
        True
    """
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    cores = os.cpu_count()
    return (f"{model}, {cores} logical cores; torch {torch.__version__}, measured with 1 intra-op "
            f"thread (thread CPU time)")
