"""Blurred blending of an inpainted image back into its original (BrushNet paper, sec. 3.3).

The 0/1 hole mask is blurred with a gaussian and united with itself, ``m = max(blur(mask),
mask)``, so the soft edge only grows *outward*; then ``out = original * (1 - m) + generated * m``.
Outside the feathered band ``m == 0`` and the original comes back bit-identical; inside the hard
mask ``m == 1`` and the generated pixels are used as they are.

Only the mask is blurred, only around its bounding box, with a separable gaussian done as
banded matrix products (see :func:`mask_ops.gaussian_blur`).
"""
from __future__ import annotations

import logging
import math

import torch

from .color import match_color
from .crop import CropBox, parse_origin
from .mask_ops import (ImageInputError, as_image_batch, as_mask_batch, broadcast_batch, check_aspect,
                       expand_bbox, gaussian_blur, gaussian_kernel1d, nonzero_bbox,
                       resize_image, resize_mask)
from .regions import extract

log = logging.getLogger(__name__)

_LATENT_FACTORS = (8, 16, 32, 64)  # VAE downscale factors whose centred crops are recognised


def blend_kernel_size(kernel: int) -> int:
    """The gaussian's size in taps for the ``kernel`` widget (the earlier pack's meaning: the
    kernel size itself; an even value is made odd by adding 1, 1 means no feathering)."""
    if int(kernel) != kernel or kernel < 1:
        raise ImageInputError(f"kernel must be a whole number >= 1 (1 = no feathering), got {kernel}")
    kernel = int(kernel)
    return kernel + 1 if kernel % 2 == 0 else kernel


def check_sigma(sigma: float) -> float:
    """Validate the gaussian's sigma (pixels)."""
    if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
        raise ImageInputError(f"sigma must be a number > 0 (pixels), got {sigma}; use kernel=1 to "
                              f"blend without feathering")
    return float(sigma)


def soft_blend_mask(hard: torch.Tensor, kernel: int, sigma: float) -> torch.Tensor:
    """``max(blur(hard), hard)`` for a full ``[B, H, W]`` mask (replicated borders)."""
    g = gaussian_kernel1d(blend_kernel_size(kernel), check_sigma(sigma))
    hard = as_mask_batch(hard)
    return torch.maximum(gaussian_blur(hard, g, "replicate").clamp_(0.0, 1.0), hard)


def vae_crop_offset(inner_hw: tuple[int, int], outer_hw: tuple[int, int]) -> tuple[int, int] | None:
    """``(top, left)`` when ``inner_hw`` is ``outer_hw`` centre-cropped to a multiple of 8, 16, 32
    or 64 - what ComfyUI's VAE encode does to odd sizes - else None."""
    (ih, iw), (oh, ow) = inner_hw, outer_hw
    for r in _LATENT_FACTORS:
        if (ih, iw) == (oh - oh % r, ow - ow % r) != (oh, ow):
            return (oh % r) // 2, (ow % r) // 2
    return None


def _fit_generated(gen: torch.Tensor, original: torch.Tensor, box: CropBox,
                   with_origin: bool) -> torch.Tensor:
    """The generated ``[h', w', C]`` image as the ``[box.h, box.w, C]`` pixels of ``box``.

    A generated image the VAE centre-cropped to a multiple of 8 is first completed to the size
    it was made from with the original's own pixels (no stretching, no shift); any other size
    is resized, which must keep the aspect ratio.
    """
    crop_hw = (box.out_h, box.out_w) if box.out_w else (box.h, box.w)
    gen_hw = tuple(gen.shape[:2])
    if gen_hw != crop_hw:
        offset = vae_crop_offset(gen_hw, crop_hw)
        if offset is None:
            hint = "" if with_origin else " (for a CutForInpaint crop, connect its origin too)"
            check_aspect(gen_hw, crop_hw, "inpaint image" + hint)
        else:
            region = extract(original[None], box, "replicate")
            base = resize_image(region, *crop_hw)[0].clone()
            base[offset[0]:offset[0] + gen_hw[0], offset[1]:offset[1] + gen_hw[1]] = gen
            gen = base
    return resize_image(gen[None], box.h, box.w)[0]


def _mask_window(mask: torch.Tensor, full_hw: tuple[int, int],
                 box: CropBox | None) -> tuple[torch.Tensor, int, int]:
    """One item's hard mask in the original's coordinates, as ``(window, x, y)``: the mask is
    ``window`` at ``(x, y)`` and 0 everywhere else."""
    h, w = full_hw
    if mask.shape == (h, w):
        return mask, 0, 0
    if box is None:
        return resize_mask(mask[None], h, w)[0], 0, 0
    mh, mw = mask.shape
    if (mh, mw) != (box.h, box.w) and (mh, mw) != (box.out_h, box.out_w):
        to_full = abs(mw / mh - w / h) / (w / h)
        to_crop = abs(mw / mh - box.w / box.h) / (box.w / box.h)
        if to_full <= to_crop:  # the original's mask at another resolution (e.g. a downscaled mask file)
            check_aspect((mh, mw), (h, w), "mask")
            return resize_mask(mask[None], h, w)[0], 0, 0
    check_aspect(tuple(mask.shape), (box.h, box.w), "mask (in crop coordinates)")
    return resize_mask(mask[None], box.h, box.w)[0], box.x, box.y


def _blend_one(out: torch.Tensor, soft: torch.Tensor, generated: torch.Tensor,
               window: tuple[torch.Tensor, int, int], box: CropBox, g: torch.Tensor,
               index: int) -> None:
    """Blend one item in place: ``out`` ``[H, W, C]`` holds the original, ``soft`` ``[H, W]``
    zeros; ``generated`` covers ``box``; ``window`` is the hard mask (see _mask_window)."""
    h, w = soft.shape
    win, wx, wy = window
    bbox = nonzero_bbox(win)
    if bbox is None:
        log.info("[BrushEdit] BlendInpaint: mask %d is empty; returning the original unchanged",
                 index)
        return
    bbox = (bbox[0] + wx, bbox[1] + wy, bbox[2] + wx, bbox[3] + wy)
    r = g.numel() // 2
    x0, y0, x1, y1 = expand_bbox(bbox, r, h, w)  # everything the blur can reach
    hard = torch.zeros(y1 - y0, x1 - x0, dtype=torch.float32, device=soft.device)
    cx0, cy0 = max(x0, wx), max(y0, wy)
    cx1, cy1 = min(x1, wx + win.shape[1]), min(y1, wy + win.shape[0])
    hard[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0] = win[cy0 - wy:cy1 - wy, cx0 - wx:cx1 - wx]
    blurred = gaussian_blur(hard[None], g, "replicate")[0].clamp_(0.0, 1.0)
    m = torch.maximum(blurred, hard)
    # the generated image only exists inside the crop box
    bx0, by0 = max(x0, box.x), max(y0, box.y)
    bx1, by1 = min(x1, box.x + box.w), min(y1, box.y + box.h)
    if (bx0, by0, bx1, by1) != (x0, y0, x1, y1):
        inside = hard[max(0, by0 - y0):max(0, by1 - y0), max(0, bx0 - x0):max(0, bx1 - x0)]
        outside = int((hard > 0).sum() - (inside > 0).sum())
        if outside > 0:
            log.warning("[BrushEdit] BlendInpaint: %d masked pixels of item %d lie outside the "
                        "crop; they keep the original", outside, index)
    if bx1 <= bx0 or by1 <= by0:
        return
    m = m[by0 - y0:by1 - y0, bx0 - x0:bx1 - x0]
    area = soft[by0:by1, bx0:bx1]  # several items may paste into one image (stitch): keep the union
    area.copy_(torch.maximum(area, m))
    mc = m.unsqueeze(-1)
    gen = generated[by0 - box.y:by1 - box.y, bx0 - box.x:bx1 - box.x].float()
    region = out[by0:by1, bx0:bx1]
    # original*(1-m) + generated*m as torch.lerp, whose two-sided formula is exact at m == 0
    # (the original) and m == 1 (the generated pixels); in place, since out holds the original
    if region.dtype == torch.float32:
        region.lerp_(gen, mc)
    else:
        region.copy_(torch.lerp(region.float(), gen, mc))


def color_band(kernel: int) -> int:
    """Width in pixels of the ring around the mask whose colours the colour match compares."""
    return max(16, blend_kernel_size(kernel))


def _match_in_box(gen: torch.Tensor, original: torch.Tensor, window: tuple[torch.Tensor, int, int],
                  box: CropBox, band: int, strength: float, index: int) -> torch.Tensor:
    """Colour-match the generated box pixels to the original around the item's hard mask."""
    win, wx, wy = window
    hard = torch.zeros(box.h, box.w, dtype=torch.bool, device=gen.device)
    x0, y0 = max(box.x, wx), max(box.y, wy)
    x1, y1 = min(box.x + box.w, wx + win.shape[1]), min(box.y + box.h, wy + win.shape[0])
    if x1 <= x0 or y1 <= y0:
        return gen
    hard[y0 - box.y:y1 - box.y, x0 - box.x:x1 - box.x] = win[y0 - wy:y1 - wy, x0 - wx:x1 - wx].to(gen.device) > 0.5
    reference = extract(original[None], box, "replicate")[0].to(gen.device)
    return match_color(gen, reference, hard, band, strength, what=f"item {index}")


def _prepare(generated: torch.Tensor, original: torch.Tensor, mask: torch.Tensor, kernel: int, sigma: float):
    generated = as_image_batch(generated, "inpaint")
    original = as_image_batch(original, "original")
    mask = as_mask_batch(mask)
    if generated.shape[-1] != original.shape[-1]:
        raise ImageInputError(f"inpaint has {generated.shape[-1]} colour channels but original has "
                              f"{original.shape[-1]}; convert both to RGB")
    return generated, original, mask, gaussian_kernel1d(blend_kernel_size(kernel), check_sigma(sigma))


def _check_strength(color_match: float) -> float:
    if not 0.0 <= float(color_match) <= 1.0:
        raise ImageInputError(f"color_match must be within 0..1 (0 = off), got {color_match}")
    return float(color_match)


def blend_inpaint(generated: torch.Tensor, original: torch.Tensor, mask: torch.Tensor,
                  kernel: int = 10, sigma: float = 10.0,
                  origin: object = None, color_match: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Blend ``generated`` into ``original`` through the outward-feathered ``mask``.

    Without ``origin`` the generated image (and the mask) are resized to the original's size.
    With the ``origin`` of :func:`crop.cut_for_inpaint` the generated crop is resized to its box
    and pasted there; the mask may then be in crop or original coordinates. A generated image
    that the VAE centre-cropped to a multiple of 8 is put back in place, not stretched. Batches
    broadcast (N/1, or a divisor of N). ``color_match`` (0..1) first removes the generated
    image's colour shift measured around the mask (see :mod:`color`). Returns
    ``(image [N, H, W, C], soft mask [N, H, W])``.
    """
    strength = _check_strength(color_match)
    generated, original, mask, g = _prepare(generated, original, mask, kernel, sigma)
    n = max(generated.shape[0], original.shape[0], mask.shape[0])
    original = broadcast_batch(original, n, "original")
    generated = broadcast_batch(generated, n, "inpaint")
    mask = broadcast_batch(mask, n, "mask").to(original.device)
    h, w = original.shape[1:3]
    if origin is None:
        if mask.shape[-2:] != (h, w):
            check_aspect(tuple(mask.shape[-2:]), (h, w), "mask")
        boxes = [CropBox(0, 0, w, h, w, h)] * n
    else:
        boxes = parse_origin(origin, n, (h, w), tuple(generated.shape[1:3]))
    out = original.clone()
    soft = torch.zeros(n, h, w, dtype=torch.float32, device=original.device)
    for i, box in enumerate(boxes):
        gen = _fit_generated(generated[i].to(original.device), original[i], box,
                             origin is not None)
        window = _mask_window(mask[i], (h, w), None if origin is None else box)
        if strength > 0.0:
            gen = _match_in_box(gen, original[i], window, box, color_band(kernel), strength, i)
        _blend_one(out[i], soft[i], gen, window, box, g, i)
    return out, soft


def stitch_inpaint(generated: torch.Tensor, original: torch.Tensor, mask: torch.Tensor, origin: object,
                   kernel: int = 10, sigma: float = 10.0,
                   color_match: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Paste every generated crop back into ONE image (or, for an original batch of the same
    size as the crops, each into its own image), with the blend of :func:`blend_inpaint`.

    ``mask`` holds each crop's own region (crop coordinates); items are pasted in order, so where
    two feathers meet the later one is on top. Returns ``(image [B, H, W, C], soft [B, H, W])``.
    """
    strength = _check_strength(color_match)
    generated, original, mask, g = _prepare(generated, original, mask, kernel, sigma)
    n = max(generated.shape[0], mask.shape[0])
    generated = broadcast_batch(generated, n, "inpaint")
    mask = broadcast_batch(mask, n, "mask").to(original.device)
    b = original.shape[0]
    if b not in (1, n):
        raise ImageInputError(f"original batch has {b} images for {n} crops: connect the one image the crops were "
                              f"cut from (or one image per crop)")
    h, w = original.shape[1:3]
    boxes = parse_origin(origin, n, (h, w), tuple(generated.shape[1:3]))
    out = original.clone()
    soft = torch.zeros(b, h, w, dtype=torch.float32, device=original.device)
    for i, box in enumerate(boxes):
        t = 0 if b == 1 else i
        gen = _fit_generated(generated[i].to(original.device), original[t], box, True)
        window = _mask_window(mask[i], (h, w), box)
        if strength > 0.0:
            gen = _match_in_box(gen, original[t], window, box, color_band(kernel), strength, i)
        _blend_one(out[t], soft[t], gen, window, box, g, i)
    return out, soft


def color_match_images(image: torch.Tensor, original: torch.Tensor, mask: torch.Tensor, band: int = 32,
                       strength: float = 1.0) -> torch.Tensor:
    """:func:`color.match_color` for batches: ``image`` (generated) against ``original`` around
    ``mask``. An original (and mask) the VAE did not crop to a multiple of 8 is cut to the image's
    centre-cropped size; another size of the same aspect is resized. Returns ``[N, h, w, C]``."""
    _check_strength(strength)
    image = as_image_batch(image, "image")
    original = as_image_batch(original, "original")
    mask = as_mask_batch(mask)
    n = max(image.shape[0], original.shape[0], mask.shape[0])
    image, original = broadcast_batch(image, n, "image"), broadcast_batch(original, n, "original")
    mask = broadcast_batch(mask, n, "mask").to(image.device)
    hw = tuple(image.shape[1:3])
    if tuple(original.shape[1:3]) != hw:
        offset = vae_crop_offset(hw, tuple(original.shape[1:3]))
        if offset is None:
            check_aspect(tuple(original.shape[1:3]), hw, "original")
            original = resize_image(original, *hw)
        else:
            if mask.shape[-2:] == original.shape[1:3]:
                mask = mask[:, offset[0]:offset[0] + hw[0], offset[1]:offset[1] + hw[1]]
            original = original[:, offset[0]:offset[0] + hw[0], offset[1]:offset[1] + hw[1]]
    if tuple(mask.shape[-2:]) != hw:
        check_aspect(tuple(mask.shape[-2:]), hw, "mask")
        mask = resize_mask(mask, *hw)
    out = [match_color(image[i], original[i].to(image.device), mask[i] > 0.5, band, strength, what=f"image {i}")
           for i in range(n)]
    return torch.stack(out)
