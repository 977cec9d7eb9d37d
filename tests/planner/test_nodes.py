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
    plan, category, obj, caption, bmask, x, y, w, h, raw = run.outputs("2")
    image = run.outputs("1")[0]
    H, W = image.shape[1:3]
    assert (category, obj, plan.backend) == ("addition", "moon", "rules")
    assert (x, y, w, h) == (0, 0, W // 3, H // 3)
    assert bmask.shape == (1, H, W) and bmask.sum() == w * h
    assert caption and raw.startswith("(rules)")


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
