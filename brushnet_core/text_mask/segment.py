"""SAM / SAM-HQ / SAM 2 box -> mask with image embeddings cached per image content."""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from .errors import TextMaskError
from .lru import cache_bytes, lru_get, lru_put
from .original import resize_uint8, to_uint8, uint8_to_chw
from .sam_attention import fast_attention

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: SamBundle.resize values
RESIZE_MODES = ("original", "float")


@dataclass
class SamBundle:
    """A loaded SAM-family model plus what is needed to run it.

    ``kind`` is "sam", "sam_hq" or "sam2". ``cache`` maps image keys to encoder outputs;
    ``encoder_calls`` counts real image-encoder runs (cache misses).

    ``resize``: "original" resizes as the original predictors do (SAM / SAM-HQ: the 8-bit image
    through Pillow's bilinear filter, then ``(pixels - mean * 255) / (std * 255)``; SAM 2: the float
    image, antialiased bilinear, as its ``SAM2Transforms``); "float" resizes the float image for every
    kind (no 8-bit rounding: for inputs that are not 8-bit). ``fast_attention`` runs the image
    encoder's attention blockwise (:mod:`.sam_attention`, same results, less time and memory).
    """

    model: Any
    kind: str
    image_size: int = 1024
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    source: str = ""
    variant: str = ""
    cache_size: int = 4
    #: byte limit of the embedding cache (lru.py: BRUSHEDIT_TEXT_MASK_CACHE_MB, default 256 MiB)
    cache_bytes: int = field(default_factory=cache_bytes)
    cache: OrderedDict = field(default_factory=OrderedDict)
    encoder_calls: int = 0
    resize: str = "original"
    fast_attention: bool = True

    @property
    def keeps_aspect(self) -> bool:
        """SAM and SAM-HQ resize the longest side and pad; SAM 2 resizes to a square."""
        return self.kind != "sam2"

    @property
    def resizes_uint8(self) -> bool:
        """True when the image is resized as 8-bit pixels through Pillow (the original SAM / SAM-HQ)."""
        if self.resize not in RESIZE_MODES:
            raise TextMaskError(f"Unknown SAM resize mode {self.resize!r}; choose one of {', '.join(RESIZE_MODES)}.")
        return self.resize == "original" and self.kind != "sam2"


def image_key(image: torch.Tensor) -> str:
    """Content hash of one HWC float image (used as the embedding cache key)."""
    data = (image.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu().contiguous()
    digest = hashlib.sha1(data.numpy().tobytes()).hexdigest()
    return f"{tuple(image.shape)}:{digest}"


@contextmanager
def layer_checks(model: nn.Module, cancel_check: Optional[Callable[[], None]]) -> Iterator[None]:
    """Within the block ``cancel_check`` runs before every layer of ``model`` (each element of its
    ModuleLists: Swin blocks, encoder and decoder layers), so a cancel stops a forward pass that
    takes seconds on CPU between two layers; the check's exception propagates out of the model."""
    if cancel_check is None:
        yield
        return

    def hook(_module: nn.Module, _args: Any) -> None:
        cancel_check()

    handles = [layer.register_forward_pre_hook(hook)
               for group in model.modules() if isinstance(group, nn.ModuleList) for layer in group]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _resized_hw(bundle: SamBundle, h: int, w: int) -> tuple[int, int]:
    if not bundle.keeps_aspect:
        return bundle.image_size, bundle.image_size
    scale = bundle.image_size / max(h, w)
    return int(h * scale + 0.5), int(w * scale + 0.5)


def preprocess(bundle: SamBundle, image: torch.Tensor, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """HWC [0,1] image -> normalised (1,3,S,S) pixel values in the model's input frame (see ``SamBundle.resize``)."""
    h, w = image.shape[:2]
    rh, rw = _resized_hw(bundle, h, w)
    if bundle.resizes_uint8:
        # segment-anything: ResizeLongestSide.apply_image (PIL, uint8), then (x - pixel_mean) / pixel_std
        x = uint8_to_chw(resize_uint8(to_uint8(image), (rh, rw)), device).to(torch.float32)
        mean = (torch.tensor(bundle.mean, dtype=torch.float64) * 255).to(device=device, dtype=torch.float32)
        std = (torch.tensor(bundle.std, dtype=torch.float64) * 255).to(device=device, dtype=torch.float32)
        x = (x - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)
    else:
        x = image[..., :3].permute(2, 0, 1).unsqueeze(0).to(device=device, dtype=torch.float32)
        if (rh, rw) != (h, w):
            x = F.interpolate(x, size=(rh, rw), mode="bilinear", align_corners=False, antialias=True)
        mean = torch.tensor(bundle.mean, device=device).view(1, 3, 1, 1)
        std = torch.tensor(bundle.std, device=device).view(1, 3, 1, 1)
        x = (x.clamp(0, 1) - mean) / std
    s = bundle.image_size
    if (rh, rw) != (s, s):
        x = F.pad(x, (0, s - rw, 0, s - rh))
    return x.to(dtype)


def embed(bundle: SamBundle, image: torch.Tensor, device: torch.device, dtype: torch.dtype,
          content_key: str | None = None, cancel_check: Optional[Callable[[], None]] = None) -> dict[str, Any]:
    """Image-encoder outputs for one image, from the cache when the same pixels were seen before
    (``content_key``: the image's ``image_key`` when the caller already has it; ``cancel_check``
    runs before each encoder layer)."""
    key = f"{content_key or image_key(image)}:{device}:{dtype}:{bundle.resize}"
    hit = lru_get(bundle.cache, key)
    if hit is not None:
        return hit
    pixels = preprocess(bundle, image, device, dtype)
    model = bundle.model
    with torch.inference_mode(), layer_checks(model, cancel_check), fast_attention(model, bundle.fast_attention):
        if bundle.kind == "sam_hq":
            emb, inter = model.get_image_embeddings(pixels)
            out = {"image_embeddings": emb, "intermediate_embeddings": inter}
        else:
            out = {"image_embeddings": model.get_image_embeddings(pixels)}
    bundle.encoder_calls += 1
    return lru_put(bundle.cache, key, out, bundle.cache_size, bundle.cache_bytes)


def boxes_to_masks(
    bundle: SamBundle, image: torch.Tensor, boxes: torch.Tensor, device: torch.device, dtype: torch.dtype,
    content_key: str | None = None, cancel_check: Optional[Callable[[], None]] = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Masks (N,H,W bool, CPU) and predicted IoU scores (N,) for N xyxy pixel boxes on one HWC image.

    ``cancel_check`` (raises to cancel) runs before each model layer and between the image encoder
    and the mask decoder.
    """
    h, w = image.shape[:2]
    if boxes.numel() == 0:
        return torch.zeros((0, h, w), dtype=torch.bool), torch.zeros(0)
    emb = embed(bundle, image, device, dtype, content_key, cancel_check)
    if cancel_check is not None:
        cancel_check()
    rh, rw = _resized_hw(bundle, h, w)
    if bundle.keeps_aspect:  # segment-anything: ResizeLongestSide.apply_boxes_torch
        prompt = boxes.float().cpu() * torch.tensor([rw / w, rh / h, rw / w, rh / h])
    else:  # SAM 2: SAM2Transforms.transform_boxes(normalize=True)
        prompt = boxes.float().cpu() / torch.tensor([w, h, w, h], dtype=torch.float32) * bundle.image_size
    prompt = prompt.unsqueeze(0).to(device=device, dtype=dtype)
    with torch.inference_mode(), layer_checks(bundle.model, cancel_check):
        out = bundle.model(input_boxes=prompt, multimask_output=False, **emb)
    low = out.pred_masks[0, :, 0].float()  # (N, h', w')
    masks = torch.cat([_upscale(bundle, part, (h, w), (rh, rw)) for part in low.split(8)])
    return masks, out.iou_scores[0, :, 0].float().cpu()


def _upscale(bundle: SamBundle, low: torch.Tensor, size: tuple[int, int], resized: tuple[int, int]) -> torch.Tensor:
    """Low-res mask logits (n,h',w') -> (n,H,W) bool masks at image size (chunked by the caller)."""
    s = bundle.image_size
    x = low.unsqueeze(1)
    if bundle.keeps_aspect:
        x = F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False)[..., : resized[0], : resized[1]]
    full = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    return (full[:, 0] > 0.0).cpu()
