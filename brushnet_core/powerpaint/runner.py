"""The PowerPaint runner: BrushNet's per-call runner whose branch reads a task-prompt context."""
from __future__ import annotations

import torch

from ..branch.injection import FeatureSlot
from ..branch.runner import ActiveWindow, BrushNetRunner
from .model import PowerPaintModel


class PowerPaintRunner(BrushNetRunner):
    """BrushNetRunner whose branch reads the task context of each batch item (set per call by a wrapper)."""

    def __init__(self, model: PowerPaintModel, slot: FeatureSlot, conditioning: torch.Tensor, scale: float,
                 window: ActiveWindow, contexts: tuple[torch.Tensor, torch.Tensor], save_memory: str = "none") -> None:
        super().__init__(model, slot, conditioning, scale, window)
        self.contexts = contexts  # (positive, negative) task contexts, [1, T, C]
        self.save_memory = save_memory
        self.task_context: torch.Tensor | None = None

    def context_for(self, x: torch.Tensor, given: torch.Tensor | None, cond_or_uncond: list) -> torch.Tensor:
        """The call's per-item task context; from cond/uncond order for entries not made by the node."""
        if given is not None:
            return given
        chunks = len(cond_or_uncond) or 1
        if x.shape[0] % chunks:
            cond_or_uncond, chunks = [0], 1
        n = x.shape[0] // chunks
        parts = [self.contexts[1 if c == 1 else 0].to(x.device).expand(n, -1, -1) for c in cond_or_uncond or [0]]
        return torch.cat(parts)

    def prepare(self, x: torch.Tensor, timesteps: torch.Tensor, y: torch.Tensor | None, cond: torch.Tensor | None,
                chunks: int, sigma: float, sample_sigmas: torch.Tensor | None, context: torch.Tensor | None = None) -> None:
        """As BrushNetRunner.prepare, with the task context in place of the UNet's text context."""
        ctx = self.task_context if self.task_context is not None else self.context_for(x, None, [0] * max(chunks, 1))
        with self.model.attention_slicing(self.save_memory):
            super().prepare(x, timesteps, y, cond, chunks, sigma, sample_sigmas, context=ctx)
