"""The edit plan: what an instruction asks for, as plain data (no model, no ComfyUI)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional

#: The five edit categories of the BrushEdit agent, in menu order.
CATEGORIES: tuple[str, ...] = ("addition", "remove", "local", "global", "background")

#: Categories that need an object phrase (the thing to find and mask).
NEEDS_OBJECT: frozenset[str] = frozenset({"remove", "local"})

#: A box in pixels of the ORIGINAL image: (x0, y0, x1, y1), x1/y1 exclusive.
Box = tuple[int, int, int, int]


class PlannerError(RuntimeError):
    """Base class of every planner failure; the message names the problem and the fix."""


class PlanParseError(PlannerError):
    """The model's answer could not be turned into a valid plan (the message quotes it)."""


@dataclass(frozen=True)
class EditPlan:
    """One planned edit.

    ``box`` is only meaningful for ``addition``; it is in pixels of the original image.
    ``raw_answer`` keeps what the backend said (or a note for rule-based plans) for inspection.
    """

    category: str
    object_phrase: str = ""
    target_caption: str = ""
    box: Optional[Box] = None
    raw_answer: str = ""
    backend: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(
                f"unknown edit category {self.category!r}; expected one of {', '.join(CATEGORIES)}"
            )
        if self.box is not None:
            x0, y0, x1, y1 = self.box
            if x1 <= x0 or y1 <= y0:
                raise ValueError(f"empty box {self.box}: need x0 < x1 and y0 < y1 (pixels, x1/y1 exclusive)")

    def with_overrides(
        self,
        category: str | None = None,
        object_phrase: str | None = None,
        target_caption: str | None = None,
        box: Box | None = None,
    ) -> "EditPlan":
        """A copy where every given (non-empty) value replaces the planned one."""
        changes: dict = {}
        if category:
            changes["category"] = category
        if object_phrase:
            changes["object_phrase"] = object_phrase.strip()
        if target_caption:
            changes["target_caption"] = target_caption.strip()
        if box is not None:
            changes["box"] = tuple(int(v) for v in box)
        if not changes:
            return self
        notes = self.notes + tuple(f"user override: {k}" for k in changes)
        return replace(self, notes=notes, **changes)

    def box_xywh(self) -> tuple[int, int, int, int]:
        """The box as (x, y, width, height), or zeros when there is none."""
        if self.box is None:
            return (0, 0, 0, 0)
        x0, y0, x1, y1 = self.box
        return (x0, y0, x1 - x0, y1 - y0)

    def summary(self) -> str:
        """One human-readable line, for logs and the node UI."""
        parts = [f"category={self.category}"]
        if self.object_phrase:
            parts.append(f"object={self.object_phrase!r}")
        if self.box is not None:
            parts.append(f"box={list(self.box)}")
        parts.append(f"caption={self.target_caption!r}")
        if self.backend:
            parts.append(f"backend={self.backend}")
        return ", ".join(parts)


def parse_box_text(text: str) -> Box | None:
    """A user-typed box "x0, y0, x1, y1" (pixels) -> Box; empty text -> None."""
    text = (text or "").strip().strip("[]()")
    if not text:
        return None
    bits = [b for b in text.replace(";", ",").replace(" ", ",").split(",") if b]
    try:
        values = [int(round(float(b))) for b in bits]
    except ValueError:
        values = []
    if len(values) != 4:
        raise ValueError(
            f"box override {text!r} is not four numbers; type it as 'x0, y0, x1, y1' in pixels "
            "of the input image (top-left and bottom-right corners)"
        )
    x0, y0, x1, y1 = values
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box override {values} is empty: need x0 < x1 and y0 < y1")
    return (x0, y0, x1, y1)
