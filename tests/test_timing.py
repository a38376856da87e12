"""jitviz.timing: thread CPU time, one PyTorch thread, repeated rounds."""

import os
import time

import pytest
import torch

from jitviz import timing


def _burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_measure_counts_cpu_time_not_waiting():
    # a call that sleeps 5 ms but computes almost nothing: wall time would say >= 5 ms
    slept = timing.measure(lambda: time.sleep(0.005), repeats=3, calls=2, warmup=0)
    burned = timing.measure(lambda: _burn(0.002), repeats=3, calls=2, warmup=0)
    assert slept.median < 0.001
    assert 0.0015 < burned.median < 0.02


def test_measure_reports_every_repeat_and_its_spread():
    result = timing.measure(torch.relu, torch.ones(16), label="relu", repeats=4, calls=10)
    assert result.label == "relu" and result.calls == 10 and len(result.per_call) == 4
    assert result.low <= result.median <= result.high
    assert "relu: median" in str(result) and "4 repeats of 10 calls" in str(result)


def test_spread_is_range_over_median():
    assert timing.Timing("f", (1.0, 2.0, 4.0), calls=1).spread == pytest.approx(1.5)


def test_measure_runs_with_one_thread_and_restores_the_setting():
    before = torch.get_num_threads()
    seen = []
    timing.measure(lambda: seen.append(torch.get_num_threads()), repeats=1, calls=1, warmup=0)
    assert seen == [1]
    assert torch.get_num_threads() == before


def test_measure_turns_gradients_off():
    seen = []
    timing.measure(lambda: seen.append(torch.is_grad_enabled()), repeats=1, calls=1, warmup=0)
    assert seen == [False]


@pytest.mark.parametrize("kwargs", [{"repeats": 0}, {"calls": 0}, {"warmup": -1}, {"repeats": 1.5}])
def test_bad_counts_are_refused_by_name(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        timing.measure(torch.relu, torch.ones(2), **kwargs)


def test_measure_refuses_what_is_not_callable():
    with pytest.raises(TypeError, match="callable"):
        timing.measure(torch.ones(2))


def test_startup_times_the_capture_and_each_first_call():
    def capture():
        _burn(0.02)
        return lambda x: _burn(0.003)

    result = timing.startup(capture, torch.ones(1), label="slow", first_calls=2)
    assert 0.015 < result.compile_s < 0.2
    assert len(result.first_calls) == 2 and all(t > 0.002 for t in result.first_calls)
    assert str(result).startswith("slow: compile")


def test_machine_names_cpu_and_torch():
    text = timing.machine()
    assert torch.__version__ in text and "1 intra-op thread" in text


# --- a fake clock: each fake version advances thread CPU time by a known number of ns per call ----------


class FakeClock:
    """Stands in for time.thread_time_ns; `version(ns)` makes a function that costs exactly `ns` per call."""

    def __init__(self):
        self.now = 0
        self.calls = []  # the label of every call, in order

    def __call__(self):
        return self.now

    def version(self, label, ns):
        def fn(*args):
            self.calls.append(label)
            self.now += ns(self) if callable(ns) else ns
        return fn


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(time, "thread_time_ns", fake)
    return fake


def test_measure_gives_exact_per_call_seconds_on_a_fake_clock(clock):
    result = timing.measure(clock.version("f", 3000), repeats=3, calls=10, warmup=2)
    assert result.calls == 10
    assert result.per_call == pytest.approx((3e-6, 3e-6, 3e-6), rel=1e-12)
    assert len(clock.calls) == 2 + 3 * 10


def test_compare_gives_exact_per_call_seconds_for_each_version(clock):
    result = timing.compare({"a": clock.version("a", 2000), "b": clock.version("b", 5000)},
                            repeats=4, calls=7, warmup=0)
    assert [t.label for t in result.timings] == ["a", "b"]
    assert result["a"].per_call == pytest.approx((2e-6,) * 4, rel=1e-12)
    assert result["b"].per_call == pytest.approx((5e-6,) * 4, rel=1e-12)
    assert result.ratio("b").median == pytest.approx(2.5, rel=1e-12)


def test_compare_chooses_calls_per_version_and_still_divides_by_them(clock):
    # 1 ms and 10 µs per call: each version gets its own batch size, long enough for min_repeat_s
    result = timing.compare([("slow", clock.version("slow", 1_000_000)), ("quick", clock.version("quick", 10_000))],
                            repeats=2, warmup=0, min_repeat_s=0.02)
    slow, quick = result["slow"], result["quick"]
    assert slow.calls * 1e-3 >= 0.02 and quick.calls * 1e-5 >= 0.02 and quick.calls > slow.calls
    assert slow.per_call == pytest.approx((1e-3, 1e-3), rel=1e-12)
    assert quick.per_call == pytest.approx((1e-5, 1e-5), rel=1e-12)


def test_compare_interleaves_rounds_in_the_order_given(clock):
    versions = {name: clock.version(name, 1000) for name in "abc"}
    timing.compare(versions, repeats=3, calls=2, warmup=1)
    warmup, rounds = clock.calls[:3], clock.calls[3:]
    assert warmup == ["a", "b", "c"]
    assert rounds == ["a", "a", "b", "b", "c", "c"] * 3


def test_interleaved_rounds_see_the_same_load_so_the_ratio_holds_while_times_move(clock):
    # the machine gets slower each round (a started a round: load 1, 2, 3); b costs half of a in the same round
    state = {"round": 0}

    def a_cost(_):
        state["round"] += 1
        return 1000 * state["round"]

    result = timing.compare({"a": clock.version("a", a_cost), "b": clock.version("b", lambda _: 500 * state["round"])},
                            repeats=3, calls=1, warmup=0)
    assert result["a"].per_call == pytest.approx((1e-6, 2e-6, 3e-6))
    ratio = result.ratio("b")
    assert (ratio.median, ratio.low, ratio.high) == pytest.approx((0.5, 0.5, 0.5))


def test_compare_runs_with_one_thread_and_gradients_off_and_restores_threads():
    before = torch.get_num_threads()
    seen = []

    def version():
        seen.append((torch.get_num_threads(), torch.is_grad_enabled()))

    timing.compare({"a": version, "b": version}, repeats=2, calls=1, warmup=1)
    assert seen and set(seen) == {(1, False)}
    assert torch.get_num_threads() == before and torch.is_grad_enabled()


# --- ratios and the verdict rule, on made-up timings -------------------------------------------------------


def _pair(a, b):
    return timing.Comparison((timing.Timing("base", tuple(b), 1), timing.Timing("new", tuple(a), 1)))


def test_ratio_is_the_median_and_range_of_per_round_ratios_not_a_ratio_of_medians():
    # per-round new/base: 2, 0.5, 2 -> median 2, range 0.5-2; the ratio of medians would be 5/3
    ratio = _pair(a=(2.0, 5.0, 6.0), b=(1.0, 10.0, 3.0)).ratio("new")
    assert (ratio.label, ratio.baseline) == ("new", "base")
    assert (ratio.median, ratio.low, ratio.high) == (2.0, 0.5, 2.0)


def test_ratio_against_another_baseline_and_to_itself():
    comparison = _pair(a=(2.0, 4.0), b=(1.0, 1.0))
    assert comparison.ratio("base", baseline="new").median == pytest.approx(0.375)
    assert comparison.ratio("base").median == 1.0


@pytest.mark.parametrize(("new", "base", "expected"), [
    ((4.0, 5.0, 5.5), (9.6, 10.0, 11.0), "new"),        # disjoint, ratio 0.5
    ((8.0, 8.9, 9.5), (9.6, 10.0, 11.0), "new"),        # disjoint, ratio 0.89: just outside
    ((8.0, 9.0, 9.5), (9.6, 10.0, 11.0), None),         # disjoint, ratio exactly 0.9: inside
    ((10.5, 11.0, 11.5), (9.0, 10.0, 10.4), None),      # disjoint, ratio exactly 1.1: inside
    ((10.5, 11.1, 11.5), (9.0, 10.0, 10.4), "base"),    # disjoint, ratio 1.11: just outside
    ((5.0, 6.0, 7.0), (7.0, 10.0, 12.0), None),         # ratio 0.6, ranges touch at 7
    ((12.0, 10.0, 7.0), (6.0, 5.0, 7.0), None),         # ratio 2, ranges touch at 7 the other way
    ((5.0, 6.0, 8.0), (7.0, 10.0, 12.0), None),         # ratio 0.6, ranges overlap
    ((5.0, 6.0, 6.9), (7.0, 10.0, 12.0), "new"),        # ratio 0.6, ranges just disjoint
])
def test_faster_only_when_ranges_are_disjoint_and_the_ratio_is_outside_0_9_to_1_1(new, base, expected):
    comparison = _pair(a=new, b=base)
    assert comparison.faster("new", "base") == expected
    assert comparison.faster("base", "new") == expected  # the same whichever way it is asked
    verdict = comparison.verdict("base", "new")
    if expected is None:
        assert verdict.startswith("new vs base: no consistent difference in this run (")
    else:
        loser = "base" if expected == "new" else "new"
        assert verdict.startswith(f"{expected} is faster than {loser} (")
        assert "faster" not in comparison.verdict("new", "new")


def test_verdict_prints_this_runs_numbers():
    verdict = _pair(a=(8.0, 9.0, 9.5), b=(9.6, 10.0, 11.0)).verdict("new", "base")
    assert "medians new/base = 0.90, within 0.9-1.1" in verdict
    assert "ranges new 8.00-9.50 s, base 9.60-11.00 s do not overlap" in verdict
    verdict = _pair(a=(5.0, 6.0, 8.0), b=(7.0, 10.0, 12.0)).verdict("new", "base")
    assert "medians new/base = 0.60, outside 0.9-1.1" in verdict and "overlap" in verdict


def test_report_states_settings_machine_load_table_and_verdicts(clock):
    result = timing.compare({"eager": clock.version("eager", 4000), "scripted": clock.version("scripted", 2000)},
                            repeats=3, calls=5, warmup=2)
    text = str(result)
    assert text == result.report()
    assert "2 versions timed together in 3 rounds, interleaved" in text and "in the order eager, scripted" in text
    assert "torch.set_num_threads(1), torch.no_grad(), 2 warm-up calls per version" in text
    assert f"machine: {timing.machine()}" in text
    assert "load average (1 min): " in text
    assert "calls/batch" in text and "time / eager" in text
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line.startswith(("eager ", "scripted "))}
    assert rows["eager"][1:5] == ["5", "4.00", "4.00", "4.00"]
    assert rows["scripted"][1:6] == ["5", "2.00", "2.00", "2.00", "0.50"]
    assert "scripted is faster than eager (medians scripted/eager = 0.50, outside 0.9-1.1" in text
    assert "absolute times on a shared machine move between runs" in text.lower()
    assert "ratios within one run are what to compare" in text


def test_report_gives_the_one_minute_load_before_and_after(monkeypatch):
    loads = iter([(1.5, 2.5, 3.5), (1.75, 2.75, 3.75)])
    monkeypatch.setattr(os, "getloadavg", lambda: next(loads))
    result = timing.compare({"a": lambda: None, "b": lambda: None}, repeats=2, calls=1, warmup=0)
    assert (result.load_before, result.load_after) == ((1.5, 2.5, 3.5), (1.75, 2.75, 3.75))
    assert f"load average (1 min): 1.50 before, 1.75 after, on {os.cpu_count()} logical core" in result.report()


def test_report_says_when_there_is_no_load_average(monkeypatch):
    monkeypatch.delattr("os.getloadavg", raising=False)
    assert timing.load_average() is None
    result = timing.compare({"a": lambda: None, "b": lambda: None}, repeats=2, calls=1, warmup=0)
    assert "load average (1 min): not available" in result.report()


# --- arguments refused, by name ------------------------------------------------------------------------


@pytest.mark.parametrize(("versions", "error", "match"), [
    ({}, ValueError, "empty"),
    ([], ValueError, "empty"),
    ({"a": torch.relu, "b": torch.ones(2)}, TypeError, "'b' must be callable"),
    ([("a", torch.relu), torch.relu], TypeError, r"\(label, function\) pair"),
    ([(1, torch.relu)], TypeError, "str label"),
    ([("a", torch.relu), ("a", torch.abs)], ValueError, "labels must differ"),
])
def test_compare_refuses_bad_versions(versions, error, match):
    with pytest.raises(error, match=match):
        timing.compare(versions, torch.ones(2), repeats=2, calls=1, warmup=0)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"repeats": 1}, "repeats must be at least 2"),
    ({"repeats": 0}, "repeats"),
    ({"calls": 0}, "calls"),
    ({"warmup": -1}, "warmup"),
])
def test_compare_refuses_bad_counts_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        timing.compare({"a": torch.relu, "b": torch.abs}, torch.ones(2), **kwargs)


def test_comparison_refuses_uneven_rounds_and_unknown_labels():
    with pytest.raises(ValueError, match="same number of rounds"):
        timing.Comparison((timing.Timing("a", (1.0, 2.0), 1), timing.Timing("b", (1.0,), 1)))
    with pytest.raises(KeyError, match="no version 'c'"):
        _pair(a=(1.0, 2.0), b=(1.0, 2.0)).faster("c", "base")
