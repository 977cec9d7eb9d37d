"""Every example workflow of the earlier ComfyUI-BrushNet pack loads and runs here, unchanged.

The files are the earlier pack's own (its `example/` folder at its last release); they are read
from shared data, not kept in this repository: `<shared>/data/earlier_pack_workflows/` (the
steering repository's shared/ beside or inside the checkout), or the folder named by
BRUSHEDIT_EARLIER_PACK_WORKFLOWS. Without it the tests skip, naming the folder; with
BRUSHEDIT_REQUIRE_EARLIER_PACK_WORKFLOWS=1 (CI, once the files are in shared data) they fail instead.

What a user's machine would differ in is replaced, nothing else: model and image file names
point at random-weight stand-ins of the same kinds, sizes and step counts are lowered for the
CPU, and nodes of OTHER packs that the examples use get test-only stand-ins
(`earlier_pack/third_party.py`). The graph is converted from the UI file with this pack's converter
against the host's node definitions and run by ComfyUI's executor in-process.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

import _harness
from demo import example_models as em
from e2e.conftest import LEGACY_BRUSHNET
from e2e.earlier_pack import models as epm
from e2e.earlier_pack import third_party

ROOT = Path(__file__).resolve().parents[2]
#: the earlier pack's example/ folder at its last release (its README links each one)
EXAMPLES = [
    "BrushNet_basic", "BrushNet_SDXL_basic", "BrushNet_inpaint", "BrushNet_with_LoRA", "BrushNet_with_CN",
    "BrushNet_with_IPA", "BrushNet_with_ELLA", "BrushNet_cut_for_inpaint", "BrushNet_SDXL_upscale",
    "BrushNet_image_batch", "BrushNet_image_big_batch", "PowerPaint_object_removal", "PowerPaint_outpaint",
    "RAUNet_basic", "RAUNet_with_CN",
]
PAINTED_IMAGE = "brushedit_example_painted.png"  # RGBA: LoadImage's mask = 1 - alpha, as the mask editor saves it
SDXL = {"BrushNet_SDXL_basic", "BrushNet_SDXL_upscale", "RAUNet_basic"}
RAUNET = {"RAUNet_basic", "RAUNet_with_CN"}


def workflows_dir() -> Path | None:
    env = os.environ.get("BRUSHEDIT_EARLIER_PACK_WORKFLOWS")
    candidates = [Path(env)] if env else []
    candidates += [ROOT / "shared" / "data" / "earlier_pack_workflows",
                   ROOT.parent / "shared" / "data" / "earlier_pack_workflows"]
    return next((p for p in candidates if p.is_dir()), None)


def _missing(reason: str) -> None:
    if os.environ.get("BRUSHEDIT_REQUIRE_EARLIER_PACK_WORKFLOWS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def adapt(workflow: dict, name: str) -> dict:
    """The user-specific parts replaced: model/image files by stand-ins; CPU-sized latents and steps."""
    sdxl = name in SDXL
    steps = 2 if name in RAUNET else 1  # RAUNet: its DU part runs on both steps
    for node in workflow["nodes"]:
        kind, w = node["type"], node.get("widgets_values")
        if not isinstance(w, list):
            continue
        if kind == "CheckpointLoaderSimple":
            w[0] = em.SDXL_CHECKPOINT if sdxl else em.SD15_CHECKPOINT
        elif kind == "BrushNetLoader":
            w[0] = (epm.POWERPAINT_BRUSHNET if "powerpaint" in w[0].lower()
                    else em.SDXL_BRUSHNET if sdxl else LEGACY_BRUSHNET)
        elif kind == "PowerPaintCLIPLoader":
            w[0], w[1] = epm.BASE_CLIP, epm.POWERPAINT_TEXT_ENCODER
        elif kind == "LoraLoader":
            w[0] = em.SD15_LORA
        elif kind == "ControlNetLoader":
            w[0] = em.SD15_CONTROLNET
        elif kind == "UpscaleModelLoader":
            w[0] = epm.UPSCALER
        elif kind == "LoadImage":  # a mask painted in the image (its alpha) where the MASK output is used
            w[0] = PAINTED_IMAGE if node["outputs"][1].get("links") else em.EXAMPLE_IMAGE
        elif kind == "LoadImageMask":
            w[0] = em.EXAMPLE_MASK
        elif kind == "KSampler":
            w[2] = steps
        elif kind == "KSamplerAdvanced":
            w[3] = steps
        elif kind == "EmptyLatentImage":
            w[0], w[1] = 128, 128
        elif kind == "CutForInpaint":
            w[0], w[1] = 128, 128
        elif kind == "ImagePadForOutpaint":
            w[0], w[2] = 32, 32
        elif kind == "UltimateSDUpscale":
            w[3] = steps  # [upscale_by, seed, control, steps, ...]
    return workflow


@pytest.fixture(scope="module")
def earlier_models(request, examples_dir: Path) -> Path:
    """The e2e stand-ins plus PowerPaint and an upscaler, visible to the in-process host; input images."""
    import folder_paths

    if workflows_dir() is None:
        _missing("the earlier pack's example workflows are not here: put its example/*.json in "
                 "shared/data/earlier_pack_workflows/ or set BRUSHEDIT_EARLIER_PACK_WORKFLOWS")
    e2e_models = request.getfixturevalue("e2e_models")
    epm.write_powerpaint(e2e_models)
    epm.write_upscaler(e2e_models)
    for folder in ("checkpoints", "loras", "controlnet", "brushnet", "inpaint", "clip", "upscale_models"):
        folder_paths.add_model_folder_path(folder, str(e2e_models / folder), is_default=True)
    from e2e.conftest import write_inputs

    inputs = Path(folder_paths.get_input_directory())
    write_inputs(inputs, examples_dir)
    rgba = Image.open(inputs / em.EXAMPLE_IMAGE).convert("RGBA")
    rgba.putalpha(Image.open(inputs / em.EXAMPLE_MASK).convert("L").point(lambda v: 0 if v > 127 else 255))
    rgba.save(inputs / PAINTED_IMAGE)
    return e2e_models


def _run(name: str, request) -> dict:
    folder = workflows_dir()
    if folder is None:
        _missing("the earlier pack's example workflows are not here: put its example/*.json in "
                 "shared/data/earlier_pack_workflows/ or set BRUSHEDIT_EARLIER_PACK_WORKFLOWS")
    path = folder / f"{name}.json"
    if not path.is_file():
        _missing(f"{path} is missing")
    if name in SDXL:
        request.getfixturevalue("sdxl_models")
    import comfy.model_management as mm
    import nodes
    from demo.object_info import all_object_info
    from demo.workflow_api import ui_to_api

    workflow = adapt(json.loads(path.read_text()), name)
    added = third_party.register(workflow, set(nodes.NODE_CLASS_MAPPINGS))
    try:
        prompt = ui_to_api(workflow, all_object_info())
        run = _harness.run_prompt(prompt)
    finally:
        third_party.unregister(added)
        if name in SDXL:
            mm.unload_all_models()
            mm.soft_empty_cache()
    return {"run": run, "prompt": prompt, "stand_ins": added}


@pytest.mark.parametrize("name", EXAMPLES)
def test_earlier_pack_example_runs(name: str, earlier_models: Path, request) -> None:
    out = _run(name, request)
    previews = [nid for nid, node in out["prompt"].items() if node["class_type"] == "PreviewImage"]
    assert previews, "the example has no output node"
    for nid in previews:
        images = out["run"].ui.get(nid, {}).get("images", [])
        assert images, f"PreviewImage {nid} showed nothing"
        import folder_paths

        for img in images:
            path = Path(folder_paths.get_directory_by_type(img["type"])) / img.get("subfolder", "") / img["filename"]
            assert Image.open(path).size[0] > 0
    ours = {n["class_type"] for n in out["prompt"].values()} & {"BrushNet", "BrushNetLoader", "BlendInpaint",
                                                                "CutForInpaint", "PowerPaint", "PowerPaintCLIPLoader",
                                                                "RAUNet"}
    assert ours, "no node of this pack ran"
    print(f"[earlier pack] {name}: ran; this pack's nodes {sorted(ours)}; other packs' stand-ins {out['stand_ins']}")
