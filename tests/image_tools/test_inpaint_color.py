"""Colour match: the node, the Blend Inpaint option, exactness outside the band, bad input."""
from __future__ import annotations

import pytest
import torch

from _harness import PromptFailed, pack_module


def _blend():
    return pack_module("brushnet_core.image.blend")


def _shifted(original: torch.Tensor) -> torch.Tensor:
    """What a model's colour drift looks like: darker and bluer everywhere."""
    out = original * torch.tensor([0.8, 0.82, 0.9]) + torch.tensor([0.0, 0.0, 0.06])
    return out.clamp(0, 1)


def _case(h: int = 64, w: int = 80):
    g = torch.Generator().manual_seed(0)
    ys, xs = torch.linspace(0, 1, h).view(h, 1), torch.linspace(0, 1, w).view(1, w)
    original = torch.stack([0.3 + 0.4 * xs.expand(h, w), 0.5 + 0.2 * ys.expand(h, w),
                            0.4 * (xs + ys) / 2 + 0.2], -1)[None]
    original = (original + 0.03 * torch.rand(original.shape, generator=g)).clamp(0, 1)
    mask = torch.zeros(1, h, w)
    mask[0, 20:44, 25:55] = 1.0
    return original, mask


def test_shift_is_removed_inside_and_nothing_changes_beyond_the_band() -> None:
    original, mask = _case()
    generated = _shifted(original)
    out = _blend().color_match_images(generated, original, mask, band=8, strength=1.0)
    hole = mask[0] > 0.5
    before = (generated[0][hole] - original[0][hole]).abs().mean()
    after = (out[0][hole] - original[0][hole]).abs().mean()
    assert after < 0.1 * before, (float(before), float(after))
    far = torch.ones_like(hole)
    far[20 - 9:44 + 9, 25 - 9:55 + 9] = False
    assert torch.equal(out[0][far], generated[0][far]), "pixels beyond the band must be bit-identical"


def test_strength_scales_the_correction() -> None:
    original, mask = _case()
    generated = _shifted(original)
    blend = _blend()
    hole = mask[0] > 0.5
    off = blend.color_match_images(generated, original, mask, band=8, strength=0.0)
    assert torch.equal(off, generated)
    errs = [float((blend.color_match_images(generated, original, mask, 8, s)[0][hole] - original[0][hole]).abs().mean())
            for s in (0.0, 0.5, 1.0)]
    assert errs[0] > errs[1] > errs[2]


def test_unshifted_generation_is_left_as_is() -> None:
    original, mask = _case()
    generated = original.clone()
    generated[0, 20:44, 25:55] = torch.tensor([0.9, 0.1, 0.1])  # new red content, colours around unchanged
    out = _blend().color_match_images(generated, original, mask, band=8)
    torch.testing.assert_close(out, generated, atol=1e-5, rtol=0)


def test_blend_inpaint_option_matches_colours_and_keeps_the_outside_exact() -> None:
    original, mask = _case()
    generated = _shifted(original)
    blend = _blend()
    plain, soft = blend.blend_inpaint(generated, original, mask, kernel=5, sigma=2.0)
    matched, soft2 = blend.blend_inpaint(generated, original, mask, kernel=5, sigma=2.0, color_match=1.0)
    assert torch.equal(soft, soft2)
    outside = soft[0] == 0
    assert torch.equal(matched[0][outside], original[0][outside])
    hole = mask[0] > 0.5
    assert (matched[0][hole] - original[0][hole]).abs().mean() < 0.2 * (plain[0][hole] - original[0][hole]).abs().mean()


def test_node_on_an_example_photo_through_the_host(graph, input_examples) -> None:
    image, mask = graph.load("example_3.jpg", "example_3_mask.jpg")
    tint = graph.add("EmptyImage", width=512, height=512, batch_size=1, color=0x6080C0)
    shifted = graph.add("ImageBlend", image1=image, image2=[tint, 0], blend_factor=0.25, blend_mode="normal")
    matched = graph.add("BrushEditColorMatch", image=[shifted, 0], original=image, mask=mask, strength=1.0, band=24)
    run = graph.run((matched, 0))
    original, before, after = run.outputs(image[0])[0], run.outputs(shifted)[0], run.outputs(matched)[0]
    hole = run.outputs(mask[0])[0][0] > 0.5
    lab = pack_module("brushnet_core.image.color").rgb_to_lab
    shift_before = (lab(before[0][hole]).mean(0) - lab(original[0][hole]).mean(0)).norm()
    shift_after = (lab(after[0][hole]).mean(0) - lab(original[0][hole]).mean(0)).norm()
    assert shift_after < 0.25 * shift_before, (float(shift_before), float(shift_after))


def test_lab_round_trip() -> None:
    color = pack_module("brushnet_core.image.color")
    rgb = torch.rand(1000, 3, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(color.lab_to_rgb(color.rgb_to_lab(rgb)).float(), rgb, atol=1e-6, rtol=0)
    white = color.rgb_to_lab(torch.ones(3))
    torch.testing.assert_close(white, torch.tensor([100.0, 0.0, 0.0], dtype=torch.float64), atol=1e-3, rtol=0)


def test_edge_masks_leave_the_image_unchanged() -> None:
    original, _ = _case()
    generated = _shifted(original)
    blend = _blend()
    assert torch.equal(blend.color_match_images(generated, original, torch.zeros(1, 64, 80)), generated)
    assert torch.equal(blend.color_match_images(generated, original, torch.ones(1, 64, 80)), generated)
    corner = torch.zeros(1, 64, 80)
    corner[0, 0, 0] = 1.0  # a 1-pixel region at the border: corrected, finite
    out = blend.color_match_images(generated, original, corner, band=8)
    assert torch.isfinite(out).all() and torch.equal(out[0, 20:], generated[0, 20:])


def test_vae_cropped_generation_is_matched_in_place() -> None:
    original, mask = _case(h=67, w=85)  # the VAE crops to 64x80 around the centre
    generated = _shifted(original)[:, 1:65, 2:82]
    out = _blend().color_match_images(generated, original, mask, band=8)
    assert out.shape == generated.shape


def test_bad_input_is_a_clear_error(graph, input_examples) -> None:
    original, mask = _case()
    blend = _blend()
    with pytest.raises(ValueError, match="original is 40x40 .* resize or crop both alike"):
        blend.color_match_images(original, torch.rand(1, 40, 40, 3), mask)
    with pytest.raises(ValueError, match="must be within 0..1"):
        blend.color_match_images(original, original, mask, strength=1.5)
    with pytest.raises(ValueError, match="needs RGB images"):
        blend.color_match_images(original[..., :1], original[..., :1], mask)
    image, m = graph.load("example_1.jpg", "example_1_mask.jpg")
    node = graph.add("BrushEditColorMatch", image=image, original=image, mask=m, strength=2.0, band=8)
    with pytest.raises(PromptFailed, match="strength"):
        graph.run((node, 0))
