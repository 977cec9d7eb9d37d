"""Plan -> inpainting mask: grow for removal, invert for background, full for global, box for addition.

The mask work itself is the pack's one toolbox (``image/mask_ops``): a mask of another size follows
its rule (same aspect -> resized, other aspect -> error) and growing has ComfyUI's GrowMask shape.
"""
from __future__ import annotations

from typing import Optional

import torch

from ..image.mask_ops import as_mask_batch, fit_mask, grow_mask
from .plan import CATEGORIES, Box, PlanInputError


def box_mask(height: int, width: int, box: Box, batch: int = 1) -> torch.Tensor:
    """A [B, H, W] mask that is 1 inside the pixel box (x0, y0, x1, y1), x1/y1 exclusive."""
    x0, y0, x1, y1 = box
    x0, x1 = max(0, min(int(x0), width)), max(0, min(int(x1), width))
    y0, y1 = max(0, min(int(y0), height)), max(0, min(int(y1), height))
    if x1 <= x0 or y1 <= y0:
        raise PlanInputError(f"box {tuple(box)} does not overlap the {width}x{height} image")
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

    remove/local: the given object mask, grown like ComfyUI's GrowMask with tapered corners (removal
    needs a margin so fur and shadows go too);
    background: the given SUBJECT mask, inverted; global: all ones; addition: the plan's box
    (or the given mask when the plan has no box).
    """
    if category not in CATEGORIES:
        raise PlanInputError(f"unknown category {category!r}; expected one of {', '.join(CATEGORIES)}")
    if category == "global":
        return torch.ones(batch, height, width)
    if category == "addition":
        if box is not None:
            return box_mask(height, width, box, batch)
        if mask is None:
            raise PlanInputError(
                "category 'addition' needs a box from the planner (or typed into override_box) or a drawn mask "
                "of where the new object goes; none was given"
            )
        return fit_mask(as_mask_batch(mask), height, width)
    what = f"'{object_phrase}'" if object_phrase else "the object"
    if mask is None:
        need = "the main subject (it is inverted)" if category == "background" else what
        raise PlanInputError(
            f"category '{category}' needs a mask of {need}: connect BrushEditTextMask (with the planner's "
            "object phrase) or a drawn mask to the 'mask' input"
        )
    m = fit_mask(as_mask_batch(mask), height, width)
    if float(m.max()) <= 0.0:
        raise PlanInputError(
            f"the mask for {what} is empty (nothing detected or nothing drawn), so category '{category}' "
            "has nothing to edit; change the object phrase, lower the detection threshold, or draw the mask"
        )
    if category in ("remove", "local"):  # GrowMask's default shape (tapered corners: a diamond)
        return grow_mask(m, max(0, int(grow_remove_px if category == "remove" else grow_local_px)))
    return 1.0 - m  # background: everything except the subject
