"""The planner driving ComfyUI's own inpainting paths, end to end: the shipped workflows for an SD1.5
inpainting checkpoint (InpaintModelConditioning) and for Flux.1 Fill run on tiny stand-ins of those
architectures, loaded by the real loaders, and end with the exact blend.

They run through ComfyUI's validation and executor in-process (the Flux stand-in's T5-XXL needs
ComfyUI's ``t5xxl_model_config`` option, which a server does not take; see demo/inpaint_models.py).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import _harness
from demo import inpaint_models as im

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "workflows"
INSTRUCTION = "add a red ball on the table"


@pytest.fixture(scope="module")
def inpaint_models(e2e_models: Path, examples_dir: Path) -> Path:
    import folder_paths

    from e2e.conftest import write_inputs

    im.write_sd15_inpaint_checkpoint(e2e_models / "checkpoints" / im.SD15_INPAINT_CHECKPOINT)
    im.write_flux_fill_stand_ins(e2e_models)
    for folder in ("checkpoints", "diffusion_models", "text_encoders", "vae", "sams", "grounding-dino"):
        folder_paths.add_model_folder_path(folder, str(e2e_models / folder), is_default=True)
    write_inputs(Path(folder_paths.get_input_directory()), examples_dir)
    return e2e_models


@pytest.fixture
def tiny_t5(monkeypatch):
    """ComfyUI builds T5-XXL from its fixed config; give it the stand-in's (same layout, smaller heads/FF)."""
    import comfy.text_encoders.sd3_clip as sd3

    original = sd3.T5XXLModel.__init__

    def init(self, *args, model_options=None, **kwargs):
        opts = dict(model_options or {})
        opts.setdefault("t5xxl_model_config", dict(im.TINY_T5XXL))
        original(self, *args, model_options=opts, **kwargs)

    monkeypatch.setattr(sd3.T5XXLModel, "__init__", init)


def _run(name: str) -> tuple[dict, object]:
    from demo.object_info import all_object_info
    from demo.workflow_api import ui_to_api
    from e2e.test_workflows import fast_prompt

    prompt = fast_prompt(ui_to_api(json.loads((WORKFLOWS / f"{name}.json").read_text()), all_object_info()))
    for node in prompt.values():
        if node["class_type"] == "KSampler":
            node["inputs"]["steps"] = 1
        elif node["class_type"] == "BrushEditPlanner":
            # random-weight text-mask stand-ins find "objects" anywhere: an addition with a box gives a known mask
            node["inputs"].update(instruction=INSTRUCTION, override_box="32, 32, 96, 96")
    return prompt, _harness.run_prompt(prompt)


def _node(prompt: dict, kind: str) -> str:
    (nid,) = [k for k, v in prompt.items() if v["class_type"] == kind]
    return nid


def _check_plan_and_exact_blend(prompt: dict, run) -> None:
    plan = run.outputs(_node(prompt, "BrushEditPlanner"))
    assert plan[1] == "addition"  # the category drove Plan Mask: the planned box is the mask
    mask = run.outputs(_node(prompt, "BrushEditPlanMask"))[0]
    assert mask[0, 32:96, 32:96].min() == 1 and mask.sum() == 64 * 64
    blended, soft = run.outputs(_node(prompt, "BlendInpaint"))
    original = run.outputs(_node(prompt, "LoadImage"))[0]
    keep = soft[..., None].expand_as(blended) == 0
    assert soft[0, 32:96, 32:96].min() == 1 and keep.any()
    assert torch.equal(blended[keep], original.expand_as(blended)[keep]), "pixels outside the mask changed"
    assert not torch.equal(blended, original.expand_as(blended)), "nothing was inpainted"
    assert run.ui[_node(prompt, "SaveImage")]["images"], "no image saved"


def test_inpainting_checkpoint_workflow(inpaint_models: Path) -> None:
    import comfy.model_management as mm

    prompt, run = _run("instruction_edit_inpaint_model")
    model = run.outputs(_node(prompt, "CheckpointLoaderSimple"))[0]
    assert model.model.diffusion_model.in_channels == 9  # the real 9-channel inpainting UNet was sampled
    _check_plan_and_exact_blend(prompt, run)
    mm.unload_all_models()


def test_flux_fill_workflow(inpaint_models: Path, tiny_t5) -> None:
    import comfy.model_management as mm

    prompt, run = _run("instruction_edit_flux_fill")
    unet = run.outputs(_node(prompt, "UNETLoader"))[0]
    assert type(unet.model).__name__ == "Flux" and unet.model.diffusion_model.img_in.in_features == 384
    _check_plan_and_exact_blend(prompt, run)
    mm.unload_all_models()
    mm.soft_empty_cache()
