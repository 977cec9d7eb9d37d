"""Independent RAU-Net reference: ComfyUI's UNet walked by hand with HiDiffusion's operations.

Written from the HiDiffusion method (RAU-Net: Res-Down = 3x3 conv with dilation 2, stride 4,
padding 2; Res-Up = the upsampler interpolating to its skip's size; cross-attention part =
2x2 average pooling (ceil mode) after the first res+attn block of the cross-attention down block,
bicubic restore before the last res+attn block of the matching up block) and the block indices the
earlier ComfyUI-BrushNet pack used. It shares no code with brushnet_core.raunet; the
layer runner is the BrushNet reference's (tests/_reference.py).

With branch features (BrushNet/PowerPaint ``(down, mid, up)`` at the native sizes), they are added
at the official places (spec section 4) and, where RAU-Net changed h's size, resized bicubic to it
first, as the earlier pack's patched layer forward did; its adds happened inside a block, so before
XA pools (input) or restores (output) h.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from _reference import unet_layer_runner

#: (Res-Down input block, pooled input block, restored-before output block) per architecture
BLOCKS = {"sd15": (3, 4, 8), "sdxl": (6, 4, 5)}


def reference_unet(unet, kind: str, x, t, context, y=None, du: bool = False, xa: bool = False, control=None,
                   feats=None):
    from comfy.ldm.modules.diffusionmodules.openaimodel import Downsample, Upsample

    du_block, xa_in, xa_out = BLOCKS[kind]
    run = unet_layer_runner(unet, x, t, context, y)
    down, mid, up = feats if feats is not None else (None, None, None)
    u = 0

    def fit(c, like):
        if c.shape[-2:] != like.shape[-2:]:
            c = F.interpolate(c, size=like.shape[-2:], mode="bicubic")
        return c

    h, hs = x, []
    for i, block in enumerate(unet.input_blocks):
        for layer in block:
            if du and i == du_block and isinstance(layer, Downsample):
                h = F.conv2d(h, layer.op.weight, layer.op.bias, stride=4, padding=2, dilation=2)
            else:
                h = run(layer, h)
        if control is not None and control.get("input"):
            c = control["input"].pop()
            if c is not None:
                h = h + fit(c, h)
        if down is not None and i == 0:  # conv_in: the skip is stored before the add
            hs.append(h)
            h = h + down[0]
            continue
        if down is not None:
            h = h + fit(down[i], h)
        if xa and i == xa_in:
            h = F.avg_pool2d(h, kernel_size=2, ceil_mode=True)
        hs.append(h)
    for layer in unet.middle_block:
        h = run(layer, h)
    if control is not None and control.get("middle"):
        h = h + fit(control["middle"].pop(), h)
    if mid is not None:
        h = h + fit(mid, h)
    for j, block in enumerate(unet.output_blocks):
        skip = hs.pop()
        if control is not None and control.get("output"):
            c = control["output"].pop()
            if c is not None:
                skip = skip + fit(c, skip)
        if xa and j == xa_out:
            h = F.interpolate(h, size=skip.shape[-2:], mode="bicubic")
        h = torch.cat([h, skip], 1)
        for layer in block:
            if up is not None and isinstance(layer, Upsample):
                h = h + fit(up[u], h)
                u += 1
            h = run(layer, h, hs[-1].shape if hs else None)
        if up is not None:
            h = h + fit(up[u], h)
            u += 1
    return unet.out(h)
