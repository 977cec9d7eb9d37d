"""Blurred blending (pure function): outward feather, exactness, sizes, batches, bad input."""
from __future__ import annotations

import logging

import pytest
import torch

from brushnet_core.image import blend

pytestmark = pytest.mark.core  # pure core: runs without booting ComfyUI


def _case(h: int = 60, w: int = 80, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    original = torch.rand(1, h, w, 3, generator=gen)
    generated = torch.rand(1, h, w, 3, generator=gen)
    mask = torch.zeros(1, h, w)
    mask[0, 20:40, 25:55] = 1.0
    return generated, original, mask


def test_outside_the_feathered_band_output_is_the_original_bit_identical() -> None:
    generated, original, mask = _case()
    out, soft = blend.blend_inpaint(generated, original, mask, kernel=21, sigma=3.5)
    outside = soft[0] == 0
    assert outside.sum() > 0
    assert torch.equal(out[0][outside], original[0][outside])


def test_inside_the_hard_mask_the_generated_pixels_are_used_as_is() -> None:
    generated, original, mask = _case()
    out, _ = blend.blend_inpaint(generated, original, mask, kernel=21, sigma=3.5)
    inside = mask[0] == 1
    assert torch.equal(out[0][inside], generated[0][inside])


def test_feather_only_grows_outward() -> None:
    _, _, mask = _case()
    _, soft = blend.blend_inpaint(*_case(), kernel=21, sigma=3.5)
    assert torch.all(soft >= mask)
    assert torch.all(soft[mask == 1] == 1)
    assert 0 < soft[0, 30, 24] < 1  # one pixel left of the hole is feathered
    assert soft[0, 30, 25 - 11] == 0  # beyond the kernel radius (10) nothing changes


def test_soft_mask_equals_the_blur_of_the_whole_mask() -> None:
    generated, original, mask = _case()
    mask[0, 0:5, 0:10] = 0.6  # a soft patch touching the border (replicated edges)
    _, soft = blend.blend_inpaint(generated, original, mask, kernel=21, sigma=3.5)
    full = blend.soft_blend_mask(mask, 21, 3.5)
    torch.testing.assert_close(soft, full, atol=1e-6, rtol=0)
    assert torch.equal(soft == 0, full == 0)


def test_even_kernel_is_made_odd_by_adding_one() -> None:
    assert blend.blend_kernel_size(10) == 11
    assert blend.blend_kernel_size(21) == 21


def test_kernel_one_means_no_feathering() -> None:
    generated, original, mask = _case()
    _, soft = blend.blend_inpaint(generated, original, mask, kernel=1, sigma=10.0)
    assert torch.equal(soft, mask)


def test_kernel_larger_than_the_image_is_accepted() -> None:
    generated, original, mask = _case(h=12, w=16)
    mask[0, 4:8, 5:9] = 1.0
    out, soft = blend.blend_inpaint(generated, original, mask, kernel=999, sigma=50.0)
    assert out.shape == original.shape and torch.isfinite(out).all()
    assert soft.min() > 0 and soft.max() == 1


@pytest.mark.parametrize("kernel", [0, -3])
def test_kernel_below_one_is_rejected(kernel: int) -> None:
    with pytest.raises(ValueError, match="kernel must be a whole number >= 1"):
        blend.blend_inpaint(*_case(), kernel=kernel, sigma=1.0)


def test_sigma_zero_is_rejected_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match=r"sigma must be a number > 0 .*got 0"):
        blend.blend_inpaint(*_case(), kernel=5, sigma=0.0)


def test_empty_mask_returns_the_original_with_a_notice(caplog: pytest.LogCaptureFixture) -> None:
    generated, original, mask = _case()
    with caplog.at_level(logging.INFO):
        out, soft = blend.blend_inpaint(generated, original, torch.zeros_like(mask), 10, 10.0)
    assert torch.equal(out, original) and soft.eq(0).all()
    assert "[BrushEdit] BlendInpaint: mask 0 is empty" in caplog.text


def test_all_ones_mask_returns_the_generated_image() -> None:
    generated, original, mask = _case()
    out, _ = blend.blend_inpaint(generated, original, torch.ones_like(mask), 10, 10.0)
    assert torch.equal(out, generated)


def test_generated_of_another_size_is_resized_to_the_original() -> None:
    _, original, mask = _case()
    generated = torch.full((1, 30, 40, 3), 0.25)
    out, _ = blend.blend_inpaint(generated, original, mask, 5, 2.0)
    assert out.shape == original.shape
    torch.testing.assert_close(out[0][mask[0] == 1], torch.full_like(out[0][mask[0] == 1], 0.25))


def test_mask_of_another_size_is_resized_to_the_original() -> None:
    generated, original, mask = _case()
    small = mask[:, ::2, ::2]
    out, soft = blend.blend_inpaint(generated, original, small, 1, 1.0)
    assert soft.shape == (1, 60, 80)
    torch.testing.assert_close(out[0, 25, 30], generated[0, 25, 30])
    assert torch.equal(out[0, 5, 5], original[0, 5, 5])


def test_mask_of_another_aspect_ratio_is_rejected() -> None:
    generated, original, _ = _case()
    with pytest.raises(ValueError, match=r"mask is 60x60 .* must cover 80x60"):
        blend.blend_inpaint(generated, original, torch.ones(1, 60, 60), 5, 2.0)


@pytest.mark.parametrize("layout", ["channel_last", "channel_first"])
def test_mask_with_a_channel_dimension_gives_the_same_result(layout: str) -> None:
    generated, original, mask = _case()
    shaped = mask[..., None].expand(1, 60, 80, 3) if layout == "channel_last" else mask[:, None]
    expected = blend.blend_inpaint(generated, original, mask, 21, 3.5)
    got = blend.blend_inpaint(generated, original, shaped, 21, 3.5)
    assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])


def test_batch_of_generated_shares_one_original_and_mask() -> None:
    _, original, mask = _case()
    generated = torch.rand(3, 60, 80, 3, generator=torch.Generator().manual_seed(5))
    out, soft = blend.blend_inpaint(generated, original, mask, 21, 3.5)
    assert out.shape == (3, 60, 80, 3) and soft.shape == (3, 60, 80)
    single = blend.blend_inpaint(generated[2:3], original, mask, 21, 3.5)[0]
    assert torch.equal(out[2:3], single)


def test_batch_size_mismatch_is_rejected() -> None:
    _, original, mask = _case()
    with pytest.raises(ValueError, match="batch size mismatch: original has 2 items but 3"):
        blend.blend_inpaint(torch.rand(3, 60, 80, 3), original.repeat(2, 1, 1, 1), mask, 5, 1.0)


def test_channel_count_mismatch_is_rejected() -> None:
    generated, original, mask = _case()
    with pytest.raises(ValueError, match="inpaint has 4 colour channels but original has 3"):
        blend.blend_inpaint(torch.rand(1, 60, 80, 4), original, mask, 5, 1.0)


def test_half_precision_original_keeps_its_dtype() -> None:
    generated, original, mask = _case()
    out, _ = blend.blend_inpaint(generated, original.half(), mask, 21, 3.5)
    assert out.dtype == torch.float16
    outside = blend.soft_blend_mask(mask, 21, 3.5)[0] == 0
    assert torch.equal(out[0][outside], original.half()[0][outside])


def test_vae_cropped_inpaint_is_put_back_in_place_not_stretched() -> None:
    """ComfyUI's VAE encode centre-crops 75x83 to 72x80 (offsets 1, 1)."""
    original = torch.rand(1, 75, 83, 3, generator=torch.Generator().manual_seed(3))
    generated = torch.zeros(1, 72, 80, 3)
    out, _ = blend.blend_inpaint(generated, original, torch.ones(1, 75, 83), 1, 1.0)
    assert out[0, 1:73, 1:81].eq(0).all()
    assert torch.equal(out[0, 0], original[0, 0]) and torch.equal(out[0, 73:], original[0, 73:])
    assert torch.equal(out[0, :, 81:], original[0, :, 81:])


def test_vae_crop_offset_recognises_centred_multiples_of_8() -> None:
    assert blend.vae_crop_offset((688, 1144), (690, 1150)) == (1, 3)
    assert blend.vae_crop_offset((680, 512), (683, 512)) == (1, 0)
    assert blend.vae_crop_offset((512, 512), (512, 512)) is None
    assert blend.vae_crop_offset((500, 512), (512, 512)) is None
