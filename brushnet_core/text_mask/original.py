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
  wherever a box coordinate saturates (objects filling the frame). :func:`reference_eps` makes one
  loaded transformers GroundingDINO use the original formula inside a ``with`` block, through hooks
  on that model instance that are removed after (no module of transformers is changed).
"""
from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Iterator
from typing import Any, Optional

import numpy as np
import torch
from torch import nn

from .errors import TextMaskCheckError
from .scoped import removed_after

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


def _bound(module: nn.Module, args: tuple, kwargs: dict, name: str) -> Any:
    """The argument ``name`` of a call ``module(*args, **kwargs)``, passed by keyword or by position."""
    if name in kwargs:
        return kwargs[name]
    try:
        return inspect.signature(module.forward).bind_partial(*args, **kwargs).arguments.get(name)
    except TypeError:
        return None


class _Refinement:
    """One call's hooks (see :func:`reference_eps`): they follow the reference boxes ``r_0 .. r_n`` of
    transformers' decoder loop and add ``inverse_sigmoid(r_k, eps) - logit(r_k, 1e-5)`` to each box-head
    output, so that transformers' ``output + logit(r_k, 1e-5)`` becomes the original's
    ``output + inverse_sigmoid(r_k, eps)`` (up to float rounding of that sum, about 1e-7).

    In the decoder, call ``k`` of a box head refines ``r_k``; ``r_{k+1}`` is computed here with the same
    operations as transformers (so it is the decoder's, bit for bit). After the decoder, the detection
    head calls the heads once per level ``L`` with ``r_L`` (``init_reference_points`` for level 0,
    ``intermediate_reference_points[L - 1]`` after). The two phases are told apart by the decoder's own
    pre- and post-hooks, so shared head objects (transformers 4: one module for all levels and for
    the decoder; transformers 5: the decoder holds a copy) need no bookkeeping."""

    def __init__(self, eps: float, levels: int) -> None:
        self.eps, self.levels = eps, levels
        self.refs: list[torch.Tensor] = []
        self.phase: Optional[str] = None
        self.calls = {"decoder": 0, "head": 0}

    def _delta(self, ref: torch.Tensor) -> torch.Tensor:
        return inverse_sigmoid(ref, self.eps) - torch.special.logit(ref, eps=TRANSFORMERS_REFERENCE_EPS)

    def decoder_starts(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        ref = _bound(module, args, kwargs, "reference_points")
        if not isinstance(ref, torch.Tensor) or ref.shape[-1] != 4:
            raise TextMaskCheckError(f"[BrushEdit] GroundingDINO's decoder got reference boxes of shape "
                                     f"{getattr(ref, 'shape', None)}, expected (..., 4); run it with "
                                     "DetectOptions(reference_eps=None) (transformers' eps)")
        self.refs, self.phase, self.calls = [ref], "decoder", {"decoder": 0, "head": 0}

    def decoder_ends(self, module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
        self.phase = "head"

    def box_head(self, module: nn.Module, args: tuple, output: torch.Tensor) -> Optional[torch.Tensor]:
        if self.phase is None:  # not inside a decoder call (e.g. the encoder's proposals)
            return None
        k = self.calls[self.phase]
        self.calls[self.phase] += 1
        if k >= self.levels:
            raise TextMaskCheckError(f"[BrushEdit] GroundingDINO called a box head {k + 1} times in its {self.phase}, "
                                     f"expected {self.levels}; run it with DetectOptions(reference_eps=None)")
        ref = self.refs[k]
        output = output + self._delta(ref)
        if self.phase == "decoder":  # transformers' own step, the same operations
            self.refs.append((output + torch.special.logit(ref, eps=TRANSFORMERS_REFERENCE_EPS)).sigmoid())
        return output

    def check(self, module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
        """After the whole model: every level was refined, from the reference boxes the decoder used."""
        got = getattr(output, "intermediate_reference_points", None)
        heads = self.calls["head"] == self.levels or getattr(output, "pred_boxes", None) is None
        ok = heads and self.calls["decoder"] == self.levels and (
            got is None or torch.equal(got, torch.stack(self.refs[1:], 1)))
        if not ok:
            raise TextMaskCheckError("[BrushEdit] GroundingDINO's reference-box refinement is not the one expected "
                                     "(transformers changed it?); run it with DetectOptions(reference_eps=None)")


def _decoder_and_heads(model: nn.Module) -> tuple[Optional[nn.Module], list[nn.Module]]:
    """transformers' GroundingDINO decoder in ``model`` and its box heads (the decoder's and the detection
    head's, each module object once); (None, []) for other models."""
    decoders = [m for m in model.modules() if type(m).__name__ == "GroundingDinoDecoder"]
    if len(decoders) != 1 or getattr(decoders[0], "bbox_embed", None) is None:
        return None, []
    heads: dict[int, nn.Module] = {}
    for holder in (decoders[0], model):
        for head in getattr(holder, "bbox_embed", None) or ():
            heads.setdefault(id(head), head)
    return decoders[0], list(heads.values())


@contextlib.contextmanager
def reference_eps(model: nn.Module, eps: Optional[float]) -> Iterator[None]:
    """Within the block, ``model`` (transformers' GroundingDINO) un-sigmoids reference boxes with the
    original formula and ``eps`` (``None``: leave transformers' own ``logit(x, 1e-5)``).

    Forward hooks on this model instance only, removed when the block ends (see :class:`_Refinement`);
    no module of transformers or torch is touched. The model must not run in another thread meanwhile."""
    decoder, heads = (None, []) if eps is None else _decoder_and_heads(model)
    if eps is not None and decoder is None:
        log.warning("[BrushEdit] %s is not transformers' GroundingDINO; reference-box eps left as it is",
                    type(model).__name__)
    if decoder is None:
        yield
        return
    state = _Refinement(float(eps), len(decoder.layers))
    handles: list[Any] = []
    with removed_after(handles):
        handles.append(decoder.register_forward_pre_hook(state.decoder_starts, with_kwargs=True))
        handles.append(decoder.register_forward_hook(state.decoder_ends, with_kwargs=True))
        handles.extend(head.register_forward_hook(state.box_head) for head in heads)
        handles.append(model.register_forward_hook(state.check, with_kwargs=True))
        yield
