"""Strict-but-tolerant parsing of planner answers and box conventions."""
from __future__ import annotations

import pytest

from brushnet_core.planner.parse import convert_box, extract_json_object, normalise_category, plan_from_answer
from brushnet_core.planner.plan import EditPlan, PlanParseError, parse_box_text

GOOD = '{"category": "remove", "object": "brown dog", "target_caption": "an empty sofa", "box": null}'


def test_bare_json_is_parsed():
    plan = plan_from_answer(GOOD, (640, 480))
    assert (plan.category, plan.object_phrase, plan.target_caption, plan.box) == (
        "remove", "brown dog", "an empty sofa", None)


def test_fenced_json_is_parsed():
    assert extract_json_object("```json\n" + GOOD + "\n```")["object"] == "brown dog"


def test_chatty_answer_with_braces_in_strings_is_parsed():
    answer = 'Sure! Here is the plan {not json} :\n{"category": "local", "object": "car {old}", ' \
             '"target_caption": "a red car", "box": null}\nHope it helps.'
    plan = plan_from_answer(answer, (100, 100))
    assert plan.object_phrase == "car {old}"


def test_think_block_and_trailing_comma_are_tolerated():
    answer = '<think>the user wants {"category": "global"}?</think>{"category": "Global", ' \
             '"object": "", "target_caption": "a winter scene",}'
    assert plan_from_answer(answer, (10, 10)).category == "global"


def test_unknown_category_is_rejected_with_the_value():
    with pytest.raises(PlanParseError, match="'recolor' is not one of"):
        normalise_category("recolor")


def test_category_synonyms_are_mapped():
    assert [normalise_category(c) for c in ("Removal", "add", "BACKGROUND", "local_edit")] == [
        "remove", "addition", "background", "local"]


def test_no_json_error_quotes_the_answer():
    with pytest.raises(PlanParseError, match="I cannot help with that"):
        extract_json_object("I cannot help with that.")


def test_remove_without_object_is_rejected():
    with pytest.raises(PlanParseError, match='needs a non-empty "object"'):
        plan_from_answer('{"category": "remove", "object": "", "target_caption": "x"}', (10, 10))


def test_addition_without_box_is_rejected():
    with pytest.raises(PlanParseError, match='needs a "box"'):
        plan_from_answer('{"category": "addition", "object": "hat", "target_caption": "a cat in a hat"}', (10, 10))


def test_pixel_box_above_999_is_accepted():
    # the official app's regex stopped at 999; large images need 4-digit coordinates
    assert convert_box([1200, 300, 2400, 1500], "pixels", (3000, 2000)) == (1200, 300, 2400, 1500)


def test_pixel_box_of_resized_reference_is_scaled_to_original():
    # the model saw 500x250; the original is 1000x500
    assert convert_box([50, 25, 100, 50], "pixels", (1000, 500), ref_size=(500, 250)) == (100, 50, 200, 100)


def test_norm1000_box_is_scaled():
    assert convert_box([100, 200, 500, 1000], "norm1000", (1150, 690)) == (115, 138, 575, 690)


def test_norm1_box_is_scaled():
    assert convert_box([0.25, 0.5, 0.75, 1.0], "norm1", (400, 200)) == (100, 100, 300, 200)


def test_auto_convention_detects_fractions_pixels_and_norm1000():
    assert convert_box([0.1, 0.1, 0.5, 0.5], "auto", (200, 100)) == (20, 10, 100, 50)
    assert convert_box([10, 10, 150, 90], "auto", (200, 100)) == (10, 10, 150, 90)
    assert convert_box([500, 500, 900, 900], "auto", (200, 100)) == (100, 50, 180, 90)


def test_box_as_string_and_nested_pairs_are_accepted():
    assert convert_box("(10,20),(30,40)", "pixels", (100, 100)) == (10, 20, 30, 40)
    assert convert_box([[10, 20], [30, 40]], "pixels", (100, 100)) == (10, 20, 30, 40)


def test_box_dict_with_width_height_is_accepted():
    assert convert_box({"x": 10, "y": 20, "width": 30, "height": 40}, "pixels", (100, 100)) == (10, 20, 40, 60)


def test_inverted_box_is_rejected():
    with pytest.raises(PlanParseError, match="need x0 < x1"):
        convert_box([300, 10, 100, 50], "pixels", (400, 400))


def test_box_far_outside_image_is_rejected():
    with pytest.raises(PlanParseError, match="outside the image"):
        convert_box([10, 10, 900, 50], "pixels", (400, 400))


def test_box_slightly_outside_is_clamped():
    assert convert_box([-3, 0, 404, 100], "pixels", (400, 400)) == (0, 0, 400, 100)


def test_user_box_text_parses_and_rejects_garbage():
    assert parse_box_text(" [10, 20, 110, 220] ") == (10, 20, 110, 220)
    assert parse_box_text("") is None
    with pytest.raises(ValueError, match="not four numbers"):
        parse_box_text("left side")


def test_overrides_replace_only_given_fields():
    plan = EditPlan("remove", "dog", "a sofa").with_overrides(None, "", "an empty sofa")
    assert (plan.object_phrase, plan.target_caption) == ("dog", "an empty sofa")
    assert "user override: target_caption" in plan.notes


def test_model_may_answer_unknown_with_a_reason():
    plan = plan_from_answer('{"category": "Unknown", "object": "", "target_caption": "", '
                            '"reason": "not an edit"}', (10, 10), backend="http:m")
    assert plan.category == "unknown" and "not an edit" in plan.reason and plan.confidence == 0.0


@pytest.mark.parametrize("value, expected", [(0.8, 0.8), ("0.35", 0.35), (85, 0.85), ("high", 0.9), ("90%", 0.9),
                                             (None, None), ("very", None), (-1, None), (True, None)])
def test_confidence_is_read_in_common_forms(value, expected):
    from brushnet_core.planner.parse import parse_confidence

    assert parse_confidence(value) == expected


def test_addition_without_box_uses_the_default_box_when_given():
    plan = plan_from_answer('{"category": "addition", "object": "hat", "target_caption": "a hat"}', (90, 60),
                            default_box=(30, 20, 60, 40))
    assert plan.box == (30, 20, 60, 40) and "no box" in plan.notes[0]


def test_unknown_plan_info_names_both_fixes():
    from brushnet_core.planner.plan import UNKNOWN, unknown_message

    plan = EditPlan(category=UNKNOWN, reason="it does not look like English", confidence=0.0, backend="rules")
    message = unknown_message(plan, "Quita el perro")
    assert "'Quita el perro'" in message and "not look like English" in message
    assert "override_category" in message and "model backend" in message
    assert "confidence: 0.00 (low)" in plan.info()
