"""Soft inpainting: BrushNet / PowerPaint with a source latent, denoise below 1 and Differential
Diffusion, through ComfyUI's KSampler, against ComfyUI's own inpaint latent and a reference loop."""
from __future__ import annotations

import pytest
import torch

import _harness
from injection._setup import (apply_node, base_model, brushnet_patcher, conditioning_reference, image_and_mask,
                              random_vae, reference_denoised, rel_err, text_conds)


def _soft_mask(mask: torch.Tensor) -> torch.Tensor:
    """The test mask with a soft 8-pixel ramp around it (what a feathered mask looks like)."""
    return _harness.pack_module("brushnet_core.image.mask_ops").feather_mask(mask, 8).maximum(mask)


def _ksample(model, positive, negative, latent, denoise: float, steps: int = 2, seed: int = 11):
    import nodes

    return nodes.common_ksampler(model, seed, steps, 5.0, "euler", "normal", positive, negative, latent,
                                 denoise=denoise)[0]["samples"]


def _core_latent(vae, image, mask):
    """What a ComfyUI user builds without this pack: VAE Encode + Set Latent Noise Mask."""
    import nodes

    return nodes.SetLatentNoiseMask().set_mask({"samples": vae.encode(image[..., :3])}, mask)[0]


def _differential(model):
    return _harness.host_node("DifferentialDiffusion", model=model)[0]


def _setup():
    image, mask = image_and_mask()
    soft = _soft_mask(mask)
    positive, negative = text_conds("sd15")
    source = {"samples": random_vae().encode(image)}
    out = apply_node(base_model("sd15"), random_vae(), image, soft, brushnet_patcher("sd15"), positive, negative,
                     source_latent=source)
    return image, soft, positive, negative, source, out


def test_without_source_latent_the_latent_is_empty_as_before() -> None:
    image, mask = image_and_mask()
    positive, negative = text_conds("sd15")
    *_, latent = apply_node(base_model("sd15"), random_vae(), image, mask, brushnet_patcher("sd15"), positive, negative)
    assert set(latent) == {"samples"} and not latent["samples"].any()


def test_source_latent_comes_out_with_the_soft_mask_as_noise_mask() -> None:
    image, soft, _, _, source, (_, _, _, latent) = _setup()
    assert torch.equal(latent["samples"], source["samples"])
    assert latent["noise_mask"].shape == (1, 1, 72, 88)
    assert torch.equal(latent["noise_mask"][:, 0], soft)


@pytest.mark.parametrize("differential", [False, True])
def test_denoise_below_one_equals_comfyui_inpaint_latent(differential: bool) -> None:
    image, soft, _, _, _, (model, pos, neg, latent) = _setup()
    if differential:
        model = _differential(model)
    ours = _ksample(model, pos, neg, latent, denoise=0.6)
    core = _ksample(model, pos, neg, _core_latent(random_vae(), image, soft), denoise=0.6)
    assert torch.equal(ours, core)
    if differential:  # its last step thresholds at 0, so it repaints everything once: ComfyUI's own semantics
        return
    import comfy.utils

    outside = comfy.utils.reshape_mask(latent["noise_mask"], ours.shape) == 0  # as the sampler resizes it
    assert outside.any()
    torch.testing.assert_close(ours[outside], latent["samples"][outside], atol=1e-6, rtol=0)


def test_differential_diffusion_changes_the_soft_edge() -> None:
    _, _, _, _, _, (model, pos, neg, latent) = _setup()
    plain = _ksample(model, pos, neg, latent, denoise=0.6)
    diff = _ksample(_differential(model), pos, neg, latent, denoise=0.6)
    assert rel_err(diff, plain) > 1e-3


def _reference_soft_euler(kind, positive, negative, cond, source, mask, steps, denoise, cfg, seed):
    """Masked img2img written out: x starts at the source plus noise at the first sigma; each model
    call sees the source (re-noised) outside the mask, and its prediction is the source there."""
    import comfy.sample
    import comfy.samplers
    import comfy.utils

    base = base_model(kind)
    ms = base.model.model_sampling
    sigmas = comfy.samplers.calculate_sigmas(ms, "normal", int(steps / denoise)).float()[-(steps + 1):]
    latent = base.model.process_latent_in(source)
    noise = comfy.sample.prepare_noise(source, seed)
    m = comfy.utils.reshape_mask(mask.reshape(-1, 1, *mask.shape[-2:]), latent.shape)
    bn_sd = brushnet_patcher(kind).model.state_dict()
    x = latent + noise * sigmas[0]
    for i in range(steps):
        s = sigmas[i]
        x_in = x * m + (latent + noise * s) * (1 - m)
        den = reference_denoised(base, bn_sd, kind, x_in, float(s), cfg, positive, negative, cond, 1.0)
        den = den * m + latent * (1 - m)
        x = x + (x - den) / s * (sigmas[i + 1] - s)
    return base.model.process_latent_out(x)


def test_soft_inpaint_matches_a_reference_loop() -> None:
    image, soft, positive, negative, source, (model, pos, neg, latent) = _setup()
    got = _ksample(model, pos, neg, latent, denoise=0.6, steps=3)
    cond = conditioning_reference(random_vae(), image, soft, "sd15")
    want = _reference_soft_euler("sd15", positive, negative, cond, source["samples"], soft, 3, 0.6, 5.0, 11)
    assert rel_err(got, want) <= 1e-5


def test_powerpaint_soft_inpaint_equals_comfyui_inpaint_latent(models_dir) -> None:
    from powerpaint._pp import powerpaint_patcher, tiny_powerpaint_clip

    image, mask = image_and_mask()
    soft = _soft_mask(mask)
    positive, negative = text_conds("sd15")
    source = {"samples": random_vae().encode(image)}
    node = _harness.pack_module("nodes.powerpaint").PowerPaint
    model, pos, neg, latent = node.execute(
        model=base_model("sd15"), vae=random_vae(), image=image, mask=soft, powerpaint=powerpaint_patcher(),
        clip=tiny_powerpaint_clip(models_dir), positive=positive, negative=negative, fitting=1.0,
        function="object removal", scale=1.0, start_at=0, end_at=10000, source_latent=source).args
    assert torch.equal(latent["noise_mask"][:, 0], soft)
    model = _differential(model)
    ours = _ksample(model, pos, neg, latent, denoise=0.5)
    core = _ksample(model, pos, neg, _core_latent(random_vae(), image, soft), denoise=0.5)
    assert torch.equal(ours, core)


def test_a_source_latent_of_another_image_is_a_clear_error() -> None:
    image, mask = image_and_mask()
    positive, negative = text_conds("sd15")
    prepare = _harness.pack_module("brushnet_core.image.prepare")
    other = {"samples": torch.zeros(1, 4, 8, 8)}
    wrong_size = "source_latent is 8x8 .* image to inpaint is 88x72.*VAE Encode"
    with pytest.raises(prepare.InpaintInputError, match=wrong_size):
        apply_node(base_model("sd15"), random_vae(), image, mask, brushnet_patcher("sd15"), positive, negative,
                   source_latent=other)
    with pytest.raises(prepare.InpaintInputError, match="has 16 channels but this model's latents have 4"):
        apply_node(base_model("sd15"), random_vae(), image, mask, brushnet_patcher("sd15"), positive, negative,
                   source_latent={"samples": torch.zeros(1, 16, 9, 11)})
    with pytest.raises(prepare.InpaintInputError, match="holds 3 latents for 2 images"):
        apply_node(base_model("sd15"), random_vae(), image.expand(2, -1, -1, -1), mask, brushnet_patcher("sd15"),
                   positive, negative, source_latent={"samples": torch.zeros(3, 4, 9, 11)})


def test_a_source_latent_with_its_own_noise_mask_keeps_it() -> None:
    image, mask = image_and_mask()
    positive, negative = text_conds("sd15")
    own = torch.full((1, 1, 72, 88), 0.5)
    *_, latent = apply_node(base_model("sd15"), random_vae(), image, mask, brushnet_patcher("sd15"), positive,
                            negative, source_latent={"samples": torch.zeros(1, 4, 9, 11), "noise_mask": own})
    assert latent["noise_mask"] is own
