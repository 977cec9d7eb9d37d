"""Clauses without an edit verb: 'the car -> red', 'black and white', 'on the moon', 'a boat on the lake'."""
from __future__ import annotations

import re

from ..vocab import (
    COLORS, EDIT_VERBS, FUNCTION_WORDS, GLOBAL_WORDS, MATERIALS, NOUNS, PLACES, SEASONS, STYLES, TIMES, WEATHER,
)
from .captions import _describers, global_caption
from .patterns import _IN_COLOR_RE
from .phrases import _article, _head, _is_global_target, _is_noun, split_location
from .readers import _addition, _change
from .reading import Reading, _unknown
from .verbs import _INDEF
from .words import _DET_RE


def _read_verbless(c: str, words: list[str], src: str) -> Reading:
    content = [w for w in words if w not in FUNCTION_WORDS]
    # 'his jacket in red', 'the car -> red', 'dog to cat'
    m = _IN_COLOR_RE.match(c)
    if m:
        x, y = m.group("x").strip(), m.group("y").strip()
        ywords = y.split()
        xhead = _head(x)
        arrow = " -> " in c
        if (_describers(ywords) and (set(ywords) & (COLORS | MATERIALS)) or arrow) and _is_noun(xhead) \
                and len(x.split()) <= 4:
            return _change(x, y, 0.72, src)
        if " to " in f" {c} " and _is_noun(xhead) and len(x.split()) <= 3 and re.fullmatch(
                r"(?:(?:the|a|an|my|his|her)\s+)?[\w'-]+", x) and _is_noun(_head(y)) and len(ywords) <= 3:
            return _change(x, y, 0.6, src)
    # style, season, weather, time of day, tone
    if re.search(r"\bblack and white\b", c) and len(content) <= 4:
        return Reading("global", "", global_caption(c, src), 0.8, new=c)
    m = re.match(r"^(?:an?\s+|more\s+(?:of\s+an?\s+)?)?(?P<adj>[\w-]+(?:\s+[\w-]+)?)\s+(?:look|vibe|vibes|feel|"
                 r"aesthetic|mood|atmosphere|filter|effect|tone|tones)$", c)
    if m and not _is_noun(m.group("adj").split()[-1]):
        return Reading("global", "", global_caption(c, src), 0.7, new=c)
    style_marker = re.search(r"\b(?:style|in the style of|version|vibes?|aesthetic|filter|effect|like an? |"
                             r"as an? |look)\b", c)
    glob = [w for w in content if w in GLOBAL_WORDS]
    noun_loc = split_location(c)
    loc_is_thing = bool(noun_loc[1]) and noun_loc[2] and not _is_global_target(noun_loc[2]) and \
        not set(re.findall(r"[\w'-]+", noun_loc[2])) & (TIMES | SEASONS | WEATHER | STYLES) and \
        noun_loc[1] not in ("like", "as")
    if glob and (style_marker or not loc_is_thing) and (
            style_marker or len(glob) >= len([w for w in content if w not in ("more", "less")]) - 1):
        conf = 0.8 if (style_marker or len(glob) == len(content)) else 0.65
        return Reading("global", "", global_caption(c, src), conf, new=c)
    if style_marker and re.search(r"\blike an? \w+", c) and content:
        return Reading("global", "", global_caption(c, src), 0.6, new=c)
    if re.match(r"^(?:more|less|extra|higher|lower|increase|increased|reduced|boost)\s+", c) and glob:
        return Reading("global", "", global_caption(c, src), 0.75, new=c)
    # 'on the moon', 'at the beach', 'underwater': the subject in a new place
    m = re.match(r"^(?:(?:on|at|in|into|to|inside|under|among)\s+(?:the\s+|a\s+|an\s+|outer\s+)?)?(?P<place>[\w' -]+)$", c)
    if m and m.group("place").split()[-1] in PLACES | {"underwater"} and (c != m.group("place") or len(words) == 1) \
            and not (set(words) & (WEATHER | SEASONS | TIMES)):
        where = c if c != m.group("place") else m.group("place")
        if where == m.group("place") and where not in ("underwater",):
            where = f"in {_article(where)}"
        return Reading("background", "", f"{src or 'a photo'}, taken {where}" if src else f"a photo taken {where}",
                       0.6, new=c)
    # 'a dog wearing a hat', 'the man with a beard'
    m2 = re.match(r"^(?P<who>.+?)\s+(?P<verb>with|wearing|holding|carrying)\s+(?P<obj>.+)$", c)
    if m2 and _is_noun(_head(split_location(m2.group("obj"))[0])) and _is_noun(_head(m2.group("who"))):
        return _addition(m2.group("obj"), 0.6, src, who=m2.group("who"), verb=m2.group("verb"))
    # 'umbrella in her hand', 'a boat on the lake', 'some snow on the roof'
    np_text, prep, loc = noun_loc
    np_words = re.findall(r"[\w'-]+", _DET_RE.sub("", np_text))
    head = np_words[-1] if np_words else ""
    if np_words and (_is_noun(head) or (prep and re.match(rf"^{_INDEF}", np_text))) and len(np_words) <= 5 and \
            not set(np_words) & EDIT_VERBS - NOUNS - {"paint", "color", "light"}:
        if prep and loc:
            return _addition(c, 0.7 if _is_noun(head) else 0.55, src)
        if re.match(rf"^{_INDEF}", np_text) and _is_noun(head):
            return _addition(c, 0.6 if np_text.startswith("more ") else 0.52, src)
        m2 = re.match(r"^(?P<who>.+?)\s+(?P<verb>with|wearing|holding|carrying)\s+(?P<obj>.+)$", c)
        if m2:
            return _addition(m2.group("obj"), 0.6, src, who=m2.group("who"),
                             verb={"with": "with"}.get(m2.group("verb"), m2.group("verb")))
        return _unknown(f"'{c}' names a thing but not what to do with it (add it? remove it? change it?)", 0.4)
    m2 = re.match(r"^(?P<who>.+?)\s+(?P<verb>with|wearing|holding|carrying)\s+(?P<obj>.+)$", c)
    if m2 and _is_noun(_head(m2.group("obj"))):
        return _addition(m2.group("obj"), 0.6, src, who=m2.group("who"), verb=m2.group("verb"))
    verb = words[0]
    if verb in EDIT_VERBS or verb in ("do", "fix", "improve", "enhance", "better"):
        return _unknown(f"no edit pattern matches '{c}' (what should change, and into what?)", 0.2)
    return _unknown(f"no edit pattern matches '{c}'", 0.1)
