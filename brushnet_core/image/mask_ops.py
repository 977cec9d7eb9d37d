"""Mask and image tensor helpers: shape normalisation, resizing, gaussian blur, morphology.

Conventions (ComfyUI's): an IMAGE is float ``[B, H, W, C]`` in 0..1, a MASK is float
``[B, H, W]`` (or ``[H, W]``) in 0..1 where 1 marks the region to inpaint. Everything here is
pure torch (``scipy`` only for hole filling) and never imports ComfyUI.

This is the pack's one mask toolbox: every node and core helper that shapes, resizes or grows a
mask calls these functions, so they all behave alike.

A mask whose size differs from the image's (one rule, :func:`fit_mask`):

- same aspect ratio (within 2 %, e.g. a mask saved at 853x512 for a 1150x690 image): it is
  resized to the image (bilinear, antialiased when shrinking, solid areas kept exactly 0/1), with
  a logged notice;
- another aspect ratio: :class:`MaskSizeError` naming both sizes and the fix. A stretched mask
  would cover the wrong pixels, which nearly always means the mask was made from another image
  or one of the two was cropped alone.

Growing (:func:`grow_mask`) has ComfyUI's GrowMask shape: ``pixels`` steps of a 3x3 cross
(a diamond, ``tapered_corners``) or 3x3 square.
"""
from __future__ import annotations

import logging
import math

import torch
import torch.nn.functional as F

from ..errors import BrushEditError

log = logging.getLogger(__name__)

ASPECT_TOLERANCE = 0.02  # relative aspect-ratio difference accepted when resizing a mask to an image
_GAUSS_TRUNCATE = 6.0  # taps further than 6 sigma weigh < 2e-8 of the centre tap and are dropped
_TILE = 128  # tile width of the banded-matmul blur
_SNAP = 1e-6  # resized mask values this close to 0 or 1 are snapped to it


class ImageInputError(BrushEditError, ValueError):
    """An image, mask or option of the image tools that cannot be used (type, shape, batch, range)."""


# ----------------------------------------------------------------------------- shapes
def as_image_batch(image: torch.Tensor, name: str = "image") -> torch.Tensor:
    """Return ``image`` as ``[B, H, W, C]`` (a missing batch dimension is added)."""
    if not isinstance(image, torch.Tensor):
        raise ImageInputError(f"{name} must be an IMAGE tensor, got {type(image).__name__}")
    if image.ndim == 3:
        image = image.unsqueeze(0)
    if image.ndim != 4 or min(image.shape) == 0:
        raise ImageInputError(f"{name} must have shape [B, H, W, C] with no empty dimension, "
                              f"got {tuple(image.shape)}")
    return image


def as_mask_batch(mask: torch.Tensor, name: str = "mask") -> torch.Tensor:
    """Return ``mask`` as float ``[B, H, W]`` clamped to 0..1.

    Accepts ``[H, W]``, ``[B, H, W]``, ``[B, 1, H, W]`` and ``[B, H, W, C]`` (the first channel
    is used, as the earlier pack did with image-like masks).
    """
    if not isinstance(mask, torch.Tensor):
        raise ImageInputError(f"{name} must be a MASK tensor, got {type(mask).__name__}")
    if mask.ndim == 2:
        mask = mask.unsqueeze(0)
    elif mask.ndim == 4:
        mask = mask[:, 0] if mask.shape[1] == 1 else mask[..., 0]
    if mask.ndim != 3 or min(mask.shape) == 0:
        raise ImageInputError(f"{name} must have shape [B, H, W] or [H, W] with no empty dimension, "
                              f"got {tuple(mask.shape)}")
    mask = mask.float()
    lo, hi = torch.aminmax(mask)
    return mask if 0.0 <= float(lo) and float(hi) <= 1.0 else mask.clamp(0.0, 1.0)


def broadcast_batch(tensor: torch.Tensor, n: int, name: str) -> torch.Tensor:
    """Repeat ``tensor`` along dim 0 to ``n`` items: equal sizes, size 1, or a divisor of ``n``
    (tiled, like ComfyUI's ``repeat_to_batch_size``); anything else is an error."""
    b = tensor.shape[0]
    if b == n:
        return tensor
    if b == 1 or (b < n and n % b == 0):
        if b != 1:
            log.info("[BrushEdit] %s batch of %d is repeated to %d items", name, b, n)
        return tensor.repeat((n // b,) + (1,) * (tensor.ndim - 1))
    raise ImageInputError(f"batch size mismatch: {name} has {b} items but {n} are needed; give the "
                          f"same number of items, a single item, or a number that divides {n}")


# ----------------------------------------------------------------------------- resizing
class MaskSizeError(ImageInputError):
    """A mask (or image) that cannot be scaled onto another without distortion."""


def check_aspect(src_hw: tuple[int, int], dst_hw: tuple[int, int], what: str) -> None:
    """Raise :class:`MaskSizeError` when stretching ``src_hw`` to ``dst_hw`` would distort it
    (aspect ratios more than 2 % apart)."""
    (sh, sw), (dh, dw) = src_hw, dst_hw
    a, b = sw / sh, dw / dh
    if abs(a - b) / b > ASPECT_TOLERANCE:
        raise MaskSizeError(
            f"{what} is {sw}x{sh} (aspect {a:.3f}) but must cover {dw}x{dh} (aspect {b:.3f}): "
            "different aspect ratios, so it cannot be scaled onto it without distortion; make it "
            "from this image, or resize or crop both alike to the same aspect ratio first")


def fit_mask(mask: torch.Tensor, h: int, w: int, what: str = "mask") -> torch.Tensor:
    """The pack's one rule for a ``[B, H, W]`` mask of another size than the ``h`` x ``w`` image:
    same aspect ratio -> resized (:func:`resize_mask`, logged); another aspect -> MaskSizeError."""
    if tuple(mask.shape[-2:]) == (h, w):
        return mask
    check_aspect(tuple(mask.shape[-2:]), (h, w), what)
    log.warning("[BrushEdit] %s is %dx%d but the image is %dx%d: resizing the mask to the image",
                what, mask.shape[-1], mask.shape[-2], w, h)
    return resize_mask(mask, h, w)


def resize_mask(mask: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Bilinear resize of ``[B, H, W]`` to ``[B, h, w]`` (antialiased when shrinking); values
    within 1e-6 of 0 or 1 are snapped, so solid areas stay exactly 0 or 1."""
    if mask.shape[-2:] == (h, w):
        return mask
    shrink = h < mask.shape[-2] or w < mask.shape[-1]
    out = F.interpolate(mask.unsqueeze(1).float(), size=(h, w), mode="bilinear",
                        align_corners=False, antialias=shrink).squeeze(1)
    out[out < _SNAP] = 0.0
    out[out > 1.0 - _SNAP] = 1.0
    return out


def resize_image(image: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Bilinear resize of ``[B, H, W, C]`` to ``[B, h, w, C]`` (antialiased when shrinking;
    both weight pixels with non-negative weights, so 0..1 stays 0..1 without clamping)."""
    if image.shape[1:3] == (h, w):
        return image
    shrink = h < image.shape[1] or w < image.shape[2]
    out = F.interpolate(image.movedim(-1, 1).float(), size=(h, w), mode="bilinear",
                        align_corners=False, antialias=shrink)
    return out.movedim(1, -1).to(image.dtype)


# ----------------------------------------------------------------------------- gaussian blur
def gaussian_kernel1d(size: int, sigma: float) -> torch.Tensor:
    """Normalised 1-D gaussian of ``size`` taps (odd); taps beyond 6 sigma are dropped."""
    if size < 1 or size % 2 == 0:
        raise ImageInputError(f"gaussian kernel size must be a positive odd number, got {size}")
    if not (sigma > 0 and math.isfinite(sigma)):
        raise ImageInputError(f"gaussian sigma must be a finite number > 0, got {sigma}")
    radius = min((size - 1) // 2, math.ceil(_GAUSS_TRUNCATE * sigma))
    i = torch.arange(-radius, radius + 1, dtype=torch.float64)
    g = torch.exp(-(i * i) / (2.0 * sigma * sigma))
    return (g / g.sum()).float()


def _band_matrix(g: torch.Tensor, tile: int) -> torch.Tensor:
    """``[tile + k - 1, tile]`` matrix whose column j holds the kernel at rows j..j+k-1."""
    k = g.numel()
    rows = torch.arange(k).unsqueeze(1) + torch.arange(tile).unsqueeze(0)
    band = torch.zeros(tile + k - 1, tile, dtype=g.dtype)
    band[rows, torch.arange(tile).expand(k, tile)] = g.unsqueeze(1).expand(k, tile)
    return band


def _border_index(idx: torch.Tensor, n: int, reflect: bool) -> torch.Tensor:
    """Map positions within ``n - 1`` outside ``0..n-1`` back inside: reflected
    (``d c b | a b c d``, edge not repeated) or replicated (edge value repeated)."""
    if reflect:
        return torch.where(idx < 0, -idx, torch.where(idx > n - 1, 2 * (n - 1) - idx, idx))
    return idx.clamp(0, n - 1)


def _tile_range(x: torch.Tensor, t: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Min and max of every ``t``-long tile along L of ``[P, L, Q]``: two ``[P, tiles, Q]``."""
    p, n, q = x.shape
    full = n // t
    lo = [x[:, :full * t].view(p, full, t, q).amin(2)] if full else []
    hi = [x[:, :full * t].view(p, full, t, q).amax(2)] if full else []
    if n % t:
        lo.append(x[:, full * t:].amin(1, keepdim=True))
        hi.append(x[:, full * t:].amax(1, keepdim=True))
    return torch.cat(lo, 1), torch.cat(hi, 1)


def _blur_axis(x: torch.Tensor, g: torch.Tensor, border: str) -> torch.Tensor:
    """Convolve ``[P, L, Q]`` along L with ``g`` (odd length, radius r).

    L is cut into tiles of ``t >= 2r``; a tile's output is its window (the tile plus r each
    side) times a banded ``[t + 2r, t]`` matrix (BLAS). A window lying in three neighbouring
    tiles that all hold one single value - most of a mask - is not multiplied: its output is
    that value.
    """
    r = g.numel() // 2
    p, n, q = x.shape
    t = min(max(_TILE, 2 * r), n)
    lo, hi = _tile_range(x, t)
    tiles = lo.shape[1]
    if tiles > 1:  # a window reaches into both neighbouring tiles
        lo = torch.minimum(lo, torch.minimum(F.pad(lo, (0, 0, 1, 0), value=math.inf)[:, :-1],
                                             F.pad(lo, (0, 0, 0, 1), value=math.inf)[:, 1:]))
        hi = torch.maximum(hi, torch.maximum(F.pad(hi, (0, 0, 1, 0), value=-math.inf)[:, :-1],
                                             F.pad(hi, (0, 0, 0, 1), value=-math.inf)[:, 1:]))
    out = torch.empty(p, tiles * t, q, dtype=x.dtype, device=x.device)
    out.view(p, tiles, t, q).copy_(lo.unsqueeze(2).expand(p, tiles, t, q))
    pi, ti, qi = torch.nonzero(hi > lo, as_tuple=True)
    if pi.numel():
        windows = torch.empty(pi.numel(), t + 2 * r, dtype=x.dtype, device=x.device)
        inner = (ti >= 1) & (ti * t + t + r <= n)  # window inside x: a plain strided view
        sel = torch.nonzero(inner).flatten()
        if sel.numel():
            windows[sel] = x[:, t - r:].unfold(1, t + 2 * r, t)[pi[sel], ti[sel] - 1, qi[sel]]
        sel = torch.nonzero(~inner).flatten()
        if sel.numel():  # windows crossing the ends: map the positions back inside
            idx = (ti[sel] * t - r).unsqueeze(1) + torch.arange(t + 2 * r, device=x.device)
            idx = _border_index(idx, n, border == "reflect" and r < n)
            windows[sel] = x[pi[sel].unsqueeze(1), idx, qi[sel].unsqueeze(1)]
        band = _band_matrix(g, t).to(device=x.device, dtype=x.dtype)
        out.view(p, tiles, t, q).permute(0, 1, 3, 2)[pi, ti, qi] = windows @ band
    return out[:, :n]


def gaussian_blur(mask: torch.Tensor, kernel: torch.Tensor, border: str = "replicate") -> torch.Tensor:
    """Separable gaussian blur of a ``[B, H, W]`` float mask with the 1-D ``kernel``.

    ``border`` is ``"replicate"`` or ``"reflect"`` (reflect falls back to replicate when the
    radius is not smaller than the image side, where reflection is undefined).
    """
    if kernel.numel() == 1:
        return mask.clone()
    b, h, w = mask.shape
    x = _blur_axis(mask.float().reshape(b * h, w, 1), kernel, border).reshape(b, h, w)
    return _blur_axis(x, kernel, border).contiguous()


# ----------------------------------------------------------------------------- regions
def nonzero_bbox(mask2d: torch.Tensor, threshold: float = 0.0) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` (end-exclusive) of the pixels ``> threshold``, or None if none."""
    rows = torch.nonzero(mask2d.amax(dim=1) > threshold).flatten()  # float max: fast reductions
    if rows.numel() == 0:
        return None
    y0, y1 = int(rows[0]), int(rows[-1]) + 1
    cols = torch.nonzero(mask2d[y0:y1].amax(dim=0) > threshold).flatten()
    return int(cols[0]), y0, int(cols[-1]) + 1, y1


def expand_bbox(bbox: tuple[int, int, int, int], pad: int, h: int, w: int) -> tuple[int, int, int, int]:
    """Grow ``bbox`` by ``pad`` pixels on every side, clamped to a ``w`` x ``h`` image."""
    x0, y0, x1, y1 = bbox
    return max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)


# ----------------------------------------------------------------------------- morphology
def _shift(x: torch.Tensor, dy: int, dx: int, fill: float) -> torch.Tensor:
    """``out[..., i, j] = x[..., i + dy, j + dx]``; positions falling outside get ``fill``."""
    h, w = x.shape[-2:]
    out = torch.full_like(x, fill)
    if abs(dy) >= h or abs(dx) >= w:
        return out
    out[..., max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)] = \
        x[..., max(0, dy):h - max(0, -dy), max(0, dx):w - max(0, -dx)]
    return out


def _ray_max(x: torch.Tensor, length: int, dy: int, dx: int) -> torch.Tensor:
    """Max of ``x(p + k*(dy, dx))`` for k in ``0..length-1``, in O(log length) passes (window
    doubling). Outside the canvas counts as -inf, which is exact: a ray that has left the canvas
    never comes back."""
    cur, span = x, 1
    while 2 * span <= length:
        cur = torch.maximum(cur, _shift(cur, span * dy, span * dx, -math.inf))
        span *= 2
    if span < length:  # overlapping windows are fine for a max
        cur = torch.maximum(cur, _shift(cur, (length - span) * dy, (length - span) * dx, -math.inf))
    return cur


def _segment_max(x: torch.Tensor, radius: int, dy: int, dx: int) -> torch.Tensor:
    """Max over the ``2*radius+1`` pixels along direction (dy, dx) centred on each pixel."""
    if radius <= 0:
        return x
    return torch.maximum(_ray_max(x, radius + 1, dy, dx), _ray_max(x, radius + 1, -dy, -dx))


def _cross_max(x: torch.Tensor) -> torch.Tensor:
    return torch.maximum(_segment_max(x, 1, 0, 1), _segment_max(x, 1, 1, 0))


def _dilate(x: torch.Tensor, n: int, tapered: bool) -> torch.Tensor:
    """Grey dilation by a square (Chebyshev) or diamond (city-block, ``tapered``) of radius n."""
    if not tapered:
        return _segment_max(_segment_max(x, n, 0, 1), n, 1, 0)
    # A diamond of radius 2a+1 is the 45-degree square {(t+s, t-s): |t|,|s| <= a} plus a cross.
    a, crosses = (n // 2, 1) if n % 2 else (n // 2 - 1, 2)
    x = _segment_max(_segment_max(x, a, 1, 1), a, 1, -1)
    for _ in range(crosses):
        x = _cross_max(x)
    return x


def grow_mask(mask: torch.Tensor, pixels: int, tapered_corners: bool = True) -> torch.Tensor:
    """Grow (``pixels`` > 0) or shrink (< 0) a ``[B, H, W]`` mask; same result as ComfyUI's
    GrowMask (``pixels`` 3x3 steps, cross-shaped when ``tapered_corners``, square otherwise)."""
    n = abs(int(pixels))
    if n == 0:
        return mask.clone()
    x = mask.float() if pixels > 0 else -mask.float()
    h, w = x.shape[-2:]
    if n >= (h + w - 2 if tapered_corners else max(h, w) - 1):  # every pixel sees the image
        out = x.amax(dim=(-2, -1), keepdim=True).expand_as(x)
    else:
        # the diagonal steps of a diamond pass through points up to n//2 + 1 outside the image
        pad = n // 2 + 1 if tapered_corners else 0
        canvas = F.pad(x, (pad,) * 4, mode="constant", value=-math.inf) if pad else x
        out = _dilate(canvas, n, tapered_corners)[..., pad:pad + h, pad:pad + w]
    return (out if pixels > 0 else -out).contiguous()


def fill_holes(mask: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Set to 1 every background area (``<= threshold``) enclosed by the mask (4-connected)."""
    try:
        from scipy.ndimage import binary_fill_holes
    except ImportError as exc:  # pragma: no cover - scipy ships with ComfyUI
        raise ImageInputError("filling mask holes needs scipy (a ComfyUI dependency): "
                              "pip install scipy") from exc
    out = mask.clone()
    for i, m in enumerate(mask):
        inside = (m > threshold).cpu().numpy()
        holes = torch.from_numpy(binary_fill_holes(inside) & ~inside).to(m.device)
        out[i][holes] = 1.0
    return out


def bbox_mask(mask: torch.Tensor, padding: int = 0) -> torch.Tensor:
    """Replace each mask by the filled bounding box of its non-zero pixels, grown by ``padding``
    (clamped to the image). An empty mask stays empty."""
    out = torch.zeros_like(mask)
    h, w = mask.shape[-2:]
    for i, m in enumerate(mask):
        bbox = nonzero_bbox(m)
        if bbox is None:
            log.info("[BrushEdit] mask %d is empty; its bounding box is empty too", i)
            continue
        x0, y0, x1, y1 = expand_bbox(bbox, max(0, int(padding)), h, w)
        out[i, y0:y1, x0:x1] = 1.0
    return out


def feather_mask(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Gaussian feather: kernel ``2*radius+1`` taps, sigma ``radius/3``, reflected borders (the
    same as ComfyUI's ImageBlur with ``blur_radius=radius, sigma=1/3``)."""
    if radius <= 0:
        return mask.clone()
    kernel = gaussian_kernel1d(2 * radius + 1, radius / 3.0)
    return gaussian_blur(mask, kernel, "reflect").clamp_(0.0, 1.0)


def adjust_mask(mask: torch.Tensor, *, threshold: float = 0.0, fill: bool = False, grow: int = 0,
                tapered_corners: bool = True, to_bbox: bool = False, bbox_padding: int = 0,
                invert: bool = False, feather: int = 0) -> torch.Tensor:
    """Apply the mask-adjust steps in this fixed order (each skipped at its neutral value):

    1. threshold (``> threshold`` becomes 1, the rest 0; 0 = off)  2. fill holes
    3. grow / shrink  4. bounding box (+ padding)  5. invert  6. gaussian feather.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ImageInputError(f"threshold must be within 0..1 (0 = off), got {threshold}")
    if feather < 0 or bbox_padding < 0:
        raise ImageInputError(f"feather and bbox_padding must be >= 0, got {feather} and {bbox_padding}")
    out = as_mask_batch(mask)
    if threshold > 0.0:
        out = (out > threshold).float()
    if fill:
        out = fill_holes(out)
    if grow:
        out = grow_mask(out, grow, tapered_corners)
    if to_bbox:
        out = bbox_mask(out, bbox_padding)
    if invert:
        out = 1.0 - out
    if feather:
        out = feather_mask(out, feather)
    return out
