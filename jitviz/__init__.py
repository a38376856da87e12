"""jitviz: draw TorchScript graphs as Graphviz diagrams, in notebooks and files.

    >>> import torch, jitviz
    >>> jitviz.show(lambda x: x * 2, torch.ones(2, 2))
    <jitviz graph: 2 nodes>
"""

import importlib

from .api import graph, show
from .archive import ArchiveReport, inspect_archive
from .comparison import Comparison, compare
from .display import GraphView
from .errors import (
    ExecutionError,
    GraphInvariantError,
    GraphTooLargeError,
    GraphvizNotFoundError,
    JitvizError,
    LayoutTimeoutError,
    NotTorchScriptFileError,
    OptionsError,
    ScriptingError,
    TracingError,
    UnsupportedObjectError,
    UntrustedFileError,
)
from .explain import Explanation, explain
from .graph_diff import GraphDiff, diff
from .viewer import GraphExplorer, explore_graph
from .widgets import Explorer, explore

__all__ = [
    "show",
    "graph",
    "compare",
    "diff",
    "explore",
    "explore_graph",
    "explain",
    "Explanation",
    "inspect_archive",
    "GraphView",
    "Comparison",
    "GraphDiff",
    "Explorer",
    "GraphExplorer",
    "ArchiveReport",
    "JitvizError",
    "UnsupportedObjectError",
    "ScriptingError",
    "TracingError",
    "NotTorchScriptFileError",
    "GraphTooLargeError",
    "GraphvizNotFoundError",
    "ExecutionError",
    "OptionsError",
    "LayoutTimeoutError",
    "UntrustedFileError",
    "GraphInvariantError",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``jitviz.cpp`` (documented as ``jitviz.cpp.run``) imported on first use, not with jitviz."""
    if name == "cpp":
        # import_module, not `from . import cpp`: the latter looks the name up here first, and recurses
        return importlib.import_module(f"{__name__}.cpp")
    raise AttributeError(f"module 'jitviz' has no attribute {name!r}")
