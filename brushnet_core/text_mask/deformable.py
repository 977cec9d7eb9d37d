"""A leaner multi-scale deformable attention core for GroundingDINO on the CPU, same results.

transformers' pure-PyTorch ``MultiScaleDeformableAttention`` (the CPU path; the original's
``multi_scale_deformable_attn_pytorch`` is the same maths) samples every level with ``grid_sample``,
stacks all levels' samples into one (B*heads, head_dim, queries, levels*points) tensor, multiplies
it by the attention weights and sums. For GroundingDINO's encoder on an 800 px image that stack and
its product are two 200+ MB tensors per layer. Here each level's samples are weighted in place and
summed into the output as they come: the same sum in another order (differences of float rounding,
about 1e-7 relative), no stacked tensor. Off the CPU the module's own forward runs (a custom kernel
when transformers has one).
"""
from __future__ import annotations

import contextlib
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .scoped import swapped_forward


def is_deformable_core(module: nn.Module) -> bool:
    """transformers' ``MultiScaleDeformableAttention`` core (GroundingDINO and the Deformable-DETR family)."""
    return type(module).__name__ == "MultiScaleDeformableAttention" and not any(True for _ in module.parameters())


def deformable_forward(self: nn.Module, value: torch.Tensor, value_spatial_shapes: torch.Tensor,
                       value_spatial_shapes_list: list[tuple], level_start_index: torch.Tensor,
                       sampling_locations: torch.Tensor, attention_weights: torch.Tensor, im2col_step: int,
                       *args: Any, **kwargs: Any) -> torch.Tensor:
    """Replacement ``forward``: (B, S, heads, d) values -> (B, queries, heads * d)."""
    if value.device.type != "cpu" or args or kwargs:
        return type(self).forward(self, value, value_spatial_shapes, value_spatial_shapes_list, level_start_index,
                                  sampling_locations, attention_weights, im2col_step, *args, **kwargs)
    batch, _, heads, dim = value.shape
    _, queries, _, levels, points, _ = sampling_locations.shape
    values = value.split([h * w for h, w in value_spatial_shapes_list], dim=1)
    grids = 2 * sampling_locations - 1
    weights = attention_weights.transpose(1, 2).reshape(batch * heads, 1, queries, levels, points)
    out = None
    for level, (h, w) in enumerate(value_spatial_shapes_list):
        v = values[level].flatten(2).transpose(1, 2).reshape(batch * heads, dim, h, w)
        grid = grids[:, :, :, level].transpose(1, 2).flatten(0, 1)
        sampled = F.grid_sample(v, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        part = sampled.mul_(weights[..., level, :]).sum(-1)  # (B*heads, d, queries)
        out = part if out is None else out.add_(part)
    return out.view(batch, heads * dim, queries).transpose(1, 2).contiguous()


def fast_deformable_attention(model: nn.Module, enabled: bool = True) -> contextlib.AbstractContextManager[int]:
    """Within the block every deformable-attention core of ``model`` uses :func:`deformable_forward`
    (an instance attribute, removed after). Yields how many were switched."""
    return swapped_forward(model, is_deformable_core, deformable_forward, enabled)
