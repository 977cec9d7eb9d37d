"""Prompt text for MLLM planners (our own wording; JSON answers, box convention stated)."""
from __future__ import annotations

from .plan import CATEGORIES

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
- "background": keep the main subject, replace what is behind it ("put her on a beach")."""

_FIELDS = """JSON fields:
- "category": one of {cats}.
- "object": the thing to edit as a short noun phrase (at most five words) taken from the picture,
  e.g. "brown dog". For "remove" and "local" it is the existing thing; for "addition" the new thing;
  for "global" and "background" use "".
- "target_caption": one sentence describing the picture AFTER the edit. Never mention removed or
  replaced things; for "remove" describe only what remains.
- "box": only for "addition": where the new thing should go, as [x0, y0, x1, y1] (left, top, right,
  bottom corners) {box_rule}. For other categories use null."""

_BOX_RULES = {
    "pixels": "in pixels of this {w}x{h} image (0 <= x <= {w}, 0 <= y <= {h})",
    "norm1000": "in coordinates normalised to 0-1000 (0 = left/top edge, 1000 = right/bottom edge)",
    "norm1": "as fractions of the image size between 0 and 1",
}

_EXAMPLE = (
    'Example answer for "remove the bicycle" on a street photo: '
    '{"category": "remove", "object": "bicycle", '
    '"target_caption": "a quiet street with houses and trees", "box": null}'
)


def box_rule(convention: str, width: int, height: int) -> str:
    """The sentence fragment telling the model how to write the box."""
    key = "pixels" if convention == "auto" else convention
    if key not in _BOX_RULES:
        raise ValueError(f"unknown box convention {convention!r}; expected one of {BOX_CONVENTIONS}")
    return _BOX_RULES[key].format(w=width, h=height)


def plan_prompt(instruction: str, width: int, height: int, convention: str = "pixels") -> str:
    """The user message text for one planning request."""
    fields = _FIELDS.format(cats=", ".join(f'"{c}"' for c in CATEGORIES),
                            box_rule=box_rule(convention, width, height))
    return (
        f"{_CATEGORY_HELP}\n\n{fields}\n\n{_EXAMPLE}\n\n"
        f"The picture is {width}x{height} pixels.\n"
        f"Editing instruction: {instruction.strip()}\n"
        "Answer with the JSON object only."
    )


def repair_prompt(previous_answer: str, problem: str) -> str:
    """Follow-up message after an answer we could not use (one repair round-trip)."""
    clipped = previous_answer if len(previous_answer) <= 1500 else previous_answer[:1500] + " ..."
    return (
        f"Your previous answer could not be used: {problem}\n"
        f"Previous answer: {clipped}\n"
        'Reply again with ONLY one JSON object with the keys "category", "object", '
        '"target_caption" and "box", following the rules above.'
    )
