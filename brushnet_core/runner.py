"""Per-call BrushNet execution: activity window, CFG sharing and reuse across calls."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import torch

from .injection import FeatureSlot
from .model import BrushNetFeatures, BrushNetModel

log = logging.getLogger("BrushEdit")


@dataclass
class ActiveWindow:
    """When BrushNet runs: sampling steps [start_step, end_step) and sigmas in [sigma_end, sigma_start]."""

    start_step: int = 0
    end_step: int = 10000
    sigma_start: float = float("inf")
    sigma_end: float = 0.0

    def is_empty(self) -> bool:
        return self.start_step >= self.end_step or self.sigma_start < self.sigma_end

    def step_index(self, sigma: float, sample_sigmas: torch.Tensor | None) -> int | None:
        """Index of the sampling step that ``sigma`` belongs to (intermediate sigmas included)."""
        if sample_sigmas is None or sample_sigmas.numel() == 0:
            return None
        tol = max(abs(sigma) * 1e-5, 1e-8)
        return max(int((sample_sigmas.float().cpu() >= sigma - tol).sum().item()) - 1, 0)

    def active(self, sigma: float, sample_sigmas: torch.Tensor | None) -> bool:
        if sigma > self.sigma_start * (1 + 1e-6) or sigma < self.sigma_end * (1 - 1e-6):
            return False
        step = self.step_index(sigma, sample_sigmas)
        if step is None:
            return self.start_step == 0
        return self.start_step <= step < self.end_step


class BrushNetRunner:
    """Computes BrushNet features for one model call and puts them in the slot.

    SD1.5 BrushNet ignores text, so batch parts (cond/uncond) with equal latent input, timestep
    and conditioning share one computation; SDXL parts also compare the pooled-text vector ``y``.
    The last result is kept (inputs cloned) so a separate cond or uncond call of the same step
    reuses it.
    """

    def __init__(self, model: BrushNetModel, slot: FeatureSlot, conditioning: torch.Tensor, scale: float,
                 window: ActiveWindow) -> None:
        self.model, self.slot, self.conditioning, self.scale, self.window = model, slot, conditioning, scale, window
        self.uses_pooled = getattr(model, "add_embedding", None) is not None
        #: a branch with cross-attention (PowerPaint) reads the text context as well
        self.uses_context = bool(getattr(model, "reads_context", False))
        self.calls = 0  # BrushNet forwards actually run (for tests and benchmarks)
        self._last: tuple[list[torch.Tensor], BrushNetFeatures] | None = None

    def reset(self) -> None:
        self._last = None
        self.slot.clear()

    def conditioning_for(self, x: torch.Tensor, given: torch.Tensor | None) -> torch.Tensor:
        """The per-item conditioning of this call (from the conds), else the node's, matched to x."""
        cond = given if given is not None else self.conditioning
        if cond.shape[-2:] != x.shape[-2:]:
            raise ValueError(
                f"BrushNet conditioning is {tuple(cond.shape[-2:])} latent pixels but the sampler's latent is "
                f"{tuple(x.shape[-2:])}: sample the LATENT output of the BrushNet node (no upscale or crop "
                "between BrushNet and the sampler), or re-run BrushNet on the resized image"
            )
        if cond.shape[0] != x.shape[0]:
            if x.shape[0] % cond.shape[0]:
                raise ValueError(f"BrushNet: latent batch {x.shape[0]} does not match image batch {cond.shape[0]}")
            cond = cond.repeat(x.shape[0] // cond.shape[0], 1, 1, 1)
        return cond.to(device=x.device)

    def prepare(self, x: torch.Tensor, timesteps: torch.Tensor, y: torch.Tensor | None, cond: torch.Tensor | None,
                chunks: int, sigma: float, sample_sigmas: torch.Tensor | None,
                context: torch.Tensor | None = None) -> None:
        """Fill the slot for this call, or leave it empty when BrushNet is inactive at ``sigma``."""
        self.slot.clear()
        if not self.window.active(sigma, sample_sigmas):
            return
        cond = self.conditioning_for(x, cond)
        x = x[:, : self.model.config.in_channels]
        if chunks < 1 or x.shape[0] % chunks:
            chunks = 1
        n = x.shape[0] // chunks
        t = timesteps.reshape(-1).expand(x.shape[0]) if timesteps.numel() == 1 else timesteps.reshape(-1)
        parts = [self._part(x, t, y, cond, context, c * n, (c + 1) * n) for c in range(chunks)]
        if self._last is not None and all(_same(p, self._last[0]) for p in parts):
            self.slot.set(self._last[1], chunks, [0] * chunks)
            return
        unique: list[list[torch.Tensor]] = []
        index: list[int] = []
        for part in parts:
            found = next((i for i, u in enumerate(unique) if _same(part, u)), None)
            if found is None:
                unique.append(part)
                found = len(unique) - 1
            index.append(found)
        batch = [torch.cat([u[k] for u in unique]) if u0 is not None else None for k, u0 in enumerate(unique[0])]
        with torch.no_grad():
            extra = {"context": batch[4]} if self.uses_context else {}
            feats = self.model(batch[0], batch[1], batch[3], added=batch[2], scale=self.scale, **extra)
        self.calls += 1
        if feats.mid.dtype != x.dtype:
            feats = feats.map(lambda f: f.to(x.dtype))
        if len(unique) == 1:
            self._last = ([p.clone() if p is not None else None for p in unique[0]], feats)
        self.slot.set(feats, chunks, index)

    def _part(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None, cond: torch.Tensor,
              context: torch.Tensor | None, a: int, b: int) -> list:
        """The inputs of batch part [a, b) that the branch actually reads (what decides sharing)."""
        pooled = y[a:b] if (self.uses_pooled and y is not None) else None
        ctx = context[a:b] if (self.uses_context and context is not None) else None
        return [x[a:b], t[a:b], pooled, cond[a:b], ctx]


def _same(a: Sequence[torch.Tensor | None], b: Sequence[torch.Tensor | None]) -> bool:
    for u, v in zip(a, b):
        if (u is None) != (v is None):
            return False
        if u is not None and (u.shape != v.shape or u.device != v.device or not torch.equal(u, v.to(u.dtype))):
            return False
    return True
