"""Full sampling through ComfyUI's KSampler: reference loop, call counts, no leftovers."""
from __future__ import annotations

import torch

from injection._setup import (apply_node, base_model, brushnet_patcher, conditioning_reference, count_forwards,
                              image_and_mask, ksample, random_vae, reference_denoised, rel_err, text_conds)


def _reference_euler(base, bn_sd, kind, positive, negative, cond, latent, steps, cfg, seed, scale=1.0):
    import comfy.sample
    import comfy.samplers

    ms = base.model.model_sampling
    sigmas = comfy.samplers.calculate_sigmas(ms, "normal", steps).float()
    noise = comfy.sample.prepare_noise(latent, seed)
    x = noise * torch.sqrt(1.0 + sigmas[0] ** 2)
    for i in range(steps):
        den = reference_denoised(base, bn_sd, kind, x, float(sigmas[i]), cfg, positive, negative, cond, scale)
        x = x + (x - den) / sigmas[i] * (sigmas[i + 1] - sigmas[i])
    return base.model.process_latent_out(x)


def _setup(kind="sd15", **node_kw):
    base = base_model(kind)
    bn = brushnet_patcher(kind)
    image, mask = image_and_mask()
    positive, negative = text_conds(kind)
    out = apply_node(base, random_vae(), image, mask, bn, positive, negative, **node_kw)
    return base, bn, image, mask, positive, negative, out


def test_ksampler_equals_reference_loop_sd15() -> None:
    base, bn, image, mask, positive, negative, (model, pos, neg, latent) = _setup("sd15")
    got = ksample(model, pos, neg, latent, steps=3, cfg=6.0)
    cond = conditioning_reference(random_vae(), image, mask, "sd15")
    want = _reference_euler(base, bn.model.state_dict(), "sd15", positive, negative, cond, latent["samples"], 3, 6.0, 11)
    assert rel_err(got, want) <= 1e-5


def test_sd15_brushnet_runs_once_per_step_under_cfg() -> None:
    base, bn, *_, (model, pos, neg, latent) = _setup("sd15")
    calls = count_forwards(bn)
    ksample(model, pos, neg, latent, steps=4, cfg=5.0)
    assert calls == [1, 1, 1, 1]  # one forward per step, on the latent batch only (not cond+uncond)


def test_sdxl_brushnet_runs_once_per_step_on_both_halves() -> None:
    base, bn, *_, (model, pos, neg, latent) = _setup("sdxl")
    calls = count_forwards(bn)
    ksample(model, pos, neg, latent, steps=3, cfg=5.0)
    assert calls == [2, 2, 2]  # cond and uncond differ (pooled text), computed in one batch per step


def test_sd15_separate_cond_uncond_calls_share_one_forward() -> None:
    base, bn, image, mask, positive, negative, _ = _setup("sd15")
    long_negative = [[torch.cat([negative[0][0]] * 5, dim=1), {}]]  # 385 tokens: ComfyUI can't batch it with 77
    model, pos, neg, latent = apply_node(base, random_vae(), image, mask, bn, positive, long_negative)
    calls = count_forwards(bn)
    ksample(model, pos, neg, latent, steps=3, cfg=5.0)
    assert calls == [1, 1, 1]


def test_scale_zero_never_runs_and_is_bit_identical() -> None:
    base, bn, *_, (model, pos, neg, latent) = _setup("sd15", scale=0.0)
    calls = count_forwards(bn)
    plain = ksample(base, *text_conds("sd15"), latent, steps=3)
    got = ksample(model, pos, neg, latent, steps=3)
    assert calls == [] and torch.equal(got, plain)


def test_empty_step_range_never_runs_and_is_bit_identical() -> None:
    base, bn, *_, (model, pos, neg, latent) = _setup("sd15", start_at=3, end_at=3)
    calls = count_forwards(bn)
    plain = ksample(base, *text_conds("sd15"), latent, steps=3)
    assert calls == [] and torch.equal(ksample(model, pos, neg, latent, steps=3), plain)


def test_step_range_limits_the_steps_brushnet_runs() -> None:
    base, bn, *_, (model, pos, neg, latent) = _setup("sd15", start_at=1, end_at=3)
    calls = count_forwards(bn)
    ksample(model, pos, neg, latent, steps=5)
    assert calls == [1, 1]


def test_percent_range_limits_the_steps_brushnet_runs() -> None:
    base, bn, *_, (model, pos, neg, latent) = _setup("sd15", start_percent=0.0, end_percent=0.5)
    calls = count_forwards(bn)
    ksample(model, pos, neg, latent, steps=6)
    assert 0 < len(calls) < 6


def test_plain_sampling_is_bit_identical_before_and_after_brushnet() -> None:
    base = base_model("sd15")
    positive, negative = text_conds("sd15")
    latent = {"samples": torch.zeros(1, 4, 9, 11)}
    options_before = repr(base.model_options)
    before = ksample(base, positive, negative, latent, steps=3)
    blocks_before = list(base.model.diffusion_model.output_blocks)  # as loaded for plain sampling
    _, _, _, _, _, _, (model, pos, neg, lat) = _setup("sd15")
    ksample(model, pos, neg, lat, steps=3)
    after = ksample(base, positive, negative, latent, steps=3)
    assert torch.equal(before, after)
    blocks_after = list(base.model.diffusion_model.output_blocks)
    assert blocks_after == blocks_before
    assert not any(type(b).__name__ == "InjectingBlock" for b in blocks_after)
    assert repr(base.model_options) == options_before and not base.object_patches


def test_batch_of_images_with_one_mask() -> None:
    base = base_model("sd15")
    bn = brushnet_patcher("sd15")
    image, mask = image_and_mask(batch=2)
    mask = mask[:1]
    positive, negative = text_conds("sd15")
    model, pos, neg, latent = apply_node(base, random_vae(), image, mask, bn, positive, negative)
    assert latent["samples"].shape[0] == 2
    calls = count_forwards(bn)
    out = ksample(model, pos, neg, latent, steps=2)
    assert out.shape[0] == 2 and calls == [2, 2]
