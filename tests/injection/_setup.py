"""Shared helpers for BrushNet injection tests: tiny models, one-step predictions, references."""
from __future__ import annotations

import functools

import torch

import _harness
import _models
from _reference import reference_brushnet, reference_unet, sinusoid

LATENT_SCALE = {"sd15": 0.18215, "sdxl": 0.13025}


@functools.lru_cache(maxsize=1)
def random_vae():
    import comfy.sd
    from demo.random_models import random_vae_state_dict

    return comfy.sd.VAE(sd=random_vae_state_dict())


@functools.lru_cache(maxsize=2)
def base_model(kind: str):
    """Session-shared tiny base model (never mutated: every test patches clones)."""
    return _models.tiny_base_model(kind)


def count_forwards(patcher) -> list:
    """Record the batch size of every BrushNet forward (test-only hook on the test's own module)."""
    calls: list = []
    patcher.model.register_forward_hook(lambda mod, args, out: calls.append(int(args[0].shape[0])))
    return calls


def ksample(model, positive, negative, latent, steps=4, cfg=5.0, sampler="euler", scheduler="normal", seed=11):
    import nodes

    return nodes.common_ksampler(model, seed, steps, cfg, sampler, scheduler, positive, negative, latent)[0]["samples"]


def as_pack_model(model):
    """The same weights in the pack's own class (the copy ComfyUI imported), as its loader makes them.

    ``brushnet_core`` imported by a test is another module than the pack's: the nodes check the
    class of what is connected, so a model handed to a node must be of the pack's class.
    """
    cls = getattr(_harness.pack_module(type(model).__module__), type(model).__name__)
    pack = cls(model.config).to(next(model.parameters()).dtype)
    pack.load_state_dict(model.state_dict())
    return pack.eval().requires_grad_(False)


def brushnet_patcher(kind: str, seed: int = 2):
    import comfy.model_management as mm
    import comfy.model_patcher

    model = as_pack_model(_models.tiny_brushnet(kind, seed=seed))
    return comfy.model_patcher.ModelPatcher(model, load_device=mm.get_torch_device(), offload_device=mm.unet_offload_device())


def image_and_mask(batch: int = 1, h: int = 72, w: int = 88, seed: int = 5):
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, h, w, 3, generator=g)
    mask = torch.zeros(batch, h, w)
    mask[:, h // 4: 3 * h // 4, w // 3: 2 * w // 3] = 1.0
    return image, mask


def text_conds(kind: str, seed: int = 7, batch: int = 1):
    """(positive, negative) conditioning lists as CLIPTextEncode would give them (random tensors)."""
    g = torch.Generator().manual_seed(seed)
    def one(size_w: int, size_h: int):
        ctx = torch.randn(batch, 77, 64, generator=g)
        opts = {}
        if kind == "sdxl":
            opts = {"pooled_output": torch.randn(batch, 1280, generator=g), "width": size_w, "height": size_h,
                    "crop_w": 8, "crop_h": 16, "target_width": size_w, "target_height": size_h}
        return [[ctx, opts]]
    return one(1024, 1024), one(832, 1216)


def sdxl_y(opts: dict) -> torch.Tensor:
    """The SDXL 'y' vector per the spec: pooled (1280) + cos-first sinusoids (256) of the 6 size ids."""
    ids = [opts["height"], opts["width"], opts["crop_h"], opts["crop_w"], opts["target_height"], opts["target_width"]]
    emb = torch.cat([sinusoid(torch.tensor([float(v)]), 256) for v in ids], dim=-1)
    pooled = opts["pooled_output"]
    return torch.cat([pooled, emb.expand(pooled.shape[0], -1)], dim=-1)


def one_step(model, positive, negative, latent, sigma: float, cfg: float, seed: int = 0):
    """Run ComfyUI's real sampling path for one model evaluation; return (x, denoised)."""
    import comfy.sample
    import comfy.samplers

    captured = {}

    def sampler_fn(model_wrap, x, sigmas, extra_args=None, callback=None, disable=None):
        den = model_wrap(x, sigmas[0] * x.new_ones([x.shape[0]]), **(extra_args or {}))
        captured["x"], captured["den"] = x.clone(), den.clone()
        return den

    noise = torch.randn(latent.shape, generator=torch.Generator().manual_seed(seed))
    sigmas = torch.tensor([sigma, 0.0])
    comfy.sample.sample_custom(model, noise, cfg, comfy.samplers.KSAMPLER(sampler_fn), sigmas, positive, negative,
                               latent, disable_pbar=True, seed=seed)
    return captured["x"], captured["den"]


def pristine_unet(base):
    """``base``'s UNet module with its own weights: ComfyUI patches a loaded clone's weights (a LoRA) into
    the shared module in place, so whatever an earlier test left loaded is unloaded first."""
    import comfy.model_management

    comfy.model_management.unload_all_models()
    return base.model.diffusion_model


def reference_denoised(base, bn_sd, kind, x, sigma, cfg, positive, negative, cond, scale):
    """CFG-combined denoised prediction of base UNet + BrushNet computed by the references."""
    ms = base.model.model_sampling
    unet = pristine_unet(base)
    s = torch.full((x.shape[0],), sigma)
    xc = ms.calculate_input(s, x)
    t = ms.timestep(s).float()
    preds = []
    for conds in (positive, negative):
        ctx, opts = conds[0]
        y = sdxl_y(opts) if kind == "sdxl" else None
        feats = reference_brushnet(bn_sd, xc, t, cond, added=y, scale=scale) if bn_sd is not None else None
        with torch.no_grad():
            eps = reference_unet(unet, xc, t, ctx.expand(x.shape[0], -1, -1), y.expand(x.shape[0], -1) if y is not None else None, feats)
        preds.append(ms.calculate_denoised(s, eps, x))
    cond_pred, uncond_pred = preds
    return uncond_pred + (cond_pred - uncond_pred) * cfg


def conditioning_reference(vae, image, mask, kind):
    hole = (mask > 0.5).float()[:, None]
    masked = image * (1 - hole[:, 0, :, :, None])
    lat = vae.encode(masked) * LATENT_SCALE[kind]
    keep = 1 - torch.nn.functional.interpolate(hole, size=lat.shape[-2:], mode="nearest")
    return torch.cat([lat, keep], 1)


def apply_node(model, vae, image, mask, bn, positive, negative, scale=1.0, start_at=0, end_at=10000, **kw):
    node = _harness.pack_module("nodes.apply").BrushNet
    out = node.execute(model=model, vae=vae, image=image, mask=mask, brushnet=bn, positive=positive,
                       negative=negative, scale=scale, start_at=start_at, end_at=end_at, **kw)
    return out.args


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    with torch.no_grad():
        return float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))
