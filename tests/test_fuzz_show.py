"""A fixed, fast subset of ``bench/fuzz_show.py``: mutated strangers' files through the whole user path
(``show`` and its SVG and HTML, ``inspect_archive`` and its HTML, ``explain``), each ending in a
picture or a JitvizError with a plain message, quickly, in bounded memory, leaving the victim file
(which the hostile seed's ``__setstate__`` would write) as it was. The long run stays in bench/."""

from __future__ import annotations

import random
import resource
import time

import pytest

from bench import fuzz_show

CASES = 24


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    return fuzz_show.make_seeds(tmp_path_factory.mktemp("seeds"), bomb_bytes=16 << 20)


def test_mutated_files_end_in_a_picture_or_a_jitviz_error_quickly_and_leave_the_victim_alone(seeds, tmp_path):
    rng = random.Random(20)
    fuzz_show.warm_up(seeds, tmp_path)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcomes, kinds = [], set()
    for case in range(CASES):
        what, data = fuzz_show.mutant(seeds, rng)
        kinds.update(what.split(": ")[1].split("+"))
        path = tmp_path / f"case{case}.pt"
        path.write_bytes(data)
        start = time.monotonic()
        steps = fuzz_show.run_steps(path)
        elapsed = time.monotonic() - start
        assert elapsed < 20, f"{what}: {elapsed:.1f} s"  # a bound against hangs, not a speed target
        assert not [step for step in steps.values() if step.startswith("RAW")], (what, steps)
        assert seeds.victim.read_bytes() == fuzz_show.VICTIM_BYTES, what
        outcomes += steps.values()
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown_mib < 256, f"memory grew {grown_mib:.0f} MiB"  # the 16 MiB bomb included
    assert len(kinds) >= 8  # the subset reaches most mutations
    assert any(outcome == "ok" for outcome in outcomes)  # and some files through to a picture
