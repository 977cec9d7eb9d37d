"""Stand-ins for ComfyUI's own inpainting models: an SD1.5 inpainting checkpoint and Flux.1 Fill.

Built from ComfyUI's real model classes with random weights, saved in the real file layouts under
the names users have, and loaded through the real loaders (CheckpointLoaderSimple; UNETLoader,
DualCLIPLoader, VAELoader). Their outputs are noise by construction.

Flux's text side needs T5-XXL, whose fixed config (24 layers, width 4096, 4.7 B parameters) no
test machine can hold. The stand-in keeps its key layout, its width (ComfyUI detects T5-XXL by the
width of block 23) and its 24 layers but has 2 heads of 16 and a feed-forward of 32, so loading it
needs the same config override (``TINY_T5XXL``, ComfyUI's ``t5xxl_model_config`` model option).
"""
from __future__ import annotations

from pathlib import Path

import torch

from .random_models import SMALL_SD15_UNET, VAE_DDCONFIG, random_vae_state_dict
from .random_weights import randomize_

SD15_INPAINT_CHECKPOINT = "sd-v1-5-inpainting.safetensors"
FLUX_FILL_UNET = "flux1-fill-dev.safetensors"
FLUX_CLIP_L = "clip_l.safetensors"
FLUX_T5XXL = "t5xxl_fp16.safetensors"
FLUX_VAE = "ae.safetensors"
#: ComfyUI's T5-XXL config with the width kept and the rest shrunk (see module doc)
TINY_T5XXL = {"d_ff": 32, "d_kv": 16, "num_heads": 2}
#: Flux as ComfyUI detects it (hidden 3072 = 24 heads x 128 is fixed by its rope axes), Fill's 96 input
#: channels (latent 16 + masked image 16 + 8x8 mask 64), one double and one single block
FLUX_FILL_CONFIG = {"image_model": "flux", "in_channels": 96, "out_channels": 16, "vec_in_dim": 768,
                    "context_in_dim": 4096, "hidden_size": 3072, "mlp_ratio": 4.0, "num_heads": 24, "depth": 1,
                    "depth_single_blocks": 1, "axes_dim": [16, 56, 56], "theta": 10000, "qkv_bias": True,
                    "guidance_embed": True, "patch_size": 2}


def write_sd15_inpaint_checkpoint(path: str | Path, seed: int = 5, dtype: torch.dtype = torch.float16) -> Path:
    """A single-file SD1.5 inpainting checkpoint: the 9-channel UNet (latent + mask + masked image), VAE, CLIP-L."""
    import safetensors.torch
    import comfy.sd1_clip
    import comfy.supported_models as sm

    path = Path(path)
    if path.exists():
        return path
    cfg = sm.SD15(dict(SMALL_SD15_UNET, in_channels=9))
    cfg.unet_config.update({"num_heads": 8, "num_head_channels": -1})
    cfg.set_inference_dtype(torch.float32, None)
    unet = randomize_(cfg.get_model({}, "").diffusion_model, seed=seed)
    sd = {f"model.diffusion_model.{k}": v.to(dtype) for k, v in unet.state_dict().items()}
    del unet
    sd.update({f"first_stage_model.{k}": v.to(dtype) for k, v in random_vae_state_dict(seed + 1).items()})
    clip = comfy.sd1_clip.SDClipModel(device="cpu", dtype=torch.float32)
    randomize_(clip.transformer, seed=seed + 2, gain=0.5)
    sd.update({f"cond_stage_model.transformer.{k}": v.to(dtype) for k, v in clip.transformer.state_dict().items()
               if k.startswith("text_model.")})
    del clip
    path.parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    return path


def _save(sd: dict[str, torch.Tensor], path: Path, dtype: torch.dtype) -> None:
    import safetensors.torch

    path.parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file({k: v.to(dtype).contiguous() for k, v in sd.items() if v.is_floating_point()},
                                str(path))


def write_flux_fill_stand_ins(models_dir: str | Path, seed: int = 11) -> dict[str, Path]:
    """Flux.1 Fill diffusion model, CLIP-L, (tiny-config) T5-XXL and the 16-channel Flux VAE, as users lay them out."""
    import comfy.ldm.models.autoencoder
    import comfy.sd1_clip
    import comfy.supported_models as sm
    import comfy.text_encoders.t5
    import comfy.ops

    models_dir = Path(models_dir)
    out = {"unet": models_dir / "diffusion_models" / FLUX_FILL_UNET, "clip_l": models_dir / "text_encoders" / FLUX_CLIP_L,
           "t5xxl": models_dir / "text_encoders" / FLUX_T5XXL, "vae": models_dir / "vae" / FLUX_VAE}
    if not out["unet"].exists():
        cfg = sm.Flux(dict(FLUX_FILL_CONFIG))
        cfg.set_inference_dtype(torch.float32, None)
        flux = randomize_(cfg.get_model({}, "").diffusion_model, seed=seed)
        _save(flux.state_dict(), out["unet"], torch.bfloat16)
        del flux
    if not out["clip_l"].exists():
        clip = comfy.sd1_clip.SDClipModel(device="cpu", dtype=torch.float32)
        randomize_(clip.transformer, seed=seed + 1, gain=0.5)
        _save({k: v for k, v in clip.transformer.state_dict().items() if k.startswith("text_model.")},
              out["clip_l"], torch.float16)
        del clip
    if not out["t5xxl"].exists():
        import json

        cfg_path = Path(comfy.text_encoders.t5.__file__).with_name("t5_config_xxl.json")
        t5 = comfy.text_encoders.t5.T5(dict(json.loads(cfg_path.read_text()), **TINY_T5XXL), torch.float32, "cpu",
                                       comfy.ops.manual_cast)
        randomize_(t5, seed=seed + 2, gain=0.5)
        _save(t5.state_dict(), out["t5xxl"], torch.float16)
        del t5
    if not out["vae"].exists():
        vae = comfy.ldm.models.autoencoder.AutoencoderKL(ddconfig=dict(VAE_DDCONFIG, z_channels=16), embed_dim=16)
        randomize_(vae, seed=seed + 3, gain=0.5)
        _save({k: v for k, v in vae.state_dict().items() if "quant_conv" not in k}, out["vae"], torch.float32)
        del vae
    return out
