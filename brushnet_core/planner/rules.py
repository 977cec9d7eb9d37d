"""Rule-based planner: English edit instructions as people type them -> category, object, caption.

No model: deterministic and instant, so the flow runs anywhere. It reads one English instruction
(typos in verbs and key nouns are corrected against the word lists in :mod:`.vocab`), strips polite
and chatty wrappers, splits several edits apart (the first is planned, the rest are reported), and
matches the clause against patterns for each category. Every reading carries a confidence; when
nothing matches, the language is not English, or the confidence is below
:data:`UNKNOWN_BELOW`, the category is ``"unknown"`` with the reason - never a silent ``global``.

It cannot see the image: the addition box comes only from position words ("on the left", "top
right"), and captions are written from the instruction (plus an optional caption of the source
image the user types). Subtle requests and other languages need a model backend.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Optional

from .plan import HIGH_CONFIDENCE, UNKNOWN, Box, EditPlan
from .vocab import (
    ADJECTIVE_GROUPS, ADJECTIVES, CHAT_ONLY, COLORS, EDIT_VERBS, FOREIGN_WORDS, FUNCTION_WORDS, GLOBAL_WORDS,
    LIVING, MATERIALS, NOUNS, PARTICLES, PICTURE_WORDS, PLACES, SEASONS, STYLES, SURFACES, TIMES, TONES, WEATHER,
)

#: Below this confidence the rules answer ``unknown`` instead of guessing.
UNKNOWN_BELOW = 0.5
__all__ = ["DEFAULT_REMOVE_CAPTION", "HIGH_CONFIDENCE", "UNKNOWN_BELOW", "Reading", "addition_box", "classify",
           "default_caption", "read_instruction", "rule_plan"]
DEFAULT_REMOVE_CAPTION = "clean natural background, seamless"

# ----------------------------------------------------------------------------------------- words
_DET = r"(?:the|a|an|this|that|these|those|his|her|their|its|my|our|your|some|any|all(?: of)?(?: the)?|every|each)"
_DET_RE = re.compile(rf"^(?:{_DET}\s+)+", re.I)
_QUANT_RE = re.compile(r"^(?:a (?:few|couple of|bunch of|lot of|little bit of)|lots of|plenty of|some more|more|"
                       r"another|one of the|a little|few|several|many|couple of)\s+")
_NUMBER_WORDS = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "a pair of"}
_PRONOUN_PERSON = {"him": "man", "he": "man", "her": "woman", "she": "woman", "them": "people", "they": "people",
                   "us": "people", "we": "people", "me": "person", "myself": "person", "i": "person"}
_DET_WORDS = {"the", "a", "an", "this", "that", "these", "those", "his", "her", "their", "its", "my", "our", "your",
              "some", "all", "every", "each"}
_PRONOUN_OBJECT = {"whatever", "everything", "anything", "something", "stuff", "things", "whatever it is",
                   "all that", "all this", "it", "them", "that", "this", "those", "these", "this one", "that one", "one", "thing", "stuff"}
_GLOBAL_TARGET_WORDS = PICTURE_WORDS | {
    "lighting", "light", "lights", "colors", "colours", "color", "colour", "tones", "tone", "mood", "atmosphere",
    "weather", "season", "time", "day", "daytime", "vibe", "vibes", "look", "feel", "contrast", "exposure",
    "saturation", "brightness", "style", "photo's", "image's", "picture's", "everything's", "world", "palette"}
_BG = r"(?:background|backdrop|bg|back ground|scenery|surroundings|backgrounds|location|setting|environment)"
_BG_RE = re.compile(rf"\b{_BG}\b")
_MASS = {"hair", "fur", "grass", "sand", "water", "snow", "coffee", "tea", "milk", "juice", "wine", "beer", "ice",
         "smoke", "fog", "mud", "dirt", "skin", "makeup", "bread", "cheese", "chocolate", "wood", "metal", "gold",
         "silver", "leather", "graffiti", "text", "writing", "litter", "garbage", "rubbish", "trash", "dust", "rain",
         "fire", "light", "lighting", "space", "jewelry", "jewellery", "lipstick", "confetti", "glare", "acne"}
_SEPARATE_PREPS = ("next to", "close to", "in front of", "on top of", "out of", "away from", "instead of", "all over",
                   "from", "in", "on", "at", "to", "into", "onto", "with", "by", "near", "behind", "beside",
                   "under", "underneath", "over", "above", "below", "around", "off", "inside", "outside", "across",
                   "along", "against", "between", "among", "through", "atop", "within", "beneath")
_STOP_WORDS = ("so", "and", "but", "because", "that", "which", "who", "while", "for", "please", "instead", "too",
               "here", "there", "anymore", "again", "now", "completely", "entirely", "as", "if", "when", "where",
               "coming", "flying", "sitting", "standing", "lying", "laying", "hanging", "floating", "swimming",
               "walking", "running", "perched", "holding", "wearing", "looking", "so that", "then", "also",
               "asap", "thanks", "pls", "altogether", "totally", "is", "are", "was", "be", "she", "he", "they", "we",
               "you", "i", "it's", "which's", "who's", "except", "excluding", "other than", "apart from")
_PREP_RE = "|".join(re.escape(p) for p in _SEPARATE_PREPS)
_PICTURE_LOC = re.compile(r"^(?:the |this |that |my |our )?(?:image|photo|photograph|picture|pic|shot|frame|scene|"
                          r"painting|selfie|snapshot|view)\b")

_SLANG = {
    "u": "you", "ur": "your", "pls": "please", "plz": "please", "plx": "please", "thx": "thanks", "ty": "thanks",
    "dont": "don't", "doesnt": "doesn't", "didnt": "didn't", "cant": "can't", "wont": "won't",
    "shouldnt": "shouldn't", "wouldnt": "wouldn't", "isnt": "isn't", "arent": "aren't", "im": "i'm",
    "ive": "i've", "wanna": "want to", "gotta": "got to", "gonna": "going to", "outta": "out of",
    "bg": "background", "pic": "picture", "pics": "pictures", "pix": "pictures", "img": "image",
    "mans": "man's", "womans": "woman's", "childs": "child's", "guys'": "guy's", "n": "and", "tho": "though",
    "thru": "through", "abt": "about", "rn": "now", "w": "with", "b&w": "black and white", "bw": "black and white",
    "colour": "color", "colours": "colors", "grey": "grey", "recolour": "recolor", "wanna've": "want to have",
    "tshirt": "t-shirt", "tee": "t-shirt", "teeshirt": "t-shirt", "rm": "remove", "del": "delete",
}

# ------------------------------------------------------------------------------------- typos


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Damerau-Levenshtein distance (adjacent swaps count one), stopping early past ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


_KNOWN = (FUNCTION_WORDS | EDIT_VERBS | NOUNS | ADJECTIVES | GLOBAL_WORDS | PLACES | PARTICLES | PICTURE_WORDS
          | FOREIGN_WORDS | CHAT_ONLY | {
              "background", "backdrop", "scenery", "surroundings", "remove", "removed", "gone", "away", "disappear",
              "vanish", "hold", "wear", "carry", "sit", "stand", "look", "version", "effect", "instead", "ought",
              "something", "anything", "nothing", "else", "thing", "things", "way", "photobomb", "hoodie",
              "t-shirt", "smile", "hairstyle", "vibes", "pop", "kids", "lil", "ones", "bye", "belong", "belongs",
              "mind", "possible", "chance", "idea", "wish", "prefer", "would", "could", "should", "okay", "guy",
              "fix", "improve", "enhance", "better", "movie", "film", "poster", "cover", "album", "version",
          })
#: Words a typo is corrected towards (edit verbs first, then the key nouns and describing words).
_TYPO_TARGETS = sorted((EDIT_VERBS | NOUNS | PLACES | COLORS | MATERIALS | GLOBAL_WORDS | {
    "background", "backdrop", "disappear", "without", "please", "the", "replace", "remove", "instead", "scenery",
    "change", "color", "into", "behind", "picture", "should", "rather", "there", "their", "could", "would",
}) - {"rid"}, key=len)


_VERB_ONLY = EDIT_VERBS - NOUNS - GLOBAL_WORDS - COLORS - MATERIALS


def _known(word: str) -> bool:
    if word in _KNOWN or word.isdigit() or re.fullmatch(r"\d+(?:s|px|d)?", word):
        return True
    for suffix, repl in (("'s", ""), ("s", ""), ("es", ""), ("ies", "y"), ("ed", ""), ("ed", "e"), ("d", ""),
                         ("ing", ""), ("ing", "e"), ("er", ""), ("est", ""), ("ier", "y"), ("ly", ""), ("'", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 2 and word[: len(word) - len(suffix)] + repl in _KNOWN:
            return True
    return False


def correct_word(word: str, first: bool = False) -> Optional[str]:
    """The vocabulary word ``word`` is a typo of, or None (known words and unclear cases are left alone).

    A typo must keep the first letter (or swap the first two), be within edit distance 1 (2 for words
    of 8+ letters), and have exactly one closest vocabulary word.
    """
    if _known(word) or not word.isalpha() and "-" not in word:
        return None
    n = len(word)
    if n < 3 or (n < 5 and not first):
        return None
    limit = 2 if n >= 8 else 1
    best: list[str] = []
    best_d = limit + 1
    for cand in _TYPO_TARGETS:
        if abs(len(cand) - n) > limit or len(cand) < 3 or (not first and cand in _VERB_ONLY):
            continue
        if cand[0] != word[0] and not (n > 1 and cand[:2] == word[1::-1]):
            continue
        d = edit_distance(word, cand, limit)
        if d < best_d:
            best, best_d = [cand], d
        elif d == best_d:
            best.append(cand)
    if best_d > limit or len(best) != 1:
        if best_d <= limit and first:
            verbs = [b for b in best if b in EDIT_VERBS]
            return verbs[0] if len(verbs) == 1 else None
        return None
    return best[0]


# -------------------------------------------------------------------------------- the reading


@dataclass
class Reading:
    """What the rules understood from one instruction."""

    category: str
    object_phrase: str = ""
    caption: str = ""
    confidence: float = 0.0
    new: str = ""  # the new content phrase (addition: the new thing; local/global/background: the new look)
    notes: list[str] = field(default_factory=list)
    reason: str = ""  # why the category is unknown
    subject: str = ""  # background: the subject that stays
    location: str = ""  # addition/remove: where ("on the table")
    planned: str = ""  # the clause that was planned
    others: list[str] = field(default_factory=list)  # further edits in the instruction, not planned


def _unknown(reason: str, confidence: float = 0.0, **kw) -> Reading:
    return Reading(UNKNOWN, confidence=confidence, reason=reason, **kw)


# ------------------------------------------------------------------------------- normalising

_LEAD_WRAPPERS = re.compile(
    r"^(?:(?:hey|hi|hello|yo|ok|okay|alright|right|so|um+|uh+|hmm+|well|now|oh|and|also|then|next|first|"
    r"firstly|finally|lastly|ah|ahh|pls|please|kindly|just|simply|maybe|perhaps|basically|actually|"
    r"honestly|quickly|quick|real quick)\b[,!.:]?\s+|(?:no|nope|yes|yeah|yep)\s*[,!.:]\s+|"
    r"(?:can|could|would|will|won't)\s+(?:you|ya|ye)\s+(?:please\s+|pls\s+|kindly\s+|maybe\s+|just\s+|possibly\s+)?|"
    r"(?:can|could)\s+(?:we|i)\s+(?:please\s+|just\s+)?(?=(?!have\b|get\b|be\b)\w)|"
    r"(?:would|do)\s+you\s+mind\s+(?:\w+ing\b)?\s*|"
    r"be\s+(?:able|so kind as|kind enough)\s+to\s+|(?:are|r)\s+(?:you|u)\s+able\s+to\s+|"
    r"(?:is|would)\s+it\s+(?:be\s+)?possible\s+(?:for you\s+)?to\s+|"
    r"any\s+chance\s+(?:you\s+)?(?:could|can)\s+|"
    r"(?:i|we)\s+(?:would|'d|d)?\s*(?:want|need|like|love|wanna|wish)\s+(?:you|u)\s+to\s+|"
    r"(?:i|we)\s+(?:would\s+|'d\s+|d\s+)?(?:want|like|love|need|wish|wanna|hope)\s+to\s+(?!be\b|have\b|see\b)|"
    r"(?:i|we)\s+(?:think|guess|feel)\s+(?:you\s+should\s+|we\s+should\s+|it\s+would\s+be\s+(?:nice|good|great|cool)\s+to\s+)?|"
    r"(?:it\s+would\s+be\s+(?:nice|good|great|cool|awesome)\s+(?:if\s+you\s+could\s+|to\s+))|"
    r"(?:please|pls)\s+(?:can|could)\s+you\s+|"
    r"help\s+me\s+(?:to\s+)?|let'?s\s+(?!have\b)|go\s+ahead\s+and\s+|try\s+(?:to|and)\s+|"
    r"(?:you|we)\s+(?:should|could|can|must|need\s+to|have\s+to)\s+(?!be\b|have\b)|"
    r"(?:i|we)\s+(?:need|have)\s+to\s+|time\s+to\s+|(?:the\s+)?task(?:\s+is)?\s*:\s*|edit\s*:\s*|"
    r"(?:i'd|i\s+would)\s+appreciate\s+it\s+if\s+you\s+(?:could\s+|would\s+)?)",
    re.I)
_TRAIL_WRAPPERS = re.compile(
    r"(?:(?:[,.!]\s*|\s+|^)(?:please|pls|thanks(?: a lot)?|thank you(?: so much)?|thank u|thx|ty|for me|if you can|"
    r"if possible|if you could|if you don't mind|asap|real quick|quickly|when you can|:\)|:-\)|;\)|lol|haha|"
    r"a bit|a little(?: bit)?|a tad|slightly|a lot|somewhat|kind of|kinda|too|as well|instead|thanks in advance|"
    r"for the picture|in the picture|in this picture|in the photo|in this photo|in the image|in this image|"
    r"from the picture|from this picture|from the photo|from this photo|from the image|from this image|"
    r"from the shot|in the shot|from the frame|in the frame)\b[\s!.]*)+$",
    re.I)


def normalise(text: str) -> str:
    """Lower case, straight quotes, slang spelled out, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text or "")
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = text.lower().replace("&", " and ").replace("w/o ", "without ").replace("w/ ", "with ")
    text = re.sub(r"(?<=\w)\s*(?:->|=>|\u2192)\s*(?=\w)", " -> ", text)
    text = re.sub(r"\s+", " ", text).strip()
    words = []
    for tok in text.split(" "):
        core = tok.strip(".,!?;:\"()[]")
        if core in _SLANG and core:
            tok = tok.replace(core, _SLANG[core])
        words.append(tok)
    text = " ".join(words)
    text = re.sub(r"\bget rid off\b", "get rid of", text)
    text = re.sub(r"\b(golden|blue|magic) hour\b", r"\1-hour", text)
    text = re.sub(r"\b(i|we)\s+d\s+(like|love|rather|prefer)\b", r"\1'd \2", text)
    text = re.sub(r"\bid\s+(like|love|rather|prefer)\b", r"i'd \1", text)
    text = re.sub(r"\b(i|we|you|they)'d\b", r"\1 would", text)
    text = re.sub(r"\bi'm\b", "i am", text)
    return text


def _script(text: str) -> str:
    """The first non-Latin script among the letters of ``text`` (e.g. 'CJK', 'CYRILLIC'), or ''."""
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            if name and not name.startswith("LATIN"):
                return name.split(" ")[0]
    return ""


_SCRIPT_NAMES = {"CJK": "Chinese/Japanese characters", "HIRAGANA": "Japanese", "KATAKANA": "Japanese",
                 "HANGUL": "Korean", "CYRILLIC": "Cyrillic", "ARABIC": "Arabic", "HEBREW": "Hebrew",
                 "GREEK": "Greek", "DEVANAGARI": "Devanagari", "THAI": "Thai"}


def _language_problem(text: str) -> str:
    """Why ``text`` is not English, or ''."""
    script = _script(text)
    if script:
        return f"it is not in English (written in {_SCRIPT_NAMES.get(script, script.title())} script)"
    words = re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", text)
    foreign = [w for w in words if w in FOREIGN_WORDS or re.search(r"[àáâãäåçèéêëìíîïñòóôõöùúûüýÿßœæ]", w)]
    english = [w for w in words if w not in FOREIGN_WORDS and (w in FUNCTION_WORDS or w in EDIT_VERBS or _known(w))]
    if foreign and len(foreign) >= len(english):
        return f"it does not look like English (words such as {', '.join(repr(w) for w in foreign[:3])})"
    return ""


def _correct(text: str, notes: list[str]) -> tuple[str, int]:
    """Fix typos in verbs and key nouns; each fix is noted. Returns (text, number of fixes)."""
    out, fixes = [], 0
    tokens = text.split(" ")
    for i, tok in enumerate(tokens):
        m = re.fullmatch(r"([^\w']*)([\w'-]+)([^\w']*)", tok)
        if not m:
            out.append(tok)
            continue
        lead, word, trail = m.groups()
        first = i == 0 or (out and out[-1].endswith((",", ";", ".")))
        new = None
        if word in ("teh", "hte", "th", "tje"):
            new = "the"
        elif word in ("ad", "addd", "adda") and first:
            new = "add"
        elif word == "rid" or word.endswith("'s") and _known(word[:-2]):
            new = None
        else:
            new = correct_word(word, first=first)
        if new and new != word:
            if new != "the":
                notes.append(f"read '{word}' as '{new}'")
                fixes += 1
            word = new
        out.append(lead + word + trail)
    return " ".join(out), fixes


def strip_wrappers(clause: str) -> str:
    """Remove polite/chatty openings and endings ("could you please ...", "... thanks!")."""
    text = clause.strip().strip(" .!?,;:\"'")
    for _ in range(6):
        new = _LEAD_WRAPPERS.sub("", text, count=1).strip(" ,.!?")
        new = _TRAIL_WRAPPERS.sub("", new).strip(" ,.!?")
        if new == text:
            break
        text = new
    return text


# the verbs that start an edit clause (for splitting multi-edit instructions)
_CLAUSE_VERBS = (r"(?:remove|delete|erase|eliminate|get rid|take|clear|wipe|cut|drop|lose|ditch|hide|add|insert|put|"
                 r"place|give|let|make|turn|change|convert|transform|replace|swap|switch|color|recolor|paint|dye|"
                 r"render|apply|move|send|blur|brighten|darken|desaturate|sharpen|also|then|set|stick|draw|"
                 r"include|bring|teleport|fix|can you|could you|please)")
_SPLIT_RE = re.compile(
    rf"\s*;\s*|\s*\.\s+|\?\s+|!\s+|,?\s+and then\s+|,\s*then\s+|\s+then\s+(?={_CLAUSE_VERBS}\b)|,?\s+also\s+|"
    rf",?\s+and\s+(?:also\s+)?(?={_CLAUSE_VERBS}\b)|,\s*(?={_CLAUSE_VERBS}\b)|\s+plus\s+(?={_CLAUSE_VERBS}\b)")


_LIST_SPLIT = re.compile(r",\s*(?:and\s+)?(?=(?:the|his|her|their|my)\s+[\w'-]+(?:\s+[\w'-]+)?$)")


def split_edits(text: str) -> list[str]:
    """Clauses of a multi-edit instruction, wrappers removed, empty and chat-only ones dropped."""
    parts = [strip_wrappers(p) for p in _SPLIT_RE.split(text) if p and p.strip()]
    if parts and re.match(r"^(?:make|turn|paint|color|colour|change)\s", parts[0]):
        parts = [q for p in parts for q in _LIST_SPLIT.split(p)]
    return [p for p in parts if p and not all(w in CHAT_ONLY for w in re.findall(r"[\w']+", p))]


# ------------------------------------------------------------------------------ noun phrases


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


# ---------------------------------------------------------------------------------- captions


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


# ------------------------------------------------------------------------------------ patterns

_REMOVE_VERB = (r"(?:remove|delete|erase|eliminate|get rid of|rid|take away|take out|take off|clear away|clear out|"
                r"clear off|wipe away|wipe out|wipe off|cut out|cut away|crop out|edit out|photoshop out|paint out|"
                r"drop|lose|ditch|nuke|kill|hide|scrap|strip away|strip off|zap|throw away|throw out|clean up|"
                r"clean off|clean away|pull out|knock out|get out|do away with|delete out|blur out|mask out|"
                r"erase out|cover up|take down|tear down|pull down|remove all|get|take|clear)")
_REMOVE_RE = re.compile(rf"^(?:{_REMOVE_VERB})\s+(?P<obj>.+)$")
_PARTICLE_RE = re.compile(
    r"^(?:get|take|pull|cut|clear|wipe|throw|move|knock|clean|kick|chop|crop|edit|rub|brush|peel|scrub|lift|shift|"
    r"push|photoshop|paint|rip|tear|yank|toss|strip|brush)\s+(?P<obj>.+?)\s+(?:out|off|away|outta)"
    r"(?:\s+(?:of\s+|from\s+)?(?P<loc>.+))?$")
_VANISH = r"(?:disappear|vanish|go away|be gone|gone|invisible|leave|go|get lost|fade away|fade out)"
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

_ADD_VERB = (r"(?:add|insert|include|draw|draw in|paint in|sketch in|put|place|stick|attach|throw in|drop in|pop|"
             r"plop|slap|bring in|bring|set|hang|plant|spawn|generate|create|paint|put in|add in|show|"
             r"sprinkle|scatter|position|install|mount|introduce|overlay|superimpose|append|addon|add on)")
_ADD_RE = re.compile(rf"^(?:{_ADD_VERB})\s+(?P<obj>.+)$")
_GIVE_RE = re.compile(r"^(?:give|gift)\s+(?P<who>him|her|them|us|me|it|this|(?:the|this|that|my|our|his|her|their)\s+"
                      r"(?:[\w'-]+\s+){0,2}?[\w'-]+?)\s+(?P<obj>(?:a|an|some|more|two|three|\d+|new|another|"
                      r"[\w-]+\s+(?:look|feel|vibe|style|filter|tone|glow|effect)|[\w'-]+).*)$")
_HOLD_RE = re.compile(r"^(?:let|have|make|show)\s+(?P<who>.+?)\s+(?P<verb>hold|holding|wear|wearing|carry|carrying|"
                      r"have|has|eat|eating|drink|drinking|play|playing|ride|riding|sport|sporting)\s+(?P<obj>.+)$")
_INDEF_EARLY = (r"(?:a|an|some|more|two|three|four|five|six|seven|eight|nine|ten|\d+|another|a few|a couple of|"
                r"a pair of|several|many|lots of|a bunch of|one|few)\b")
_WISH_RE = re.compile(r"^(?:(?:i|we)\s+)?(?:really\s+)?(?:want|need|would like|'d like|d like|would love|'d love|"
                      r"wish for|wanna have|want to have|want to see|would like to see|'d like to see|"
                      r"would love to see|love to see|could use|can have|can get|get|have|gimme|give me|"
                      r"how about|what about|maybe|let's have|lets have|could we have|can we have|can i get|"
                      r"can i have|need|want)\s+(?P<obj>" + _INDEF_EARLY + r".+)$")
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
_INDEF = r"(?:a|an|some|more|two|three|four|five|six|seven|eight|nine|ten|\d+|another|a few|a couple of|a pair of|" \
         r"several|many|lots of|a bunch of|one|few)\b"

_CHANGE_VERB = (r"(?:make|turn|change|convert|transform|render|color|colour|recolor|recolour|paint|dye|tint|let|"
                r"switch|swap|swap out|replace|exchange|substitute|modify|edit|restyle|alter|tweak|adjust|redo|"
                r"update|set|transform|morph|fix|redesign|upgrade|have|get)")
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
_MOVE_RE = re.compile(rf"^(?:put|place|move|set|transport|teleport|bring|send|take|drop|relocate|transfer|show|have|"
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


# ------------------------------------------------------------------------------ clause reader


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


# ------------------------------------------------------------------------------ public API


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
        raise ValueError("the instruction is empty: type what to change, e.g. 'remove the dog'")
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
