"""jitviz: draw TorchScript graphs as Graphviz diagrams, in notebooks and files.

    >>> import torch, jitviz
    >>> jitviz.show(lambda x: x * 2, torch.ones(2, 2))  # doctest: +SKIP
    <jitviz graph: 2 nodes>
"""

from .api import graph, show
from .archive import ArchiveReport, inspect_archive
from .compare import Comparison, compare
from .diff import GraphDiff, diff
from .viewer import GraphExplorer, explore_graph
from .widgets import Explorer, explore
from .display import GraphView
from .errors import (
    GraphTooLargeError,
    GraphvizNotFoundError,
    JitvizError,
    NotTorchScriptFileError,
    ScriptingError,
    TracingError,
    UnsupportedObjectError,
)
from .extract.execution import ExecutionError
from .options import OptionsError

__all__ = [
    "show",
    "graph",
    "compare",
    "diff",
    "explore",
    "explore_graph",
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
]

__version__ = "0.1.0"
