"""Inpaint image tools: blurred blend, crop-for-inpaint (+ paste back), mask adjust.

``BlendInpaint`` and ``CutForInpaint`` keep the earlier pack's ids, inputs, widget order and
outputs so saved workflows load unchanged; new inputs only come after, as optional ones.
"""
from __future__ import annotations

import torch
from comfy_api.latest import io

from ..brushnet_core.image.blend import blend_inpaint, color_match_images
from ..brushnet_core.image.crop import cut_for_inpaint
from ..brushnet_core.image.mask_ops import adjust_mask
from .glue.schema import search_aliases
from .glue.sockets import VectorType
MAX_SIZE = 16384


class BlendInpaint(io.ComfyNode):
    """Earlier pack's node id: paste an inpainted image back with an outward-only feather."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BlendInpaint",
            **search_aliases("blend inpaint", "paste back", "composite inpaint", "feather blend"),
            display_name="Blend Inpaint (BrushEdit)",
            category="inpaint",
            description=(
                "BrushNet's blurred blending: the mask is blurred with a gaussian and united with "
                "itself (max), so the soft edge only grows outward; out = original*(1-m) + "
                "inpaint*m. Pixels outside the feathered band stay exactly the original, pixels "
                "inside the mask are exactly the inpaint. With 'origin' from CutForInpaint the "
                "inpainted crop is resized to its box and pasted there. An inpaint the VAE "
                "centre-cropped to a multiple of 8 (odd sizes) is put back in place, not "
                "stretched."),
            inputs=[
                io.Image.Input("inpaint", tooltip="The generated (inpainted) image or crop."),
                io.Image.Input("original", tooltip="The original image to paste into; the result "
                               "has its size. A batch of 1 is shared by every inpaint item."),
                io.Mask.Input("mask", tooltip="Region that was inpainted (1 = inpainted), in the "
                              "original's or, with 'origin', in the crop's coordinates. Another "
                              "size of the same aspect is resized."),
                io.Int.Input("kernel", default=10, min=1, max=1000, step=1,
                             tooltip="Gaussian kernel size in pixels (the earlier pack's meaning): "
                             "an even value is used as value+1; 1 = no feathering. The feather "
                             "reaches about kernel/2 pixels outward (taps beyond 6*sigma are "
                             "dropped); a kernel larger than the image is fine."),
                io.Float.Input("sigma", default=10.0, min=0.01, max=1000.0, step=0.01,
                               tooltip="Gaussian sigma in pixels (> 0): small values give a "
                               "steep edge, values >= kernel/2 an almost linear ramp."),
                VectorType.Input("origin", optional=True,
                             tooltip="The crop box from CutForInpaint: paste the (resized) "
                             "inpaint at this place and scale in the original."),
                io.Float.Input("color_match", default=0.0, min=0.0, max=1.0, step=0.05, optional=True,
                               tooltip="Remove the inpaint's colour shift before blending: its Lab mean/std "
                               "in a band of max(16, kernel) px around the mask is matched to the "
                               "original's; 0 = off (the earlier behaviour), 1 = full."),
            ],
            outputs=[
                io.Image.Output("blended_image", display_name="image", tooltip="The original "
                                "with the inpainted region blended in."),
                io.Mask.Output("blend_mask", display_name="MASK",
                               tooltip="The soft blend mask m that was used, in the original's "
                               "coordinates."),
            ],
        )

    @classmethod
    def execute(cls, inpaint: torch.Tensor, original: torch.Tensor, mask: torch.Tensor,
                kernel: int, sigma: float, origin: object = None,
                color_match: float = 0.0) -> io.NodeOutput:
        image, soft = blend_inpaint(inpaint, original, mask, kernel, sigma, origin, color_match)
        return io.NodeOutput(image, soft)


class CutForInpaint(io.ComfyNode):
    """Earlier pack's node id: crop around the mask at the working size, keeping the aspect."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="CutForInpaint",
            **search_aliases("cut for inpaint", "crop mask area", "inpaint crop"),
            display_name="Cut For Inpaint (BrushEdit)",
            category="inpaint",
            description=(
                "Crop the image around the mask's bounding box at width x height. A larger "
                "masked area gets a larger box of the same aspect, shrunk to width x height; a "
                "box that does not fit in the image is clamped to it (the output is then smaller, "
                "never stretched). An empty mask gives a centred crop. Paste the result back with "
                "BlendInpaint and the 'origin' output."),
            inputs=[
                io.Image.Input("image", tooltip="The image to crop (a batch gets one box per "
                               "item, all of one size)."),
                io.Mask.Input("mask", tooltip="Region to inpaint (1 = inpaint); another size of "
                              "the same aspect is resized to the image."),
                io.Int.Input("width", default=512, min=8, max=MAX_SIZE, step=1,
                             tooltip="Width of the output crop (the model's working width)."),
                io.Int.Input("height", default=512, min=8, max=MAX_SIZE, step=1,
                             tooltip="Height of the output crop (the model's working height)."),
                io.Int.Input("padding", default=32, min=0, max=MAX_SIZE, step=1, optional=True,
                             tooltip="Context kept around the mask's bounding box, in original "
                                     "pixels, when the box must grow beyond width x height."),
            ],
            outputs=[
                io.Image.Output("cropped_image", display_name="image",
                                tooltip="The crop, resized to width x height."),
                io.Mask.Output("cropped_mask", display_name="mask",
                               tooltip="The mask cropped and resized like the image."),
                VectorType.Output("origin", display_name="origin",
                              tooltip="Per item [x, y, w, h, W, H, cw, ch]: the crop box in the "
                              "original's pixels, the original's size and the crop's size; "
                              "connect it to BlendInpaint's origin."),
            ],
        )

    @classmethod
    def execute(cls, image: torch.Tensor, mask: torch.Tensor, width: int, height: int,
                padding: int = 32) -> io.NodeOutput:
        crops, masks, origin = cut_for_inpaint(image, mask, width, height, padding)
        return io.NodeOutput(crops, masks, origin)


class BrushEditMaskAdjust(io.ComfyNode):
    """Grow, shrink, fill, box, invert and feather a mask in one fixed, documented order."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BrushEditMaskAdjust",
            **search_aliases("grow mask", "shrink mask", "feather mask", "fill mask holes", "mask bbox", "invert mask"),
            display_name="Mask Adjust (BrushEdit)",
            category="BrushEdit/mask",
            description=(
                "Adjust a mask; the steps run in this order and each is off at its default: "
                "1 threshold, 2 fill holes, 3 grow/shrink, 4 bounding box (+padding), 5 invert, "
                "6 gaussian feather. Grow, invert and threshold give the same results as "
                "ComfyUI's GrowMask, InvertMask and ThresholdMask."),
            inputs=[
                io.Mask.Input("mask", tooltip="The mask to adjust (1 = region to inpaint)."),
                io.Float.Input("threshold", default=0.0, min=0.0, max=1.0, step=0.01,
                               tooltip="Step 1: values above it become 1, the rest 0 (like "
                               "ThresholdMask). 0 = off; use a small value such as 0.01 to keep "
                               "every non-zero pixel."),
                io.Boolean.Input("fill_holes", default=False,
                                 tooltip="Step 2: fill areas (values <= 0.5) fully enclosed by "
                                 "the mask."),
                io.Int.Input("grow", default=0, min=-MAX_SIZE, max=MAX_SIZE, step=1,
                             tooltip="Step 3: grow the mask by this many pixels; negative "
                             "shrinks it (same as GrowMask's expand)."),
                io.Boolean.Input("tapered_corners", default=True,
                                 tooltip="Step 3: round (diamond-shaped) corners when growing, "
                                 "as GrowMask's option; off = square corners."),
                io.Boolean.Input("to_bbox", default=False,
                                 tooltip="Step 4: replace the mask by the filled bounding box "
                                 "of its non-zero pixels."),
                io.Int.Input("bbox_padding", default=0, min=0, max=MAX_SIZE, step=1,
                             tooltip="Step 4: pixels added on every side of the bounding box "
                             "(clamped to the image)."),
                io.Boolean.Input("invert", default=False,
                                 tooltip="Step 5: invert the mask (1 - mask, like InvertMask)."),
                io.Int.Input("feather", default=0, min=0, max=1024, step=1,
                             tooltip="Step 6: gaussian feather radius in pixels (kernel "
                             "2*radius+1, sigma radius/3, reflected borders). 0 = off."),
            ],
            outputs=[
                io.Mask.Output("adjusted_mask", display_name="mask",
                               tooltip="The adjusted mask [B, H, W] in 0..1."),
            ],
        )

    @classmethod
    def execute(cls, mask: torch.Tensor, threshold: float, fill_holes: bool, grow: int,
                tapered_corners: bool, to_bbox: bool, bbox_padding: int, invert: bool,
                feather: int) -> io.NodeOutput:
        out = adjust_mask(mask, threshold=threshold, fill=fill_holes, grow=grow,
                          tapered_corners=tapered_corners, to_bbox=to_bbox,
                          bbox_padding=bbox_padding, invert=invert, feather=feather)
        return io.NodeOutput(out)


class BrushEditColorMatch(io.ComfyNode):
    """Remove the generated image's colour shift around the mask (mean/std in Lab)."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BrushEditColorMatch",
            **search_aliases("color match", "colour match", "color correction inpaint", "match colors"),
            display_name="Color Match Inpaint (BrushEdit)",
            category="BrushEdit/inpaint",
            description=(
                "Makes the inpainted region match its surroundings: the generated image and the "
                "original are compared in a band of pixels around the mask (Lab mean and standard "
                "deviation) and that colour shift is removed from the generated region, fading out "
                "across the band. Pixels outside the band are returned bit-identical. Use it "
                "between VAE Decode and Blend Inpaint (or set Blend Inpaint's color_match)."),
            inputs=[
                io.Image.Input("image", tooltip="The generated (decoded) image or crop."),
                io.Image.Input("original", tooltip="The original at the same size (the crop from Crop For "
                                                   "Inpaint for crops); a VAE-cropped size is handled."),
                io.Mask.Input("mask", tooltip="The inpainted region (1 = generated), binarised at 0.5."),
                io.Float.Input("strength", default=1.0, min=0.0, max=1.0, step=0.05,
                               tooltip="How much of the measured shift is removed (0 = none, 1 = all)."),
                io.Int.Input("band", default=32, min=1, max=1024, step=1,
                             tooltip="Width in pixels of the ring around the mask where the colours are "
                                     "compared; the correction fades out across it."),
            ],
            outputs=[
                io.Image.Output("matched_image", display_name="image",
                                tooltip="The generated image with its region colour-matched."),
            ],
        )

    @classmethod
    def execute(cls, image: torch.Tensor, original: torch.Tensor, mask: torch.Tensor, strength: float,
                band: int) -> io.NodeOutput:
        return io.NodeOutput(color_match_images(image, original, mask, band, strength))


NODES: list[type[io.ComfyNode]] = [BlendInpaint, CutForInpaint, BrushEditMaskAdjust, BrushEditColorMatch]
