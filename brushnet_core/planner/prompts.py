"""Prompt text for MLLM planners (our own wording; JSON answers, box convention stated)."""
from __future__ import annotations

from typing import Any

from .plan import CATEGORIES, UNKNOWN, PlanInputError

#: Box conventions a backend can ask for / a model can answer in.
BOX_CONVENTIONS: tuple[str, ...] = ("pixels", "norm1000", "norm1", "auto")

SYSTEM_PROMPT = (
    "You plan image edits for an inpainting model. You look at the picture and the user's "
    "editing instruction and reply with ONE JSON object and nothing else - no prose, no code fence."
)

_CATEGORY_HELP = """Categories (pick exactly one):
- "addition": put a new thing into the picture that is not there yet ("add a hat on the cat").
- "remove": take something out so that it disappears ("remove the dog", "erase the text").
- "local": change the look or identity of one existing thing ("make the car red", "turn the cat into a tiger").
- "global": change the whole picture's style, season, light or time ("make it winter", "as an oil painting").
- "background": keep the main subject, replace what is behind it ("put her on a beach").
- "unknown": only when the text is not an image edit at all or you cannot tell what it asks."""

_FIELDS = """JSON fields:
- "category": one of {cats}.
- "object": the thing to edit as a short noun phrase (at most five words) taken from the picture,
  e.g. "brown dog". For "remove" and "local" it is the existing thing; for "addition" the new thing;
  for "global" and "background" use "".
- "target_caption": one sentence describing the picture AFTER the edit. Never mention removed or
  replaced things; for "remove" describe only what remains.
- "box": only for "addition": where the new thing should go, as [x0, y0, x1, y1] (left, top, right,
  bottom corners) {box_rule}. For other categories use null.
- "confidence": how sure you are of the category and object, from 0 to 1.
The instruction may be in any language, contain typos, or several edits: plan only the first edit."""

_BOX_RULES = {
    "pixels": "in pixels of this {w}x{h} image (0 <= x <= {w}, 0 <= y <= {h})",
    "norm1000": "in coordinates normalised to 0-1000 (0 = left/top edge, 1000 = right/bottom edge)",
    "norm1": "as fractions of the image size between 0 and 1",
}

_EXAMPLE = (
    'Example answer for "remove the bicycle" on a street photo: '
    '{"category": "remove", "object": "bicycle", '
    '"target_caption": "a quiet street with houses and trees", "box": null, "confidence": 0.95}'
)

TEXT_SYSTEM_PROMPT = (
    "You plan image edits for an inpainting model. You read the user's editing instruction (you do "
    "not see the picture) and reply with ONE JSON object and nothing else - no prose, no code fence."
)

_TEXT_FIELDS = """JSON fields:
- "category": one of {cats}.
- "object": the thing to edit as a short English noun phrase (at most five words), e.g. "brown dog".
  For "remove" and "local" it is the existing thing; for "addition" the new thing; for "global" and
  "background" use "".
- "target_caption": one English sentence describing the picture AFTER the edit (a well-formed
  description such as "a green bicycle" or "a photo in the style of an oil painting"). Never mention
  removed or replaced things.
- "box": only for "addition", when the instruction says where ("top left", "on the right"): the place
  as [x0, y0, x1, y1] with coordinates from 0 to 1000 (0 = left/top edge). Otherwise null.
- "confidence": how sure you are of the category and object, from 0 to 1.
The instruction may be in any language, contain typos, or several edits: plan only the first edit,
and always answer in English."""

_TEXT_EXAMPLE = (
    'Example answer for "quita el perro": {"category": "remove", "object": "dog", '
    '"target_caption": "an empty lawn", "box": null, "confidence": 0.9}'
)


def box_rule(convention: str, width: int, height: int) -> str:
    """The sentence fragment telling the model how to write the box."""
    key = "pixels" if convention == "auto" else convention
    if key not in _BOX_RULES:
        raise PlanInputError(f"unknown box convention {convention!r}; expected one of {BOX_CONVENTIONS}")
    return _BOX_RULES[key].format(w=width, h=height)


def plan_prompt(instruction: str, width: int, height: int, convention: str = "pixels") -> str:
    """The user message text for one planning request."""
    fields = _FIELDS.format(cats=", ".join(f'"{c}"' for c in (*CATEGORIES, UNKNOWN)),
                            box_rule=box_rule(convention, width, height))
    return (
        f"{_CATEGORY_HELP}\n\n{fields}\n\n{_EXAMPLE}\n\n"
        f"The picture is {width}x{height} pixels.\n"
        f"Editing instruction: {instruction.strip()}\n"
        "Answer with the JSON object only."
    )


def text_plan_prompt(instruction: str) -> str:
    """The user message for a text-only model (no picture): the box, if any, in 0-1000."""
    fields = _TEXT_FIELDS.format(cats=", ".join(f'"{c}"' for c in (*CATEGORIES, UNKNOWN)))
    return (
        f"{_CATEGORY_HELP}\n\n{fields}\n\n{_TEXT_EXAMPLE}\n\n"
        f"Editing instruction: {instruction.strip()}\n"
        "Answer with the JSON object only."
    )


def plan_json_schema() -> dict[str, Any]:
    """JSON schema of a plan answer (for servers that constrain output to a schema)."""
    return {
        "type": "object",
        "properties": {
            "category": {"type": "string", "enum": [*CATEGORIES, UNKNOWN]},
            "object": {"type": "string"},
            "target_caption": {"type": "string"},
            "box": {"anyOf": [{"type": "array", "items": {"type": "number"}}, {"type": "null"}]},
            "confidence": {"type": "number"},
        },
        "required": ["category", "object", "target_caption", "box", "confidence"],
        "additionalProperties": False,
    }


def response_format() -> dict[str, Any]:
    """The OpenAI ``response_format`` asking for a plan that follows :func:`plan_json_schema`."""
    return {"type": "json_schema", "json_schema": {"name": "edit_plan", "strict": True, "schema": plan_json_schema()}}


def repair_prompt(previous_answer: str, problem: str) -> str:
    """Follow-up message after an answer we could not use (one repair round-trip)."""
    clipped = previous_answer if len(previous_answer) <= 1500 else previous_answer[:1500] + " ..."
    return (
        f"Your previous answer could not be used: {problem}\n"
        f"Previous answer: {clipped}\n"
        'Reply again with ONLY one JSON object with the keys "category", "object", '
        '"target_caption", "box" and "confidence", following the rules above.'
    )
