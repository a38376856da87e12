"""Functions written to a real file and imported, for tests whose source must be odd (control
characters, a 20,000-character line): torch.jit.script and jitviz.explain read a function's file."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def module_from_source(folder: Path, name: str, source: str) -> ModuleType:
    """``source`` written to ``folder / f"{name}.py"`` and imported (not left in ``sys.modules``)."""
    path = folder / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # while it runs: @torch.jit.script on a class looks its module up
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module
