"""The sentence patterns of each category (removal, addition, change, global, background moves)."""
from __future__ import annotations

import re

from ..vocab import PLACES
from .phrases import _head, _is_noun, _is_pronoun_object
from .verbs import _ADD_VERB, _CHANGE_VERB, _INDEF, _REMOVE_VERB, _VANISH
from .words import _DET_RE


_REMOVE_RE = re.compile(rf"^(?:{_REMOVE_VERB})\s+(?P<obj>.+)$")
_PARTICLE_RE = re.compile(
    r"^(?:get|take|pull|cut|clear|wipe|throw|move|knock|clean|kick|chop|crop|edit|rub|brush|peel|scrub|lift|shift|"
    r"push|photoshop|paint|rip|tear|yank|toss|strip|brush)\s+(?P<obj>.+?)\s+(?:out|off|away|outta)"
    r"(?:\s+(?:of\s+|from\s+)?(?P<loc>.+))?$")
_MAKE_VANISH_RE = re.compile(rf"^(?:make|let|have|get|can|could|would|will|should)\s+(?P<obj>.+?)\s+"
                             rf"{_VANISH}\b(?P<loc>.*)$")
_IF_GONE_RE = re.compile(r"^(?:(?:i|we)\s+(?:would|'d)\s+(?:love|like|prefer|be happy|be glad)\s+(?:it\s+)?|it would be "
                         r"(?:nice|better|great|good|cool)\s+)?if\s+(?P<obj>.+?)\s+(?:wasn't|weren't|was not|were not|"
                         r"isn't|aren't|is not|are not)\s+(?:there|here|in\b.*|visible|around|in the way)\b"
                         r"|^(?:(?:i|we)\s+(?:would|'d)\s+(?:love|like|prefer)\s+(?:it\s+)?|it would be (?:nice|better|"
                         r"great|good|cool)\s+)?if\s+(?P<obj2>.+?)\s+(?:was|were|is|are)\s+(?:gone|removed|not there)\b"
                         r"|^(?:(?:i|we)\s+(?:would|'d)\s+(?:love|like|prefer)\s+(?:it\s+)?|it would be (?:nice|better|"
                         r"great|good|cool)\s+)?if\s+(?P<obj3>.+?)\s+(?:disappeared|vanished|went away)\b")
_DONT_WANT_RE = re.compile(
    r"^(?:i|we)\s+(?:really\s+|just\s+)?(?:do not|don't|no longer|won't|didn't|dislike|hate)\s*"
    r"(?P<verb>need|want|like|wanna see|want to see|need to see|like seeing|care for|want to have|need to have|"
    r"wanna have|)\s+(?P<obj>.+)$")
_WANT_NO_RE = re.compile(r"^(?:(?:i|we)\s+)?(?:want|need|would like|prefer|would prefer|'d prefer)\s+(?:no|zero|none of the)\s+"
                         r"(?P<obj>.+)$|^(?:bye bye|goodbye|good bye|so long|farewell|begone|bye)\s*,?\s+(?P<obj2>.+)$")
_RATHER_NOT_RE = re.compile(r"^(?:i|we)\s*(?:'d|would)?\s+(?:rather|prefer)\s+(?:not\s+(?:have|see|to have|to see)|"
                            r"no|without|to not have|it without)\s+(?P<obj>.+)$")
_MUST_GO_RE = re.compile(
    r"^(?P<obj>.+?)\s+(?:has to|have to|needs to|need to|must|should|gotta|got to|can|could|ought to|is going to|"
    r"will have to)\s+(?:go|leave|be removed|be deleted|be erased|be gone|disappear|vanish|go away|get removed)\b"
    r"|^(?P<obj2>.+?)\s+(?:is|are|'s|'re)\s+(?:not needed|unnecessary|distracting|in the way|an eyesore|"
    r"annoying|too distracting|not wanted|unwanted|ruining (?:it|the \w+))\b"
    r"|^(?P<obj3>.+?)\s+(?:isn't|aren't|is not|are not)\s+(?:needed|necessary|wanted)\b"
    r"|^(?P<obj4>.+?)\s+(?:ruins|spoils)\s+(?:it|the \w+)\b")
_SHOULDNT_BE_RE = re.compile(
    r"^(?P<obj>.+?)\s+(?:shouldn't|should not|must not|mustn't|can't|cannot|doesn't|does not|don't|do not)\s+"
    r"(?:be\s+(?:there|here|in\b.*|on\b.*|visible|seen|in (?:the|this) (?:picture|photo|image|shot))|belong\b.*|"
    r"fit\b.*)")
_NO_MORE_RE = re.compile(r"^(?:no\s+more|no|zero|nope,?\s+no|none of the)\s+(?P<obj>.+)$")
_WITHOUT_RE = re.compile(r"\bwithout\s+(?:any\s+)?(?P<obj>.+)$")
_WANT_GONE_RE = re.compile(r"^(?:i|we)?\s*(?:want|need|would like|'d like|d like|wish)\s+(?P<obj>.+?)\s+"
                           r"(?:gone|removed|deleted|erased|out|taken out|out of (?:here|there|the \w+)|to disappear|"
                           r"to go away|to be gone|to be removed|to vanish)\b(?P<loc>.*)$"
                           r"|^(?P<obj2>.+?)\s+(?:be\s+)?gone(?:\s+please)?$")
_THERE_NO_RE = re.compile(r"^there\s+(?:should|must|shall|would|could|needs to|need to)\s*(?P<nt>n't|not)?\s*be\s+"
                          r"(?P<neg>no|not any|not an?|nothing)?\s*(?P<obj>.+)$|^there\s+(?:shouldn't|mustn't|"
                          r"can't|cannot)\s+be\s+(?:an?\s+|any\s+)?(?P<obj2>.+)$")

_ADD_RE = re.compile(rf"^(?:{_ADD_VERB})\s+(?P<obj>.+)$")
_GIVE_RE = re.compile(r"^(?:give|gift)\s+(?P<who>him|her|them|us|me|it|this|(?:the|this|that|my|our|his|her|their)\s+"
                      r"(?:[\w'-]+\s+){0,2}?[\w'-]+?)\s+(?P<obj>(?:a|an|some|more|two|three|\d+|new|another|"
                      r"[\w-]+\s+(?:look|feel|vibe|style|filter|tone|glow|effect)|[\w'-]+).*)$")
_HOLD_RE = re.compile(r"^(?:let|have|make|show)\s+(?P<who>.+?)\s+(?P<verb>hold|holding|wear|wearing|carry|carrying|"
                      r"have|has|eat|eating|drink|drinking|play|playing|ride|riding|sport|sporting)\s+(?P<obj>.+)$")
_WISH_RE = re.compile(r"^(?:(?:i|we)\s+)?(?:really\s+)?(?:want|need|would like|'d like|d like|would love|'d love|"
                      r"wish for|wanna have|want to have|want to see|would like to see|'d like to see|"
                      r"would love to see|love to see|could use|can have|can get|get|have|gimme|give me|"
                      r"how about|what about|maybe|let's have|lets have|could we have|can we have|can i get|"
                      r"can i have|need|want)\s+(?P<obj>" + _INDEF + r".+)$")
_THERE_BE_RE = re.compile(r"^(?:there\s+(?:should|must|could|needs to|need to|has to|would)\s+be|"
                          r"i want there to be)\s+(?P<obj>.+)$")
#: A sentence that points at something without asking for an edit ('there is a cup on the table'); the
#: next clause's 'it' refers to it ('..., remove it').
_MENTION_RE = re.compile(
    r"^(?:there(?:'s|\s+is|\s+are)\s+(?P<o1>.+)"
    r"|(?:the\s+|this\s+|my\s+)?(?:photo|image|picture|pic|shot|it|this|scene)\s+(?:has|contains|shows|includes|"
    r"got)\s+(?P<o2>.+)"
    r"|(?P<o3>.+?)\s+(?:looks?|seems?|is|are|'s|'re)\s+(?:kind of\s+|really\s+|so\s+|very\s+)?(?:out of place|"
    r"weird|wrong|odd|off|bad|strange|ugly|awful|terrible|distracting|annoying|horrible|hideous|in the way|"
    r"ruining\b.*|too much)\b.*"
    r"|(?:i|we)\s+(?:can\s+)?(?:see|notice|noticed|spotted)\s+(?P<o4>.+))$")
_WANT_REMOVED_RE = re.compile(
    r"^(?:there(?:'s|\s+is|\s+are)\s+)?(?P<obj>.+?)\s+(?:that|which)?\s*(?:i|we)\s+(?:would like|want|need|'d like|"
    r"wish)\s+(?:to be\s+|to have\s+)?(?:removed|gone|deleted|erased|out|taken out|taken away|to disappear)\b")


_CHANGE_RE = re.compile(rf"^(?P<verb>{_CHANGE_VERB})\s+(?P<rest>.+)$")
_SHOULD_RE = re.compile(
    r"^(?P<x>.+?)\s+(?:should|could|ought to|needs to|need to|must|has to|have to|is supposed to|are supposed to|"
    r"would look better|would be better|will|shall|might)\s+(?:be\s+|look\s+|become\s+|turn\s+|get\s+|appear\s+|"
    r"seem\s+)?(?P<y>.+)$")
_CAN_BE_RE = re.compile(r"^(?:can|could|would|will)\s+(?P<x>.+?)\s+(?:be|look|become|turn)\s+(?P<y>.+)$")
_WANT_TO_BE_RE = re.compile(r"^(?:(?:i|we)\s+)?(?:want|need|would like|'d like|d like|would love|'d love|prefer|wish)"
                            r"\s+(?P<x>.+?)\s+(?:to\s+(?:be|look|become|turn)\s+|to\s+look\s+like\s+|(?=\S+$))"
                            r"(?P<y>.+)$")
_IN_COLOR_RE = re.compile(r"^(?P<x>.+?)\s+(?:in|to|->|into|as)\s+(?P<y>.+)$")
_GLOBAL_VERB_RE = re.compile(r"^(?:brighten|darken|desaturate|saturate|sharpen|enhance|colorize|stylize|stylise|"
                             r"warm up|cool down|cool off|tone down|lighten|dim|fade|blur|soften|boost|increase|"
                             r"decrease|reduce|lower|raise|up|crank up|bump up|punch up|color grade|grade|filter|"
                             r"apply|use)\b\s*(?P<rest>.*)$")
_APPLY_RE = re.compile(r"^(?:apply|use|add|put|give it|give the (?:image|photo|picture)|slap on|throw on)\s+"
                       r"(?P<obj>(?:a|an|some|the)?\s*.*\b(?:filter|effect|style|look|grade|grading|tone|tones|vibe|"
                       r"vibes|aesthetic|lut|preset|overlay|treatment|feel|mood|atmosphere|lighting|light|glow|"
                       r"contrast|saturation|vignette|grain|exposure|brightness)\b.*)$")
_ADD_GLOBAL = {"fog", "mist", "haze", "rain", "snow", "snowfall", "contrast", "saturation", "grain", "film grain",
               "filter", "vignette", "glow", "sunshine", "sunlight", "light", "lighting", "drama", "mood",
               "atmosphere", "brightness", "exposure", "warmth", "color", "colors", "blur", "noise", "bokeh",
               "storm", "thunderstorm", "sunset", "sunrise", "night", "darkness", "shadows", "highlights",
               "rainfall", "snowstorm", "lens flare", "sun rays", "god rays"}
_QUESTION_RE = re.compile(r"^(?:what|why|how|who|whom|whose|where|when|which|is|are|was|were|does|do|did|am|"
                          r"tell me|describe|explain|caption)\b")
_BEHIND_RE = re.compile(r"^(?:put\s+|add\s+|place\s+|have\s+|(?:i|we)\s+(?:want|need|would like|'d like)\s+)?"
                        r"(?P<new>.+?)\s+behind\s+(?P<who>.+)$|^behind\s+(?P<who2>.+?),?\s+(?:put\s+|add\s+|place\s+|"
                        r"have\s+|show\s+)?(?P<new2>(?:a|an|some|the)\b.+)$")
_MOVE_RE = re.compile(r"^(?:put|place|move|set|transport|teleport|bring|send|take|drop|relocate|transfer|show|have|"
                      r"(?:i\s+|we\s+)?(?:want|would like|need)|"
                      r"let|get|position|insert|photoshop|paste|stick|throw)\s+(?P<who>.+?)\s+(?P<prep>in front of|"
                      r"on top of|in|on|at|into|onto|to|inside|under|near|by|among|somewhere in|somewhere on|"
                      r"standing in|standing on|sitting on|sitting in|walking on|walking in|out in)\s+(?P<scene>.+)$")


def _location_is_scene(loc: str) -> bool:
    loc = _DET_RE.sub("", loc.strip())
    words = re.findall(r"[\w'-]+", loc)
    if not words:
        return False
    return any(w in PLACES for w in words) or bool(re.search(r"\b(?:tower|city|beach|space|moon|planet|country|"
                                                               r"world|jungle|forest|desert|mountains?)\b", loc))


_VAGUE = {"better", "nicer", "good", "cool", "prettier", "pretty", "nice", "great", "improved", "fixed", "best",
          "awesome", "amazing", "perfect", "more", "look", "beautiful", "professional", "look better", "up",
          "different", "interesting", "fun", "funny", "special", "unique", "fancy", "weird"}


def _obj_ok(obj: str) -> float:
    """Confidence factor for an object phrase: known head noun 1.0, unknown word 0.85, nothing 0."""
    if not obj or _is_pronoun_object(obj):
        return 0.0
    words = obj.split()
    if len(words) > 4:
        return 0.75
    head = _head(obj)
    return 1.0 if _is_noun(head) or _is_noun(head.rstrip("'s")) else 0.85


_TOO_RE = re.compile(r"^(?P<x>.+?)(?:\s+(?:is|are|was|looks?|seems?)|'s|'re)\s+(?:way\s+|a bit\s+|a little\s+|much\s+|"
                     r"kind of\s+|kinda\s+|just\s+)?too\s+(?P<adj>\w+)$")
_OPPOSITE = {"dark": "brighter", "bright": "darker", "light": "darker", "harsh": "softer", "small": "bigger",
             "big": "smaller", "large": "smaller", "tiny": "bigger", "saturated": "less saturated",
             "dull": "more vivid", "cold": "warmer", "warm": "cooler", "blue": "warmer", "yellow": "cooler",
             "orange": "cooler", "red": "less red", "green": "less green", "blurry": "sharper", "sharp": "softer",
             "noisy": "cleaner", "grainy": "cleaner", "busy": "simpler", "plain": "more detailed",
             "boring": "more vivid", "flat": "more contrast", "washed": "more vivid", "pale": "more vivid",
             "old": "newer", "young": "older", "short": "longer", "long": "shorter", "thin": "thicker",
             "thick": "thinner", "dirty": "clean", "messy": "tidy", "wrinkled": "smooth", "shiny": "matte",
             "gloomy": "brighter", "dim": "brighter", "foggy": "clearer", "hazy": "clearer", "contrasty": "softer"}
_UNSUPPORTED_RE = re.compile(r"^(?:zoom|crop|rotate|flip|mirror|resize|rescale|upscale|downscale|scale|straighten|"
                             r"reframe|extend|outpaint|expand|uncrop|turn (?:it|the image|the photo) (?:upside down|"
                             r"sideways|90|180))\b")
