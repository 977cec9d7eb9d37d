"""Workflows saved with the earlier ComfyUI-BrushNet pack run unchanged; bad input gets clear errors."""
from __future__ import annotations

import copy

import pytest
from PIL import Image

from demo import example_models as em
from demo.server import PromptError, PromptRejected, output_images
from demo.ui_graph import Ref, UIGraph
from demo.workflow_api import WorkflowError, ui_to_api
from e2e.conftest import LEGACY_BRUSHNET


def legacy_api_prompt(with_cut: bool = False) -> dict:
    """An API-format prompt exactly as the earlier pack's users saved them (no dtype, old inputs only)."""
    p = {
        "1": {"class_type": "LoadImage", "inputs": {"image": em.EXAMPLE_IMAGE}},
        "2": {"class_type": "LoadImageMask", "inputs": {"image": em.EXAMPLE_MASK, "channel": "red"}},
        "3": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": em.SD15_CHECKPOINT}},
        "4": {"class_type": "BrushNetLoader", "inputs": {"brushnet": LEGACY_BRUSHNET}},
        "5": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["3", 1]}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "ugly", "clip": ["3", 1]}},
        "7": {"class_type": "BrushNet", "inputs": {"model": ["3", 0], "vae": ["3", 2], "image": ["1", 0], "mask": ["2", 0],
                                                   "brushnet": ["4", 0], "positive": ["5", 0], "negative": ["6", 0],
                                                   "scale": 1.0, "start_at": 0, "end_at": 10000}},
        "8": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 2, "cfg": 7.5, "sampler_name": "euler",
                                                   "scheduler": "normal", "denoise": 1.0, "model": ["7", 0],
                                                   "positive": ["7", 1], "negative": ["7", 2], "latent_image": ["7", 3]}},
        "9": {"class_type": "VAEDecode", "inputs": {"samples": ["8", 0], "vae": ["3", 2]}},
        "10": {"class_type": "BlendInpaint", "inputs": {"inpaint": ["9", 0], "original": ["1", 0], "mask": ["2", 0],
                                                        "kernel": 10, "sigma": 10.0}},
        "11": {"class_type": "SaveImage", "inputs": {"filename_prefix": "legacy", "images": ["10", 0]}},
    }
    if with_cut:
        p["1"]["inputs"]["image"], p["2"]["inputs"]["image"] = em.LARGE_IMAGE, em.LARGE_MASK
        p["12"] = {"class_type": "CutForInpaint", "inputs": {"image": ["1", 0], "mask": ["2", 0], "width": 128, "height": 128}}
        p["7"]["inputs"]["image"], p["7"]["inputs"]["mask"] = ["12", 0], ["12", 1]
        p["10"]["inputs"]["origin"] = ["12", 2]
    return p


def test_legacy_api_workflow_runs_unchanged(server) -> None:
    entry = server.wait(server.queue(legacy_api_prompt()), timeout=600)
    (out,) = output_images(entry, server.output_dir)
    assert Image.open(out).size == (128, 128)


def test_legacy_cut_and_blend_with_origin(server) -> None:
    entry = server.wait(server.queue(legacy_api_prompt(with_cut=True)), timeout=600)
    (out,) = output_images(entry, server.output_dir)
    assert Image.open(out).size == (1150, 690)


def test_legacy_ui_workflow_with_old_widget_lists(server, object_info) -> None:
    """UI JSON as the earlier pack saved it: BrushNetLoader with one widget (pre-dtype), BrushNet with 3."""
    g = UIGraph(object_info)
    img = g.add("LoadImage", (0, 0), {"image": em.EXAMPLE_IMAGE})
    msk = g.add("LoadImageMask", (0, 300), {"image": em.EXAMPLE_MASK, "channel": "red"})
    ck = g.add("CheckpointLoaderSimple", (0, 600), {"ckpt_name": em.SD15_CHECKPOINT})
    bnl = g.add("BrushNetLoader", (0, 800), {"brushnet": LEGACY_BRUSHNET})
    pos = g.add("CLIPTextEncode", (300, 0), {"text": "a dog"}, clip=Ref(ck.node_id, 1))
    neg = g.add("CLIPTextEncode", (300, 200), {"text": "bad"}, clip=Ref(ck.node_id, 1))
    bn = g.add("BrushNet", (600, 0), {}, model=Ref(ck.node_id, 0), vae=Ref(ck.node_id, 2), image=img, mask=msk,
               brushnet=bnl, positive=pos, negative=neg)
    ks = g.add("KSampler", (900, 0), {"steps": 2}, model=Ref(bn.node_id, 0), positive=Ref(bn.node_id, 1),
               negative=Ref(bn.node_id, 2), latent_image=Ref(bn.node_id, 3))
    dec = g.add("VAEDecode", (1200, 0), samples=ks, vae=Ref(ck.node_id, 2))
    bl = g.add("BlendInpaint", (1200, 200), {}, inpaint=dec, original=img, mask=msk)
    g.add("SaveImage", (1500, 0), {"filename_prefix": "legacy_ui"}, images=bl)
    wf = g.to_json()
    for node in wf["nodes"]:
        if node["type"] == "BrushNetLoader":
            node["widgets_values"] = [LEGACY_BRUSHNET]
        elif node["type"] == "BrushNet":
            node["widgets_values"] = [1.0, 0, 10000]
    prompt = ui_to_api(wf, object_info)
    assert "dtype" not in prompt[str(bnl.node_id)]["inputs"]
    entry = server.wait(server.queue(prompt), timeout=600)
    assert output_images(entry, server.output_dir)


def test_missing_model_file_is_rejected_with_the_name(server) -> None:
    prompt = legacy_api_prompt()
    prompt["4"]["inputs"]["brushnet"] = "brushnet/not_downloaded.safetensors"
    with pytest.raises(PromptRejected) as err:
        server.queue(prompt)
    assert "not_downloaded.safetensors" in str(err.value) and err.value.status == 400


def test_missing_node_input_is_rejected(server) -> None:
    prompt = legacy_api_prompt()
    del prompt["7"]["inputs"]["vae"]
    with pytest.raises(PromptRejected) as err:
        server.queue(prompt)
    assert "Required input is missing" in str(err.value) and "vae" in str(err.value)


def test_malformed_workflow(server, object_info) -> None:
    status, _ = server.post("/prompt", {"prompt": "this is not a graph"})
    assert status >= 400
    status, body = server.post("/prompt", {"prompt": {"1": {"inputs": {}}}})  # a node without class_type
    assert status == 400 and "class_type" in str(body)
    assert server.get("/system_stats")  # still serving
    with pytest.raises(WorkflowError, match="not a UI-format workflow"):
        ui_to_api({"nodes": []}, object_info)


def test_huge_image_fails_clearly_and_server_keeps_serving(server) -> None:
    Image.new("RGB", (5000, 3600), (120, 90, 60)).save(server.input_dir / "huge.png")
    prompt = legacy_api_prompt()
    prompt["1"]["inputs"]["image"] = "huge.png"
    with pytest.raises(PromptError) as err:
        server.wait(server.queue(prompt), timeout=600)
    assert "MP limit" in str(err.value) and "Cut For Inpaint" in str(err.value)
    entry = server.wait(server.queue(legacy_api_prompt()), timeout=600)
    assert output_images(entry, server.output_dir)


def test_sd15_brushnet_with_wrong_pairing_reports_the_node(server) -> None:
    prompt = copy.deepcopy(legacy_api_prompt())
    prompt["2"]["inputs"]["image"] = em.EXAMPLE_IMAGE  # a photo as mask: fine, it is binarised
    prompt["7"]["inputs"]["scale"] = 0.0  # BrushNet disabled: plain model, still a valid graph
    entry = server.wait(server.queue(prompt), timeout=600)
    assert output_images(entry, server.output_dir)
