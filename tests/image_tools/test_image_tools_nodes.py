"""The image-tool nodes run through the real ComfyUI host, on the example photos."""
from __future__ import annotations

import pytest
import torch

from _harness import PromptFailed, pack_module

NODE_IDS = ["BlendInpaint", "CutForInpaint", "BrushEditMaskAdjust", "BrushEditColorMatch"]


def _node_class(node_id: str):
    import nodes

    return nodes.NODE_CLASS_MAPPINGS[node_id]


def test_blend_inpaint_keeps_the_earlier_interface() -> None:
    cls = _node_class("BlendInpaint")
    types = cls.INPUT_TYPES()
    assert list(types["required"]) == ["inpaint", "original", "mask", "kernel", "sigma"]
    assert types["required"]["kernel"][1]["default"] == 10
    assert types["required"]["sigma"][1]["default"] == 10.0
    assert list(types["optional"])[0] == "origin" and types["optional"]["origin"][0] == "VECTOR"
    assert list(types["optional"]) == ["origin", "color_match"]  # new inputs only after the old ones
    assert types["optional"]["color_match"][1]["default"] == 0.0  # off: the earlier behaviour
    assert tuple(cls.RETURN_TYPES) == ("IMAGE", "MASK")
    assert tuple(cls.RETURN_NAMES) == ("image", "MASK")


def test_cut_for_inpaint_keeps_the_earlier_interface() -> None:
    cls = _node_class("CutForInpaint")
    types = cls.INPUT_TYPES()
    assert list(types["required"]) == ["image", "mask", "width", "height"]
    assert types["required"]["width"][1]["default"] == 512
    assert types["required"]["height"][1]["default"] == 512
    assert list(types.get("optional", {})) == ["padding"]
    assert tuple(cls.RETURN_TYPES) == ("IMAGE", "MASK", "VECTOR")
    assert tuple(cls.RETURN_NAMES) == ("image", "mask", "origin")


@pytest.mark.parametrize("node_id", NODE_IDS)
def test_every_input_and_output_has_a_tooltip(node_id: str) -> None:
    schema = pack_module("nodes.image_tools").__dict__[node_id].define_schema()
    assert schema.description
    assert all(i.tooltip for i in schema.inputs), [i.id for i in schema.inputs if not i.tooltip]
    assert all(o.tooltip for o in schema.outputs)


def test_cut_and_blend_round_trip_on_every_example(graph, input_examples) -> None:
    checks = []
    for image_name, mask_name in input_examples:
        image, mask = graph.load(image_name, mask_name)
        cut = graph.add("CutForInpaint", image=image, mask=mask, width=512, height=512)
        blend = graph.add("BlendInpaint", inpaint=[cut, 0], original=image, mask=[cut, 1],
                          kernel=21, sigma=3.5, origin=[cut, 2])
        checks.append((image[0], cut, blend))
    run = graph.run(*[(blend, 0) for _, _, blend in checks], *[(blend, 1) for _, _, blend in checks])
    for load, cut, blend in checks:
        original = run.outputs(load)[0]
        out, soft = run.outputs(blend)
        crop_image, crop_mask, origin = run.outputs(cut)
        assert crop_image.shape[1:3] == crop_mask.shape[1:] and origin.shape == (1, 8)
        assert out.shape == original.shape and soft.shape == original.shape[:3]
        assert torch.equal(out[soft == 0], original[soft == 0])
        assert (out - original).abs().mean() < 0.01  # an identity inpaint changes next to nothing


def test_blend_resizes_the_853x512_mask_to_the_1150x690_photo(graph, input_examples) -> None:
    image, mask = graph.load("example_4.jpeg", "example_4_mask.jpg")
    inpaint = graph.add("ImageInvert", image=image)
    blend = graph.add("BlendInpaint", inpaint=[inpaint, 0], original=image, mask=mask,
                      kernel=10, sigma=10.0)
    run = graph.run((blend, 0))
    original, inverted = run.outputs(image[0])[0], run.outputs(inpaint)[0]
    out, soft = run.outputs(blend)
    assert out.shape == (1, 690, 1150, 3) and soft.shape == (1, 690, 1150)
    assert torch.equal(out[soft == 0], original[soft == 0])
    assert torch.equal(out[soft == 1], inverted[soft == 1])
    assert (soft == 1).sum() > 100_000


@pytest.mark.parametrize("example", [0, 3, 5])
def test_mask_adjust_runs_on_the_examples(graph, input_examples, example: int) -> None:
    _, mask = graph.load(*input_examples[example])
    adjust = graph.add("BrushEditMaskAdjust", mask=mask, threshold=0.5, fill_holes=True, grow=-3,
                       tapered_corners=True, to_bbox=True, bbox_padding=8, invert=True, feather=4)
    run = graph.run((adjust, 0))
    src, out = run.outputs(mask[0])[0], run.outputs(adjust)[0]
    assert out.shape == src.shape and 0 <= out.min() and out.max() <= 1
    assert out[0, 0, 0] > 0.999 and out[0, src.shape[1] // 2, src.shape[2] // 2] < 1e-3


def _adjust(graph, mask: list, **changes) -> str:
    settings = dict(threshold=0.0, fill_holes=False, grow=0, tapered_corners=True, to_bbox=False,
                    bbox_padding=0, invert=False, feather=0)
    settings.update(changes)
    return graph.add("BrushEditMaskAdjust", mask=mask, **settings)


@pytest.mark.parametrize("expand", [6, -4])
@pytest.mark.parametrize("tapered", [True, False])
def test_grow_matches_comfyui_growmask(graph, input_examples, expand: int, tapered: bool) -> None:
    _, mask = graph.load("example_4.jpeg", "example_4_mask.jpg")
    ours = _adjust(graph, mask, grow=expand, tapered_corners=tapered)
    theirs = graph.add("GrowMask", mask=mask, expand=expand, tapered_corners=tapered)
    run = graph.run((ours, 0), (theirs, 0))
    assert torch.equal(run.outputs(ours)[0], run.outputs(theirs)[0])


def test_invert_matches_comfyui_invertmask(graph, input_examples) -> None:
    _, mask = graph.load("example_2.jpg", "example_2_mask.jpg")
    ours = _adjust(graph, mask, invert=True)
    theirs = graph.add("InvertMask", mask=mask)
    run = graph.run((ours, 0), (theirs, 0))
    assert torch.equal(run.outputs(ours)[0], run.outputs(theirs)[0])


def test_threshold_matches_comfyui_thresholdmask(graph, input_examples) -> None:
    _, mask = graph.load("example_2.jpg", "example_2_mask.jpg")
    ours = _adjust(graph, mask, threshold=0.3)
    theirs = graph.add("ThresholdMask", mask=mask, value=0.3)
    run = graph.run((ours, 0), (theirs, 0))
    assert torch.equal(run.outputs(ours)[0], run.outputs(theirs)[0])


def test_feather_matches_comfyui_gaussian_imageblur(graph, input_examples) -> None:
    _, mask = graph.load("example_3.jpg", "example_3_mask.jpg")
    ours = _adjust(graph, mask, feather=4)
    as_image = graph.add("MaskToImage", mask=mask)
    blurred = graph.add("ImageBlur", image=[as_image, 0], blur_radius=4, sigma=1.0 / 3.0)
    theirs = graph.add("ImageToMask", image=[blurred, 0], channel="red")
    run = graph.run((ours, 0), (theirs, 0))
    torch.testing.assert_close(run.outputs(ours)[0], run.outputs(theirs)[0], atol=1e-5, rtol=0)


def test_sigma_zero_is_rejected_by_validation(graph, input_examples) -> None:
    image, mask = graph.load("example_1.jpg", "example_1_mask.jpg")
    blend = graph.add("BlendInpaint", inpaint=image, original=image, mask=mask, kernel=10, sigma=0.0)
    with pytest.raises(PromptFailed, match="sigma"):
        graph.run((blend, 0))


def test_origin_from_another_image_is_a_clear_error(graph, input_examples) -> None:
    image, mask = graph.load("example_4.jpeg", "example_4_mask.jpg")
    other, _ = graph.load("example_3.jpg", "example_3_mask.jpg")
    cut = graph.add("CutForInpaint", image=image, mask=mask, width=512, height=512)
    blend = graph.add("BlendInpaint", inpaint=[cut, 0], original=other, mask=[cut, 1], kernel=10,
                      sigma=10.0, origin=[cut, 2])
    with pytest.raises(PromptFailed, match="origin was made for a 1150x690 image but original "
                                           "is 512x512"):
        graph.run((blend, 0))


def test_batch_mismatch_is_a_clear_error(graph, input_examples) -> None:
    image, mask = graph.load("example_3.jpg", "example_3_mask.jpg")
    three = graph.add("RepeatImageBatch", image=image, amount=3)
    two = graph.add("RepeatImageBatch", image=image, amount=2)
    blend = graph.add("BlendInpaint", inpaint=[three, 0], original=[two, 0], mask=mask,
                      kernel=10, sigma=10.0)
    with pytest.raises(PromptFailed, match="batch size mismatch: original has 2 items but 3"):
        graph.run((blend, 0))


def test_batch_of_inpaints_shares_one_original(graph, input_examples) -> None:
    image, mask = graph.load("example_3.jpg", "example_3_mask.jpg")
    inverted = graph.add("ImageInvert", image=image)
    batch = graph.add("RepeatImageBatch", image=[inverted, 0], amount=3)
    blend = graph.add("BlendInpaint", inpaint=[batch, 0], original=image, mask=mask, kernel=10,
                      sigma=10.0)
    run = graph.run((blend, 0))
    out, soft = run.outputs(blend)
    assert out.shape[0] == 3 and torch.equal(out[0], out[2]) and soft.shape[0] == 3
