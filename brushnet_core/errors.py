"""The one base class of every error this pack raises on purpose.

Each area subclasses it (checkpoint, injection, inpaint input, pre-fill, planner, ...). The message
is what ComfyUI shows in its error dialog, so it names the problem and the fix in plain words; the
class name is shown above it, so it names the area. ``except BrushEditError`` catches them all.
"""
from __future__ import annotations


class BrushEditError(Exception):
    """An error with a message for the user: what is wrong and how to fix it."""
