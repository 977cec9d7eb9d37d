"""BrushNet through ComfyUI's real sampling path equals the independent reference (fp32)."""
from __future__ import annotations

import pytest
import torch

from injection._setup import (apply_node, base_model, brushnet_patcher, conditioning_reference, image_and_mask, one_step,
                              random_vae, reference_denoised, rel_err, text_conds)

RESULTS: dict[str, float] = {}


@pytest.mark.parametrize("kind", ["sd15", "sdxl"])
@pytest.mark.parametrize("scale", [0.7, 1.0])
def test_prediction_matches_reference(kind: str, scale: float) -> None:
    base = base_model(kind)
    bn = brushnet_patcher(kind)
    vae = random_vae()
    image, mask = image_and_mask()
    positive, negative = text_conds(kind)
    model, pos, neg, latent = apply_node(base, vae, image, mask, bn, positive, negative, scale=scale)
    cond = conditioning_reference(vae, image, mask, kind)
    sigma, cfg = 3.0, 4.5
    noise = torch.randn(latent["samples"].shape, generator=torch.Generator().manual_seed(0))
    expected = reference_denoised(base, bn.model.state_dict(), kind, noise * sigma, sigma, cfg, positive, negative, cond, scale)
    x, got = one_step(model, pos, neg, latent["samples"], sigma, cfg)
    assert torch.equal(x, noise * sigma)
    err = rel_err(got, expected)
    RESULTS[f"{kind}-scale{scale}"] = err
    print(f"max relative error {kind} scale {scale}: {err:.2e}")
    assert err <= 1e-5


@pytest.mark.parametrize("kind", ["sd15", "sdxl"])
def test_reference_differs_without_brushnet(kind: str) -> None:
    """Guard: the comparison above can fail (BrushNet changes the prediction a lot)."""
    base = base_model(kind)
    bn = brushnet_patcher(kind)
    image, mask = image_and_mask()
    positive, negative = text_conds(kind)
    model, pos, neg, latent = apply_node(base, random_vae(), image, mask, bn, positive, negative)
    _, with_bn = one_step(model, pos, neg, latent["samples"], 3.0, 4.5)
    _, plain = one_step(base, positive, negative, latent["samples"], 3.0, 4.5)
    assert rel_err(with_bn, plain) > 1e-2
