"""Learned pre-fill models (big-lama, MAT) read safely and built through spandrel.

spandrel (a ComfyUI requirement) knows LaMa out of the box. MAT lives in its companion package
``spandrel-extra-arches`` (non-commercial licence), which ComfyUI also picks up when installed.
The files users have:

- big-lama: ``big-lama.pt`` (a TorchScript archive: only its tensors are read), or the same
  weights as ``.safetensors``; the original ``best.ckpt`` training checkpoint only in a form
  readable without running pickled code (the discriminator and loss weights are dropped);
- MAT: ``MAT_Places512_G_fp16.safetensors`` (or ``.pth``).

Nothing here imports ComfyUI.
"""
from __future__ import annotations

import logging
import os
import zipfile
from dataclasses import dataclass
from typing import Any

import torch
from ..errors import BrushEditError

log = logging.getLogger(__name__)

EXTRA_ARCHES_PACKAGE = "spandrel-extra-arches"
_MAT_KEYS = ("synthesis.first_stage.conv_first.conv.resample_filter",
             "model.synthesis.first_stage.conv_first.conv.resample_filter")
_MAT_Z_SEED = 0  # MAT draws its latent code z at construction; fixed so a pre-fill is repeatable
_KINDS = {"LaMa": "lama", "MAT": "mat"}


class InpaintModelError(BrushEditError, ValueError):
    """A file that is not a usable big-lama / MAT model, with the fix in the message."""


@dataclass
class InpaintModel:
    """A loaded pre-fill model: spandrel's descriptor and how to feed it."""

    kind: str  # "lama" or "mat"
    descriptor: Any  # spandrel.MaskedImageModelDescriptor
    size: int  # working size: long side (LaMa) or side of the square (MAT)
    square: bool
    multiple: int
    name: str = ""

    @property
    def module(self) -> torch.nn.Module:
        return self.descriptor.model

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``image [1,3,h,w]`` 0..1, ``mask [1,1,h,w]`` 0/1 -> ``[1,3,h,w]``, on the model's device."""
        param = next(self.module.parameters())
        for attr in ("z", "label"):  # MAT keeps its latent code and label as plain attributes
            value = getattr(self.module, attr, None)
            if isinstance(value, torch.Tensor) and value.device != param.device:
                setattr(self.module, attr, value.to(param.device))
        return self.descriptor(image.to(param.device, param.dtype), mask.to(param.device, param.dtype))


def _is_torchscript(path: str) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        return any(n.endswith("constants.pkl") or "/code/" in n for n in z.namelist())


def read_state_dict(path: str) -> dict[str, torch.Tensor]:
    """The tensors of a model file, read without running pickled code."""
    name = os.path.basename(path)
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".safetensors":
            import safetensors.torch

            return safetensors.torch.load_file(path, device="cpu")
        if ext == ".pt" and _is_torchscript(path):  # big-lama.pt: TorchScript; take its tensors only
            return dict(torch.jit.load(path, map_location="cpu").state_dict())
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except InpaintModelError:
        raise
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same advice
        raise InpaintModelError(
            f"{name} could not be read as model weights ({type(err).__name__}: {str(err)[:200]}). A training "
            "checkpoint that holds Python objects besides the weights is not loaded (that would run its code): "
            "use big-lama.pt or MAT_Places512_G_fp16.safetensors, or save the weights as .safetensors") from None
    if not isinstance(sd, dict):
        raise InpaintModelError(f"{name} holds a {type(sd).__name__}, not model weights: use big-lama.pt or "
                                "MAT_Places512_G_fp16.safetensors")
    return sd


def _unwrap(sd: dict) -> dict[str, torch.Tensor]:
    for key in ("state_dict", "model_state_dict", "params_ema", "params"):
        if isinstance(sd.get(key), dict):
            sd = sd[key]
            break
    tensors = {k: v for k, v in sd.items() if isinstance(v, torch.Tensor)}
    if any(k.startswith("generator.") for k in tensors):  # LaMa training checkpoint: generator only
        tensors = {k: v for k, v in tensors.items() if k.startswith("generator.")}
    return tensors


def _extra_registry():
    try:
        from spandrel_extra_arches import EXTRA_REGISTRY
    except ImportError:
        return None
    return EXTRA_REGISTRY


def load_inpaint_model(state_dict: dict, name: str = "model") -> InpaintModel:
    """Identify big-lama or MAT by its keys and build it with spandrel (float32, eval)."""
    from spandrel import MAIN_REGISTRY, UnsupportedModelError

    sd = _unwrap(state_dict)
    if not sd:
        raise InpaintModelError(f"{name} holds no tensors: use big-lama.pt or MAT_Places512_G_fp16.safetensors")
    is_mat = any(k in sd for k in _MAT_KEYS)
    registry = MAIN_REGISTRY
    if is_mat and "MAT" not in MAIN_REGISTRY:
        registry = _extra_registry()
        if registry is None:
            raise InpaintModelError(
                f"{name} is a MAT model; spandrel reads MAT only with its extra architectures: "
                f"pip install {EXTRA_ARCHES_PACKAGE} (in ComfyUI's Python; non-commercial licence), "
                "or use big-lama, which spandrel reads out of the box")
    try:
        descriptor = registry.load(sd)
    except UnsupportedModelError:
        raise InpaintModelError(
            f"{name} is not a model spandrel recognises: the pre-fill takes big-lama (big-lama.pt) or MAT "
            "(MAT_Places512_G_fp16.safetensors)") from None
    except (RuntimeError, KeyError, ValueError) as err:
        raise InpaintModelError(f"{name} looks like a {'MAT' if is_mat else 'LaMa'} model but its tensors do not "
                                f"fit ({str(err)[:300]}): the file is incomplete or another variant") from None
    arch = descriptor.architecture.id
    if arch not in _KINDS:
        raise InpaintModelError(
            f"{name} is a {descriptor.architecture.name} model ({descriptor.purpose}), not an inpainting model: "
            "load big-lama or MAT")
    kind = _KINDS[arch]
    module = descriptor.model
    if kind == "mat" and isinstance(getattr(module, "z", None), torch.Tensor):
        gen = torch.Generator().manual_seed(_MAT_Z_SEED)
        module.z = torch.randn(tuple(module.z.shape), generator=gen, dtype=torch.float64).to(module.z.dtype)
    descriptor.to(torch.float32).eval()
    req = descriptor.size_requirements
    square = bool(req.square)
    size = max(512, int(req.minimum)) if square else 512
    return InpaintModel(kind=kind, descriptor=descriptor, size=size, square=square,
                        multiple=max(8, int(req.multiple_of)), name=name)


def load_inpaint_file(path: str) -> InpaintModel:
    """Read and build a big-lama / MAT file."""
    name = os.path.basename(path)
    model = load_inpaint_model(read_state_dict(path), name)
    log.info("[BrushEdit] pre-fill model %s: %s, %.1f M parameters", name, model.kind,
             sum(p.numel() for p in model.module.parameters()) / 1e6)
    return model
