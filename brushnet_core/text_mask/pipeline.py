"""Text -> mask for an image batch: detect boxes, segment them, combine masks per mode."""
from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any, Callable, Optional

import torch

from .detect import Detection, DetectOptions, DinoBundle, build_caption, detect
from .errors import TextMaskError
from .segment import SamBundle, boxes_to_masks, image_key

log = logging.getLogger(__name__)

MODES = ("union", "largest", "highest score", "one mask per object")


def _no_cancel() -> None:
    pass


def _select(masks: torch.Tensor, dets: list[Detection], mode: str) -> tuple[list[torch.Tensor], list[int]]:
    """Pick/merge the N object masks of one image; returns output masks and the detection indices used."""
    if mode == "union":
        return [masks.any(dim=0)], list(range(len(dets)))
    if mode == "largest":
        i = int(masks.flatten(1).sum(dim=1).argmax())
        return [masks[i]], [i]
    if mode == "highest score":
        i = max(range(len(dets)), key=lambda k: dets[k].score)
        return [masks[i]], [i]
    if mode == "one mask per object":
        return [m for m in masks], list(range(len(dets)))
    raise TextMaskError(f"Unknown mode {mode!r}; choose one of {', '.join(MODES)}.")


def _info(d: Detection) -> dict[str, Any]:
    return {"box": [round(v, 2) for v in d.box], "score": round(d.score, 4), "phrase": d.phrase,
            "best_phrase": d.best_phrase}


def text_to_masks(
    dino: DinoBundle,
    sam: SamBundle,
    images: torch.Tensor,
    prompt: str,
    box_threshold: float,
    text_threshold: float,
    mode: str,
    dino_device: torch.device,
    sam_device: torch.device,
    detect_size: int | None = None,
    max_objects: int | None = None,
    cancel_check: Optional[Callable[[], None]] = None,
    options: DetectOptions = DetectOptions(),
) -> tuple[torch.Tensor, dict[str, Any]]:
    """(B,H,W,C) images + text -> (M,H,W) float masks and an info dict.

    M equals B except in "one mask per object" mode (one mask per detection, and one zero mask
    for an image without detections, so no image is ever dropped). Info lists, per image, the
    boxes, scores, labels and which output masks belong to it. ``detect_size`` is the short side
    GroundingDINO sees (None: the model's own, 800 for the published models). ``options`` holds the
    deviations from the original pipeline (none by default; ``max_objects`` overrides its cap).
    ``cancel_check`` (raises to cancel, e.g. ComfyUI's Cancel button) is called before every image
    and between model stages.
    """
    if mode not in MODES:
        raise TextMaskError(f"Unknown mode {mode!r}; choose one of {', '.join(MODES)}.")
    if images.dim() != 4:
        raise TextMaskError(f"Expected an IMAGE batch of shape (B,H,W,C), got shape {tuple(images.shape)}.")
    if max_objects is not None:
        options = replace(options, max_objects=max_objects)
    caption = build_caption(dino.tokenizer, prompt, options.split_phrases,
                            int(getattr(getattr(dino.model, "config", None), "max_text_len", 256)))
    phrases = caption.phrases
    if not caption.spans or not re.search(r"\w", caption.text):
        raise TextMaskError(f"The text prompt {prompt!r} has no words; write what to mask, e.g. 'dog' or 'dog . cat'.")
    dtype = next(sam.model.parameters()).dtype
    b, h, w = images.shape[:3]
    out: list[torch.Tensor] = []
    per_image: list[dict[str, Any]] = []
    empty: list[int] = []
    check = cancel_check or _no_cancel
    for idx in range(b):
        check()
        image = images[idx]
        content = image_key(image)  # hashed once for both models' caches
        dets = detect(dino, image, caption, box_threshold, text_threshold, dino_device, short_side=detect_size,
                      content_key=content, cancel_check=check, options=options)
        entry: dict[str, Any] = {"image": idx, "detections": [_info(d) for d in dets], "masks": []}
        if not dets:
            empty.append(idx)
            entry["masks"] = [len(out)]
            out.append(torch.zeros((h, w)))
            per_image.append(entry)
            continue
        boxes = torch.tensor([d.box for d in dets], dtype=torch.float32)
        check()
        masks, sam_scores = boxes_to_masks(sam, image, boxes, sam_device, dtype, content, cancel_check=check)
        for d, s in zip(entry["detections"], sam_scores.tolist()):
            d["mask_score"] = round(float(s), 4)
        chosen, used = _select(masks, dets, mode)
        entry["selected"] = used
        for m in chosen:
            entry["masks"].append(len(out))
            out.append(m.float())
        per_image.append(entry)
    info: dict[str, Any] = {"prompt": prompt, "caption": caption.text, "phrases": phrases, "mode": mode,
                            "images": per_image}
    if empty:
        msg = (
            f"[BrushEdit] No object matching {phrases} found in image(s) {empty} "
            f"(box threshold {box_threshold}, text threshold {text_threshold}); returned an empty mask for each. "
            "Try a lower box threshold or other words."
        )
        log.warning(msg)
        info["warning"] = msg
    return torch.stack(out), info


def draw_preview(images: torch.Tensor, masks: torch.Tensor, info: dict[str, Any]) -> torch.Tensor:
    """Images with their combined mask tinted red and detection boxes outlined in green."""
    preview = images[..., :3].clone().float()
    for entry in info["images"]:
        idx = entry["image"]
        img = preview[idx]
        m = torch.zeros(img.shape[:2])
        for k in entry["masks"]:
            m = torch.maximum(m, masks[k].cpu())
        tint = torch.tensor([1.0, 0.0, 0.0])
        img.copy_(img * (1 - 0.45 * m[..., None]) + tint * 0.45 * m[..., None])
        hh, ww = img.shape[:2]
        t = max(1, min(hh, ww) // 200)
        for det in entry["detections"]:
            x0, y0, x1, y1 = (int(round(v)) for v in det["box"])
            x0, x1 = max(0, min(x0, ww - 1)), max(0, min(x1, ww - 1))
            y0, y1 = max(0, min(y0, hh - 1)), max(0, min(y1, hh - 1))
            green = torch.tensor([0.0, 1.0, 0.0])
            img[y0 : y0 + t, x0 : x1 + 1] = green
            img[max(y1 - t + 1, 0) : y1 + 1, x0 : x1 + 1] = green
            img[y0 : y1 + 1, x0 : x0 + t] = green
            img[y0 : y1 + 1, max(x1 - t + 1, 0) : x1 + 1] = green
    return preview
