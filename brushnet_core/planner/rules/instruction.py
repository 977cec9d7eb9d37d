"""The public API: a whole instruction read (clauses, 'it' references, confidence) and planned."""
from __future__ import annotations

import re
from typing import Optional

from ..plan import Box, EditPlan, PlanInputError, UNKNOWN
from .captions import _background_caption, _remove_caption
from .clause import read_clause
from .normalise import _correct, _language_problem, normalise, split_edits
from .phrases import _article
from .reading import DEFAULT_REMOVE_CAPTION, Reading, _unknown, UNKNOWN_BELOW


def read_instruction(instruction: str, source_caption: str = "") -> Reading:
    """The rules' full reading of one instruction (category may be ``unknown``)."""
    raw = (instruction or "").strip()
    if not raw:
        return _unknown("the instruction is empty")
    problem = _language_problem(raw.lower())
    if problem:
        return _unknown(f"{problem}; the rules only read English", 0.0, planned=raw)
    notes: list[str] = []
    text = normalise(raw)
    if not re.search(r"[a-z]", text):
        return _unknown("it has no words", 0.0, planned=raw)
    text, fixes = _correct(text, notes)
    src = (source_caption or "").strip().rstrip(".")
    clauses = split_edits(text)
    if not clauses:
        return _unknown("there is no edit in it, only chat", 0.0, planned=raw)
    readings: list[tuple[str, Reading]] = []
    for clause in clauses:
        r = read_clause(clause, src)
        m_it = re.match(r"^(?:make|turn|change)\s+it\s+(?:to\s+|into\s+)?(?P<y>.+)$", clause)
        if m_it and readings and readings[-1][1].category == "background":
            prev_clause, prev = readings[-1]
            prev.caption = _background_caption(m_it.group("y"), src=src)
            prev.new = m_it.group("y")
            readings[-1] = (f"{prev_clause} and {clause}", prev)
            continue
        if r.reason == "pronoun" and readings and readings[-1][1].object_phrase and \
                (readings[-1][1].category in ("remove", "local", "addition") or readings[-1][1].new == "mention"):
            prev_clause, prev = readings[-1]
            r = read_clause(re.sub(r"\b(?:it|them|that|this|those|these)\b(?!.*\b(?:it|them)\b)",
                                   f"the {prev.object_phrase}", clause, count=1), src)
            r.confidence = max(r.confidence, prev.confidence) - 0.04
            r.notes.append(f"'it' read as '{prev.object_phrase}'")
            readings[-1] = (f"{prev_clause}, {clause}", r)
            continue
        readings.append((clause, r))
    understood = [(c, r) for c, r in readings if r.category != UNKNOWN]
    if not understood:
        clause, r = readings[0]
        if r.reason == "pronoun":
            r = _unknown(f"'{clause}' does not name the object ('it'/'them' refers to nothing said before)", 0.3)
        r.notes = notes + r.notes
        r.planned = clause
        if len(readings) > 1:
            r.reason += f" (and {len(readings) - 1} more part(s) not understood either)"
        return r
    clause, first = understood[0]
    first.notes = notes + first.notes
    first.planned = clause
    first.others = [c for c, _r in readings if c != clause]
    if first.category == "remove" and (first.reason == "pronoun" or not first.object_phrase):
        # 'remove this' / 'remove the thing': clearly a removal, of whatever the user masks by hand
        first.object_phrase, first.reason = "", ""
        first.caption = first.caption or _remove_caption(first.location, src, "")
        first.confidence = 0.55
        first.notes.append("the instruction does not name the object: connect a drawn mask to Plan Mask's mask "
                           "input, or type override_object for Text to Mask")
    elif first.reason == "pronoun" or (first.category in ("remove", "local") and not first.object_phrase):
        return _unknown(f"'{clause}' does not say which object to {'remove' if first.category == 'remove' else 'change'}",
                        0.3, notes=first.notes, planned=clause)
    conf = first.confidence - 0.07 * min(fixes, 3)
    if first.others:
        conf -= 0.05
        shown = "; ".join(f"'{c}'" for c in first.others)
        first.notes.append(f"{len(readings)} edits in one instruction: planned the first ('{clause}'); "
                           f"not planned: {shown} - run the planner again on the result for each")
    if not first.caption:
        conf = min(conf, 0.45)
    first.confidence = round(max(0.0, min(1.0, conf)), 2)
    if first.confidence < UNKNOWN_BELOW:
        why = first.reason if first.reason and first.reason != "pronoun" else "the pattern match is weak"
        guess = f"best guess {first.category}" + (f" '{first.object_phrase}'" if first.object_phrase else "")
        return _unknown(f"'{clause}' is not clear enough ({why}; {guess}, confidence {first.confidence:.2f})",
                        first.confidence, object_phrase=first.object_phrase, notes=first.notes, planned=clause,
                        others=first.others, new=first.new)
    return first


def classify(instruction: str) -> tuple[str, str, str]:
    """(category, object phrase, new content phrase) for one instruction."""
    r = read_instruction(instruction)
    return r.category, r.object_phrase, r.new


def addition_box(instruction: str, width: int, height: int) -> Box:
    """A box of a third of the image, placed by position words (centre by default)."""
    col, row = 1, 1
    pos = {"left": (0, None), "right": (2, None), "top": (None, 0), "upper": (None, 0), "above": (None, 0),
           "sky": (None, 0), "bottom": (None, 2), "lower": (None, 2), "ground": (None, 2), "floor": (None, 2)}
    for w in re.findall(r"[a-z]+", instruction.lower()):
        c, r = pos.get(w, (None, None))
        col = c if c is not None else col
        row = r if r is not None else row
    bw, bh = max(1, width // 3), max(1, height // 3)
    x0 = min(col * width // 3, width - bw)
    y0 = min(row * height // 3, height - bh)
    return (x0, y0, x0 + bw, y0 + bh)


def default_caption(category: str, object_phrase: str, instruction: str) -> str:
    """A caption when the user set the category by hand on an instruction the rules did not understand."""
    if category == "remove":
        return DEFAULT_REMOVE_CAPTION
    if object_phrase and category in ("local", "addition"):
        return _article(object_phrase)
    return instruction.strip()


def rule_plan(
    instruction: str,
    width: int,
    height: int,
    source_caption: str = "",
) -> EditPlan:
    """Plan one instruction without a model. ``source_caption`` (optional) describes the input image."""
    if not instruction or not instruction.strip():
        raise PlanInputError("the instruction is empty: type what to change, e.g. 'remove the dog'")
    r = read_instruction(instruction, source_caption)
    notes = ["rule-based plan: no model saw the image"] + r.notes
    box: Optional[Box] = None
    if r.category == "addition":
        box = addition_box(r.planned or instruction, width, height)
        notes.append("rule-based box from position words only; override it or draw a mask")
    raw = f"(rules) {r.category}: object={r.object_phrase!r} new={r.new!r} confidence={r.confidence:.2f}"
    if r.category == UNKNOWN and (not r.planned or r.planned.lower() not in r.reason.lower()):
        r.reason = f"{instruction.strip()!r}: {r.reason}"  # the message names what was not understood
    if r.category == UNKNOWN:
        raw += f" - not understood: {r.reason}"
    return EditPlan(category=r.category, object_phrase=r.object_phrase, target_caption=r.caption.strip(" ,"),
                    box=box, raw_answer=raw, backend="rules", notes=tuple(notes), confidence=r.confidence,
                    reason=r.reason if r.category == UNKNOWN else "", others=tuple(r.others))
