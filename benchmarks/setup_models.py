"""Full-size (or tiny, for --quick) base models and BrushNets with random weights, and the sampling modes.

Base UNets come from ComfyUI's real model classes (``comfy.supported_models.SD15`` / ``SDXL`` with
the unet_config ComfyUI detects for the real checkpoints); BrushNets from the pack's
``BrushNetModel`` with ``brushnet_core.branch.config.SD15_CONFIG`` / ``SDXL_CONFIG``. Weights come from
``demo.random_weights.randomize_`` (random, never zero). Needs the host booted.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]

# As comfy/model_detection.py lists them for the real checkpoints (dtype left to the caller).
SD15_UNET = {
    "use_checkpoint": False, "image_size": 32, "out_channels": 4, "use_spatial_transformer": True, "legacy": False,
    "adm_in_channels": None, "in_channels": 4, "model_channels": 320, "num_res_blocks": [2, 2, 2, 2],
    "transformer_depth": [1, 1, 1, 1, 1, 1, 0, 0], "channel_mult": [1, 2, 4, 4], "transformer_depth_middle": 1,
    "use_linear_in_transformer": False, "context_dim": 768, "num_heads": 8,
    "transformer_depth_output": [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
    "use_temporal_attention": False, "use_temporal_resblock": False,
}
SDXL_UNET = {
    "use_checkpoint": False, "image_size": 32, "out_channels": 4, "use_spatial_transformer": True, "legacy": False,
    "num_classes": "sequential", "adm_in_channels": 2816, "in_channels": 4, "model_channels": 320,
    "num_res_blocks": [2, 2, 2], "transformer_depth": [0, 0, 2, 2, 10, 10], "channel_mult": [1, 2, 4],
    "transformer_depth_middle": 10, "use_linear_in_transformer": True, "context_dim": 2048, "num_head_channels": 64,
    "transformer_depth_output": [0, 0, 0, 2, 2, 2, 10, 10, 10],
    "use_temporal_attention": False, "use_temporal_resblock": False,
}
# --quick: same topologies at 32 base channels, shallow transformers.
TINY_UNET = {
    "sd15": dict(SD15_UNET, model_channels=32, context_dim=64, num_heads=4),
    "sdxl": dict(SDXL_UNET, model_channels=32, context_dim=64, num_head_channels=8, transformer_depth=[0, 0, 1, 1, 1, 1],
                 transformer_depth_middle=1, transformer_depth_output=[0, 0, 0, 1, 1, 1, 1, 1, 1]),
}
CONTEXT_DIM = {"sd15": 768, "sdxl": 2048}


def boot(models_dir: Path) -> Any:
    """Boot the real ComfyUI host in-process, exactly as the tests do; return the harness module."""
    tests_dir = str(ROOT / "tests")
    if tests_dir not in sys.path:
        sys.path.insert(0, tests_dir)
    import _harness  # noqa: E402  (the tests' host bootstrap: the one way this repo boots ComfyUI)

    _harness.boot_host(models_dir)
    import comfy.utils

    comfy.utils.PROGRESS_BAR_ENABLED = False
    return _harness


def brushnet_config(arch: str, quick: bool):
    from brushnet_core.branch.config import SD15_CONFIG, SDXL_CONFIG

    config = SD15_CONFIG if arch == "sd15" else SDXL_CONFIG
    if quick:
        config = replace(config, block_out_channels=tuple(c // 10 for c in config.block_out_channels))
    return config


def base_model(arch: str, quick: bool, seed: int = 1):
    """A ModelPatcher around ComfyUI's SD1.5/SDXL model class, fp32, random weights."""
    import comfy.model_management as mm
    import comfy.model_patcher
    import comfy.supported_models as sm

    from demo.random_weights import randomize_

    unet = dict(TINY_UNET[arch] if quick else (SD15_UNET if arch == "sd15" else SDXL_UNET))
    model_config = (sm.SD15 if arch == "sd15" else sm.SDXL)(unet)
    model_config.set_inference_dtype(torch.float32, None)
    model = model_config.get_model({}, "")
    randomize_(model.diffusion_model, seed=seed)
    model.diffusion_model.requires_grad_(False)
    return comfy.model_patcher.ModelPatcher(model, load_device=mm.get_torch_device(), offload_device=mm.unet_offload_device())


def random_brushnet(harness: Any, arch: str, quick: bool, seed: int = 2) -> torch.nn.Module:
    """The pack's BrushNetModel (ComfyUI ops, as the loader builds it), fp32, random weights."""
    import comfy.ops

    from demo.random_weights import randomize_

    model_cls = harness.pack_module("brushnet_core.branch.model").BrushNetModel
    model = model_cls(brushnet_config(arch, quick), ops=comfy.ops.disable_weight_init)
    return randomize_(model, seed=seed).eval().requires_grad_(False)


def brushnet_patcher(model: torch.nn.Module):
    import comfy.model_management as mm
    import comfy.model_patcher

    return comfy.model_patcher.ModelPatcher(model, load_device=mm.get_torch_device(), offload_device=mm.unet_offload_device())


def random_vae():
    import comfy.sd

    from demo.random_models import random_vae_state_dict

    return EncodeOnceVAE(comfy.sd.VAE(sd=random_vae_state_dict()))


class EncodeOnceVAE:
    """A VAE whose ``encode`` remembers its last input/output: every mode's BrushNet node encodes the
    same masked image, and a full-size CPU encode is slow and memory-hungry. Benchmark setup only."""

    def __init__(self, vae: Any) -> None:
        self._vae, self._last = vae, None

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        if self._last is None or not torch.equal(self._last[0], pixels):
            self._last = (pixels.clone(), self._vae.encode(pixels))
        return self._last[1].clone()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._vae, name)


def text_conds(arch: str, quick: bool, size: int, seed: int = 7) -> tuple[list, list]:
    """(positive, negative) as CLIPTextEncode gives them, with random embeddings."""
    g = torch.Generator().manual_seed(seed)
    dim = TINY_UNET[arch]["context_dim"] if quick else CONTEXT_DIM[arch]

    def one() -> list:
        opts: dict = {}
        if arch == "sdxl":
            opts = {"pooled_output": torch.randn(1, 1280, generator=g), "width": size, "height": size, "crop_w": 0,
                    "crop_h": 0, "target_width": size, "target_height": size}
        return [[torch.randn(1, 77, dim, generator=g), opts]]

    return one(), one()


def image_and_mask(size: int, seed: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(1, size, size, 3, generator=g)
    mask = torch.zeros(1, size, size)
    mask[:, size // 4: 3 * size // 4, size // 3: 2 * size // 3] = 1.0
    return image, mask


def naive_runner_class(harness: Any) -> type:
    """A runner that does what the official pipeline and the earlier pack do: the branch on the
    whole cond+uncond batch at every model call, no sharing, no reuse. Benchmark reference only."""
    base = harness.pack_module("brushnet_core.branch.runner").BrushNetRunner

    class NaiveRunner(base):  # type: ignore[misc, valid-type]
        def prepare(self, x, timesteps, y, cond, chunks, sigma, sample_sigmas, context=None) -> None:
            self.slot.clear()
            if not self.window.active(sigma, sample_sigmas):
                return
            cond = self.conditioning_for(x, cond)
            x = x[:, : self.model.config.in_channels]
            t = timesteps.reshape(-1).expand(x.shape[0]) if timesteps.numel() == 1 else timesteps.reshape(-1)
            with torch.no_grad():
                feats = self.model(x, t, cond, added=y if self.uses_pooled else None, scale=self.scale)
            self.calls += 1
            if feats.mid.dtype != x.dtype:
                feats = feats.map(lambda f: f.to(x.dtype))
            self.slot.set(feats, 1, [0])

    return NaiveRunner


@dataclass
class Mode:
    """One way of sampling the same latent: the model and conditioning the sampler gets."""

    name: str
    model: Any
    positive: list
    negative: list
    runner: Any = None  # BrushNetRunner (None for plain)


def _sampling_of(patched: Any) -> Any:
    """The BrushNetSampling object the node registered on ``patched`` (holds the runner)."""
    import comfy.patcher_extension as pe

    for key, fns in patched.wrappers.get(pe.WrappersMP.DIFFUSION_MODEL, {}).items():
        if key.startswith("brushedit_brushnet_"):
            return fns[0].__self__
    raise RuntimeError("the BrushNet node registered no diffusion-model wrapper")


def build_modes(harness: Any, base: Any, vae: Any, bn: Any, arch: str, quick: bool, size: int, steps: int,
                names: list[str]) -> tuple[list[Mode], dict, dict]:
    """The sampling modes, the latent to sample, and checks (scale 0 returns the model unchanged)."""
    node = harness.pack_module("nodes.apply").BrushNet
    image, mask = image_and_mask(size)
    positive, negative = text_conds(arch, quick, size)

    def apply(**kw: Any) -> tuple:
        return node.execute(model=base, vae=vae, image=image, mask=mask, brushnet=bn, positive=positive,
                            negative=negative, **{"scale": 1.0, "start_at": 0, "end_at": 10000, **kw}).args

    model, pos, neg, latent = apply()
    modes: list[Mode] = []
    for name in names:
        if name == "plain":
            modes.append(Mode(name, base, positive, negative))
        elif name == "ours":
            modes.append(Mode(name, model, pos, neg, _sampling_of(model).runner))
        elif name == "naive":
            m, p, n, _ = apply()
            sampling = _sampling_of(m)
            old = sampling.runner
            sampling.runner = naive_runner_class(harness)(old.model, old.slot, old.conditioning, old.scale, old.window)
            modes.append(Mode(name, m, p, n, sampling.runner))
        elif name == "inactive":
            m, p, n, _ = apply(start_at=steps)  # attached, but no step is inside its window
            modes.append(Mode(name, m, p, n, _sampling_of(m).runner))
        else:
            raise ValueError(f"unknown mode '{name}': use plain, ours, naive, inactive")
    zero = apply(scale=0.0)
    checks = {"scale0_returns_input_model": zero[0] is base}
    return modes, latent, checks
