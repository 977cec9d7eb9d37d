"""Plan -> mask category logic (pure torch), on the pack's one mask toolbox."""
from __future__ import annotations

import logging

import pytest
import torch

from brushnet_core.image.mask_ops import MaskSizeError, fit_mask, grow_mask
from brushnet_core.planner.plan_mask import box_mask, mask_for_plan


def _comfy_grow(mask: torch.Tensor, expand: int, tapered: bool = True) -> torch.Tensor:
    """ComfyUI's own GrowMask node, as the booted host has it."""
    from comfy_extras.nodes_mask import GrowMask

    return GrowMask().expand_mask(mask, expand, tapered)[0]


def _blob(h=40, w=60):
    m = torch.zeros(1, h, w)
    m[:, 15:25, 20:30] = 1.0
    return m


def test_global_is_the_whole_image():
    assert torch.equal(mask_for_plan("global", 30, 50), torch.ones(1, 30, 50))


def test_addition_uses_the_box():
    out = mask_for_plan("addition", 40, 60, box=(5, 10, 15, 30))
    assert out.sum() == 10 * 20 and out[0, 10, 5] == 1 and out[0, 30, 5] == 0


def test_removal_grows_the_mask_by_the_radius():
    out = mask_for_plan("remove", 40, 60, mask=_blob(), grow_remove_px=3)
    assert out[0, 20, 17] == 1 and out[0, 20, 16] == 0  # grown 3 px to the left, not 4
    assert out[0, 12, 25] == 1 and out[0, 11, 25] == 0


def test_local_keeps_the_mask_by_default():
    assert torch.equal(mask_for_plan("local", 40, 60, mask=_blob()), _blob())


def test_background_inverts_the_subject():
    out = mask_for_plan("background", 40, 60, mask=_blob())
    assert out[0, 20, 25] == 0 and out[0, 0, 0] == 1


def test_missing_mask_names_the_fix():
    with pytest.raises(ValueError, match="needs a mask of 'dog'.*BrushEditTextMask"):
        mask_for_plan("remove", 40, 60, object_phrase="dog")


def test_empty_detection_is_a_clear_error():
    with pytest.raises(ValueError, match="mask for 'cat' is empty"):
        mask_for_plan("local", 40, 60, mask=torch.zeros(1, 40, 60), object_phrase="cat")


def test_mask_of_other_resolution_same_aspect_is_resized():
    # like example_4: image 1150x690, mask 853x512
    small = torch.zeros(512, 853)
    small[100:200, 300:500] = 1.0
    out = fit_mask(small.unsqueeze(0), 690, 1150)
    assert out.shape == (1, 690, 1150) and out[0, 200, 550] > 0.5 and out[0, 10, 10] == 0


def test_mask_of_other_resolution_is_resized_through_the_plan_with_a_notice(caplog):
    small = torch.zeros(1, 20, 30)
    small[:, 5:10, 5:10] = 1.0
    with caplog.at_level(logging.WARNING):
        out = mask_for_plan("local", 40, 60, mask=small)
    assert torch.equal(out, fit_mask(small, 40, 60)) and out.shape == (1, 40, 60)
    assert "resizing the mask" in caplog.text


@pytest.mark.parametrize("category", ["remove", "local", "background", "addition"])
def test_mask_of_other_aspect_is_rejected_naming_both_sizes_and_the_fix(category):
    with pytest.raises(MaskSizeError, match=r"mask is 100x100 .* must cover 200x100 .*different aspect ratios.*"
                                            r"make it from this image"):
        mask_for_plan(category, 100, 200, mask=torch.ones(1, 100, 100))


def test_grow_zero_is_identity():
    assert torch.equal(mask_for_plan("local", 40, 60, mask=_blob(), grow_local_px=0), _blob())


def test_box_outside_image_is_rejected():
    with pytest.raises(ValueError, match="does not overlap"):
        box_mask(10, 10, (20, 20, 30, 30))


def test_one_pixel_grown_by_20_is_growmasks_diamond():
    dot = torch.zeros(1, 61, 61)
    dot[0, 30, 30] = 1.0
    out = mask_for_plan("remove", 61, 61, mask=dot, grow_remove_px=20)
    assert int(out.sum()) == 2 * 20 * 21 + 1 == 841  # the octagon of earlier versions gave 1461
    assert torch.equal(out, _comfy_grow(dot, 20))


@pytest.mark.parametrize("category,px", [("remove", 20), ("remove", 7), ("local", 3), ("local", 0)])
def test_plan_grow_is_comfyui_growmask_pixel_for_pixel(category, px):
    gen = torch.Generator().manual_seed(px)
    mask = torch.rand(1, 37, 53, generator=gen) * (torch.rand(1, 37, 53, generator=gen) > 0.9)
    mask[0, 0, :5] = 1.0  # touches the border
    key = "grow_remove_px" if category == "remove" else "grow_local_px"
    out = mask_for_plan(category, 37, 53, mask=mask, **{key: px})
    assert torch.equal(out, _comfy_grow(mask, px))
    assert torch.equal(out, grow_mask(mask, px))


def test_grow_keeps_soft_values_inside():
    soft = torch.full((1, 8, 8), 0.3)
    assert torch.allclose(mask_for_plan("local", 8, 8, mask=soft, grow_local_px=2), soft)
