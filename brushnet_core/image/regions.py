"""Crops at the model's native size around one or many masked regions, and the canvas for them.

A crop box has the aspect of the requested ``width`` x ``height`` (the model's native size,
rounded up to ``multiple``) and holds the region's bounding box grown by ``context``. Small
regions are scaled UP to the native size (at most ``max_upscale`` times: below that the box
takes more context instead), large ones down. The box is moved inside the canvas; only when the
region itself is larger than the canvas allows does it stick out, and the crop is then padded
(edge pixels, mask 0). The canvas can first be extended for outpainting (new area: mask 1).

Every crop is described by an origin row ``[x, y, w, h, W, H, cw, ch]`` (box in canvas pixels,
canvas size, crop size) that BlendInpaint and the stitch paste back with.

Regions: the connected parts of the mask; parts closer than ``merge_distance`` pixels (or
overlapping) form one region. Above ``max_regions`` the distance is doubled until they fit.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .crop import CropBox
from .mask_ops import (ImageInputError, as_image_batch, as_mask_batch, broadcast_batch, check_aspect, nonzero_bbox,
                       resize_image, resize_mask)

log = logging.getLogger(__name__)

MIN_BOX_SIDE = 32  # a crop box is at least this many canvas pixels on its short side (if the canvas is)
MODES = ("one", "each")


@dataclass
class RegionCrops:
    images: torch.Tensor  # [N, height, width, C]
    masks: torch.Tensor  # [N, height, width]
    origin: torch.Tensor  # [N, 8] int64
    canvas: torch.Tensor  # [B, H', W', C] (the image, extended for outpainting)
    canvas_mask: torch.Tensor  # [B, H', W']


def round_up(value: int, multiple: int) -> int:
    return max(multiple, -(-int(value) // multiple) * multiple)


# ----------------------------------------------------------------------------- canvas
def extend_canvas(image: torch.Tensor, mask: torch.Tensor, left: int, top: int, right: int,
                  bottom: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad ``[B, H, W, C]`` / ``[B, H, W]`` for outpainting: new pixels repeat the edge, mask 1."""
    if min(left, top, right, bottom) < 0:
        raise ImageInputError(f"outpaint extensions must be >= 0 pixels, got left {left}, top {top}, right {right}, "
                              f"bottom {bottom}")
    if not (left or top or right or bottom):
        return image, mask
    pad = (left, right, top, bottom)
    canvas = F.pad(image.movedim(-1, 1).float(), pad, mode="replicate").movedim(1, -1).to(image.dtype)
    canvas_mask = F.pad(mask.float(), pad, mode="constant", value=1.0)
    return canvas, canvas_mask


# ----------------------------------------------------------------------------- regions
def label_regions(hole: torch.Tensor, merge_distance: float) -> tuple[torch.Tensor, int]:
    """Label the mask's regions (8-connected; parts within ``merge_distance`` px merged)."""
    from scipy.ndimage import distance_transform_edt, label

    m = hole.cpu().numpy()
    near = distance_transform_edt(~m) <= merge_distance / 2.0 if merge_distance > 0 else m
    labels, count = label(near, structure=[[1, 1, 1], [1, 1, 1], [1, 1, 1]])
    labels[~m] = 0
    return torch.from_numpy(labels), int(count)


def split_regions(hole: torch.Tensor, merge_distance: float,
                  max_regions: int) -> tuple[torch.Tensor, list[tuple[int, tuple[int, int, int, int]]]]:
    """Label the regions of ``hole`` ``[H, W]``: ``(labels [H, W] int, [(label, bbox), ...])``,
    the regions ordered top-to-bottom then left-to-right."""
    from scipy.ndimage import find_objects

    if max_regions < 1:
        raise ImageInputError(f"max_regions must be >= 1, got {max_regions}")
    labels = torch.zeros(hole.shape, dtype=torch.int64)
    bbox = nonzero_bbox(hole.float())
    if bbox is None:
        return labels, []
    x0, y0, x1, y1 = bbox
    window = hole[y0:y1, x0:x1]
    distance = float(merge_distance)
    local, count = label_regions(window, distance)
    first = count
    while count > max_regions:
        distance = max(2.0 * distance, 16.0)
        local, count = label_regions(window, distance)
    if count != first:
        log.warning("[BrushEdit] %d mask regions are more than max_regions=%d: regions closer than %d px were "
                    "merged into %d", first, max_regions, round(distance), count)
    labels[y0:y1, x0:x1] = local
    found = []
    for k, sl in enumerate(find_objects(local.numpy()), start=1):
        if sl is not None:
            found.append((k, (x0 + sl[1].start, y0 + sl[0].start, x0 + sl[1].stop, y0 + sl[0].stop)))
    found.sort(key=lambda item: (item[1][1], item[1][0]))
    return labels.to(hole.device), found


# ----------------------------------------------------------------------------- boxes
def plan_box(bbox: tuple[int, int, int, int] | None, canvas_hw: tuple[int, int], out_wh: tuple[int, int],
             context: float = 1.5, max_upscale: float = 4.0) -> CropBox:
    """The crop box (aspect of ``out_wh``) for a region's ``bbox`` on a canvas of ``canvas_hw``."""
    if context < 1.0:
        raise ImageInputError(f"context must be >= 1 (1 = the region's bounding box only), got {context}")
    if max_upscale < 1.0:
        raise ImageInputError(f"max_upscale must be >= 1, got {max_upscale}")
    ch, cw = canvas_hw
    ow, oh = out_wh
    aspect = ow / oh
    fit_w = min(cw, ch * aspect)  # the largest box of this aspect inside the canvas
    if bbox is None:  # empty mask: a centred box at the native scale (or as large as fits)
        bbox = (cw // 2, ch // 2, cw // 2 + 1, ch // 2 + 1)
        tight_w, want_w = 1.0, float(ow)
    else:
        bw0, bh0 = bbox[2] - bbox[0], bbox[3] - bbox[1]
        tight_w = max(bw0, bh0 * aspect)  # the smallest box holding the region
        want_w = max(tight_w * context, ow / max_upscale)
    want_w = max(want_w, MIN_BOX_SIDE * max(aspect, 1.0))
    box_w = max(tight_w, min(want_w, fit_w))
    bh = max(1, round(box_w / aspect), bbox[3] - bbox[1])
    bw = max(1, round(bh * aspect), bbox[2] - bbox[0])
    bw = cw if bbox[2] - bbox[0] <= cw < bw <= cw + 1 else bw  # no 1-pixel overhang from rounding
    bh = ch if bbox[3] - bbox[1] <= ch < bh <= ch + 1 else bh
    cx, cy = (bbox[0] + bbox[2]) / 2.0, (bbox[1] + bbox[3]) / 2.0
    x = _place(cx, bw, cw, bbox[0], bbox[2])
    y = _place(cy, bh, ch, bbox[1], bbox[3])
    return CropBox(x, y, bw, bh, cw, ch, ow, oh)


def _place(center: float, length: int, limit: int, lo: int, hi: int) -> int:
    """Start of a ``length`` span around ``center`` inside ``0..limit`` if it fits; otherwise the
    span holds ``lo..hi`` and sticks out evenly."""
    if length <= limit:
        return int(min(max(round(center - length / 2.0), 0), limit - length))
    start = round(center - length / 2.0)
    return int(min(max(start, hi - length), lo))


def extract(image: torch.Tensor, box: CropBox, fill: str | float) -> torch.Tensor:
    """``[1, H, W, C]`` or ``[1, H, W]`` pixels of ``box``; outside the canvas: edge pixels
    (``fill='replicate'``) or a constant."""
    is_mask = image.ndim == 3
    x = image[..., None] if is_mask else image
    h, w = x.shape[1:3]
    left, top = max(0, -box.x), max(0, -box.y)
    right, bottom = max(0, box.x + box.w - w), max(0, box.y + box.h - h)
    inner = x[:, max(0, box.y):min(h, box.y + box.h), max(0, box.x):min(w, box.x + box.w)]
    if left or top or right or bottom:
        t = inner.movedim(-1, 1).float()
        t = F.pad(t, (left, right, top, bottom), mode="replicate") if fill == "replicate" else \
            F.pad(t, (left, right, top, bottom), mode="constant", value=float(fill))
        inner = t.movedim(1, -1).to(x.dtype)
    return inner[..., 0] if is_mask else inner


# ----------------------------------------------------------------------------- entry point
def crop_regions(image: torch.Tensor, mask: torch.Tensor, width: int, height: int, mode: str = "one",
                 context: float = 1.5, max_upscale: float = 4.0, multiple: int = 8, merge_distance: int = 32,
                 max_regions: int = 16, extend: tuple[int, int, int, int] = (0, 0, 0, 0)) -> RegionCrops:
    """Crops of ``width`` x ``height`` (rounded up to ``multiple``) for inpainting.

    ``mode='one'``: one crop per image holding all of its mask (several masks for one image are
    united). ``mode='each'``: one crop per region of one image's mask. ``extend`` =
    ``(left, top, right, bottom)`` pixels added to the canvas for outpainting.
    """
    if mode not in MODES:
        raise ImageInputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if multiple < 1:
        raise ImageInputError(f"multiple must be >= 1, got {multiple}")
    out_w, out_h = round_up(width, multiple), round_up(height, multiple)
    if (out_w, out_h) != (width, height):
        log.info("[BrushEdit] crop size %dx%d rounded up to %dx%d (a multiple of %d)", width, height, out_w, out_h,
                 multiple)
    image, mask = as_image_batch(image), as_mask_batch(mask)
    bi, bm = image.shape[0], mask.shape[0]
    if bi == 1 and bm > 1:  # several masks (e.g. one per object) for one image: one mask
        mask = mask.amax(0, keepdim=True)
    elif bm not in (1, bi):
        raise ImageInputError(f"image batch has {bi} images but the mask batch has {bm} masks: give one mask, or one "
                              "mask per image")
    if mode == "each" and bi > 1:
        raise ImageInputError(f"mode 'each' splits the regions of one image, but the image batch has {bi} images: use "
                              "mode 'one' for a batch, or feed the images one at a time")
    mask = broadcast_batch(mask, bi, "mask")
    h, w = image.shape[1:3]
    if mask.shape[-2:] != (h, w):
        check_aspect(tuple(mask.shape[-2:]), (h, w), "mask")
        log.info("[BrushEdit] crop: mask %dx%d resized to the image's %dx%d", mask.shape[-1], mask.shape[-2], w, h)
        mask = resize_mask(mask, h, w)
    canvas, canvas_mask = extend_canvas(image, mask.to(image.device), *extend)
    ch, cw = canvas.shape[1:3]
    images, masks, origins = [], [], []
    for i in range(bi):
        hole = canvas_mask[i] > 0.5
        if mode == "one" or not bool(hole.any()):
            if not bool(hole.any()):
                log.warning("[BrushEdit] crop: mask %d is empty; a centred crop is returned", i)
            pieces = [(None, nonzero_bbox(hole.float()))]
            labels = None
        else:
            labels, pieces = split_regions(hole, merge_distance, max_regions)
            log.info("[BrushEdit] crop: %d region(s) in the mask", len(pieces))
        for k, bbox in pieces:
            box = plan_box(bbox, (ch, cw), (out_w, out_h), context, max_upscale)
            region = extract(canvas_mask[i:i + 1], box, 0.0)
            if labels is not None:  # only this region: other regions in the box stay context
                region = region * (extract(labels[None], box, 0.0) == k)
            images.append(resize_image(extract(canvas[i:i + 1], box, "replicate"), out_h, out_w))
            masks.append(resize_mask(region, out_h, out_w))
            origins.append(box.as_list())
    return RegionCrops(torch.cat(images), torch.cat(masks), torch.tensor(origins, dtype=torch.int64), canvas,
                       canvas_mask)


def upscale_factor(box: CropBox) -> float:
    """How much the crop magnifies its box (> 1: the region is scaled up)."""
    return math.sqrt((box.out_w * box.out_h) / max(1, box.w * box.h))
