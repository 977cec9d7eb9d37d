"""A faster attention for SAM / SAM-HQ image encoders on the CPU, same results.

SAM's ViT adds a decomposed relative-position bias to every attention score:
``bias[i, j] = q_i . Rh[row(i), row(j)] + q_i . Rw[col(i), col(j)]`` (MViTv2, as in
segment-anything's ``add_decomposed_rel_pos``). transformers materialises it for all heads at once
as ``rel_h[..., None] + rel_w[..., None, :]``, then copies it into (B, heads, N, N) layout: for a
global-attention layer of a 1024 px image that is 12-16 heads x 4096 x 4096 floats (0.8-1.1 GB)
written, copied and read per layer.

Here the bias is written straight into a preallocated (B, heads, rows, N) buffer with one broadcast
add per block of query rows (no second copy, at most :data:`BLOCK_ELEMENTS` floats alive), and
each block runs ``scaled_dot_product_attention`` with that bias as its mask. The maths is the
same as transformers' SDPA path element by element (each query row's attention does not depend on
how the rows are grouped), so outputs agree to float rounding with transformers and, through it,
with the original's eager attention (tests: below 1e-5 relative).
"""
from __future__ import annotations

import contextlib
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .scoped import swapped_forward

#: floats per bias block (256 MiB in fp32); a global layer of SAM ViT-B at 1024 px runs in 4 blocks
BLOCK_ELEMENTS = 1 << 26


def is_sam_vision_attention(module: nn.Module) -> bool:
    """transformers' SAM / SAM-HQ image-encoder attention (eager or SDPA class), told by its parts."""
    return (type(module).__name__.endswith(("VisionAttention", "VisionSdpaAttention"))
            and isinstance(getattr(module, "qkv", None), nn.Linear)
            and isinstance(getattr(module, "proj", None), nn.Linear)
            and hasattr(module, "num_attention_heads") and hasattr(module, "scale")
            and hasattr(module, "use_rel_pos") and callable(getattr(module, "get_rel_pos", None)))


def attention_forward(self: nn.Module, hidden_states: torch.Tensor, output_attentions: Any = None,
                      *_args: Any, **_kwargs: Any) -> tuple[torch.Tensor, None]:
    """Replacement ``forward`` for one SAM vision attention module: (B, H, W, C) -> ((B, H, W, C), None)."""
    b, h, w, c = hidden_states.shape
    heads = int(self.num_attention_heads)
    d, n = c // heads, h * w
    qkv = self.qkv(hidden_states).reshape(b, n, 3, heads, d).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)  # (B, heads, N, d) views
    if not self.use_rel_pos:
        out = F.scaled_dot_product_attention(q, k, v, scale=self.scale)
    else:
        rh = self.get_rel_pos(h, h, self.rel_pos_h)  # (h, h, d)
        rw = self.get_rel_pos(w, w, self.rel_pos_w)  # (w, w, d)
        rq = q.reshape(b, heads, h, w, d)
        rel_h = torch.einsum("bnhwc,hkc->bnhwk", rq, rh)  # (B, heads, h, w, h)
        rel_w = torch.einsum("bnhwc,wkc->bnhwk", rq, rw)  # (B, heads, h, w, w)
        out = q.new_empty(b, heads, n, d)
        rows = max(1, min(h, BLOCK_ELEMENTS // max(1, b * heads * w * n)))
        bias = None
        for r0 in range(0, h, rows):
            r1 = min(h, r0 + rows)
            shape = (b, heads, r1 - r0, w, h, w)
            if bias is None or bias.shape != shape:
                bias = q.new_empty(shape)
            torch.add(rel_h[:, :, r0:r1, :, :, None], rel_w[:, :, r0:r1, :, None, :], out=bias)
            sl = slice(r0 * w, r1 * w)
            out[:, :, sl] = F.scaled_dot_product_attention(q[:, :, sl], k, v, attn_mask=bias.view(b, heads, -1, n),
                                                          scale=self.scale)
        del bias
    out = out.view(b, heads, h, w, d).permute(0, 2, 3, 1, 4).reshape(b, h, w, c)
    return self.proj(out), None


def fast_attention(model: nn.Module, enabled: bool = True) -> contextlib.AbstractContextManager[int]:
    """Within the block, every SAM vision attention module of ``model`` uses :func:`attention_forward`
    (an instance attribute, removed after). Yields how many modules were switched (0 when disabled or
    for other encoders, e.g. SAM 2's Hiera)."""
    return swapped_forward(model, is_sam_vision_attention, attention_forward, enabled)
