"""Post-processing and caption against the ORIGINAL Grounded-SAM (issue 17, item 2): ``box_threshold``
decides which boxes exist, ``text_threshold`` only labels them, boxes converted as the demo does and
given to SAM unclamped, no NMS or cap unless asked. Reference written here from IDEA-Research
GroundingDINO ``util/inference.py`` and Grounded-SAM's ``grounded_sam_demo.py``."""
from __future__ import annotations

import pytest
import torch

from brushnet_core.text_mask import DetectOptions, DinoBundle, SamBundle
from brushnet_core.text_mask.detect import build_caption, detect, preprocess as dino_preprocess
from brushnet_core.text_mask.original import reference_eps
from brushnet_core.text_mask.pipeline import text_to_masks
from tm_ref import CPU, u8_image


def test_caption_is_the_originals_unless_split_phrases_is_asked(tiny_tokenizer):
    cap = build_caption(tiny_tokenizer, "  Dog, the red CAT ")
    assert cap.text == "dog, the red cat."
    assert cap.input_ids == [101, 1013, 1021, 1015, 1019, 1014, 1012, 102] and cap.spans == [(1, 6)]
    assert cap.phrases == ["dog, the red cat"]
    split = build_caption(tiny_tokenizer, "  Dog, the red CAT ", split=True)
    assert split.input_ids == [101, 1013, 1012, 1015, 1019, 1014, 1012, 102] and split.phrases == ["dog", "the red cat"]
    split_comma = build_caption(tiny_tokenizer, "dog, cat", split=True)
    assert build_caption(tiny_tokenizer, "dog . cat").input_ids == split_comma.input_ids


def ref_grounded_sam_boxes(logits, pred_boxes, input_ids, decode, size_hw, box_threshold, text_threshold):
    """Grounded-SAM get_grounding_output + the demo's box conversion, from their definitions."""
    probs = logits.sigmoid()
    keep = probs.max(dim=1)[0] > box_threshold
    labels = []
    for row in probs[keep]:
        posmap = row > text_threshold
        posmap[0:1] = False
        posmap[255:] = False
        labels.append(decode([input_ids[i] for i in posmap.nonzero(as_tuple=True)[0].tolist()]).replace(".", ""))
    h, w = size_hw
    boxes = pred_boxes[keep].clone()
    for i in range(boxes.size(0)):
        boxes[i] = boxes[i] * torch.Tensor([w, h, w, h])
        boxes[i][:2] -= boxes[i][2:] / 2
        boxes[i][2:] += boxes[i][:2]
    return boxes, probs[keep].max(dim=1)[0], labels


def _ref_dino_run(model, pixels, input_ids):
    ids = torch.tensor([input_ids])
    with torch.no_grad(), reference_eps(model, 1e-3):
        out = model(pixel_values=pixels, input_ids=ids, attention_mask=torch.ones_like(ids),
                    token_type_ids=torch.zeros_like(ids))
    return out.logits[0], out.pred_boxes[0]


def test_detections_are_the_original_pipelines(file_gdino, tiny_tokenizer):
    tiny_gdino = file_gdino
    bundle = DinoBundle(model=tiny_gdino, tokenizer=tiny_tokenizer, short_side=128, max_side=256)
    bundle.fast_deformable = False  # the model's own outputs: this test is about what follows them
    _, image = u8_image(90, 131, seed=3)
    prompt = "Dog, the red CAT"
    cap = build_caption(tiny_tokenizer, prompt)
    logits, pred = _ref_dino_run(tiny_gdino, dino_preprocess(bundle, image, CPU, torch.float32), cap.input_ids)
    best = logits.sigmoid().max(dim=1)[0].sort().values
    box_t, text_t = float(best[3] + best[4]) / 2, float(best[6] + best[7]) / 2  # some queries fall below
    want_boxes, want_scores, want_labels = ref_grounded_sam_boxes(
        logits, pred, cap.input_ids, tiny_tokenizer.decode, (90, 131), box_t, text_t)
    dets = detect(bundle, image, prompt, box_t, text_t, CPU)
    assert 0 < len(dets) == len(want_boxes) < logits.shape[0]
    assert torch.equal(torch.tensor([d.box for d in dets]), want_boxes)
    assert [d.score for d in dets] == pytest.approx(want_scores.tolist(), abs=1e-7)
    assert [d.phrase for d in dets] == want_labels and any(want_labels) and not all(want_labels)


def test_sam_gets_the_unclamped_boxes_and_options_change_only_what_they_name(tiny_gdino, tiny_sam, tiny_tokenizer,
                                                                           monkeypatch):
    from brushnet_core.text_mask import pipeline

    seen = []
    real = pipeline.boxes_to_masks

    def spy(sam, image, boxes, *args, **kwargs):
        seen.append(boxes.clone())
        return real(sam, image, boxes, *args, **kwargs)

    monkeypatch.setattr(pipeline, "boxes_to_masks", spy)
    dino = DinoBundle(model=tiny_gdino, tokenizer=tiny_tokenizer, short_side=128, max_side=256)
    sam = SamBundle(model=tiny_sam, kind="sam", image_size=256)
    _, image = u8_image(90, 131, seed=3)
    _, info = text_to_masks(dino, sam, image[None], "dog . cat", 0.0, 0.25, "one mask per object", CPU, CPU)
    dets = detect(dino, image, "dog . cat", 0.0, 0.25, CPU)
    assert len(dets) == tiny_gdino.config.num_queries  # box threshold 0: every query, no NMS, no cap
    assert torch.equal(seen[-1], torch.tensor([d.box for d in dets]))
    assert len(info["images"][0]["masks"]) == len(dets)
    text_to_masks(dino, sam, image[None], "dog . cat", 0.0, 0.25, "union", CPU, CPU,
                  options=DetectOptions(clamp_boxes=True, max_objects=3))
    assert len(seen[-1]) == 3 and seen[-1][:, 0::2].min() >= 0 and seen[-1][:, 0::2].max() <= 131
    assert seen[-1][:, 1::2].min() >= 0 and seen[-1][:, 1::2].max() <= 90
