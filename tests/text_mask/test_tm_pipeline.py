"""Text -> mask core: phrases, caption tokens, thresholds, NMS, modes, empty detections, embedding cache."""
from __future__ import annotations

import logging

import pytest
import torch

import tm_tiny
from brushnet_core.text_mask import DinoBundle, SamBundle, split_phrases, text_to_masks
from brushnet_core.text_mask.detect import Caption, DetectOptions, detect, encode_caption, nms, postprocess
from brushnet_core.text_mask.loading import load_tokenizer

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vocab")
    tm_tiny.write_vocab(str(folder))
    return load_tokenizer(str(folder))


@pytest.fixture
def bundles(tiny_gdino, tiny_sam, tokenizer):
    dino = DinoBundle(model=tiny_gdino, tokenizer=tokenizer, short_side=128, max_side=256)
    return dino, SamBundle(model=tiny_sam, kind="sam", image_size=256)


def _images(n=1, seed=0, h=72, w=96):
    return torch.rand((n, h, w, 3), generator=torch.Generator().manual_seed(seed))


def _run(bundles, images, prompt="dog", box=0.0, text=0.0, mode="union"):
    dino, sam = bundles
    return text_to_masks(dino, sam, images, prompt, box, text, mode, CPU, CPU)


def test_phrases_are_lower_case_split_and_deduplicated():
    assert split_phrases("Dog, Cat. dog\n the  Red car .") == ["dog", "cat", "the red car"]


def test_caption_ends_each_phrase_with_a_period_token(tokenizer):
    ids, spans = encode_caption(tokenizer, ["dog", "red car"])
    assert ids.tolist() == [[101, 1013, 1012, 1019, 1018, 1012, 102]]
    assert spans == [(1, 2), (3, 5)]


def _caption():
    # "[CLS] dog . cat . [SEP]" padded to 8 positions, as GroundingDINO's logits are
    return Caption("dog . cat .", [101, 1013, 1012, 1014, 1012, 102], [(1, 2), (3, 4)], ["dog", "cat"])


def _decode(ids):
    return " ".join({1013: "dog", 1014: "cat", 1012: ".", 102: "[SEP]"}[i] for i in ids)


def test_postprocess_box_threshold_decides_boxes_and_text_threshold_only_labels():
    logits = torch.full((4, 8), -10.0)
    logits[0, 1] = 2.0   # sure "dog"
    logits[1, 3] = 0.0   # p=0.5 on "cat"
    logits[2, 3] = -1.5  # p=0.18: below the box threshold
    logits[3, 4], logits[3, 3] = 1.0, -5.0  # p=0.73 on the "." after cat: a box without a phrase token above 0.25
    boxes = torch.tensor([[0.5, 0.5, 0.2, 0.2], [0.2, 0.2, 0.1, 0.1], [0.8, 0.8, 0.1, 0.1], [0.9, 0.5, 0.4, 1.2]])
    dets = postprocess(logits, boxes, _caption(), (100, 200), 0.3, 0.25, decode=_decode)
    assert [(d.phrase, d.best_phrase) for d in dets] == [("dog", "dog"), ("cat", "cat"), ("", "cat")]
    assert dets[0].box == pytest.approx((80.0, 40.0, 120.0, 60.0))
    assert dets[1].box == pytest.approx((30.0, 15.0, 50.0, 25.0))
    assert dets[2].box == pytest.approx((140.0, -10.0, 220.0, 110.0))  # crosses the border: passed on as is
    strict = postprocess(logits, boxes, _caption(), (100, 200), 0.3, 0.6, decode=_decode)
    assert [d.phrase for d in strict] == ["dog", "", ""]  # same boxes, labels only where a token is above 0.6
    # the earlier behaviour, as an option: the text threshold also drops boxes
    drop = postprocess(logits, boxes, _caption(), (100, 200), 0.3, 0.6, DetectOptions(text_threshold_drops_boxes=True),
                       decode=_decode)
    assert [d.phrase for d in drop] == ["dog"]
    clamped = postprocess(logits, boxes, _caption(), (100, 200), 0.3, 0.25, DetectOptions(clamp_boxes=True),
                          decode=_decode)
    assert clamped[2].box == pytest.approx((140.0, 0.0, 200.0, 100.0))


def test_postprocess_nms_and_cap_are_options_and_keep_query_order():
    logits = torch.full((4, 8), -10.0)
    logits[:, 1] = torch.tensor([0.0, 2.0, 1.0, 3.0])
    boxes = torch.tensor([[0.5, 0.5, 0.2, 0.2], [0.5, 0.5, 0.21, 0.2], [0.2, 0.2, 0.1, 0.1], [0.8, 0.8, 0.1, 0.1]])
    every = postprocess(logits, boxes, _caption(), (100, 100), 0.3, 0.25, decode=_decode)
    assert len(every) == 4 and [round(d.score, 3) for d in every] == [0.5, 0.881, 0.731, 0.953]
    nmsd = postprocess(logits, boxes, _caption(), (100, 100), 0.3, 0.25, DetectOptions(nms_iou=0.8), decode=_decode)
    assert [round(d.score, 3) for d in nmsd] == [0.881, 0.731, 0.953]  # the weaker duplicate went
    capped = postprocess(logits, boxes, _caption(), (100, 100), 0.3, 0.25, DetectOptions(max_objects=2), decode=_decode)
    assert [round(d.score, 3) for d in capped] == [0.881, 0.953]


def test_nms_drops_a_near_duplicate_box_only():
    boxes = torch.tensor([[0.0, 0, 10, 10], [0.5, 0, 10, 10], [20, 20, 30, 30]])
    assert nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.8).tolist() == [0, 2]


def test_union_mask_has_one_mask_per_image_at_image_size(bundles):
    masks, info = _run(bundles, _images(2))
    assert masks.shape == (2, 72, 96) and masks.dtype == torch.float32
    assert len(info["images"][0]["detections"]) >= 1 and "warning" not in info
    assert set(masks.unique().tolist()) <= {0.0, 1.0}


def test_one_mask_per_object_unions_to_the_union_mode(bundles):
    images = _images(1, seed=2)
    union, _ = _run(bundles, images)
    per, info = _run(bundles, images, mode="one mask per object")
    assert per.shape[0] == len(info["images"][0]["detections"]) == len(info["images"][0]["masks"])
    assert torch.equal(per.amax(dim=0), union[0])


def test_largest_mode_keeps_the_biggest_object(bundles):
    images = _images(1, seed=2)
    per, _ = _run(bundles, images, mode="one mask per object")
    largest, _ = _run(bundles, images, mode="largest")
    assert largest.sum() == per.flatten(1).sum(dim=1).max()


def test_nothing_found_gives_zero_masks_for_every_image_and_a_warning(bundles, caplog):
    with caplog.at_level(logging.WARNING):
        masks, info = _run(bundles, _images(3), box=1.0, mode="one mask per object")
    assert masks.shape == (3, 72, 96) and masks.sum() == 0
    assert "No object matching" in info["warning"] and "No object matching" in caplog.text
    assert [e["masks"] for e in info["images"]] == [[0], [1], [2]]


def test_image_encoders_run_once_per_distinct_image_across_prompts(bundles):
    """SAM's image encoder and GroundingDINO's Swin backbone do not read the text."""
    dino, sam = bundles
    same = _images(1, seed=4).repeat(2, 1, 1, 1)
    _run(bundles, same, "dog")
    _run(bundles, same, "cat, red car")
    assert (sam.encoder_calls, dino.backbone_calls, dino.model_calls) == (1, 1, 2)
    _run(bundles, _images(1, seed=5), "dog")
    assert (sam.encoder_calls, dino.backbone_calls) == (2, 2)


def test_cached_embeddings_give_the_same_mask(bundles):
    images = _images(1, seed=6)
    first, _ = _run(bundles, images)
    second, _ = _run(bundles, images)
    assert torch.equal(first, second) and bundles[1].encoder_calls == 1


def test_reused_backbone_features_give_the_same_detections_as_a_fresh_run(tiny_gdino, tokenizer):
    image = _images(1, seed=7)[0]
    warm = DinoBundle(model=tiny_gdino, tokenizer=tokenizer, short_side=128, max_side=256)
    detect(warm, image, ["dog"], 0.0, 0.0, CPU)
    reused = detect(warm, image, ["cat", "red car"], 0.0, 0.0, CPU)
    fresh = DinoBundle(model=tiny_gdino, tokenizer=tokenizer, short_side=128, max_side=256)
    assert reused == detect(fresh, image, ["cat", "red car"], 0.0, 0.0, CPU)
    assert warm.backbone_calls == 1 and fresh.backbone_calls == 1 and len(reused) > 0


def test_new_thresholds_on_the_same_image_and_prompt_rerun_only_postprocessing(tiny_gdino, tokenizer):
    image = _images(1, seed=10)[0]
    warm = DinoBundle(model=tiny_gdino, tokenizer=tokenizer, short_side=128, max_side=256)
    loose = detect(warm, image, ["dog", "cat"], 0.0, 0.0, CPU)
    scores = sorted(d.score for d in loose)
    strict = detect(warm, image, ["dog", "cat"], scores[len(scores) // 2], 0.0, CPU)
    fresh = DinoBundle(model=tiny_gdino, tokenizer=tokenizer, short_side=128, max_side=256)
    assert strict == detect(fresh, image, ["dog", "cat"], scores[len(scores) // 2], 0.0, CPU)
    assert warm.model_calls == 1 and 0 < len(strict) < len(loose)
    detect(warm, image, ["dog"], 0.0, 0.0, CPU)  # another caption: the model runs again
    assert warm.model_calls == 2 and warm.backbone_calls == 1


def test_another_detection_size_is_not_served_from_the_cache(tiny_gdino, tokenizer):
    dino = DinoBundle(model=tiny_gdino, tokenizer=tokenizer, short_side=128, max_side=256)
    image = _images(1, seed=8)[0]
    detect(dino, image, ["dog"], 0.0, 0.0, CPU)
    detect(dino, image, ["dog"], 0.0, 0.0, CPU, short_side=96)
    assert dino.backbone_calls == 2


def test_model_keeps_its_own_backbone_after_detection_even_on_error(tiny_gdino, tokenizer):
    original = tiny_gdino.model.backbone
    dino = DinoBundle(model=tiny_gdino, tokenizer=tokenizer, short_side=128, max_side=256)
    detect(dino, _images(1, seed=9)[0], ["dog"], 0.0, 0.0, CPU)
    assert tiny_gdino.model.backbone is original
    with pytest.raises(RuntimeError):
        detect(dino, torch.rand(72, 96, 3), ["dog"], 0.0, 0.0, CPU, dtype=torch.float64)  # dtype mismatch inside
    assert tiny_gdino.model.backbone is original
    assert not any(type(m).__name__ == "_BackboneWithCache" for m in tiny_gdino.modules())


def test_empty_prompt_is_a_clear_error(bundles):
    with pytest.raises(ValueError, match="has no words"):
        _run(bundles, _images(1), " , . ")
