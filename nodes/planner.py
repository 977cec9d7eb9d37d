"""BrushEdit instruction planner nodes: planner backends, the planner, and the plan -> mask node."""
from __future__ import annotations

import logging

import numpy as np
import torch
from comfy_api.latest import io, ui

import comfy.model_management as mm

from . import compat
from .glue.errors import PlannerInputError
from .glue.folders import LLM_FOLDERS, check_model, hf_model_type, list_models, resolve_model
from .glue.managed import check_dtype, loader_for, manage, pick_dtype
from .glue.schema import search_aliases
from .glue.sockets import PlannerType, PlanType
from ..brushnet_core.planner.backend import RulesPlanner
from ..brushnet_core.planner.http_backend import STRUCTURED_OUTPUT, HTTPPlanner, HTTPPlannerConfig
from ..brushnet_core.planner.plan import (
    CATEGORIES, NEEDS_OBJECT, UNKNOWN, EditPlan, PlannerError, parse_box_text, unknown_message,
)
from ..brushnet_core.planner.rules import default_caption
from ..brushnet_core.planner.plan_mask import box_mask, mask_for_plan
from ..brushnet_core.planner.prompts import BOX_CONVENTIONS
from ..brushnet_core.planner import redact

log = logging.getLogger("BrushEdit")

VLM_FAMILIES = ("auto", "qwen2_vl", "qwen2_5_vl", "qwen3_vl")
PLANNER_DTYPES = ("float16", "bfloat16", "float32")
NO_MODEL_FOLDERS = "(no model folders in models/LLM)"
#: how a model folder of the local planners is resolved and reported when missing
LLM_FOLDER = {"what": "model folder", "accept": lambda path: hf_model_type(path) is not None,
              "fix": "download a Hugging Face model repository (config.json, weights, tokenizer) into "
                     "models/LLM/<name>/ (Qwen2-VL / Qwen2.5-VL / Qwen3-VL for the VLM backend, a small instruct "
                     "model such as Qwen2.5-1.5B-Instruct for the text-only one)"}


def image_to_pil(image: torch.Tensor):
    """ComfyUI IMAGE [B, H, W, C] -> PIL image of the first batch item."""
    from PIL import Image

    if image.ndim != 4 or image.shape[-1] not in (3, 4):
        raise PlannerInputError(f"image has shape {tuple(image.shape)}; expected a ComfyUI IMAGE [B, H, W, 3]")
    if image.shape[0] > 1:
        log.warning("[BrushEdit] planner got a batch of %d images; it plans from the first one", image.shape[0])
    arr = (image[0, :, :, :3].clamp(0, 1).cpu().numpy() * 255.0).round().astype(np.uint8)
    return Image.fromarray(arr)


def list_llm_folders() -> list[str]:
    """Model folders (with a config.json) under models/LLM, as relative names."""
    found = list_models(LLM_FOLDERS, folder_kind=lambda path: True if hf_model_type(path) is not None else None)
    return found or [NO_MODEL_FOLDERS]


def managed_vlm(model: torch.nn.Module):
    """Put a transformers model under ComfyUI's model management; return ensure_loaded() -> device."""
    return loader_for(manage(model, text_encoder=True))


def resolve_dtype(name: str) -> torch.dtype:
    """'auto' -> ComfyUI's choice for the text-encoder device (float32 on CPU)."""
    return pick_dtype(name, mm.text_encoder_device())


def check_local_model(model: str, dtype: str) -> bool | str:
    """validate_inputs of the local planner backends: the folder exists, the dtype is offered."""
    found = check_model(LLM_FOLDERS, model, **LLM_FOLDER)
    return found if found is not True else check_dtype(dtype, PLANNER_DTYPES)


class BrushEditPlannerRules(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BrushEditPlannerRules",
            **search_aliases("planner rules", "instruction planner", "edit planner offline"),
            display_name="BrushEdit Planner Backend (rules, no model)",
            category="BrushEdit/planner",
            description="A planner that needs no model: keyword rules classify the instruction, pick the "
                        "object phrase and write the caption. Instant and deterministic; it cannot see the image.",
            inputs=[],
            outputs=[PlannerType.Output(display_name="planner", tooltip="Connect to BrushEdit Planner.")],
        )

    @classmethod
    def execute(cls) -> io.NodeOutput:
        return io.NodeOutput(RulesPlanner())


class BrushEditPlannerOpenAI(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BrushEditPlannerOpenAI",
            **search_aliases("openai planner", "gpt-4o planner", "vllm", "ollama", "lm studio", "vision llm api"),
            display_name="BrushEdit Planner Backend (OpenAI-compatible API)",
            category="BrushEdit/planner",
            description="Plans with a vision model behind an OpenAI-compatible /v1/chat/completions endpoint "
                        "(OpenAI, vLLM, llama.cpp server, LM Studio, Ollama). The API key is read from the "
                        "environment variable you name here - never typed into the workflow.",
            inputs=[
                io.String.Input("base_url", default="http://127.0.0.1:11434/v1",
                                tooltip="Server base URL ending in /v1, e.g. https://api.openai.com/v1 or "
                                        "http://127.0.0.1:8000/v1 (vLLM)."),
                io.String.Input("model", default="qwen2.5vl:7b",
                                tooltip="Model name as the server knows it "
                                        "(e.g. gpt-4o, Qwen/Qwen2.5-VL-7B-Instruct)."),
                io.String.Input("api_key_env", default="",
                                tooltip="NAME of the environment variable holding the API key (e.g. OPENAI_API_KEY). "
                                        "Empty for local servers without a key. Never type the key itself."),
                io.Float.Input("timeout_s", default=120.0, min=1.0, max=3600.0, step=1.0,
                               tooltip="Seconds to wait for one answer before retrying."),
                io.Int.Input("retries", default=2, min=0, max=10,
                             tooltip="Extra tries after a timeout, HTTP 429 or 5xx, with exponential backoff."),
                io.Int.Input("max_image_side", default=1024, min=0, max=4096, step=64,
                             tooltip="The image is downscaled so its longest side is at most this (0 = send as is)."),
                io.Combo.Input("box_convention", options=list(BOX_CONVENTIONS), default="pixels",
                               tooltip="How the model writes boxes: pixels of the image it was sent (GPT-4o), "
                                       "norm1000 (0-1000, Qwen2-VL/Qwen3-VL), norm1 (0-1), or auto (by range)."),
                io.Combo.Input("structured_output", options=list(STRUCTURED_OUTPUT), default="json_schema",
                               optional=True,
                               tooltip="json_schema: ask the server for JSON that follows the plan's schema "
                                       "(response_format); servers that refuse it are asked again without it. "
                                       "off: plain text answers, parsed tolerantly."),
            ],
            outputs=[PlannerType.Output(display_name="planner", tooltip="Connect to BrushEdit Planner.")],
        )

    @classmethod
    def execute(cls, base_url: str, model: str, api_key_env: str, timeout_s: float, retries: int,
                max_image_side: int, box_convention: str, structured_output: str = "json_schema") -> io.NodeOutput:
        cfg = HTTPPlannerConfig(base_url=base_url, model=model, api_key_env=api_key_env, timeout_s=timeout_s,
                                retries=retries, max_image_side=max_image_side, box_convention=box_convention,
                                structured_output=structured_output or "json_schema")
        return io.NodeOutput(HTTPPlanner(cfg))


class BrushEditPlannerLocalVLM(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BrushEditPlannerLocalVLM",
            **search_aliases("qwen vl", "qwen2-vl", "qwen2.5-vl", "qwen3-vl", "vlm planner", "local vision model"),
            display_name="BrushEdit Planner Backend (local Qwen-VL)",
            category="BrushEdit/planner",
            description="Loads a Qwen2-VL / Qwen2.5-VL / Qwen3-VL model folder from models/LLM offline with "
                        "transformers, under ComfyUI's model management. Each family's box convention is handled.",
            inputs=[
                io.Combo.Input("model", options=list_llm_folders(),
                               tooltip="A model folder under models/LLM (with config.json, weights, tokenizer)."),
                io.Combo.Input("family", options=list(VLM_FAMILIES), default="auto",
                               tooltip="Model family; auto reads config.json's model_type."),
                io.Combo.Input("dtype", options=["auto", *PLANNER_DTYPES], default="auto",
                               tooltip="Weight dtype; auto = ComfyUI's choice for the device (float32 on CPU)."),
                io.Int.Input("max_new_tokens", default=256, min=16, max=2048,
                             tooltip="Upper bound on the answer length."),
                io.Int.Input("max_image_side", default=1024, min=64, max=4096, step=32,
                             tooltip="The image is downscaled to at most this side before the model sees it."),
            ],
            outputs=[PlannerType.Output(display_name="planner", tooltip="Connect to BrushEdit Planner.")],
        )

    @classmethod
    def validate_inputs(cls, model: str, family: str, dtype: str, **_: object) -> bool | str:
        if family not in VLM_FAMILIES:
            return f"unknown family '{family}': use one of {', '.join(VLM_FAMILIES)}"
        return check_local_model(model, dtype)

    @classmethod
    def execute(cls, model: str, family: str, dtype: str, max_new_tokens: int, max_image_side: int) -> io.NodeOutput:
        from ..brushnet_core.planner.vlm_backend import load_vlm_planner

        path = resolve_model(LLM_FOLDERS, model, **LLM_FOLDER)
        planner = load_vlm_planner(path, family=family, dtype=resolve_dtype(dtype),
                                   max_new_tokens=max_new_tokens, max_image_side=max_image_side,
                                   manager=managed_vlm)
        return io.NodeOutput(planner)


class BrushEditPlannerLocalLLM(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BrushEditPlannerLocalLLM",
            **search_aliases("local llm planner", "qwen instruct", "text planner", "offline llm"),
            display_name="BrushEdit Planner Backend (local LLM, text only)",
            category="BrushEdit/planner",
            description="Plans from the instruction text with a small local instruct model (Hugging Face folder "
                        "under models/LLM, e.g. Qwen2.5-1.5B-Instruct or Qwen3-1.7B), offline, under ComfyUI's "
                        "model management. Understands other languages, typos and subtle requests; it does not "
                        "see the image, so addition boxes come from position words.",
            inputs=[
                io.Combo.Input("model", options=list_llm_folders(),
                               tooltip="A text-only instruct model folder under models/LLM "
                                       "(config.json, *.safetensors, tokenizer with a chat template)."),
                io.Combo.Input("dtype", options=["auto", *PLANNER_DTYPES], default="auto",
                               tooltip="Weight dtype; auto = ComfyUI's choice for the device (float32 on CPU)."),
                io.Int.Input("max_new_tokens", default=256, min=16, max=2048,
                             tooltip="Upper bound on the answer length."),
            ],
            outputs=[PlannerType.Output(display_name="planner", tooltip="Connect to BrushEdit Planner.")],
        )

    @classmethod
    def validate_inputs(cls, model: str, dtype: str, **_: object) -> bool | str:
        return check_local_model(model, dtype)

    @classmethod
    def execute(cls, model: str, dtype: str, max_new_tokens: int) -> io.NodeOutput:
        from ..brushnet_core.planner.llm_backend import load_llm_planner

        path = resolve_model(LLM_FOLDERS, model, **LLM_FOLDER)
        return io.NodeOutput(load_llm_planner(path, dtype=resolve_dtype(dtype), max_new_tokens=max_new_tokens,
                                              manager=managed_vlm))


def _plan_inputs_complete(category: str, obj: str, caption: str, box) -> bool:
    if category not in CATEGORIES or not caption.strip():
        return False
    if category in NEEDS_OBJECT and not obj.strip():
        return False
    return category != "addition" or box is not None


class BrushEditPlanner(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BrushEditPlanner",
            **search_aliases("instruction edit", "edit instruction", "brushedit", "remove object instruction", "plan edit"),
            display_name="BrushEdit Planner",
            category="BrushEdit/planner",
            description="Turns an editing instruction ('remove the dog', 'add a hat on the cat') into an edit "
                        "category, the object phrase (for the text mask), the target caption (BrushNet's "
                        "prompt) and, for additions, a box. Every output can be overridden by the inputs below.",
            inputs=[
                io.Image.Input("image", tooltip="The image to edit (the first of a batch is planned)."),
                io.String.Input("instruction", multiline=True, default="remove the dog",
                                tooltip="What to change, in plain words."),
                PlannerType.Input("planner", optional=True,
                                  tooltip="A planner backend node; without one the rule-based planner is used."),
                io.String.Input("source_caption", optional=True, default="",
                                tooltip="Optional description of the image before the edit; helps the "
                                        "rule-based planner write the target caption."),
                io.Combo.Input("override_category", options=["auto", *CATEGORIES], default="auto", optional=True,
                               tooltip="Force the category instead of the planner's."),
                io.String.Input("override_object", optional=True, default="",
                                tooltip="Force the object phrase (empty = planner's)."),
                io.String.Input("override_caption", optional=True, default="", multiline=True,
                                tooltip="Force the target caption (empty = planner's)."),
                io.String.Input("override_box", optional=True, default="",
                                tooltip="Force the addition box as 'x0, y0, x1, y1' in pixels of the input image."),
            ],
            outputs=[
                PlanType.Output(display_name="plan", tooltip="The whole plan, for BrushEdit Plan Mask."),
                io.String.Output(display_name="category",
                                 tooltip="addition, remove, local, global or background; 'unknown' when the "
                                         "instruction was not understood (Plan Mask then stops and says why)."),
                io.String.Output(display_name="object", tooltip="Object phrase: connect to the text-mask node's text."),
                io.String.Output(display_name="target_caption",
                                 tooltip="Caption of the edited image: connect to CLIPTextEncode's text (positive)."),
                io.Mask.Output(display_name="box_mask", tooltip="The addition box as a mask (empty without a box)."),
                io.Int.Output(display_name="box_x", tooltip="Box left edge in pixels (0 without a box)."),
                io.Int.Output(display_name="box_y", tooltip="Box top edge in pixels (0 without a box)."),
                io.Int.Output(display_name="box_width", tooltip="Box width in pixels (0 without a box)."),
                io.Int.Output(display_name="box_height", tooltip="Box height in pixels (0 without a box)."),
                io.String.Output(display_name="raw_answer", tooltip="What the backend answered, for inspection."),
                io.String.Output(display_name="info",
                                 tooltip="The plan in words: category, confidence, object, caption, what was not "
                                         "understood, further edits not planned, notes."),
            ],
        )

    @classmethod
    def execute(cls, image: torch.Tensor, instruction: str, planner=None, source_caption: str = "",
                override_category: str = "auto", override_object: str = "", override_caption: str = "",
                override_box: str = "") -> io.NodeOutput:
        pil = image_to_pil(image)
        height, width = int(image.shape[1]), int(image.shape[2])
        box = parse_box_text(override_box)
        category = override_category if override_category in CATEGORIES else ""
        if category and _plan_inputs_complete(category, override_object, override_caption, box):
            plan = EditPlan(category=category, object_phrase=override_object.strip(),
                            target_caption=override_caption.strip(), box=box,
                            raw_answer="(every field overridden; no planner call)", backend="user")
        else:
            backend = planner if planner is not None else RulesPlanner()
            # the one boundary for backend text: errors and every text field of the plan are scrubbed of
            # secrets here (log lines by the filter on the pack's loggers, see brushnet_core/planner/redact.py)
            plan = redact.plan_safely(backend, pil, instruction, source_caption or "",
                                      cancel_check=compat.cancel_check())
            understood = plan.category != UNKNOWN
            plan = plan.with_overrides(category or None, override_object, override_caption, box)
            if not understood and plan.category != UNKNOWN and not plan.target_caption:
                plan = plan.with_overrides(target_caption=default_caption(plan.category, plan.object_phrase,
                                                                          instruction))
        if plan.category == "addition" and plan.box is None:
            log.warning("[BrushEdit] addition plan without a box; type one into override_box or draw a mask")
        if plan.category == UNKNOWN:
            log.warning("[BrushEdit] planner did not understand %r: %s", instruction, plan.reason)
        log.info("[BrushEdit] plan: %s", plan.summary())
        bmask = box_mask(height, width, plan.box) if plan.box is not None else torch.zeros(1, height, width)
        x, y, w, h = plan.box_xywh()
        info = plan.info()
        return io.NodeOutput(plan, plan.category, plan.object_phrase, plan.target_caption, bmask,
                             x, y, w, h, plan.raw_answer, info, ui=ui.PreviewText(info))


class BrushEditPlanMask(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BrushEditPlanMask",
            **search_aliases("plan mask", "edit mask", "mask from plan", "instruction mask"),
            display_name="BrushEdit Plan Mask",
            category="BrushEdit/planner",
            description="The mask to inpaint for a plan: remove -> object mask grown; local -> object mask; "
                        "background -> subject mask inverted; global -> whole image; addition -> the planned box. "
                        "The mask input (text mask or drawn) is only evaluated when the category needs it.",
            inputs=[
                io.Image.Input("image", tooltip="The image being edited (sets the mask size)."),
                PlanType.Input("plan", tooltip="From BrushEdit Planner."),
                io.Mask.Input("mask", optional=True, lazy=True,
                              tooltip="Object mask (remove/local) or subject mask (background): from "
                                      "BrushEditTextMask or drawn. Not needed for global and addition."),
                io.Int.Input("grow_remove_px", default=20, min=0, max=256,
                             tooltip="Grow the mask by this many pixels for removals (catches edges, shadows)."),
                io.Int.Input("grow_local_px", default=0, min=0, max=256,
                             tooltip="Grow the mask by this many pixels for local edits."),
            ],
            outputs=[io.Mask.Output("inpaint_mask", display_name="mask",
                                    tooltip="The region BrushNet repaints (1 = repaint).")],
        )

    @classmethod
    def check_lazy_status(cls, image=None, plan=None, **kwargs) -> list[str]:
        # ComfyUI passes a connected, not yet evaluated input as None and leaves an unconnected one
        # out; asking for an unconnected input makes ComfyUI fail with its own raw message, so only
        # a connected mask is requested (execute then explains what is missing).
        if "mask" not in kwargs or kwargs["mask"] is not None or plan is None or plan.category == UNKNOWN:
            return []
        needs_mask = plan.category in ("remove", "local", "background") or (
            plan.category == "addition" and plan.box is None)
        return ["mask"] if needs_mask else []

    @classmethod
    def execute(cls, image: torch.Tensor, plan: EditPlan, grow_remove_px: int, grow_local_px: int,
                mask: torch.Tensor | None = None) -> io.NodeOutput:
        if plan.category == UNKNOWN:
            raise PlannerError(unknown_message(plan))
        batch, height, width = int(image.shape[0]), int(image.shape[1]), int(image.shape[2])
        out = mask_for_plan(plan.category, height, width, mask=mask, box=plan.box,
                            grow_remove_px=grow_remove_px, grow_local_px=grow_local_px,
                            object_phrase=plan.object_phrase, batch=1)
        if out.shape[0] == 1 and batch > 1:
            out = out.expand(batch, -1, -1).clone()
        return io.NodeOutput(out)


NODES: list[type[io.ComfyNode]] = [BrushEditPlannerRules, BrushEditPlannerOpenAI, BrushEditPlannerLocalVLM,
                                   BrushEditPlannerLocalLLM, BrushEditPlanner, BrushEditPlanMask]
