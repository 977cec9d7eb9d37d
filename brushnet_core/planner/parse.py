"""Turn an MLLM answer into an :class:`EditPlan`: strict JSON, tolerant extraction, box checks."""
from __future__ import annotations

import json
import re
from typing import Any, Optional

from .plan import CATEGORIES, NEEDS_OBJECT, UNKNOWN, Box, EditPlan, PlanInputError, PlanParseError

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")

_CATEGORY_ALIASES = {
    "add": "addition", "adding": "addition", "addition": "addition", "insert": "addition",
    "remove": "remove", "removal": "remove", "delete": "remove", "erase": "remove", "removing": "remove",
    "local": "local", "local edit": "local", "local editing": "local", "modify": "local", "replace": "local",
    "global": "global", "global edit": "global", "global editing": "global", "style": "global",
    "background": "background", "background change": "background", "background edit": "background",
    "bg": "background",
    "unknown": UNKNOWN, "unclear": UNKNOWN, "not an edit": UNKNOWN, "none": UNKNOWN, "not understood": UNKNOWN,
}
_KEYS = {
    "category": ("category", "edit_category", "type", "edit_type"),
    "object": ("object", "object_phrase", "target_object", "object_name", "subject"),
    "caption": ("target_caption", "caption", "target_prompt", "prompt", "description"),
    "box": ("box", "bbox", "bounding_box", "addition_box", "position"),
    "confidence": ("confidence", "certainty", "score", "probability"),
    "reason": ("reason", "why", "explanation", "note"),
}


def quote(answer: str, limit: int = 400) -> str:
    """The answer as it can appear inside an error message."""
    text = answer.strip()
    return repr(text if len(text) <= limit else text[:limit] + " ...")


def _balanced_objects(text: str) -> list[str]:
    """Every top-level ``{...}`` span of ``text``, respecting JSON strings."""
    spans, depth, start, in_str, escape = [], 0, -1, False, False
    for i, ch in enumerate(text):
        if in_str:
            escape = (ch == "\\") and not escape
            if ch == '"' and not escape:
                in_str = False
            continue
        if ch == '"':
            in_str, escape = True, False
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                spans.append(text[start : i + 1])
    return spans


def _loads(candidate: str) -> Optional[dict]:
    for attempt in (candidate, _TRAILING_COMMA.sub(r"\1", candidate.replace("\u201c", '"').replace("\u201d", '"'))):
        try:
            value = json.loads(attempt)
        except (json.JSONDecodeError, ValueError):
            continue
        if isinstance(value, dict):
            return value
    return None


def extract_json_object(answer: str) -> dict:
    """The JSON object in ``answer``: bare, inside a code fence, or embedded in chatty text."""
    text = _THINK.sub("", answer or "").strip()
    if not text:
        raise PlanParseError("the planner returned an empty answer")
    candidates = [text] + _FENCE.findall(text) + _balanced_objects(text)
    for cand in candidates:
        found = _loads(cand.strip())
        if found is not None:
            return found
    raise PlanParseError(f"no JSON object found in the planner's answer {quote(text)}")


def _pick(data: dict, field: str) -> Any:
    lowered = {str(k).lower().strip(): v for k, v in data.items()}
    for key in _KEYS[field]:
        if key in lowered:
            return lowered[key]
    return None


def normalise_category(value: Any) -> str:
    """Map a category answer (any case, common synonyms) to one of :data:`CATEGORIES` or ``unknown``."""
    text = str(value or "").strip().strip(".").lower().replace("_", " ").replace("-", " ")
    if text in _CATEGORY_ALIASES:
        return _CATEGORY_ALIASES[text]
    raise PlanParseError(
        f"category {value!r} is not one of {', '.join(CATEGORIES)}"
    )


def _box_numbers(value: Any) -> list[float]:
    if isinstance(value, dict):
        low = {str(k).lower(): v for k, v in value.items()}
        if all(k in low for k in ("x0", "y0", "x1", "y1")):
            return [float(low[k]) for k in ("x0", "y0", "x1", "y1")]
        if all(k in low for k in ("x", "y", "width", "height")) or all(k in low for k in ("x", "y", "w", "h")):
            w = low.get("width", low.get("w"))
            h = low.get("height", low.get("h"))
            x, y = float(low["x"]), float(low["y"])
            return [x, y, x + float(w), y + float(h)]
        raise PlanParseError(f"box {value!r} has unknown keys; expected [x0, y0, x1, y1]")
    if isinstance(value, str):
        nums = [float(n) for n in _NUMBER.findall(value)]
    elif isinstance(value, (list, tuple)):
        flat: list = []
        for v in value:
            flat.extend(v if isinstance(v, (list, tuple)) else [v])
        try:
            nums = [float(v) for v in flat]
        except (TypeError, ValueError):
            raise PlanParseError(f"box {value!r} contains non-numbers") from None
    else:
        raise PlanParseError(f"box {value!r} is not a list of four numbers")
    if len(nums) != 4:
        raise PlanParseError(f"box {value!r} has {len(nums)} numbers; expected four: [x0, y0, x1, y1]")
    return nums


def guess_convention(nums: list[float], ref_size: tuple[int, int]) -> str:
    """For convention "auto": fractions, pixels of ``ref_size`` or 0-1000, by the values' range."""
    if all(0.0 <= v <= 1.0 for v in nums) and any(v != int(v) for v in nums):
        return "norm1"
    rw, rh = ref_size
    if max(nums[0], nums[2]) <= rw * 1.02 and max(nums[1], nums[3]) <= rh * 1.02:
        return "pixels"
    if max(nums) <= 1000 * 1.02:
        return "norm1000"
    return "pixels"  # out of range for everything: the range check below reports it


def convert_box(
    value: Any,
    convention: str,
    image_size: tuple[int, int],
    ref_size: Optional[tuple[int, int]] = None,
) -> Box:
    """A model's box -> pixels (x0, y0, x1, y1) of the original ``image_size`` = (width, height).

    ``convention``: "pixels" (of ``ref_size``, the size the model saw or was told; defaults to
    ``image_size``), "norm1000" (0-1000), "norm1" (0-1) or "auto". Any image size is accepted.
    """
    width, height = image_size
    ref = ref_size or image_size
    nums = _box_numbers(value)
    conv = guess_convention(nums, ref) if convention == "auto" else convention
    if conv == "pixels":
        sx, sy, lim_x, lim_y = width / ref[0], height / ref[1], ref[0], ref[1]
    elif conv == "norm1000":
        sx, sy, lim_x, lim_y = width / 1000.0, height / 1000.0, 1000, 1000
    elif conv == "norm1":
        sx, sy, lim_x, lim_y = float(width), float(height), 1.0, 1.0
    else:
        raise PlanInputError(f"unknown box convention {convention!r}")
    x0, y0, x1, y1 = nums
    if x1 <= x0 or y1 <= y0:
        raise PlanParseError(
            f"box {nums} is empty or not [x0, y0, x1, y1] (need x0 < x1 and y0 < y1)"
        )
    tol_x, tol_y = 0.05 * lim_x, 0.05 * lim_y
    if min(nums) < -max(tol_x, tol_y) or x1 > lim_x + tol_x or y1 > lim_y + tol_y:
        raise PlanParseError(
            f"box {nums} lies outside the image ({conv}: x in 0..{lim_x}, y in 0..{lim_y})"
        )
    bx0 = min(max(int(round(x0 * sx)), 0), width - 1)
    by0 = min(max(int(round(y0 * sy)), 0), height - 1)
    bx1 = min(max(int(round(x1 * sx)), bx0 + 1), width)
    by1 = min(max(int(round(y1 * sy)), by0 + 1), height)
    return (bx0, by0, bx1, by1)


def parse_confidence(value: Any) -> Optional[float]:
    """A model's stated confidence as 0-1 (accepts 0-1, percentages and words); None when absent or odd."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        word = value.strip().lower().rstrip("%")
        named = {"high": 0.9, "medium": 0.65, "moderate": 0.65, "low": 0.3, "very high": 0.95, "very low": 0.1}
        if word in named:
            return named[word]
        try:
            value = float(word)
        except ValueError:
            return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if 1.0 < number <= 100.0:
        number /= 100.0
    return round(number, 2) if 0.0 <= number <= 1.0 else None


def plan_from_answer(
    answer: str,
    image_size: tuple[int, int],
    convention: str = "pixels",
    ref_size: Optional[tuple[int, int]] = None,
    backend: str = "",
    default_box: Optional[Box] = None,
) -> EditPlan:
    """Parse and validate one answer; raise :class:`PlanParseError` naming what is wrong.

    A model may answer category ``unknown`` (the instruction is not an edit it understands); that is
    a valid plan which Plan Mask refuses with the fixes. ``default_box`` is used for an addition
    without a box (text-only models cannot see where things are).
    """
    data = extract_json_object(answer)
    category = normalise_category(_pick(data, "category"))
    obj = _pick(data, "object")
    obj = obj.strip() if isinstance(obj, str) else ""
    caption = _pick(data, "caption")
    caption = caption.strip() if isinstance(caption, str) else ""
    confidence = parse_confidence(_pick(data, "confidence"))
    if category == UNKNOWN:
        reason = _pick(data, "reason")
        reason = reason.strip() if isinstance(reason, str) and reason.strip() else \
            "the model could not tell which edit is asked"
        return EditPlan(category=UNKNOWN, object_phrase=obj, target_caption=caption, raw_answer=answer,
                        backend=backend, confidence=confidence if confidence is not None else 0.0,
                        reason=f"the model ({backend or 'planner'}) answered 'unknown': {reason}")
    if category in NEEDS_OBJECT and not obj:
        raise PlanParseError(f'category "{category}" needs a non-empty "object" (the thing to edit)')
    if not caption:
        raise PlanParseError('"target_caption" is missing or empty')
    box = None
    raw_box = _pick(data, "box")
    notes: tuple[str, ...] = ()
    if category == "addition":
        if raw_box in (None, "", [], {}):
            if default_box is None:
                raise PlanParseError('category "addition" needs a "box" [x0, y0, x1, y1] for the new object')
            box = default_box
            notes = ("the model gave no box; box placed from the instruction's position words",)
        else:
            box = convert_box(raw_box, convention, image_size, ref_size)
    return EditPlan(category=category, object_phrase=obj, target_caption=caption, box=box,
                    raw_answer=answer, backend=backend, confidence=confidence, notes=notes)
