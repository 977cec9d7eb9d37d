"""Independent reference: BrushNet forward in the diffusers layout and a UNet forward with the adds.

Written from the spec (brushnet.md sections 2 and 4) with torch.nn.functional on the raw state
dict: it shares no code with brushnet_core. The UNet driver walks ComfyUI's UNet modules by hand
and adds the features where the official implementation does.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def sinusoid(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float64) / half)
    args = t.double()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1).float()


def reference_brushnet(sd: dict, sample, t, cond, added=None, scale: float = 1.0, groups: int = 32):
    """(down, mid, up) features of the official BrushNet, computed from its state dict."""
    def conv(name, x, stride=1, pad=1):
        return F.conv2d(x, sd[name + ".weight"], sd[name + ".bias"], stride=stride, padding=pad)

    def lin(name, x):
        return F.linear(x, sd[name + ".weight"], sd[name + ".bias"])

    def gn(name, x):
        return F.group_norm(x, groups, sd[name + ".weight"], sd[name + ".bias"], 1e-5)

    def resnet(p, x, temb):
        h = conv(p + ".conv1", F.silu(gn(p + ".norm1", x)))
        h = h + lin(p + ".time_emb_proj", F.silu(temb))[:, :, None, None]
        h = conv(p + ".conv2", F.silu(gn(p + ".norm2", h)))
        short = conv(p + ".conv_shortcut", x, pad=0) if p + ".conv_shortcut.weight" in sd else x
        return short + h

    levels = len({k.split(".")[1] for k in sd if k.startswith("down_blocks.")})
    layers = len({k.split(".")[3] for k in sd if k.startswith("down_blocks.0.resnets.")})
    c0 = sd["conv_in_condition.weight"].shape[0]
    emb = lin("time_embedding.linear_2", F.silu(lin("time_embedding.linear_1", sinusoid(t, c0))))
    if added is not None:
        emb = emb + lin("add_embedding.linear_2", F.silu(lin("add_embedding.linear_1", added)))
    x = conv("conv_in_condition", torch.cat([sample, cond], 1))
    res = [x]
    for i in range(levels):
        for j in range(layers):
            x = resnet(f"down_blocks.{i}.resnets.{j}", x, emb)
            res.append(x)
        if i < levels - 1:
            x = conv(f"down_blocks.{i}.downsamplers.0.conv", x, stride=2)
            res.append(x)
    down = [conv(f"brushnet_down_blocks.{k}", r, pad=0) * scale for k, r in enumerate(res)]
    for j in range(len({k.split(".")[2] for k in sd if k.startswith("mid_block.resnets.")})):
        x = resnet(f"mid_block.resnets.{j}", x, emb)
    mid = conv("brushnet_mid_block", x, pad=0) * scale
    raw = []
    for i in range(levels):
        for j in range(layers + 1):
            x = resnet(f"up_blocks.{i}.resnets.{j}", torch.cat([x, res.pop()], 1), emb)
            raw.append(x)
        if i < levels - 1:
            x = F.interpolate(x, size=res[-1].shape[-2:], mode="nearest")
            x = conv(f"up_blocks.{i}.upsamplers.0.conv", x)
            raw.append(x)
    up = [conv(f"brushnet_up_blocks.{k}", r, pad=0) * scale for k, r in enumerate(raw)]
    return down, mid, up


def unet_layer_runner(unet, x, t, context, y=None):
    """``run(layer, h, out_shape)`` for one layer of ComfyUI's UNet, with the embedding of ``t`` (and ``y``)."""
    from comfy.ldm.modules.attention import SpatialTransformer
    from comfy.ldm.modules.diffusionmodules.openaimodel import ResBlock, Upsample, timestep_embedding

    emb = unet.time_embed(timestep_embedding(t, unet.model_channels).to(x.dtype))
    if y is not None:
        emb = emb + unet.label_emb(y)

    def run(layer, h, out_shape=None):
        if isinstance(layer, ResBlock):
            return layer(h, emb)
        if isinstance(layer, SpatialTransformer):
            return layer(h, context, transformer_options={})
        if isinstance(layer, Upsample):
            return layer(h, output_shape=out_shape)
        return layer(h)

    return run


def reference_unet(unet, x, t, context, y=None, feats=None, control=None):
    """ComfyUI's UNet walked by hand; BrushNet features added at the official places."""
    from comfy.ldm.modules.diffusionmodules.openaimodel import Upsample

    down, mid, up = feats if feats is not None else (None, None, None)
    run = unet_layer_runner(unet, x, t, context, y)
    h, hs = x, []
    for i, block in enumerate(unet.input_blocks):
        for layer in block:
            h = run(layer, h)
        if control is not None:
            c = control["input"].pop()
            if c is not None:
                h = h + c
        if down is not None and i == 0:
            hs.append(h)
            h = h + down[0]
            continue
        if down is not None:
            h = h + down[i]
        hs.append(h)
    for layer in unet.middle_block:
        h = run(layer, h)
    if control is not None and control.get("middle"):
        h = h + control["middle"].pop()
    if mid is not None:
        h = h + mid
    u = 0
    for block in unet.output_blocks:
        skip = hs.pop()
        if control is not None and control.get("output"):
            c = control["output"].pop()
            if c is not None:
                skip = skip + c
        h = torch.cat([h, skip], 1)
        layers = list(block)
        for k, layer in enumerate(layers):
            if isinstance(layer, Upsample):
                if up is not None:
                    h = h + up[u]
                    u += 1
                h = run(layer, h, hs[-1].shape if hs else None)
            else:
                h = run(layer, h)
        if up is not None:
            h = h + up[u]
            u += 1
    return unet.out(h)
