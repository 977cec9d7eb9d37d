"""Bad inputs to the BrushNet node get clear, actionable messages (never a tensor-shape traceback)."""
from __future__ import annotations

import logging

import pytest
import torch
from torch import nn

import _models
from injection._setup import apply_node, base_model, brushnet_patcher, image_and_mask, random_vae, text_conds


def _run(kind_model="sd15", kind_bn="sd15", image=None, mask=None, **kw):
    img, msk = image_and_mask()
    return apply_node(kw.pop("model", None) or base_model(kind_model), kw.pop("vae", random_vae()),
                      img if image is None else image, msk if mask is None else mask,
                      kw.pop("bn", None) or brushnet_patcher(kind_bn), *text_conds(kind_model), **kw)


def test_sd15_brushnet_on_sdxl_model() -> None:
    with pytest.raises(ValueError, match="SD1.5 BrushNet connected to an SDXL model"):
        _run("sdxl", "sd15")


def test_sdxl_brushnet_on_sd15_model() -> None:
    with pytest.raises(ValueError, match="SDXL BrushNet connected to an SD1.5 model"):
        _run("sd15", "sdxl")


def test_inpainting_checkpoint_is_refused() -> None:
    inpaint_model = _models.tiny_base_model("sd15", in_channels=9)
    with pytest.raises(ValueError, match="inpainting checkpoint"):
        _run(model=inpaint_model)


def test_non_unet_model_is_refused() -> None:
    from brushnet_core.branch.injection import IncompatibleModelError, make_plan

    with pytest.raises(IncompatibleModelError, match="Flux, SD3"):
        make_plan(nn.Linear(4, 4), [320], [320])


def test_missing_vae() -> None:
    with pytest.raises(ValueError, match="needs the model's VAE"):
        _run(vae=None)


def test_wrong_object_in_brushnet_socket() -> None:
    with pytest.raises(TypeError, match="connect a BrushNet Loader"):
        _run(bn=base_model("sd15"))


def test_empty_mask_is_an_error_naming_the_fix() -> None:
    image, mask = image_and_mask()
    with pytest.raises(ValueError, match="mask is empty"):
        _run(mask=torch.zeros_like(mask))


def test_mask_batch_mismatch() -> None:
    image, mask = image_and_mask(batch=2)
    with pytest.raises(ValueError, match="2 images but the mask batch has 3 masks"):
        _run(image=image, mask=torch.cat([mask, mask[:1]]))


def test_mask_of_other_size_is_resized_with_notice(caplog) -> None:
    image, _ = image_and_mask(h=72, w=88)
    small_mask = torch.zeros(1, 9, 11)  # latent-sized mask, as users sometimes feed
    small_mask[:, 3:6, 4:8] = 1
    with caplog.at_level(logging.WARNING):
        _, _, _, latent = _run(image=image, mask=small_mask)
    assert latent["samples"].shape == (1, 4, 9, 11)
    assert "resizing the mask" in caplog.text


def test_size_not_multiple_of_8_is_centre_cropped() -> None:
    image, mask = image_and_mask(h=75, w=93)
    _, _, _, latent = _run(image=image, mask=mask)
    assert latent["samples"].shape == (1, 4, 9, 11)


def test_full_mask_runs_with_warning(caplog) -> None:
    image, mask = image_and_mask()
    with caplog.at_level(logging.WARNING):
        _run(mask=torch.ones_like(mask))
    assert "covers the whole image" in caplog.text
