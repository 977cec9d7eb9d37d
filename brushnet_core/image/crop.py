"""Crop an image around its mask for inpainting at a fixed working size, and describe the crop.

The crop box always keeps the aspect ratio of the requested ``width`` x ``height``. It is the
requested size itself when the masked area (plus ``padding``) fits in it, otherwise a larger box
of the same aspect, shrunk back to the requested size. A box that would stick out of the image
is clamped to it (the output is then smaller than requested, never distorted or padded).

The crop is described by an *origin* ``[x, y, w, h, W, H, cw, ch]`` per batch item: the box in
the original's pixel coordinates, the original's size and the crop's output size.
:func:`parse_origin` also accepts ``[x, y, w, h(, W, H)]`` and the earlier pack's ``[x, y]``
(box size = the generated image's size).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from .mask_ops import (ImageInputError, as_image_batch, as_mask_batch, broadcast_batch, check_aspect,
                       nonzero_bbox, resize_image, resize_mask)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CropBox:
    """A crop rectangle in the original's pixel coordinates, the original's size and the size
    the crop was resized to (``out_w``/``out_h`` 0 when unknown)."""

    x: int
    y: int
    w: int
    h: int
    full_w: int
    full_h: int
    out_w: int = 0
    out_h: int = 0

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h, self.full_w, self.full_h, self.out_w, self.out_h]


def _box_scale(bbox: tuple[int, int, int, int] | None, size: tuple[int, int],
               target: tuple[int, int], padding: int) -> float:
    """How much larger than ``target`` the box must be to hold the padded ``bbox`` (>= 1)."""
    if bbox is None:
        return 1.0
    (h, w), (tw, th) = size, target
    need_w = min(w, bbox[2] - bbox[0] + 2 * padding)
    need_h = min(h, bbox[3] - bbox[1] + 2 * padding)
    return max(1.0, need_w / tw, need_h / th)


def _place(center: float, length: int, limit: int) -> int:
    """Start of a ``length`` span centred on ``center`` and kept inside ``0..limit``."""
    return int(min(max(round(center - length / 2.0), 0), limit - length))


def plan_crop(bbox: tuple[int, int, int, int] | None, size: tuple[int, int],
              target: tuple[int, int], padding: int = 0,
              scale: float | None = None) -> CropBox:
    """Crop box (with its output size) for one mask.

    ``bbox`` is the mask's ``(x0, y0, x1, y1)`` or None (empty mask: centred crop); ``size`` is
    the image's ``(H, W)``; ``target`` the requested ``(width, height)``; ``scale`` forces a box
    scale (used so every item of a batch gets the same output size).
    """
    h, w = size
    tw, th = target
    if tw < 1 or th < 1:
        raise ImageInputError(f"crop width and height must be >= 1, got {tw}x{th}")
    s = scale if scale is not None else _box_scale(bbox, size, target, padding)
    bw, bh = min(w, round(tw * s)), min(h, round(th * s))
    out_w = tw if bw == round(tw * s) else max(1, round(bw / s))
    out_h = th if bh == round(th * s) else max(1, round(bh / s))
    if bbox is None:
        cx, cy = w / 2.0, h / 2.0
    else:
        cx, cy = (bbox[0] + bbox[2]) / 2.0, (bbox[1] + bbox[3]) / 2.0
    return CropBox(_place(cx, bw, w), _place(cy, bh, h), bw, bh, w, h, out_w, out_h)


def cut_for_inpaint(image: torch.Tensor, mask: torch.Tensor, width: int, height: int,
                    padding: int = 32) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Crop every item around its mask; return ``(images, masks, origin)``.

    ``origin`` is an int64 tensor ``[B, 8]`` of ``[x, y, w, h, W, H, cw, ch]``. All items share
    one box scale (the largest any of them needs), so the crops stack into one batch.
    """
    image = as_image_batch(image)
    mask = as_mask_batch(mask)
    n = max(image.shape[0], mask.shape[0])
    image = broadcast_batch(image, n, "image")
    mask = broadcast_batch(mask, n, "mask")
    h, w = image.shape[1:3]
    if mask.shape[-2:] != (h, w):
        check_aspect(tuple(mask.shape[-2:]), (h, w), "mask")
        log.info("[BrushEdit] CutForInpaint: mask %dx%d resized to the image's %dx%d",
                 mask.shape[-1], mask.shape[-2], w, h)
        mask = resize_mask(mask, h, w)
    if padding < 0:
        raise ImageInputError(f"padding must be >= 0, got {padding}")
    bboxes = [nonzero_bbox(m) for m in mask]
    if all(b is None for b in bboxes):
        log.info("[BrushEdit] CutForInpaint: the mask is empty; cropping the image centre")
    scale = max(_box_scale(b, (h, w), (width, height), padding) for b in bboxes)
    images, masks, origins = [], [], []
    for i, bbox in enumerate(bboxes):
        box = plan_crop(bbox, (h, w), (width, height), padding, scale)
        sl = (slice(i, i + 1), slice(box.y, box.y + box.h), slice(box.x, box.x + box.w))
        images.append(resize_image(image[sl], box.out_h, box.out_w))
        masks.append(resize_mask(mask[sl], box.out_h, box.out_w))
        origins.append(box.as_list())
    return torch.cat(images), torch.cat(masks), torch.tensor(origins, dtype=torch.int64)


def _origin_rows(origin: object) -> list[list[int]]:
    """The origin as a list of integer rows (accepts tensors, lists and tuples)."""
    if isinstance(origin, torch.Tensor):
        rows = origin.reshape(1, -1) if origin.ndim == 1 else origin
        if rows.ndim != 2:
            raise ImageInputError(f"origin must be [x, y, w, h, W, H, cw, ch] per item, got a tensor of "
                                  f"shape {tuple(origin.shape)}")
        return [[int(v) for v in r] for r in rows.tolist()]
    if isinstance(origin, (list, tuple)) and origin:
        if all(isinstance(v, (int, float)) for v in origin):
            return [[int(v) for v in origin]]
        return [r for o in origin for r in _origin_rows(o)]
    raise ImageInputError(f"origin must come from CutForInpaint ([x, y, w, h, ...] per item), got "
                          f"{type(origin).__name__}")


def parse_origin(origin: object, n: int, full_hw: tuple[int, int],
                 generated_hw: tuple[int, int]) -> list[CropBox]:
    """Validate an origin against the original image and return one CropBox per batch item."""
    rows = _origin_rows(origin)
    if len(rows) != n and len(rows) != 1 and not (len(rows) < n and n % len(rows) == 0):
        raise ImageInputError(f"origin holds {len(rows)} crops but the batch has {n} items; connect "
                              f"the origin of the CutForInpaint that made these crops")
    h, w = full_hw
    boxes = []
    for i in range(n):
        r = rows[i % len(rows)]
        if len(r) == 2:  # the earlier pack's [x, y]: the crop was not resized
            r = [r[0], r[1], generated_hw[1], generated_hw[0], w, h]
        if len(r) not in (4, 6, 8):
            raise ImageInputError(f"origin items must be [x, y, w, h, W, H, cw, ch] (or [x, y]), "
                                  f"got {r}")
        if len(r) >= 6 and (r[4], r[5]) != (w, h):
            raise ImageInputError(f"origin was made for a {r[4]}x{r[5]} image but original is {w}x{h}; "
                                  f"connect the same image that went into CutForInpaint")
        box = CropBox(r[0], r[1], r[2], r[3], w, h, *(r[6:8] if len(r) == 8 else (0, 0)))
        # a full row (canvas size checked above) may stick out of the canvas: Crop For Inpaint
        # (BrushEdit) pads a region larger than the canvas allows; it must still overlap it
        inside = (box.x >= 0 and box.y >= 0 and box.x + box.w <= w and box.y + box.h <= h) if len(r) < 8 \
            else (box.x < w and box.y < h and box.x + box.w > 0 and box.y + box.h > 0)
        if box.w < 1 or box.h < 1 or not inside:
            raise ImageInputError(f"origin crop {box.w}x{box.h} at ({box.x}, {box.y}) does not fit "
                                  f"in the {w}x{h} original; connect the image CutForInpaint cropped")
        boxes.append(box)
    return boxes
