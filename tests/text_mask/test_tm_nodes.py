"""Text-mask nodes through the real ComfyUI executor: LoadImage -> loaders -> BrushEditTextMask."""
from __future__ import annotations

import json

import pytest
import torch

import _harness


def _graph(dino: str, sam: str, prompt="dog", box=0.0, text=0.0, mode="union", batch=1, **options) -> dict:
    g = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "example_4.jpeg"}},
        "2": {"class_type": "BrushEditGroundingDinoLoader", "inputs": {"model_name": dino}},
        "3": {"class_type": "BrushEditSAMLoader", "inputs": {"model_name": sam}},
        "5": {"class_type": "BrushEditTextMask",
              "inputs": {"grounding_dino": ["2", 0], "sam": ["3", 0], "image": ["4", 0] if batch > 1 else ["1", 0],
                         "prompt": prompt, "box_threshold": box, "text_threshold": text, "mode": mode,
                         "detection_size": 256, **options}},
        "6": {"class_type": "PreviewImage", "inputs": {"images": ["5", 2]}},
    }
    if batch > 1:
        g["4"] = {"class_type": "RepeatImageBatch", "inputs": {"image": ["1", 0], "amount": batch}}
    return g


def test_loaders_list_original_files_and_hf_folders(text_mask_models):
    mod = _harness.pack_module("nodes.text_mask")
    assert {"groundingdino_tiny.pth", "tiny-gdino-hf"} <= set(mod.list_choices("grounding-dino"))
    sams = mod.list_choices("sams")
    assert {"sam_vit_tiny.pth", "tiny-sam-hf"} <= set(sams)
    assert not any(name.endswith(".json") for name in sams)


def test_original_checkpoints_give_an_image_sized_mask(text_mask_models, input_image):
    run = _harness.run_prompt(_graph("groundingdino_tiny.pth", "sam_vit_tiny.pth"))
    mask, info, preview = run.outputs("5")
    assert mask.shape == (1, 690, 1150) and preview.shape == (1, 690, 1150, 3)
    data = json.loads(info)
    assert data["phrases"] == ["dog"] and data["images"][0]["detections"]
    assert 0 < mask.sum() and set(mask.unique().tolist()) <= {0.0, 1.0}


def test_hf_folders_and_original_files_give_the_same_mask(text_mask_models, input_image):
    a = _harness.run_prompt(_graph("groundingdino_tiny.pth", "sam_vit_tiny.pth")).outputs("5")[0]
    b = _harness.run_prompt(_graph("tiny-gdino-hf", "tiny-sam-hf")).outputs("5")[0]
    assert torch.equal(a, b)


def test_batch_with_nothing_found_keeps_every_image(text_mask_models, input_image):
    run = _harness.run_prompt(_graph("groundingdino_tiny.pth", "sam_vit_tiny.pth", box=1.0, batch=2,
                                     mode="one mask per object"))
    mask, info, _preview = run.outputs("5")
    assert mask.shape == (2, 690, 1150) and mask.sum() == 0
    assert "No object matching ['dog']" in json.loads(info)["warning"]


def test_sam_encoder_runs_once_for_a_batch_of_the_same_image(text_mask_models, input_image):
    run = _harness.run_prompt(_graph("groundingdino_tiny.pth", "sam_vit_tiny.pth", prompt="dog . cat", batch=2))
    mask, info, _ = run.outputs("5")
    assert mask.shape[0] == 2 and json.loads(info)["sam_encoder_runs"] == 1


def test_loader_error_reaches_the_user(text_mask_models, input_image, models_dir):
    bad = models_dir / "sams" / "not_sam.safetensors"
    from safetensors.torch import save_file

    save_file({"foo.weight": torch.randn(2, 2)}, str(bad))
    with pytest.raises(_harness.PromptFailed, match="Not a segment-anything checkpoint"):
        _harness.run_prompt(_graph("groundingdino_tiny.pth", "not_sam.safetensors"))


def test_new_thresholds_and_prompts_reuse_the_loaded_models_work(text_mask_models, input_image):
    """Same image, ComfyUI keeps the loaders' outputs: new thresholds rerun no model, a new prompt
    reruns GroundingDINO without its Swin backbone, and SAM's image encoder never reruns."""
    first = json.loads(_harness.run_prompt(_graph("groundingdino_tiny.pth", "sam_vit_tiny.pth")).outputs("5")[1])
    tweaked = json.loads(_harness.run_prompt(_graph("groundingdino_tiny.pth", "sam_vit_tiny.pth", box=0.2, mode="largest"),
                                             fresh_cache=False).outputs("5")[1])
    other = json.loads(_harness.run_prompt(_graph("groundingdino_tiny.pth", "sam_vit_tiny.pth", prompt="cat"),
                                           fresh_cache=False).outputs("5")[1])
    runs = [(d["groundingdino_runs"], d["swin_backbone_runs"], d["sam_encoder_runs"]) for d in (first, tweaked, other)]
    assert runs == [(1, 1, 1), (1, 1, 1), (2, 1, 1)]


def test_deviation_options_reach_the_pipeline(text_mask_models, input_image):
    """Defaults: every box above the box threshold (the tiny model's 10 queries), as the original;
    max_objects / clamp_boxes are the node's optional inputs after detection_size."""
    every = _harness.run_prompt(_graph("groundingdino_tiny.pth", "sam_vit_tiny.pth", mode="one mask per object"))
    mask, info, _ = every.outputs("5")
    assert mask.shape[0] == len(json.loads(info)["images"][0]["detections"]) == 10
    capped = _harness.run_prompt(_graph("groundingdino_tiny.pth", "sam_vit_tiny.pth", mode="one mask per object",
                                        max_objects=2, clamp_boxes=True, nms_iou=0.9, split_phrases=True,
                                        text_threshold_drops_boxes=False))
    mask, info, _ = capped.outputs("5")
    boxes = [d["box"] for d in json.loads(info)["images"][0]["detections"]]
    assert mask.shape[0] == len(boxes) == 2
    assert all(0 <= x <= 1150 and 0 <= y <= 690 for b in boxes for x, y in (b[:2], b[2:]))
