"""The `BrushNet` node: turns any SD1.5/SDXL model into a BrushNet inpainter (earlier pack's interface)."""
from __future__ import annotations

import logging
import os

from comfy_api.latest import io

import comfy.model_management as mm

from ..brushnet_core.branch.config import SD15, SDXL
from ..brushnet_core.branch.injection import FeatureSlot, IncompatibleModelError, make_plan
from ..brushnet_core.branch.model import BrushNetModel
from ..brushnet_core.image.prepare import DEFAULT_MAX_PIXELS, conditioning_latent, output_latent, prepare_inpaint
from ..brushnet_core.branch.runner import ActiveWindow, BrushNetRunner
from .brushnet_patch import add_conditioning, attach_brushnet
from .types import BrushNetModelType

log = logging.getLogger("BrushEdit")


def base_model_kind(model) -> str:
    """'sd15', 'sdxl' or the model class name, for messages."""
    import comfy.model_base as mb

    inner = model.model
    if isinstance(inner, mb.SDXL):
        return SDXL
    if type(inner) is mb.BaseModel and getattr(inner, "adm_channels", 0) in (0, None):
        return SD15
    return type(inner).__name__


def check_pairing(model, brushnet: BrushNetModel):
    """Validate the base model for this BrushNet; return the injection plan."""
    kind = base_model_kind(model)
    unet = model.get_model_object("diffusion_model")
    in_ch = getattr(unet, "in_channels", 4)
    if in_ch != 4:
        raise IncompatibleModelError(
            f"the base model's UNet takes {in_ch} input channels: it is an inpainting checkpoint. BrushNet adds "
            "inpainting to a normal (4-channel) SD1.5/SDXL checkpoint: load the non-inpainting version of the model"
        )
    bn_kind = brushnet.config.kind
    name = {SD15: "SD1.5", SDXL: "SDXL"}
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
    plan = make_plan(unet, brushnet.config.down_feature_channels(), brushnet.config.up_feature_channels(),
                     describe=f"{name[bn_kind]} BrushNet")
    return plan


def unwrap_brushnet(brushnet) -> BrushNetModel:
    inner = getattr(brushnet, "model", None)
    if type(inner).__name__ == "PowerPaintModel":
        raise ValueError("this is a PowerPaint v2 BrushNet: use the PowerPaint node (with PowerPaintCLIPLoader) "
                         "for it; the BrushNet node takes plain BrushNet models")
    if inner is None or type(inner).__name__ != "BrushNetModel":
        raise TypeError(
            f"the brushnet input is a {type(inner or brushnet).__name__}, not a BrushNet: connect a BrushNet Loader"
        )
    return inner


class BrushNet(io.ComfyNode):
    """Same id, inputs (order) and outputs as the earlier ComfyUI-BrushNet pack's node."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BrushNet",
            display_name="BrushNet",
            category="inpaint",
            description="Adds BrushNet to an SD1.5/SDXL model: its features are added layer by layer into the "
                        "UNet while sampling. Connect all four outputs to the sampler (KSampler).",
            inputs=[
                io.Model.Input("model", tooltip="Any SD1.5 or SDXL (non-inpainting) model, LoRAs allowed."),
                io.Vae.Input("vae", tooltip="The VAE of that model; encodes the image with the hole blacked out."),
                io.Image.Input("image", tooltip="The image to inpaint. Sizes not divisible by 8 are centre-cropped."),
                io.Mask.Input("mask", tooltip="White (1) = region to repaint. Resized to the image if sizes differ; "
                                              "binarised at 0.5."),
                BrushNetModelType.Input("brushnet", tooltip="A BrushNet from the BrushNet Loader (same family as the model)."),
                io.Conditioning.Input("positive", tooltip="Positive prompt: what should appear in the masked region."),
                io.Conditioning.Input("negative", tooltip="Negative prompt."),
                io.Float.Input("scale", default=1.0, min=0.0, max=10.0, step=0.1,
                               tooltip="Strength of the BrushNet features (1.0 as trained; 0 disables BrushNet)."),
                io.Int.Input("start_at", default=0, min=0, max=10000,
                             tooltip="First sampling step (0-based) where BrushNet is applied."),
                io.Int.Input("end_at", default=10000, min=0, max=10000,
                             tooltip="BrushNet stops before this sampling step (10000 = to the end)."),
                io.Float.Input("start_percent", default=0.0, min=0.0, max=1.0, step=0.01, optional=True,
                               tooltip="Alternative to start_at: fraction of the noise schedule where BrushNet starts."),
                io.Float.Input("end_percent", default=1.0, min=0.0, max=1.0, step=0.01, optional=True,
                               tooltip="Alternative to end_at: fraction of the noise schedule where BrushNet stops."),
                io.Latent.Input("source_latent", optional=True,
                                tooltip="Optional: VAE Encode of the same image (or of a pre-filled one) for soft "
                                        "inpainting. The latent output is then this latent with the mask as its "
                                        "noise mask, so KSampler's denoise below 1 and Differential Diffusion work. "
                                        "Unconnected: an empty latent (sample with denoise 1.0)."),
            ],
            outputs=[
                io.Model.Output(display_name="model", tooltip="The model with BrushNet attached (a patched clone)."),
                io.Conditioning.Output(display_name="positive", tooltip="Positive conditioning carrying BrushNet's image input."),
                io.Conditioning.Output(display_name="negative", tooltip="Negative conditioning carrying BrushNet's image input."),
                io.Latent.Output(display_name="latent", tooltip="Empty latent of the (cropped) image size and batch "
                                 "(sample it with denoise 1.0); with source_latent connected, that latent with the "
                                 "mask as noise mask (any denoise)."),
            ],
        )

    @classmethod
    def execute(cls, model, vae, image, mask, brushnet, positive, negative, scale: float, start_at: int,
                end_at: int, start_percent: float = 0.0, end_percent: float = 1.0,
                source_latent: dict | None = None) -> io.NodeOutput:
        if vae is None:
            raise ValueError("BrushNet needs the model's VAE: connect the VAE output of your checkpoint loader")
        bn = unwrap_brushnet(brushnet)
        plan = check_pairing(model, bn)
        inputs = prepare_inpaint(image, mask, max_pixels=int(os.environ.get("BRUSHEDIT_MAX_PIXELS", DEFAULT_MAX_PIXELS)))
        latent_format = model.get_model_object("latent_format")
        masked_latent = latent_format.process_in(vae.encode(inputs.masked_image))
        cond = conditioning_latent(masked_latent, inputs.hole.to(masked_latent.device))
        empty = output_latent(source_latent, inputs, latent_format.latent_channels, masked_latent.shape[-2:],
                              mm.intermediate_device())
        window = ActiveWindow(start_step=int(start_at), end_step=int(end_at))
        if scale == 0.0 or window.is_empty() or start_percent >= end_percent:
            log.info("[BrushEdit] BrushNet disabled (scale %s, steps %s-%s, percent %s-%s): plain model returned",
                     scale, start_at, end_at, start_percent, end_percent)
            return io.NodeOutput(model, positive, negative, empty)
        runner = BrushNetRunner(bn, FeatureSlot(), cond, float(scale), window)
        patched, key = attach_brushnet(model, brushnet, plan, runner, (float(start_percent), float(end_percent)))
        return io.NodeOutput(patched, add_conditioning(positive, key, cond), add_conditioning(negative, key, cond), empty)


NODES = [BrushNet]
