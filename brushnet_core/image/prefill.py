"""Pre-fill the masked hole before sampling, so nothing of the removed object is left to copy.

With denoise below 1 the sampler starts from the image it is given: a hole that still shows the
object gives the object (or a blurred ghost of it) back. Filling the hole first with plausible
background removes it. Methods:

- ``neutral``: the mean colour of a band of pixels around the hole;
- ``blur``: the surrounding colours pulled into the hole (a masked, normalised blur done
  coarse-to-fine, each level seeded from the coarser one), then smoothed by repeated masked blurs;
- ``telea`` / ``navier-stokes``: OpenCV's ``cv2.inpaint`` (needs ``opencv-python-headless``);
- ``lama`` / ``mat``: a learned inpainting model (big-lama, MAT) run on a crop around the hole.

Only pixels inside the hole (mask > 0.5) change; every other pixel is returned bit-identical.
"""
from __future__ import annotations

import logging
from typing import Callable

import torch
import torch.nn.functional as F

from .mask_ops import as_image_batch, as_mask_batch, broadcast_batch, check_aspect, expand_bbox, \
    nonzero_bbox, resize_image, resize_mask
from ..errors import BrushEditError

log = logging.getLogger(__name__)

METHODS = ("neutral", "blur", "telea", "navier-stokes", "lama", "mat")
LEARNED = ("lama", "mat")
OPENCV_PACKAGE = "opencv-python-headless"
_OPENCV_RADIUS = 5  # pixels of known neighbourhood cv2.inpaint looks at
_SMOOTH_ITERATIONS = 8  # masked blur passes after the coarse-to-fine fill
_NEUTRAL_BAND = 16  # minimum band (pixels) whose mean colour fills the hole

#: ``model(image [1,3,h,w], mask [1,1,h,w]) -> [1,3,h,w]`` plus its working size rule
InpaintModel = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class PrefillError(BrushEditError, ValueError):
    """A pre-fill request that cannot run, with the fix in the message."""


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise PrefillError(f"unknown pre-fill method {method!r}; use one of {', '.join(METHODS)}")


# ----------------------------------------------------------------------------- neutral
def fill_neutral(image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """``[H, W, C]`` filled with the mean colour of the known pixels around the hole."""
    from .color import band_distance

    bbox = nonzero_bbox(hole.float())
    band = _NEUTRAL_BAND if bbox is None else max(_NEUTRAL_BAND, (bbox[2] - bbox[0] + bbox[3] - bbox[1]) // 8)
    found = band_distance(hole, band)
    if found is None:
        return image.clone()
    dist, (x0, y0, x1, y1) = found
    ring = (dist > 0) & (dist <= band)
    known = image[y0:y1, x0:x1][ring] if bool(ring.any()) else image[~hole]
    colour = known.float().mean(0) if known.numel() else torch.full((image.shape[-1],), 0.5, device=image.device)
    return torch.where(hole[..., None], colour.to(image.dtype).expand_as(image), image)


# ----------------------------------------------------------------------------- blur
def _masked_blur(x: torch.Tensor, known: torch.Tensor, radius: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised box blur of ``[1, C, H, W]`` over the known pixels: (colour, weight)."""
    k = 2 * radius + 1
    num = F.avg_pool2d(F.pad(x * known, (radius,) * 4, mode="replicate"), k, stride=1)
    den = F.avg_pool2d(F.pad(known, (radius,) * 4, mode="replicate"), k, stride=1)
    return num / den.clamp_min(1e-8), den


def _fill_level(x: torch.Tensor, known: torch.Tensor, coarse: torch.Tensor | None) -> torch.Tensor:
    """Fill one pyramid level: seed the hole from the coarser level (or grow in from the border),
    then smooth it with repeated masked blurs, the known pixels held fixed."""
    hole = known < 0.5
    if coarse is not None:
        seed = F.interpolate(coarse, size=x.shape[-2:], mode="bilinear", align_corners=False)
        x = torch.where(hole, seed, x)
    else:  # coarsest level: grow the known area ring by ring
        filled = known.clone()
        while bool((filled < 0.5).any()):
            colour, weight = _masked_blur(x, filled)
            ring = (filled < 0.5) & (weight > 0)
            if not bool(ring.any()):
                break
            x = torch.where(ring, colour, x)
            filled = torch.where(ring, torch.ones_like(filled), filled)
    for _ in range(_SMOOTH_ITERATIONS):
        smooth = F.avg_pool2d(F.pad(x, (1,) * 4, mode="replicate"), 3, stride=1)
        x = torch.where(hole, smooth, x)
    return x


def fill_blur(image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """``[H, W, C]`` with the hole filled from its border: coarse-to-fine masked blur."""
    if not bool((~hole).any()):
        return torch.full_like(image, 0.5)
    bbox = nonzero_bbox(hole.float())
    h, w = hole.shape
    x0, y0, x1, y1 = expand_bbox(bbox, max(16, max(bbox[2] - bbox[0], bbox[3] - bbox[1]) // 2), h, w)
    if not bool((~hole[y0:y1, x0:x1]).any()):  # the hole fills its window: use the whole image
        x0, y0, x1, y1 = 0, 0, w, h
    out = image.clone()
    out[y0:y1, x0:x1] = _fill_window(image[y0:y1, x0:x1], hole[y0:y1, x0:x1])
    return out


def _fill_window(image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    x = image.float().permute(2, 0, 1)[None]
    known = (~hole).float()[None, None]
    levels = [(x, known)]
    while min(levels[-1][0].shape[-2:]) > 8 and bool((levels[-1][1] < 0.5).any()):
        lx, lk = levels[-1]
        w = F.avg_pool2d(lk, 2, ceil_mode=True)
        c = F.avg_pool2d(lx * lk, 2, ceil_mode=True) / w.clamp_min(1e-8)
        levels.append((c, (w > 0).float()))
    filled = None
    for lx, lk in reversed(levels):
        filled = _fill_level(lx, lk, filled)
    out = filled[0].permute(1, 2, 0).to(image.dtype)
    return torch.where(hole[..., None], out, image)


# ----------------------------------------------------------------------------- OpenCV
def import_cv2():
    try:
        import cv2
    except ImportError:
        raise PrefillError(f"the telea and navier-stokes pre-fills use OpenCV, which is not installed: "
                           f"pip install {OPENCV_PACKAGE} (in ComfyUI's Python), or choose the blur, "
                           f"neutral, lama or mat method") from None
    return cv2


def fill_opencv(image: torch.Tensor, hole: torch.Tensor, method: str) -> torch.Tensor:
    """``[H, W, C]`` filled by OpenCV's Telea or Navier-Stokes inpainting (8-bit, on a crop
    around the hole); only hole pixels change."""
    cv2 = import_cv2()
    bbox = nonzero_bbox(hole.float())
    if bbox is None:
        return image.clone()
    h, w = hole.shape
    x0, y0, x1, y1 = expand_bbox(bbox, 4 * _OPENCV_RADIUS, h, w)
    crop = image[y0:y1, x0:x1, :3].float().clamp(0, 1).mul(255).round().to(torch.uint8).cpu().numpy()
    mask = hole[y0:y1, x0:x1].to(torch.uint8).mul(255).cpu().numpy()
    flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
    filled = torch.from_numpy(cv2.inpaint(crop, mask, _OPENCV_RADIUS, flag)).to(image.device)
    out = image.clone()
    region = out[y0:y1, x0:x1]
    colours = filled.to(image.dtype) / 255.0
    region[..., :3] = torch.where(hole[y0:y1, x0:x1, None], colours, region[..., :3])
    return out


# ----------------------------------------------------------------------------- learned models
def working_size(box_hw: tuple[int, int], size: int, square: bool, multiple: int) -> tuple[int, int]:
    """The model's input size for a ``box_hw`` crop: ``size`` x ``size`` when it must be square,
    else the crop's own size with the long side at most ``size``, each side a multiple of
    ``multiple`` (a small crop is not magnified: LaMa works at any resolution)."""
    if square:
        return size, size
    bh, bw = box_hw
    s = min(1.0, size / max(bh, bw))
    return (max(multiple, round(bh * s / multiple) * multiple), max(multiple, round(bw * s / multiple) * multiple))


def fill_with_model(image: torch.Tensor, hole: torch.Tensor, model: InpaintModel, size: int = 512,
                    square: bool = False, multiple: int = 8, context: float = 0.5) -> torch.Tensor:
    """``[H, W, C]`` filled by an inpainting model run on a crop around the hole.

    The crop is the hole's bounding box grown by ``context`` of its size on each side (at least
    32 px), resized to the model's working size, filled, resized back; only hole pixels are used.
    """
    bbox = nonzero_bbox(hole.float())
    if bbox is None:
        return image.clone()
    h, w = hole.shape
    pad = max(32, round(context * max(bbox[2] - bbox[0], bbox[3] - bbox[1])))
    x0, y0, x1, y1 = expand_bbox(bbox, pad, h, w)
    if square:  # grow the short side towards a square box, inside the image
        side = min(max(x1 - x0, y1 - y0), w, h)
        if x1 - x0 < side:
            x0 = min(max((x0 + x1) // 2 - side // 2, 0), w - side)
            x1 = x0 + side
        if y1 - y0 < side:
            y0 = min(max((y0 + y1) // 2 - side // 2, 0), h - side)
            y1 = y0 + side
    crop = image[y0:y1, x0:x1, :3].float()[None]
    crop_hole = hole[y0:y1, x0:x1].float()[None]
    mh, mw = working_size((y1 - y0, x1 - x0), size, square, multiple)
    x = resize_image(crop, mh, mw).movedim(-1, 1).clamp(0.0, 1.0)
    m = (resize_mask(crop_hole, mh, mw) > 0).float()[:, None]  # any touched pixel is filled
    with torch.no_grad():
        y = model(x, m)
    y = y.float().clamp(0.0, 1.0).movedim(1, -1)
    back = resize_image(y, y1 - y0, x1 - x0)[0].to(image.device, image.dtype)
    out = image.clone()
    region = out[y0:y1, x0:x1]
    region[..., :3] = torch.where(hole[y0:y1, x0:x1, None], back, region[..., :3])
    return out


# ----------------------------------------------------------------------------- entry point
def prefill(image: torch.Tensor, mask: torch.Tensor, method: str, model: InpaintModel | None = None,
            model_size: int = 512, model_square: bool = False, model_multiple: int = 8,
            progress: Callable[[], None] | None = None) -> torch.Tensor:
    """Fill the hole (mask > 0.5) of every image of the batch with ``method``.

    Image ``[B, H, W, C]``, mask ``[B, H, W]`` (or one of them a single item). A mask of another
    size but the same aspect is resized. Returns ``[N, H, W, C]``.
    """
    _check_method(method)
    if method in LEARNED and model is None:
        raise PrefillError(f"the {method} pre-fill needs its model: connect an Inpaint Model Loader "
                           f"(BrushEdit) with the {'big-lama' if method == 'lama' else 'MAT'} file")
    if method in ("telea", "navier-stokes"):
        import_cv2()
    image = as_image_batch(image)
    mask = as_mask_batch(mask)
    n = max(image.shape[0], mask.shape[0])
    image, mask = broadcast_batch(image, n, "image"), broadcast_batch(mask, n, "mask")
    h, w = image.shape[1:3]
    if mask.shape[-2:] != (h, w):
        check_aspect(tuple(mask.shape[-2:]), (h, w), "mask")
        log.info("[BrushEdit] Pre-fill: mask %dx%d resized to the image's %dx%d", mask.shape[-1],
                 mask.shape[-2], w, h)
        mask = resize_mask(mask, h, w)
    holes = mask.to(image.device) > 0.5
    out = []
    for i in range(n):
        img, hole = image[i], holes[i]
        if not bool(hole.any()):
            log.info("[BrushEdit] Pre-fill: mask %d is empty; image returned unchanged", i)
            out.append(img.clone())
        elif method == "neutral":
            out.append(fill_neutral(img, hole))
        elif method == "blur":
            out.append(fill_blur(img, hole))
        elif method in ("telea", "navier-stokes"):
            out.append(fill_opencv(img, hole, method))
        else:
            out.append(fill_with_model(img, hole, model, model_size, model_square, model_multiple))
        if progress is not None:
            progress()
    return torch.stack(out)
