"""Clauses where the background itself is the target ('change the background to a beach')."""
from __future__ import annotations

import re
from typing import Optional

from .captions import _background_caption
from .reading import Reading
from .verbs import _ADD_VERB, _CHANGE_VERB, _REMOVE_VERB
from .words import _BG


def _read_background(c: str, src: str) -> Optional[Reading]:
    """Clauses where the background itself is the target; None when it is only a location."""
    blur = re.search(r"\b(?:blur|blurry|blurred|bokeh|out of focus|defocus|soften)\b", c)
    m = re.match(rf"^(?:{_REMOVE_VERB}|make)\s+(?:the\s+|this\s+|that\s+)?(?:\w+\s+)?{_BG}\b(?P<rest>.*)$", c)
    if m and not re.match(r"^(?:make|get|take|clear)\b", c) or re.match(
            rf"^(?:no|without)\s+(?:the\s+)?{_BG}$", c) or re.match(rf"^get rid of\s+(?:the\s+)?{_BG}", c):
        if blur:
            return Reading("background", "", "a blurred background with bokeh", 0.9, new="blurred")
        return Reading("background", "", "a plain white background", 0.88, new="a plain white background")
    if blur and re.search(rf"(?:blur\w*|bokeh|out of focus)\s+(?:the\s+|a\s+|this\s+)?(?:\w+\s+)?{_BG}|"
                          rf"{_BG}\s+(?:\w+\s+)?(?:blur\w*|out of focus|bokeh)|^(?:a\s+)?blur\w*\s+{_BG}", c):
        return Reading("background", "", "a blurred background with bokeh", 0.9, new="blurred")
    patterns = (
        rf"^(?:change|replace|swap|swap out|switch|set|turn|convert|make|update|edit|alter|transform|modify|"
        rf"redo|paint|color|recolor|fill|give|put)\s+(?:the\s+|this\s+|that\s+|a\s+|an\s+)?(?:\w+\s+)?{_BG}"
        rf"(?:\s+(?:of|behind)\s+(?:the\s+)?\w+)?\s*(?:to be|to look like|into|to|with|for|as|by|so it is|so it's|:|"
        rf"->|look like|be)?\s*(?P<new>.*)$",
        rf"^(?:(?:the|a|an|my|new|different)\s+)*{_BG}\s+(?:should|could|must|needs to|need to|has to|will|would|can)"
        rf"?\s*(?:be|look|become|look like)\s+(?P<new>.+)$",
        rf"^(?:can|could|would)\s+(?:the|a)\s+{_BG}\s+(?:be|look like|look)\s+(?P<new>.+)$",
        rf"^(?:(?:i|we)\s+)?(?:want|need|would like|'d like|prefer|would love)\s+(?:the\s+|a\s+|an\s+)?(?:new\s+|"
        rf"different\s+|other\s+|nicer\s+|better\s+)?{_BG}\s*(?:to be\s+|to look like\s+|,?\s*(?:like|such as|maybe|"
        rf"e\.g\.|with|of)\s+|:\s*|,\s*)?(?P<new>.*)$",
        rf"^(?:(?:a|the)\s+)?(?:new|different|another|other)\s+{_BG}\s*(?::|-|of|with|showing|->)?\s*(?P<new>.*)$",
        rf"^{_BG}\s*(?::|-|->|=|to|of)\s*(?P<new>.+)$",
        rf"^(?:(?:i|we)\s+)?(?:want|need|would like|'d like|use|add|put|give it|put in)?\s*(?P<new>.+?)\s+(?:as|for)\s+"
        rf"(?:the|a|its|my|our)?\s*(?:new\s+)?{_BG}$",
        rf"^(?P<new>.+?)\s+(?:in|for)\s+the\s+{_BG}(?:\s+instead)?$",
        rf"^(?:give it|give the (?:image|photo|picture)|use|(?:i|we) (?:want|need|would like|would love)|add|put|"
        rf"go with|how about|what about)?\s*(?:(?:a|an)\s+)?(?P<new>.+?)\s+{_BG}(?:\s+(?:instead|please))?$",
        rf"^{_BG}\s+(?:of|with|showing)\s+(?P<new>.+)$",
    )
    for i, pat in enumerate(patterns):
        m = re.match(pat, c)
        if not m:
            continue
        new = (m.group("new") or "").strip()
        if i == 7 and re.match(rf"^(?:{_ADD_VERB}|{_REMOVE_VERB})\s", new):
            return None  # 'add a tree in the background' / 'remove the people in the background'
        if i == 7 and re.match(rf"^(?:{_CHANGE_VERB})\s", new):
            return None
        if i == 8 and (re.match(rf"^(?:{_ADD_VERB}|{_REMOVE_VERB}|{_CHANGE_VERB})\s", new) or
                       len(new.split()) > 4):
            return None
        conf = 0.9 if i in (0, 1, 2, 3, 5) else 0.8
        if not new:
            return Reading("background", "", "a new background", 0.55, new="")
        return Reading("background", "", _background_caption(new, src=src), conf, new=new)
    return None
