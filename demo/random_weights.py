"""Random (never zero) weights for architectures built without real checkpoints."""
from __future__ import annotations

import math

import torch
from torch import nn


@torch.no_grad()
def randomize_(module: nn.Module, seed: int = 0, gain: float = 1.0) -> nn.Module:
    """Fill every parameter and float buffer with seeded random values of a sensible scale.

    Weights get N(0, gain/sqrt(fan_in)) so activations stay O(1) through deep stacks; norm scales
    get 1 + small noise, biases small noise. Deterministic for a given seed and module layout.
    """
    gen = torch.Generator().manual_seed(seed)
    for name, p in sorted(module.named_parameters(), key=lambda kv: kv[0]):
        _fill(p, name, gen, gain)
    for name, b in sorted(module.named_buffers(), key=lambda kv: kv[0]):
        if b.is_floating_point() and b.numel() > 0 and not name.endswith(("position_ids",)):
            _fill(b, name, gen, gain)
    return module


def _fill(t: torch.Tensor, name: str, gen: torch.Generator, gain: float) -> None:
    leaf = name.rsplit(".", 1)[-1]
    if t.ndim <= 1:
        if "norm" in name or leaf in ("gamma", "g") or "ln" in name.split(".")[-2:][0]:
            val = 1.0 + 0.1 * torch.randn(t.shape, generator=gen)
        else:
            val = 0.05 * torch.randn(t.shape, generator=gen)
    else:
        fan_in = max(1, t[0].numel())
        val = torch.randn(t.shape, generator=gen) * (gain / math.sqrt(fan_in))
    t.copy_(val.to(t.dtype))
