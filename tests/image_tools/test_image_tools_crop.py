"""Crop for inpaint (pure function), origin parsing, and the crop -> blend round trip."""
from __future__ import annotations

import pytest
import torch

from brushnet_core.image import blend, crop

pytestmark = pytest.mark.core  # pure core: runs without booting ComfyUI


def _image(h: int, w: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(1, h, w, 3, generator=torch.Generator().manual_seed(seed))


def _smooth_image(h: int, w: int) -> torch.Tensor:
    ys = torch.linspace(0, 1, h).view(h, 1, 1)
    xs = torch.linspace(0, 1, w).view(1, w, 1)
    return torch.cat([ys.expand(h, w, 1), xs.expand(h, w, 1), (0.5 * (xs + ys)).expand(h, w, 1)],
                     dim=-1)[None]


def _mask(h: int, w: int, box: tuple[int, int, int, int]) -> torch.Tensor:
    x0, y0, x1, y1 = box
    m = torch.zeros(1, h, w)
    m[0, y0:y1, x0:x1] = 1.0
    return m


def test_small_mask_gives_an_unscaled_crop_of_the_requested_size() -> None:
    image, mask = _image(300, 400), _mask(300, 400, (200, 100, 240, 150))
    crops, masks, origin = crop.cut_for_inpaint(image, mask, 128, 96, padding=8)
    assert crops.shape == (1, 96, 128, 3) and masks.shape == (1, 96, 128)
    x, y, w, h, full_w, full_h, out_w, out_h = origin[0].tolist()
    assert (w, h, full_w, full_h, out_w, out_h) == (128, 96, 400, 300, 128, 96)
    assert x <= 200 and x + w >= 240 and y <= 100 and y + h >= 150
    assert torch.equal(crops[0], image[0, y:y + h, x:x + w])


def test_large_mask_gets_a_larger_box_of_the_same_aspect() -> None:
    image, mask = _image(600, 800), _mask(600, 800, (100, 100, 500, 300))
    crops, _, origin = crop.cut_for_inpaint(image, mask, 128, 64, padding=10)
    x, y, w, h = origin[0, :4].tolist()
    assert crops.shape == (1, 64, 128, 3)
    assert w == 440 and h == 220  # 200 + 2*10 high sets the scale, aspect 2:1 kept
    assert x <= 90 and x + w >= 510 and y <= 100 and y + h >= 300


def test_image_smaller_than_the_request_is_cropped_whole_without_stretching() -> None:
    image, mask = _image(50, 70), _mask(50, 70, (10, 10, 20, 20))
    crops, _, origin = crop.cut_for_inpaint(image, mask, 512, 512)
    assert crops.shape == (1, 50, 70, 3)
    assert origin[0].tolist() == [0, 0, 70, 50, 70, 50, 70, 50]
    assert torch.equal(crops, image)


def test_empty_mask_gives_a_centred_crop() -> None:
    image = _image(100, 200)
    crops, masks, origin = crop.cut_for_inpaint(image, torch.zeros(1, 100, 200), 64, 64)
    assert crops.shape == (1, 64, 64, 3) and masks.eq(0).all()
    assert origin[0, :4].tolist() == [68, 18, 64, 64]


def test_all_ones_mask_crops_the_whole_image_scaled_down() -> None:
    image = _image(100, 200)
    crops, masks, origin = crop.cut_for_inpaint(image, torch.ones(1, 100, 200), 64, 32)
    assert origin[0, :4].tolist() == [0, 0, 200, 100]
    assert crops.shape == (1, 32, 64, 3) and masks.eq(1).all()


def test_batch_items_share_one_output_size() -> None:
    image = _image(300, 300).repeat(2, 1, 1, 1)
    mask = torch.cat([_mask(300, 300, (10, 10, 30, 30)), _mask(300, 300, (100, 100, 250, 260))])
    crops, _, origin = crop.cut_for_inpaint(image, mask, 64, 64, padding=0)
    assert crops.shape == (2, 64, 64, 3)
    assert origin[0, 2:4].tolist() == origin[1, 2:4].tolist() == [160, 160]
    assert origin[0, :2].tolist() != origin[1, :2].tolist()


def test_mask_of_another_size_is_resized_to_the_image() -> None:
    image = _image(120, 200)
    mask = _mask(60, 100, (40, 20, 60, 40))
    _, _, origin = crop.cut_for_inpaint(image, mask, 64, 64, padding=0)
    x, y, w, h = origin[0, :4].tolist()
    assert x <= 80 and x + w >= 120 and y <= 40 and y + h >= 80


def test_round_trip_without_scaling_restores_the_original() -> None:
    image, mask = _image(300, 400), _mask(300, 400, (150, 120, 230, 190))
    crops, masks, origin = crop.cut_for_inpaint(image, mask, 160, 128, padding=8)
    assert origin[0, 2:4].tolist() == [160, 128]  # not scaled
    out, soft = blend.blend_inpaint(crops, image, masks, 21, 3.5, origin)
    torch.testing.assert_close(out, image, atol=1e-6, rtol=0)
    assert torch.equal(out[0][soft[0] == 0], image[0][soft[0] == 0])


def test_round_trip_with_scaling_pastes_back_at_the_right_place() -> None:
    image, mask = _smooth_image(400, 600), _mask(400, 600, (100, 80, 500, 330))
    crops, masks, origin = crop.cut_for_inpaint(image, mask, 128, 96, padding=16)
    assert origin[0, 2] > 128  # the crop was shrunk
    out, soft = blend.blend_inpaint(crops, image, masks, 21, 3.5, origin)
    assert torch.equal(out[0][soft[0] == 0], image[0][soft[0] == 0])
    assert (out - image).abs().max() < 0.02  # only resampling error, no misplacement


def test_blend_with_origin_accepts_a_mask_in_original_coordinates() -> None:
    image, mask = _image(300, 400), _mask(300, 400, (150, 120, 230, 190))
    crops, _, origin = crop.cut_for_inpaint(image, mask, 160, 128)
    generated = torch.zeros_like(crops)
    out, _ = blend.blend_inpaint(generated, image, mask, 1, 1.0, origin)
    assert out[0, 120:190, 150:230].eq(0).all()
    assert torch.equal(out[0, :100], image[0, :100])


def test_legacy_two_value_origin_places_an_unscaled_crop() -> None:
    image = _image(100, 100)
    generated = torch.zeros(1, 20, 30, 3)
    out, _ = blend.blend_inpaint(generated, image, torch.ones(1, 20, 30), 1, 1.0,
                                 torch.tensor([[40, 10]]))
    assert out[0, 10:30, 40:70].eq(0).all()
    assert torch.equal(out[0, 30:], image[0, 30:])


def test_origin_for_another_image_size_is_rejected() -> None:
    origin = torch.tensor([[0, 0, 64, 64, 1150, 690]])
    with pytest.raises(ValueError, match="origin was made for a 1150x690 image but original is 100x80"):
        crop.parse_origin(origin, 1, (80, 100), (64, 64))


def test_origin_outside_the_original_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"origin crop 64x64 at \(50, 0\) does not fit"):
        crop.parse_origin([50, 0, 64, 64], 1, (80, 100), (64, 64))


def test_origin_batch_mismatch_is_rejected() -> None:
    origin = torch.tensor([[0, 0, 8, 8, 100, 80]] * 2)
    with pytest.raises(ValueError, match="origin holds 2 crops but the batch has 3 items"):
        crop.parse_origin(origin, 3, (80, 100), (8, 8))


def test_origin_of_the_wrong_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="origin must come from CutForInpaint"):
        crop.parse_origin("0,0", 1, (80, 100), (8, 8))


def test_vae_cropped_inpaint_of_an_odd_sized_crop_is_put_back_in_place() -> None:
    image, mask = _image(61, 101), _mask(61, 101, (30, 20, 60, 40))
    crops, masks, origin = crop.cut_for_inpaint(image, mask, 512, 512)
    assert crops.shape == (1, 61, 101, 3)
    generated = torch.zeros(1, 56, 96, 3)  # what the VAE keeps of 61x101: offsets (2, 2)
    out, _ = blend.blend_inpaint(generated, image, torch.ones_like(masks), 1, 1.0, origin)
    assert out[0, 2:58, 2:98].eq(0).all()
    assert torch.equal(out[0, :2], image[0, :2]) and torch.equal(out[0, 58:], image[0, 58:])


def test_mask_outside_the_crop_keeps_the_original_with_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    image = _image(200, 200)
    mask = _mask(200, 200, (10, 10, 190, 30))  # wider than the 64x64 crop below
    origin = torch.tensor([[68, 0, 64, 64, 200, 200, 64, 64]])
    with caplog.at_level("WARNING"):
        out, soft = blend.blend_inpaint(torch.zeros(1, 64, 64, 3), image, mask, 5, 2.0, origin)
    assert "lie outside the crop; they keep the original" in caplog.text
    assert torch.equal(out[0, :, :68], image[0, :, :68]) and soft[0, :, :68].eq(0).all()
    assert out[0, 10:30, 68:132].eq(0).all()
