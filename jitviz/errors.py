"""The exceptions jitviz raises: each says what was wrong and what to do about it."""

from __future__ import annotations

__all__ = [
    "JitvizError",
    "UnsupportedObjectError",
    "ScriptingError",
    "TracingError",
    "NotTorchScriptFileError",
    "GraphTooLargeError",
    "GraphvizNotFoundError",
    "LayoutTimeoutError",
    "UntrustedFileError",
    "ExecutionError",
    "OptionsError",
    "GraphInvariantError",
]

#: What an :class:`UntrustedFileError` advises, with torch's own warnings quoted.
TRUST_ADVICE = (
    "torch's documentation warns: \"It is possible to construct malicious pickle data which will execute "
    "arbitrary code during torch.jit.load. [...] Only load data you trust\" and \"torch.export.load() uses "
    "pickle under the hood to load models. Never load data from an untrusted source.\" "
    "jitviz.inspect_archive(path) shows what is inside without running anything; if you made the file "
    "yourself or trust whoever did, pass trusted=True (jitviz.show(path, trusted=True))."
)

INSTALL_GRAPHVIZ = (
    "conda install -c conda-forge graphviz | sudo apt-get install graphviz | brew install graphviz"
)


class JitvizError(Exception):
    """Base class of every error jitviz raises on purpose."""


class UnsupportedObjectError(JitvizError, TypeError):
    """The object given to ``show``/``graph`` is not something jitviz can turn into a graph."""


class ScriptingError(JitvizError):
    """``torch.jit.script`` rejected the code; the message keeps TorchScript's own explanation."""


class TracingError(JitvizError):
    """``torch.jit.trace`` could not run: missing or unsuitable example inputs, or the code failed."""


class NotTorchScriptFileError(JitvizError, ValueError):
    """A path that does not exist, or a file that is not a saved TorchScript module."""


class GraphTooLargeError(JitvizError):
    """The picture would have more nodes than the node budget allows."""


class GraphvizNotFoundError(JitvizError, RuntimeError):
    """Graphviz's ``dot`` binary is not on PATH, so DOT cannot be turned into SVG/PNG/PDF."""

    def __init__(self, what: str = "Rendering") -> None:
        super().__init__(
            f"{what} needs Graphviz's 'dot' program, which is not on PATH. "
            f"Install it with one of: {INSTALL_GRAPHVIZ}. "
            "The DOT text is still available as GraphView.source."
        )


class LayoutTimeoutError(JitvizError):
    """Graphviz did not lay the picture out within :data:`jitviz.layout.LAYOUT_SECONDS`."""


class UntrustedFileError(JitvizError):
    """Reading the file would run code stored in it; pass ``trusted=True`` only for a file you trust."""


class ExecutionError(JitvizError):
    """The inputs did not fit the function, or the counting copy of the graph failed to run."""


class OptionsError(JitvizError, ValueError, TypeError):
    """An option has a value jitviz does not accept; the message names it and what it accepts.

    It is a ``ValueError`` and a ``TypeError`` too, so ``except ValueError`` keeps working.
    """


class GraphInvariantError(JitvizError, AssertionError):
    """A graph model breaks an invariant: a bug in whatever built it, not in your code."""
