"""Text -> mask nodes: GroundingDINO and SAM loaders (original files or HF folders) and the segment node."""
from __future__ import annotations

import json
import logging
import os
from typing import Any

import torch
from comfy_api.latest import io

import comfy.model_management as mm
import comfy.utils
import folder_paths

from . import compat
from .glue.folders import check_model, hf_model_type, list_models, resolve_model
from .glue.managed import ManagedModel, manage
from .glue.schema import search_aliases
from .glue.sockets import GroundingDinoType, SamType
from ..brushnet_core.text_mask import MODES, DetectOptions, draw_preview, text_to_masks
from ..brushnet_core.text_mask.loading import is_hf_folder, load_grounding_dino, load_sam

log = logging.getLogger("BrushEdit")

WEIGHT_EXTS = (".pth", ".pt", ".safetensors", ".bin")
#: Hugging Face model types each folder takes
FOLDER_TYPES = {"grounding-dino": {"grounding-dino"}, "sams": {"sam", "sam_hq", "sam2"}}


def _model_folder_kind(folder: str):
    """A Hugging Face folder of the folder's model type is listed as one model; other HF folders are hidden."""

    def kind(path: str) -> bool | None:
        if not is_hf_folder(path):
            return None
        return hf_model_type(path) in FOLDER_TYPES[folder]

    return kind


def list_choices(folder: str) -> list[str]:
    """Weight files and Hugging Face model folders (shown as the folder name) under a model folder."""
    return list_models((folder,), WEIGHT_EXTS, folder_kind=_model_folder_kind(folder))


def _model_entry(folder: str) -> dict[str, Any]:
    return {"what": f"models/{folder} entry", "accept": os.path.exists,
            "fix": "put the checkpoint file or the Hugging Face model folder there"}


def resolve(folder: str, name: str) -> str:
    """Absolute path of a file or HF folder listed by :func:`list_choices`."""
    return resolve_model((folder,), name, **_model_entry(folder))


def missing_model(folder: str, name: str) -> bool | str:
    """For ``validate_inputs``: True when the model exists, else the message."""
    return check_model((folder,), name, **_model_entry(folder))


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


def _clear_caches(bundle: Any) -> None:
    """When ComfyUI unloads the model, the features cached for it (on its load device) go too."""
    for name in ("cache", "outputs"):
        cache = getattr(bundle, name, None)
        if cache is not None:
            cache.clear()


def _manage(bundle: Any) -> ManagedModel:
    return ManagedModel(bundle=bundle, patcher=manage(bundle.model, on_unload=lambda: _clear_caches(bundle)))


class GroundingDinoLoader(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BrushEditGroundingDinoLoader",
            **search_aliases("grounding dino", "groundingdino", "object detector loader", "text detection model"),
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
            **search_aliases("sam", "segment anything", "sam2", "sam hq", "segmentation model loader"),
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
            **search_aliases("text to mask", "grounded sam", "segment by text", "prompt mask", "object mask"),
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
