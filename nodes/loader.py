"""BrushNetLoader: reads a BrushNet checkpoint into a ModelPatcher managed by ComfyUI."""
from __future__ import annotations

import logging
import os

import torch
from comfy_api.latest import io

import comfy.model_management as mm
import comfy.model_patcher
import comfy.utils
import folder_paths

from ..brushnet_core.branch.checkpoint import POWERPAINT, WEIGHT_EXTENSIONS, build_model, read_checkpoint
from . import compat
from .types import BrushNetModelType

log = logging.getLogger("BrushEdit")

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64}
BRUSHNET_FOLDERS = ("inpaint", "brushnet")


def list_brushnet_files() -> list[str]:
    """Weight files under models/inpaint and models/brushnet (recursive, relative names)."""
    names: list[str] = []
    for folder in BRUSHNET_FOLDERS:
        try:
            files = folder_paths.get_filename_list(folder)
        except KeyError:
            continue
        names += [f for f in files if f.lower().endswith(WEIGHT_EXTENSIONS) and f not in names]
    return sorted(names)


def resolve_brushnet_path(name: str) -> str:
    for folder in BRUSHNET_FOLDERS:
        path = folder_paths.get_full_path(folder, name)
        if path is not None:
            return path
    searched = [p for f in BRUSHNET_FOLDERS for p in folder_paths.get_folder_paths(f)]
    raise FileNotFoundError(f"BrushNet file '{name}' not found in {searched}. Put it there or fix the path.")


def pick_dtype(name: str | None, device: torch.device) -> torch.dtype:
    if name in (None, "", "auto"):
        if mm.should_use_bf16(device):
            return torch.bfloat16
        return torch.float16 if mm.should_use_fp16(device) else torch.float32
    if name not in DTYPES:
        raise ValueError(f"unknown dtype '{name}': use one of auto, {', '.join(DTYPES)}")
    return DTYPES[name]


def load_brushnet(path: str, dtype_name: str | None = "auto") -> comfy.model_patcher.ModelPatcher:
    """Load a BrushNet file/folder into a ModelPatcher (weights in ``dtype``, cast once here)."""
    load_device = mm.get_torch_device()
    dtype = pick_dtype(dtype_name, load_device)
    pbar = comfy.utils.ProgressBar(100)
    sd, info = read_checkpoint(path, progress=lambda done, total: pbar.update_absolute(int(90 * done / total), 100))
    if info.kind == POWERPAINT:  # PowerPaint v2: BrushNet with cross-attention, used by the PowerPaint node
        from ..brushnet_core.powerpaint.model import load_powerpaint

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
        try:
            resolve_brushnet_path(brushnet)
        except FileNotFoundError as err:
            return str(err)
        if dtype not in (None, "auto", *DTYPES):
            return f"unknown dtype '{dtype}': use one of auto, {', '.join(DTYPES)}"
        return True

    @classmethod
    def execute(cls, brushnet: str, dtype: str | None = "auto") -> io.NodeOutput:
        return io.NodeOutput(load_brushnet(resolve_brushnet_path(brushnet), dtype))


NODES = [BrushNetLoader]
