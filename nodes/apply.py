"""The `BrushNet` node: turns any SD1.5/SDXL model into a BrushNet inpainter (earlier pack's interface)."""
from __future__ import annotations

from comfy_api.latest import io

from .glue.inpaint import (branch_outputs, check_pairing, inpaint_with_branch, require_vae, schedule_inputs,
                           strength_inputs, unwrap_branch)
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
                *strength_inputs("BrushNet"),
                *schedule_inputs("BrushNet"),
            ],
            outputs=branch_outputs("BrushNet", "BrushNet's image input"),
        )

    @classmethod
    def execute(cls, model, vae, image, mask, brushnet, positive, negative, scale: float, start_at: int,
                end_at: int, start_percent: float = 0.0, end_percent: float = 1.0,
                source_latent: dict | None = None) -> io.NodeOutput:
        require_vae("BrushNet", vae)
        bn = unwrap_branch("BrushNet", brushnet)
        plan = check_pairing(model, bn)
        return io.NodeOutput(*inpaint_with_branch(
            "BrushNet", model, vae, image, mask, brushnet, plan, positive, negative, scale=scale, start_at=start_at,
            end_at=end_at, start_percent=start_percent, end_percent=end_percent, source_latent=source_latent,
            make_runner=lambda cond, window: BrushNetRunner(bn, FeatureSlot(), cond, float(scale), window)))


NODES = [BrushNet]
