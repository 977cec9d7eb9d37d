"""What the BrushNet and PowerPaint nodes share: the base-model checks and the one inpaint sequence.

:func:`inpaint_with_branch` prepares the image and mask, encodes the masked image with the VAE,
builds the branch's conditioning latent and the output latent, sets the step window and
attaches the branch to a clone of the model. The nodes differ only in the runner they hand it.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Callable

import torch
from comfy_api.latest import io

import comfy.model_management as mm

from ...brushnet_core.branch.config import SD15, SDXL
from ...brushnet_core.branch.injection import IncompatibleModelError, InjectionPlan, make_plan
from ...brushnet_core.branch.model import BrushNetModel
from ...brushnet_core.branch.runner import ActiveWindow, BrushNetRunner
from ...brushnet_core.image.prepare import (DEFAULT_MAX_PIXELS, InpaintInputError, conditioning_latent, output_latent,
                                            prepare_inpaint)
from ...brushnet_core.powerpaint.model import PowerPaintModel
from .brushnet_patch import attach_brushnet
from .errors import WrongModelError

log = logging.getLogger("BrushEdit")

FAMILY_NAMES = {SD15: "SD1.5", SDXL: "SDXL"}


def base_model_kind(model: Any) -> str:
    """'sd15', 'sdxl' or the model class name, for messages."""
    import comfy.model_base as mb

    inner = model.model
    if isinstance(inner, mb.SDXL):
        return SDXL
    if type(inner) is mb.BaseModel and getattr(inner, "adm_channels", 0) in (0, None):
        return SD15
    return type(inner).__name__


def check_pairing(model: Any, brushnet: BrushNetModel | PowerPaintModel) -> InjectionPlan:
    """Validate the base model for this branch; return the injection plan."""
    kind = base_model_kind(model)
    unet = model.get_model_object("diffusion_model")
    in_ch = getattr(unet, "in_channels", 4)
    if in_ch != 4:
        raise IncompatibleModelError(
            f"the base model's UNet takes {in_ch} input channels: it is an inpainting checkpoint. BrushNet adds "
            "inpainting to a normal (4-channel) SD1.5/SDXL checkpoint: load the non-inpainting version of the model"
        )
    bn_kind = brushnet.config.kind
    name = FAMILY_NAMES
    if kind in (SD15, SDXL) and kind != bn_kind:
        raise IncompatibleModelError(
            f"{name[bn_kind]} BrushNet connected to an {name[kind]} model: load the {name[kind]} BrushNet "
            f"(e.g. {'random_mask_brushnet_ckpt_sdxl_v0' if kind == SDXL else 'random_mask_brushnet_ckpt'}) "
            f"or use an {name[bn_kind]} checkpoint"
        )
    if bn_kind == SDXL and getattr(model.model, "adm_channels", 0) != brushnet.config.projection_class_embeddings_input_dim:
        raise IncompatibleModelError(
            f"SDXL BrushNet needs an SDXL base model (pooled text + size vector of "
            f"{brushnet.config.projection_class_embeddings_input_dim}); this model ({kind}) has "
            f"{getattr(model.model, 'adm_channels', 0)}"
        )
    return make_plan(unet, brushnet.config.down_feature_channels(), brushnet.config.up_feature_channels(),
                     describe=f"{name[bn_kind]} BrushNet")


#: per node: (the branch class it takes, the other one, message for the other one, message for anything else)
_BRANCH_INPUTS = {
    "BrushNet": (BrushNetModel, PowerPaintModel,
                 "this is a PowerPaint v2 BrushNet: use the PowerPaint node (with PowerPaintCLIPLoader) for it; the "
                 "BrushNet node takes plain BrushNet models",
                 "the brushnet input is a {}, not a BrushNet: connect a BrushNet Loader"),
    "PowerPaint": (PowerPaintModel, BrushNetModel,
                   "the powerpaint input is a plain BrushNet: use the BrushNet node for it, or load "
                   "PowerPaint_Brushnet/diffusion_pytorch_model.safetensors for this node",
                   "the powerpaint input is a {}: connect a BrushNet Loader that loaded the PowerPaint v2 BrushNet"),
}


def unwrap_branch(node: str, patcher: Any) -> BrushNetModel | PowerPaintModel:
    """The branch the ``node`` ("BrushNet" or "PowerPaint") takes, from a BrushNet Loader output;
    otherwise an error naming what is connected and which node or file to use."""
    wanted, other, other_message, message = _BRANCH_INPUTS[node]
    inner = getattr(patcher, "model", None)
    if isinstance(inner, wanted):
        return inner
    if isinstance(inner, other):
        raise WrongModelError(other_message)
    raise WrongModelError(message.format(type(inner or patcher).__name__))


# --- schema pieces the BrushNet and PowerPaint nodes share (same names, order and defaults) ---

def strength_inputs(node: str) -> list:
    """scale, start_at, end_at (required widgets, in this order)."""
    return [
        io.Float.Input("scale", default=1.0, min=0.0, max=10.0, step=0.1,
                       tooltip=f"Strength of the {node} features (1.0 as trained; 0 disables {node})."),
        io.Int.Input("start_at", default=0, min=0, max=10000,
                     tooltip=f"First sampling step (0-based) where {node} is applied."),
        io.Int.Input("end_at", default=10000, min=0, max=10000,
                     tooltip=f"{node} stops before this sampling step (10000 = to the end)."),
    ]


def schedule_inputs(node: str) -> list:
    """start_percent, end_percent, source_latent (optional, in this order)."""
    return [
        io.Float.Input("start_percent", default=0.0, min=0.0, max=1.0, step=0.01, optional=True,
                       tooltip=f"Alternative to start_at: fraction of the noise schedule where {node} starts."),
        io.Float.Input("end_percent", default=1.0, min=0.0, max=1.0, step=0.01, optional=True,
                       tooltip=f"Alternative to end_at: fraction of the noise schedule where {node} stops."),
        io.Latent.Input("source_latent", optional=True,
                        tooltip="Optional: VAE Encode of the same image (or of a pre-filled one) for soft "
                                "inpainting. The latent output is then this latent with the mask as its "
                                "noise mask, so KSampler's denoise below 1 and Differential Diffusion work. "
                                "Unconnected: an empty latent (sample with denoise 1.0)."),
    ]


def branch_outputs(node: str, carried: str) -> list:
    """model, positive, negative, latent."""
    return [
        io.Model.Output(display_name="model", tooltip=f"The model with {node} attached (a patched clone)."),
        io.Conditioning.Output(display_name="positive", tooltip=f"Positive conditioning carrying {carried}."),
        io.Conditioning.Output(display_name="negative", tooltip=f"Negative conditioning carrying {carried}."),
        io.Latent.Output(display_name="latent", tooltip="Empty latent of the (cropped) image size and batch "
                         "(sample it with denoise 1.0); with source_latent connected, that latent with the "
                         "mask as noise mask (any denoise)."),
    ]


def require_vae(node: str, vae: Any) -> None:
    """The branch nodes check their VAE first: it is the input most often left unconnected."""
    if vae is None:
        raise InpaintInputError(f"{node} needs the model's VAE: connect the VAE output of your checkpoint loader")


def max_pixels() -> int:
    """The largest image the branch nodes take (BRUSHEDIT_MAX_PIXELS raises the 16 MP default)."""
    return int(os.environ.get("BRUSHEDIT_MAX_PIXELS", DEFAULT_MAX_PIXELS))


def inpaint_with_branch(node: str, model: Any, vae: Any, image: torch.Tensor, mask: torch.Tensor, branch: Any,
                        plan: InjectionPlan, positive: list, negative: list, *, scale: float, start_at: int,
                        end_at: int, start_percent: float, end_percent: float, source_latent: dict | None,
                        make_runner: Callable[[torch.Tensor, ActiveWindow], BrushNetRunner]) -> tuple:
    """(model, positive, negative, latent) of the BrushNet and PowerPaint nodes.

    ``make_runner(cond_latent, window)`` builds the node's runner. With scale 0, an empty step
    window or an empty percent range the model and conditioning are returned as they are.
    """
    require_vae(node, vae)
    inputs = prepare_inpaint(image, mask, max_pixels=max_pixels())
    latent_format = model.get_model_object("latent_format")
    masked_latent = latent_format.process_in(vae.encode(inputs.masked_image))
    cond = conditioning_latent(masked_latent, inputs.hole.to(masked_latent.device))
    latent = output_latent(source_latent, inputs, latent_format.latent_channels, masked_latent.shape[-2:],
                           mm.intermediate_device())
    window = ActiveWindow(start_step=int(start_at), end_step=int(end_at))
    if scale == 0.0 or window.is_empty() or start_percent >= end_percent:
        log.info("[BrushEdit] %s disabled (scale %s, steps %s-%s, percent %s-%s): plain model returned",
                 node, scale, start_at, end_at, start_percent, end_percent)
        return model, positive, negative, latent
    attached = attach_brushnet(model, branch, plan, make_runner(cond, window),
                               (float(start_percent), float(end_percent)), cond, node=node)
    return attached.model, attached.conditioning(positive, 0), attached.conditioning(negative, 1), latent
