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


def unwrap_brushnet(brushnet: Any) -> BrushNetModel:
    """The plain BrushNet inside a BrushNet Loader output, or an error naming what is connected."""
    inner = getattr(brushnet, "model", None)
    if isinstance(inner, PowerPaintModel):
        raise WrongModelError("this is a PowerPaint v2 BrushNet: use the PowerPaint node (with PowerPaintCLIPLoader) "
                              "for it; the BrushNet node takes plain BrushNet models")
    if not isinstance(inner, BrushNetModel):
        raise WrongModelError(
            f"the brushnet input is a {type(inner or brushnet).__name__}, not a BrushNet: connect a BrushNet Loader"
        )
    return inner


def unwrap_powerpaint(powerpaint: Any) -> PowerPaintModel:
    """The PowerPaint branch inside a BrushNet Loader output, or an error naming what is connected."""
    inner = getattr(powerpaint, "model", None)
    if isinstance(inner, BrushNetModel):
        raise WrongModelError("the powerpaint input is a plain BrushNet: use the BrushNet node for it, or load "
                              "PowerPaint_Brushnet/diffusion_pytorch_model.safetensors for this node")
    if not isinstance(inner, PowerPaintModel):
        raise WrongModelError(f"the powerpaint input is a {type(inner or powerpaint).__name__}: connect a BrushNet "
                              "Loader that loaded the PowerPaint v2 BrushNet")
    return inner


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
