"""Local text-only LLM planner: a small instruct model (Hugging Face folder) through transformers.

The plan needs no picture, so any chat/instruct causal LM works (Qwen2.5 / Qwen3 instruct at 0.5-3B
parameters fit in a few GB). It reads other languages, typos and subtle wording far better than the
rules. Only public, stable transformers APIs are used (AutoTokenizer, AutoModelForCausalLM,
apply_chat_template, generate) and everything loads with ``local_files_only``. transformers is
imported inside functions only. The addition box comes from the model (0-1000, from position words)
or, when it gives none, from the instruction's position words as in the rule-based planner.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Optional

import torch

from .backend import CancelCheck, ChatPlanner, Turn, no_cancel
from .local_model import Manager, generate, managed, offline_folder, read_model_type, torch_dtype
from .parse import plan_from_answer
from .plan import EditPlan, PlanInputError, PlannerError
from .prompts import TEXT_SYSTEM_PROMPT, text_plan_prompt
from .rules import addition_box

log = logging.getLogger("BrushEdit.planner")

#: model_type values of vision-language folders: these belong to the local Qwen-VL backend.
_VISION_TYPES = {"qwen2_vl", "qwen2_5_vl", "qwen3_vl", "qwen3_vl_moe", "llava", "llava_next", "idefics3",
                 "smolvlm", "mllama", "paligemma", "gemma3", "internvl", "florence2"}

__all__ = ["LLMPlanner", "Manager", "load_llm_planner", "read_model_type"]


class LLMPlanner(ChatPlanner):
    """Plans from the instruction text alone with a local instruct model."""

    box_convention = "norm1000"

    def __init__(self, model: Any, tokenizer: Any, max_new_tokens: int = 256,
                 ensure_loaded: Optional[Callable[[], torch.device]] = None, name: str = "") -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.max_new_tokens = int(max_new_tokens)
        self.ensure_loaded = ensure_loaded or (lambda: torch.device("cpu"))
        self.name = f"llm:{name or 'local'}"

    def prepare(self, image: Any) -> tuple[Any, tuple[int, int]]:
        return None, image.size  # the picture is never sent

    def build_prompt(self, instruction: str, ref_size: tuple[int, int]) -> str:
        return text_plan_prompt(instruction)

    def parse_answer(self, answer: str, image: Any, ref_size: tuple[int, int], instruction: str) -> EditPlan:
        width, height = image.size
        return plan_from_answer(answer, (width, height), "norm1000", None, backend=self.name,
                                default_box=addition_box(instruction, width, height))

    def messages(self, turns: list[Turn], system: bool = True) -> list[dict]:
        out = [{"role": role, "content": text} for role, text in turns]
        if system:
            return [{"role": "system", "content": TEXT_SYSTEM_PROMPT}] + out
        if out and out[0]["role"] == "user":  # templates without a system role: fold it into the first turn
            out[0] = {"role": "user", "content": f"{TEXT_SYSTEM_PROMPT}\n\n{out[0]['content']}"}
        return out

    def render(self, turns: list[Turn]) -> str:
        """The chat template applied to the turns (thinking switched off where the template has it)."""
        try:
            return self.tokenizer.apply_chat_template(self.messages(turns), tokenize=False,
                                                      add_generation_prompt=True, enable_thinking=False)
        except Exception as exc:  # noqa: BLE001 - e.g. jinja "System role not supported"
            log.info("[BrushEdit] chat template refused a system turn (%s); folding it into the user turn", exc)
            return self.tokenizer.apply_chat_template(self.messages(turns, system=False), tokenize=False,
                                                      add_generation_prompt=True, enable_thinking=False)

    @torch.inference_mode()
    def chat(self, turns: list[Turn], image: Optional[Any], cancel_check: Optional[CancelCheck] = None) -> str:
        check = cancel_check or no_cancel
        text = self.render(turns)
        inputs = self.tokenizer(text, return_tensors="pt", add_special_tokens=False)
        device = self.ensure_loaded()
        batch = {k: v.to(device) for k, v in inputs.items() if k in ("input_ids", "attention_mask")}
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = self.tokenizer.eos_token_id
        new_tokens = generate(self.model, batch, self.max_new_tokens, check, pad_token_id=pad)
        return self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)[0].strip()


def load_llm_planner(path: str, dtype: Any = "float32", max_new_tokens: int = 256,
                     manager: Optional[Manager] = None) -> LLMPlanner:
    """Load tokenizer + causal LM from a local folder (``local_files_only``, no hub access)."""
    import transformers

    model_type = read_model_type(path)
    if model_type in _VISION_TYPES:
        raise PlanInputError(
            f"{path} is a vision-language model ({model_type}); load it with BrushEdit Planner Backend "
            "(local Qwen-VL), or pick a text-only instruct model (e.g. Qwen2.5-1.5B-Instruct) here"
        )
    dtype = torch_dtype(dtype)
    try:
        with offline_folder(path, "config.json, the weights (*.safetensors), the tokenizer files and a chat "
                                  "template (an *Instruct* model)"):
            tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = transformers.AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=dtype)
    except (ValueError, KeyError) as exc:
        raise PlannerError(
            f"transformers {transformers.__version__} cannot load {path} ({model_type or 'no model_type'}) as a "
            f"text model: {exc}. Use a text-only instruct model such as Qwen2.5-Instruct or Qwen3."
        ) from None
    if not getattr(tokenizer, "chat_template", None):
        raise PlannerError(
            f"{path} has no chat template (tokenizer_config.json 'chat_template' or chat_template.jinja); "
            "use the *Instruct* version of the model"
        )
    ensure, name = managed(model, manager, path, "text planner", f"{model_type}, {dtype}")
    return LLMPlanner(model, tokenizer, max_new_tokens, ensure, name=name)
