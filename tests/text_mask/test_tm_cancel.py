"""ComfyUI's Cancel button stops text-to-mask between images and between model stages.

The real 0.3.75 executor runs LoadImage -> loaders -> BrushEditTextMask on a batch; a forward hook
holds one model stage until Cancel is pressed (``interrupt_current_processing(True)`` from a timer
thread, as the UI does), and the node must then end with ``InterruptProcessingException`` without
running any further model stage.
"""
from __future__ import annotations

from collections import Counter

import torch

from _cancel import CancelButton, hold_until_cancelled, run_cancelled

DINO, SAM_ENCODER, SAM = "GroundingDinoForObjectDetection", "SamVisionEncoder", "SamModel"
PROMPT_LIMIT_S = 2.0


class StageRecorder:
    """Counts forward calls per model class; the first call of ``hold`` waits until Cancel is pressed
    (a real GroundingDINO / SAM stage takes seconds on CPU)."""

    def __init__(self, hold: str) -> None:
        self.hold = hold
        self.calls: Counter = Counter()

    def __call__(self, module: torch.nn.Module, _args: tuple) -> None:
        name = type(module).__name__
        if name not in (DINO, SAM_ENCODER, SAM):
            return
        self.calls[name] += 1
        if name == self.hold and self.calls[name] == 1:
            hold_until_cancelled()


def _graph() -> dict:
    """Three different images in one batch (the original, inverted, flipped): nothing is shared by the caches."""
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": "example_4.jpeg"}},
        "2": {"class_type": "BrushEditGroundingDinoLoader", "inputs": {"model_name": "groundingdino_tiny.pth"}},
        "3": {"class_type": "BrushEditSAMLoader", "inputs": {"model_name": "sam_vit_tiny.pth"}},
        "7": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
        "8": {"class_type": "ImageFlip", "inputs": {"image": ["1", 0], "flip_method": "x-axis: vertically"}},
        "9": {"class_type": "ImageBatch", "inputs": {"image1": ["1", 0], "image2": ["7", 0]}},
        "4": {"class_type": "ImageBatch", "inputs": {"image1": ["9", 0], "image2": ["8", 0]}},
        "5": {"class_type": "BrushEditTextMask",
              "inputs": {"grounding_dino": ["2", 0], "sam": ["3", 0], "image": ["4", 0], "prompt": "dog",
                         "box_threshold": 0.0, "text_threshold": 0.0, "mode": "union", "detection_size": 256}},
        "6": {"class_type": "PreviewImage", "inputs": {"images": ["5", 2]}},
    }


def _run_cancelled(hold: str) -> tuple[float, dict | None, Counter]:
    stages = StageRecorder(hold)
    handle = torch.nn.modules.module.register_module_forward_pre_hook(stages)
    try:
        seconds, interrupted = run_cancelled(_graph(), CancelButton(lambda: stages.calls[hold] >= 1))
    finally:
        handle.remove()
    return seconds, interrupted, stages.calls


def test_cancel_during_text_mask_detection(text_mask_models, input_image):
    """Cancel while GroundingDINO runs on the first of three images: no SAM, no further image."""
    seconds, interrupted, calls = _run_cancelled(hold=DINO)
    assert interrupted is not None, f"the run was not reported as interrupted (model calls {dict(calls)})"
    assert interrupted["node_id"] == "5", f"interrupted at node {interrupted['node_id']}, not in the text mask"
    assert seconds < PROMPT_LIMIT_S, f"text-to-mask ignored Cancel for {seconds:.1f}s"
    assert calls[DINO] == 1 and calls[SAM_ENCODER] == 0 and calls[SAM] == 0, dict(calls)


def test_cancel_during_sam_encoder_skips_the_mask_decoder(text_mask_models, input_image):
    """Cancel while SAM encodes the first image: the mask decoder and the other images never run."""
    seconds, interrupted, calls = _run_cancelled(hold=SAM_ENCODER)
    assert interrupted is not None, f"the run was not reported as interrupted (model calls {dict(calls)})"
    assert interrupted["node_id"] == "5", f"interrupted at node {interrupted['node_id']}, not in the text mask"
    assert seconds < PROMPT_LIMIT_S, f"text-to-mask ignored Cancel for {seconds:.1f}s"
    assert calls[DINO] == 1 and calls[SAM_ENCODER] == 1 and calls[SAM] == 0, dict(calls)
