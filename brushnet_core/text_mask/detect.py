"""GroundingDINO text -> boxes: caption building, preprocessing, post-processing and NMS."""
from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from .lru import cache_bytes, lru_get, lru_put
from .segment import IMAGENET_MEAN, IMAGENET_STD, image_key, layer_checks

#: token ids GroundingDINO (and transformers' port) treat as phrase delimiters: [CLS] [SEP] "."
CLS_ID, SEP_ID, DOT_ID = 101, 102, 1012


@dataclass
class DinoBundle:
    """A loaded GroundingDINO model plus its tokenizer and input-size settings.

    ``cache`` maps image keys to vision-backbone (Swin) outputs, which do not depend on the
    text; ``backbone_calls`` counts real backbone runs (cache misses). ``outputs`` keeps the raw
    logits and boxes per image and caption, so changing only thresholds or the mode reruns nothing;
    ``model_calls`` counts full model runs.
    """

    model: Any
    tokenizer: Any
    short_side: int = 800
    max_side: int = 1333
    source: str = ""
    variant: str = ""
    cache_size: int = 4
    #: byte limit of each of the two caches (lru.py: BRUSHEDIT_TEXT_MASK_CACHE_MB, default 256 MiB)
    cache_bytes: int = field(default_factory=cache_bytes)
    cache: OrderedDict = field(default_factory=OrderedDict)
    backbone_calls: int = 0
    outputs: OrderedDict = field(default_factory=OrderedDict)
    model_calls: int = 0


@dataclass
class Detection:
    """One detected object on one image: xyxy box in pixels, score, and the phrase it matched."""

    box: tuple[float, float, float, float]
    score: float
    phrase: str


def split_phrases(prompt: str) -> list[str]:
    """"Dog, Cat." / "dog . cat" / one phrase per line -> ["dog", "cat"] (lower-case, de-duplicated)."""
    parts = re.split(r"[,.;\n]+", prompt.lower())
    phrases: list[str] = []
    for part in parts:
        p = " ".join(part.split())
        if p and p not in phrases:
            phrases.append(p)
    return phrases


def encode_caption(tokenizer: Any, phrases: list[str], max_len: int = 256) -> tuple[torch.Tensor, list[tuple[int, int]]]:
    """Token ids for "p1 . p2 . " as GroundingDINO expects, plus each phrase's token span."""
    ids = [CLS_ID]
    spans: list[tuple[int, int]] = []
    for phrase in phrases:
        toks = tokenizer.encode(phrase, add_special_tokens=False)
        if len(ids) + len(toks) + 2 > max_len:
            break
        spans.append((len(ids), len(ids) + len(toks)))
        ids += toks + [DOT_ID]
    ids.append(SEP_ID)
    return torch.tensor([ids], dtype=torch.long), spans


def target_size(h: int, w: int, short_side: int, max_side: int) -> tuple[int, int]:
    """(height, width) after the DETR-style resize: short side to ``short_side``, long side capped."""
    lo, hi = min(h, w), max(h, w)
    size = short_side
    if hi / lo * size > max_side:
        size = int(round(max_side * lo / hi))
    if w < h:
        return int(size * h / w), size
    return size, int(size * w / h)


def input_size(bundle: DinoBundle, image: torch.Tensor, short_side: int | None = None) -> tuple[int, int]:
    """(height, width) the model sees for this HWC image (short side ``short_side`` or the model's)."""
    short = short_side or bundle.short_side
    return target_size(image.shape[0], image.shape[1], short, max(bundle.max_side, short))


def preprocess(
    bundle: DinoBundle, image: torch.Tensor, device: torch.device, dtype: torch.dtype, short_side: int | None = None
) -> torch.Tensor:
    """HWC [0,1] image -> normalised (1,3,h,w) pixel values (short side ``short_side`` or the model's)."""
    h, w = image.shape[:2]
    th, tw = input_size(bundle, image, short_side)
    x = image[..., :3].permute(2, 0, 1).unsqueeze(0).to(device=device, dtype=torch.float32)
    if (th, tw) != (h, w):
        x = F.interpolate(x, size=(th, tw), mode="bilinear", align_corners=False, antialias=True)
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    return ((x.clamp(0, 1) - mean) / std).to(dtype)


class _BackboneWithCache(nn.Module):
    """Stands in for GroundingDINO's vision backbone for one call: the cached features or a real run.

    The model appends to the returned lists, so every call hands out fresh lists.
    """

    def __init__(self, inner: nn.Module, bundle: DinoBundle, key: str) -> None:
        super().__init__()
        self.inner = inner
        self.position_embedding = inner.position_embedding  # the model reads it from the backbone
        self._bundle, self._key = bundle, key

    def forward(self, pixel_values: torch.Tensor, pixel_mask: torch.Tensor) -> tuple[list, list]:
        bundle = self._bundle
        hit = lru_get(bundle.cache, self._key)
        if hit is None:
            features, positions = self.inner(pixel_values, pixel_mask)
            bundle.backbone_calls += 1
            hit = lru_put(bundle.cache, self._key, (tuple(tuple(level) for level in features), tuple(positions)),
                          bundle.cache_size, bundle.cache_bytes)
        features, positions = hit
        return [tuple(level) for level in features], list(positions)


@contextmanager
def backbone_cache(bundle: DinoBundle, key: str) -> Iterator[None]:
    """Within the block the model reuses the Swin features of the image ``key``; restored after."""
    host = getattr(bundle.model, "model", None)
    inner = getattr(host, "backbone", None)
    if inner is None or not hasattr(inner, "position_embedding"):
        yield  # not transformers' GroundingDINO layout: run uncached
        return
    host.backbone = _BackboneWithCache(inner, bundle, key)
    try:
        yield
    finally:
        host.backbone = inner


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise IoU of xyxy boxes (N,4) x (M,4)."""
    area_a = (a[:, 2] - a[:, 0]).clamp(min=0) * (a[:, 3] - a[:, 1]).clamp(min=0)
    area_b = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    return inter / (area_a[:, None] + area_b[None, :] - inter).clamp(min=1e-6)


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices kept by greedy non-maximum suppression, best score first (pure torch)."""
    order = scores.argsort(descending=True)
    keep: list[int] = []
    iou = box_iou(boxes, boxes)
    suppressed = torch.zeros(len(boxes), dtype=torch.bool)
    for i in order.tolist():
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= iou[i] > iou_threshold
    return torch.tensor(keep, dtype=torch.long)


def postprocess(
    logits: torch.Tensor,
    pred_boxes: torch.Tensor,
    spans: list[tuple[int, int]],
    phrases: list[str],
    size_hw: tuple[int, int],
    box_threshold: float,
    text_threshold: float,
    iou_threshold: float = 0.8,
    max_detections: int = 50,
) -> list[Detection]:
    """One image's (Q,T) logits and (Q,4) cxcywh boxes -> detections above both thresholds.

    The box score is the best token probability (as in GroundingDINO); a box is labelled with
    the phrase whose tokens score highest and kept only if that phrase reaches ``text_threshold``.
    Near-duplicate boxes are merged by NMS and at most ``max_detections`` (best first) are kept.
    """
    if not spans:
        return []
    probs = logits.float().sigmoid()
    score = probs.max(dim=-1).values
    phrase_scores = torch.stack([probs[:, s:e].max(dim=-1).values for s, e in spans], dim=-1)
    best_val, best_idx = phrase_scores.max(dim=-1)
    keep = (score > box_threshold) & (best_val > text_threshold)
    if not keep.any():
        return []
    h, w = size_hw
    cx, cy, bw, bh = pred_boxes.float()[keep].unbind(-1)
    boxes = torch.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], dim=-1)
    boxes = (boxes * torch.tensor([w, h, w, h], dtype=boxes.dtype)).clamp(min=0)
    boxes[:, 0::2] = boxes[:, 0::2].clamp(max=w)
    boxes[:, 1::2] = boxes[:, 1::2].clamp(max=h)
    kept_scores, kept_labels = score[keep], best_idx[keep]
    order = nms(boxes, kept_scores, iou_threshold)[:max_detections]
    return [
        Detection(tuple(round(float(v), 2) for v in boxes[i]), round(float(kept_scores[i]), 4), phrases[int(kept_labels[i])])
        for i in order.tolist()
    ]


def detect(
    bundle: DinoBundle,
    image: torch.Tensor,
    phrases: list[str],
    box_threshold: float,
    text_threshold: float,
    device: torch.device,
    dtype: torch.dtype = torch.float32,
    short_side: int | None = None,
    max_detections: int = 50,
    content_key: str | None = None,
    cancel_check: Optional[Callable[[], None]] = None,
) -> list[Detection]:
    """Run GroundingDINO on one HWC image for the given phrases (``short_side`` overrides the input size).

    The text-independent Swin features are cached per image content and input size, so a new
    prompt on the same image runs only the text encoder, the fusion encoder and the decoder; the
    raw outputs are cached per image and caption, so new thresholds rerun only the post-processing
    (``content_key``: the image's ``image_key`` when the caller already has it). ``cancel_check``
    (raises to cancel) is called before the model and before each of its layers.
    """
    max_len = int(getattr(bundle.model.config, "max_text_len", 256))
    input_ids, spans = encode_caption(bundle.tokenizer, phrases, max_len)
    key = f"{content_key or image_key(image)}:{input_size(bundle, image, short_side)}:{device}:{dtype}"
    out_key = f"{key}:{input_ids.tolist()}"
    raw = lru_get(bundle.outputs, out_key)
    if raw is None:
        if cancel_check is not None:
            cancel_check()
        pixels = preprocess(bundle, image, device, dtype, short_side)
        input_ids = input_ids.to(device)
        with torch.inference_mode(), backbone_cache(bundle, key), layer_checks(bundle.model, cancel_check):
            out = bundle.model(
                pixel_values=pixels,
                pixel_mask=torch.ones(pixels.shape[0], *pixels.shape[2:], dtype=torch.long, device=device),
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                token_type_ids=torch.zeros_like(input_ids),
            )
        bundle.model_calls += 1
        raw = lru_put(bundle.outputs, out_key, (out.logits[0].cpu(), out.pred_boxes[0].cpu()), 2 * bundle.cache_size,
                      bundle.cache_bytes)
    logits, boxes = raw
    return postprocess(
        logits, boxes, spans, phrases, tuple(image.shape[:2]), box_threshold, text_threshold,
        max_detections=max_detections,
    )
