"""Pure-torch core of ComfyUI-BrushEdit: BrushNet model, checkpoints, injection, masks, blending.

Nothing in this package imports ComfyUI; it is importable and testable on its own.
"""
