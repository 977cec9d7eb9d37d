"""Both models' inputs against the ORIGINAL 8-bit Pillow resize (issue 17, item 3): GroundingDINO's
``RandomResize([800], max_size=1333)`` on the PIL image, SAM's ``ResizeLongestSide.apply_image``;
SAM 2 keeps its own float resize."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from brushnet_core.text_mask import DinoBundle, SamBundle
from brushnet_core.text_mask.detect import preprocess as dino_preprocess
from brushnet_core.text_mask.segment import preprocess as sam_preprocess
from tm_ref import CPU, IMAGENET_MEAN, IMAGENET_STD, pil_resize, u8_image

pytestmark = pytest.mark.core  # pure core: runs without booting ComfyUI


def test_grounding_dino_input_is_the_originals_pil_resize(tiny_gdino, tiny_tokenizer):
    """load_image: RandomResize([800], max_size=1333) on the PIL image, ToTensor, Normalize."""
    u8, image = u8_image(203, 341)
    bundle = DinoBundle(model=tiny_gdino, tokenizer=tiny_tokenizer, short_side=120, max_side=180)
    # get_size_with_aspect_ratio: short side 120, long side would be 201 > 180 -> size round(180*203/341) = 107
    size = (107, int(107 * 341 / 203))
    want = (pil_resize(u8, size).permute(2, 0, 1).float().div(255) - torch.tensor(IMAGENET_MEAN)[:, None, None]) \
        / torch.tensor(IMAGENET_STD)[:, None, None]
    got = dino_preprocess(bundle, image, CPU, torch.float32)
    assert got.shape == (1, 3, *size) and torch.equal(got[0], want)
    floaty = dino_preprocess(bundle, image, CPU, torch.float32, resize="float")
    assert 1e-3 < (floaty - got).abs().max() * 0.229 < 0.05  # the earlier float path: up to a few 8-bit steps off


def test_sam_input_is_the_originals_pil_resize_then_pixel_mean_std(tiny_sam):
    """ResizeLongestSide.apply_image (PIL) then (x - pixel_mean) / pixel_std and zero padding."""
    u8, image = u8_image(150, 220, seed=1)
    bundle = SamBundle(model=tiny_sam, kind="sam", image_size=256)
    h, w = int(150 * 256 / 220 + 0.5), 256
    x = pil_resize(u8, (h, w)).permute(2, 0, 1).float()
    pixel_mean, pixel_std = torch.tensor([123.675, 116.28, 103.53]), torch.tensor([58.395, 57.12, 57.375])
    x = (x - pixel_mean[:, None, None]) / pixel_std[:, None, None]
    want = F.pad(x, (0, 256 - w, 0, 256 - h))
    got = sam_preprocess(bundle, image, CPU, torch.float32)
    assert torch.allclose(got[0], want, rtol=0, atol=2e-6)  # mean*255 in float32 vs the literal: last-bit noise
    bundle.resize = "float"
    assert (sam_preprocess(bundle, image, CPU, torch.float32) - got).abs().max() > 1e-2


def test_sam2_keeps_its_float_resize(tiny_sam):
    """SAM 2's SAM2Transforms resize the float tensor (antialiased bilinear) to a square."""
    _, image = u8_image(150, 220, seed=2)
    bundle = SamBundle(model=tiny_sam, kind="sam2", image_size=256)
    assert not bundle.resizes_uint8
    x = F.interpolate(image.permute(2, 0, 1)[None], size=(256, 256), mode="bilinear", align_corners=False,
                      antialias=True)
    want = (x - torch.tensor(IMAGENET_MEAN)[:, None, None]) / torch.tensor(IMAGENET_STD)[:, None, None]
    assert torch.allclose(sam_preprocess(bundle, image, CPU, torch.float32), want, rtol=0, atol=1e-6)
