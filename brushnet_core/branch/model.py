"""The BrushNet branch: a UNet without attention whose per-layer features feed the base UNet.

Parameter names follow the released diffusers checkpoints exactly, so a state dict loads with
``load_state_dict(strict=True)``. Layers are built from an ``ops`` namespace (``Conv2d``,
``Linear``, ``GroupNorm``), plain ``torch.nn`` by default; the ComfyUI adapter passes
``comfy.ops`` classes so weights take part in ComfyUI's casting and low-VRAM loading.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import BrushEditError
from .config import BrushNetConfig
from .fast_conv import run_conv

TORCH_OPS = SimpleNamespace(Conv2d=nn.Conv2d, Linear=nn.Linear, GroupNorm=nn.GroupNorm)


class BrushNetInputError(BrushEditError, ValueError):
    """An input the BrushNet branch cannot run on (a missing SDXL vector, conditioning of another size)."""


class BrushNetRuntimeError(BrushEditError, RuntimeError):
    """A sampling state the BrushNet branch cannot follow (a batch it cannot split, a host read reused)."""


def sinusoidal_embedding(t: torch.Tensor, dim: int, flip_sin_to_cos: bool = True, freq_shift: float = 0.0) -> torch.Tensor:
    """Sinusoidal embedding of a 1-D tensor of (possibly fractional) timesteps, in float32."""
    half = dim // 2
    exponent = -math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / (half - freq_shift)
    args = t.float()[:, None] * torch.exp(exponent)[None, :]
    sin, cos = torch.sin(args), torch.cos(args)
    emb = torch.cat([cos, sin], dim=-1) if flip_sin_to_cos else torch.cat([sin, cos], dim=-1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


class TimestepMLP(nn.Module):
    """``linear_1 -> SiLU -> linear_2`` (diffusers ``TimestepEmbedding``)."""

    def __init__(self, in_dim: int, dim: int, ops: Any) -> None:
        super().__init__()
        self.linear_1 = ops.Linear(in_dim, dim)
        self.linear_2 = ops.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_2(F.silu(self.linear_1(x)))


class ResnetBlock(nn.Module):
    """GroupNorm-SiLU-conv, + time projection, GroupNorm-SiLU-conv, with a 1x1 shortcut if needed."""

    def __init__(self, in_ch: int, out_ch: int, temb_dim: int, groups: int, eps: float, ops: Any) -> None:
        super().__init__()
        self.norm1 = ops.GroupNorm(groups, in_ch, eps=eps, affine=True)
        self.conv1 = ops.Conv2d(in_ch, out_ch, 3, padding=1)
        self.time_emb_proj = ops.Linear(temb_dim, out_ch)
        self.norm2 = ops.GroupNorm(groups, out_ch, eps=eps, affine=True)
        self.conv2 = ops.Conv2d(out_ch, out_ch, 3, padding=1)
        self.conv_shortcut = ops.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else None

    def forward(self, x: torch.Tensor, temb_act: torch.Tensor, inplace: bool = False) -> torch.Tensor:
        """``inplace`` (inference only): SiLU and adds reuse the fresh norm/conv outputs, and small CPU
        feature maps are convolved by matrix product (``fast_conv``); same values to fp32 rounding."""
        if not inplace:
            h = self.conv1(F.silu(self.norm1(x)))
            h = h + self.time_emb_proj(temb_act)[:, :, None, None]
            h = self.conv2(F.silu(self.norm2(h)))
            skip = x if self.conv_shortcut is None else self.conv_shortcut(x)
            return skip + h
        h = run_conv(self.conv1, F.silu(self.norm1(x), inplace=True))
        h += self.time_emb_proj(temb_act)[:, :, None, None]
        h = run_conv(self.conv2, F.silu(self.norm2(h), inplace=True))
        return h.add_(x if self.conv_shortcut is None else self.conv_shortcut(x))


class Downsample(nn.Module):
    def __init__(self, ch: int, ops: Any) -> None:
        super().__init__()
        self.conv = ops.Conv2d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor, fast: bool = False) -> torch.Tensor:
        return run_conv(self.conv, x) if fast else self.conv(x)


class Upsample(nn.Module):
    def __init__(self, ch: int, ops: Any) -> None:
        super().__init__()
        self.conv = ops.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor, size: tuple[int, int] | None = None, fast: bool = False) -> torch.Tensor:
        if size is None:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        else:
            x = F.interpolate(x, size=size, mode="nearest")
        return run_conv(self.conv, x) if fast else self.conv(x)


class DownBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, n: int, temb: int, downsample: bool, c: BrushNetConfig, ops: Any) -> None:
        super().__init__()
        self.resnets = nn.ModuleList(
            ResnetBlock(in_ch if i == 0 else out_ch, out_ch, temb, c.norm_num_groups, c.norm_eps, ops) for i in range(n)
        )
        self.downsamplers = nn.ModuleList([Downsample(out_ch, ops)]) if downsample else None


class MidBlock(nn.Module):
    def __init__(self, ch: int, n: int, temb: int, c: BrushNetConfig, ops: Any) -> None:
        super().__init__()
        self.resnets = nn.ModuleList(ResnetBlock(ch, ch, temb, c.norm_num_groups, c.norm_eps, ops) for _ in range(n))


class UpBlock(nn.Module):
    def __init__(self, in_ch: int, prev_ch: int, out_ch: int, n: int, temb: int, upsample: bool, c: BrushNetConfig, ops: Any) -> None:
        super().__init__()
        resnets = []
        for i in range(n):
            skip_ch = in_ch if i == n - 1 else out_ch
            res_in = prev_ch if i == 0 else out_ch
            resnets.append(ResnetBlock(res_in + skip_ch, out_ch, temb, c.norm_num_groups, c.norm_eps, ops))
        self.resnets = nn.ModuleList(resnets)
        self.upsamplers = nn.ModuleList([Upsample(out_ch, ops)]) if upsample else None


def zero_conv(ch: int, ops: Any) -> nn.Module:
    return ops.Conv2d(ch, ch, 1)


@dataclass
class BrushNetFeatures:
    """Features to add into the base UNet: down path, mid block, up path (injection order)."""

    down: list[torch.Tensor]
    mid: torch.Tensor
    up: list[torch.Tensor]

    def map(self, fn: Any) -> "BrushNetFeatures":
        return BrushNetFeatures([fn(t) for t in self.down], fn(self.mid), [fn(t) for t in self.up])


#: ``attentions(where, level, channels, count, ops)``: the attention layers a block of a branch
#: with cross-attention gets after its resnets ("down", "mid" or "up"), or None for none
AttentionFactory = Callable[[str, int, int, int, Any], "nn.ModuleList | None"]


def build_branch(net: nn.Module, c: BrushNetConfig, ops: Any, dtype: torch.dtype | None = None,
                 device: torch.device | str | None = None, mid_layers: int | None = None,
                 attentions: AttentionFactory | None = None) -> None:
    """Give ``net`` the UNet skeleton of a BrushNet branch (BrushNet and PowerPaint alike).

    Input convolution, time embedding (plus the SDXL added-condition embedding when the config
    has one), down blocks of ``layers_per_block`` resnets, a mid block of ``mid_layers``, up
    blocks of one resnet more, and the zero convolutions the features leave through. Parameter
    names are diffusers' (``load_state_dict(strict=True)``).
    """
    if dtype is not None or device is not None:
        ops = _OpsWithFactory(ops, dtype=dtype, device=device)
    chans, temb, n = c.block_out_channels, c.time_embed_dim, c.layers_per_block
    net.conv_in_condition = ops.Conv2d(c.in_channels + c.conditioning_channels, chans[0], 3, padding=1)
    net.time_embedding = TimestepMLP(chans[0], temb, ops)
    net.add_embedding = (TimestepMLP(c.projection_class_embeddings_input_dim, temb, ops)
                         if c.addition_time_embed_dim else None)

    def with_attentions(block: nn.Module, where: str, level: int, ch: int, count: int) -> nn.Module:
        layers = attentions(where, level, ch, count, ops) if attentions is not None else None
        if layers is not None:
            block.attentions = layers
        return block

    net.down_blocks = nn.ModuleList()
    out_ch = chans[0]
    for level, ch in enumerate(chans):
        in_ch, out_ch = out_ch, ch
        block = DownBlock(in_ch, out_ch, n, temb, level < len(chans) - 1, c, ops)
        net.down_blocks.append(with_attentions(block, "down", level, out_ch, n))
    net.mid_block = with_attentions(MidBlock(chans[-1], c.mid_block_layers if mid_layers is None else mid_layers,
                                             temb, c, ops), "mid", 0, chans[-1], 1)
    rev = list(reversed(chans))
    net.up_blocks = nn.ModuleList()
    out_ch = rev[0]
    for level in range(len(rev)):
        prev_ch, out_ch = out_ch, rev[level]
        in_ch = rev[min(level + 1, len(rev) - 1)]
        block = UpBlock(in_ch, prev_ch, out_ch, n + 1, temb, level < len(rev) - 1, c, ops)
        net.up_blocks.append(with_attentions(block, "up", level, out_ch, n + 1))
    net.brushnet_down_blocks = nn.ModuleList(zero_conv(ch, ops) for ch in c.down_feature_channels())
    net.brushnet_mid_block = zero_conv(chans[-1], ops)
    net.brushnet_up_blocks = nn.ModuleList(zero_conv(ch, ops) for ch in c.up_feature_channels())


class BrushNetModel(nn.Module):
    """The BrushNet branch of SD1.5 (segmentation / random-mask / BrushEdit brushnetX) and SDXL."""

    def __init__(self, config: BrushNetConfig, ops: Any = TORCH_OPS, dtype: torch.dtype | None = None,
                 device: torch.device | str | None = None) -> None:
        super().__init__()
        self.config = config
        #: run the resnets in place when autograd is off (benchmarks switch it off for the reference)
        self.inplace_inference = True
        build_branch(self, config, ops, dtype, device)

    @property
    def kind(self) -> str:
        return self.config.kind

    def embed(self, timesteps: torch.Tensor, added: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor:
        """Time embedding (+ SDXL pooled-text/size embedding ``added``, 2816 wide), after SiLU."""
        c = self.config
        t_emb = sinusoidal_embedding(timesteps, c.block_out_channels[0], c.flip_sin_to_cos, c.freq_shift)
        emb = self.time_embedding(t_emb.to(dtype))
        if self.add_embedding is not None:
            if added is None:
                raise BrushNetInputError(
                    "this SDXL BrushNet needs the pooled text + size vector (SDXL 'y'), none was given")
            emb = emb + self.add_embedding(added.to(dtype))
        return F.silu(emb)

    def forward(self, sample: torch.Tensor, timesteps: torch.Tensor, conditioning: torch.Tensor,
                added: torch.Tensor | None = None, scale: float = 1.0) -> BrushNetFeatures:
        """Run the branch.

        sample: noisy latent as the UNet sees it, [B,4,h,w]; timesteps: [B] (0..999 scale);
        conditioning: [masked-image latent (4), inverted mask (1)] concatenated, [B,5,h,w];
        added: SDXL only, [B,2816] = pooled text + sinusoidal size ids.
        """
        dtype = self.conv_in_condition.weight.dtype
        x = torch.cat([sample.to(dtype), conditioning.to(dtype)], dim=1)
        if timesteps.ndim == 0:
            timesteps = timesteps.expand(x.shape[0])
        emb = self.embed(timesteps, added, dtype)
        # Without autograd the resnets work in place (no extra activation copies) and small CPU maps
        # are convolved by matrix product: same values to fp32 rounding.
        inplace = self.inplace_inference and not torch.is_grad_enabled()
        return run_blocks(self, x, emb, inplace, scale=scale)


def _apply_resnets(block: nn.Module, h: torch.Tensor, emb: torch.Tensor, inplace: bool,
                   context: torch.Tensor | None, skips: list[torch.Tensor] | None, out: list[torch.Tensor]) -> torch.Tensor:
    """The resnets of one block; attention ``i`` (if the block has ``attentions``) follows resnet ``i``.

    Up blocks pop their skip input from ``skips``; every resnet output of a down or up block is
    appended to ``out`` (the mid block passes a list it discards).
    """
    attentions = getattr(block, "attentions", None)
    for i, resnet in enumerate(block.resnets):
        h = resnet(h if skips is None else torch.cat([h, skips.pop()], dim=1), emb, inplace)
        if attentions is not None and i < len(attentions):
            h = attentions[i](h, context)
        out.append(h)
    return h


def run_blocks(net: nn.Module, x: torch.Tensor, emb: torch.Tensor, inplace: bool,
               context: torch.Tensor | None = None, scale: float = 1.0) -> BrushNetFeatures:
    """The branch body shared by BrushNet and PowerPaint: input conv, down, mid and up blocks, and
    the zero convolutions that turn their outputs into the features added to the base UNet.

    ``x`` is [noisy latent, masked-image latent, mask] concatenated; ``emb`` the activated time
    embedding; ``context`` the text tokens the attention layers of a PowerPaint branch read.
    """
    h = net.conv_in_condition(x)
    skips = [h]
    for block in net.down_blocks:
        h = _apply_resnets(block, h, emb, inplace, context, None, skips)
        if block.downsamplers is not None:
            h = block.downsamplers[0](h, fast=inplace)
            skips.append(h)
    down = [conv(s) for conv, s in zip(net.brushnet_down_blocks, skips)]
    h = _apply_resnets(net.mid_block, h, emb, inplace, context, None, [])
    mid = net.brushnet_mid_block(h)
    up_raw: list[torch.Tensor] = []
    for block in net.up_blocks:
        h = _apply_resnets(block, h, emb, inplace, context, skips, up_raw)
        if block.upsamplers is not None:
            h = block.upsamplers[0](h, tuple(skips[-1].shape[-2:]), fast=inplace)
            up_raw.append(h)
    up = [conv(s) for conv, s in zip(net.brushnet_up_blocks, up_raw)]
    feats = BrushNetFeatures(down, mid, up)
    if scale != 1.0:
        feats = feats.map(lambda t: t * scale)
    return feats


class _OpsWithFactory:
    """Wraps an ops namespace so every layer is created with the given dtype/device."""

    def __init__(self, ops: Any, dtype: torch.dtype | None, device: Any) -> None:
        self._ops, self._kw = ops, {k: v for k, v in (("dtype", dtype), ("device", device)) if v is not None}

    def __getattr__(self, name: str) -> Any:
        cls = getattr(self._ops, name)
        return lambda *a, **kw: cls(*a, **{**self._kw, **kw})
