"""Attaching a BrushNet (or PowerPaint) branch to a cloned ModelPatcher through ComfyUI's extension points only."""
from __future__ import annotations

import logging
import uuid
from typing import Any

import torch

import comfy.conds
import comfy.model_patcher
import comfy.patcher_extension as pe

from ...brushnet_core.branch.injection import (
    InjectionPlan, SizeFit, input_block_after_skip_patch, input_block_patch, is_wrapped, output_block_patch,
    unwrap_output_blocks, wrap_output_blocks)
from ...brushnet_core.branch.runner import BrushNetRunner
from ...brushnet_core.powerpaint.runner import PowerPaintRunner
from ...brushnet_core.raunet import RAUNET_OPTION
from .. import compat
from .errors import UnsupportedSamplingError

log = logging.getLogger("BrushEdit")


def _arg(args: tuple, kwargs: dict, index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)


class BrushNetSampling:
    """The wrappers one BrushNet node adds: per-run setup/cleanup and per-call feature computation."""

    def __init__(self, key: str, runner: BrushNetRunner, plan: InjectionPlan, percent_range: tuple[float, float],
                 node: str) -> None:
        self.key, self.runner, self.plan, self.percent_range, self.node = key, runner, plan, percent_range, node

    def inject(self, patcher: Any) -> None:
        """Wrap the output blocks of the model instance ComfyUI is loading (any copy of it)."""
        wrap_output_blocks(patcher.model.diffusion_model.output_blocks, self.plan, self.runner.slot)

    def eject(self, patcher: Any) -> None:
        unwrap_output_blocks(patcher.model.diffusion_model.output_blocks, self.runner.slot)

    def outer_sample(self, executor: Any, *args: Any, **kwargs: Any) -> Any:
        guider = getattr(executor, "class_obj", None)
        patcher = getattr(guider, "model_patcher", None)
        if patcher is not None and compat.multigpu_devices(patcher):
            raise UnsupportedSamplingError(
                f"{self.node}: multi-GPU sampling is not supported: BrushNet computes its features on one device "
                "per model call. Remove the MultiGPU node from this graph (sample on one GPU)."
            )
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
        # Not read here: the runner reads the sigma only if its window depends on it, together with its
        # other per-call values (one host-device sync per call at most).
        sigma = sigmas if isinstance(sigmas, torch.Tensor) else 0.0
        chunks = len(options.get("cond_or_uncond", [0])) or 1
        blocks = executor.class_obj.output_blocks if hasattr(executor.class_obj, "output_blocks") else None
        # The model that runs may be a copy ComfyUI made after loading (hooks, compile, multi-GPU)
        # whose injection was skipped: wrap it for this call only, and leave it as it was.
        wrapped_here = blocks is not None and not is_wrapped(blocks, self.plan, self.runner.slot)
        try:
            if wrapped_here:
                wrap_output_blocks(blocks, self.plan, self.runner.slot)
            self.runner.prepare(x, timesteps, y, kwargs.get(self.key), chunks, sigma, options.get("sample_sigmas"),
                                context=context)
            if self.runner.slot.features is not None:
                self.runner.slot.fit = self._raunet_fit(options, x)
            return executor(*args, **kwargs)
        finally:
            self.runner.slot.clear()
            if wrapped_here:
                unwrap_output_blocks(blocks, self.runner.slot)

    def _raunet_fit(self, options: dict, x: torch.Tensor) -> SizeFit | None:
        """Where a RAUNet node on this model changes the UNet's sizes in this call (None: nowhere)."""
        raunet = options.get(RAUNET_OPTION)
        sizes = raunet.branch_sizes(options, (int(x.shape[-2]), int(x.shape[-1]))) if raunet is not None else None
        return SizeFit(self.plan, *sizes) if sizes is not None else None


class TaskContext:
    """PowerPaint: the per-call task-prompt context, handed to the runner by a DIFFUSION_MODEL wrapper.

    Each conditioning entry carries its side's task context as a model cond (``key``), so ComfyUI
    batches it with the right cond/uncond item; entries the node did not make fall back to the
    cond/uncond order (``PowerPaintRunner.context_for``).
    """

    def __init__(self, runner: PowerPaintRunner) -> None:
        self.key = f"brushedit_powerpaint_ctx_{uuid.uuid4().hex[:12]}"
        self.runner = runner

    def wrapper(self, executor: Any, *args: Any, **kwargs: Any) -> Any:
        options = _arg(args, kwargs, 5, "transformer_options") or {}
        self.runner.task_context = self.runner.context_for(_arg(args, kwargs, 0, "x"), kwargs.get(self.key),
                                                           list(options.get("cond_or_uncond", [0])))
        try:
            return executor(*args, **kwargs)
        finally:
            self.runner.task_context = None


class AttachedBranch:
    """A model clone with a branch attached, and what the conditioning entries must carry for it."""

    def __init__(self, model: comfy.model_patcher.ModelPatcher, key: str, cond_latent: torch.Tensor,
                 task: TaskContext | None) -> None:
        self.model, self.key, self.cond_latent, self.task = model, key, cond_latent, task

    def conditioning(self, conditioning: list, side: int) -> list:
        """Copies of the entries carrying the branch's image input (and, for PowerPaint, the task
        context of ``side``: 0 positive, 1 negative)."""
        out = add_conditioning(conditioning, self.key, self.cond_latent)
        if self.task is not None:
            out = add_model_cond(out, self.task.key, comfy.conds.CONDCrossAttn(self.task.runner.contexts[side]))
        return out


def attach_brushnet(model: comfy.model_patcher.ModelPatcher, brushnet: comfy.model_patcher.ModelPatcher,
                    plan: InjectionPlan, runner: BrushNetRunner, percent_range: tuple[float, float],
                    cond_latent: torch.Tensor, node: str = "BrushNet") -> AttachedBranch:
    """A clone of ``model`` with the branch's patches, wrappers and weights registered.

    Nothing holds modules of ``model``'s instance: the output-block adds are an injection that
    ComfyUI runs on whichever copy of the model it loads for sampling. A PowerPaintRunner gets
    its task-context wrapper first, so that it runs outside the branch's wrapper.
    """
    key = f"brushedit_brushnet_{uuid.uuid4().hex[:12]}"
    patched = model.clone()
    task = TaskContext(runner) if isinstance(runner, PowerPaintRunner) else None
    if task is not None:
        patched.add_wrapper_with_key(pe.WrappersMP.DIFFUSION_MODEL, task.key, task.wrapper)
    slot = runner.slot
    patched.set_model_input_block_patch(input_block_patch(slot))
    patched.set_model_input_block_patch_after_skip(input_block_after_skip_patch(slot))
    patched.set_model_output_block_patch(output_block_patch(slot, plan))
    sampling = BrushNetSampling(key, runner, plan, percent_range, node)
    patched.set_injections(key, [compat.model_injection(sampling.inject, sampling.eject)])
    patched.add_wrapper_with_key(pe.WrappersMP.OUTER_SAMPLE, key, sampling.outer_sample)
    patched.add_wrapper_with_key(pe.WrappersMP.DIFFUSION_MODEL, key, sampling.diffusion_model)
    patched.set_additional_models(key, [brushnet])
    return AttachedBranch(patched, key, cond_latent, task)


def add_conditioning(conditioning: list, key: str, cond_latent: torch.Tensor) -> list:
    """Copies of the conditioning entries carrying BrushNet's per-item input as a model cond.

    ComfyUI then crops it to each entry's area, repeats it to the batch and concatenates it in the
    same cond/uncond order as the latent, and passes it to the diffusion model as ``key``.
    """
    return add_model_cond(conditioning, key, comfy.conds.CONDNoiseShape(cond_latent))


def add_model_cond(conditioning: list, key: str, cond: Any) -> list:
    """Copies of the conditioning entries with ``cond`` as model cond ``key`` (the input is not changed)."""
    out = []
    for emb, opts in conditioning:
        opts = dict(opts)
        opts["model_conds"] = {**opts.get("model_conds", {}), key: cond}
        out.append([emb, opts])
    return out
