"""The options every entry point shares, checked once: ``check(mode="trace", max_nodes=500)``.

``show``, ``graph``, ``diff``, ``explore`` and the highlighter take the same few options; checking
them here, before any tracing or scripting runs, means a misspelt option is refused at once, with
a message that names the argument and what it accepts, instead of surfacing later as a raw error
from deep inside (or, worse, being ignored).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from .errors import OptionsError, ScriptingError

__all__ = ["OptionsError", "check", "refuse_for_exported", "traceable_partial", "MODES", "CONSTANT_MODES",
           "CHECK_MODES", "RANKDIRS", "MARK_STYLE_NAMES", "DEFAULT_NESTING"]

# Every option's accepted values live here, and the modules that use them import them from here
# (this module imports nothing of jitviz's but its errors, so that any layer can).
#: How a Python function or module becomes TorchScript (``"compile"`` is torch.compile's capture).
MODES = ("auto", "trace", "script")
#: How constants are drawn: folded into their users' labels, as nodes, or left out.
CONSTANT_MODES = ("fold", "nodes", "hide")
#: Checks, warnings and long conditions folded into compact nodes, or every node shown.
CHECK_MODES = ("fold", "show")
#: Graphviz's four directions.
RANKDIRS = ("TB", "LR", "BT", "RL")
#: How many levels of ``if``/loop frames a picture draws open; one nested deeper is one node (``nesting=``).
#: Twenty: real models nest up to 16 (torch.nn's attention code drawn with checks="show" and calls
#: expanded; 7 with checks folded), so every notebook's and golden picture is drawn as it was.
DEFAULT_NESTING = 20
#: How :func:`jitviz.render.draw` marks nodes (its ``mark_style``): the keys of ``style.MARK_STYLES``.
MARK_STYLE_NAMES = ("warn", "removed", "added")


def check(**options: Any) -> None:
    """Check the options given by name: ``check(mode="trace", expand_calls=2, max_nodes=500)``.

    Known names: ``mode``, ``expand_calls``, ``max_nodes``, ``nesting``, ``open_blocks``, ``constants``,
    ``rankdir`` and the booleans ``inline``, ``repeats``, ``highlight``. Raises :class:`OptionsError` for
    the first bad one.
    """
    for name, value in options.items():
        _CHECKS[name](name, value)


def refuse_for_exported(**given: Any) -> None:
    """Refuse TorchScript-only options for an exported program rather than ignore them."""
    defaults = {"mode": "auto", "inline": False}
    changed = [f"{name}={value!r}" for name, value in given.items() if value != defaults[name]]
    if changed:
        raise OptionsError(
            f"{', '.join(changed)} cannot apply to an exported program or FX graph: it is drawn as "
            "it is, with nothing to inline, trace or script (its submodules open with expand_calls). "
            "Leave these options out."
        )


def traceable_partial(obj: Any, example_inputs: Sequence[Any], mode: str) -> Any:
    """A ``functools.partial`` as a plain function that calls it, so that it can be traced.

    TorchScript can neither script a partial (it compiles source, and a partial has none) nor
    trace one (the tracer asks it for a class name); a function that calls it traces fine.
    Anything else is returned as it is.
    """
    if not isinstance(obj, functools.partial):
        return obj
    name = getattr(obj.func, "__name__", type(obj.func).__name__)
    if mode == "script" or not example_inputs:
        raise ScriptingError(
            f"functools.partial({name}, ...) cannot be scripted: TorchScript compiles a function "
            "from its source, and a partial has none. Give example inputs to trace it "
            f"(jitviz.show(p, torch.ones(2, 2))), or draw {name} itself (jitviz.show(p.func))."
        )

    def call_partial(*args: Any) -> Any:
        return obj(*args)

    call_partial.__name__ = call_partial.__qualname__ = f"partial_{name}"
    return call_partial


def _choice(accepted: tuple[str, ...]) -> Any:
    def check_choice(name: str, value: Any) -> None:
        if not isinstance(value, str) or value not in accepted:
            raise OptionsError(f"{name} must be one of {', '.join(map(repr, accepted))}, not {_short(value)}.")
    return check_choice


def _max_nodes(name: str, value: Any) -> None:
    # bool is an int subclass: max_nodes=True would mean a budget of one node.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise OptionsError(
            f"{name} must be a whole number of nodes >= 1 (default 3000), not {_short(value)}; "
            "raise it to draw bigger pictures, at the cost of a longer Graphviz layout."
        )


def _nesting(name: str, value: Any) -> None:
    # bool is an int subclass: nesting=True would quietly mean one level.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise OptionsError(
            f"{name} must be a whole number of levels >= 0 (default {DEFAULT_NESTING}), not {_short(value)}: "
            "the if and loop frames drawn open, one inside another; one nested deeper is drawn as one node "
            "standing for everything inside it (0 draws every if and loop as such a node)."
        )


def _open_blocks(name: str, value: Any) -> None:
    if isinstance(value, (list, tuple)) and all(isinstance(node_id, str) and node_id for node_id in value):
        return
    raise OptionsError(
        f"{name} must be a list of node ids (the ids of ifs and loops drawn folded, such as 'n42', "
        f"which explore_graph opens when they are clicked), not {_short(value)}."
    )


def _expand_calls(name: str, value: Any) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int) and value >= 0:
        return
    if isinstance(value, str) and value:
        return
    if isinstance(value, (list, tuple)) and value and all(isinstance(p, str) and p for p in value):
        return
    raise OptionsError(
        f"{name} must be True, False, a depth >= 0, or submodule paths such as 'layers.0' "
        f"(a string or a list of them), not {_short(value)}."
    )


def _flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise OptionsError(f"{name} must be True or False, not {_short(value)}.")


def _dynamic(name: str, value: Any) -> None:
    if value is not None and not isinstance(value, bool):
        raise OptionsError(f"{name} must be None (torch.compile's default: decide per shape), True or False, "
                           f"not {_short(value)}.")


def refuse_compile_options(mode: str, dynamic: Any, fullgraph: Any) -> None:
    """``dynamic=``/``fullgraph=`` are torch.compile's: refused with any other mode rather than ignored."""
    if mode != "compile" and (dynamic is not None or fullgraph is not False):
        given = "dynamic" if dynamic is not None else "fullgraph"
        raise OptionsError(f"{given}= is an option of torch.compile; it applies only with mode='compile' "
                           f"(jitviz.show(f, x, mode='compile', {given}=...)).")


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_CHECKS = {
    "mode": _choice((*MODES, "compile")),
    "constants": _choice(CONSTANT_MODES),
    "checks": _choice(CHECK_MODES),
    "rankdir": _choice(RANKDIRS),
    "max_nodes": _max_nodes,
    "nesting": _nesting,
    "open_blocks": _open_blocks,
    "expand_calls": _expand_calls,
    "inline": _flag,
    "repeats": _flag,
    "highlight": _flag,
    "trusted": _flag,
    "mark_style": _choice(MARK_STYLE_NAMES),
    "fullgraph": _flag,
    "compiled": _flag,
    "dynamic": _dynamic,
}
