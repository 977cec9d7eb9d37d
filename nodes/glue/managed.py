"""Extra models under ComfyUI's model management, and the dtype they are loaded in.

GroundingDINO, SAM, the local planners and the pre-fill models are wrapped in a ModelPatcher, so
ComfyUI moves them to the device when a node needs them and frees them under memory pressure
or on /free, like its own models. BrushNet itself is a ModelPatcher made by the loader node.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

import comfy.model_management as mm
import comfy.model_patcher
import comfy.patcher_extension

from .errors import OptionError

#: dtype names the loaders offer besides "auto"
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64}


def pick_dtype(name: str | None, device: torch.device) -> torch.dtype:
    """A named dtype, or for "auto" (or none) ComfyUI's choice for ``device``: bfloat16 or float16
    where the device supports it, float32 otherwise (always on CPU)."""
    if name in (None, "", "auto"):
        if mm.should_use_bf16(device):
            return torch.bfloat16
        return torch.float16 if mm.should_use_fp16(device) else torch.float32
    if name not in DTYPES:
        raise OptionError(f"unknown dtype '{name}': use one of auto, {', '.join(DTYPES)}")
    return DTYPES[name]


def check_dtype(name: str | None, choices: tuple[str, ...] = tuple(DTYPES)) -> bool | str:
    """For ``validate_inputs``: True for "auto" or one of ``choices``, else the message."""
    if name in (None, "auto", *choices):
        return True
    return f"unknown dtype '{name}': use one of auto, {', '.join(choices)}"


class ModuleHolder(torch.nn.Module):
    """A plain module around the managed one: ModelPatcher writes ``.device``, which
    transformers' PreTrainedModel exposes as a read-only property."""

    def __init__(self, module: torch.nn.Module) -> None:
        super().__init__()
        self.module = module


def manage(module: torch.nn.Module, *, text_encoder: bool = False,
           on_unload: Callable[[], None] | None = None) -> comfy.model_patcher.ModelPatcher:
    """A ModelPatcher for ``module`` on ComfyUI's devices (the text-encoder ones for language models).

    ``on_unload`` runs when ComfyUI unloads the model for good (POST /free, memory pressure), not
    when it only re-loads it for the next run: per-model caches on the load device go with it.
    """
    if text_encoder:
        load_device, offload_device = mm.text_encoder_device(), mm.text_encoder_offload_device()
    else:
        load_device, offload_device = mm.get_torch_device(), mm.unet_offload_device()
    patcher = comfy.model_patcher.ModelPatcher(ModuleHolder(module), load_device=load_device,
                                               offload_device=offload_device)
    if on_unload is not None:
        patcher.add_callback(comfy.patcher_extension.CallbacksMP.ON_DETACH, _OnUnload(on_unload))
    return patcher


class _OnUnload:
    """ModelPatcher ON_DETACH callback; holds only the callable (no reference cycle to the patcher)."""

    def __init__(self, run: Callable[[], None]) -> None:
        self.run = run

    def __call__(self, _patcher: Any = None, unpatch_all: bool = True, *_args: Any) -> None:
        if unpatch_all:  # False: ComfyUI re-loading the same model for the next run
            self.run()


def loader_for(patcher: comfy.model_patcher.ModelPatcher) -> Callable[[], torch.device]:
    """``ensure_loaded() -> device`` for core code that loads its model on demand (the planners)."""

    def ensure_loaded() -> torch.device:
        mm.load_models_gpu([patcher])
        return patcher.load_device

    ensure_loaded.patcher = patcher  # type: ignore[attr-defined]
    return ensure_loaded


@dataclass
class ManagedModel:
    """What a loader node hands on: the core model (with its tokenizer or settings) and the
    ModelPatcher ComfyUI moves and frees its weights through."""

    bundle: Any
    patcher: Any

    def load(self) -> None:
        mm.load_model_gpu(self.patcher)

    def device(self) -> torch.device:
        return next(self.bundle.model.parameters()).device
