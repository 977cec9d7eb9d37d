"""Score a planner on the hand-written evaluation set (``eval_set/tune.txt``, ``heldout.txt``, ``probes.txt``).

Figures: category accuracy, object accuracy (on rows that name an object), and the rate of wrong
answers given with high confidence - a wrong category or object at confidence >= HIGH_CONFIDENCE,
over all rows (the number that hurts users: a confident wrong plan repaints the wrong thing).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .plan import HIGH_CONFIDENCE, UNKNOWN, EditPlan, PlanInputError

EVAL_DIR = Path(__file__).with_name("eval_set")
PARTS = ("tune", "heldout", "probes")
#: The two parts split by hash before tuning (probes.txt was written later and used for tuning).
SPLIT_PARTS = ("tune", "heldout")
_DETS = re.compile(r"^(?:(?:the|a|an|this|that|his|her|their|its|my|our|your|some)\s+)+")


@dataclass(frozen=True)
class Case:
    instruction: str
    category: str
    objects: tuple[str, ...]  # accepted object phrases; empty = not scored
    tags: tuple[str, ...]


def load(part: str) -> list[Case]:
    """The rows of one part ('tune' or 'heldout')."""
    if part not in PARTS:
        raise PlanInputError(f"unknown evaluation part {part!r}; expected one of {PARTS}")
    cases = []
    for line in (EVAL_DIR / f"{part}.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        instruction, category, objects, tags = (f.strip() for f in line.split(" | "))
        objs = () if objects == "-" else tuple(o.strip() for o in objects.split("/"))
        cases.append(Case(instruction, category, objs, tuple(tags.split(","))))
    return cases


def norm_object(text: str) -> str:
    return _DETS.sub("", (text or "").lower().strip().strip(".!?")).strip()


@dataclass
class Result:
    case: Case
    category: str
    object_phrase: str
    confidence: Optional[float]

    @property
    def category_ok(self) -> bool:
        return self.category == self.case.category

    @property
    def object_ok(self) -> Optional[bool]:
        if not self.case.objects:
            return None
        return norm_object(self.object_phrase) in {norm_object(o) for o in self.case.objects}

    @property
    def wrong(self) -> bool:
        return not self.category_ok or self.object_ok is False

    @property
    def confident(self) -> bool:
        return self.confidence is not None and self.confidence >= HIGH_CONFIDENCE and self.category != UNKNOWN


@dataclass
class Report:
    part: str
    results: list[Result] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.results)

    @property
    def category_accuracy(self) -> float:
        return sum(r.category_ok for r in self.results) / max(1, self.size)

    @property
    def object_rows(self) -> list[Result]:
        return [r for r in self.results if r.object_ok is not None]

    @property
    def object_accuracy(self) -> float:
        rows = self.object_rows
        return sum(bool(r.object_ok) for r in rows) / max(1, len(rows))

    @property
    def confident_wrong_rate(self) -> float:
        """Wrong answers given with high confidence, over all rows."""
        return sum(r.wrong and r.confident for r in self.results) / max(1, self.size)

    @property
    def confident_share(self) -> float:
        return sum(r.confident for r in self.results) / max(1, self.size)

    @property
    def unknown_recall(self) -> float:
        rows = [r for r in self.results if r.case.category == UNKNOWN]
        return sum(r.category == UNKNOWN for r in rows) / max(1, len(rows))

    def misses(self) -> list[str]:
        out = []
        for r in self.results:
            if r.wrong:
                conf = "-" if r.confidence is None else f"{r.confidence:.2f}"
                out.append(f"{r.case.instruction!r}: got {r.category}/{r.object_phrase!r} ({conf}), expected "
                           f"{r.case.category}/{'/'.join(r.case.objects) or '-'}")
        return out

    def summary(self) -> str:
        return (f"{self.part}: {self.size} instructions, category {self.category_accuracy:.1%}, object "
                f"{self.object_accuracy:.1%} (of {len(self.object_rows)}), high-confidence wrong "
                f"{self.confident_wrong_rate:.1%} (high-confidence answers: {self.confident_share:.1%}), "
                f"non-English/nonsense answered unknown {self.unknown_recall:.0%}")


def evaluate(plan_fn: Callable[[str], EditPlan], part: str) -> Report:
    """Run ``plan_fn(instruction) -> EditPlan`` over one part of the set."""
    report = Report(part)
    for case in load(part):
        plan = plan_fn(case.instruction)
        report.results.append(Result(case, plan.category, plan.object_phrase, plan.confidence))
    return report


def rules_plan_fn(width: int = 640, height: int = 480) -> Callable[[str], EditPlan]:
    from .rules import rule_plan

    return lambda text: rule_plan(text, width, height)


if __name__ == "__main__":  # python -m brushnet_core.planner.evaluation tune
    import sys

    for name in sys.argv[1:] or ["tune"]:
        rep = evaluate(rules_plan_fn(), name)
        print(rep.summary())
        if "-v" in sys.argv or name == "tune":
            print("\n".join(rep.misses()))
