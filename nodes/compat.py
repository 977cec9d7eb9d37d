"""The one place that knows the shapes of ComfyUI's internals.

ComfyUI changes its internals between releases (ops that start empty under dynamic VRAM, the
tokenizer's embedding lookup arity, models swapped at sampling time, multi-GPU clones). Every
other file asks this module instead of looking at ComfyUI itself. Features are detected by
probing the host, never from a version number; the result is logged once at load.
"""
from __future__ import annotations

import logging
from typing import Callable

import comfy.model_management as mm

log = logging.getLogger("BrushEdit")


def interrupt_requested() -> bool:
    """True once the user pressed Cancel (ComfyUI's interrupt flag)."""
    probe = getattr(mm, "processing_interrupted", None)
    return bool(probe()) if probe is not None else False


def raise_if_cancelled() -> None:
    """Raise ComfyUI's own interrupt exception when Cancel was pressed (the UI shows "cancelled")."""
    mm.throw_exception_if_processing_interrupted()


def cancel_check() -> Callable[[], None]:
    """The callable the core polls in long loops and network waits (raises on Cancel)."""
    return raise_if_cancelled
