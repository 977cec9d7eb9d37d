"""The original Grounded-SAM pipeline's numeric steps that transformers' ports do differently.

Written from the definitions in IDEA-Research GroundingDINO (``groundingdino/util/inference.py``,
``datasets/transforms.py``, ``util/misc.py``) and segment-anything (``utils/transforms.py``,
``predictor.py``); the code is our own.

* **Resize.** Both originals resize the 8-bit image with Pillow's bilinear filter (GroundingDINO:
  ``RandomResize([800], max_size=1333)`` on a PIL image; SAM: ``ResizeLongestSide.apply_image`` via
  ``to_pil_image``), then convert to float. :func:`resize_uint8` does the same.
* **Reference boxes.** GroundingDINO un-sigmoids its reference boxes with
  ``log(max(x, eps) / max(1 - x, eps))`` (``x`` clamped to [0, 1]) and ``eps = 1e-3``; transformers
  uses ``torch.special.logit(x, eps=1e-5)``, i.e. ``x`` clamped to [eps, 1 - eps]. The two differ
  wherever a box coordinate saturates (objects filling the frame). :func:`reference_eps` makes
  transformers' GroundingDINO use the original formula inside a ``with`` block.
"""
from __future__ import annotations

import contextlib
import contextvars
import importlib
import logging
import sys
import threading
from collections.abc import Iterator
from typing import Any, Optional

import numpy as np
import torch

log = logging.getLogger(__name__)

#: GroundingDINO's ``inverse_sigmoid`` eps (groundingdino/util/misc.py)
ORIGINAL_REFERENCE_EPS = 1e-3
#: the eps transformers' GroundingDINO passes to ``torch.special.logit``
TRANSFORMERS_REFERENCE_EPS = 1e-5

# ----------------------------------------------------------------------------------------- resize


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """HWC float image in [0, 1] -> HWC uint8 RGB array (``round(x * 255)``: a ComfyUI image loaded
    from an 8-bit file gives back exactly the file's bytes)."""
    x = image[..., :3].detach().float().cpu().clamp(0, 1).mul(255).round().to(torch.uint8)
    return np.ascontiguousarray(x.numpy())


def resize_uint8(pixels: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """Pillow bilinear resize of an HWC uint8 RGB array to ``size_hw`` (what torchvision's ``resize``
    does to a PIL image); the same size gives the pixels back unchanged."""
    from PIL import Image

    h, w = size_hw
    if pixels.shape[:2] == (h, w):
        return pixels
    resample = getattr(Image, "Resampling", Image).BILINEAR
    return np.array(Image.fromarray(pixels).resize((w, h), resample))


def uint8_to_chw(pixels: np.ndarray, device: torch.device) -> torch.Tensor:
    """HWC uint8 -> (1, 3, H, W) uint8 tensor on ``device``."""
    return torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1).unsqueeze(0).to(device)


# ------------------------------------------------------------------------------- reference boxes


def inverse_sigmoid(x: torch.Tensor, eps: float = ORIGINAL_REFERENCE_EPS) -> torch.Tensor:
    """GroundingDINO's un-sigmoid: ``log(max(x, eps) / max(1 - x, eps))`` with ``x`` clamped to [0, 1]."""
    x = x.clamp(min=0, max=1)
    return torch.log(x.clamp(min=eps) / (1 - x).clamp(min=eps))


_EPS: contextvars.ContextVar[Optional[float]] = contextvars.ContextVar("brushedit_reference_eps", default=None)
_INSTALL_LOCK = threading.Lock()


class _Special:
    """``torch.special`` as seen by transformers' GroundingDINO module: ``logit`` follows the original's
    formula while :func:`reference_eps` is active in this thread/context, and is torch's otherwise."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def logit(self, x: torch.Tensor, eps: Optional[float] = None, *args: Any, **kwargs: Any) -> torch.Tensor:
        ours = _EPS.get()
        if ours is None:
            return self._real.logit(x, eps, *args, **kwargs)
        return inverse_sigmoid(x, ours)


class _Torch:
    """Stands in for the name ``torch`` inside one transformers module (see :class:`_Special`)."""

    _brushedit_reference_eps = True

    def __init__(self, real: Any) -> None:
        self._real = real
        self.special = _Special(real.special)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def logit(self, x: torch.Tensor, eps: Optional[float] = None, *args: Any, **kwargs: Any) -> torch.Tensor:
        return self.special.logit(x, eps, *args, **kwargs)


def _model_module(model: Any) -> Any:
    """The transformers module that defines the GroundingDINO model class (and its decoder)."""
    for cls in type(model).__mro__:
        if cls.__module__.startswith("transformers.") and "grounding_dino" in cls.__module__:
            return sys.modules.get(cls.__module__) or importlib.import_module(cls.__module__)
    return None


def install_reference_eps(model: Any) -> bool:
    """Make the module of ``model``'s class read ``torch`` through :class:`_Torch` (once, idempotent).
    Outside :func:`reference_eps` nothing changes for anyone. False when the model is not transformers'
    GroundingDINO (then the eps cannot be changed and transformers' 1e-5 applies)."""
    module = _model_module(model)
    if module is None or not hasattr(module, "torch"):
        return False
    with _INSTALL_LOCK:
        if not getattr(module.torch, "_brushedit_reference_eps", False):
            module.torch = _Torch(module.torch)
    return True


@contextlib.contextmanager
def reference_eps(model: Any, eps: Optional[float]) -> Iterator[None]:
    """Within the block, ``model`` (transformers' GroundingDINO) un-sigmoids reference boxes with the
    original formula and ``eps`` (``None``: leave transformers' own ``logit(x, 1e-5)``)."""
    if eps is None:
        yield
        return
    if not install_reference_eps(model):
        log.warning("[BrushEdit] %s is not transformers' GroundingDINO; reference-box eps left as it is",
                    type(model).__name__)
        yield
        return
    token = _EPS.set(float(eps))
    try:
        yield
    finally:
        _EPS.reset(token)
