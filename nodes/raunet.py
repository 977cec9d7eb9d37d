"""The `RAUNet` node (earlier pack's id, inputs and widget order): HiDiffusion's RAU-Net on a model clone."""
from __future__ import annotations

import logging
import uuid
from typing import Any

from comfy_api.latest import io

import comfy.patcher_extension as pe
from comfy.ldm.modules.diffusionmodules.openaimodel import Downsample

from ..brushnet_core.branch.injection import is_branch_patch
from ..brushnet_core.raunet import (RAUNET_OPTION, RAUNetPatches, RAUNetSchedule, RAUNetUnsupportedModel,
                                    branch_adds_first, fit_control, plan_for)
from .glue.schema import search_aliases

log = logging.getLogger("BrushEdit")

#: block-patch lists in which a branch's adds must come before RAU-Net's XA pooling / restoring
_ORDERED_PATCHES = ("input_block_patch", "output_block_patch")


def model_name(model: Any) -> str:
    """'SD1.5', 'SDXL' or the host's class name of the model, for messages."""
    import comfy.model_base as mb

    inner = model.model
    if isinstance(inner, mb.SDXL):
        return "SDXL"
    if type(inner) is mb.BaseModel:
        return "SD1.5/SD2"
    return type(inner).__name__


def _supported(model: Any) -> None:
    import comfy.model_base as mb

    inner = model.model
    if not (isinstance(inner, mb.SDXL) or type(inner) is mb.BaseModel):
        raise RAUNetUnsupportedModel(
            f"RAUNet supports SD1.5/SD2 and SDXL models; this model is {model_name(model)}. "
            "Remove the RAUNet node for this model (or load an SD1.5 or SDXL checkpoint)."
        )


def _branch_adds_first(options: dict) -> dict:
    """``options``, or a copy whose block-patch lists have BrushNet/PowerPaint adds before RAU-Net's patches."""
    patches = options.get("patches") or {}
    ordered = {k: branch_adds_first(patches[k], is_branch_patch) for k in _ORDERED_PATCHES if k in patches}
    if all(ordered[k] is patches[k] for k in ordered):
        return options
    return {**options, "patches": {**patches, **ordered}}


class _Sampling:
    """Per model call: ControlNet residuals resized to RAU-Net's feature sizes; branch adds put before XA.

    A BrushNet/PowerPaint on the same model resizes its own features (it reads this node's
    RAUNetPatches from the options, key RAUNET_OPTION).
    """

    def __init__(self, patches: RAUNetPatches) -> None:
        self.patches = patches

    def diffusion_model(self, executor: Any, *args: Any, **kwargs: Any) -> Any:
        args = list(args)
        options = (args[5] if len(args) > 5 else kwargs.get("transformer_options")) or {}
        du, xa = self.patches.flags(options)
        if xa:
            ordered = _branch_adds_first(options)
            if ordered is not options:
                if len(args) > 5:
                    args[5] = ordered
                else:
                    kwargs["transformer_options"] = ordered
        if du or xa:
            x = args[0] if args else kwargs.get("x")
            hw = (int(x.shape[-2]), int(x.shape[-1]))
            if len(args) > 4:
                args[4] = fit_control(args[4], self.patches.plan, hw, du, xa)
            elif "control" in kwargs:
                kwargs["control"] = fit_control(kwargs["control"], self.patches.plan, hw, du, xa)
        return executor(*args, **kwargs)


class RAUNet(io.ComfyNode):
    """Same id, inputs (order) and output as the earlier ComfyUI-BrushNet pack's node."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RAUNet",
            **search_aliases("raunet", "hidiffusion", "high resolution", "hires fix", "large image"),
            display_name="RAUNet",
            category="inpaint",
            description="HiDiffusion's RAU-Net for generating above the model's native size (SD1.5/SD2 and SDXL): "
                        "fewer duplicated objects and limbs. DU shrinks the deep levels with a dilated stride-4 "
                        "downsampler; XA pools the features of the first attention level. Each part is applied for "
                        "a range of sampling steps (0-based; start inclusive, end exclusive).",
            inputs=[
                io.Model.Input("model", tooltip="An SD1.5/SD2 or SDXL model (LoRAs, ControlNet, BrushNet and "
                                                "PowerPaint fine: their features are resized to RAU-Net's sizes)."),
                io.Int.Input("du_start", default=0, min=0, max=10000,
                             tooltip="First sampling step (0-based) of the Downsample/Upsample part."),
                io.Int.Input("du_end", default=4, min=0, max=10000,
                             tooltip="The DU part stops before this step; du_start >= du_end turns it off. More "
                                     "steps: fewer duplicates, more symmetric images."),
                io.Int.Input("xa_start", default=4, min=0, max=10000,
                             tooltip="First sampling step (0-based) of the cross-attention (feature pooling) part."),
                io.Int.Input("xa_end", default=10, min=0, max=10000,
                             tooltip="The XA part stops before this step; xa_start >= xa_end turns it off. Fewer "
                                     "objects tracked at once: fewer duplicates, less background detail."),
            ],
            outputs=[io.Model.Output(display_name="model", tooltip="A patched clone of the model with RAU-Net.")],
        )

    @classmethod
    def execute(cls, model, du_start: int, du_end: int, xa_start: int, xa_end: int) -> io.NodeOutput:
        _supported(model)
        plan = plan_for(model.get_model_object("diffusion_model"), describe=f"this {model_name(model)} model")
        schedule = RAUNetSchedule(int(du_start), int(du_end), int(xa_start), int(xa_end))
        if schedule.is_off():
            log.info("[BrushEdit] RAUNet: both step ranges are empty (du %s-%s, xa %s-%s): model returned as is",
                     du_start, du_end, xa_start, xa_end)
            return io.NodeOutput(model)
        patches = RAUNetPatches(plan, schedule)
        patched = model.clone()
        patched.set_model_forward_timestep_embed_patch((Downsample, patches.downsample))
        patched.set_model_input_block_patch(patches.input_patch)
        patched.set_model_output_block_patch(patches.output_patch)
        # clone() deep-copied model_options: this dict is the clone's own
        patched.model_options.setdefault("transformer_options", {})[RAUNET_OPTION] = patches
        key = f"brushedit_raunet_{uuid.uuid4().hex[:12]}"
        patched.add_wrapper_with_key(pe.WrappersMP.DIFFUSION_MODEL, key, _Sampling(patches).diffusion_model)
        return io.NodeOutput(patched)


NODES = [RAUNet]
