"""ComfyUI adapters: thin V3 node classes that translate inputs and call ``brushnet_core``."""
from __future__ import annotations

from comfy_api.latest import ComfyExtension, io

from .glue.folders import register_model_folders
from . import apply, compat, image_tools, loader, planner, powerpaint, prefill, raunet, regions, text_mask


def all_nodes() -> list[type[io.ComfyNode]]:
    """Every node class of the pack, in menu order."""
    return [*loader.NODES, *apply.NODES, *powerpaint.NODES, *image_tools.NODES, *prefill.NODES, *regions.NODES,
            *text_mask.NODES, *planner.NODES, *raunet.NODES]


class BrushEditExtension(ComfyExtension):
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        missing = compat.missing_requirements()
        if missing:
            compat.log.error("[BrushEdit] not loaded: this ComfyUI lacks %s. ComfyUI-BrushEdit needs ComfyUI %s or "
                             "newer: update ComfyUI.", ", ".join(missing), compat.OLDEST_SUPPORTED)
            return []
        return all_nodes()


async def comfy_entrypoint() -> BrushEditExtension:
    compat.log_host_once()
    return BrushEditExtension()


__all__ = ["all_nodes", "comfy_entrypoint", "register_model_folders"]
