"""Real library code to draw: torch.nn's layers, torchvision-style models, Hugging Face if installed.

torchvision's wheel on the package index is a CUDA build whose import fails on a CPU machine, so its
models are mimicked here with the parts that make them hard to draw kept: ResNet's
``forward -> self._forward_impl`` hop, a detector's ``self.training`` branch with target and box
validation, ``torch._assert`` and a one-time warning, a segmentation head's ``F.interpolate``.
Hugging Face models are built from a small config (no weights are downloaded) when ``transformers``
is importable, and left out otherwise.

    for case in zoo.cases(): case.name, case.build()   # (module in eval mode, example inputs)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812  (torchvision's own spelling, mimicked here)
from torch import Tensor, nn


@dataclass(frozen=True)
class Case:
    """One model of the zoo: how to build it, and which ways of drawing it work."""

    name: str
    build: Callable[[], tuple[nn.Module, tuple]]
    trace: bool = True
    script: bool = True
    export: bool = True


# --- torchvision-style models --------------------------------------------------------------------


class _Block(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample: nn.Module | None = None

    def forward(self, x: Tensor) -> Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class ResNetStyle(nn.Module):
    """torchvision's ResNet shape: ``forward`` only calls ``self._forward_impl``."""

    def __init__(self, width: int = 8, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(_Block(width), _Block(width))
        self.layer2 = nn.Sequential(_Block(width), _Block(width))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width, classes)

    def _forward_impl(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)

    def forward(self, x: Tensor) -> Tensor:
        return self._forward_impl(x)


class _Transform(nn.Module):
    def forward(self, images: list[Tensor]) -> tuple[Tensor, list[tuple[int, int]]]:
        sizes: list[tuple[int, int]] = []
        for image in images:
            if image.dim() != 3:
                raise ValueError(f"images is expected to be a list of 3d tensors of shape [C, H, W], got {image.shape}")
            sizes.append((image.shape[-2], image.shape[-1]))
        return torch.stack(images), sizes


class _Heads(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.cls = nn.Conv2d(channels, 3, 1)
        self.box = nn.Conv2d(channels, 4, 1)

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor]:
        return self.cls(features), self.box(features)


class DetectorStyle(nn.Module):
    """torchvision's GeneralizedRCNN shape: training-only target validation, asserts, a warning."""

    def __init__(self, channels: int = 8) -> None:
        super().__init__()
        self.transform = _Transform()
        self.backbone = nn.Sequential(nn.Conv2d(3, channels, 3, 2, 1), nn.ReLU())
        self.heads = _Heads(channels)
        self._has_warned = False

    def forward(self, images: list[Tensor], targets: list[dict[str, Tensor]] | None = None
                ) -> tuple[dict[str, Tensor], list[dict[str, Tensor]]]:
        if self.training:
            if targets is None:
                torch._assert(False, "targets should not be none when in training mode")
            else:
                for target in targets:
                    boxes = target["boxes"]
                    torch._assert(len(boxes.shape) == 2 and boxes.shape[-1] == 4,
                                  f"Expected target boxes to be a tensor of shape [N, 4], got {boxes.shape}.")
        original_image_sizes: list[tuple[int, int]] = []
        for img in images:
            val = img.shape[-2:]
            torch._assert(len(val) == 2,
                          f"expecting the last two dimensions of the Tensor to be H and W instead got {img.shape[-2:]}")
            original_image_sizes.append((val[0], val[1]))
        batch, sizes = self.transform(images)
        if targets is not None:
            for target_idx, target in enumerate(targets):
                boxes = target["boxes"]
                degenerate_boxes = boxes[:, 2:] <= boxes[:, :2]
                if degenerate_boxes.any():
                    bb_idx = torch.where(degenerate_boxes.any(dim=1))[0][0]
                    degen_bb: list[float] = boxes[bb_idx].tolist()
                    torch._assert(False, f"All bounding boxes should have positive height and width. "
                                         f"Found invalid box {degen_bb} for target at index {target_idx}.")
        features = self.backbone(batch)
        scores, deltas = self.heads(features)
        losses: dict[str, Tensor] = {}
        detections: list[dict[str, Tensor]] = []
        for index in range(len(sizes)):
            detections.append({"scores": scores[index].sigmoid().flatten(), "boxes": deltas[index].flatten()})
        if self.training:
            losses["objectness"] = scores.mean()
        if torch.jit.is_scripting():  # noqa: SIM102  (torchvision's shape, kept: it is what is drawn)
            if not self._has_warned:
                warnings.warn("RCNN always returns a (Losses, Detections) tuple in scripting", stacklevel=2)
                self._has_warned = True
        return losses, detections


class SegmentationStyle(nn.Module):
    """torchvision's DeepLabV3 shape: a backbone, a head, and ``F.interpolate`` back to the input size."""

    def __init__(self, channels: int = 8, classes: int = 4) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, channels, 3, 2, 1), nn.BatchNorm2d(channels), nn.ReLU())
        self.classifier = nn.Sequential(nn.Conv2d(channels, channels, 3, 1, 1), nn.ReLU(),
                                        nn.Conv2d(channels, classes, 1))

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        input_shape = x.shape[-2:]
        features = self.backbone(x)
        out = self.classifier(features)
        out = F.interpolate(out, size=input_shape, mode="bilinear", align_corners=False)
        return {"out": out}


# --- the cases -----------------------------------------------------------------------------------


def _eval(module: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    return module.eval()


def _seq(batch: int = 2, length: int = 5, width: int = 16) -> Tensor:
    return torch.randn(batch, length, width, generator=torch.Generator().manual_seed(0))


def _hf(kind: str) -> tuple[nn.Module, tuple]:
    import transformers  # noqa: F401  (only when installed)

    torch.manual_seed(0)
    if kind == "bert":
        config = transformers.BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2,
                                         num_attention_heads=2, intermediate_size=64, max_position_embeddings=32)
        model = transformers.BertModel(config)
    else:
        config = transformers.GPT2Config(vocab_size=100, n_embd=32, n_layer=2, n_head=2, n_positions=32,
                                         use_cache=False)
        model = transformers.GPT2Model(config)
    model.config.return_dict = False
    return model.eval(), (torch.randint(0, 100, (1, 8), generator=torch.Generator().manual_seed(0)),)


def _has_transformers() -> bool:
    try:
        import transformers  # noqa: F401
    except Exception:  # not installed, or broken beside this torch
        return False
    return True


def cases() -> list[Case]:
    """The zoo, in a fixed order."""
    zoo = [
        Case("TransformerEncoderLayer", lambda: (_eval(nn.TransformerEncoderLayer(16, 2, 32, batch_first=True)),
                                                 (_seq(),))),
        Case("TransformerDecoderLayer", lambda: (_eval(nn.TransformerDecoderLayer(16, 2, 32, batch_first=True)),
                                                 (_seq(), _seq(length=3)))),
        Case("MultiheadAttention", lambda: (_eval(nn.MultiheadAttention(16, 2, batch_first=True)),
                                            (_seq(), _seq(), _seq()))),
        Case("GRU", lambda: (_eval(nn.GRU(16, 16, batch_first=True)), (_seq(),))),
        Case("GRUCell", lambda: (_eval(nn.GRUCell(16, 16)), (torch.randn(2, 16),))),
        Case("LSTM", lambda: (_eval(nn.LSTM(16, 16, batch_first=True)), (_seq(),))),
        Case("ResNetStyle", lambda: (_eval(ResNetStyle()), (torch.randn(1, 3, 32, 32),))),
        Case("DetectorStyle", lambda: (_eval(DetectorStyle()), ([torch.randn(3, 32, 32)],)),
             trace=False, export=False),
        Case("SegmentationStyle", lambda: (_eval(SegmentationStyle()), (torch.randn(1, 3, 32, 32),)),
             trace=False),
    ]
    if _has_transformers():
        zoo += [Case("BertModel", lambda: _hf("bert"), script=False),
                Case("GPT2Model", lambda: _hf("gpt2"), script=False)]
    return zoo
