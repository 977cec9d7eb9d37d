"""Instruction editing planner: instruction (+ image) -> EditPlan (category, object, caption, box).

Backends: rule-based (no model), OpenAI-compatible HTTP (standard library), local Qwen-VL
(transformers, imported lazily). Nothing here imports ComfyUI or touches the network at import.
"""
from .plan import CATEGORIES, EditPlan, PlannerError, PlanParseError

__all__ = ["CATEGORIES", "EditPlan", "PlannerError", "PlanParseError"]
