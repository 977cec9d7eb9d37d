"""From raw text to clauses: normalising, language check, typo fixes, polite wrappers, multi-edit split."""
from __future__ import annotations

import re
import unicodedata

from ..vocab import CHAT_ONLY, EDIT_VERBS, FOREIGN_WORDS, FUNCTION_WORDS
from .typos import correct_word, _known
from .verbs import _CLAUSE_VERBS
from .words import _SLANG


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
