"""Build the repository's C++ loader (``cpp/run_model.cpp``) and run saved models with it.

    result = jitviz.cpp.run("model.pt", fill=2.0, shape=(2, 2))   # built once, then cached

It builds against the libtorch that ships inside the pip ``torch`` wheel
(``torch.utils.cmake_prefix_path``), with the system's cmake and C++ compiler, into
``build/cpp`` beside ``cpp/``; a second call reuses the binary unless a source changed.
"""

from __future__ import annotations

import fcntl
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch.utils

from .errors import TRUST_ADVICE, JitvizError, OptionsError, UntrustedFileError
from .extract.torchscript import vet_torchscript_file

__all__ = ["CppResult", "build", "run", "SOURCE_DIR", "BUILD_DIR"]

SOURCE_DIR = Path(__file__).resolve().parent.parent / "cpp"
BUILD_DIR = SOURCE_DIR.parent / "build" / "cpp"
_INSTALL = "sudo apt-get install cmake g++ | conda install -c conda-forge cmake cxx-compiler | brew install cmake"


@dataclass(frozen=True)
class CppResult:
    """One result printed by ``run_model``: a tensor's shape and values, or a number."""

    kind: str  # "tensor", "int", "double" or "bool"
    shape: tuple[int, ...] | None
    values: tuple[float, ...]

    def __str__(self) -> str:
        if self.kind == "tensor":
            values = ", ".join(_number(v) for v in self.values)
            return f"tensor shape={list(self.shape or ())} values=[{values}]"
        return f"{self.kind} {_number(self.values[0])}"


def build() -> Path:
    """Build ``run_model`` if needed and return its path: ``jitviz.cpp.build()``.

    Processes that build at the same time (two notebooks, parallel tests) take turns: the first
    builds, the others find its binary."""
    sources = [SOURCE_DIR / "run_model.cpp", SOURCE_DIR / "CMakeLists.txt"]
    if not all(source.exists() for source in sources):
        raise JitvizError(f"The C++ sources are not at {SOURCE_DIR}; use jitviz from a clone of its repository.")
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with open(BUILD_DIR.parent / "cpp.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        return _build(sources)


def _build(sources: list[Path]) -> Path:
    binary = BUILD_DIR / "run_model"
    if binary.exists() and binary.stat().st_mtime >= max(s.stat().st_mtime for s in sources):
        return binary
    for tool in ("cmake", "c++"):
        if shutil.which(tool) is None:
            raise JitvizError(f"Building the C++ loader needs '{tool}', which is not on PATH. "
                              f"Install it with one of: {_INSTALL}")
    configure = ["cmake", "-S", str(SOURCE_DIR), "-B", str(BUILD_DIR), "-DCMAKE_BUILD_TYPE=Release",
                 f"-DCMAKE_PREFIX_PATH={torch.utils.cmake_prefix_path}"]
    for command in (configure, ["cmake", "--build", str(BUILD_DIR), "-j", "2"]):
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise JitvizError(f"{' '.join(command[:2])} failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return binary


def run(model: str | Path, *values: float, fill: float | None = None,
        shape: Sequence[int] = (2, 2), trusted: bool = False) -> list[CppResult]:
    """Run ``forward`` of a saved TorchScript file in C++ on one input tensor.

    ``run("m.pt", fill=3.0, shape=(2, 2), trusted=True)`` passes ``torch.full((2, 2), 3.0)``;
    ``run("m.pt", 1, 2, trusted=True)`` passes ``torch.tensor([1., 2.])``. Returns what the program
    printed, one result per output.

    Running a model runs the code stored in its file, so ``trusted=True`` is required: say it
    only for a file you made or trust. The file is checked first as :func:`jitviz.show` checks a
    path (a damaged zip, or a pickle deep enough to crash the loader, is refused with the reason).
    """
    if not isinstance(trusted, bool):
        raise OptionsError(f"trusted must be True or False, not {trusted!r}.")
    vet_torchscript_file(model, trusted=True)  # the bounded checks; trust is asked for just below
    if not trusted:
        raise UntrustedFileError(
            f"jitviz.cpp.run runs the forward of {str(model)!r}, code stored in the file, in C++. " + TRUST_ADVICE
            .replace("jitviz.show(path, trusted=True)", "jitviz.cpp.run(path, ..., trusted=True)"))
    binary = build()
    arguments = [str(binary), str(model)]
    if fill is not None or not values:
        arguments += ["--fill", repr(float(fill or 0.0)), "--shape", ",".join(str(int(s)) for s in shape)]
    else:
        arguments += [repr(float(v)) for v in values]
    done = subprocess.run(arguments, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        reason = done.stderr.strip() or f"it stopped with status {done.returncode} and printed no reason"
        raise JitvizError(f"run_model failed on {Path(model).name}: {reason}")
    return [_parse(line) for line in done.stdout.splitlines() if line.strip()]


_TENSOR = re.compile(r"tensor shape=\[([^\]]*)\] values=\[([^\]]*)\]")


def _parse(line: str) -> CppResult:
    match = _TENSOR.fullmatch(line.strip())
    if match:
        shape = tuple(int(s) for s in match.group(1).split(",") if s.strip())
        values = tuple(float(v) for v in match.group(2).split(",") if v.strip())
        return CppResult("tensor", shape, values)
    kind, _, text = line.strip().partition(" ")
    if kind == "bool":
        return CppResult(kind, None, (1.0 if text == "true" else 0.0,))
    if kind in ("int", "double"):
        return CppResult(kind, None, (float(text),))
    raise JitvizError(f"run_model printed something jitviz does not understand: {line!r}")


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.4f}"
