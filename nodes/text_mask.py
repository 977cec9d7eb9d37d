"""Text -> mask nodes: GroundingDINO and SAM loaders (original files or HF folders) and the segment node."""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

import torch
from comfy_api.latest import io

import comfy.model_management as mm
import comfy.model_patcher
import comfy.patcher_extension
import comfy.utils
import folder_paths

from . import compat
from ..brushnet_core.text_mask import MODES, DetectOptions, draw_preview, text_to_masks
from ..brushnet_core.text_mask.loading import is_hf_folder, load_grounding_dino, load_sam

log = logging.getLogger("BrushEdit")

GroundingDinoType = io.Custom("BRUSHEDIT_GROUNDING_DINO")
SamType = io.Custom("BRUSHEDIT_SAM")
WEIGHT_EXTS = (".pth", ".pt", ".safetensors", ".bin")
FOLDER_TYPES = {"grounding-dino": {"grounding-dino"}, "sams": {"sam", "sam_hq", "sam2"}}


@dataclass
class ManagedModel:
    """A core bundle (model + tokenizer/settings) whose weights ComfyUI's model management moves."""

    bundle: Any
    patcher: comfy.model_patcher.ModelPatcher

    def device(self) -> torch.device:
        return next(self.bundle.model.parameters()).device


def _folder_model_type(path: str) -> str:
    try:
        with open(os.path.join(path, "config.json"), encoding="utf-8") as fh:
            return str(json.load(fh).get("model_type", ""))
    except (OSError, ValueError):
        return ""


def list_choices(folder: str) -> list[str]:
    """Weight files and Hugging Face model folders (shown as the folder name) under a model folder."""
    names: set[str] = set()
    try:
        files = folder_paths.get_filename_list(folder)
    except KeyError:
        return []
    for rel in files:
        full = folder_paths.get_full_path(folder, rel)
        parent_rel = os.path.dirname(rel).replace("\\", "/")
        if full and parent_rel and is_hf_folder(os.path.dirname(full)):
            if _folder_model_type(os.path.dirname(full)) in FOLDER_TYPES[folder]:
                names.add(parent_rel)
        elif rel.lower().endswith(WEIGHT_EXTS):
            names.add(rel.replace("\\", "/"))
    return sorted(names)


def resolve(folder: str, name: str) -> str:
    """Absolute path of a file or HF folder listed by :func:`list_choices`."""
    bases = folder_paths.get_folder_paths(folder)
    for base in bases:
        path = os.path.join(base, name)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"'{name}' not found in models/{folder} (searched {bases}). Put the file or folder there.")


def missing_model(folder: str, name: str) -> bool | str:
    """For ``validate_inputs``: True when the model exists, else the message (rejected at queue time;
    ComfyUI does not check V3 combo values against the list)."""
    try:
        resolve(folder, name)
    except FileNotFoundError as err:
        return str(err)
    return True


def _read(path: str) -> dict[str, Any]:
    return comfy.utils.load_torch_file(path, safe_load=True)


def _vocab_dirs() -> list[str]:
    """Where the BERT vocabulary of an original GroundingDINO checkpoint may already be."""
    dirs = [os.path.join(folder_paths.models_dir, "bert-base-uncased")]
    for base in folder_paths.get_folder_paths("grounding-dino"):
        dirs.append(os.path.join(base, "bert-base-uncased"))
        if os.path.isdir(base):
            dirs += [os.path.join(base, d) for d in sorted(os.listdir(base)) if is_hf_folder(os.path.join(base, d))]
    return dirs


class _Holder(torch.nn.Module):
    """Plain module around a transformers model: ModelPatcher sets ``.device``, which
    transformers' PreTrainedModel exposes as a read-only property."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.hf_model = model


class _ClearCaches:
    """ModelPatcher ON_DETACH callback: when ComfyUI unloads the model (POST /free, memory pressure), the
    features cached for it (on its load device) go too. Holds only the bundle (no reference cycle)."""

    def __init__(self, bundle: Any) -> None:
        self.bundle = bundle

    def __call__(self, _patcher: Any = None, unpatch_all: bool = True, *_args: Any) -> None:
        if not unpatch_all:  # ComfyUI re-loading the same model for the next run: keep the features
            return
        for name in ("cache", "outputs"):
            cache = getattr(self.bundle, name, None)
            if cache is not None:
                cache.clear()


def _manage(bundle: Any) -> ManagedModel:
    patcher = comfy.model_patcher.ModelPatcher(
        _Holder(bundle.model), load_device=mm.get_torch_device(), offload_device=mm.unet_offload_device()
    )
    patcher.add_callback(comfy.patcher_extension.CallbacksMP.ON_DETACH, _ClearCaches(bundle))
    return ManagedModel(bundle=bundle, patcher=patcher)


class GroundingDinoLoader(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BrushEditGroundingDinoLoader",
            display_name="GroundingDINO Loader (BrushEdit)",
            category="BrushEdit/text mask",
            description="Loads GroundingDINO (text -> boxes) from models/grounding-dino: the original "
                        "groundingdino_swint_ogc.pth / swinb .pth (converted on load; needs bert-base-uncased's "
                        "vocab.txt next to it or in models/bert-base-uncased) or a Hugging Face folder. Offline.",
            inputs=[
                io.Combo.Input("model_name", options=list_choices("grounding-dino"),
                               tooltip="A .pth checkpoint or a Hugging Face folder (config.json, model.safetensors, "
                                       "tokenizer files) under models/grounding-dino."),
            ],
            outputs=[GroundingDinoType.Output(display_name="grounding_dino",
                                              tooltip="GroundingDINO model; connect to Text to Mask.")],
        )

    @classmethod
    def validate_inputs(cls, model_name: str) -> bool | str:
        return missing_model("grounding-dino", model_name)

    @classmethod
    def execute(cls, model_name: str) -> io.NodeOutput:
        path = resolve("grounding-dino", model_name)
        return io.NodeOutput(_manage(load_grounding_dino(path, _vocab_dirs(), reader=_read)))


class SAMLoader(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BrushEditSAMLoader",
            display_name="SAM Loader (BrushEdit)",
            category="BrushEdit/text mask",
            description="Loads Segment Anything (box -> mask) from models/sams: original sam_vit_b/l/h .pth "
                        "(variant read from the weights) or a Hugging Face SAM, SAM-HQ or SAM 2 folder. Offline.",
            inputs=[
                io.Combo.Input("model_name", options=list_choices("sams"),
                               tooltip="A sam_vit_*.pth checkpoint or a Hugging Face folder (config.json, "
                                       "model.safetensors) under models/sams."),
            ],
            outputs=[SamType.Output(display_name="sam", tooltip="SAM model; connect to Text to Mask.")],
        )

    @classmethod
    def validate_inputs(cls, model_name: str) -> bool | str:
        return missing_model("sams", model_name)

    @classmethod
    def execute(cls, model_name: str) -> io.NodeOutput:
        return io.NodeOutput(_manage(load_sam(resolve("sams", model_name), reader=_read)))


class TextMask(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BrushEditTextMask",
            display_name="Text to Mask (GroundingDINO + SAM)",
            category="BrushEdit/text mask",
            description="Finds the objects named in the prompt with GroundingDINO and masks them with SAM. "
                        "SAM image embeddings are computed once per image and reused for every box and prompt. "
                        "An image where nothing is found gets an empty mask and a warning, never an error.",
            inputs=[
                GroundingDinoType.Input("grounding_dino", tooltip="From GroundingDINO Loader (BrushEdit)."),
                SamType.Input("sam", tooltip="From SAM Loader (BrushEdit)."),
                io.Image.Input("image", tooltip="Image batch to search; every image gets its own mask."),
                io.String.Input("prompt", default="dog",
                                tooltip="What to mask, as GroundingDINO reads it: several objects are separated "
                                        "with periods ('dog . cat'); case does not matter. With split_phrases on, "
                                        "commas and new lines separate objects too."),
                io.Float.Input("box_threshold", default=0.3, min=0.0, max=1.0, step=0.01,
                               tooltip="Decides which boxes exist: a box is kept when its best word score is above "
                                       "this (GroundingDINO's default 0.3). Lower finds more, higher only sure "
                                       "objects."),
                io.Float.Input("text_threshold", default=0.25, min=0.0, max=1.0, step=0.01,
                               tooltip="Only picks each box's label (the prompt words scoring above it, shown in "
                                       "info); it does not remove boxes unless text_threshold_drops_boxes is on. "
                                       "GroundingDINO's default 0.25."),
                io.Combo.Input("mode", options=list(MODES), default="union",
                               tooltip="union: one mask with every found object; largest / highest score: only "
                                       "that object; one mask per object: a mask per detection (an empty one "
                                       "for an image with none)."),
                io.Int.Input("detection_size", default=800, min=256, max=1344, step=32, optional=True,
                             tooltip="Short side (pixels) of the image GroundingDINO sees. 800 is what it was "
                                     "trained for; smaller is faster on CPU but misses small objects."),
                io.Boolean.Input("text_threshold_drops_boxes", default=False, optional=True,
                                 tooltip="Not in the original. On: a box is also dropped when no phrase of the prompt "
                                         "scores above text_threshold (fewer boxes matched only by punctuation)."),
                io.Boolean.Input("clamp_boxes", default=False, optional=True,
                                 tooltip="Not in the original. On: boxes are cut to the image before SAM (the "
                                         "original gives SAM boxes that cross the border as they are)."),
                io.Float.Input("nms_iou", default=1.0, min=0.0, max=1.0, step=0.01, optional=True,
                               tooltip="Not in the original (1.0 = off). Below 1: of two boxes overlapping more "
                                       "than this IoU, only the higher-scoring one is kept."),
                io.Int.Input("max_objects", default=0, min=0, max=900, optional=True,
                             tooltip="Not in the original (0 = all boxes). Above 0: keep only this many "
                                     "highest-scoring boxes (bounds SAM's work at very low thresholds)."),
                io.Boolean.Input("split_phrases", default=False, optional=True,
                                 tooltip="Not in the original. On: commas, semicolons and new lines separate objects "
                                         "like periods ('dog, cat' is read as 'dog . cat .'), repeats dropped."),
            ],
            outputs=[
                io.Mask.Output(display_name="mask", tooltip="The mask(s), image size; one per image except in "
                                                            "'one mask per object' mode."),
                io.String.Output(display_name="info", tooltip="JSON: per image, the boxes (pixels), scores, "
                                                              "phrases and which masks belong to it; a warning "
                                                              "when nothing was found."),
                io.Image.Output(display_name="preview", tooltip="The images with the mask tinted red and the "
                                                                "boxes outlined in green."),
            ],
        )

    @classmethod
    def execute(cls, grounding_dino: ManagedModel, sam: ManagedModel, image: torch.Tensor, prompt: str,
                box_threshold: float, text_threshold: float, mode: str, detection_size: int = 800,
                text_threshold_drops_boxes: bool = False, clamp_boxes: bool = False, nms_iou: float = 1.0,
                max_objects: int = 0, split_phrases: bool = False) -> io.NodeOutput:
        options = DetectOptions(split_phrases=split_phrases, text_threshold_drops_boxes=text_threshold_drops_boxes,
                                clamp_boxes=clamp_boxes, nms_iou=nms_iou, max_objects=max_objects)
        mm.load_models_gpu([grounding_dino.patcher, sam.patcher])
        masks, info = text_to_masks(
            grounding_dino.bundle, sam.bundle, image, prompt, box_threshold, text_threshold, mode,
            grounding_dino.device(), sam.device(), detect_size=detection_size, cancel_check=compat.cancel_check(),
            options=options,
        )
        preview = draw_preview(image.cpu(), masks, info)
        info["sam_encoder_runs"] = sam.bundle.encoder_calls
        info["groundingdino_runs"] = grounding_dino.bundle.model_calls
        info["swin_backbone_runs"] = grounding_dino.bundle.backbone_calls
        return io.NodeOutput(masks.cpu(), json.dumps(info, indent=1), preview)


NODES = [GroundingDinoLoader, SAMLoader, TextMask]
