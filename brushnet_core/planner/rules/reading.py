"""What the rules understood from one instruction: the Reading, and the thresholds and defaults it is judged by."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..plan import UNKNOWN


#: Below this confidence the rules answer ``unknown`` instead of guessing.
UNKNOWN_BELOW = 0.5


DEFAULT_REMOVE_CAPTION = "clean natural background, seamless"


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
