"""Mutation testing: how many small, plausible bugs in the modules a learner sees do the tests catch?

    .venv/bin/python bench/mutation.py paint ir      # or no argument for every module below
    .venv/bin/python bench/mutation.py paint --show  # also print each surviving mutant's diff
    ./dev.sh mutate paint                            # the same

mutmut (pinned in the test extras) rewrites each function of a module in many small ways (``<`` for
``<=``, ``"ran"`` for ``"XXranXX"``, a dropped argument) and runs the tests that call that function
against every version; a mutant the tests do not notice ("survived") marks a behaviour no test pins.
Each module is run on its own, against only its own unit tests (``MODULES``), one test process at a
time by default, in a scratch copy under ``/tmp/jitviz-mutation/<checkout>/<module>`` (``<checkout>`` the
name of the folder this script's checkout lives in, so two worktrees never share one) so the checkout
is never touched. Prints one line per module: mutants, killed, survived, kill rate; then the survivors' names
(``cd /tmp/jitviz-mutation/<checkout>/<module> && mutmut show <name>`` shows one).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = Path("/tmp/jitviz-mutation") / ROOT.name  # one per checkout: worktrees run side by side

#: module -> (files to mutate, the unit tests that pin its behaviour: the fast subset to run)
MODULES: dict[str, tuple[list[str], list[str]]] = {
    "ir": (["jitviz/ir.py"], ["tests/test_ir.py"]),
    "drawing": (["jitviz/drawing.py"], ["tests/test_drawing.py", "tests/test_render.py", "tests/test_paint.py"]),
    # paint.py: Painter (SVG) and painted_dot (DOT); test_highlight.py paints real models both ways
    "paint": (["jitviz/paint.py"], ["tests/test_paint.py", "tests/test_highlight.py"]),
    "render": (["jitviz/render.py", "jitviz/style.py"], ["tests/test_render.py", "tests/test_paint.py"]),
    "fold": (["jitviz/fold.py"], ["tests/test_fold.py"]),
    "highlight": (["jitviz/highlight.py"], ["tests/test_highlight.py"]),
    "compare": (["jitviz/comparison.py"], ["tests/test_compare.py"]),
    "archive": (["jitviz/archive.py"], ["tests/test_archive.py", "tests/test_archive_strangers.py"]),
    "zipcheck": (["jitviz/extract/zipcheck.py"],
                 ["tests/test_zipcheck.py", "tests/test_archive.py", "tests/test_archive_strangers.py"]),
    "extract": (["jitviz/extract/torchscript.py", "jitviz/extract/export.py", "jitviz/extract/execution.py"],
                ["tests/test_extract_torchscript.py", "tests/test_extract_export.py", "tests/test_extract_execution.py",
                 "tests/test_errors.py", "tests/test_highlight.py", "tests/test_calls.py"]),
    "calls": (["jitviz/extract/calls.py"], ["tests/test_calls.py"]),
    "dotgraph": (["jitviz/dotgraph.py"], ["tests/test_dotgraph.py"]),
    "layout": (["jitviz/layout.py"], ["tests/test_layout.py"]),  # slow: many mutants hang dot until the limit
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="module",
                        help=f"any of {', '.join(MODULES)} (default: all, one at a time)")
    parser.add_argument("--max-children", type=int, default=1, help="parallel test processes (default 1)")
    parser.add_argument("--show", action="store_true", help="print the diff of every surviving mutant")
    args = parser.parse_args()
    unknown = [module for module in args.modules if module not in MODULES]
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    rows = [_run(module, args.max_children, args.show) for module in (args.modules or list(MODULES))]
    print(f"\n{'module':<10} {'mutants':>7} {'killed':>6} {'survived':>8} {'no test':>7} {'kill rate':>9} {'time':>6}")
    for module, stats, seconds in rows:
        print(f"{module:<10} {stats['total']:>7} {_caught(stats):>6} {stats['survived']:>8} "
              f"{stats['no_tests']:>7} {_rate(stats):>9} {seconds:>5.0f}s")


def _run(module: str, max_children: int, show: bool) -> tuple[str, dict[str, int], float]:
    sources, tests = MODULES[module]
    tests = [test for test in tests if (ROOT / test).exists()]
    work = _scratch_copy(module, sources, tests)
    print(f"== {module}: mutating {', '.join(sources)} against {', '.join(tests)}", flush=True)
    started = time.perf_counter()
    mutmut = [sys.executable, "-m", "mutmut"]
    subprocess.run([*mutmut, "run", "--max-children", str(max_children)], cwd=work, check=True,
                   stdout=subprocess.DEVNULL)  # its progress spinner is one very long line
    seconds = time.perf_counter() - started
    subprocess.run([*mutmut, "export-cicd-stats"], cwd=work, check=True, stdout=subprocess.DEVNULL)
    stats = json.loads((work / "mutants" / "mutmut-cicd-stats.json").read_text())
    results = subprocess.run([*mutmut, "results"], cwd=work, check=True, capture_output=True, text=True).stdout
    survivors = [line.split(":")[0].strip() for line in results.splitlines() if line.strip()]
    print(f"   {_caught(stats)} of {stats['total']} killed ({_rate(stats)}); survivors:", *survivors, sep="\n   ")
    if show:
        for name in survivors:
            print(subprocess.run([*mutmut, "show", name], cwd=work, capture_output=True, text=True).stdout)
    return module, stats, seconds


def _scratch_copy(module: str, sources: list[str], tests: list[str]) -> Path:
    """A copy of the package and tests whose pyproject tells mutmut what to mutate and what to run."""
    work = SCRATCH / module
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "jitviz", work / "jitviz", ignore=ignore)
    shutil.copytree(ROOT / "tests", work / "tests", ignore=ignore)
    shutil.copytree(ROOT / "bench", work / "bench", ignore=ignore)  # tests build bench/zoo.py's models
    selection = ", ".join(json.dumps(test) for test in tests)
    config = (ROOT / "pyproject.toml").read_text() + (
        "\n[tool.mutmut]\n"
        'source_paths = ["jitviz"]\n'
        'also_copy = ["bench"]\n'
        f"only_mutate = {json.dumps(sources)}\n"
        f"pytest_add_cli_args_test_selection = [{selection}]\n"
        'pytest_add_cli_args = ["-q", "-p", "no:randomly", "-x"]\n'
        "use_git_change_detection = false\n"
    )
    (work / "pyproject.toml").write_text(config)
    with (work / "tests" / "conftest.py").open("a") as conftest:
        conftest.write(_TRAMPOLINE_FRAMES)
    return work


# mutmut calls each mutated function through a trampoline, a frame in mutmut's own package: the
# call recorder (jitviz/extract/calls.py) must skip it, as its own frames, when it looks for the line
# that made a call. Only the scratch copy's tests are told so; jitviz itself knows nothing of mutmut.
_TRAMPOLINE_FRAMES = """

# added by bench/mutation.py: mutmut's trampoline frames are the call recorder's own
def _skip_mutmut_frames():
    import os

    from jitviz.extract import calls

    own = calls.recorder_file
    calls.recorder_file = lambda path: own(path) or f"{os.sep}mutmut{os.sep}" in path


_skip_mutmut_frames()
"""


def _caught(stats: dict[str, int]) -> int:
    # a mutant that makes the tests hang is one they notice
    return stats["killed"] + stats["timeout"]


def _rate(stats: dict[str, int]) -> str:
    return f"{100 * _caught(stats) / stats['total']:.0f}%" if stats["total"] else "-"


if __name__ == "__main__":
    main()
