"""The rule-based fallback planner on a table of real-world instructions."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from brushnet_core.planner.plan import CATEGORIES
from brushnet_core.planner.rules import DEFAULT_REMOVE_CAPTION, addition_box, rule_plan

sys.path.insert(0, str(Path(__file__).parent))
from instruction_table import HELD_OUT, ROWS  # noqa: E402

log = logging.getLogger("BrushEdit.tests")


def _score(rows=ROWS) -> tuple[float, float, list[str]]:
    cat_ok = obj_ok = 0
    misses = []
    for text, cat, obj in rows:
        plan = rule_plan(text, 640, 480)
        cat_ok += plan.category == cat
        good_obj = obj is None or plan.object_phrase.lower() == obj
        obj_ok += good_obj
        if plan.category != cat or not good_obj:
            misses.append(f"{text!r}: {plan.category}/{plan.object_phrase!r}, expected {cat}/{obj!r}")
    return cat_ok / len(rows), obj_ok / len(rows), misses


def test_table_is_large_and_covers_every_category():
    assert len(ROWS) >= 40
    assert {cat for _t, cat, _o in ROWS} == set(CATEGORIES)


def test_category_accuracy_on_table(capsys):
    cat_acc, obj_acc, misses = _score()
    with capsys.disabled():
        print(f"\n[rules planner] category accuracy {cat_acc:.1%}, object accuracy {obj_acc:.1%} "
              f"on {len(ROWS)} instructions; misses: {misses}")
    assert cat_acc >= 0.9, misses


def test_category_accuracy_on_held_out_table(capsys):
    cat_acc, obj_acc, misses = _score(HELD_OUT)
    with capsys.disabled():
        print(f"\n[rules planner] held-out: category {cat_acc:.1%}, object {obj_acc:.1%} on {len(HELD_OUT)}")
    assert cat_acc >= 0.85, misses


def test_unmatched_instruction_falls_back_to_global_with_instruction_caption():
    plan = rule_plan("a dog wearing a hat", 64, 64)
    assert (plan.category, plan.target_caption) == ("global", "a dog wearing a hat")


def test_object_accuracy_on_table():
    _cat, obj_acc, misses = _score()
    assert obj_acc >= 0.85, misses


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_category_has_a_nonempty_caption(category):
    for text, cat, _obj in ROWS:
        if cat == category:
            assert rule_plan(text, 64, 64).target_caption, text


def test_remove_caption_drops_the_object_from_source_caption():
    plan = rule_plan("remove the mask", 64, 64, source_caption="a grandmother wearing a mask")
    assert plan.target_caption == "a grandmother"


def test_remove_without_source_caption_uses_neutral_caption():
    assert rule_plan("remove the dog", 64, 64).target_caption == DEFAULT_REMOVE_CAPTION


def test_local_caption_rewrites_the_object_in_source_caption():
    plan = rule_plan("make the car red", 64, 64, source_caption="a car parked on a street")
    assert plan.target_caption == "a red car parked on a street"


def test_addition_box_follows_position_words():
    assert addition_box("add a moon in the top right", 300, 300) == (200, 0, 300, 100)
    assert addition_box("add a dog", 300, 300) == (100, 100, 200, 200)
    assert addition_box("add a boat at the bottom left", 301, 299) == (0, 199, 100, 298)


def test_empty_instruction_is_rejected():
    with pytest.raises(ValueError, match="instruction is empty"):
        rule_plan("  ", 64, 64)
