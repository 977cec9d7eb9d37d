"""Stand-in files for the earlier pack's examples beyond the SD1.5/SDXL ones (PowerPaint, upscaler).

Random weights in the real formats, written under names the examples' loaders list.
"""
from __future__ import annotations

from pathlib import Path

import torch

POWERPAINT_BRUSHNET = "powerpaint/diffusion_pytorch_model.safetensors"  # under models/inpaint (the earlier layout)
POWERPAINT_TEXT_ENCODER = "powerpaint/pytorch_model.bin"  # under models/inpaint
BASE_CLIP = "model.fp16.safetensors"  # under models/clip: a CLIP-L text encoder (HF key names)
UPSCALER = "4x-stand-in.pth"  # under models/upscale_models: a tiny ESRGAN (RRDB) for spandrel
TASK_WORDS = ("P_ctxt", "P_shape", "P_obj")


def _clip_l_text_model(seed: int) -> dict[str, torch.Tensor]:
    import comfy.sd1_clip

    from demo.random_weights import randomize_

    clip = comfy.sd1_clip.SDClipModel(device="cpu", dtype=torch.float32)
    randomize_(clip.transformer, seed=seed, gain=0.5)
    return {k: v.half().contiguous() for k, v in clip.transformer.state_dict().items() if k.startswith("text_model.")}


def write_powerpaint(models_dir: Path) -> None:
    """SD1.5-sized PowerPaint v2 branch (320 channels, context 768) + its text encoder + a base CLIP-L."""
    import safetensors.torch

    from brushnet_core.powerpaint.model import PowerPaintConfig, PowerPaintModel
    from demo.random_weights import randomize_

    branch = models_dir / "inpaint" / POWERPAINT_BRUSHNET
    if not branch.exists():
        model = randomize_(PowerPaintModel(PowerPaintConfig(block_out_channels=(320, 320, 320, 320))), seed=21)
        branch.parent.mkdir(parents=True, exist_ok=True)
        safetensors.torch.save_file({k: v.half().contiguous() for k, v in model.state_dict().items()}, str(branch))
        del model
    encoder = models_dir / "inpaint" / POWERPAINT_TEXT_ENCODER
    base = models_dir / "clip" / BASE_CLIP
    if not encoder.exists() or not base.exists():
        text = _clip_l_text_model(seed=22)
        base.parent.mkdir(parents=True, exist_ok=True)
        safetensors.torch.save_file(text, str(base))
        prefix = "text_model.embeddings.token_embedding."
        sd = {k.replace(prefix + "weight", prefix + "wrapped.weight"): v for k, v in text.items()}
        g = torch.Generator().manual_seed(23)
        for word in TASK_WORDS:
            sd[f"{prefix}trainable_embeddings.{word}"] = (torch.randn(10, 768, generator=g) * 0.02).half()
        torch.save(sd, str(encoder))


def write_upscaler(models_dir: Path) -> None:
    """A 2-feature-channel, 1-block ESRGAN in the original RRDB key layout (what 4x-UltraSharp.pth uses)."""
    from spandrel.architectures.ESRGAN import ESRGAN

    path = models_dir / "upscale_models" / UPSCALER
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    net = ESRGAN(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=4)
    torch.save({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
