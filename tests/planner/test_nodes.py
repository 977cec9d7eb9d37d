"""Planner nodes through the real ComfyUI executor."""
from __future__ import annotations

import shutil

import pytest
import torch

import _harness
from fake_openai import Reply, completion

EXAMPLE = "example_1.jpg"
EXAMPLE_MASK = "example_1_mask.jpg"


@pytest.fixture
def inputs(examples_dir):
    import folder_paths

    dest = folder_paths.get_input_directory()
    for name in (EXAMPLE, EXAMPLE_MASK, "example_4.jpeg", "example_4_mask.jpg"):
        shutil.copy(examples_dir / name, f"{dest}/{name}")
    return dest


def _graph(instruction: str, planner_inputs: dict | None = None, extra: dict | None = None) -> dict:
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": EXAMPLE}},
        "2": {"class_type": "BrushEditPlanner",
              "inputs": {"image": ["1", 0], "instruction": instruction, **(planner_inputs or {})}},
    }
    prompt["9"] = {"class_type": "PreviewAny", "inputs": {"source": ["2", 3]}}  # an output node
    prompt.update(extra or {})
    return prompt


def test_planner_without_backend_uses_rules(inputs):
    run = _harness.run_prompt(_graph("add a moon in the top left"))
    plan, category, obj, caption, bmask, x, y, w, h, raw, info = run.outputs("2")
    image = run.outputs("1")[0]
    H, W = image.shape[1:3]
    assert (category, obj, plan.backend) == ("addition", "moon", "rules")
    assert (x, y, w, h) == (0, 0, W // 3, H // 3)
    assert bmask.shape == (1, H, W) and bmask.sum() == w * h
    assert caption and raw.startswith("(rules)")
    assert "confidence: 0.90 (high)" in info and "category: addition" in info


def test_overrides_replace_planner_outputs(inputs):
    run = _harness.run_prompt(_graph("remove the dog", {
        "override_category": "local", "override_caption": "a golden retriever", "override_object": ""}))
    _plan, category, obj, caption, *_rest = run.outputs("2")
    assert (category, obj, caption) == ("local", "dog", "a golden retriever")


def test_complete_overrides_skip_the_backend(inputs, openai_server):
    prompt = _graph("whatever", {"planner": ["3", 0], "override_category": "addition",
                                 "override_caption": "a cat in a hat", "override_box": "10, 20, 110, 220"},
                    {"3": {"class_type": "BrushEditPlannerOpenAI", "inputs": {
                        "base_url": openai_server.base_url, "model": "m", "api_key_env": "", "timeout_s": 5.0,
                        "retries": 0, "max_image_side": 512, "box_convention": "pixels"}}})
    run = _harness.run_prompt(prompt)
    assert run.outputs("2")[5:9] == [10, 20, 100, 200]
    assert openai_server.requests == []


def test_http_backend_node_plans_through_the_server(inputs, openai_server):
    answer = '{"category": "remove", "object": "vase", "target_caption": "a bare table", "box": null}'
    openai_server.script = [Reply(200, completion(answer))]
    prompt = _graph("remove the vase", {"planner": ["3", 0]},
                    {"3": {"class_type": "BrushEditPlannerOpenAI", "inputs": {
                        "base_url": openai_server.base_url, "model": "m", "api_key_env": "", "timeout_s": 5.0,
                        "retries": 0, "max_image_side": 512, "box_convention": "pixels"}}})
    run = _harness.run_prompt(prompt)
    assert run.outputs("2")[1:4] == ["remove", "vase", "a bare table"]
    assert run.outputs("2")[9] == answer


def test_http_backend_error_reaches_the_user(inputs, openai_server):
    openai_server.script = [Reply(401, {"error": {"message": "bad key"}})]
    prompt = _graph("remove the vase", {"planner": ["3", 0]},
                    {"3": {"class_type": "BrushEditPlannerOpenAI", "inputs": {
                        "base_url": openai_server.base_url, "model": "m", "api_key_env": "MY_KEY_VAR",
                        "timeout_s": 5.0, "retries": 0, "max_image_side": 512, "box_convention": "pixels"}}})
    with pytest.raises(_harness.PromptFailed, match="HTTP 401.*MY_KEY_VAR"):
        _harness.run_prompt(prompt)


def _mask_graph(instruction: str, image: str = EXAMPLE, mask: str = EXAMPLE_MASK, **mask_node) -> dict:
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": image}},
        "2": {"class_type": "BrushEditPlanner", "inputs": {"image": ["1", 0], "instruction": instruction}},
        "3": {"class_type": "LoadImageMask", "inputs": {"image": mask, "channel": "red"}},
        "4": {"class_type": "BrushEditPlanMask", "inputs": {
            "image": ["1", 0], "plan": ["2", 0], "mask": ["3", 0], "grow_remove_px": 20, "grow_local_px": 0,
            **mask_node}},
        "9": {"class_type": "MaskPreview", "inputs": {"mask": ["4", 0]}},
    }


def test_plan_mask_grows_object_mask_for_removal(inputs):
    run = _harness.run_prompt(_mask_graph("remove the object"))
    drawn = (run.outputs("3")[0] > 0.5).float().sum()
    out = run.outputs("4")[0]
    assert out.shape == run.outputs("1")[0].shape[:3]
    assert out.sum() > drawn * 1.05


def test_plan_mask_inverts_subject_for_background(inputs):
    run = _harness.run_prompt(_mask_graph("change the background to a beach"))
    drawn = run.outputs("3")[0]
    assert torch.allclose(run.outputs("4")[0], 1.0 - drawn.reshape(run.outputs("4")[0].shape))


def test_plan_mask_global_is_full_and_does_not_evaluate_the_mask(inputs):
    run = _harness.run_prompt(_mask_graph("make it winter"))
    assert bool((run.outputs("4")[0] == 1).all())
    with pytest.raises(KeyError):
        run.outputs("3")  # lazy input: the mask node never ran


def test_plan_mask_addition_uses_the_box(inputs):
    run = _harness.run_prompt(_mask_graph("add a hat on the top right"))
    assert torch.equal(run.outputs("4")[0], run.outputs("2")[4])


def test_plan_mask_resizes_a_smaller_mask_of_same_aspect(inputs):
    # example_4.jpeg is 1150x690 and its mask 853x512
    run = _harness.run_prompt(_mask_graph("remove the thing", image="example_4.jpeg", mask="example_4_mask.jpg"))
    assert run.outputs("4")[0].shape == (1, 690, 1150)


def test_planner_outputs_plug_into_clip_text_encode_and_masks():
    import nodes

    planner = _harness.pack_module("nodes.planner").BrushEditPlanner
    outputs = planner.GET_SCHEMA().outputs
    types = {o.display_name: o.get_io_type() for o in outputs}
    clip_text_type = nodes.NODE_CLASS_MAPPINGS["CLIPTextEncode"].INPUT_TYPES()["required"]["text"][0]
    assert types["target_caption"] == clip_text_type == "STRING"
    assert types["box_mask"] == "MASK"


# ------------------------------------------------------------------------------- not understood


def _unknown_graph(instruction: str, planner_inputs: dict | None = None) -> dict:
    graph = _mask_graph(instruction)
    graph["2"]["inputs"].update(planner_inputs or {})
    graph["8"] = {"class_type": "PreviewAny", "inputs": {"source": ["2", 10]}}
    return graph


@pytest.mark.parametrize("instruction", ["Quita el perro", "asdfgh", "make it better"])
def test_unknown_category_output_and_plan_mask_stops_with_the_fixes(inputs, instruction):
    run = _harness.run_prompt(_graph(instruction, extra={"8": {"class_type": "PreviewAny",
                                                                "inputs": {"source": ["2", 10]}}}))
    out = run.outputs("2")
    assert out[1] == "unknown" and out[3] == ""  # never a silent global with the instruction as caption
    assert "not understood" in out[10] and "confidence:" in out[10]
    with pytest.raises(_harness.PromptFailed) as failure:
        _harness.run_prompt(_unknown_graph(instruction))
    message = str(failure.value)
    assert "did not understand the instruction" in message and repr(instruction) not in ("",)
    assert "override_category" in message and "model backend" in message
    assert "Traceback" not in message and "File \"" not in message
    node_ids = {d.get("node_id") for d in failure.value.details}
    assert node_ids == {"4"}  # Plan Mask stopped it; the planner node itself ran fine


def test_unknown_plan_does_not_evaluate_the_mask_input(inputs):
    with pytest.raises(_harness.PromptFailed) as failure:
        _harness.run_prompt(_unknown_graph("Quita el perro"))
    executed = set(failure.value.details[0]["executed"])
    assert {"1", "2"} <= executed and "3" not in executed  # the lazy mask input never ran


def test_category_set_by_hand_fixes_an_unknown_plan(inputs):
    run = _harness.run_prompt(_unknown_graph("Quita el perro", {"override_category": "remove",
                                                                "override_object": "dog"}))
    _plan, category, obj, caption, *_rest = run.outputs("2")
    assert (category, obj, caption) == ("remove", "dog", "clean natural background, seamless")
    assert run.outputs("4")[0].sum() > 0


def test_multi_edit_instruction_says_what_was_not_planned(inputs):
    run = _harness.run_prompt(_graph("remove the vase and add a cat", extra={
        "8": {"class_type": "PreviewAny", "inputs": {"source": ["2", 10]}}}))
    out = run.outputs("2")
    assert (out[1], out[2]) == ("remove", "vase")
    assert "NOT planned" in out[10] and "'add a cat'" in out[10]


def test_info_output_is_the_last_output_and_existing_outputs_keep_their_places():
    planner = _harness.pack_module("nodes.planner").BrushEditPlanner
    names = [o.display_name for o in planner.GET_SCHEMA().outputs]
    assert names == ["plan", "category", "object", "target_caption", "box_mask", "box_x", "box_y", "box_width",
                     "box_height", "raw_answer", "info"]


def test_openai_node_structured_output_input_is_optional_and_passed(inputs, openai_server):
    answer = '{"category": "remove", "object": "vase", "target_caption": "a bare table", "box": null}'
    node = {"class_type": "BrushEditPlannerOpenAI", "inputs": {
        "base_url": openai_server.base_url, "model": "m", "api_key_env": "", "timeout_s": 5.0,
        "retries": 0, "max_image_side": 512, "box_convention": "pixels"}}
    openai_server.script = [Reply(200, completion(answer))]
    _harness.run_prompt(_graph("remove the vase", {"planner": ["3", 0]}, {"3": node}))  # saved without the input
    assert "response_format" in openai_server.requests[-1]["body"]
    node["inputs"]["structured_output"] = "off"
    openai_server.script = [Reply(200, completion(answer))]
    _harness.run_prompt(_graph("remove the vase", {"planner": ["3", 0]}, {"3": node}))
    assert "response_format" not in openai_server.requests[-1]["body"]
