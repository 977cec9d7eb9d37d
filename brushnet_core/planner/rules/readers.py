"""Readings built from a matched pattern: a removal, an addition or a change of one object."""
from __future__ import annotations

import re

from ..vocab import ADJECTIVES, COLORS, GLOBAL_WORDS, NOUNS, PICTURE_WORDS, PLACES, SEASONS, TIMES, WEATHER
from .captions import (
    _addition_caption, _background_caption, _describers, global_caption, _local_caption, _remove_caption,
)
from .patterns import _ADD_GLOBAL, _obj_ok, _VAGUE
from .phrases import (
    _article, _base, clean_phrase, _head, _is_background, _is_global_target, _is_noun, _is_pronoun_object, _person,
    split_location,
)
from .reading import Reading, _unknown
from .verbs import _INDEF, _VANISH
from .words import _BG, _BG_RE, _DET, _DET_WORDS, _PRONOUN_PERSON


def _remove(obj_text: str, loc: str = "", conf: float = 0.92, src: str = "") -> Reading:
    np_text, prep, loc2 = split_location(obj_text)
    if _is_background(np_text):
        return Reading("background", "", "a plain white background", conf, new="a plain white background")
    obj = clean_phrase(np_text)
    obj = re.sub(r"^(?:(?:ugly|annoying|stupid|random|weird|horrible|awful|nasty|distracting|damn|dumb|unwanted|"
                 r"extra|hideous|useless|terrible|disgusting|silly|goddamn|freaking|stray)\s+)+(?=\w)", "", obj)
    if not loc and prep in ("from", "on", "in", "off", "at", "out of", "inside", "across", "all over"):
        loc = loc2
    else:
        prep = "from" if loc else ""
    if _is_pronoun_object(obj) or _is_pronoun_object(np_text) or not obj:
        return Reading("remove", obj, "", 0.3, location=loc, reason="pronoun")
    caption = _remove_caption(loc, src, obj, prep)
    return Reading("remove", obj, caption, conf * _obj_ok(obj), location=loc)


def _addition(obj_text: str, conf: float, src: str = "", who: str = "", verb: str = "") -> Reading:
    np_text, prep, loc = split_location(obj_text)
    thing_words = re.sub(r"^(?:some more|more)\s+", "some ", np_text.strip())
    obj = clean_phrase(np_text)
    if not obj or _is_pronoun_object(obj):
        return _unknown("what to add is not named", 0.3)
    if who:
        _who_obj, who_cap = _person(who)
        if who.strip() in ("it", "this") or _is_global_target(who) or _head(np_text) in (
                "vibe", "vibes", "look", "feel", "style", "filter", "mood", "atmosphere", "glow", "tone", "makeover",
                "aesthetic", "effect", "treatment"):
            return Reading("global", "", global_caption(np_text, src), conf, new=np_text)
        rel = {"hold": "holding", "wear": "wearing", "carry": "carrying", "have": "with", "has": "with",
               "eat": "eating", "drink": "drinking", "play": "playing", "ride": "riding"}.get(verb, verb or "with")
        thing = thing_words if re.match(rf"^{_INDEF}", thing_words) else _article(thing_words)
        caption = f"{who_cap} {rel} {thing}"
        caption = f"{src}, {caption}" if src else caption
        return Reading("addition", obj, caption, conf * _obj_ok(obj), new=thing_words, location=who)
    if (obj in _ADD_GLOBAL or _base(obj) in _ADD_GLOBAL or obj.split()[-1] in _ADD_GLOBAL and
            all(w in GLOBAL_WORDS | ADJECTIVES | {"more", "some"} for w in obj.split()[:-1])) and \
            (not loc or _is_global_target(loc)):
        return Reading("global", "", global_caption(obj, src), conf * 0.95, new=obj)
    caption = _addition_caption(thing_words, prep, loc, src)
    return Reading("addition", obj, caption, conf * _obj_ok(obj), new=thing_words, location=f"{prep} {loc}".strip())


def _change(x: str, y: str, conf: float, src: str = "", verb: str = "") -> Reading:
    """'the car' -> 'red': local, or global/background/remove when the target says so."""
    x, y = x.strip(), y.strip().strip(" .,")
    x = re.sub(r"\s+(?:painted|colou?red|dyed|changed|turned|made|recolou?red|to be)$", "", x)
    y = re.sub(r"\s+(?:instead|please|pls|for me|too|now)$", "", y)
    if _is_background(x) or re.fullmatch(rf"(?:the\s+)?(?:\w+\s+)?{_BG}(?:\s+\w+)?", x) and _BG_RE.search(x):
        if re.search(r"\b(?:blur|blurry|blurred|bokeh|out of focus)\b", y):
            return Reading("background", "", "a blurred background with bokeh", conf, new="blurred")
        return Reading("background", "", _background_caption(y, src=src), conf, new=y)
    if re.fullmatch(rf"{_VANISH}|transparent|invisible|disappear|go away|removed|deleted|erased|taken out|"
                    rf"taken away|cut out|eliminated|gone", y):
        return _remove(x, conf=conf, src=src)
    if _is_global_target(x) or x in TIMES or x in SEASONS or x in WEATHER:
        if not y or set(y.split()) <= _VAGUE:
            return Reading("global", "", global_caption(y or "better", src), 0.45,
                           reason=f"'{y or 'fix'}' does not say what should change")
        x_head = _head(x)
        if x_head in ("lighting", "light", "colors", "tones", "tone", "contrast", "mood", "atmosphere", "shadows"):
            caption = global_caption(f"{y} {x_head}", src)
        else:
            caption = global_caption(y if _is_global_target(x) else f"{x} {y}", src)
        if x in TIMES or x in SEASONS:
            caption = global_caption(y, src)
        known = set(re.findall(r"[\w'-]+", y)) & (GLOBAL_WORDS | COLORS | ADJECTIVES)
        return Reading("global", "", caption, conf if known else conf * 0.75, new=y)
    obj = clean_phrase(x)
    np_text = split_location(x)[0]
    if not obj or _is_pronoun_object(obj):
        if y and (set(y.split()) & GLOBAL_WORDS):
            return Reading("global", "", global_caption(y, src), conf * 0.8, new=y)
        return Reading("local", obj, "", 0.3, reason="pronoun")
    if obj in _PRONOUN_PERSON:
        obj = _PRONOUN_PERSON[obj]
    if not y:
        return Reading("local", obj, "", conf * 0.5, reason="no new look")
    if re.match(r"^(?:she|he|they|it|i|we|you|someone|somebody|he's|she's|they're|it's)\b", y):
        return Reading("local", obj, "", 0.4, reason=f"'{y}' describes a look the rules cannot turn into a caption")
    phrase = _local_caption(np_text if obj not in _PRONOUN_PERSON.values() else obj, y)
    caption = phrase
    if src:
        head = re.escape(_head(obj))
        if re.search(rf"\b{head}\b", src, re.I):
            caption = re.sub(rf"\b(?:{_DET}\s+)?(?:\w+\s+){{0,2}}?{head}\b", phrase, src, count=1, flags=re.I)
    return Reading("local", obj, caption, conf * _obj_ok(obj), new=y)


def _split_make(rest: str) -> tuple[str, str]:
    """'the old man young' -> ('the old man', 'young'); 'the dog a cat' -> ('the dog', 'a cat')."""
    rest = re.sub(r"(?<=\w)\s+like\s+(?!a\b|an\b).+$", "", rest) if re.search(r"\b(?:look|looks)\s+like\b", rest) is None \
        else rest
    first_word = rest.split()[0] if rest.split() else ""
    if first_word in ("it", "this", "everything", "things", "all") and len(rest.split()) >= 2:
        m = re.match(r"^\w+\s+(?:look like|looks like|look|looks|become|be|into|to)\s+(?P<y>.+)$", rest)
        return first_word, (m.group("y") if m else rest.split(" ", 1)[1])
    m = re.match(r"^(?P<x>.+?)\s+(?:look like|looks like|look more like|resemble|appear as|seem like|look|looks|"
                 r"become|be|into|to be|to look like|to)\s+(?P<y>.+)$", rest)
    if m and m.group("x").split()[0] not in ("look",):
        return m.group("x"), m.group("y")
    words = rest.split()
    for i in range(1, len(words)):
        if words[i] in ("a", "an") and i >= 1:
            return " ".join(words[:i]), " ".join(words[i:])
    start = 1
    while start < len(words) and words[start - 1] in ("the", "his", "her", "their", "its", "my", "our", "your",
                                                       "this", "that", "these", "those", "all"):
        start += 1
    splits = [i for i in range(start, len(words)) if _describers(words[i:]) and words[i - 1] != "and"]
    after_noun = [i for i in splits if _is_noun(words[i - 1])]
    plain = [i for i in splits if not _describers(words[i - 1:i])]
    for i in (after_noun[-1:] or plain[:1]):
        return " ".join(words[:i]), " ".join(words[i:])
    for i in range(start, len(words)):
        if words[i] in ("more", "less"):
            return " ".join(words[:i]), " ".join(words[i:])
    if len(words) >= 2 and words[0] in ("it", "this", "everything", "things"):
        return words[0], " ".join(words[1:])
    if len(words) >= 2 and words[-1] not in NOUNS | PICTURE_WORDS | PLACES and \
            any(w not in _DET_WORDS for w in words[:-1]):
        return " ".join(words[:-1]), words[-1]
    if len(words) >= 3:  # 'the cake chocolate', 'the table glass'
        return " ".join(words[:-1]), words[-1]
    return rest, ""


def _split_change(verb: str, rest: str) -> tuple[str, str]:
    """Target and new look for change/turn/replace/swap/paint... verbs."""
    rest = re.sub(r"^(?:the\s+)?colou?rs?\s+of\s+", "", rest)
    rest = re.sub(r"^(?P<x>(?:the|his|her|their|my|this)\s+(?:[\w'-]+\s+){0,2}?[\w-]+?)(?:'s)?\s+colou?rs?\b(?=\s+"
                  r"(?:to|into|->|from))", r"\g<x>", rest)
    rest = re.sub(r"^(?:out|up)\s+", "", rest) if verb in ("swap", "switch", "change") else rest
    if re.match(r"^(?:into|to|as|in)\s+\w", rest) and verb not in ("replace", "swap", "switch"):
        return "it", re.sub(r"^(?:into|to|as|in)\s+", "", rest)  # 'turn into a sketch': the whole picture
    if verb in ("replace", "swap", "swap out", "switch", "exchange", "substitute"):
        m = re.match(r"^(?P<x>.+?)\s+(?:with|for|by|to|into|->|and put|and use)\s+(?P<y>.+)$", rest)
        if m:
            return m.group("x"), m.group("y")
        return rest, ""
    m = re.match(r"^(?P<x>.+?)(?:'s\s+colou?r)?\s+(?:into|to|->|to be|to look like|with|as|for)\s+(?P<y>.+)$", rest)
    if m and verb not in ("make", "let", "have", "get"):
        return m.group("x"), m.group("y")
    return _split_make(rest)
