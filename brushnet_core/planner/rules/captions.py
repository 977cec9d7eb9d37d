"""Captions written from the instruction: local restyles, global looks, backgrounds, removals, additions."""
from __future__ import annotations

import re

from ..vocab import (
    ADJECTIVE_GROUPS, ADJECTIVES, COLORS, LIVING, MATERIALS, NOUNS, PICTURE_WORDS, PLACES, SEASONS, STYLES, TIMES,
    TONES, WEATHER,
)
from .phrases import _article, _base, _head, _is_noun, split_location
from .reading import DEFAULT_REMOVE_CAPTION
from .words import _BG_RE, _DET, _DET_RE, _PICTURE_LOC


def _describers(words: list[str]) -> bool:
    return bool(words) and all(
        w in ADJECTIVES or w in COLORS or w in MATERIALS or w in ("and", "more", "less", "very", "really", "much",
                                                                  "fully", "bit", "colored", "coloured")
        or w in WEATHER or w in TONES and not w in ("light", "lighting", "tone", "tones", "colors", "color", "filter",
                                                     "mood", "vibe", "vibes", "contrast", "grain")
        or re.fullmatch(r"\w+(?:er|ish|ed|y)", w) and (w in TONES or w[:-2] in ADJECTIVES or w[:-3] in COLORS
                                                       or w in ADJECTIVES)
        or (w.endswith("er") and len(w) > 4 and (w[:-2] in ADJECTIVES or w[:-3] in ADJECTIVES or
                                                   w[:-2] + "e" in ADJECTIVES or w[:-3] + "y" in ADJECTIVES))
        for w in words)


def _group(word: str) -> str:
    for name, words in ADJECTIVE_GROUPS.items():
        if word in words:
            return name
    return ""


def _restyle(obj: str, new: str) -> str:
    """'blue bicycle' + 'green' -> 'a green bicycle'; old describing words of the same kind are dropped."""
    owner = ""
    m = re.match(r"^(?P<owner>.+?)'s\s+(?P<part>.+)$", obj)
    if m:
        owner, obj = m.group("owner"), m.group("part")
    new = re.sub(r"\s+(?:colou?r(?:ed)?|one|ones|instead|shade|tone)$", "", new.strip())
    new = re.sub(r"^(?:more\s+)?(?:of\s+)?(?:an?\s+)?", "", new) if _describers(new.split()) else new
    new_words = new.split()
    groups = {_group(w) for w in new_words} - {""}
    kept = [w for w in obj.split()[:-1] if _group(w) not in groups] if obj.split() else []
    head = obj.split()[-1] if obj.split() else "thing"
    phrase = _article(" ".join(new_words + kept + [head]))
    if owner:
        return f"{_article(_DET_RE.sub('', owner))} with {phrase}"
    return phrase


def _new_thing(new: str) -> str:
    """The new look as a noun phrase: 'a wolf', 'oranges', 'tea', 'a motorcycle'."""
    new = re.sub(r"\s+(?:instead|please|pls|too|as well)$", "", new.strip())
    new = re.sub(r"^(?:the|this|that)\s+", "", new)
    return _article(new)


def _local_caption(obj_np: str, new: str) -> str:
    obj = _DET_RE.sub("", obj_np.strip())
    obj = re.sub(r"^(?:his|her|their|its|my|our|your)\s+", "", obj)
    obj = split_location(obj)[0]
    new = new.strip()
    new = re.sub(r"^(?:be|look|looks|appear|seem)\s+(?:like\s+|as\s+)?", "", new)
    new = re.sub(r"^(?:more|a bit|slightly|much)\s+(?=\w+er\b)", "", new)
    new = re.sub(r"^(?:better\s+)?(?:in|made of|made from|out of)\s+(?=\w)", "", new)
    if not new:
        return _article(obj)
    words = new.split()
    if _describers(words) or (len(words) == 1 and words[0] in MATERIALS | {"chocolate", "glass", "gold", "silver",
                                                                          "stone", "wood", "ice"}):
        return _restyle(obj, new)
    if len(words) == 1 and words[0] not in NOUNS and _base(words[0]) not in NOUNS and words[0] not in PLACES:
        return _restyle(obj, new)  # 'newer', 'curly', 'glowing'
    return _new_thing(new)


def _style_phrase(style: str) -> str:
    style = re.sub(r"^(?:the\s+)?(?:style\s+of\s+|(?:a|an)\s+(?=\w+\s+style$))", "", style.strip())
    style = re.sub(r"\s+(?:style|version|vibes?|look|aesthetic|filter|effect)$", "", style)
    return style


_ARTISTS = {"van gogh", "gogh", "monet", "picasso", "dali", "rembrandt", "vermeer", "warhol", "hokusai", "ghibli",
            "studio ghibli", "disney", "pixar", "banksy", "klimt", "da vinci", "michelangelo", "magritte"}
_WEATHER_ADJ = {"rain": "rainy", "raining": "rainy", "rainstorm": "stormy", "snow": "snowy", "snowing": "snowy",
                "snowfall": "snowy", "fog": "foggy", "mist": "misty", "haze": "hazy", "storm": "stormy",
                "thunderstorm": "stormy", "sunshine": "sunny", "sun": "sunny", "cloud": "cloudy", "clouds": "cloudy"}


def global_caption(words_text: str, src: str = "") -> str:
    """A description of the whole picture after a style/season/weather/time/tone change."""
    text = words_text.strip().strip(".!?")
    text = re.sub(r"^(?:increase|boost|raise|bump up|crank up|up|add|more|enhance)\s+(?:the\s+|some\s+)?", "more ", text)
    text = re.sub(r"^(?:decrease|reduce|lower|tone down|less)\s+(?:the\s+)?", "less ", text)
    text = re.sub(r"\s+(?:up|down|a bit|a little|slightly)$", "", text)
    text = re.sub(r"^(?:make|turn|change|convert|render|transform|give|apply)\s+", "", text)
    text = re.sub(r"^(?:it|this|everything|the (?:whole |entire )?(?:image|photo|picture|scene|thing|shot))\s+", "",
                  text)
    text = re.sub(r"^(?:look|looks|seem|appear)\s+(?:like\s+|as if\s+)?|^(?:into|to|as|like|more like|in)\s+", "", text)
    text = re.sub(r"^(?:look|looks)\s+like\s+|^(?:the )?style of\s+", "", text)
    base = src or "a photo"
    words = re.findall(r"[\w'-]+", text)
    wset = set(words)
    joined = " ".join(words)
    # style / medium
    style_m = re.search(r"(?:in\s+)?(?:the\s+)?style\s+of\s+(?P<s>.+)$|(?P<s2>.+?)\s+(?:style|version|"
                        r"aesthetic|art style)$", text)
    medium = wset & (STYLES - {"style", "paint", "painted", "drawn", "sketched", "glow"})
    if style_m or medium:
        style = _style_phrase((style_m.group("s") or style_m.group("s2")) if style_m else text)
        style = re.sub(r"^(?:a|an)\s+(?=(?:\w+\s+)?(?:style)$)", "", style)
        if re.search(r"\b(?:photo|photograph|picture|image|shot|polaroid)$", style):
            return _article(style) if not src else f"{src}, {style}"
        if style in _ARTISTS or any(a in style for a in _ARTISTS):
            return f"{base} in the style of {style}"
        if re.match(r"^(?:a|an|the)\s", style) or _head(style) in {"painting", "sketch", "drawing", "watercolor",
                                                                    "cartoon", "comic", "book", "illustration",
                                                                    "mosaic", "render", "engraving", "woodcut",
                                                                    "watercolour", "poster", "movie", "film"}:
            return f"{base} in the style of {_article(style)}"
        return f"{base} in {style} style"
    # time of day
    times = [w for w in words if w in TIMES and not (w == "day" and wset & WEATHER)]
    if times:
        t = "night" if times[-1] in ("nighttime", "midnight") else ("day" if times[-1] == "daytime" else times[-1])
        t = t.replace("-hour", " hour")
        if t in ("day", "morning", "afternoon", "evening"):
            return f"{base} in the {'daytime' if t == 'day' else t}"
        return f"{base} at {t}"
    seasons = [w for w in words if w in SEASONS]
    if seasons:
        s = {"fall": "autumn", "springtime": "spring", "wintertime": "winter", "summertime": "summer"}.get(
            seasons[-1], seasons[-1])
        return f"{base} in {s}"
    weather = [w for w in words if w in WEATHER]
    if weather:
        adj = _WEATHER_ADJ.get(weather[-1], weather[-1])
        return f"{base} on {_article(adj + ' day')}" if not src else f"{src}, on {_article(adj + ' day')}"
    # tone and light
    if "pop" in wset:
        return f"{base} with vivid colors"
    tone = re.sub(r"^(?:the|some)\s+", "", joined)
    nouns = {"lighting", "light", "tones", "tone", "colors", "color", "contrast", "look", "feel", "mood", "brightness",
             "sharpness", "warmth", "clarity", "detail", "details", "vibrance", "depth",
             "atmosphere", "vibe", "glow", "grain", "saturation", "exposure", "shadows", "highlights", "filter"}
    if wset & nouns:
        return f"{base} with {tone}" if not src else f"{src}, with {tone}"
    tone_adj = {"desaturate": "desaturated", "saturate": "saturated", "brighten": "brighter", "darken": "darker",
                "sharpen": "sharper", "blur": "blurred", "bw": "black and white"}
    adj = " ".join(tone_adj.get(w, w) for w in words if w not in ("it", "a", "bit", "little", "the", "photo",
                                                                 "image", "picture", "more", "colors", "is", "be"))
    if adj:
        return _article(f"{adj} photo") if not src else f"{src}, {adj}"
    return base


def _background_caption(new: str, subject_caption: str = "", prep: str = "", src: str = "",
                        behind: bool = False) -> str:
    new = re.sub(r"^(?:to|into|with|for|as|by|be|of)\s+", "", new.strip().strip(" .,:"))
    new = re.sub(r"\s+(?:instead|please|pls|too)$", "", new)
    new = re.sub(r"^(?:the )?(?:outer )?space$", "outer space", new)
    words = new.split()
    if not words:
        thing = "a new background"
    elif _describers(words) or words[-1] in ("blurred", "blurry", "blur"):
        thing = _article(" ".join(w for w in words if w not in ("blurry", "blur")) +
                         (" blurred" if set(words) & {"blurry", "blur", "blurred"} and "blurred" not in words else "")
                         + " background")
        thing = thing.replace("a blurred background", "a blurred background with bokeh")
    else:
        thing = _article(new)
    if _BG_RE.search(thing):
        scene = thing
    elif subject_caption:
        if behind:
            scene = f"{subject_caption} in front of {thing}"
        else:
            p = prep if prep in ("on", "in", "at", "in front of", "under", "near", "by") else \
                ("on" if _head(new) in {"moon", "mars", "beach", "stage", "island", "track", "road", "street", "bridge",
                                         "rooftop", "highway", "mountain", "hill", "boat",
                                         "racetrack", "field", "lawn", "grass", "snow", "ice", "sand", "planet"} else "in")
            scene = f"{subject_caption} {p} {thing}"
    else:
        scene = f"{thing} in the background"
    return f"{src}, {scene}" if src and subject_caption == "" else (scene if not src else f"{src}, {scene}")


def _remove_caption(loc: str, src: str, obj: str, prep: str = "") -> str:
    if src:
        return _remove_from_caption(src, obj) or DEFAULT_REMOVE_CAPTION
    loc = _DET_RE.sub("", loc.strip())
    loc = split_location(loc)[0]
    head = _head(loc)
    if not loc or _PICTURE_LOC.match(loc) or head in PICTURE_WORDS or not _is_noun(head) or \
            (prep == "in" and head not in {"window", "mirror", "water", "sky", "lake", "sea", "room", "corner",
                                           "grass", "field", "garden", "street", "road", "river", "pond"}):
        return DEFAULT_REMOVE_CAPTION
    if head in LIVING or _base(head) in LIVING:
        return _article(loc)
    if _head(loc) in {"table", "desk", "sofa", "couch", "bench", "bed", "shelf", "counter", "chair", "tray", "plate",
                      "room", "street", "road", "beach", "field", "lawn", "sidewalk", "stage", "driveway", "yard"}:
        return f"an empty {loc}"
    if _head(loc) in {"sky", "water", "lake", "sea", "ocean", "river", "pond"}:
        return f"a clear {loc}"
    return _article(f"clean {loc}")


def _remove_from_caption(caption: str, obj: str) -> str:
    head = obj.split()[-1] if obj else ""
    if not caption or not head:
        return caption
    stem = re.escape(head.rstrip("s"))
    pattern = rf"(?:,?\s*\b(?:with|and|holding|wearing|next to|beside|near|behind|in front of)\s+)?" \
              rf"\b(?:{_DET}\s+)?(?:\w+\s+){{0,2}}?{stem}s?\b"
    out = re.sub(pattern, "", caption, flags=re.I).strip(" ,")
    return re.sub(r"\s{2,}", " ", out)


def _addition_caption(thing: str, prep: str, loc: str, src: str = "") -> str:
    thing_c = thing.strip()
    if not re.match(rf"^(?:{_DET}|one|two|three|four|five|six|seven|eight|nine|ten|\d+|a pair|a couple|a few|"
                    r"lots|plenty|several|many|more)\b", thing_c):
        thing_c = _article(thing_c)
    thing_c = re.sub(r"^some more\s+|^more\s+", "some ", thing_c)
    inside = {"sky", "water", "lake", "sea", "ocean", "pond", "river", "room", "vase", "box", "garden", "field",
              "forest", "picture", "scene", "background", "grass", "air", "corner", "hand", "hands", "mouth",
              "window", "pool", "bowl", "cup", "glass", "basket", "bag", "hair", "tree", "trees", "distance"}
    p = {"to": "in" if _head(loc) in inside else "on", "onto": "on", "into": "in", "atop": "on top of"}.get(prep, prep)
    phrase = f"{thing_c} {p} {loc}".strip() if loc and p else thing_c
    return f"{src}, with {phrase}" if src else phrase
