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
    >>> print(jitviz.timing.compare({"relu": torch.relu, "abs": torch.abs}, torch.ones(8)))  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .text import plural

__all__ = ["Comparison", "Ratio", "Startup", "Timing", "compare", "load_average", "machine", "measure",
           "one_thread", "startup"]

# The rule every printed comparison follows: "faster" only when the ranges over rounds are disjoint
# and the ratio of medians is outside [SAME_LOW, SAME_HIGH] (both ends count as "no difference").
SAME_LOW = 0.9
SAME_HIGH = 1.1
NO_DIFFERENCE = "no consistent difference in this run"

_Versions = Mapping[str, Callable[..., Any]] | Sequence[tuple[str, Callable[..., Any]]]


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
    label = label or getattr(fn, "__name__", type(fn).__name__)
    return _interleaved([(label, fn)], args, repeats, calls, warmup, min_repeat_s)[0]


def _interleaved(versions: Sequence[tuple[str, Callable[..., Any]]], args: tuple[Any, ...], repeats: int,
                 calls: int | None, warmup: int, min_repeat_s: float) -> list[Timing]:
    """Warm each version up, pick its calls per batch, then time rounds: A B C, A B C, ..."""
    with one_thread(), torch.no_grad():
        for _, fn in versions:
            for _ in range(warmup):
                fn(*args)
        counts = [calls if calls is not None else _calls_for(fn, args, min_repeat_s) for _, fn in versions]
        per_call: list[list[float]] = [[] for _ in versions]
        for _ in range(repeats):
            for (_, fn), n, times in zip(versions, counts, per_call):
                times.append(_cpu_seconds(fn, args, n) / n)
    return [Timing(label, tuple(times), n) for (label, _), n, times in zip(versions, counts, per_call)]


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


def load_average() -> tuple[float, float, float] | None:
    """The system's 1, 5 and 15 minute load averages, or None where the OS has none (Windows).

        >>> load_average() is None or len(load_average()) == 3
        True
    """
    try:
        return os.getloadavg()
    except (AttributeError, OSError):
        return None


@dataclass(frozen=True)
class Ratio:
    """One version's time over the baseline's, round by round: `median` of the per-round ratios, and their range.

        >>> Ratio("scripted", "eager", median=0.5, low=0.45, high=0.55).median
        0.5
    """

    label: str
    baseline: str
    median: float
    low: float
    high: float

    def __str__(self) -> str:
        return (f"{self.label} / {self.baseline}: {self.median:.2f} "
                f"(rounds {self.low:.2f}-{self.high:.2f})")


def _faster(a: Timing, b: Timing) -> Timing | None:
    """The faster of `a` and `b` under the stated rule, or None: no consistent difference."""
    ratio = _over(a.median, b.median)
    if a.high < b.low and ratio < SAME_LOW:
        return a
    if b.high < a.low and ratio > SAME_HIGH:
        return b
    return None


@dataclass(frozen=True)
class Comparison:
    """Versions of one computation timed together in interleaved rounds; the first is the baseline.

    `timings[i].per_call[r]` is version i's per-call time in round r; round r ran every version once,
    one after another, so the per-round ratios compare versions under the same load.

        >>> c = Comparison((Timing("eager", (2.0, 2.1, 2.2), 1), Timing("scripted", (1.0, 1.1, 1.0), 1)))
        >>> print(c.verdict("scripted", "eager"))  # doctest: +NORMALIZE_WHITESPACE
        scripted is faster than eager (medians scripted/eager = 0.48, outside 0.9-1.1;
        ranges scripted 1.00-1.10 s, eager 2.00-2.20 s do not overlap)
    """

    timings: tuple[Timing, ...]
    warmup: int = 0
    load_before: tuple[float, float, float] | None = None
    load_after: tuple[float, float, float] | None = None
    machine: str = ""

    def __post_init__(self) -> None:
        if not self.timings:
            raise ValueError("a comparison needs at least one version")
        labels = [t.label for t in self.timings]
        if len(set(labels)) != len(labels):
            raise ValueError(f"version labels must differ, got {labels}")
        rounds = {len(t.per_call) for t in self.timings}
        if len(rounds) != 1:
            raise ValueError(f"every version needs the same number of rounds, got {sorted(rounds)}")

    @property
    def rounds(self) -> int:
        """How many interleaved rounds ran (one timed batch per version in each)."""
        return len(self.timings[0].per_call)

    def __getitem__(self, label: str) -> Timing:
        for timing in self.timings:
            if timing.label == label:
                return timing
        raise KeyError(f"no version {label!r}; the versions are {[t.label for t in self.timings]}")

    def ratio(self, label: str, baseline: str | None = None) -> Ratio:
        """`label`'s time over `baseline`'s (default: the first version), per round: below 1 is faster.

            >>> Comparison((Timing("a", (2.0, 4.0), 1), Timing("b", (1.0, 3.0), 1))).ratio("b").median
            0.625
        """
        base = self[baseline] if baseline is not None else self.timings[0]
        version = self[label]
        per_round = [_over(v, b) for v, b in zip(version.per_call, base.per_call)]
        return Ratio(version.label, base.label, statistics.median(per_round), min(per_round), max(per_round))

    def faster(self, a: str, b: str) -> str | None:
        """The label of the faster of `a` and `b` by the stated rule, or None (no consistent difference).

        "Faster" only when the two ranges over rounds are disjoint (touching is not disjoint) and the
        ratio of medians is outside 0.9-1.1 (0.9 and 1.1 themselves are inside). The ratio is always
        the later-listed version's median over the earlier one's, the direction of the report's ratio
        column, so `faster(a, b) == faster(b, a)`.

            >>> Comparison((Timing("a", (1.0, 1.1), 1), Timing("b", (1.0, 1.2), 1))).faster("a", "b") is None
            True
        """
        winner = _faster(*self._later_first(a, b))
        return None if winner is None else winner.label

    def _later_first(self, a: str, b: str) -> tuple[Timing, Timing]:
        ta, tb = self[a], self[b]
        return (ta, tb) if self.timings.index(ta) >= self.timings.index(tb) else (tb, ta)

    def verdict(self, a: str, b: str) -> str:
        """One sentence on `a` and `b`, written from the numbers by the rule of `faster`.

            >>> Comparison((Timing("a", (1.0, 1.1), 1), Timing("b", (1.0, 1.2), 1))).verdict("b", "a")[:40]
            'b vs a: no consistent difference in this'
        """
        ta, tb = self._later_first(a, b)
        scale, unit = _unit([ta, tb])
        ratio = _over(ta.median, tb.median)
        disjoint = ta.high < tb.low or tb.high < ta.low
        inside = SAME_LOW <= ratio <= SAME_HIGH
        numbers = (f"medians {ta.label}/{tb.label} = {ratio:.2f}, {'within' if inside else 'outside'} "
                   f"{SAME_LOW}-{SAME_HIGH}; ranges {ta.label} {ta.low * scale:.2f}-{ta.high * scale:.2f} {unit}, "
                   f"{tb.label} {tb.low * scale:.2f}-{tb.high * scale:.2f} {unit} "
                   f"{'do not overlap' if disjoint else 'overlap'}")
        winner = _faster(ta, tb)
        if winner is None:
            return f"{ta.label} vs {tb.label}: {NO_DIFFERENCE} ({numbers})"
        loser = tb if winner is ta else ta
        return f"{winner.label} is faster than {loser.label} ({numbers})"

    def report(self) -> str:
        """The settings, machine, load, a table of median/min/max per call with ratios, and a verdict per pair."""
        first = self.timings[0].label
        order = ", ".join(t.label for t in self.timings)
        lines = [
            f"{plural(len(self.timings), 'version')} timed together in {plural(self.rounds, 'round')}, interleaved: "
            f"each round times one batch of each version, in the order {order}",
            f"settings: thread CPU time, torch.set_num_threads(1), torch.no_grad(), "
            f"{plural(self.warmup, 'warm-up call')} per version first",
        ]
        if self.machine:
            lines.append(f"machine: {self.machine}")
        lines.append(f"load average (1 min): {_load_text(self.load_before, self.load_after)}")
        scale, unit = _unit(self.timings)
        rows = [("version", "calls/batch", f"median {unit}", f"min {unit}", f"max {unit}",
                 f"time / {first} (median of rounds, range)")]
        for t in self.timings:
            r = self.ratio(t.label)
            rows.append((t.label, str(t.calls), f"{t.median * scale:.2f}", f"{t.low * scale:.2f}",
                         f"{t.high * scale:.2f}",
                         "1 (baseline)" if t is self.timings[0] else f"{r.median:.2f} ({r.low:.2f}-{r.high:.2f})"))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines.append("")
        for row in rows:
            lines.append("  ".join(cell.ljust(w) if i in (0, 5) else cell.rjust(w)
                                   for i, (cell, w) in enumerate(zip(row, widths))).rstrip())
        if len(self.timings) > 1:
            lines += ["", f"verdicts, by the rule: 'faster' only when the ranges over rounds are disjoint and the "
                          f"ratio of medians is outside {SAME_LOW}-{SAME_HIGH},", f"otherwise '{NO_DIFFERENCE}':"]
            for j, later in enumerate(self.timings):
                for earlier in self.timings[:j]:
                    lines.append(f"  {self.verdict(later.label, earlier.label)}")
        lines += ["", "Absolute times on a shared machine move between runs (thread CPU time can double under",
                  "contention the guest cannot see); the ratios within one run are what to compare."]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()


def _over(time: float, base: float) -> float:
    """time / base, where a zero base (a clock too coarse for the call) gives 1 or infinity, not an error."""
    if base == 0:
        return 1.0 if time == 0 else math.inf
    return time / base


def _unit(timings: Sequence[Timing]) -> tuple[float, str]:
    largest = max(t.high for t in timings)
    if largest >= 1.0:
        return 1.0, "s"
    if largest >= 1e-3:
        return 1e3, "ms"
    return 1e6, "µs"


def _load_text(before: tuple[float, float, float] | None, after: tuple[float, float, float] | None) -> str:
    cores = os.cpu_count()
    if before is None or after is None:
        return "not available on this system"
    return f"{before[0]:.2f} before, {after[0]:.2f} after, on {plural(cores or 0, 'logical core')}"


def compare(versions: _Versions, *args: Any, repeats: int = 7, calls: int | None = None, warmup: int = 5,
            min_repeat_s: float = 0.02) -> Comparison:
    """Time several versions of one computation on `args`, interleaved round by round; the first is the baseline.

    Each version gets `warmup` calls, then its own calls per batch (chosen so that a batch takes
    about `min_repeat_s` when `calls` is None); then `repeats` rounds, each one timed batch of every
    version in the order given (A B C, A B C, ...), with one PyTorch thread and gradients off.

        >>> print(compare({"eager": model, "scripted": torch.jit.script(model)}, x))  # doctest: +SKIP
    """
    items = list(versions.items()) if isinstance(versions, Mapping) else list(versions)
    if not items:
        raise ValueError("versions is empty: give at least two, as {label: function} or [(label, function), ...]")
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
            raise TypeError(f"each version must be a (label, function) pair with a str label, not {item!r}")
        if not callable(item[1]):
            raise TypeError(f"version {item[0]!r} must be callable (a function or module), "
                            f"not {type(item[1]).__name__}")
    labels = [label for label, _ in items]
    if len(set(labels)) != len(labels):
        raise ValueError(f"version labels must differ, got {labels}")
    _check_counts(repeats, calls, warmup)
    if repeats < 2:
        raise ValueError(f"repeats must be at least 2 to compare ranges over rounds, not {repeats!r}")
    before = load_average()
    timings = _interleaved(items, args, repeats, calls, warmup, min_repeat_s)
    return Comparison(tuple(timings), warmup, before, load_average(), machine())
