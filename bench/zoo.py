"""Real library code to draw: torch.nn's layers, torchvision-style models, Hugging Face if installed.

torchvision's wheel on the package index is a CUDA build whose import fails on a CPU machine, so its
models are mimicked here with the parts that make them hard to draw kept: ResNet's
``forward -> self._forward_impl`` hop, a detector's ``self.training`` branch with target and box
validation, ``torch._assert`` and a one-time warning, a segmentation head's ``F.interpolate``,
RAFT's method that stores its result on a submodule for a later call to read, and SSD's transform,
backbone with extra blocks, head over a list of feature maps, anchors and per-class postprocess.
Hugging Face models are built from a small config (no weights are downloaded) when ``transformers``
is importable, and left out otherwise.

    for case in zoo.cases(): case.name, case.build()   # (module in eval mode, example inputs)
"""

from __future__ import annotations

import math
import warnings
from collections import OrderedDict
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
    #: whether ``torch.jit.trace`` takes it whole (``inline=True``, ``expand_calls``): not a model that
    #: returns a list of dicts, as a detector does (the default view records it all the same)
    full_trace: bool = True


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



class _CorrBlock(nn.Module):
    """RAFT's CorrBlock: ``build_pyramid`` stores the correlation pyramid on the module, and its
    ``forward`` (torchvision: ``index_pyramid``) reads it later."""

    def __init__(self, num_levels: int = 2) -> None:
        super().__init__()
        self.num_levels = num_levels
        self.corr_pyramid: list[Tensor] = [torch.tensor(0)]  # torchvision's: TorchScript wants the type

    def build_pyramid(self, fmap1: Tensor, fmap2: Tensor) -> None:
        torch._assert(fmap1.shape == fmap2.shape, "Input feature maps should have the same shape")
        batch, channels, h, w = fmap1.shape
        corr = torch.matmul(fmap1.view(batch, channels, h * w).transpose(1, 2), fmap2.view(batch, channels, h * w))
        corr = corr.reshape(batch * h * w, 1, h, w) / math.sqrt(channels)
        self.corr_pyramid = [corr]
        for _ in range(self.num_levels - 1):
            corr = F.avg_pool2d(corr, kernel_size=2, stride=2)
            self.corr_pyramid.append(corr)

    def forward(self, coords: Tensor) -> Tensor:
        batch, _, h, w = coords.shape
        sampled = [corr.mean(dim=(1, 2, 3)).view(batch, 1, h, w) * coords for corr in self.corr_pyramid]
        return torch.cat(sampled, dim=1)


class RaftStyle(nn.Module):
    """torchvision's RAFT shape: a method of a submodule that stores its result on the submodule,
    read by a later call of that submodule."""

    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.feature_encoder = nn.Conv2d(3, width, 3, 1, 1)
        self.corr_block = _CorrBlock()
        self.flow_head = nn.Conv2d(width, 2, 1)
        self.update = nn.Conv2d(4, 2, 1)

    def forward(self, image1: Tensor, image2: Tensor) -> Tensor:
        fmap1, fmap2 = self.feature_encoder(image1), self.feature_encoder(image2)
        self.corr_block.build_pyramid(fmap1, fmap2)
        coords = self.flow_head(fmap1)
        corr_features = self.corr_block(coords)
        return self.update(corr_features)


# --- SSD / SSDlite (torchvision.models.detection.ssd, ssdlite) ------------------------------------


class _ImageList:
    def __init__(self, tensors: Tensor, image_sizes: list[tuple[int, int]]) -> None:
        self.tensors = tensors
        self.image_sizes = image_sizes


class _BoxCoder:
    """torchvision's det_utils.BoxCoder: a plain object, not a module."""

    def __init__(self, weights: tuple[float, float, float, float],
                 bbox_xform_clip: float = math.log(1000.0 / 16)) -> None:
        self.weights = weights
        self.bbox_xform_clip = bbox_xform_clip

    def decode_single(self, rel_codes: Tensor, boxes: Tensor) -> Tensor:
        boxes = boxes.to(rel_codes.dtype)
        widths = boxes[:, 2] - boxes[:, 0]
        heights = boxes[:, 3] - boxes[:, 1]
        ctr_x = boxes[:, 0] + 0.5 * widths
        ctr_y = boxes[:, 1] + 0.5 * heights
        wx, wy, ww, wh = self.weights
        dx = rel_codes[:, 0::4] / wx
        dy = rel_codes[:, 1::4] / wy
        dw = torch.clamp(rel_codes[:, 2::4] / ww, max=self.bbox_xform_clip)
        dh = torch.clamp(rel_codes[:, 3::4] / wh, max=self.bbox_xform_clip)
        pred_ctr_x = dx * widths[:, None] + ctr_x[:, None]
        pred_ctr_y = dy * heights[:, None] + ctr_y[:, None]
        pred_w = torch.exp(dw) * widths[:, None]
        pred_h = torch.exp(dh) * heights[:, None]
        c_to_c_h = torch.tensor(0.5, dtype=pred_ctr_y.dtype, device=pred_h.device) * pred_h
        c_to_c_w = torch.tensor(0.5, dtype=pred_ctr_x.dtype, device=pred_w.device) * pred_w
        pred_boxes1 = pred_ctr_x - c_to_c_w
        pred_boxes2 = pred_ctr_y - c_to_c_h
        pred_boxes3 = pred_ctr_x + c_to_c_w
        pred_boxes4 = pred_ctr_y + c_to_c_h
        return torch.stack((pred_boxes1, pred_boxes2, pred_boxes3, pred_boxes4), dim=2).flatten(1)


def _clip_boxes_to_image(boxes: Tensor, size: tuple[int, int]) -> Tensor:
    dim = boxes.dim()
    boxes_x = boxes[..., 0::2]
    boxes_y = boxes[..., 1::2]
    height, width = size
    boxes_x = boxes_x.clamp(min=0, max=width)
    boxes_y = boxes_y.clamp(min=0, max=height)
    return torch.stack((boxes_x, boxes_y), dim=dim).reshape(boxes.shape)


def _batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """torchvision's coordinate trick; its nms (a C++ operator) is stood in for by a score sort."""
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64, device=boxes.device)
    max_coordinate = boxes.max()
    offsets = idxs.to(boxes) * (max_coordinate + torch.tensor(1).to(boxes))
    boxes_for_nms = boxes + offsets[:, None]
    areas = (boxes_for_nms[:, 2] - boxes_for_nms[:, 0]) * (boxes_for_nms[:, 3] - boxes_for_nms[:, 1])
    return (scores * (areas >= 0) * (iou_threshold > 0)).argsort(descending=True)


def _topk_min(input: Tensor, orig_kval: int, axis: int) -> int:
    if not torch.jit.is_tracing():
        return min(orig_kval, input.size(axis))
    axis_dim_val = torch._shape_as_tensor(input)[axis].unsqueeze(0)
    min_kval = torch.min(torch.cat((torch.tensor([orig_kval], dtype=axis_dim_val.dtype), axis_dim_val), 0))
    return int(min_kval)  # torchvision: _fake_cast_onnx(min_kval)


class _GeneralizedRCNNTransform(nn.Module):
    """GeneralizedRCNNTransform: normalize, resize, batch; ``postprocess`` maps boxes back."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.image_mean = [0.5, 0.5, 0.5]
        self.image_std = [0.5, 0.5, 0.5]

    def forward(self, images: list[Tensor], targets: list[dict[str, Tensor]] | None = None
                ) -> tuple[_ImageList, list[dict[str, Tensor]] | None]:
        images = [img for img in images]
        for i in range(len(images)):
            image = images[i]
            if image.dim() != 3:
                raise ValueError(f"images is expected to be a list of 3d tensors of shape [C, H, W], got {image.shape}")
            image = self.normalize(image)
            image = F.interpolate(image[None], size=[self.size, self.size], mode="bilinear", align_corners=False)[0]
            images[i] = image
        image_sizes = [img.shape[-2:] for img in images]
        batched = torch.stack(images)
        image_sizes_list: list[tuple[int, int]] = []
        for image_size in image_sizes:
            torch._assert(len(image_size) == 2,
                          f"Input tensors expected to have in the last two elements H and W, instead got {image_size}")
            image_sizes_list.append((image_size[0], image_size[1]))
        return _ImageList(batched, image_sizes_list), targets

    def normalize(self, image: Tensor) -> Tensor:
        dtype, device = image.dtype, image.device
        mean = torch.as_tensor(self.image_mean, dtype=dtype, device=device)
        std = torch.as_tensor(self.image_std, dtype=dtype, device=device)
        return (image - mean[:, None, None]) / std[:, None, None]

    def postprocess(self, result: list[dict[str, Tensor]], image_shapes: list[tuple[int, int]],
                    original_image_sizes: list[tuple[int, int]]) -> list[dict[str, Tensor]]:
        if self.training:
            return result
        for i, (pred, im_s, o_im_s) in enumerate(zip(result, image_shapes, original_image_sizes)):
            boxes = pred["boxes"]
            ratio_height = torch.tensor(o_im_s[0], dtype=torch.float32) / torch.tensor(im_s[0], dtype=torch.float32)
            ratio_width = torch.tensor(o_im_s[1], dtype=torch.float32) / torch.tensor(im_s[1], dtype=torch.float32)
            xmin, ymin, xmax, ymax = boxes.unbind(1)
            boxes = torch.stack((xmin * ratio_width, ymin * ratio_height, xmax * ratio_width, ymax * ratio_height),
                                dim=1)
            result[i]["boxes"] = boxes
        return result


class _Backbone(nn.Module):
    """SSDLiteFeatureExtractorMobileNet: two feature stages, then extra blocks, as an OrderedDict."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Sequential(nn.Conv2d(3, width, 3, 2, 1), nn.BatchNorm2d(width), nn.Hardswish()),
            nn.Sequential(nn.Conv2d(width, width, 3, 2, 1), nn.BatchNorm2d(width), nn.Hardswish()),
        )
        self.extra = nn.ModuleList([nn.Sequential(nn.Conv2d(width, width, 3, 2, 1), nn.ReLU6()) for _ in range(2)])

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        output = []
        for block in self.features:
            x = block(x)
            output.append(x)
        for block in self.extra:
            x = block(x)
            output.append(x)
        return OrderedDict([(str(i), v) for i, v in enumerate(output)])


class _ScoringHead(nn.Module):
    """SSDScoringHead: one conv per feature map, chosen by index, results flattened and joined."""

    def __init__(self, module_list: nn.ModuleList, num_columns: int) -> None:
        super().__init__()
        self.module_list = module_list
        self.num_columns = num_columns

    def _get_result_from_module_list(self, x: Tensor, idx: int) -> Tensor:
        num_blocks = len(self.module_list)
        if idx < 0:
            idx += num_blocks
        out = x
        for i, module in enumerate(self.module_list):
            if i == idx:
                out = module(x)
        return out

    def forward(self, x: list[Tensor]) -> Tensor:
        all_results = []
        for i, features in enumerate(x):
            results = self._get_result_from_module_list(features, i)
            n, _, h, w = results.shape
            results = results.view(n, -1, self.num_columns, h, w)
            results = results.permute(0, 3, 4, 1, 2)
            results = results.reshape(n, -1, self.num_columns)
            all_results.append(results)
        return torch.cat(all_results, dim=1)


class _Head(nn.Module):
    def __init__(self, width: int, anchors: int, num_classes: int, maps: int) -> None:
        super().__init__()
        self.classification_head = _ScoringHead(
            nn.ModuleList([nn.Conv2d(width, anchors * num_classes, 3, 1, 1) for _ in range(maps)]), num_classes)
        self.regression_head = _ScoringHead(
            nn.ModuleList([nn.Conv2d(width, anchors * 4, 3, 1, 1) for _ in range(maps)]), 4)

    def forward(self, x: list[Tensor]) -> dict[str, Tensor]:
        return {"bbox_regression": self.regression_head(x), "cls_logits": self.classification_head(x)}


class _DefaultBoxGenerator(nn.Module):
    """torchvision's DefaultBoxGenerator: anchors from the feature maps' sizes, in Python loops."""

    def __init__(self, aspect_ratios: list[list[int]], min_ratio: float = 0.15, max_ratio: float = 0.9) -> None:
        super().__init__()
        self.aspect_ratios = aspect_ratios
        num_outputs = len(aspect_ratios)
        range_ratio = max_ratio - min_ratio
        self.scales = [min_ratio + range_ratio * k / (num_outputs - 1.0) for k in range(num_outputs)] + [1.0]
        self._wh_pairs = self._generate_wh_pairs(num_outputs)

    def _generate_wh_pairs(self, num_outputs: int) -> list[Tensor]:
        _wh_pairs: list[Tensor] = []
        for k in range(num_outputs):
            s_k = self.scales[k]
            s_prime_k = math.sqrt(self.scales[k] * self.scales[k + 1])
            wh_pairs = [[s_k, s_k], [s_prime_k, s_prime_k]]
            for ar in self.aspect_ratios[k]:
                sq_ar = math.sqrt(ar)
                w = self.scales[k] * sq_ar
                h = self.scales[k] / sq_ar
                wh_pairs.extend([[w, h], [h, w]])
            _wh_pairs.append(torch.as_tensor(wh_pairs))
        return _wh_pairs

    def _grid_default_boxes(self, grid_sizes: list[list[int]], image_size: list[int], dtype: torch.dtype) -> Tensor:
        default_boxes = []
        for k, f_k in enumerate(grid_sizes):
            x_f_k, y_f_k = image_size[1] / f_k[1], image_size[0] / f_k[0]
            shifts_x = ((torch.arange(0, f_k[1]) + 0.5) / x_f_k).to(dtype=dtype)
            shifts_y = ((torch.arange(0, f_k[0]) + 0.5) / y_f_k).to(dtype=dtype)
            shift_y, shift_x = torch.meshgrid(shifts_y, shifts_x, indexing="ij")
            shift_x, shift_y = shift_x.reshape(-1), shift_y.reshape(-1)
            shifts = torch.stack((shift_x, shift_y) * len(self._wh_pairs[k]), dim=-1).reshape(-1, 2)
            _wh_pair = self._wh_pairs[k].clamp(min=0, max=1)
            default_box = torch.cat((shifts, _wh_pair.repeat((f_k[0] * f_k[1]), 1)), dim=1)
            default_boxes.append(default_box)
        return torch.cat(default_boxes, dim=0)

    def forward(self, image_list: _ImageList, feature_maps: list[Tensor]) -> list[Tensor]:
        grid_sizes = [list(feature_map.shape[-2:]) for feature_map in feature_maps]
        image_size = list(image_list.tensors.shape[-2:])
        dtype, device = feature_maps[0].dtype, feature_maps[0].device
        default_boxes = self._grid_default_boxes(grid_sizes, image_size, dtype=dtype).to(device)
        dboxes = []
        x_y_size = torch.tensor([image_size[1], image_size[0]], device=default_boxes.device)
        for _ in image_list.image_sizes:
            dboxes_in_image = default_boxes
            dboxes_in_image = torch.cat([
                (dboxes_in_image[:, :2] - 0.5 * dboxes_in_image[:, 2:]) * x_y_size,
                (dboxes_in_image[:, :2] + 0.5 * dboxes_in_image[:, 2:]) * x_y_size], -1)
            dboxes.append(dboxes_in_image)
        return dboxes


class SSDStyle(nn.Module):
    """torchvision's SSD / SSDlite shape: transform, backbone with extra blocks, a head over a list of
    feature maps, anchors, and a postprocess of the model's own with a loop over the classes."""

    def __init__(self, num_classes: int = 5, width: int = 8, size: int = 64) -> None:
        super().__init__()
        self.backbone = _Backbone(width)
        self.anchor_generator = _DefaultBoxGenerator([[2, 3]] * 4)
        self.head = _Head(width, 6, num_classes, 4)
        self.transform = _GeneralizedRCNNTransform(size)
        self.box_coder = _BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
        self.score_thresh = 0.001
        self.nms_thresh = 0.55
        self.detections_per_img = 300
        self.topk_candidates = 300
        self._has_warned = False

    def forward(self, images: list[Tensor], targets: list[dict[str, Tensor]] | None = None
                ) -> list[dict[str, Tensor]]:
        if self.training:  # noqa: SIM102  (torchvision's shape, kept)
            if targets is None:
                torch._assert(False, "targets should not be none when in training mode")
        original_image_sizes: list[tuple[int, int]] = []
        for img in images:
            val = img.shape[-2:]
            torch._assert(len(val) == 2,
                          f"expecting the last two dimensions of the Tensor to be H and W instead got {img.shape[-2:]}")
            original_image_sizes.append((val[0], val[1]))
        image_list, targets = self.transform(images, targets)
        features = self.backbone(image_list.tensors)
        if isinstance(features, torch.Tensor):
            features = OrderedDict([("0", features)])
        feature_list = list(features.values())
        head_outputs = self.head(feature_list)
        anchors = self.anchor_generator(image_list, feature_list)
        detections: list[dict[str, Tensor]] = []
        if self.training:
            raise NotImplementedError("the losses are left out of this mimic")
        detections = self.postprocess_detections(head_outputs, anchors, image_list.image_sizes)
        detections = self.transform.postprocess(detections, image_list.image_sizes, original_image_sizes)
        if torch.jit.is_scripting():  # noqa: SIM102
            if not self._has_warned:
                warnings.warn("SSD always returns a (Losses, Detections) tuple in scripting", stacklevel=2)
                self._has_warned = True
        return detections

    def postprocess_detections(self, head_outputs: dict[str, Tensor], image_anchors: list[Tensor],
                               image_shapes: list[tuple[int, int]]) -> list[dict[str, Tensor]]:
        bbox_regression = head_outputs["bbox_regression"]
        pred_scores = F.softmax(head_outputs["cls_logits"], dim=-1)
        num_classes = pred_scores.size(-1)
        device = pred_scores.device
        detections: list[dict[str, Tensor]] = []
        for boxes, scores, anchors, image_shape in zip(bbox_regression, pred_scores, image_anchors, image_shapes):
            boxes = self.box_coder.decode_single(boxes, anchors)
            boxes = _clip_boxes_to_image(boxes, image_shape)
            image_boxes = []
            image_scores = []
            image_labels = []
            for label in range(1, num_classes):
                score = scores[:, label]
                keep_idxs = score > self.score_thresh
                score = score[keep_idxs]
                box = boxes[keep_idxs]
                num_topk = _topk_min(score, self.topk_candidates, 0)
                score, idxs = score.topk(num_topk)
                box = box[idxs]
                image_boxes.append(box)
                image_scores.append(score)
                image_labels.append(torch.full_like(score, fill_value=label, dtype=torch.int64, device=device))
            image_boxes = torch.cat(image_boxes, dim=0)
            image_scores = torch.cat(image_scores, dim=0)
            image_labels = torch.cat(image_labels, dim=0)
            keep = _batched_nms(image_boxes, image_scores, image_labels, self.nms_thresh)
            keep = keep[: self.detections_per_img]
            detections.append({"boxes": image_boxes[keep], "scores": image_scores[keep], "labels": image_labels[keep]})
        return detections


# --- the cases -----------------------------------------------------------------------------------


def _eval(module: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    return module.eval()


def _seeded() -> torch.Generator:
    return torch.Generator().manual_seed(0)


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
        Case("RaftStyle", lambda: (_eval(RaftStyle()), (torch.randn(1, 3, 4, 4), torch.randn(1, 3, 4, 4)))),
        Case("SSDStyle", lambda: (_eval(SSDStyle()), ([torch.rand(3, 48, 40, generator=_seeded())],)), export=False,
             full_trace=False),
    ]
    if _has_transformers():
        zoo += [Case("BertModel", lambda: _hf("bert"), script=False),
                Case("GPT2Model", lambda: _hf("gpt2"), script=False)]
    return zoo
