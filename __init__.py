"""ComfyUI-BrushEdit: BrushNet inpainting and BrushEdit instruction editing for ComfyUI.

Registration goes through the V3 ``comfy_entrypoint``; importing this package is cheap and
never touches the network (heavy libraries are imported inside node execution). On a ComfyUI
too old for the pack (no V3 node API), one error line says so and no node is registered.
"""
import logging

try:
    from .nodes import comfy_entrypoint, register_model_folders
except ImportError as err:  # comfy_api.latest and friends are missing on hosts older than 0.3.52
    logging.getLogger("BrushEdit").error(
        "[BrushEdit] not loaded: this ComfyUI lacks %s. ComfyUI-BrushEdit needs ComfyUI 0.3.52 or newer: "
        "update ComfyUI.", getattr(err, "name", None) or err)
    __all__: list[str] = []
else:
    register_model_folders()
    __all__ = ["comfy_entrypoint"]
