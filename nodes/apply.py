"""The `BrushNet` node: turns any SD1.5/SDXL model into a BrushNet inpainter (earlier pack's interface)."""
from __future__ import annotations

from comfy_api.latest import io

from .glue.inpaint import check_pairing, inpaint_with_branch, require_vae, unwrap_brushnet
from .glue.schema import search_aliases
from .glue.sockets import BrushNetModelType
from ..brushnet_core.branch.injection import FeatureSlot
from ..brushnet_core.branch.runner import BrushNetRunner


class BrushNet(io.ComfyNode):
    """Same id, inputs (order) and outputs as the earlier ComfyUI-BrushNet pack's node."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BrushNet",
            display_name="BrushNet",
            category="inpaint",
            **search_aliases("inpaint", "brushnet inpainting", "fill masked area", "object removal"),
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
        require_vae("BrushNet", vae)
        bn = unwrap_brushnet(brushnet)
        plan = check_pairing(model, bn)
        return io.NodeOutput(*inpaint_with_branch(
            "BrushNet", model, vae, image, mask, brushnet, plan, positive, negative, scale=scale, start_at=start_at,
            end_at=end_at, start_percent=start_percent, end_percent=end_percent, source_latent=source_latent,
            make_runner=lambda cond, window: BrushNetRunner(bn, FeatureSlot(), cond, float(scale), window)))


NODES = [BrushNet]
