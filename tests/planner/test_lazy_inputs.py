"""Lazy inputs: a node never asks ComfyUI for an optional input that is not connected.

ComfyUI answers such a request with its own "Node ... says it needs input mask, but there is no
input to that node at all"; the pack's node must instead run and give its own message.
"""
from __future__ import annotations

import shutil

import pytest

import _harness

EXAMPLE = "example_1.jpg"
RAW_COMFY = "there is no input to that node at all"


@pytest.fixture
def image_input(examples_dir):
    import folder_paths

    shutil.copy(examples_dir / EXAMPLE, f"{folder_paths.get_input_directory()}/{EXAMPLE}")


def _unconnected(category: str, instruction: str = "remove the dog", box: str = "") -> dict:
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": EXAMPLE}},
        "2": {"class_type": "BrushEditPlanner", "inputs": {
            "image": ["1", 0], "instruction": instruction, "override_category": category, "override_box": box}},
        "4": {"class_type": "BrushEditPlanMask", "inputs": {
            "image": ["1", 0], "plan": ["2", 0], "grow_remove_px": 20, "grow_local_px": 0}},
        "9": {"class_type": "MaskPreview", "inputs": {"mask": ["4", 0]}},
    }


@pytest.mark.parametrize("category,phrase", [("remove", "'dog'"), ("local", "'dog'"),
                                             ("background", "the main subject")])
def test_plan_mask_without_mask_gives_the_packs_message(image_input, category, phrase):
    with pytest.raises(_harness.PromptFailed) as err:
        _harness.run_prompt(_unconnected(category))
    text = str(err.value)
    assert RAW_COMFY not in text
    assert f"category '{category}' needs a mask of {phrase}" in text and "'mask' input" in text


def test_plan_mask_addition_without_box_or_mask_gives_the_packs_message(image_input):
    # the rules plan a removal (no box); the category override makes it an addition without a box
    prompt = _unconnected("addition", instruction="remove the dog")
    with pytest.raises(_harness.PromptFailed) as err:
        _harness.run_prompt(prompt)
    assert RAW_COMFY not in str(err.value)
    assert "needs a box" in str(err.value)


def test_plan_mask_without_mask_still_runs_where_no_mask_is_needed(image_input):
    run = _harness.run_prompt(_unconnected("global", instruction="make it winter"))
    assert bool((run.outputs("4")[0] == 1).all())
    run = _harness.run_prompt(_unconnected("addition", instruction="add a hat", box="10, 10, 60, 60"))
    assert float(run.outputs("4")[0].sum()) == 50 * 50


def _lazy_inputs(node_cls) -> list[str]:
    schema = node_cls.define_schema()
    return [i.id for i in schema.inputs if getattr(i, "lazy", False)]


def test_every_lazy_node_asks_only_for_connected_inputs():
    """Every node of the pack with lazy inputs, called as ComfyUI calls it when they are unconnected
    (absent from the keyword arguments), asks for none of them; connected but not yet evaluated
    (present as None) it may ask."""
    from comfy_api.latest import io

    plan_mod = _harness.pack_module("brushnet_core.planner.plan")
    nodes = _harness.pack_module("nodes").all_nodes()
    lazy = {cls.define_schema().node_id: cls for cls in nodes if _lazy_inputs(cls)}
    # a new lazy node must be added here (and reviewed for this fault)
    assert set(lazy) == {"BrushEditPlanMask"}
    import torch

    image = torch.zeros(1, 64, 64, 3)
    plans = [plan_mod.EditPlan(category=c, object_phrase="dog", target_caption="x") for c in plan_mod.CATEGORIES]
    plans.append(plan_mod.EditPlan(category="addition", target_caption="x", box=(1, 1, 9, 9)))
    plans.append(plan_mod.EditPlan(category=plan_mod.UNKNOWN, reason="?"))
    for node_id, cls in lazy.items():
        assert issubclass(cls, io.ComfyNode)
        names = _lazy_inputs(cls)
        for plan in plans:
            asked = cls.check_lazy_status(image=image, plan=plan, grow_remove_px=20, grow_local_px=0)
            assert not set(asked) & set(names), (node_id, plan.category, asked)
        needs = cls.check_lazy_status(image=image, plan=plans[1], grow_remove_px=20, grow_local_px=0, mask=None)
        assert needs == ["mask"]  # connected, not yet evaluated: evaluate it
