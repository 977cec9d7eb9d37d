"""GroundingDINO text -> boxes: caption building, preprocessing, post-processing and NMS.

The defaults follow the original pipeline (IDEA-Research ``groundingdino/util/inference.py`` and
Grounded-SAM's ``get_grounding_output``): the caption is the prompt lower-cased with a final ".";
the image is resized as 8-bit pixels through Pillow (short side 800, long side at most 1333);
``box_threshold`` alone decides which boxes exist (best token probability above it);
``text_threshold`` only picks each box's label (the caption tokens whose probability is above it);
boxes go to SAM as they are (no clamping, no NMS, no cap); reference boxes are un-sigmoided with the
original's eps. Every deviation is a field of :class:`DetectOptions` (off by default)."""
from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from .deformable import fast_deformable_attention
from .errors import TextMaskError
from .lru import cache_bytes, lru_get, lru_put
from .original import ORIGINAL_REFERENCE_EPS, reference_eps, resize_uint8, to_uint8, uint8_to_chw
from .segment import IMAGENET_MEAN, IMAGENET_STD, image_key, layer_checks

#: token ids GroundingDINO (and transformers' port) treat as phrase delimiters: [CLS] [SEP] "." "?"
CLS_ID, SEP_ID, DOT_ID, QUESTION_ID = 101, 102, 1012, 1029
SPECIAL_IDS = (CLS_ID, SEP_ID, DOT_ID, QUESTION_ID)
#: DetectOptions.resize values
RESIZE_MODES = ("original", "float")


@dataclass(frozen=True)
class DetectOptions:
    """How text becomes boxes. The defaults are the original pipeline's; each field is a deviation.

    * ``split_phrases``: commas, semicolons and new lines separate objects too ("dog, cat" becomes
      the caption "dog . cat ."), and repeated phrases are dropped. The original keeps the prompt as
      typed, so "dog, cat" is one sub-sentence there.
    * ``text_threshold_drops_boxes``: a box is also dropped when no phrase of the prompt reaches
      ``text_threshold`` (best token of the phrase). The original uses ``text_threshold`` for labels only.
    * ``clamp_boxes``: clamp boxes to the image before SAM (the original passes boxes that cross the
      border as they are, which changes SAM's mask of objects cut by the border).
    * ``nms_iou``: greedy non-maximum suppression at this IoU (1.0: off, the original).
    * ``max_objects``: keep at most this many best-scoring boxes (0: all, the original).
    * ``reference_eps``: eps of the un-sigmoid of reference boxes (1e-3: the original;
      ``None``: transformers' ``logit(x, eps=1e-5)``).
    * ``resize``: "original" (8-bit pixels, Pillow bilinear) or "float" (antialiased bilinear on the
      float image: no 8-bit rounding, for images that are not 8-bit).
    """

    split_phrases: bool = False
    text_threshold_drops_boxes: bool = False
    clamp_boxes: bool = False
    nms_iou: float = 1.0
    max_objects: int = 0
    reference_eps: Optional[float] = ORIGINAL_REFERENCE_EPS
    resize: str = "original"

    def __post_init__(self) -> None:
        if self.resize not in RESIZE_MODES:
            raise TextMaskError(f"Unknown resize mode {self.resize!r}; choose one of {', '.join(RESIZE_MODES)}.")
        if not 0.0 <= self.nms_iou <= 1.0:
            raise TextMaskError(f"nms_iou must be between 0 and 1 (1 = off), got {self.nms_iou}.")
        if self.max_objects < 0:
            raise TextMaskError(f"max_objects must be 0 (all) or more, got {self.max_objects}.")


@dataclass
class Caption:
    """The text GroundingDINO reads: token ids, and the token span and text of each sub-sentence."""

    text: str
    input_ids: list[int]
    spans: list[tuple[int, int]]
    phrases: list[str]


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
    #: on the CPU, deformable attention weights each level's samples in place (:mod:`.deformable`)
    fast_deformable: bool = True


@dataclass
class Detection:
    """One detected object on one image.

    ``box``: xyxy in pixels (full float precision, as SAM gets it; may cross the image border);
    ``score``: the best token probability; ``phrase``: the original's label (the caption tokens whose
    probability is above ``text_threshold``, decoded, "." removed; empty when none is);
    ``best_phrase``: the prompt's sub-sentence whose best token scores highest.
    """

    box: tuple[float, float, float, float]
    score: float
    phrase: str
    best_phrase: str = ""


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


def original_caption(prompt: str) -> str:
    """The original's caption: lower-cased, stripped, ending with "." (``preprocess_caption``)."""
    text = prompt.lower().strip()
    return text if text.endswith(".") else text + "."


def _sub_sentences(ids: list[int]) -> list[tuple[int, int]]:
    """Token spans between GroundingDINO's special tokens ([CLS] [SEP] "." "?"), empty ones left out."""
    spans, start = [], None
    for i, tok in enumerate(ids):
        if tok in SPECIAL_IDS:
            if start is not None and i > start:
                spans.append((start, i))
            start = i + 1
    if start is not None and start < len(ids):
        spans.append((start, len(ids)))
    return spans


def build_caption(tokenizer: Any, prompt: str | list[str] | Caption, split: bool = False,
                  max_len: int = 256) -> Caption:
    """The caption for ``prompt``: the original's (a string, ``split`` False), or phrases joined with
    " . " (a list of phrases, or a string split with :func:`split_phrases`). Token ids are cut at
    ``max_len`` as the original model does."""
    if isinstance(prompt, Caption):
        return prompt
    if isinstance(prompt, str) and not split:
        text = original_caption(prompt)
        ids = [int(t) for t in tokenizer(text)["input_ids"]][:max_len]
        spans = _sub_sentences(ids)
        names = [" ".join(p.split()) for p in re.split(r"[.?]", text) if p.strip()]
        if len(names) != len(spans):
            names = [tokenizer.decode(ids[a:b]).strip() for a, b in spans]
        return Caption(text, ids, spans, names)
    phrases = split_phrases(prompt) if isinstance(prompt, str) else list(prompt)
    ids_t, spans = encode_caption(tokenizer, phrases, max_len)
    return Caption(" . ".join(phrases[: len(spans)]) + " .", ids_t[0].tolist(), spans, phrases[: len(spans)])


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
    bundle: DinoBundle, image: torch.Tensor, device: torch.device, dtype: torch.dtype, short_side: int | None = None,
    resize: str = "original",
) -> torch.Tensor:
    """HWC [0,1] image -> normalised (1,3,h,w) pixel values (short side ``short_side`` or the model's).

    ``resize`` "original": as GroundingDINO's ``load_image`` (the 8-bit image resized by Pillow's
    bilinear filter, ``ToTensor``, ``Normalize``); "float": antialiased bilinear on the float image.
    """
    if resize not in RESIZE_MODES:
        raise TextMaskError(f"Unknown resize mode {resize!r}; choose one of {', '.join(RESIZE_MODES)}.")
    h, w = image.shape[:2]
    th, tw = input_size(bundle, image, short_side)
    if resize == "original":
        x = uint8_to_chw(resize_uint8(to_uint8(image), (th, tw)), device).to(torch.float32).div(255)
    else:
        x = image[..., :3].permute(2, 0, 1).unsqueeze(0).to(device=device, dtype=torch.float32)
        if (th, tw) != (h, w):
            x = F.interpolate(x, size=(th, tw), mode="bilinear", align_corners=False, antialias=True)
        x = x.clamp(0, 1)
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    return ((x - mean) / std).to(dtype)


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


def _label(probs: torch.Tensor, ids: list[int], text_threshold: float, decode: Callable[[list[int]], str]) -> str:
    """The original's label of one box: caption tokens above ``text_threshold`` ([CLS] and positions
    from 255 on excluded, as ``get_phrases_from_posmap``), decoded, "." removed."""
    above = (probs > text_threshold).nonzero().flatten().tolist()
    tokens = [ids[i] for i in above if 0 < i < 255 and i < len(ids)]
    return decode(tokens).replace(".", "") if tokens else ""


def postprocess(
    logits: torch.Tensor,
    pred_boxes: torch.Tensor,
    caption: Caption,
    size_hw: tuple[int, int],
    box_threshold: float,
    text_threshold: float,
    options: DetectOptions = DetectOptions(),
    decode: Optional[Callable[[list[int]], str]] = None,
) -> list[Detection]:
    """One image's (Q,T) logits and (Q,4) cxcywh boxes -> detections, in query order.

    As the original: a box exists when its best token probability is above ``box_threshold``; its
    label is the tokens above ``text_threshold`` (``decode``: the tokenizer's); the pixel box is
    ``cxcywh * (W, H, W, H)`` with ``xy -= wh / 2; wh += xy`` (Grounded-SAM). ``options`` adds the
    deviations (phrase filter, clamping, NMS, cap) in that order.
    """
    probs = logits.float().sigmoid()
    score = probs.max(dim=-1).values
    keep = score > box_threshold
    best_val = best_idx = None
    if caption.spans:
        phrase_scores = torch.stack([probs[:, a:b].max(dim=-1).values for a, b in caption.spans], dim=-1)
        best_val, best_idx = phrase_scores.max(dim=-1)
        if options.text_threshold_drops_boxes:
            keep &= best_val > text_threshold
    elif options.text_threshold_drops_boxes:
        return []
    idx = keep.nonzero().flatten()
    if idx.numel() == 0:
        return []
    h, w = size_hw
    boxes = pred_boxes.float()[idx] * torch.tensor([w, h, w, h], dtype=torch.float32)
    boxes[:, :2] -= boxes[:, 2:] / 2
    boxes[:, 2:] += boxes[:, :2]
    if options.clamp_boxes:
        boxes[:, 0::2] = boxes[:, 0::2].clamp(min=0, max=w)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(min=0, max=h)
    chosen = torch.arange(len(idx))
    if options.nms_iou < 1.0:
        chosen = nms(boxes, score[idx], options.nms_iou).sort().values
    if options.max_objects and len(chosen) > options.max_objects:
        best = score[idx][chosen].argsort(descending=True, stable=True)[: options.max_objects]
        chosen = chosen[best].sort().values
    if decode is None:
        decode = lambda toks: " ".join(str(t) for t in toks)  # noqa: E731 - no tokenizer: ids as text
    out = []
    for k in chosen.tolist():
        q = int(idx[k])
        best = caption.phrases[int(best_idx[q])] if best_idx is not None else ""
        out.append(Detection(tuple(float(v) for v in boxes[k]), float(score[q]),
                             _label(probs[q], caption.input_ids, text_threshold, decode), best))
    return out


def detect(
    bundle: DinoBundle,
    image: torch.Tensor,
    prompt: str | list[str] | Caption,
    box_threshold: float,
    text_threshold: float,
    device: torch.device,
    dtype: torch.dtype = torch.float32,
    short_side: int | None = None,
    max_detections: int | None = None,
    content_key: str | None = None,
    cancel_check: Optional[Callable[[], None]] = None,
    options: DetectOptions = DetectOptions(),
) -> list[Detection]:
    """Run GroundingDINO on one HWC image for ``prompt`` (``short_side`` overrides the input size).

    ``prompt``: the text (caption built as the original, or split per ``options.split_phrases``), a
    list of phrases (joined with " . ") or a :class:`Caption`. ``max_detections`` overrides
    ``options.max_objects``.

    The text-independent Swin features are cached per image content and input size, so a new
    prompt on the same image runs only the text encoder, the fusion encoder and the decoder; the
    raw outputs are cached per image and caption, so new thresholds rerun only the post-processing
    (``content_key``: the image's ``image_key`` when the caller already has it). ``cancel_check``
    (raises to cancel) is called before the model and before each of its layers.
    """
    if max_detections is not None:
        options = replace(options, max_objects=max_detections)
    max_len = int(getattr(bundle.model.config, "max_text_len", 256))
    caption = build_caption(bundle.tokenizer, prompt, options.split_phrases, max_len)
    input_ids = torch.tensor([caption.input_ids], dtype=torch.long)
    key = f"{content_key or image_key(image)}:{input_size(bundle, image, short_side)}:{device}:{dtype}:{options.resize}"
    out_key = f"{key}:{caption.input_ids}:{options.reference_eps}"
    raw = lru_get(bundle.outputs, out_key)
    if raw is None:
        if cancel_check is not None:
            cancel_check()
        pixels = preprocess(bundle, image, device, dtype, short_side, options.resize)
        input_ids = input_ids.to(device)
        with torch.inference_mode(), backbone_cache(bundle, key), layer_checks(bundle.model, cancel_check), \
                reference_eps(bundle.model, options.reference_eps), \
                fast_deformable_attention(bundle.model, bundle.fast_deformable):
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
    return postprocess(logits, boxes, caption, tuple(image.shape[:2]), box_threshold, text_threshold, options,
                       decode=bundle.tokenizer.decode)
