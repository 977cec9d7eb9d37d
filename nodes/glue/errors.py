"""Errors the node glue raises, each under the ``BrushEditError`` subclass of its area.

Each also derives from the built-in exception raised here before (``FileNotFoundError``,
``ValueError``, ``TypeError``, ``RuntimeError``), so callers that catch those still do.
"""
from __future__ import annotations

from ...brushnet_core.branch.injection import IncompatibleModelError
from ...brushnet_core.errors import BrushEditError
from ...brushnet_core.planner.plan import PlannerError


class ModelNotFoundError(BrushEditError, FileNotFoundError):
    """A model file or folder a node names is not in its models folder."""


class OptionError(BrushEditError, ValueError):
    """A widget value outside its choices (an API prompt or an edited workflow can send any)."""


class WrongModelError(IncompatibleModelError, TypeError):
    """The wrong kind of model on a model socket (a PowerPaint BrushNet on the BrushNet node, ...)."""


class UnsupportedSamplingError(BrushEditError, RuntimeError):
    """A sampling set-up the BrushNet branch cannot follow (multi-GPU)."""


class PlannerInputError(PlannerError, ValueError):
    """An input of a planner node that is not what the planner reads."""
