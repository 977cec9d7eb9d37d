"""The model files the example workflows reference, and small random stand-ins for them.

Names are the ones users have (official BrushNet folders under models/brushnet, common base
checkpoints), so a user with the real files runs the workflows unchanged; without them, tests
and the demo write random-weight files of the same formats under the same names.
"""
from __future__ import annotations

from pathlib import Path

SD15_CHECKPOINT = "v1-5-pruned-emaonly.safetensors"
SD15_BRUSHNET = "random_mask_brushnet_ckpt/diffusion_pytorch_model.safetensors"
SDXL_CHECKPOINT = "sd_xl_base_1.0.safetensors"
SDXL_BRUSHNET = "random_mask_brushnet_ckpt_sdxl_v0/diffusion_pytorch_model.safetensors"
SD15_LORA = "example_style_lora_sd15.safetensors"
SD15_CONTROLNET = "control_v11p_sd15_canny.safetensors"
GROUNDING_DINO = "groundingdino_swint_ogc.pth"
SAM = "sam_vit_b_01ec64.pth"
EXAMPLE_IMAGE = "brushedit_example.jpg"
EXAMPLE_MASK = "brushedit_example_mask.png"
LARGE_IMAGE = "brushedit_large.jpg"
LARGE_MASK = "brushedit_large_mask.png"


def write_sd15_stand_ins(models_dir: Path, with_lora_controlnet: bool = True) -> dict[str, Path]:
    """Random-weight SD1.5 checkpoint + BrushNet (+ LoRA, ControlNet) under the example names."""
    from .random_models import (SMALL_SD15_BRUSHNET, random_brushnet, save_brushnet, write_small_controlnet,
                                write_small_lora, write_small_sd15_checkpoint)

    out = {}
    ckpt = models_dir / "checkpoints" / SD15_CHECKPOINT
    if not ckpt.exists():
        write_small_sd15_checkpoint(ckpt)
    out["checkpoint"] = ckpt
    bn_dir = models_dir / "brushnet" / Path(SD15_BRUSHNET).parent
    if not (bn_dir / "diffusion_pytorch_model.safetensors").exists():
        save_brushnet(random_brushnet(SMALL_SD15_BRUSHNET, seed=7), bn_dir, fmt="diffusers", dtype=None)
    out["brushnet"] = bn_dir / "diffusion_pytorch_model.safetensors"
    if with_lora_controlnet:
        lora = models_dir / "loras" / SD15_LORA
        if not lora.exists():
            write_small_lora(lora)
        cnet = models_dir / "controlnet" / SD15_CONTROLNET
        if not cnet.exists():
            write_small_controlnet(cnet)
        out["lora"], out["controlnet"] = lora, cnet
    return out


def write_sdxl_stand_ins(models_dir: Path) -> dict[str, Path]:
    """Random-weight SDXL checkpoint (~2 GB: full-size text encoders) + SDXL BrushNet under the example names."""
    from .random_models import SMALL_SDXL_BRUSHNET, random_brushnet, save_brushnet, write_small_sdxl_checkpoint

    ckpt = models_dir / "checkpoints" / SDXL_CHECKPOINT
    if not ckpt.exists():
        write_small_sdxl_checkpoint(ckpt)
    bn_dir = models_dir / "brushnet" / Path(SDXL_BRUSHNET).parent
    if not (bn_dir / "diffusion_pytorch_model.safetensors").exists():
        save_brushnet(random_brushnet(SMALL_SDXL_BRUSHNET, seed=9), bn_dir, fmt="diffusers")
    return {"checkpoint": ckpt, "brushnet": bn_dir / "diffusion_pytorch_model.safetensors"}
