"""The edit plan: what an instruction asks for, as plain data (no model, no ComfyUI)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional
from ..errors import BrushEditError

#: The five edit categories of the BrushEdit agent, in menu order.
CATEGORIES: tuple[str, ...] = ("addition", "remove", "local", "global", "background")

#: Categories that need an object phrase (the thing to find and mask).
NEEDS_OBJECT: frozenset[str] = frozenset({"remove", "local"})

#: The category of a plan whose instruction was not understood (Plan Mask refuses it with the fixes).
UNKNOWN = "unknown"

#: Plans at or above this confidence count as high-confidence (the info output says so).
HIGH_CONFIDENCE = 0.8

#: A box in pixels of the ORIGINAL image: (x0, y0, x1, y1), x1/y1 exclusive.
Box = tuple[int, int, int, int]


class PlannerError(BrushEditError, RuntimeError):
    """Base class of every planner failure; the message names the problem and the fix."""


class PlanParseError(PlannerError):
    """The model's answer could not be turned into a valid plan (the message quotes it)."""


class PlanInputError(BrushEditError, ValueError):
    """An input or setting the planner cannot use (empty instruction, unknown category, bad box or URL).

    Deliberately not a :class:`PlannerError`: planner code catches those to retry or repair, and a bad
    input is not retried.
    """


@dataclass(frozen=True)
class EditPlan:
    """One planned edit.

    ``box`` is only meaningful for ``addition``; it is in pixels of the original image.
    ``raw_answer`` keeps what the backend said (or a note for rule-based plans) for inspection.
    ``category`` is :data:`UNKNOWN` when the instruction was not understood; ``reason`` says why.
    ``confidence`` (0-1) is the backend's certainty; ``others`` lists further edits of a
    multi-edit instruction that this plan does not cover.
    """

    category: str
    object_phrase: str = ""
    target_caption: str = ""
    box: Optional[Box] = None
    raw_answer: str = ""
    backend: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    confidence: Optional[float] = None
    reason: str = ""
    others: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES and self.category != UNKNOWN:
            raise PlanInputError(
                f"unknown edit category {self.category!r}; expected one of {', '.join(CATEGORIES)}"
            )
        if self.box is not None:
            x0, y0, x1, y1 = self.box
            if x1 <= x0 or y1 <= y0:
                raise PlanInputError(f"empty box {self.box}: need x0 < x1 and y0 < y1 (pixels, x1/y1 exclusive)")

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
        if "category" in changes and self.category == UNKNOWN:
            changes["reason"] = ""
            changes["confidence"] = 1.0  # the user decided
        return replace(self, notes=notes, **changes)

    @property
    def understood(self) -> bool:
        return self.category != UNKNOWN

    def box_xywh(self) -> tuple[int, int, int, int]:
        """The box as (x, y, width, height), or zeros when there is none."""
        if self.box is None:
            return (0, 0, 0, 0)
        x0, y0, x1, y1 = self.box
        return (x0, y0, x1 - x0, y1 - y0)

    def summary(self) -> str:
        """One human-readable line, for logs and the node UI."""
        parts = [f"category={self.category}"]
        if self.confidence is not None:
            parts.append(f"confidence={self.confidence:.2f}")
        if self.object_phrase:
            parts.append(f"object={self.object_phrase!r}")
        if self.box is not None:
            parts.append(f"box={list(self.box)}")
        parts.append(f"caption={self.target_caption!r}")
        if self.backend:
            parts.append(f"backend={self.backend}")
        if self.others:
            parts.append(f"not planned: {len(self.others)} more edit(s)")
        return ", ".join(parts)

    def confidence_text(self) -> str:
        if self.confidence is None:
            return "not reported"
        level = "high" if self.confidence >= HIGH_CONFIDENCE else ("low" if self.confidence < 0.5 else "medium")
        return f"{self.confidence:.2f} ({level})"

    def info(self) -> str:
        """Multi-line text for the node's info output: every field, the confidence, the notes."""
        lines = [f"category: {self.category}", f"confidence: {self.confidence_text()}"]
        if self.category == UNKNOWN:
            lines.append(f"not understood: {self.reason or 'no reason given'}")
        lines.append(f"object: {self.object_phrase or '-'}")
        lines.append(f"target caption: {self.target_caption or '-'}")
        if self.box is not None:
            lines.append(f"box (x0, y0, x1, y1): {list(self.box)}")
        lines.append(f"backend: {self.backend or '-'}")
        if self.others:
            lines.append(f"NOT planned ({len(self.others)} more edit(s) in the instruction): "
                         + "; ".join(repr(o) for o in self.others)
                         + " - run the planner again on the result for each")
        lines.extend(f"note: {n}" for n in self.notes)
        if self.category == UNKNOWN:
            lines.append(unknown_fix_text())
        return "\n".join(lines)


def with_estimated_confidence(plan: EditPlan, repairs: int = 0) -> EditPlan:
    """A model plan without a stated confidence gets a rough one: 0.75, or 0.55 after a repair round."""
    if plan.confidence is not None:
        return plan
    return replace(plan, confidence=0.75 if repairs == 0 else 0.55,
                   notes=plan.notes + ("confidence estimated: the model stated none",))


def unknown_fix_text() -> str:
    """The two ways out of an ``unknown`` plan, as the user sees them."""
    return ("fix: (1) set the category by hand: on BrushEdit Planner choose override_category (and type "
            "override_object / override_caption when needed), or (2) use a model backend: connect BrushEdit "
            "Planner Backend (local LLM, local Qwen-VL or OpenAI-compatible API) to the planner's 'planner' input")


def unknown_message(plan: "EditPlan", instruction: str = "") -> str:
    """Plan Mask's error for an ``unknown`` plan: what was not understood, and the two fixes."""
    what = f" {instruction.strip()!r}" if instruction.strip() else ""
    return (f"BrushEdit Planner did not understand the instruction{what}: {plan.reason or 'no edit recognised'} "
            f"(planner: {plan.backend or 'unknown'}, confidence {plan.confidence_text()}). Nothing was masked. "
            f"Two fixes: (1) set the category by hand: on BrushEdit Planner choose override_category "
            f"(addition/remove/local/global/background) and, if needed, type override_object and override_caption; "
            f"or (2) use a model backend, which understands other languages and subtle requests: connect "
            f"BrushEdit Planner Backend (local LLM, local Qwen-VL or OpenAI-compatible API) to the planner input.")


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
        raise PlanInputError(
            f"box override {text!r} is not four numbers; type it as 'x0, y0, x1, y1' in pixels "
            "of the input image (top-left and bottom-right corners)"
        )
    x0, y0, x1, y1 = values
    if x1 <= x0 or y1 <= y0:
        raise PlanInputError(f"box override {values} is empty: need x0 < x1 and y0 < y1")
    return (x0, y0, x1, y1)
