"""Small models with random weights in real checkpoint formats (used by the demo and the tests).

They exercise every real loading and sampling path; their outputs are noise, by construction.
Requires the ComfyUI host on sys.path (model classes come from ComfyUI itself).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from brushnet_core.branch.config import BrushNetConfig, config_to_diffusers
from brushnet_core.branch.model import BrushNetModel

from .random_weights import randomize_

VAE_DDCONFIG = {"double_z": True, "z_channels": 4, "resolution": 256, "in_channels": 3, "out_ch": 3, "ch": 128,
                "ch_mult": [1, 2, 4, 4], "num_res_blocks": 2, "attn_resolutions": [], "dropout": 0.0}

# SD1.5 as ComfyUI detects it (model_channels 320, context 768), with every level at 320 channels.
SMALL_SD15_UNET = {
    "use_checkpoint": False, "image_size": 32, "out_channels": 4, "use_spatial_transformer": True,
    "legacy": False, "adm_in_channels": None, "in_channels": 4, "model_channels": 320,
    "num_res_blocks": [2, 2, 2, 2], "transformer_depth": [1, 1, 1, 1, 1, 1, 0, 0], "channel_mult": [1, 1, 1, 1],
    "transformer_depth_middle": 1, "use_linear_in_transformer": False, "context_dim": 768, "num_heads": 8,
    "num_head_channels": -1, "transformer_depth_output": [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
    "use_temporal_resblock": False, "use_temporal_attention": False,
}
SMALL_SD15_BRUSHNET = BrushNetConfig(block_out_channels=(320, 320, 320, 320))


def random_vae_state_dict(seed: int = 3) -> dict[str, torch.Tensor]:
    """An SD VAE (the real 128-channel architecture) with random weights, LDM key names."""
    from comfy.ldm.models.autoencoder import AutoencoderKL

    vae = AutoencoderKL(ddconfig=VAE_DDCONFIG, embed_dim=4)
    randomize_(vae, seed=seed, gain=0.5)
    return {k: v.contiguous() for k, v in vae.state_dict().items()}


def random_brushnet(config: BrushNetConfig, seed: int = 2) -> BrushNetModel:
    model = BrushNetModel(config)
    return randomize_(model, seed=seed).eval()


def save_brushnet(model: BrushNetModel, path: str | os.PathLike, fmt: str = "safetensors",
                  dtype: torch.dtype | None = None) -> Path:
    """Write a BrushNet as users have it.

    fmt: ``safetensors`` (single file), ``diffusers`` (folder: config.json +
    diffusion_pytorch_model.safetensors), ``diffusers-fp16`` (folder with the .fp16 variant name),
    ``diffusers-bin`` (folder with a pickled .bin), ``bin`` / ``pt`` (single legacy file).
    """
    import safetensors.torch

    sd = {k: (v.to(dtype) if dtype is not None else v).contiguous() for k, v in model.state_dict().items()}
    path = Path(path)
    if fmt.startswith("diffusers"):
        path.mkdir(parents=True, exist_ok=True)
        (path / "config.json").write_text(json.dumps(config_to_diffusers(model.config), indent=2))
        if fmt == "diffusers":
            target = path / "diffusion_pytorch_model.safetensors"
            safetensors.torch.save_file(sd, str(target))
        elif fmt == "diffusers-fp16":
            target = path / "diffusion_pytorch_model.fp16.safetensors"
            safetensors.torch.save_file({k: v.half() for k, v in sd.items()}, str(target))
        elif fmt == "diffusers-bin":
            target = path / "diffusion_pytorch_model.bin"
            torch.save(sd, str(target))
        else:
            raise ValueError(f"unknown format {fmt}")
        return target
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "safetensors":
        safetensors.torch.save_file(sd, str(path))
    elif fmt in ("bin", "pt"):
        torch.save(sd, str(path))
    else:
        raise ValueError(f"unknown format {fmt}")
    return path


def write_small_sd15_checkpoint(path: str | os.PathLike, seed: int = 1, dtype: torch.dtype = torch.float16) -> Path:
    """A single-file SD1.5 checkpoint (UNet + VAE + CLIP-L, original LDM keys) with random weights.

    The UNet keeps SD1.5's topology (4 levels, 2 res blocks, attention on levels 0-2, context 768)
    at 320 channels on every level so ComfyUI detects it as SD1.5 while staying small.
    """
    import safetensors.torch
    import comfy.model_management as mm
    import comfy.sd1_clip
    path = Path(path)
    unet = _small_sd15_unet(seed)
    sd = {f"model.diffusion_model.{k}": v.to(dtype) for k, v in unet.state_dict().items()}
    del unet
    sd.update({f"first_stage_model.{k}": v.to(dtype) for k, v in random_vae_state_dict(seed + 1).items()})
    clip = comfy.sd1_clip.SDClipModel(device="cpu", dtype=torch.float32)
    randomize_(clip.transformer, seed=seed + 2, gain=0.5)
    for k, v in clip.transformer.state_dict().items():
        if k.startswith("text_model."):
            sd[f"cond_stage_model.transformer.{k}"] = v.to(dtype)
    del clip
    path.parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    mm.soft_empty_cache()
    return path


def _small_sd15_unet(seed: int):
    import comfy.supported_models as sm

    model_config = sm.SD15(dict(SMALL_SD15_UNET))
    model_config.unet_config.update({"num_heads": 8, "num_head_channels": -1})
    model_config.set_inference_dtype(torch.float32, None)
    return randomize_(model_config.get_model({}, "").diffusion_model, seed=seed)


def write_small_lora(path: str | os.PathLike, rank: int = 4, seed: int = 31) -> Path:
    """A LoRA for the small SD1.5 UNet (kohya key names on every attention projection)."""
    import safetensors.torch

    unet = _small_sd15_unet(seed=1)
    gen = torch.Generator().manual_seed(seed)
    sd = {}
    for name, param in unet.named_parameters():
        if param.ndim == 2 and (".attn1." in name or ".attn2." in name) and name.endswith(".weight"):
            key = "lora_unet_" + name[: -len(".weight")].replace(".", "_")
            sd[f"{key}.lora_up.weight"] = torch.randn(param.shape[0], rank, generator=gen) * 0.05
            sd[f"{key}.lora_down.weight"] = torch.randn(rank, param.shape[1], generator=gen) * 0.05
            sd[f"{key}.alpha"] = torch.tensor(float(rank))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file({k: v.half().contiguous() for k, v in sd.items()}, str(path))
    return path


def write_small_controlnet(path: str | os.PathLike, seed: int = 41) -> Path:
    """An SD1.5 ControlNet (LDM keys, control_model.*) matching the small SD1.5 UNet."""
    import safetensors.torch
    import comfy.cldm.cldm
    import comfy.ops

    cfg = {k: v for k, v in SMALL_SD15_UNET.items() if k not in ("out_channels", "transformer_depth_output")}
    cfg.update({"hint_channels": 3, "device": None, "dtype": torch.float32})
    net = comfy.cldm.cldm.ControlNet(operations=comfy.ops.disable_weight_init, **cfg)
    randomize_(net, seed=seed, gain=0.5)
    sd = {f"control_model.{k}": v.half().contiguous() for k, v in net.state_dict().items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file(sd, str(path))
    return path


# SDXL as ComfyUI detects it (model_channels 320, depths [0,0,2,2,10,10], context 2048, adm 2816), every
# level at 320 channels and single attention layers on the up path to stay small.
SMALL_SDXL_UNET = {
    "use_checkpoint": False, "image_size": 32, "out_channels": 4, "use_spatial_transformer": True,
    "legacy": False, "num_classes": "sequential", "adm_in_channels": 2816, "in_channels": 4,
    "model_channels": 320, "num_res_blocks": [2, 2, 2], "transformer_depth": [0, 0, 2, 2, 10, 10],
    "channel_mult": [1, 1, 1], "transformer_depth_middle": 1, "use_linear_in_transformer": True,
    "context_dim": 2048, "transformer_depth_output": [0, 0, 0, 1, 1, 1, 1, 1, 1],
    "use_temporal_resblock": False, "use_temporal_attention": False,
}
SMALL_SDXL_BRUSHNET = BrushNetConfig(block_out_channels=(320, 320, 320), addition_time_embed_dim=256,
                                     projection_class_embeddings_input_dim=2816)


def write_small_sdxl_checkpoint(path: str | os.PathLike, seed: int = 1, dtype: torch.dtype = torch.float16) -> Path:
    """A single-file SDXL checkpoint (UNet + VAE + CLIP-L + CLIP-G in the original layout), random weights.

    Saved the way ComfyUI's own checkpoint saving lays keys out (state_dict_for_saving); the text
    encoders are the real full-size architectures (about 0.8 B parameters), so the file is ~2 GB.
    """
    import safetensors.torch
    import comfy.supported_models as sm

    path = Path(path)
    model_config = sm.SDXL(dict(SMALL_SDXL_UNET))
    model_config.set_inference_dtype(torch.float32, None)
    model = model_config.get_model({}, "")
    randomize_(model.diffusion_model, seed=seed)
    clip = model_config.clip_target().clip(device="cpu", dtype=torch.float32)
    randomize_(clip, seed=seed + 2, gain=0.5)
    clip_sd = {k: v for k, v in clip.state_dict().items() if "logit_scale" not in k}
    del clip
    sd = model.state_dict_for_saving(clip_sd, random_vae_state_dict(seed + 1))
    del model, clip_sd
    path.parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file({k: v.to(dtype).contiguous() for k, v in sd.items() if v.is_floating_point()}, str(path))
    return path
