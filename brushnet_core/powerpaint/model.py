"""The PowerPaint v2 BrushNet branch: BrushNet with cross-attention that reads PowerPaint's task prompt.

Same topology as :class:`~.model.BrushNetModel` (conv_in_condition, 4 levels of 2 resnets, mid
block, 4 up levels of 3 resnets, zero convs), but the released checkpoint
(``PowerPaint_Brushnet/diffusion_pytorch_model.safetensors``) uses diffusers'
CrossAttnDownBlock2D x3 + DownBlock2D, UNetMidBlock2DCrossAttn (resnet, attention, resnet) and
UpBlock2D + CrossAttnUpBlock2D x3: every resnet of an attention level is followed by a
Transformer2DModel. Features are taken after resnet+attention, in the same order as BrushNet's.
Parameter names are exactly the diffusers ones, so the file loads with ``strict=True``.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Iterator, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ..branch.config import BrushNetConfig, shape_fields_from_diffusers
from ..branch.checkpoint import _count
from ..branch.model import BrushNetFeatures, build_branch, run_blocks, sinusoidal_embedding
from ..errors import BrushEditError

POWERPAINT_TORCH_OPS = SimpleNamespace(Conv2d=nn.Conv2d, Linear=nn.Linear, GroupNorm=nn.GroupNorm, LayerNorm=nn.LayerNorm)


class PowerPaintModelError(BrushEditError, ValueError):
    """A PowerPaint BrushNet that cannot be built or run as given (not PowerPaint, no or wrong task context)."""


@dataclass(frozen=True)
class PowerPaintConfig(BrushNetConfig):
    """BrushNet shapes plus the attention hyper-parameters of the released PowerPaint config."""

    cross_attention_dim: int = 768
    #: diffusers' ``attention_head_dim: 8`` means 8 heads (its historic naming)
    num_attention_heads: int = 8
    down_attention: tuple[bool, ...] = (True, True, True, False)
    transformer_layers_per_block: int = 1
    use_linear_projection: bool = False

    @property
    def up_attention(self) -> tuple[bool, ...]:
        return tuple(reversed(self.down_attention))


POWERPAINT_CONFIG = PowerPaintConfig()


class Attention(nn.Module):
    """diffusers ``Attention``: to_q/to_k/to_v without bias, ``to_out.0`` with bias."""

    def __init__(self, dim: int, context_dim: int, heads: int, ops: Any) -> None:
        super().__init__()
        self.heads = heads
        self.to_q = ops.Linear(dim, dim, bias=False)
        self.to_k = ops.Linear(context_dim, dim, bias=False)
        self.to_v = ops.Linear(context_dim, dim, bias=False)
        self.to_out = nn.ModuleList([ops.Linear(dim, dim)])
        #: heads*batch computed per slice (0 = all at once); set via PowerPaintModel.attention_slicing
        self.slice_size = 0

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        ctx = x if context is None else context
        b, n, dim = x.shape
        split = lambda t: t.view(b, -1, self.heads, dim // self.heads).transpose(1, 2).reshape(b * self.heads, -1, dim // self.heads)  # noqa: E731
        q, k, v = split(self.to_q(x)), split(self.to_k(ctx)), split(self.to_v(ctx))
        step = self.slice_size if 0 < self.slice_size < q.shape[0] else q.shape[0]
        out = torch.cat([F.scaled_dot_product_attention(q[i:i + step], k[i:i + step], v[i:i + step])
                         for i in range(0, q.shape[0], step)])
        out = out.view(b, self.heads, n, dim // self.heads).transpose(1, 2).reshape(b, n, dim)
        return self.to_out[0](out)


class GEGLU(nn.Module):
    def __init__(self, dim: int, hidden: int, ops: Any) -> None:
        super().__init__()
        self.proj = ops.Linear(dim, hidden * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, gate = self.proj(x).chunk(2, dim=-1)
        return h * F.gelu(gate)


class FeedForward(nn.Module):
    """``ff.net.0.proj`` (GEGLU, 4x) then ``ff.net.2``; ``net.1`` is a parameter-free dropout."""

    def __init__(self, dim: int, ops: Any) -> None:
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, dim * 4, ops), nn.Identity(), ops.Linear(dim * 4, dim)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.net:
            x = layer(x)
        return x


class TransformerBlock(nn.Module):
    """diffusers ``BasicTransformerBlock``: self-attention, cross-attention, GEGLU feed-forward."""

    def __init__(self, dim: int, context_dim: int, heads: int, ops: Any) -> None:
        super().__init__()
        self.norm1 = ops.LayerNorm(dim, eps=1e-5)
        self.attn1 = Attention(dim, dim, heads, ops)
        self.norm2 = ops.LayerNorm(dim, eps=1e-5)
        self.attn2 = Attention(dim, context_dim, heads, ops)
        self.norm3 = ops.LayerNorm(dim, eps=1e-5)
        self.ff = FeedForward(dim, ops)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x
        return self.ff(self.norm3(x)) + x


class Transformer2D(nn.Module):
    """diffusers ``Transformer2DModel`` for continuous input: GroupNorm, proj_in, blocks, proj_out, residual."""

    def __init__(self, ch: int, c: PowerPaintConfig, ops: Any) -> None:
        super().__init__()
        self.linear = c.use_linear_projection
        self.norm = ops.GroupNorm(c.norm_num_groups, ch, eps=1e-6, affine=True)
        self.proj_in = ops.Linear(ch, ch) if self.linear else ops.Conv2d(ch, ch, 1)
        self.transformer_blocks = nn.ModuleList(
            TransformerBlock(ch, c.cross_attention_dim, c.num_attention_heads, ops) for _ in range(c.transformer_layers_per_block)
        )
        self.proj_out = ops.Linear(ch, ch) if self.linear else ops.Conv2d(ch, ch, 1)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        b, ch, h, w = x.shape
        y = self.norm(x)
        if not self.linear:
            y = self.proj_in(y)
        y = y.permute(0, 2, 3, 1).reshape(b, h * w, ch)
        if self.linear:
            y = self.proj_in(y)
        for block in self.transformer_blocks:
            y = block(y, context)
        if self.linear:
            y = self.proj_out(y)
        y = y.reshape(b, h, w, ch).permute(0, 3, 1, 2)
        if not self.linear:
            y = self.proj_out(y)
        return y + x


class PowerPaintModel(nn.Module):
    """The BrushNet branch of PowerPaint v2 (SD1.5), reading a [B, tokens, 768] task-prompt context."""

    #: tells BrushNetRunner to pass ``context=`` and not to share cond/uncond unless contexts are equal
    reads_context = True

    def __init__(self, config: PowerPaintConfig = POWERPAINT_CONFIG, ops: Any = POWERPAINT_TORCH_OPS,
                 dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> None:
        super().__init__()
        self.config = c = config
        #: run the resnets in place (and small maps by matrix product) when autograd is off
        self.inplace_inference = True
        if not hasattr(ops, "LayerNorm"):
            ops = SimpleNamespace(Conv2d=ops.Conv2d, Linear=ops.Linear, GroupNorm=ops.GroupNorm, LayerNorm=nn.LayerNorm)

        def attentions(where: str, level: int, ch: int, count: int, layer_ops: Any) -> nn.ModuleList | None:
            wanted = {"down": c.down_attention, "up": c.up_attention}.get(where, (True,))[level]
            return nn.ModuleList(Transformer2D(ch, c, layer_ops) for _ in range(count)) if wanted else None

        build_branch(self, c, ops, dtype, device, mid_layers=2, attentions=attentions)

    @property
    def kind(self) -> str:
        return "powerpaint"

    @contextlib.contextmanager
    def attention_slicing(self, mode: str = "none") -> Iterator[None]:
        """Compute attention in slices while inside (``auto``: half the heads per slice, ``max``: one)."""
        size = {"none": 0, "auto": max(self.config.num_attention_heads // 2, 1), "max": 1}.get(mode)
        if size is None:
            raise PowerPaintModelError(f"save_memory must be one of none, auto, max (got {mode!r})")
        layers = [m for m in self.modules() if isinstance(m, Attention)]
        for layer in layers:
            layer.slice_size = size
        try:
            yield
        finally:
            for layer in layers:
                layer.slice_size = 0

    def forward(self, sample: torch.Tensor, timesteps: torch.Tensor, conditioning: torch.Tensor,
                added: torch.Tensor | None = None, scale: float = 1.0, context: torch.Tensor | None = None) -> BrushNetFeatures:
        """Run the branch: inputs as :meth:`BrushNetModel.forward`, plus the task-prompt ``context`` [B,T,768]."""
        if context is None:
            raise PowerPaintModelError(
                "PowerPaint's BrushNet reads a task-prompt context (PowerPaint node); none was given")
        dtype = self.conv_in_condition.weight.dtype
        if context.shape[-1] != self.config.cross_attention_dim:
            raise PowerPaintModelError(
                f"PowerPaint context is {context.shape[-1]} wide, the model expects {self.config.cross_attention_dim}: "
                "use the SD1.5 CLIP-L from PowerPaintCLIPLoader"
            )
        x = torch.cat([sample.to(dtype), conditioning.to(dtype)], dim=1)
        context = context.to(device=x.device, dtype=dtype)
        if context.shape[0] != x.shape[0]:
            context = context.expand(x.shape[0], -1, -1) if context.shape[0] == 1 else context
        if timesteps.ndim == 0:
            timesteps = timesteps.expand(x.shape[0])
        c = self.config
        t_emb = sinusoidal_embedding(timesteps, c.block_out_channels[0], c.flip_sin_to_cos, c.freq_shift)
        emb = F.silu(self.time_embedding(t_emb.to(dtype)))
        inplace = self.inplace_inference and not torch.is_grad_enabled()
        return run_blocks(self, x, emb, inplace, context=context, scale=scale)


def powerpaint_config(sd: Mapping[str, torch.Tensor], json_config: Mapping[str, Any] | None = None) -> PowerPaintConfig:
    """Shapes from the tensors; the head count (not visible in shapes) from config.json, else 8 as released."""
    levels = _count(sd, r"down_blocks\.(\d+)\.resnets\.0\.conv1\.weight")
    if levels == 0 or "mid_block.attentions.0.proj_in.weight" not in sd:
        raise PowerPaintModelError("not a PowerPaint BrushNet: no down blocks or no mid-block attention")
    chans = tuple(int(sd[f"down_blocks.{i}.resnets.0.conv1.weight"].shape[0]) for i in range(levels))
    proj_in = sd["mid_block.attentions.0.proj_in.weight"]
    ctx_key = "mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight"
    heads = 8
    if json_config:
        heads = int(json_config.get("num_attention_heads") or json_config.get("attention_head_dim") or 8)
    return PowerPaintConfig(
        conditioning_channels=int(sd["conv_in_condition.weight"].shape[1]) - 4,
        block_out_channels=chans,
        layers_per_block=_count(sd, r"down_blocks\.0\.resnets\.(\d+)\.conv1\.weight"),
        mid_block_layers=2,
        cross_attention_dim=int(sd[ctx_key].shape[1]) if ctx_key in sd else 768,
        num_attention_heads=heads,
        down_attention=tuple(f"down_blocks.{i}.attentions.0.proj_in.weight" in sd for i in range(levels)),
        transformer_layers_per_block=max(_count(sd, r"mid_block\.attentions\.0\.transformer_blocks\.(\d+)\.norm1\.weight"), 1),
        use_linear_projection=proj_in.ndim == 2,
    )


def build_powerpaint(config: PowerPaintConfig, sd: Mapping[str, torch.Tensor], ops: Any = None,
                     dtype: torch.dtype = torch.float32, source: str = "checkpoint") -> PowerPaintModel:
    """Build on the meta device, check every key and shape, adopt the tensors (one dtype cast)."""
    from ..branch.checkpoint import BrushNetCheckpointError, adopt_tensors

    try:
        return adopt_tensors(lambda layer_ops: PowerPaintModel(config, ops=layer_ops), POWERPAINT_TORCH_OPS,
                             ops or POWERPAINT_TORCH_OPS, sd, dtype, source)
    except BrushNetCheckpointError as err:
        raise BrushNetCheckpointError(f"PowerPaint BrushNet: {err}") from None


def config_from_released(cfg: Mapping[str, Any]) -> PowerPaintConfig:
    """A PowerPaint ``config.json`` (diffusers BrushNetModel with CrossAttn blocks) -> PowerPaintConfig."""
    down_types = list(cfg.get("down_block_types") or [])
    if not any("CrossAttn" in str(t) for t in down_types):
        raise PowerPaintModelError(
            "this config.json has no cross-attention blocks: it is a plain BrushNet, not PowerPaint")
    layers = cfg.get("transformer_layers_per_block", 1)
    return PowerPaintConfig(
        **shape_fields_from_diffusers(dict(cfg)),
        cross_attention_dim=int(cfg.get("cross_attention_dim", 768)),
        num_attention_heads=int(cfg.get("num_attention_heads") or cfg.get("attention_head_dim") or 8),
        down_attention=tuple("CrossAttn" in str(t) for t in down_types),
        transformer_layers_per_block=int(layers if isinstance(layers, int) else layers[0]),
        use_linear_projection=bool(cfg.get("use_linear_projection", False)),
    )


def load_powerpaint(sd: Mapping[str, torch.Tensor], weights_path: str, ops: Any = None,
                    dtype: torch.dtype = torch.float32, source: str = "checkpoint") -> PowerPaintModel:
    """Build a PowerPaint branch from a checkpoint's tensors (config.json beside them gives the head count)."""
    import json
    import os

    from ..branch.checkpoint import BrushNetCheckpointError

    json_config = None
    cfg_path = os.path.join(os.path.dirname(weights_path), "config.json")
    if os.path.isfile(cfg_path):
        try:
            with open(cfg_path, encoding="utf-8") as fh:
                loaded = json.load(fh)
            if loaded.get("_class_name") in (None, "BrushNetModel"):
                json_config = loaded
        except (OSError, ValueError) as err:
            raise BrushNetCheckpointError(f"cannot read {cfg_path}: {err}") from None
    try:
        config = powerpaint_config(sd, json_config)
    except (ValueError, KeyError) as err:
        raise BrushNetCheckpointError(
            f"{source} has attention layers like a PowerPaint v2 BrushNet but is not a complete one ({err}); "
            "the file may be truncated or a different model"
        ) from None
    return build_powerpaint(config, sd, ops=ops, dtype=dtype, source=source)
