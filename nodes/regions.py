"""Crop at native size around one or many regions, and stitch every result back into one image."""
from __future__ import annotations

import torch
from comfy_api.latest import io

from ..brushnet_core.image.blend import stitch_inpaint
from ..brushnet_core.image.regions import MODES, crop_regions
from .glue.schema import search_aliases
from .glue.sockets import VectorType

MAX_SIZE = 16384


class BrushEditCrop(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BrushEditCrop",
            **search_aliases("crop for inpaint", "inpaint crop", "crop and stitch", "detail inpaint", "outpaint canvas"),
            display_name="Crop For Inpaint (BrushEdit)",
            category="BrushEdit/inpaint",
            description=(
                "Crops around the mask at the model's native size, so a small face or hand in a large "
                "photo is inpainted at full detail: the region's box grown by 'context' is scaled UP "
                "(small regions) or down (large ones) to width x height. 'each' makes one crop per "
                "region (touching or close regions merged) as one batch for one sampler run; stitch "
                "them back with Stitch Inpaint (BrushEdit). The extend inputs grow the canvas for "
                "outpainting. For one crop, Blend Inpaint with origin and canvas pastes it back too."),
            inputs=[
                io.Image.Input("image", tooltip="The image (a batch only in mode 'one')."),
                io.Mask.Input("mask", tooltip="Region(s) to inpaint (1 = inpaint). Several masks for one image "
                                              "(Text to Mask's one-per-object) are united first."),
                io.Int.Input("width", default=512, min=64, max=MAX_SIZE, step=8,
                             tooltip="Crop width: the model's native width (512 SD1.5, 1024 SDXL); rounded up "
                                     "to 'multiple'."),
                io.Int.Input("height", default=512, min=64, max=MAX_SIZE, step=8,
                             tooltip="Crop height: the model's native height; rounded up to 'multiple'."),
                io.Combo.Input("mode", options=list(MODES), default="one",
                               tooltip="one: one crop holding all of the mask. each: one crop per region (one "
                                       "image only), all in one batch."),
                io.Float.Input("context", default=1.5, min=1.0, max=10.0, step=0.05,
                               tooltip="The crop box is the region's bounding box times this factor (1 = tight), "
                                       "more if the region must not be magnified beyond max_upscale."),
                io.Float.Input("max_upscale", default=4.0, min=1.0, max=16.0, step=0.5,
                               tooltip="Largest magnification of a small region; below it the crop takes more "
                                       "context instead."),
                io.Int.Input("multiple", default=8, min=8, max=128, step=8,
                             tooltip="The crop's sides are a multiple of this (8 for SD1.5/SDXL latents; 64 for "
                                     "models that need it)."),
                io.Int.Input("merge_distance", default=32, min=0, max=MAX_SIZE, step=1,
                             tooltip="Mode 'each': regions closer than this many pixels (or overlapping) are "
                                     "one region."),
                io.Int.Input("max_regions", default=16, min=1, max=256, step=1,
                             tooltip="Mode 'each': at most this many crops; beyond it, nearby regions are merged "
                                     "(the merge distance doubles until they fit)."),
                io.Int.Input("extend_left", default=0, min=0, max=MAX_SIZE, step=8,
                             tooltip="Outpainting: pixels added on the left of the canvas (masked)."),
                io.Int.Input("extend_top", default=0, min=0, max=MAX_SIZE, step=8,
                             tooltip="Outpainting: pixels added on top of the canvas (masked)."),
                io.Int.Input("extend_right", default=0, min=0, max=MAX_SIZE, step=8,
                             tooltip="Outpainting: pixels added on the right of the canvas (masked)."),
                io.Int.Input("extend_bottom", default=0, min=0, max=MAX_SIZE, step=8,
                             tooltip="Outpainting: pixels added at the bottom of the canvas (masked)."),
            ],
            outputs=[
                io.Image.Output("crop_image", display_name="image",
                                tooltip="The crop(s), width x height each, as one batch."),
                io.Mask.Output("crop_mask", display_name="mask",
                               tooltip="Each crop's own region, cropped and scaled like the image."),
                VectorType.Output("crop_origin", display_name="origin",
                                  tooltip="Per crop [x, y, w, h, W, H, cw, ch]: box on the canvas, canvas size, "
                                          "crop size; connect to Stitch Inpaint or Blend Inpaint."),
                io.Image.Output("crop_canvas", display_name="canvas",
                                tooltip="The image the crops were cut from (with the outpaint extension): the "
                                        "'original' to paste back into."),
                io.Mask.Output("crop_canvas_mask", display_name="canvas_mask",
                               tooltip="The mask on the canvas (the extension is masked)."),
                io.Int.Output("region_count", display_name="regions",
                              tooltip="How many crops were made."),
            ],
        )

    @classmethod
    def execute(cls, image: torch.Tensor, mask: torch.Tensor, width: int, height: int, mode: str, context: float,
                max_upscale: float, multiple: int, merge_distance: int, max_regions: int, extend_left: int,
                extend_top: int, extend_right: int, extend_bottom: int) -> io.NodeOutput:
        crops = crop_regions(image, mask, width, height, mode=mode, context=context, max_upscale=max_upscale,
                             multiple=multiple, merge_distance=merge_distance, max_regions=max_regions,
                             extend=(extend_left, extend_top, extend_right, extend_bottom))
        return io.NodeOutput(crops.images, crops.masks, crops.origin, crops.canvas, crops.canvas_mask,
                             int(crops.origin.shape[0]))


class BrushEditStitch(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BrushEditStitch",
            **search_aliases("stitch inpaint", "paste crops back", "crop and stitch", "uncrop"),
            display_name="Stitch Inpaint (BrushEdit)",
            category="BrushEdit/inpaint",
            description=(
                "Pastes every inpainted crop back into the one canvas they were cut from, with Blend "
                "Inpaint's outward feather: pixels outside the feathered bands stay bit-identical, "
                "pixels inside each region are the generated ones (after the optional colour match)."),
            inputs=[
                io.Image.Input("inpaint", tooltip="The decoded crops (one batch, in the order Crop For Inpaint "
                                                  "made them)."),
                io.Image.Input("canvas", tooltip="Crop For Inpaint's canvas output (the original image)."),
                io.Mask.Input("mask", tooltip="Crop For Inpaint's mask output (each crop's own region)."),
                VectorType.Input("origin", tooltip="Crop For Inpaint's origin output."),
                io.Int.Input("kernel", default=10, min=1, max=1000, step=1,
                             tooltip="Feather gaussian size in pixels (even -> +1; 1 = no feather), as in "
                                     "Blend Inpaint."),
                io.Float.Input("sigma", default=10.0, min=0.01, max=1000.0, step=0.01,
                               tooltip="Feather gaussian sigma in pixels."),
                io.Float.Input("color_match", default=0.0, min=0.0, max=1.0, step=0.05,
                               tooltip="Remove each crop's colour shift (Lab mean/std measured in a band of "
                                       "max(16, kernel) px around its region against the canvas); 0 = off."),
            ],
            outputs=[
                io.Image.Output("stitched_image", display_name="image",
                                tooltip="The canvas with every region pasted back."),
                io.Mask.Output("stitched_mask", display_name="mask",
                               tooltip="The union of the soft blend masks used."),
            ],
        )

    @classmethod
    def execute(cls, inpaint: torch.Tensor, canvas: torch.Tensor, mask: torch.Tensor, origin: object, kernel: int,
                sigma: float, color_match: float) -> io.NodeOutput:
        image, soft = stitch_inpaint(inpaint, canvas, mask, origin, kernel, sigma, color_match)
        return io.NodeOutput(image, soft)


NODES: list[type[io.ComfyNode]] = [BrushEditCrop, BrushEditStitch]
