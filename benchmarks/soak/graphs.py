"""The soak's graphs (API-format prompts, fixed seeds) and the order they run in."""
from __future__ import annotations

from typing import Any, Callable

from benchmarks.soak.models import CLIP_L, POWERPAINT, POWERPAINT_TEXT, SMALL, em

STEPS = 2
KINDS = ("sd15", "powerpaint", "text_mask", "sdxl", "planner", "crop_blend", "bad_input")
#: the message the bad_input graph must fail with (the pack's, not ComfyUI's raw lazy-input error)
BAD_INPUT_MESSAGE = "category 'remove' needs a mask of"


def _tail(p: dict, ckpt: str, bn: str, image: list, mask: list, prefix: str, seed: int) -> dict:
    """KSampler -> VAEDecode -> BlendInpaint -> SaveImage after a BrushNet/PowerPaint node ``bn``."""
    p["ks"] = {"class_type": "KSampler", "inputs": {
        "seed": seed, "steps": STEPS, "cfg": 7.5, "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0,
        "model": [bn, 0], "positive": [bn, 1], "negative": [bn, 2], "latent_image": [bn, 3]}}
    p["dec"] = {"class_type": "VAEDecode", "inputs": {"samples": ["ks", 0], "vae": [ckpt, 2]}}
    p["blend"] = {"class_type": "BlendInpaint", "inputs": {"inpaint": ["dec", 0], "original": image, "mask": mask,
                                                            "kernel": 10, "sigma": 10.0}}
    p["save"] = {"class_type": "SaveImage", "inputs": {"filename_prefix": f"soak/{prefix}", "images": ["blend", 0]}}
    return p


def _base(checkpoint: str, brushnet: str, text: str = "a clean wooden table", image: str = em.EXAMPLE_IMAGE) -> dict:
    return {
        "img": {"class_type": "LoadImage", "inputs": {"image": image}},
        "ckpt": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": checkpoint}},
        "bnl": {"class_type": "BrushNetLoader", "inputs": {"brushnet": brushnet, "dtype": "auto"}},
        "pos": {"class_type": "CLIPTextEncode", "inputs": {"text": text, "clip": ["ckpt", 1]}},
        "neg": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry, low quality", "clip": ["ckpt", 1]}},
    }


def _brushnet(p: dict, mask: list, image: list | None = None) -> None:
    p["bn"] = {"class_type": "BrushNet", "inputs": {
        "model": ["ckpt", 0], "vae": ["ckpt", 2], "image": image or ["img", 0], "mask": mask, "brushnet": ["bnl", 0],
        "positive": ["pos", 0], "negative": ["neg", 0], "scale": 1.0, "start_at": 0, "end_at": 10000}}


def _drawn_mask(p: dict, name: str = em.EXAMPLE_MASK) -> list:
    p["msk"] = {"class_type": "LoadImageMask", "inputs": {"image": name, "channel": "red"}}
    return ["msk", 0]


def sd15(seed: int = 1, steps: int = STEPS) -> dict:
    p = _base(em.SD15_CHECKPOINT, em.SD15_BRUSHNET)
    mask = _drawn_mask(p)
    _brushnet(p, mask)
    p = _tail(p, "ckpt", "bn", ["img", 0], mask, "sd15", seed)
    p["ks"]["inputs"]["steps"] = steps
    return p


def sdxl(seed: int = 2) -> dict:
    p = _base(em.SDXL_CHECKPOINT, em.SDXL_BRUSHNET, text="a wooden bench in a park")
    mask = _drawn_mask(p)
    _brushnet(p, mask)
    return _tail(p, "ckpt", "bn", ["img", 0], mask, "sdxl", seed)


def powerpaint(seed: int = 3) -> dict:
    p = _base(em.SD15_CHECKPOINT, POWERPAINT, text="empty scene blur")
    mask = _drawn_mask(p)
    p["ppclip"] = {"class_type": "PowerPaintCLIPLoader", "inputs": {"base": CLIP_L, "powerpaint": POWERPAINT_TEXT}}
    p["pp"] = {"class_type": "PowerPaint", "inputs": {
        "model": ["ckpt", 0], "vae": ["ckpt", 2], "image": ["img", 0], "mask": mask, "powerpaint": ["bnl", 0],
        "clip": ["ppclip", 0], "positive": ["pos", 0], "negative": ["neg", 0], "fitting": 1.0,
        "function": "object removal", "scale": 1.0, "start_at": 0, "end_at": 10000, "save_memory": "none"}}
    return _tail(p, "ckpt", "pp", ["img", 0], mask, "powerpaint", seed)


def _text_mask_nodes(p: dict, prompt: Any) -> list:
    p["dino"] = {"class_type": "BrushEditGroundingDinoLoader", "inputs": {"model_name": em.GROUNDING_DINO}}
    p["sam"] = {"class_type": "BrushEditSAMLoader", "inputs": {"model_name": em.SAM}}
    p["tm"] = {"class_type": "BrushEditTextMask", "inputs": {
        "grounding_dino": ["dino", 0], "sam": ["sam", 0], "image": ["img", 0], "prompt": prompt,
        "box_threshold": 0.0, "text_threshold": 0.0, "mode": "union", "detection_size": 256}}
    return ["tm", 0]


def text_mask(seed: int = 4) -> dict:
    p = _base(em.SD15_CHECKPOINT, em.SD15_BRUSHNET, text="empty wooden table, clean background")
    p["adj"] = {"class_type": "BrushEditMaskAdjust", "inputs": {
        "mask": _text_mask_nodes(p, "cake"), "threshold": 0.0, "fill_holes": True, "grow": 16, "tapered_corners": True,
        "to_bbox": False, "bbox_padding": 0, "invert": False, "feather": 0}}
    _brushnet(p, ["adj", 0])
    return _tail(p, "ckpt", "bn", ["img", 0], ["adj", 0], "text_mask", seed)


def planner(seed: int = 5) -> dict:
    p = _base(em.SD15_CHECKPOINT, em.SD15_BRUSHNET)
    p["rules"] = {"class_type": "BrushEditPlannerRules", "inputs": {}}
    p["plan"] = {"class_type": "BrushEditPlanner", "inputs": {"image": ["img", 0], "instruction": "remove the cake",
                                                              "planner": ["rules", 0]}}
    p["pm"] = {"class_type": "BrushEditPlanMask", "inputs": {
        "image": ["img", 0], "plan": ["plan", 0], "mask": _text_mask_nodes(p, ["plan", 2]), "grow_remove_px": 20,
        "grow_local_px": 0}}
    p["pos"]["inputs"]["text"] = ["plan", 3]
    _brushnet(p, ["pm", 0])
    return _tail(p, "ckpt", "bn", ["img", 0], ["pm", 0], "planner", seed)


def crop_blend(seed: int = 6) -> dict:
    p = _base(em.SD15_CHECKPOINT, em.SD15_BRUSHNET, image=em.LARGE_IMAGE)
    mask = _drawn_mask(p, em.LARGE_MASK)
    p["cut"] = {"class_type": "CutForInpaint", "inputs": {"image": ["img", 0], "mask": mask, "width": SMALL,
                                                           "height": SMALL}}
    _brushnet(p, ["cut", 1], image=["cut", 0])
    p = _tail(p, "ckpt", "bn", ["img", 0], mask, "crop_blend", seed)
    p["blend"]["inputs"]["origin"] = ["cut", 2]
    p["blend"]["inputs"]["inpaint"] = ["dec", 0]
    return p


def bad_input(seed: int = 7) -> dict:
    """Plan Mask asked for a removal with no mask connected (the lazy-input fault of issue 16)."""
    p = {"img": {"class_type": "LoadImage", "inputs": {"image": em.EXAMPLE_IMAGE}},
         "plan": {"class_type": "BrushEditPlanner", "inputs": {"image": ["img", 0], "instruction": "remove the cake"}},
         "pm": {"class_type": "BrushEditPlanMask", "inputs": {"image": ["img", 0], "plan": ["plan", 0],
                                                              "grow_remove_px": 20, "grow_local_px": 0}},
         "prev": {"class_type": "MaskPreview", "inputs": {"mask": ["pm", 0]}}}
    return p


GRAPHS: dict[str, Callable[[], dict]] = {"sd15": sd15, "powerpaint": powerpaint, "text_mask": text_mask, "sdxl": sdxl,
                                         "planner": planner, "crop_blend": crop_blend, "bad_input": bad_input}


def schedule(cycles: int, kinds: tuple[str, ...] = KINDS) -> list[str]:
    """``cycles`` times every kind, then the first kind once more (run 1 == last run)."""
    return [k for _ in range(cycles) for k in kinds] + [kinds[0]]
