"""Reading one clause: the patterns tried in order, first background, then removal, moves, global, addition and
change.
"""
from __future__ import annotations

import re

from ..vocab import CHAT_ONLY, FUNCTION_WORDS, GLOBAL_WORDS, PICTURE_WORDS
from .background import _read_background
from .captions import _background_caption, _describers, global_caption
from .patterns import (
    _ADD_RE, _APPLY_RE, _BEHIND_RE, _CAN_BE_RE, _CHANGE_RE, _DONT_WANT_RE, _GIVE_RE, _GLOBAL_VERB_RE, _HOLD_RE,
    _IF_GONE_RE, _location_is_scene, _MAKE_VANISH_RE, _MENTION_RE, _MOVE_RE, _MUST_GO_RE, _NO_MORE_RE,
    _OPPOSITE, _PARTICLE_RE, _QUESTION_RE, _RATHER_NOT_RE, _REMOVE_RE, _SHOULD_RE, _SHOULDNT_BE_RE, _THERE_BE_RE,
    _THERE_NO_RE, _TOO_RE, _UNSUPPORTED_RE, _WANT_GONE_RE, _WANT_NO_RE, _WANT_REMOVED_RE, _WANT_TO_BE_RE, _WISH_RE,
    _WITHOUT_RE,
)
from .phrases import (
    _article, clean_phrase, _head, _is_background, _is_global_target, _is_noun, _is_pronoun_object, _person,
    split_location,
)
from .readers import _addition, _change, _remove, _split_change
from .reading import Reading, _unknown
from .verbless import _read_verbless
from .verbs import _INDEF
from .words import _BG_RE, _PRONOUN_PERSON


def read_clause(c: str, src: str = "") -> Reading:
    """Read one edit clause (already lower case, typos fixed, wrappers stripped)."""
    c = c.strip(" .,!?;:")
    if not c:
        return _unknown("the instruction is empty")
    words = re.findall(r"[\w'-]+", c)
    if not words or all(w in CHAT_ONLY for w in words):
        return _unknown("there is no edit in it, only chat")
    if _QUESTION_RE.match(c) and not re.match(r"^(?:how about|what about|do away with)\b", c):
        return _unknown("it is a question, not an edit instruction")

    # ---- background as the thing being changed
    if _BG_RE.search(c):
        bg = _read_background(c, src)
        if bg is not None:
            return bg

    # ---- removal
    m = _WANT_REMOVED_RE.match(c)
    if m and _is_noun(_head(split_location(m.group("obj"))[0])):
        return _remove(m.group("obj"), "", 0.82, src)
    m = _MENTION_RE.match(c)
    if m:
        said = next(v for k, v in m.groupdict().items() if v)
        obj = clean_phrase(said)
        if obj and not _is_pronoun_object(obj) and not re.search(r"\b(?:should|must|needs? to|has to)\b", c):
            return _unknown(f"'{c}' describes the picture but does not say what to change", 0.3,
                            object_phrase=obj if _is_noun(_head(obj)) else "", new="mention")
    m = _PARTICLE_RE.match(c)
    if m and not re.match(rf"^{_INDEF}", m.group("obj")) and not (m.group("loc") and _location_is_scene(
            m.group("loc") or "") and c.startswith(("take", "move", "get")) and " out of " not in c and
            " off " not in c and " away " not in c):
        return _remove(m.group("obj"), m.group("loc") or "", 0.9, src)
    m = _MAKE_VANISH_RE.match(c)
    if m:
        return _remove(m.group("obj"), "", 0.9, src)
    m = _REMOVE_RE.match(c)
    if m and not (c.startswith(("get ", "take ", "clear ")) and not re.match(
            r"^(?:get rid of|take (?:away|out|off)|clear (?:away|out|off)|get out)\b", c)):
        obj = m.group("obj")
        if not re.match(rf"^{_INDEF}", obj) or c.startswith(("remove", "delete", "erase", "eliminate", "get rid")):
            r = _remove(obj, "", 0.92, src)
            if r.confidence >= 0.5 or r.reason == "pronoun":
                return r
    for regex, conf in ((_IF_GONE_RE, 0.8), (_WANT_NO_RE, 0.8), (_DONT_WANT_RE, 0.82), (_RATHER_NOT_RE, 0.82), (_WANT_GONE_RE, 0.85),
                        (_MUST_GO_RE, 0.85), (_SHOULDNT_BE_RE, 0.85)):
        m = regex.match(c)
        if m:
            obj = next(v for k, v in m.groupdict().items() if k.startswith("obj") and v)
            if regex is _DONT_WANT_RE and m.group("verb") == "like":
                conf = 0.72
            if regex is _DONT_WANT_RE and not m.group("verb"):
                conf = 0.6
            if _is_background(split_location(obj)[0]):
                return Reading("background", "", "a plain white background", conf)
            return _remove(obj, "", conf, src)
    m = _THERE_NO_RE.match(c)
    if m and (m.group("neg") or m.group("nt") or m.group("obj2")):
        return _remove(m.group("obj") or m.group("obj2"), "", 0.85, src)
    m = re.match(r"^(?:less|fewer)\s+(?P<obj>.+)$", c)
    if m and _is_noun(_head(split_location(m.group("obj"))[0])):
        return _remove(m.group("obj"), "", 0.65, src)
    m = _TOO_RE.match(c)
    if m and m.group("adj") in _OPPOSITE:
        x = m.group("x")
        x = "it" if x in ("it", "it's", "this", "everything", "the image", "the photo", "the picture") else x
        return _change(x, _OPPOSITE[m.group("adj")], 0.7, src)
    m = _UNSUPPORTED_RE.match(c)
    if m:
        return _unknown(f"'{c}' is not an inpainting edit (crop, rotate, flip, zoom and resize change the frame, "
                        "not the content); use ComfyUI's image transform nodes for it")
    m = _NO_MORE_RE.match(c)
    if m and len(words) <= 6:
        return _remove(m.group("obj"), "", 0.8, src)
    m = _WITHOUT_RE.search(c)
    if m and not re.match(r"^(?:add|put|place|make|turn|change)\b", c):
        return _remove(m.group("obj"), "", 0.82, src)

    # ---- 'a dog instead of the cat', 'put a vase there instead of the lamp'
    m = re.match(r"^(?:(?:add|put|place|use|have|show|draw|i want|we want|i would like|make it)\s+)?(?P<y>.+?)\s+"
                 r"(?:instead of|in place of|rather than)\s+(?P<x>.+)$", c)
    if m and _is_noun(_head(split_location(m.group("x"))[0])):
        return _change(m.group("x"), split_location(m.group("y"))[0], 0.78, src)

    # ---- subject moved somewhere / something behind the subject (background)
    m = _BEHIND_RE.match(c)
    if m:
        new = (m.group("new") or m.group("new2") or "").strip()
        who = (m.group("who") or m.group("who2") or "").strip()
        if new and who and not re.match(r"^(?:make|turn|change|remove|delete|erase)\b", new):
            subj_obj, subj_cap = _person(who)
            return Reading("background", subj_obj, _background_caption(new, subj_cap, src=src, behind=True),
                           0.8, new=new, subject=subj_obj)
    m = _MOVE_RE.match(c)
    if m and not re.match(r"^(?:be|look|become|have|appear|turn|get|seem|go|disappear|vanish)\b", m.group("scene")):
        who, scene = m.group("who").strip(), m.group("scene").strip()
        definite = not re.match(rf"^{_INDEF}", who) and (who in _PRONOUN_PERSON or re.match(
            r"^(?:the|this|that|these|those|my|our|his|her|their|everyone|everybody|both)\b", who))
        if definite and (_location_is_scene(scene) or m.group("prep") in ("to", "in front of") or
                         re.match(r"^(?:a|an)\s", scene)) and \
                not _is_pronoun_object(who) or (who in ("them", "it") and _location_is_scene(scene)):
            subj_obj, subj_cap = _person(who)
            prep = m.group("prep").split()[-1] if m.group("prep") in ("standing in", "sitting on", "standing on",
                                                                     "sitting in", "walking on", "walking in") \
                else m.group("prep")
            return Reading("background", subj_obj, _background_caption(scene, subj_cap, prep, src), 0.85,
                           new=scene, subject=subj_obj)

    # ---- global verbs and filters
    m = _APPLY_RE.match(c)
    if m and not re.search(r"\b(?:on|to)\s+(?:the|his|her|their)\s+(?!image|photo|picture|whole)\w+", m.group("obj")):
        return Reading("global", "", global_caption(m.group("obj"), src), 0.85, new=m.group("obj"))
    m = _GLOBAL_VERB_RE.match(c)
    if m and (not m.group("rest") or _is_global_target(split_location(m.group("rest"))[0]) or
              set(m.group("rest").split()) <= (GLOBAL_WORDS | FUNCTION_WORDS | PICTURE_WORDS)):
        verb = c.split()[0]
        if verb in ("blur",) and m.group("rest") and not _is_global_target(m.group("rest")):
            pass
        else:
            return Reading("global", "", global_caption(c, src), 0.85, new=c)

    # ---- addition
    m = _GIVE_RE.match(c)
    if m:
        return _addition(m.group("obj"), 0.88, src, who=m.group("who"))
    m = _HOLD_RE.match(c)
    if m and not re.match(r"^(?:be|look)\b", m.group("obj")):
        return _addition(m.group("obj"), 0.88, src, who=m.group("who"), verb=m.group("verb"))
    m = _THERE_BE_RE.match(c)
    if m and re.match(rf"^{_INDEF}", m.group("obj")):
        return _addition(m.group("obj"), 0.82, src)
    m = _ADD_RE.match(c)
    if m:
        obj = m.group("obj")
        verb = c.split()[0]
        indefinite = re.match(rf"^{_INDEF}", obj)
        bare = not re.match(r"^(?:the|this|that|these|those|his|her|their|its|my|our|your|him|them|it|us|me)\b",
                            obj) and _is_noun(_head(split_location(obj)[0]))
        if verb in ("add", "insert", "include", "sprinkle", "scatter", "spawn", "generate", "create", "append",
                    "introduce", "overlay", "superimpose") or indefinite or (bare and verb in (
                        "put", "place", "stick", "attach", "draw", "hang", "plant", "pop", "plop", "slap")):
            if not (verb in ("paint", "set", "show") and not indefinite):
                return _addition(obj, 0.9 if indefinite or verb == "add" else 0.78, src)
    m = _WISH_RE.match(c)
    if m and re.match(rf"^{_INDEF}", m.group("obj")) and not re.search(r"\b(?:to be|to look)\b", m.group("obj")):
        return _addition(m.group("obj"), 0.82, src)
    m = re.match(r"^(?:(?:i|we)\s+)?(?:want|need|would like|would love|wish for)\s+(?P<obj>[\w'-]+(?:\s+[\w'-]+)?\s+"
                 r"(?:on|in|at|over|under|next to|around|behind|near|beside|above|below)\s+.+)$", c)
    if m and _is_noun(_head(split_location(m.group("obj"))[0])) and not re.match(
            r"^(?:the|this|that|his|her|their|my|our)\b", m.group("obj")):
        return _addition(m.group("obj"), 0.75, src)

    # ---- facial expressions: 'make her smile', 'make the dog look happy'
    m = re.match(r"^(?:make|let|have|get)\s+(?P<who>.+?)\s+(?:(?P<verb>smile|laugh|frown|cry|wink|blink|yawn|sleep|"
                 r"grin|pout)|look\s+(?P<adj>happy|sad|angry|surprised|scared|tired|serious|excited|shocked|"
                 r"bored|worried|confused|sleepy))(?:\s+(?:more|a bit|a little|slightly))?$", c)
    if m and (m.group("who") in _PRONOUN_PERSON or _is_noun(_head(m.group("who")))):
        who_obj, _cap = _person(m.group("who"))
        look = m.group("adj") or {"cry": "crying", "sleep": "sleeping", "grin": "grinning", "blink": "blinking",
                                  "wink": "winking", "smile": "smiling"}.get(m.group("verb"), (m.group("verb") or "") + "ing")
        obj = "face" if m.group("who") in _PRONOUN_PERSON else f"{who_obj}'s face"
        caption = _article(f"{look} {who_obj}") if who_obj != "people" else f"{look} people"
        return Reading("local", obj, f"{src}, {caption}" if src else caption, 0.8, new=look)

    # ---- change (local / global / background)
    m = _CHANGE_RE.match(c)
    if m:
        verb, rest = m.group("verb"), m.group("rest")
        if verb in ("have", "get") and not re.search(r"\b(?:be|look|to)\b", rest):
            pass
        else:
            x, y = _split_change(verb, rest)
            return _change(x, y, 0.88 if y else 0.45, src, verb)
    for regex, conf in ((_CAN_BE_RE, 0.8), (_WANT_TO_BE_RE, 0.8), (_SHOULD_RE, 0.85)):
        m = regex.match(c)
        if m and m.group("x").split()[0] not in ("i", "we", "you", "there"):
            x, y = m.group("x"), m.group("y")
            y = re.sub(r"^(?:like|as)\s+", "", y)
            if regex is _WANT_TO_BE_RE and not (_describers(y.split()) or re.match(r"^(?:a|an)\s", y)):
                continue
            return _change(x, y, conf, src)

    # ---- verbless: style/season/weather/time words, "X in red", a noun phrase with a place (addition)
    return _read_verbless(c, words, src)
