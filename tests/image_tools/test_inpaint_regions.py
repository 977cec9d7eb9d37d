"""Crops at native size (small regions up, large down), outpaint canvas, many regions in one batch
stitched back into one image, and the bad inputs of each."""
from __future__ import annotations

import time

import pytest
import torch

from _harness import PromptFailed, pack_module


def _regions():
    return pack_module("brushnet_core.image.regions")


def _image(h: int, w: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(1, h, w, 3, generator=torch.Generator().manual_seed(seed))


def _smooth(h: int, w: int) -> torch.Tensor:
    ys, xs = torch.linspace(0, 1, h).view(h, 1, 1), torch.linspace(0, 1, w).view(1, w, 1)
    return torch.cat([ys.expand(h, w, 1), xs.expand(h, w, 1), (0.5 * (xs + ys)).expand(h, w, 1)], -1)[None]


def _mask(h: int, w: int, *boxes: tuple[int, int, int, int]) -> torch.Tensor:
    m = torch.zeros(1, h, w)
    for x0, y0, x1, y1 in boxes:
        m[0, y0:y1, x0:x1] = 1.0
    return m


def _holds(row: list[int], box: tuple[int, int, int, int]) -> bool:
    x, y, w, h = row[:4]
    return x <= box[0] and y <= box[1] and x + w >= box[2] and y + h >= box[3]


def test_small_region_is_scaled_up_to_the_native_size() -> None:
    regions = _regions()
    face = (900, 500, 940, 550)  # 40x50 px in a 1600x1200 photo
    crops = regions.crop_regions(_image(1200, 1600), _mask(1200, 1600, face), 512, 512, context=1.5, max_upscale=8)
    assert crops.images.shape == (1, 512, 512, 3) and crops.masks.shape == (1, 512, 512)
    row = crops.origin[0].tolist()
    assert _holds(row, face) and row[4:] == [1600, 1200, 512, 512]
    assert row[2] == row[3] == 75  # 50 px * context 1.5: magnified 6.8x
    assert crops.masks[0].sum() > 0.5 * (512 / 75) ** 2 * 40 * 50


def test_max_upscale_takes_more_context_instead() -> None:
    crops = _regions().crop_regions(_image(600, 800), _mask(600, 800, (400, 300, 402, 301)), 512, 512,
                                    max_upscale=4.0)
    assert crops.origin[0, 2] == 128  # 512 / 4


def test_large_region_is_scaled_down_and_sizes_are_multiples() -> None:
    region = (100, 50, 1100, 650)
    crops = _regions().crop_regions(_image(700, 1200), _mask(700, 1200, region), 500, 300, multiple=64)
    assert crops.images.shape[1:3] == (320, 512)  # 500x300 rounded up to multiples of 64
    row = crops.origin[0].tolist()
    assert _holds(row, region) and row[2] > 512


def test_region_at_the_border_keeps_the_box_inside_the_image() -> None:
    crops = _regions().crop_regions(_image(300, 400), _mask(300, 400, (0, 0, 10, 300)), 256, 256)
    x, y, w, h = crops.origin[0, :4].tolist()
    assert (x, y, w, h) == (0, 0, 300, 300)


def test_region_larger_than_the_canvas_allows_is_padded_not_distorted() -> None:
    image, mask = _smooth(100, 400), _mask(100, 400, (20, 10, 380, 90))
    crops = _regions().crop_regions(image, mask, 256, 256)
    x, y, w, h = crops.origin[0, :4].tolist()
    assert w == h == 360 and y < 0 and y + h > 100  # sticks out above and below, evenly
    blend = pack_module("brushnet_core.image.blend")
    out, soft = blend.blend_inpaint(crops.images, image, crops.masks, kernel=5, sigma=2.0, origin=crops.origin)
    assert torch.equal(out[0][soft[0] == 0], image[0][soft[0] == 0])
    assert (out - image).abs().max() < 0.02  # the crop of the image itself comes back (resampled)


def test_crop_then_blend_inpaint_pastes_back_exactly() -> None:
    image = _smooth(480, 640)
    mask = _mask(480, 640, (300, 200, 330, 240))
    crops = _regions().crop_regions(image, mask, 256, 256)
    inverted = 1.0 - crops.images
    out, soft = pack_module("brushnet_core.image.blend").blend_inpaint(inverted, image, crops.masks, kernel=7, sigma=3.0,
                                                                 origin=crops.origin)
    assert torch.equal(out[0][soft[0] == 0], image[0][soft[0] == 0])
    inside = out[0, 205:235, 305:325]
    torch.testing.assert_close(inside, 1.0 - image[0, 205:235, 305:325], atol=0.02, rtol=0)


def test_outpaint_extends_the_canvas_with_a_masked_margin() -> None:
    image = _image(100, 120)
    crops = _regions().crop_regions(image, torch.zeros(1, 100, 120), 128, 128, extend=(16, 0, 40, 8))
    assert crops.canvas.shape == (1, 108, 176, 3)
    assert torch.equal(crops.canvas[0, :100, 16:136], image[0])
    cm = crops.canvas_mask[0]
    assert cm[:, :16].eq(1).all() and cm[:, 136:].eq(1).all() and cm[100:].eq(1).all() and cm[:100, 16:136].eq(0).all()
    stitched, _ = pack_module("brushnet_core.image.blend").stitch_inpaint(crops.images, crops.canvas, crops.masks,
                                                                    crops.origin, kernel=1, sigma=1.0)
    assert stitched.shape == crops.canvas.shape


def test_each_region_gets_its_own_crop_and_the_stitch_pastes_them_all() -> None:
    image = _image(400, 600)
    boxes = [(50, 40, 90, 80), (400, 60, 430, 100), (100, 300, 160, 340), (108, 305, 170, 350)]  # last two overlap
    mask = _mask(400, 600, *boxes)
    regions = _regions()
    crops = regions.crop_regions(image, mask, 128, 128, mode="each", merge_distance=0)
    assert crops.images.shape == (3, 128, 128, 3) and crops.origin.shape == (3, 8)
    assert _holds(crops.origin[2].tolist(), (100, 300, 170, 350))  # the overlapping pair is one region
    blend = pack_module("brushnet_core.image.blend")
    out, soft = blend.stitch_inpaint(1.0 - crops.images, crops.canvas, crops.masks, crops.origin, kernel=5, sigma=2.0)
    assert out.shape == image.shape and soft.shape == (1, 400, 600)
    assert torch.equal(out[0][soft[0] == 0], image[0][soft[0] == 0])
    for x0, y0, x1, y1 in boxes:
        centre = out[0, (y0 + y1) // 2, (x0 + x1) // 2]
        assert (centre - (1.0 - image[0, (y0 + y1) // 2, (x0 + x1) // 2])).abs().max() < 0.4


def test_close_regions_merge_by_distance_and_masks_per_object_are_united() -> None:
    regions = _regions()
    image = _image(200, 300)
    objects = torch.cat([_mask(200, 300, (20, 20, 40, 40)), _mask(200, 300, (50, 20, 70, 40)),
                         _mask(200, 300, (200, 150, 220, 170))])  # Text to Mask: one mask per object
    assert regions.crop_regions(image, objects, 64, 64, mode="each", merge_distance=5).origin.shape[0] == 3
    assert regions.crop_regions(image, objects, 64, 64, mode="each", merge_distance=12).origin.shape[0] == 2
    assert regions.crop_regions(image, objects, 64, 64, mode="one").origin.shape[0] == 1


def test_hundred_regions_are_merged_to_max_regions_and_timed() -> None:
    regions = _regions()
    blend = pack_module("brushnet_core.image.blend")
    image = _image(1000, 1000)
    mask = torch.zeros(1, 1000, 1000)
    mask[0, 45::100, 45::100] = 1.0  # 100 separate 1-pixel regions
    t0 = time.perf_counter()
    crops = regions.crop_regions(image, mask, 128, 128, mode="each", merge_distance=0, max_regions=256)
    t1 = time.perf_counter()
    out, _ = blend.stitch_inpaint(crops.images, crops.canvas, crops.masks, crops.origin, kernel=5, sigma=2.0)
    t2 = time.perf_counter()
    assert crops.origin.shape[0] == 100 and out.shape == image.shape
    print(f"\n[regions] 100 regions on 1000x1000: split+crop {t1 - t0:.2f} s, stitch {t2 - t1:.2f} s")
    merged = regions.crop_regions(image, mask, 128, 128, mode="each", merge_distance=0, max_regions=16)
    assert 1 <= merged.origin.shape[0] <= 16
    assert (merged.canvas_mask > 0).sum() == 100


def test_edge_masks_give_sensible_crops() -> None:
    regions = _regions()
    image = _image(120, 160)
    empty = regions.crop_regions(image, torch.zeros(1, 120, 160), 64, 64, mode="each")
    assert empty.images.shape == (1, 64, 64, 3) and empty.masks.sum() == 0
    full = regions.crop_regions(image, torch.ones(1, 120, 160), 64, 64, mode="each")
    assert full.origin.shape[0] == 1 and _holds(full.origin[0].tolist(), (0, 0, 160, 120))
    one_px = regions.crop_regions(image, _mask(120, 160, (159, 119, 160, 120)), 64, 64)
    assert one_px.masks.sum() > 0 and one_px.origin[0, 0] + one_px.origin[0, 2] == 160


def test_bad_inputs_are_clear_errors() -> None:
    regions = _regions()
    with pytest.raises(ValueError, match="mode 'each' splits the regions of one image"):
        regions.crop_regions(_image(64, 64).expand(2, -1, -1, -1), torch.ones(2, 64, 64), 64, 64, mode="each")
    with pytest.raises(ValueError, match="image batch has 2 images but the mask batch has 3 masks"):
        regions.crop_regions(_image(64, 64).expand(2, -1, -1, -1), torch.ones(3, 64, 64), 64, 64)
    with pytest.raises(ValueError, match="mask is 40x64 .* resize or crop both alike"):
        regions.crop_regions(_image(64, 64), torch.ones(1, 64, 40), 64, 64)
    with pytest.raises(ValueError, match="context must be >= 1"):
        regions.crop_regions(_image(64, 64), torch.ones(1, 64, 64), 64, 64, context=0.5)
    blend = pack_module("brushnet_core.image.blend")
    crops = regions.crop_regions(_image(64, 64), _mask(64, 64, (10, 10, 20, 20)), 64, 64)
    with pytest.raises(ValueError, match="origin was made for a 64x64 image but original is 32x32"):
        blend.stitch_inpaint(crops.images, _image(32, 32), crops.masks, crops.origin)
    with pytest.raises(ValueError, match="original batch has 3 images for 1 crops"):
        blend.stitch_inpaint(crops.images, _image(64, 64).expand(3, -1, -1, -1), crops.masks, crops.origin)


def test_crop_and_stitch_nodes_on_an_example_photo(graph, input_examples) -> None:
    image, mask = graph.load("example_4.jpeg", "example_4_mask.jpg")
    dots = graph.add("SolidMask", value=0.0, width=1150, height=690)
    a = graph.add("SolidMask", value=1.0, width=24, height=24)
    b = graph.add("SolidMask", value=1.0, width=40, height=30)
    two = graph.add("MaskComposite", destination=[dots, 0], source=[a, 0], x=100, y=80, operation="add")
    three = graph.add("MaskComposite", destination=[two, 0], source=[b, 0], x=1000, y=600, operation="add")
    crop = graph.add("BrushEditCrop", image=image, mask=[three, 0], width=256, height=256, mode="each", context=1.5,
                     max_upscale=8.0, multiple=8, merge_distance=32, max_regions=16, extend_left=0, extend_top=0,
                     extend_right=0, extend_bottom=0)
    inverted = graph.add("ImageInvert", image=[crop, 0])
    stitch = graph.add("BrushEditStitch", inpaint=[inverted, 0], canvas=[crop, 3], mask=[crop, 1], origin=[crop, 2],
                       kernel=5, sigma=2.0, color_match=0.0)
    run = graph.run((stitch, 0), (crop, 5))
    images, masks, origin, canvas, canvas_mask, count = run.outputs(crop)
    out, soft = run.outputs(stitch)
    original = run.outputs(image[0])[0]
    assert count == 2 and images.shape == (2, 256, 256, 3) and torch.equal(canvas, original)
    assert out.shape == original.shape and torch.equal(out[0][soft[0] == 0], original[0][soft[0] == 0])
    assert (out[0, 92, 112] - (1 - original[0, 92, 112])).abs().max() < 0.2


def test_crop_node_rejects_bad_input_through_the_host(graph, input_examples) -> None:
    image, mask = graph.load("example_1.jpg", "example_1_mask.jpg")
    batch = graph.add("RepeatImageBatch", image=image, amount=2)
    crop = graph.add("BrushEditCrop", image=[batch, 0], mask=mask, width=256, height=256, mode="each", context=1.5,
                     max_upscale=4.0, multiple=8, merge_distance=32, max_regions=16, extend_left=0, extend_top=0,
                     extend_right=0, extend_bottom=0)
    with pytest.raises(PromptFailed, match="mode 'each' splits the regions of one image"):
        graph.run((crop, 0))


@pytest.mark.parametrize("node_id", ["BrushEditCrop", "BrushEditStitch", "BrushEditPrefill",
                                     "BrushEditInpaintModelLoader"])
def test_new_nodes_have_tooltips_and_prefixed_ids(node_id: str) -> None:
    module = pack_module("nodes.regions" if "Crop" in node_id or "Stitch" in node_id else "nodes.prefill")
    schema = getattr(module, node_id).define_schema()
    assert schema.node_id.startswith("BrushEdit") and schema.category.startswith("BrushEdit/")
    assert schema.description
    assert all(i.tooltip for i in schema.inputs), [i.id for i in schema.inputs if not i.tooltip]
    assert all(o.tooltip for o in schema.outputs)
