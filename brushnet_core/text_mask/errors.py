"""Errors of the text mask (GroundingDINO + SAM), under :class:`~brushnet_core.errors.BrushEditError`.

Each also derives from the built-in exception raised here before, so callers that catch
``ValueError`` / ``RuntimeError`` / ``FileNotFoundError`` still do.
"""
from __future__ import annotations

from ..errors import BrushEditError


class TextMaskError(BrushEditError, ValueError):
    """A text-mask input or model file that cannot be used (bad option, prompt, image or checkpoint)."""


class TextMaskCheckError(BrushEditError, RuntimeError):
    """A check around a GroundingDINO call failed: the installed transformers computes it differently."""


class TextMaskModelNotFound(BrushEditError, FileNotFoundError):
    """A GroundingDINO or SAM file or folder that is not there."""


__all__ = ["TextMaskCheckError", "TextMaskError", "TextMaskModelNotFound"]
