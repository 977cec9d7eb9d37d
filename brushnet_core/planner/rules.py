"""Rule-based planner: keyword classification, object phrase, caption rewriting. No model needed.

Deterministic and instant, so the flow runs anywhere; it cannot see the image, so the addition
box comes only from position words ("on the left", "top right") and captions are built from the
instruction (plus an optional caption of the source image the user types).
"""
from __future__ import annotations

import re
from typing import Optional

from .plan import Box, EditPlan

_DET = r"(?:the|a|an|this|that|these|those|his|her|their|its|my|our|your|some|all(?: of)?(?: the)?)"
_DET_RE = re.compile(rf"^(?:{_DET}\s+)+", re.I)
_STOP = re.compile(
    r"\s+(?:from|in|on|at|to|into|with|by|near|next|behind|beside|under|over|above|below|"
    r"so|and|but|because|that|which|who|while|for|of the (?:image|photo|picture))\b.*$", re.I
)
_REMOVE = re.compile(
    r"\b(?:remove|delete|erase|eliminate|get rid of|take (?:out|away|off)|clear away|"
    r"wipe (?:out|off)|cut out|drop|lose|hide)\s+(?P<obj>.+)$", re.I
)
_REMOVE_ALT = re.compile(
    r"\b(?:make|let)\s+(?P<obj>.+?)\s+(?:disappear|vanish|go away)\b|"
    r"\bwithout\s+(?P<obj2>.+)$|\bno (?:more\s+)?(?P<obj3>\w+(?:\s+\w+)?)\s*$", re.I
)
_ADD = re.compile(
    r"\b(?:add|insert|include|draw|paint in|put|place|attach|stick)\s+"
    r"(?P<obj>(?:a|an|some|one|two|three|four|several|many|\d+)\b.+)$", re.I
)
_ADD_BARE = re.compile(r"^(?:add|insert)\s+(?P<obj>(?!the\b|it\b|more contrast|contrast)\w.+)$", re.I)
_GIVE = re.compile(r"\bgive\s+(?P<who>.+?)\s+(?P<obj>(?:a|an|some)\s+.+)$", re.I)
_LET_HAVE = re.compile(r"\blet\s+(?P<who>.+?)\s+(?:have|hold|wear)\s+(?P<obj>(?:a|an|some)\s+.+)$", re.I)
_BG_WORD = re.compile(r"\b(?:background|backdrop|back ground|scenery behind|surroundings)\b", re.I)
_SCENE = (
    r"(?:beach|forest|woods|city|street|mountains?|desert|space|outer space|park|studio|room|office|"
    r"ocean|sea|jungle|lake|field|garden|snow(?:y)? \w+|meadow|stage|moon|mars|paris|tokyo|new york|"
    r"london|castle|library|kitchen|cafe|restaurant|river|waterfall|sunset|night sky|galaxy)"
)
_MOVE_TO_SCENE = re.compile(
    rf"\b(?:put|place|move|set|transport|teleport|bring)\s+(?P<who>.+?)\s+(?:in|on|at|into|onto|to)\s+"
    rf"(?P<scene>(?:a|an|the)?\s*(?:\w+\s+){{0,2}}{_SCENE}\b.*)$", re.I
)
_GLOBAL_OBJ = re.compile(
    r"^(?:it|everything|the (?:whole |entire )?(?:image|photo|picture|scene|frame|shot|painting|world)|"
    r"the whole thing|this(?: image| photo| picture)?|the weather|the season|the lighting|the light|"
    r"the colou?rs?|the time of day|day|night|daytime|nighttime)$", re.I
)
_GLOBAL_WORDS = re.compile(
    r"\b(?:style|painting|painted|cartoon|anime|sketch|watercolou?r|oil paint|pixel art|cyberpunk|"
    r"van gogh|monet|ghibli|vintage|retro|sepia|black and white|grayscale|monochrome|"
    r"winter|summer|autumn|fall season|spring(?:time)?|snowy day|rainy|foggy|night(?:time)?|daytime|"
    r"dusk|dawn|golden hour|brighter|darker|warmer|cooler|more vivid|hdr|cinematic|impressionist|"
    r"look like a (?:photo|painting|drawing)|as if|in the style|contrast|saturation|saturated|exposure|"
    r"sharpen|sharper|brightness|blurry|noise|grain)\b", re.I
)
_CHANGE = re.compile(
    r"\b(?:make|turn|change|convert|transform|replace|swap|switch|color|colour|paint|dye|recolou?r|"
    r"let|render)\s+(?P<rest>.+)$", re.I
)
_POS = {
    "left": (0, None), "right": (2, None), "top": (None, 0), "upper": (None, 0), "above": (None, 0),
    "sky": (None, 0), "bottom": (None, 2), "lower": (None, 2), "ground": (None, 2), "floor": (None, 2),
}
DEFAULT_REMOVE_CAPTION = "clean natural background, seamless"


def clean_phrase(text: str, max_words: int = 5) -> str:
    """A short noun phrase: no determiners, no trailing clause or punctuation, at most N words."""
    text = text.strip().strip(".!?,;:\"'")
    text = _STOP.sub("", " " + text).strip()
    text = _DET_RE.sub("", text).strip()
    words = text.split()
    return " ".join(words[:max_words])


def _strip_please(instruction: str) -> str:
    text = instruction.strip().strip(".!")
    text = re.sub(r"^(?:please|can you|could you|would you|i want (?:you )?to|i'd like to|let's|kindly)\s+",
                  "", text, flags=re.I)
    text = re.sub(r"\s+please$", "", text, flags=re.I)
    return text.strip()


def _split_change(rest: str) -> tuple[str, str]:
    """'the car red' / 'the shirt to blue' / 'the cat into a tiger' -> (object, new look)."""
    lead = re.match(r"^(it|everything|this)\s+(?:look like\s+|looks like\s+|be\s+)?(?P<new>.+)$", rest, re.I)
    if lead:
        return lead.group(1), lead.group("new").strip()
    rest = re.sub(r"^(?:the\s+)?colou?rs?\s+of\s+", "", rest, flags=re.I)
    for sep in (r"\s+(?:into|to(?: be)?|with|for|by)\s+", r"\s+(?:look like|looks like|appear as)\s+"):
        parts = re.split(sep, rest, maxsplit=1, flags=re.I)
        if len(parts) == 2:
            return parts[0].strip(), parts[1].strip()
    parts = re.split(r"\s+(?=(?:a|an)\s)", rest, maxsplit=1, flags=re.I)
    if len(parts) == 2 and parts[0].strip():
        return parts[0].strip(), parts[1].strip()
    # "make the car red": last word(s) after the noun phrase are the new look
    words = rest.split()
    if len(words) >= 3 and words[0].lower() in {"the", "a", "an", "his", "her", "their", "its", "this", "that"}:
        return " ".join(words[:-1]), words[-1]
    if len(words) == 2:
        return words[0], words[1]
    return rest, ""


def _article(phrase: str) -> str:
    last = phrase.split()[-1].lower() if phrase.split() else ""
    if last.endswith("s") and not last.endswith("ss"):
        return phrase  # plural: "yellow flowers"
    if not phrase or re.match(rf"^{_DET}\b", phrase, re.I) or re.match(r"^\d", phrase):
        return phrase
    return ("an " if phrase[0].lower() in "aeiou" else "a ") + phrase


def _remove_from_caption(caption: str, obj: str) -> str:
    head = obj.split()[-1] if obj else ""
    if not caption or not head:
        return caption
    stem = re.escape(head.rstrip("s"))
    pattern = rf"(?:,?\s*\b(?:with|and|holding|wearing|next to|beside|near|behind|in front of)\s+)?" \
              rf"\b(?:{_DET}\s+)?(?:\w+\s+){{0,2}}?{stem}s?\b"
    out = re.sub(pattern, "", caption, flags=re.I).strip(" ,")
    return re.sub(r"\s{2,}", " ", out)


def addition_box(instruction: str, width: int, height: int) -> Box:
    """A box of a third of the image, placed by position words (centre by default)."""
    col, row = 1, 1
    words = re.findall(r"[a-z]+", instruction.lower())
    for w in words:
        c, r = _POS.get(w, (None, None))
        col = c if c is not None else col
        row = r if r is not None else row
    bw, bh = max(1, width // 3), max(1, height // 3)
    x0 = min(col * width // 3, width - bw)
    y0 = min(row * height // 3, height - bh)
    return (x0, y0, x0 + bw, y0 + bh)


def classify(instruction: str) -> tuple[str, str, str]:
    """(category, object phrase, new content phrase) for one instruction."""
    text = _strip_please(instruction)
    m = _REMOVE.search(text)
    if m and not _BG_WORD.fullmatch(clean_phrase(m.group("obj"))):
        return "remove", clean_phrase(m.group("obj")), ""
    m = _REMOVE_ALT.search(text)
    if m:
        obj = m.group("obj") or m.group("obj2") or m.group("obj3")
        return "remove", clean_phrase(obj), ""
    m = _MOVE_TO_SCENE.search(text)
    if m and not re.match(r"^(?:a|an|some|\d)\b", m.group("who").strip(), re.I):
        return "background", "", m.group("scene").strip()
    if _BG_WORD.search(text):
        new = re.split(r"\b(?:to|into|with|by|as|for)\s+", text, maxsplit=1, flags=re.I)
        after_bg = re.split(_BG_WORD, text, maxsplit=1)[-1]
        target = new[1] if len(new) == 2 else after_bg
        if re.search(r"\bblur", text, re.I):
            return "background", "", "blurred background, bokeh"
        if re.search(r"\b(?:remove|delete|erase|get rid of)\b", text, re.I):
            return "background", "", "plain white background"
        return "background", "", target.strip(" .") if target.strip() else "a new background"
    for pat in (_GIVE, _LET_HAVE):
        m = pat.search(text)
        if m:
            return "addition", clean_phrase(m.group("obj")), f"{m.group('who').strip()} with {m.group('obj').strip()}"
    m = _ADD.search(text) or _ADD_BARE.search(text)
    if m:
        return "addition", clean_phrase(m.group("obj")), m.group("obj").strip()
    m = _CHANGE.search(text)
    if m:
        obj, new = _split_change(m.group("rest"))
        obj_clean = clean_phrase(obj)
        if _GLOBAL_OBJ.match(obj.strip()) or not obj_clean or (
            _GLOBAL_WORDS.search(text) and _GLOBAL_OBJ.match(obj.strip())
        ):
            return "global", "", new or m.group("rest")
        if re.match(r"^(?:a|an)\s", obj.strip(), re.I) is None and _GLOBAL_WORDS.search(new or "") and \
                obj_clean.lower() in {"image", "photo", "picture", "scene"}:
            return "global", "", new
        return "local", obj_clean, new
    if _GLOBAL_WORDS.search(text):
        return "global", "", text
    return "global", "", text  # nothing matched: repaint the whole image with the instruction as caption


def rule_plan(
    instruction: str,
    width: int,
    height: int,
    source_caption: str = "",
) -> EditPlan:
    """Plan one instruction without a model. ``source_caption`` (optional) describes the input image."""
    if not instruction or not instruction.strip():
        raise ValueError("the instruction is empty: type what to change, e.g. 'remove the dog'")
    category, obj, new = classify(instruction)
    src = (source_caption or "").strip().rstrip(".")
    box: Optional[Box] = None
    if category == "remove":
        caption = _remove_from_caption(src, obj) if src else DEFAULT_REMOVE_CAPTION
        caption = caption or DEFAULT_REMOVE_CAPTION
    elif category == "local":
        phrase = new if re.search(r"\b(?:a|an|the)\b", new, re.I) or len(new.split()) > 1 else f"{new} {obj}".strip()
        phrase = _article(phrase.strip())
        caption = re.sub(rf"\b(?:{_DET}\s+)?{re.escape(obj)}\b", phrase, src, count=1, flags=re.I) if src and obj and \
            re.search(rf"\b{re.escape(obj)}\b", src, re.I) else phrase
    elif category == "addition":
        box = addition_box(instruction, width, height)
        caption = f"{src}, with {new}" if src else new
    elif category == "background":
        caption = f"{src}, {new}" if src else new
    else:
        caption = f"{src}, {new}" if src else new
    notes = ("rule-based plan: no model saw the image",)
    if box is not None:
        notes += ("rule-based box from position words only; override it or draw a mask",)
    return EditPlan(category=category, object_phrase=obj, target_caption=caption.strip(" ,"),
                    box=box, raw_answer=f"(rules) {category}: object={obj!r} new={new!r}",
                    backend="rules", notes=notes)
