"""Plan -> mask category logic (pure torch)."""
from __future__ import annotations

import pytest
import torch

from brushnet_core.planner.plan_mask import box_mask, fit_mask, grow, mask_for_plan


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


def test_mask_of_other_aspect_is_rejected():
    with pytest.raises(ValueError, match="different aspect ratios"):
        fit_mask(torch.ones(1, 100, 100), 100, 200)


def test_grow_zero_is_identity():
    assert torch.equal(grow(_blob(), 0), _blob())


def test_box_outside_image_is_rejected():
    with pytest.raises(ValueError, match="does not overlap"):
        box_mask(10, 10, (20, 20, 30, 30))


def test_grow_is_near_round_not_square():
    dot = torch.zeros(1, 41, 41)
    dot[0, 20, 20] = 1.0
    out = grow(dot, 10)
    assert out[0, 20, 10] == 1 and out[0, 20, 9] == 0  # reaches r along the axis
    assert out[0, 10, 10] == 0  # the square's corner (distance 14) stays out
    assert out[0, 13, 13] == 1  # distance ~9.9 is in


def test_grow_keeps_soft_values_inside():
    soft = torch.full((1, 8, 8), 0.3)
    assert torch.allclose(grow(soft, 2), soft)
