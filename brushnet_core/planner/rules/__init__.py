"""Rule-based planner: English edit instructions as people type them -> category, object, caption.

No model: deterministic and instant, so the flow runs anywhere. It reads one English instruction
(typos in verbs and key nouns are corrected against the word lists in :mod:`..vocab`), strips polite
and chatty wrappers, splits several edits apart (the first is planned, the rest are reported), and
matches the clause against patterns for each category. Every reading carries a confidence; when
nothing matches, the language is not English, or the confidence is below
:data:`UNKNOWN_BELOW`, the category is ``"unknown"`` with the reason - never a silent ``global``.

It cannot see the image: the addition box comes only from position words ("on the left", "top
right"), and captions are written from the instruction (plus an optional caption of the source
image the user types). Subtle requests and other languages need a model backend.

The rooms, in reading order:

- ``instruction``: the public API (``read_instruction``, ``rule_plan``, ``classify``, ``addition_box``,
  ``default_caption``): a whole instruction -> clauses -> the first understood reading -> a plan.
- ``normalise``: raw text -> lower case, slang, typos fixed (``typos``), wrappers stripped, clauses.
- ``clause``: one clause against the ``patterns`` of each category, in a fixed order; ``background``
  and ``verbless`` read the clauses those patterns leave.
- ``readers``: a matched removal, addition or change -> a ``Reading`` (``reading``).
- ``phrases`` (noun phrases, locations, articles) and ``captions`` (the target caption), on the
  word lists in ``words``.
"""
from __future__ import annotations

from ..plan import HIGH_CONFIDENCE
from .instruction import addition_box, classify, default_caption, read_instruction, rule_plan
from .reading import DEFAULT_REMOVE_CAPTION, UNKNOWN_BELOW, Reading
from .typos import edit_distance

__all__ = ["DEFAULT_REMOVE_CAPTION", "HIGH_CONFIDENCE", "UNKNOWN_BELOW", "Reading", "addition_box", "classify",
           "default_caption", "edit_distance", "read_instruction", "rule_plan"]
