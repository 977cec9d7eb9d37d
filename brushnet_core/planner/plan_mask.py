"""Plan -> inpainting mask: grow for removal, invert for background, full for global, box for addition."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from .plan import CATEGORIES, Box


def as_batch(mask: torch.Tensor) -> torch.Tensor:
    """[H, W] or [B, H, W] (or [B, 1, H, W]) -> float [B, H, W] in 0..1."""
    if mask.ndim == 4 and mask.shape[1] == 1:
        mask = mask[:, 0]
    if mask.ndim == 2:
        mask = mask.unsqueeze(0)
    if mask.ndim != 3:
        raise ValueError(f"mask has shape {tuple(mask.shape)}; expected [H, W] or [B, H, W]")
    return mask.float().clamp(0.0, 1.0)


def fit_mask(mask: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Resize a [B, H, W] mask to the image size (masks saved at another resolution are common)."""
    if tuple(mask.shape[-2:]) == (height, width):
        return mask
    mh, mw = mask.shape[-2:]
    if abs(mw / mh - width / height) > 0.02 * (width / height):
        raise ValueError(
            f"mask is {mw}x{mh} but the image is {width}x{height}: different aspect ratios, so the mask "
            "cannot be scaled onto the image; make the mask from this image (or crop/resize both alike)"
        )
    return F.interpolate(mask.unsqueeze(1), size=(height, width), mode="bilinear", align_corners=False)[:, 0]


def grow(mask: torch.Tensor, pixels: int) -> torch.Tensor:
    """Dilate a [B, H, W] mask by ``pixels``: alternating 3x3 square / cross steps (an octagon, near-round).

    Cost is linear in ``pixels`` (cheap 3x3 max-pools), unlike a (2r+1)^2 disk convolution.
    """
    if pixels <= 0:
        return mask
    m = mask.unsqueeze(1)
    for step in range(int(pixels)):
        if step % 2 == 0:
            m = F.max_pool2d(m, 3, stride=1, padding=1)
        else:
            m = torch.maximum(F.max_pool2d(m, (3, 1), stride=1, padding=(1, 0)),
                              F.max_pool2d(m, (1, 3), stride=1, padding=(0, 1)))
    return m[:, 0]


def box_mask(height: int, width: int, box: Box, batch: int = 1) -> torch.Tensor:
    """A [B, H, W] mask that is 1 inside the pixel box (x0, y0, x1, y1), x1/y1 exclusive."""
    x0, y0, x1, y1 = box
    x0, x1 = max(0, min(int(x0), width)), max(0, min(int(x1), width))
    y0, y1 = max(0, min(int(y0), height)), max(0, min(int(y1), height))
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box {tuple(box)} does not overlap the {width}x{height} image")
    out = torch.zeros(batch, height, width)
    out[:, y0:y1, x0:x1] = 1.0
    return out


def mask_for_plan(
    category: str,
    height: int,
    width: int,
    mask: Optional[torch.Tensor] = None,
    box: Optional[Box] = None,
    grow_remove_px: int = 20,
    grow_local_px: int = 0,
    object_phrase: str = "",
    batch: int = 1,
) -> torch.Tensor:
    """The [B, H, W] mask to inpaint for one plan.

    remove/local: the given object mask, grown (removal needs a margin so fur and shadows go too);
    background: the given SUBJECT mask, inverted; global: all ones; addition: the plan's box
    (or the given mask when the plan has no box).
    """
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}; expected one of {', '.join(CATEGORIES)}")
    if category == "global":
        return torch.ones(batch, height, width)
    if category == "addition":
        if box is not None:
            return box_mask(height, width, box, batch)
        if mask is None:
            raise ValueError(
                "category 'addition' needs a box from the planner (or typed into override_box) or a drawn mask "
                "of where the new object goes; none was given"
            )
        return fit_mask(as_batch(mask), height, width)
    what = f"'{object_phrase}'" if object_phrase else "the object"
    if mask is None:
        need = "the main subject (it is inverted)" if category == "background" else what
        raise ValueError(
            f"category '{category}' needs a mask of {need}: connect BrushEditTextMask (with the planner's "
            "object phrase) or a drawn mask to the 'mask' input"
        )
    m = fit_mask(as_batch(mask), height, width)
    if float(m.max()) <= 0.0:
        raise ValueError(
            f"the mask for {what} is empty (nothing detected or nothing drawn), so category '{category}' "
            "has nothing to edit; change the object phrase, lower the detection threshold, or draw the mask"
        )
    if category == "remove":
        return grow(m, grow_remove_px)
    if category == "local":
        return grow(m, grow_local_px)
    return 1.0 - m  # background: everything except the subject
