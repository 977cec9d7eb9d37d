"""Planner backends share one flow: prompt -> answer -> strict parse -> one repair round -> error."""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Optional

from .parse import plan_from_answer, quote
from .plan import EditPlan, PlanInputError, PlannerError, PlanParseError, with_estimated_confidence
from .prompts import SYSTEM_PROMPT, plan_prompt, repair_prompt
from .rules import rule_plan

log = logging.getLogger("BrushEdit.planner")

#: One chat turn: (role, text). The image, if any, belongs to the first user turn.
Turn = tuple[str, str]

#: Called often during long waits; raises (e.g. ComfyUI's InterruptProcessingException) to cancel.
CancelCheck = Callable[[], None]

#: Longest time between two cancel checks while waiting (seconds).
POLL_S = 0.1


def no_cancel() -> None:
    """The cancel check used when the caller gives none: never cancels."""


def sleep_cancellable(seconds: float, cancel_check: Optional[CancelCheck] = None) -> None:
    """``time.sleep`` in short slices, calling ``cancel_check`` before each (its exception propagates)."""
    check = cancel_check or no_cancel
    end = time.monotonic() + max(0.0, seconds)
    while True:
        check()
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(POLL_S, left))


class PlannerUnreachable(PlannerError):
    """The endpoint could not be contacted (refused, DNS, TLS)."""


class PlannerAuthError(PlannerError):
    """HTTP 401/403: the API key is missing or was rejected."""


class PlannerModelNotFound(PlannerError):
    """The server does not know the model name, or the path is wrong."""


class PlannerTimeout(PlannerError):
    """No answer within the time limit, after every retry."""


class PlannerHTTPError(PlannerError):
    """Any other HTTP failure (server error after retries, bad request)."""


class Planner:
    """Anything the planner node can use: ``plan(image, instruction, source_caption)``."""

    name = "planner"

    def plan(self, image: Any, instruction: str, source_caption: str = "",
             cancel_check: Optional[CancelCheck] = None) -> EditPlan:
        """``cancel_check`` is called during long waits and raises to cancel (Cancel button)."""
        raise NotImplementedError


class RulesPlanner(Planner):
    """The rule-based fallback: no model, deterministic, instant."""

    name = "rules"

    def plan(self, image: Any, instruction: str, source_caption: str = "",
             cancel_check: Optional[CancelCheck] = None) -> EditPlan:
        width, height = image.size
        return rule_plan(instruction, width, height, source_caption)


class ChatPlanner(Planner):
    """Base of MLLM planners; subclasses implement :meth:`prepare` and :meth:`chat`."""

    #: "pixels" (of the reference size returned by prepare), "norm1000", "norm1" or "auto".
    box_convention = "pixels"
    repair_rounds = 1

    def prepare(self, image: Any) -> tuple[Any, tuple[int, int]]:
        """(image to send, reference size the model's pixel boxes refer to)."""
        return image, image.size

    def chat(self, turns: list[Turn], image: Optional[Any], cancel_check: Optional[CancelCheck] = None) -> str:
        """The model's answer to ``turns``; calls ``cancel_check`` while it waits or generates."""
        raise NotImplementedError

    def prompt_convention(self) -> str:
        return self.box_convention

    def build_prompt(self, instruction: str, ref_size: tuple[int, int]) -> str:
        """The first user message (text-only backends override it)."""
        return plan_prompt(instruction, ref_size[0], ref_size[1], self.prompt_convention())

    def parse_answer(self, answer: str, image: Any, ref_size: tuple[int, int], instruction: str) -> EditPlan:
        """One answer -> plan; raises PlanParseError (then one repair round follows)."""
        return plan_from_answer(answer, image.size, self.box_convention, ref_size, backend=self.name)

    def plan(self, image: Any, instruction: str, source_caption: str = "",
             cancel_check: Optional[CancelCheck] = None) -> EditPlan:
        check = cancel_check or no_cancel
        if not instruction or not instruction.strip():
            raise PlanInputError("the instruction is empty: type what to change, e.g. 'remove the dog'")
        sent, ref_size = self.prepare(image)
        prompt = self.build_prompt(instruction, ref_size)
        if source_caption.strip():
            prompt += f"\nA description of the picture before the edit: {source_caption.strip()}"
        turns: list[Turn] = [("user", prompt)]
        answers: list[str] = []
        for attempt in range(self.repair_rounds + 1):
            check()
            start = time.monotonic()
            answer = self.chat(turns, sent, cancel_check=check)
            answers.append(answer)
            log.info("[BrushEdit] planner %s answered in %.1fs (%d chars)", self.name,
                     time.monotonic() - start, len(answer))
            try:
                return with_estimated_confidence(self.parse_answer(answer, image, ref_size, instruction), attempt)
            except PlanParseError as exc:
                problem = str(exc)
                log.warning("[BrushEdit] planner answer unusable (%s)%s", problem,
                            "; asking once more" if attempt < self.repair_rounds else "")
                turns = turns + [("assistant", answer), ("user", repair_prompt(answer, problem))]
        shown = "; ".join(f"answer {i + 1}: {quote(a)}" for i, a in enumerate(answers))
        raise PlanParseError(
            f"the planner ({self.name}) gave no usable plan after {len(answers)} tries - {problem}. "
            f"{shown}. Fix: use a stronger model, or type the category/object/caption/box into the "
            "planner node's override inputs, or use the rule-based planner."
        )


__all__ = [
    "CancelCheck", "ChatPlanner", "Planner", "PlannerAuthError", "PlannerError", "PlannerHTTPError",
    "PlannerModelNotFound", "PlannerTimeout", "PlannerUnreachable", "RulesPlanner", "SYSTEM_PROMPT",
    "no_cancel", "sleep_cancellable",
]
