"""No edge goes missing silently: every use of a value in a real model is an edge or a folded label.

Walks the library models of ``bench/zoo.py`` (torch.nn layers, torchvision-style models, Hugging
Face models where ``transformers`` is installed), traced, scripted, inlined, exported and compiled
(``mode="compile"``), collapsed and expanded, and checks each drawing with
:func:`drawing_check.missing_uses`.
"""

from __future__ import annotations

import functools
import sys
import warnings
from pathlib import Path

import pytest
import torch

import jitviz
from jitviz.render import draw

from .drawing_check import missing_uses

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import zoo  # noqa: E402

CASES = {case.name: case for case in zoo.cases()}


@functools.cache
def _model(name: str, view: str, expand: int) -> jitviz.ir.Graph:
    module, inputs = CASES[name].build()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if view == "traced":
            return jitviz.graph(module, *inputs, expand_calls=expand)
        if view == "inlined":
            return jitviz.graph(module, *inputs, inline=True)
        if view == "scripted":
            return jitviz.graph(torch.jit.script(module), expand_calls=expand)
        if view == "compiled":  # what torch.compile captured: frames and breaks
            return jitviz.graph(module, *inputs, mode="compile", expand_calls=bool(expand) or 0)
        # expand=0: submodules collapsed (the default); 1: everything open, in scope frames
        return jitviz.graph(torch.export.export(module, inputs, strict=False), expand_calls=bool(expand) or 0)


def _params():
    for name, case in CASES.items():
        views = [v for v, ok in (("traced", case.trace), ("scripted", case.script),
                                 ("inlined", case.trace and case.full_trace), ("exported", case.export),
                                 ("compiled", True)) if ok]
        for view in views:
            expands = (0, 1) if view in ("traced", "scripted", "exported", "compiled") else (0,)
            for expand in expands if view != "traced" or case.full_trace else (0,):  # expanded: traced in full
                yield pytest.param(name, view, expand, id=f"{name}-{view}-{expand}")


@pytest.mark.parametrize("name, view, expand", list(_params()))
@pytest.mark.parametrize("checks", ["fold", "show"])
def test_every_use_is_an_edge_or_a_label(name, view, expand, checks):
    model = _model(name, view, expand)
    drawing = draw(model, checks=checks, max_nodes=100_000)
    assert missing_uses(model, drawing) == []


def test_a_traced_detector_is_drawn_as_its_stages_as_its_script_is():
    traced, scripted = _model("SSDStyle", "traced", 0), _model("SSDStyle", "scripted", 0)
    assert [n.callee for n in traced.nodes if n.kind == "prim::CallMethod"] == [
        "transform.forward", "backbone.forward", "head.forward", "anchor_generator.forward",
        "self.postprocess_detections", "transform.postprocess"]  # the per-class loop is inside one call
    assert draw(traced).node_count <= draw(scripted).node_count
