"""The soak's stand-in models (small random weights in the real file formats) and input images."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # last: ComfyUI's own `nodes` module must win over this repository's nodes/

from demo import example_models as em  # noqa: E402

SMALL = 128  # side of the example photo and mask the graphs load
POWERPAINT = "powerpaint_small/diffusion_pytorch_model.safetensors"
POWERPAINT_TEXT = "powerpaint_small/pytorch_model.bin"
CLIP_L = "clip_l_sd15_standin.safetensors"


def _host_paths() -> None:
    """ComfyUI's folder on sys.path (CPU only) so the stand-in writers can use ComfyUI's model classes."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import _harness  # noqa: F401  (puts ComfyUI first on sys.path)
    from comfy.cli_args import args

    args.cpu = True


def write_text_mask_models(models_dir: Path) -> None:
    """Tiny random GroundingDINO / SAM in the original .pth layouts under the names users have."""
    import torch

    sys.path.insert(0, str(ROOT / "tests" / "text_mask"))
    import tm_tiny

    sams, gdino = models_dir / "sams", models_dir / "grounding-dino"
    if (sams / em.SAM).exists() and (gdino / em.GROUNDING_DINO).exists():
        return
    sams.mkdir(parents=True, exist_ok=True)
    gdino.mkdir(parents=True, exist_ok=True)
    torch.save(tm_tiny.sam_to_original(tm_tiny.tiny_sam().state_dict()), sams / em.SAM)
    torch.save(tm_tiny.gdino_to_original(tm_tiny.tiny_gdino().state_dict()), gdino / em.GROUNDING_DINO)
    tm_tiny.write_vocab(str(gdino))


def write_powerpaint_models(models_dir: Path) -> None:
    """A PowerPaint v2 BrushNet matched to the small SD1.5 stand-in, its text-encoder file (task tokens
    only) and a CLIP-L text encoder taken from the SD1.5 stand-in checkpoint as the loader's base."""
    import safetensors.torch
    import torch

    from brushnet_core.powerpaint.model import PowerPaintConfig, PowerPaintModel
    from demo.random_weights import randomize_

    bn = models_dir / "brushnet" / POWERPAINT
    text = models_dir / "brushnet" / POWERPAINT_TEXT
    clip = models_dir / "text_encoders" / CLIP_L
    if not bn.exists():
        cfg = PowerPaintConfig(block_out_channels=(320, 320, 320, 320), cross_attention_dim=768)
        model = randomize_(PowerPaintModel(cfg), seed=11).eval()
        bn.parent.mkdir(parents=True, exist_ok=True)
        safetensors.torch.save_file({k: v.half().contiguous() for k, v in model.state_dict().items()}, str(bn))
        del model
    if not text.exists():
        gen = torch.Generator().manual_seed(12)
        prefix = "text_model.embeddings.token_embedding.trainable_embeddings."
        torch.save({prefix + w: torch.randn(10, 768, generator=gen) * 0.02 for w in ("P_ctxt", "P_shape", "P_obj")},
                   str(text))
    if not clip.exists():
        ckpt = models_dir / "checkpoints" / em.SD15_CHECKPOINT
        head = "cond_stage_model.transformer."
        with safetensors.safe_open(str(ckpt), framework="pt") as fh:
            sd = {k[len(head):]: fh.get_tensor(k) for k in fh.keys() if k.startswith(head + "text_model.")}
        clip.parent.mkdir(parents=True, exist_ok=True)
        safetensors.torch.save_file(sd, str(clip))


def write_models(models_dir: Path, sdxl: bool = True) -> Path:
    """Every stand-in the soak graphs load (skips files that exist). Returns ``models_dir``."""
    _host_paths()
    models_dir = Path(models_dir)
    em.write_sd15_stand_ins(models_dir, with_lora_controlnet=False)
    write_text_mask_models(models_dir)
    write_powerpaint_models(models_dir)
    if sdxl:
        em.write_sdxl_stand_ins(models_dir)
    import gc

    gc.collect()
    return models_dir


def write_inputs(input_dir: Path) -> None:
    """The example photo and mask at 128 px, and the large photo with its (other-size) mask."""
    from PIL import Image

    examples = ROOT / "tests" / "data" / "examples"
    input_dir.mkdir(parents=True, exist_ok=True)
    pairs = [("test_image.jpg", em.EXAMPLE_IMAGE, (SMALL, SMALL)), ("test_mask.jpg", em.EXAMPLE_MASK, (SMALL, SMALL)),
             ("example_4.jpeg", em.LARGE_IMAGE, None), ("example_4_mask.jpg", em.LARGE_MASK, None)]
    for src, dst, size in pairs:
        if (input_dir / dst).exists():
            continue
        img = Image.open(examples / src).convert("RGB")
        (img.resize(size) if size else img).save(input_dir / dst)
