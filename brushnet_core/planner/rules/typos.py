"""Typo correction against the vocabulary: edit distance and the one closest known word."""
from __future__ import annotations

import re
from typing import Optional

from ..vocab import (
    ADJECTIVES, CHAT_ONLY, COLORS, EDIT_VERBS, FOREIGN_WORDS, FUNCTION_WORDS, GLOBAL_WORDS, MATERIALS, NOUNS,
    PARTICLES, PICTURE_WORDS, PLACES,
)


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
