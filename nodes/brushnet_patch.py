"""Attaching a BrushNet to a cloned ModelPatcher through ComfyUI's extension points only."""
from __future__ import annotations

import logging
import uuid
from typing import Any

import torch

import comfy.conds
import comfy.model_patcher
import comfy.patcher_extension as pe

from ..brushnet_core.injection import (
    InjectionPlan, input_block_after_skip_patch, input_block_patch, object_patches, output_block_patch)
from ..brushnet_core.runner import BrushNetRunner

log = logging.getLogger("BrushEdit")


def _arg(args: tuple, kwargs: dict, index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)


class BrushNetSampling:
    """The wrappers one BrushNet node adds: per-run setup/cleanup and per-call feature computation."""

    def __init__(self, key: str, runner: BrushNetRunner, percent_range: tuple[float, float]) -> None:
        self.key, self.runner, self.percent_range = key, runner, percent_range

    def outer_sample(self, executor: Any, *args: Any, **kwargs: Any) -> Any:
        guider = getattr(executor, "class_obj", None)
        window = self.runner.window
        start, end = self.percent_range
        if guider is not None and (start > 0.0 or end < 1.0):
            ms = guider.model_patcher.get_model_object("model_sampling")
            window.sigma_start = float(ms.percent_to_sigma(start)) if start > 0.0 else float("inf")
            window.sigma_end = float(ms.percent_to_sigma(end)) if end < 1.0 else 0.0
        self.runner.reset()
        try:
            return executor(*args, **kwargs)
        finally:
            self.runner.reset()

    def diffusion_model(self, executor: Any, *args: Any, **kwargs: Any) -> Any:
        x = _arg(args, kwargs, 0, "x")
        timesteps = _arg(args, kwargs, 1, "timesteps")
        context = _arg(args, kwargs, 2, "context")
        y = _arg(args, kwargs, 3, "y")
        options = _arg(args, kwargs, 5, "transformer_options") or {}
        sigmas = options.get("sigmas")
        sigma = float(sigmas.max()) if isinstance(sigmas, torch.Tensor) else 0.0
        chunks = len(options.get("cond_or_uncond", [0])) or 1
        try:
            self.runner.prepare(x, timesteps, y, kwargs.get(self.key), chunks, sigma, options.get("sample_sigmas"),
                                context=context)
            return executor(*args, **kwargs)
        finally:
            self.runner.slot.clear()


def attach_brushnet(model: comfy.model_patcher.ModelPatcher, brushnet: comfy.model_patcher.ModelPatcher,
                    plan: InjectionPlan, runner: BrushNetRunner,
                    percent_range: tuple[float, float]) -> tuple[comfy.model_patcher.ModelPatcher, str]:
    """A clone of ``model`` with the BrushNet patches, wrappers and weights registered; and its cond key."""
    key = f"brushedit_brushnet_{uuid.uuid4().hex[:12]}"
    patched = model.clone()
    slot = runner.slot
    patched.set_model_input_block_patch(input_block_patch(slot))
    patched.set_model_input_block_patch_after_skip(input_block_after_skip_patch(slot))
    patched.set_model_output_block_patch(output_block_patch(slot, plan))
    current = lambda j: patched.get_model_object(f"diffusion_model.output_blocks.{j}")  # noqa: E731
    for j, block in object_patches(plan, slot, current).items():
        patched.add_object_patch(f"diffusion_model.output_blocks.{j}", block)
    sampling = BrushNetSampling(key, runner, percent_range)
    patched.add_wrapper_with_key(pe.WrappersMP.OUTER_SAMPLE, key, sampling.outer_sample)
    patched.add_wrapper_with_key(pe.WrappersMP.DIFFUSION_MODEL, key, sampling.diffusion_model)
    patched.set_additional_models(key, [brushnet])
    return patched, key


def add_conditioning(conditioning: list, key: str, cond_latent: torch.Tensor) -> list:
    """Copies of the conditioning entries carrying BrushNet's per-item input as a model cond.

    ComfyUI then crops it to each entry's area, repeats it to the batch and concatenates it in the
    same cond/uncond order as the latent, and passes it to the diffusion model as ``key``.
    """
    out = []
    for emb, opts in conditioning:
        opts = dict(opts)
        model_conds = dict(opts.get("model_conds", {}))
        model_conds[key] = comfy.conds.CONDNoiseShape(cond_latent)
        opts["model_conds"] = model_conds
        out.append([emb, opts])
    return out
