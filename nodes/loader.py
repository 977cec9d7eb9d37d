"""BrushNetLoader: reads a BrushNet checkpoint into a ModelPatcher managed by ComfyUI."""
from __future__ import annotations

import logging
import os

from comfy_api.latest import io

import comfy.model_management as mm
import comfy.model_patcher
import comfy.utils

from ..brushnet_core.branch.checkpoint import POWERPAINT, WEIGHT_EXTENSIONS, build_model, read_checkpoint
from ..brushnet_core.powerpaint.model import load_powerpaint
from . import compat
from .glue.folders import BRUSHNET_FOLDERS, check_model, list_models, resolve_model
from .glue.managed import DTYPES, check_dtype, pick_dtype
from .glue.schema import search_aliases
from .glue.sockets import BrushNetModelType

log = logging.getLogger("BrushEdit")

#: how a BrushNet file name is resolved and reported when missing
BRUSHNET_FILE = {"what": "BrushNet file", "fix": "put it there (models/brushnet or models/inpaint) or fix the name"}


def list_brushnet_files() -> list[str]:
    """Weight files under models/inpaint and models/brushnet (recursive, relative names)."""
    return list_models(BRUSHNET_FOLDERS, WEIGHT_EXTENSIONS)


def resolve_brushnet_path(name: str) -> str:
    return resolve_model(BRUSHNET_FOLDERS, name, **BRUSHNET_FILE)


def load_brushnet(path: str, dtype_name: str | None = "auto") -> comfy.model_patcher.ModelPatcher:
    """Load a BrushNet file/folder into a ModelPatcher (weights in ``dtype``, cast once here)."""
    load_device = mm.get_torch_device()
    dtype = pick_dtype(dtype_name, load_device)
    pbar = comfy.utils.ProgressBar(100)
    sd, info = read_checkpoint(path, progress=lambda done, total: pbar.update_absolute(int(90 * done / total), 100))
    if info.kind == POWERPAINT:  # PowerPaint v2: BrushNet with cross-attention, used by the PowerPaint node
        model = load_powerpaint(sd, info.path, ops=compat.layer_ops(), dtype=dtype,
                                source=os.path.basename(path))
    else:
        model = build_model(info.config, sd, ops=compat.layer_ops(), dtype=dtype, source=os.path.basename(path))
    del sd
    model.brushnet_source = path
    pbar.update_absolute(100, 100)
    log.info("[BrushEdit] loaded %s BrushNet %s as %s", info.kind.upper(), path, dtype)
    return comfy.model_patcher.ModelPatcher(model, load_device=load_device, offload_device=mm.unet_offload_device())


class BrushNetLoader(io.ComfyNode):
    """Same id, inputs and output type as the earlier ComfyUI-BrushNet pack's loader."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BrushNetLoader",
            display_name="BrushNet Loader",
            category="inpaint",
            **search_aliases("brushnet model", "load brushnet", "powerpaint model", "inpaint model loader"),
            description="Loads a BrushNet (SD1.5 or SDXL; diffusers folder, single .safetensors or legacy .bin) "
                        "from models/brushnet or models/inpaint. The kind is detected from the tensors.",
            inputs=[
                io.Combo.Input("brushnet", options=list_brushnet_files(),
                               tooltip="BrushNet weights: a diffusion_pytorch_model file inside a BrushNet folder, "
                                       "or a single-file repack, under models/brushnet or models/inpaint."),
                io.Combo.Input("dtype", options=["auto", *DTYPES], default="auto", optional=True,
                               tooltip="Precision BrushNet runs in. auto = float16/bfloat16 where the device "
                                       "supports it, float32 on CPU."),
            ],
            outputs=[BrushNetModelType.Output(display_name="brushnet", tooltip="The loaded BrushNet; connect to the BrushNet node.")],
        )

    @classmethod
    def validate_inputs(cls, brushnet: str, dtype: str | None = "auto") -> bool | str:
        """Reject a missing file at queue time (V3 combos are not checked against the list by ComfyUI)."""
        found = check_model(BRUSHNET_FOLDERS, brushnet, **BRUSHNET_FILE)
        return found if found is not True else check_dtype(dtype)

    @classmethod
    def execute(cls, brushnet: str, dtype: str | None = "auto") -> io.NodeOutput:
        return io.NodeOutput(load_brushnet(resolve_brushnet_path(brushnet), dtype))


NODES = [BrushNetLoader]
