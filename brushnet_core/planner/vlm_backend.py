"""Local Qwen-VL planner (Qwen2-VL, Qwen2.5-VL, Qwen3-VL) with transformers, loaded offline.

transformers is imported inside functions only. Box conventions per family:
Qwen2-VL and Qwen3-VL answer in 0-1000 normalised coordinates; Qwen2.5-VL answers in absolute
pixels of ITS OWN resized input (the processor's smart resize), which we compute from the
processor's ``image_grid_thw`` and convert back to the original image.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import torch

from .backend import CancelCheck, ChatPlanner, SYSTEM_PROMPT, Turn, no_cancel
from .local_model import LocalModelUnsupported, Manager, generate, managed, offline_folder, read_model_type, torch_dtype
from .plan import PlanInputError, PlannerError

#: model_type in config.json -> (transformers class name, box convention)
FAMILIES: dict[str, tuple[str, str]] = {
    "qwen2_vl": ("Qwen2VLForConditionalGeneration", "norm1000"),
    "qwen2_5_vl": ("Qwen2_5_VLForConditionalGeneration", "pixels"),
    "qwen3_vl": ("Qwen3VLForConditionalGeneration", "norm1000"),
    "qwen3_vl_moe": ("Qwen3VLMoeForConditionalGeneration", "norm1000"),
}
__all__ = ["FAMILIES", "Manager", "VLMPlanner", "detect_family", "load_vlm_planner"]


def detect_family(path: str) -> str:
    """The model family from ``config.json``'s ``model_type``."""
    model_type = read_model_type(path)
    if model_type not in FAMILIES:
        raise PlanInputError(
            f"{path} is a {model_type or 'unknown'!r} model; the local planner supports "
            f"{', '.join(FAMILIES)} (Qwen2-VL, Qwen2.5-VL, Qwen3-VL). Use the OpenAI-compatible backend "
            "(e.g. vLLM/Ollama/LM Studio) for other models."
        )
    return model_type


class VLMPlanner(ChatPlanner):
    """Plans with a local Qwen-VL model; boxes are converted with the family's convention."""

    def __init__(self, model: Any, processor: Any, family: str, max_new_tokens: int = 256,
                 max_image_side: int = 1024, ensure_loaded: Optional[Callable[[], torch.device]] = None,
                 name: str = "") -> None:
        self.model = model
        self.processor = processor
        self.family = family
        self.box_convention = FAMILIES[family][1]
        self.max_new_tokens = int(max_new_tokens)
        self.max_image_side = int(max_image_side)
        self.ensure_loaded = ensure_loaded or (lambda: torch.device("cpu"))
        self.name = f"local:{name or family}"

    def prepare(self, image: Any) -> tuple[Any, tuple[int, int]]:
        """Downscale to ``max_image_side``; the reference size is what the model's pixels refer to."""
        w, h = image.size
        if self.max_image_side > 0 and max(w, h) > self.max_image_side:
            s = self.max_image_side / max(w, h)
            image = image.resize((max(1, round(w * s)), max(1, round(h * s))))
        if self.box_convention != "pixels":
            return image, image.size
        return image, self.model_input_size(image)

    def model_input_size(self, image: Any) -> tuple[int, int]:
        """(width, height) of the image after the processor's own resize (Qwen2.5-VL's pixel space)."""
        ip = self.processor.image_processor
        grid = ip(images=[image], return_tensors="pt")["image_grid_thw"][0]
        patch = int(getattr(ip, "patch_size", 14))
        return int(grid[2]) * patch, int(grid[1]) * patch

    def messages(self, turns: list[Turn], image: Optional[Any]) -> list[dict]:
        out: list[dict] = [{"role": "system", "content": [{"type": "text", "text": SYSTEM_PROMPT}]}]
        for i, (role, text) in enumerate(turns):
            parts: list[dict] = []
            if i == 0 and image is not None:
                parts.append({"type": "image"})
            parts.append({"type": "text", "text": text})
            out.append({"role": role, "content": parts})
        return out

    @torch.inference_mode()
    def chat(self, turns: list[Turn], image: Optional[Any], cancel_check: Optional[CancelCheck] = None) -> str:
        check = cancel_check or no_cancel
        text = self.processor.apply_chat_template(self.messages(turns, image), tokenize=False,
                                                  add_generation_prompt=True)
        inputs = self.processor(text=[text], images=[image] if image is not None else None,
                                return_tensors="pt")
        device = self.ensure_loaded()
        dtype = next(self.model.parameters()).dtype
        batch = {k: (v.to(device, dtype) if k.startswith("pixel_values") else v.to(device))
                 for k, v in inputs.items() if isinstance(v, torch.Tensor)}
        new_tokens = generate(self.model, batch, self.max_new_tokens, check)
        return self.processor.batch_decode(new_tokens, skip_special_tokens=True)[0].strip()


def load_vlm_planner(path: str, family: str = "auto", dtype: Any = "float32", max_new_tokens: int = 256,
                     max_image_side: int = 1024, manager: Optional[Manager] = None) -> VLMPlanner:
    """Load model + processor from a local folder (``local_files_only``, no hub access)."""
    import transformers

    found = detect_family(path)
    if family not in ("auto", found):
        raise PlanInputError(f"{path} is a {found!r} model but family {family!r} was chosen; pick 'auto' or {found!r}")
    cls_name = FAMILIES[found][0]
    cls = getattr(transformers, cls_name, None)
    if cls is None:
        raise LocalModelUnsupported(f"transformers {transformers.__version__} has no {cls_name}; upgrade transformers "
                                    "to load this model family")
    dtype = torch_dtype(dtype)
    with offline_folder(path, "config.json, the weights, the tokenizer files, preprocessor_config.json and "
                              "chat_template(.json/.jinja)"):
        processor = transformers.AutoProcessor.from_pretrained(path, local_files_only=True)
        model = cls.from_pretrained(path, local_files_only=True, dtype=dtype)
    if getattr(processor, "chat_template", None) is None:
        raise PlannerError(f"{path} has no chat template; copy chat_template.json from the original repository")
    ensure, name = managed(model, manager, path, "planner", f"{found}, {dtype}")
    return VLMPlanner(model, processor, found, max_new_tokens, max_image_side, ensure, name=name)
