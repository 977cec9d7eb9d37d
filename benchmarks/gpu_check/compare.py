"""Comparing ours with the reference: the dtypes checked, relative error, exact fp32 (TF32 off)."""
from __future__ import annotations

from typing import Any

import torch

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
EPS = {"fp32": 1.2e-7, "fp16": 9.8e-4, "bf16": 7.8e-3}  # unit roundoff


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))


def finite(*ts: torch.Tensor) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in ts)


def fmt(x: float) -> str:
    return f"{x:.1e}" if x else "0"


def to_dev(conds: list, dev: torch.device) -> list:
    """Conditioning lists with every tensor moved to ``dev`` (the reference runs there)."""
    out = []
    for ctx, opts in conds:
        out.append([ctx.to(dev), {k: (v.to(dev) if torch.is_tensor(v) else v) for k, v in opts.items()}])
    return out


class Precise:
    """TF32 off for fp32 matmuls and convolutions while the reference runs (restored after)."""

    def __enter__(self) -> "Precise":
        self.saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        return self

    def __exit__(self, *exc: Any) -> None:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = self.saved
