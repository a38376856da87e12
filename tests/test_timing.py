"""jitviz.timing: thread CPU time, one PyTorch thread, repeated rounds."""

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
