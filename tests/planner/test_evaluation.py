"""The rule-based planner on the hand-written evaluation set: a report, with floors that catch regressions.

The set (``brushnet_core/planner/eval_set``) was written before the rules were rewritten, and its
split into a tuning part and a held-out part is fixed by a hash of the instruction, so nobody picks
which rows are held out. Figures are printed for both parts.
"""
from __future__ import annotations

import zlib

import pytest

from brushnet_core.planner.evaluation import PARTS, SPLIT_PARTS, evaluate, load, rules_plan_fn
from brushnet_core.planner.plan import CATEGORIES, UNKNOWN

pytestmark = pytest.mark.core  # pure core: runs without booting ComfyUI

#: Floors below today's figures (tune, held-out and probes: 100/100/0.0 %): a drop below them is a
#: regression, not noise. High-confidence wrong answers are the number that hurts users: kept near zero.
#: probes.txt was scored once per round before its misses were fixed (figures in its header: about 93 %
#: category, 89 % object, 3 % wrong with high confidence) - expect that on instructions nobody tuned for.
FLOORS = {
    "tune": {"category": 0.95, "object": 0.93, "confident_wrong": 0.03},
    "heldout": {"category": 0.92, "object": 0.90, "confident_wrong": 0.04},
    "probes": {"category": 0.95, "object": 0.93, "confident_wrong": 0.03},
}


@pytest.fixture(scope="module")
def reports():
    return {part: evaluate(rules_plan_fn(), part) for part in PARTS}


def test_set_is_large_split_by_hash_and_covers_every_style():
    tune, held = load("tune"), load("heldout")
    assert len(tune) + len(held) >= 150 and len(held) >= 60
    assert not {c.instruction for c in tune} & {c.instruction for c in held}
    for part, rows in (("tune", tune), ("heldout", held)):
        for case in rows:
            held_out = zlib.crc32(case.instruction.strip().lower().encode()) % 10 < 4
            assert held_out == (part == "heldout"), case.instruction
        assert {c.category for c in rows} == set(CATEGORIES) | {UNKNOWN}, part
    tags = {t for c in tune + held for t in c.tags}
    assert {"typo", "noverb", "chatty", "multi", "slang", "foreign", "negation", "particle", "should"} <= tags
    assert sum(c.category == UNKNOWN for c in tune + held) >= 15
    assert SPLIT_PARTS == ("tune", "heldout") and len(load("probes")) >= 150


@pytest.mark.parametrize("part", PARTS)
def test_evaluation_report_and_floors(reports, part, capsys):
    rep = reports[part]
    with capsys.disabled():
        print(f"\n[planner evaluation, rules] {rep.summary()}")
        for miss in rep.misses():
            print(f"    miss: {miss}")
    floor = FLOORS[part]
    assert rep.category_accuracy >= floor["category"], rep.misses()
    assert rep.object_accuracy >= floor["object"], rep.misses()
    assert rep.confident_wrong_rate <= floor["confident_wrong"], rep.misses()


@pytest.mark.parametrize("part", PARTS)
def test_other_languages_and_nonsense_come_back_unknown(reports, part):
    rows = [r for r in reports[part].results if r.case.category == UNKNOWN]
    assert rows and all(r.category == UNKNOWN for r in rows), [r.case.instruction for r in rows if not r.category_ok]
