"""jitviz.diff: what freezing and optimize_for_inference change, marked on both pictures."""

import sys
from pathlib import Path

import torch
from torch import nn

import jitviz


class ConvBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))


def test_freeze_folds_batch_norm_into_the_convolution_and_attributes_into_constants():
    scripted = torch.jit.script(ConvBN().eval())
    d = jitviz.diff(scripted, torch.jit.freeze(scripted), labels=("scripted", "frozen"))
    assert d.removed["aten::batch_norm"] == 1 and "aten::batch_norm" not in d.after.model.kinds()
    assert d.after.model.kinds()["aten::conv2d"] == 1
    # every self.<attribute> read became a constant: the weights now live in the graph
    assert d.removed["prim::GetAttr"] >= 4 and "prim::GetAttr" not in d.after.model.kinds()
    (conv,) = d.after.model.find("aten::conv2d")
    producers = {v.id: n.kind for n in d.after.model.walk() for v in n.outputs}
    assert producers[conv.inputs[1].id] == "prim::Constant"
    (bn,) = d.before.model.find("aten::batch_norm")
    assert f"{bn.id} [label=\"aten::batch_norm" in d.before.source and "− removed" in d.before.source
    assert "aten::batch_norm: 1 -> 0" in repr(d)


def test_optimize_for_inference_adds_mkldnn_conversions():
    scripted = torch.jit.script(ConvBN().eval())
    d = jitviz.diff(scripted, torch.jit.optimize_for_inference(torch.jit.script(ConvBN().eval())))
    added = set(d.added)
    assert {"aten::to_mkldnn", "aten::to_dense"} <= added or "prim::mkldnn_convolution" in added
    assert "+ added" in d.after.source


def test_a_pass_that_changes_nothing_marks_nothing():
    scripted = torch.jit.script(ConvBN().eval())
    d = jitviz.diff(scripted, torch.jit.script(ConvBN().eval()))
    assert d.counts == {} and d.removed == {} and d.added == {}
    assert "removed" not in d.before.source and "added" not in d.after.source
    assert repr(d).splitlines()[1:] == []


def test_labels_are_escaped_and_their_control_characters_shown():
    scripted = torch.jit.script(ConvBN().eval())
    d = jitviz.diff(scripted, torch.jit.freeze(scripted), labels=("scripted\x1b[2J", "<b>frozen</b>"))
    assert "\x1b" not in repr(d) and "scripted\\x1b[2J -> <b>frozen</b>" in repr(d)
    page = d._repr_html_()
    assert "<b>frozen" not in page and "&lt;b&gt;frozen&lt;/b&gt;" in page and "\x1b" not in page


def test_a_detector_shaped_model_diffs_with_both_pictures():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import zoo

    scripted = torch.jit.script(zoo.DetectorStyle().eval())
    d = jitviz.diff(scripted, torch.jit.freeze(scripted))
    assert d.before is not None and d.after is not None and d.note == ""
    # weights became constants; the conv stays
    assert d.removed["prim::GetAttr"] >= 1 and "aten::conv2d" not in d.counts
