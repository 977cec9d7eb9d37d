"""The one mask toolbox: shapes, the size rule, gaussian blur, grow/shrink, holes, bounding boxes,
adjust order."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from brushnet_core.errors import BrushEditError
from brushnet_core.image import mask_ops, prepare


def _growmask_reference(mask: torch.Tensor, expand: int, tapered: bool) -> np.ndarray:
    """ComfyUI's own GrowMask node, as the booted host has it."""
    from comfy_extras.nodes_mask import GrowMask

    return GrowMask().expand_mask(mask, expand, tapered)[0][0].numpy()


def _conv_reference(x: torch.Tensor, g: torch.Tensor, mode: str) -> torch.Tensor:
    r = g.numel() // 2
    y = F.conv2d(F.pad(x[:, None], (r, r, r, r), mode=mode), g.view(1, 1, 1, -1))
    return F.conv2d(y, g.view(1, 1, -1, 1))[:, 0]


@pytest.mark.parametrize("expand", [1, 2, 3, 4, 7, 12, -1, -2, -5, -12])
@pytest.mark.parametrize("tapered", [True, False])
def test_grow_mask_matches_growmask_algorithm(expand: int, tapered: bool) -> None:
    gen = torch.Generator().manual_seed(abs(expand) * 2 + tapered)
    mask = torch.rand(23, 31, generator=gen) * (torch.rand(23, 31, generator=gen) > 0.7)
    got = mask_ops.grow_mask(mask[None], expand, tapered)[0].numpy()
    np.testing.assert_array_equal(got, _growmask_reference(mask, expand, tapered))


@pytest.mark.parametrize("expand", [30, -30, 10_000])
@pytest.mark.parametrize("tapered", [True, False])
def test_grow_beyond_the_image_size_matches_growmask(expand: int, tapered: bool) -> None:
    gen = torch.Generator().manual_seed(7)
    mask = torch.rand(9, 13, generator=gen) * (torch.rand(9, 13, generator=gen) > 0.6)
    got = mask_ops.grow_mask(mask[None], expand, tapered)[0].numpy()
    reference = _growmask_reference(mask, max(-30, min(expand, 30)), tapered)
    np.testing.assert_array_equal(got, reference)


def test_one_pixel_grown_by_20_is_growmasks_841_pixel_diamond() -> None:
    dot = torch.zeros(1, 61, 61)
    dot[0, 30, 30] = 1.0
    out = mask_ops.grow_mask(dot, 20)
    assert int(out.sum()) == 841
    np.testing.assert_array_equal(out[0].numpy(), _growmask_reference(dot[0], 20, True))


def test_grow_zero_is_identity() -> None:
    mask = torch.rand(1, 9, 9)
    assert torch.equal(mask_ops.grow_mask(mask, 0), mask)


@pytest.mark.parametrize("mode", ["replicate", "reflect"])
def test_gaussian_blur_equals_direct_convolution(mode: str) -> None:
    x = torch.rand(2, 37, 301, generator=torch.Generator().manual_seed(1))
    g = mask_ops.gaussian_kernel1d(21, 3.5)
    torch.testing.assert_close(mask_ops.gaussian_blur(x, g, mode), _conv_reference(x, g, mode),
                               atol=1e-6, rtol=0)


@pytest.mark.parametrize("mode", ["replicate", "reflect"])
@pytest.mark.parametrize("size,kernel", [(37, 21), (129, 21), (300, 61), (260, 301)])
def test_gaussian_blur_of_a_binary_mask_equals_direct_convolution(mode: str, size: int,
                                                                   kernel: int) -> None:
    """Mostly-constant masks take the skip path; sizes cover partial and single tiles."""
    x = torch.zeros(1, size, size + 7)
    x[0, size // 4:size // 2, size // 3:size - 2] = 1.0
    x[0, :3, :5] = 1.0  # touches the border
    g = mask_ops.gaussian_kernel1d(kernel, kernel / 6.0)
    torch.testing.assert_close(mask_ops.gaussian_blur(x, g, mode), _conv_reference(x, g, mode),
                               atol=1e-6, rtol=0)


def test_gaussian_blur_radius_larger_than_image_uses_replicate() -> None:
    x = torch.zeros(1, 5, 6)
    x[0, 2, 3] = 1.0
    out = mask_ops.gaussian_blur(x, mask_ops.gaussian_kernel1d(31, 4.0), "reflect")
    assert out.shape == x.shape and torch.isfinite(out).all() and out.max() < 1.0


def test_gaussian_kernel_drops_taps_beyond_six_sigma() -> None:
    g = mask_ops.gaussian_kernel1d(1001, 2.0)
    assert g.numel() == 2 * 12 + 1
    assert abs(float(g.sum()) - 1.0) < 1e-6


@pytest.mark.parametrize("size,sigma", [(4, 1.0), (0, 1.0), (5, 0.0), (5, float("nan"))])
def test_gaussian_kernel_rejects_bad_parameters(size: int, sigma: float) -> None:
    with pytest.raises(ValueError, match="gaussian"):
        mask_ops.gaussian_kernel1d(size, sigma)


@pytest.mark.parametrize("shape", [(7, 9), (1, 7, 9), (1, 1, 7, 9), (1, 7, 9, 3)])
def test_as_mask_batch_accepts_common_layouts(shape: tuple[int, ...]) -> None:
    mask = torch.rand(*shape)
    out = mask_ops.as_mask_batch(mask)
    assert out.shape == (1, 7, 9)
    expected = mask.reshape(7, 9) if len(shape) < 4 or shape[1] == 1 else mask[0, ..., 0]
    assert torch.equal(out[0], expected)


def test_as_mask_batch_rejects_other_ranks() -> None:
    with pytest.raises(ValueError, match=r"\[B, H, W\]"):
        mask_ops.as_mask_batch(torch.rand(1, 1, 1, 4, 4))


def test_fill_holes_fills_enclosed_area_only() -> None:
    mask = torch.zeros(1, 12, 12)
    mask[0, 2:9, 2:9] = 1.0
    mask[0, 4:7, 4:7] = 0.0  # enclosed hole
    mask[0, 0:4, 10:12] = 1.0
    mask[0, 1:3, 11] = 0.0  # notch open to the border
    out = mask_ops.fill_holes(mask)
    assert out[0, 4:7, 4:7].eq(1).all()
    assert out[0, 1:3, 11].eq(0).all()


def test_bbox_mask_pads_and_clamps() -> None:
    mask = torch.zeros(1, 10, 10)
    mask[0, 1, 2] = 0.2
    mask[0, 5, 6] = 1.0
    out = mask_ops.bbox_mask(mask, padding=2)
    expected = torch.zeros(10, 10)
    expected[0:8, 0:9] = 1.0
    assert torch.equal(out[0], expected)


def test_bbox_mask_keeps_empty_mask_empty() -> None:
    assert mask_ops.bbox_mask(torch.zeros(1, 4, 4), 3).eq(0).all()


def test_feather_of_a_dot_is_the_gaussian_kernel() -> None:
    mask = torch.zeros(1, 21, 21)
    mask[0, 10, 10] = 1.0
    g = mask_ops.gaussian_kernel1d(13, 2.0)  # radius 6 -> sigma 2
    torch.testing.assert_close(mask_ops.feather_mask(mask, 6)[0, 4:17, 4:17], torch.outer(g, g))


def test_adjust_mask_order_grows_before_inverting() -> None:
    mask = torch.zeros(1, 9, 9)
    mask[0, 4, 4] = 1.0
    out = mask_ops.adjust_mask(mask, grow=1, tapered_corners=False, invert=True)
    assert out[0, 3:6, 3:6].eq(0).all() and out.sum() == 81 - 9


def test_adjust_mask_thresholds_before_filling() -> None:
    mask = torch.zeros(1, 7, 7)
    mask[0, 1:6, 1:6] = 0.9
    mask[0, 3, 3] = 0.0  # a hole in a ring that thresholding at 0.95 removes first
    out = mask_ops.adjust_mask(mask, threshold=0.95, fill=True)
    assert out.eq(0).all()


def test_adjust_mask_rejects_threshold_out_of_range() -> None:
    with pytest.raises(ValueError, match="threshold"):
        mask_ops.adjust_mask(torch.zeros(1, 4, 4), threshold=1.5)


def test_broadcast_batch_rejects_non_divisible_sizes() -> None:
    with pytest.raises(ValueError, match="batch size mismatch: mask has 2 items but 3"):
        mask_ops.broadcast_batch(torch.zeros(2, 4, 4), 3, "mask")


def test_broadcast_batch_tiles_divisors() -> None:
    t = torch.arange(2.0).view(2, 1)
    assert mask_ops.broadcast_batch(t, 4, "x").flatten().tolist() == [0.0, 1.0, 0.0, 1.0]


# --- the one rule for a mask of another size ------------------------------------------------------

def test_fit_mask_resizes_a_mask_of_the_same_aspect_with_a_notice(caplog) -> None:
    small = torch.zeros(1, 512, 853)  # example_4: image 1150x690, mask 853x512
    small[0, 100:200, 300:500] = 1.0
    with caplog.at_level(logging.WARNING):
        out = mask_ops.fit_mask(small, 690, 1150)
    assert out.shape == (1, 690, 1150) and out[0, 200, 550] == 1 and out[0, 10, 10] == 0
    assert torch.equal(out, mask_ops.resize_mask(small, 690, 1150))
    assert "mask is 853x512 but the image is 1150x690: resizing the mask" in caplog.text


def test_fit_mask_keeps_a_mask_of_the_image_size() -> None:
    mask = torch.rand(1, 6, 8)
    assert mask_ops.fit_mask(mask, 6, 8) is mask


def test_fit_mask_rejects_another_aspect_naming_both_sizes_and_the_fix() -> None:
    with pytest.raises(mask_ops.MaskSizeError, match=r"mask is 60x60 \(aspect 1.000\) but must cover 80x60 "
                                                     r"\(aspect 1.333\): different aspect ratios.*make it from "
                                                     r"this image, or resize or crop both alike"):
        mask_ops.fit_mask(torch.ones(1, 60, 60), 60, 80)


def test_mask_size_error_is_a_brushedit_value_error() -> None:
    assert issubclass(mask_ops.MaskSizeError, BrushEditError)
    assert issubclass(mask_ops.MaskSizeError, ValueError)  # callers that caught ValueError still do


def test_prepare_follows_the_rule_resize_same_aspect() -> None:
    image = torch.rand(1, 72, 88, 3)
    mask = torch.zeros(1, 9, 11)
    mask[0, 3:6, 4:8] = 1.0
    out = prepare.prepare_inpaint(image, mask)
    torch.testing.assert_close(out.soft_mask, mask_ops.resize_mask(mask, 72, 88))


def test_prepare_follows_the_rule_reject_other_aspect() -> None:
    with pytest.raises(mask_ops.MaskSizeError, match=r"mask is 64x64 .* must cover 128x64"):
        prepare.prepare_inpaint(torch.rand(1, 64, 128, 3), torch.ones(1, 64, 64))
