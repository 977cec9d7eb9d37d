"""ComfyUI-BrushEdit: BrushNet inpainting and BrushEdit instruction editing for ComfyUI.

Registration goes through the V3 ``comfy_entrypoint``; importing this package is cheap and
never touches the network (heavy libraries are imported inside node execution).
"""
from .nodes import comfy_entrypoint, register_model_folders

register_model_folders()

__all__ = ["comfy_entrypoint"]
