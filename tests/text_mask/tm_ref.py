"""Shared pieces of the tests against the ORIGINAL Grounded-SAM pipeline (issue 17): a relative error
and 8-bit test images as ComfyUI's LoadImage gives them."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

CPU = torch.device("cpu")
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| / max |b| in float64."""
    a, b = a.double(), b.double()
    return ((a - b).abs().max() / b.abs().max().clamp(min=1e-30)).item()


def u8_image(h: int, w: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(HWC uint8 pixels, the float image ComfyUI's LoadImage gives for an 8-bit file of them)."""
    g = torch.Generator().manual_seed(seed)
    u8 = torch.randint(0, 256, (h, w, 3), generator=g, dtype=torch.uint8)
    return u8, u8.float() / 255


def pil_resize(u8: torch.Tensor, size_hw: tuple[int, int]) -> torch.Tensor:
    """Pillow's bilinear resize of HWC uint8 pixels (what both originals do)."""
    h, w = size_hw
    return torch.from_numpy(np.array(Image.fromarray(u8.numpy()).resize((w, h), Image.BILINEAR)))
