"""Noun phrases: head words, locations ('the cup on the table'), articles, persons and picture-wide targets."""
from __future__ import annotations

import re

from ..vocab import NOUNS, PLACES
from .words import (
    _BG, _DET, _DET_RE, _DET_WORDS, _GLOBAL_TARGET_WORDS, _MASS, _PICTURE_LOC, _PRONOUN_OBJECT, _PRONOUN_PERSON,
    _QUANT_RE, _SEPARATE_PREPS, _STOP_WORDS,
)


def _head(phrase: str) -> str:
    words = re.findall(r"[\w'-]+", phrase)
    return words[-1] if words else ""


def _base(word: str) -> str:
    word = word[:-2] if word.endswith("'s") else word
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", "")):
        if word.endswith(suffix) and word[: len(word) - len(suffix)] + repl in NOUNS:
            return word[: len(word) - len(suffix)] + repl
    return word


def _is_noun(word: str) -> bool:
    return word in NOUNS or _base(word) in NOUNS or word in PLACES


_PREP_TOKENS = sorted((tuple(p.split()) for p in _SEPARATE_PREPS), key=len, reverse=True)
_PARTICIPLES = frozenset(
    "coming flying sitting standing lying laying hanging floating swimming walking running perched holding wearing "
    "looking playing jumping sleeping eating drinking reading dancing riding driving smiling waving crossing "
    "climbing resting posing talking crawling grazing parked leaning peeking hiding sticking growing falling "
    "burning shining glowing rising blooming waiting staring facing smoking sailing surfing skating sat stood "
    "placed located positioned visible showing seen".split())


def _prep_at(toks: list[str], i: int) -> tuple[str, ...]:
    for p in _PREP_TOKENS:
        if tuple(toks[i:i + len(p)]) == p:
            return p
    return ()


def _cut_rest(rest: str) -> str:
    return re.split(r"\s+(?:and|but|so|because|please|then|while|which|that)\b|[,;]", rest)[0].strip()


def split_location(text: str) -> tuple[str, str, str]:
    """'the bottle from the table' -> ('the bottle', 'from', 'the table'); 'two kids playing in the sand' ->
    ('two kids', 'in', 'the sand'); words that start a clause ('so that ...', 'please') end the phrase."""
    text = text.strip(" ,.!?;:")
    toks = [t for t in text.split(" ") if t]
    words = [t.strip(",;") for t in toks]
    for i in range(1, len(words)):  # never at the first word ('that guy', 'some flowers')
        w = words[i]
        if w == "of" and _PICTURE_LOC.match(" ".join(words[i + 1:])):
            return " ".join(words[:i]), "", ""
        p = _prep_at(words, i)
        if p:
            return " ".join(words[:i]), " ".join(p), _cut_rest(" ".join(toks[i + len(p):]))
        nxt = words[i + 1] if i + 1 < len(words) else ""
        participle = (w in _PARTICIPLES or (w.endswith("ing") and len(w) > 4 and not _is_noun(w) and
                                            (not nxt or bool(_prep_at(words, i + 1))))) and \
            any(x not in _DET_WORDS for x in words[:i])  # 'the lettering on the sign': a noun
        if participle:
            for j in range(i + 1, min(i + 3, len(words))):
                p = _prep_at(words, j)
                if p:
                    return " ".join(words[:i]), " ".join(p), _cut_rest(" ".join(toks[j + len(p):]))
            return " ".join(words[:i]), "", ""
        if w in _STOP_WORDS:
            return " ".join(words[:i]), "", ""
        if toks[i - 1].endswith((",", ";")):
            return " ".join(words[:i]), "", ""
    return " ".join(words), "", ""


def clean_phrase(text: str, max_words: int = 5) -> str:
    """A short noun phrase: no determiners, quantity words, trailing clause or location; at most N words."""
    np_text, _prep, _loc = split_location(text.strip().strip(".!?,;:\"'"))
    np_text = _DET_RE.sub("", np_text).strip()
    np_text = _QUANT_RE.sub("", np_text).strip()
    np_text = _DET_RE.sub("", np_text).strip()
    np_text = re.sub(r"\s+(?:please|pls|thanks|instead|too|here|there|anymore)$", "", np_text)
    words = np_text.split()
    return " ".join(words[:max_words])


def _article(phrase: str) -> str:
    """Add 'a'/'an' to a singular countable phrase ('green bicycle' -> 'a green bicycle')."""
    phrase = phrase.strip()
    if not phrase:
        return phrase
    words = phrase.split()
    last = words[-1].lower()
    if re.match(rf"^(?:{_DET}|one|two|three|four|five|six|seven|eight|nine|ten|\d+|a pair|a couple|a few|"
                r"lots|plenty|several|many)\b", phrase, re.I):
        return phrase
    if last in _MASS or (last.endswith("s") and not last.endswith(("ss", "us", "is", "'s"))) or last in {"people", "men", "women", "children", "feet", "teeth", "mice", "sheep",
                                      "fish", "deer", "jeans", "pants", "trousers", "shorts", "glasses",
                                      "sunglasses", "goggles", "clothes", "leaves"}:
        return phrase
    if words[0].lower() in _MASS and len(words) == 1 or phrase.lower() in _NAMED_PLACES:
        return phrase
    return ("an " if re.match(r"[aeiou]|hour|honest|8|11|18", phrase, re.I) and not re.match(r"(?:uni|use|eu|one)",
                                                                                           phrase, re.I) else "a ") + phrase


_NAMED_PLACES = {"paris", "london", "tokyo", "rome", "new york", "venice", "dubai", "egypt", "hawaii", "japan", "italy",
                 "france", "china", "india", "africa", "mars", "outer space", "space", "antarctica", "times square",
                 "the moon", "new york city", "los angeles", "san francisco", "berlin", "barcelona", "iceland",
                 "underwater", "heaven", "hell", "narnia", "hogwarts"}


def _person(who: str) -> tuple[str, str]:
    """(object phrase, caption phrase) for a subject: 'her' -> ('woman', 'a woman'), 'the kids' -> ('kids', 'kids')."""
    who = who.strip()
    if who in _PRONOUN_PERSON:
        obj = _PRONOUN_PERSON[who]
        return obj, (obj if obj == "people" else _article(obj))
    obj = clean_phrase(who)
    return obj, _article(obj) if obj else ""


def _is_pronoun_object(phrase: str) -> bool:
    return phrase.strip() in _PRONOUN_OBJECT or phrase.strip() in ("it all", "all of it", "all of them", "em", "'em")


def _is_global_target(phrase: str) -> bool:
    """'it', 'the photo', 'the whole thing', 'the lighting', 'everything' - the picture as a whole."""
    p = re.sub(r"^(?:the|this|that|my|our|your|whole|entire|overall|general|\s)+", "", phrase.strip())
    p = re.sub(r"^(?:whole|entire|overall)\s+", "", p)
    if phrase.strip() in ("that", "that one", "those", "these", "this one"):
        return False  # pointing at something, not at the whole picture
    if not p or p in ("it", "this", "everything", "all", "whole thing", "entire thing", "thing",
                      "it all", "all of it", "everything else"):
        return bool(phrase.strip())
    head = _head(p)
    return p in _GLOBAL_TARGET_WORDS or (head in _GLOBAL_TARGET_WORDS and len(p.split()) <= 3) or \
        p in ("time of day", "color grading", "colour grading", "color scheme", "colors of the image")


def _is_background(phrase: str) -> bool:
    p = _DET_RE.sub("", phrase.strip())
    return bool(re.fullmatch(rf"(?:(?:whole|entire|current|old|existing)\s+)?{_BG}", p))
