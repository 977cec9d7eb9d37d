"""The inpaint-tool workflows are current, and many regions go through the real server in one
sampler pass (timed against one pass per region)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from PIL import Image

from demo import example_models as em
from demo.server import output_images
from e2e.build_inpaint_workflows import BUILDERS, WORKFLOWS, build_all


def _without_widgets(wf: dict) -> dict:
    return {**wf, "nodes": [{k: v for k, v in n.items() if k != "widgets_values"} for n in wf["nodes"]]}


def test_committed_workflows_equal_the_builder(object_info) -> None:
    """Same graph as the builder makes now. A node that gained optional widgets since (trailing values,
    which load as their defaults) does not make a workflow stale."""
    built = build_all(object_info)
    for name in BUILDERS:
        path = WORKFLOWS / f"{name}.json"
        assert path.exists() and path.with_suffix(".jpg").exists(), name
        committed = json.loads(path.read_text())
        stale = f"{name}.json is stale: run e2e.build_inpaint_workflows"
        assert _without_widgets(committed) == _without_widgets(built[name]), stale
        for old, new in zip(committed["nodes"], built[name]["nodes"]):
            values = old.get("widgets_values", [])
            assert new.get("widgets_values", [])[:len(values)] == values, f"{stale} ({old['type']})"


def _regions_prompt(squares: list[tuple[int, int]], mode: str) -> dict:
    """LARGE_IMAGE with a 40x40 square at each (x, y) -> crops -> BrushNet -> KSampler -> stitch."""
    p: dict[str, dict] = {
        "img": {"class_type": "LoadImage", "inputs": {"image": em.LARGE_IMAGE}},
        "m0": {"class_type": "SolidMask", "inputs": {"value": 0.0, "width": 1150, "height": 690}},
        "sq": {"class_type": "SolidMask", "inputs": {"value": 1.0, "width": 40, "height": 40}},
        "ckpt": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": em.SD15_CHECKPOINT}},
        "bnl": {"class_type": "BrushNetLoader", "inputs": {"brushnet": em.SD15_BRUSHNET, "dtype": "auto"}},
        "pos": {"class_type": "CLIPTextEncode", "inputs": {"text": "grass", "clip": ["ckpt", 1]}},
        "neg": {"class_type": "CLIPTextEncode", "inputs": {"text": "ugly", "clip": ["ckpt", 1]}},
    }
    last = ["m0", 0]
    for i, (x, y) in enumerate(squares):
        p[f"c{i}"] = {"class_type": "MaskComposite", "inputs": {"destination": last, "source": ["sq", 0], "x": x,
                                                                "y": y, "operation": "add"}}
        last = [f"c{i}", 0]
    p["crop"] = {"class_type": "BrushEditCrop", "inputs": {
        "image": ["img", 0], "mask": last, "width": 128, "height": 128, "mode": mode, "context": 1.5,
        "max_upscale": 4.0, "multiple": 8, "merge_distance": 32, "max_regions": 16, "extend_left": 0,
        "extend_top": 0, "extend_right": 0, "extend_bottom": 0}}
    p["bn"] = {"class_type": "BrushNet", "inputs": {
        "model": ["ckpt", 0], "vae": ["ckpt", 2], "image": ["crop", 0], "mask": ["crop", 1], "brushnet": ["bnl", 0],
        "positive": ["pos", 0], "negative": ["neg", 0], "scale": 1.0, "start_at": 0, "end_at": 10000}}
    p["ks"] = {"class_type": "KSampler", "inputs": {
        "seed": 1, "steps": 2, "cfg": 7.5, "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0,
        "model": ["bn", 0], "positive": ["bn", 1], "negative": ["bn", 2], "latent_image": ["bn", 3]}}
    p["dec"] = {"class_type": "VAEDecode", "inputs": {"samples": ["ks", 0], "vae": ["ckpt", 2]}}
    p["st"] = {"class_type": "BrushEditStitch", "inputs": {
        "inpaint": ["dec", 0], "canvas": ["crop", 3], "mask": ["crop", 1], "origin": ["crop", 2], "kernel": 10,
        "sigma": 10.0, "color_match": 1.0}}
    p["save"] = {"class_type": "SaveImage", "inputs": {"filename_prefix": f"regions_{mode}", "images": ["st", 0]}}
    return p


SQUARES = [(60, 60), (900, 80), (300, 500)]


@pytest.mark.parametrize("mode", ["each"])
def test_many_regions_in_one_pass_versus_one_pass_per_region(server, mode: str) -> None:
    t0 = time.time()
    entry = server.wait(server.queue(_regions_prompt(SQUARES, mode)), timeout=900)
    one_pass = time.time() - t0
    (out,) = output_images(entry, server.output_dir)
    assert Image.open(out).size == (1150, 690)
    t0 = time.time()
    for square in SQUARES:
        server.wait(server.queue(_regions_prompt([square], "one")), timeout=900)
    per_region = time.time() - t0
    print(f"\n[e2e] {len(SQUARES)} regions at 128 px, 2 steps: one batched pass {one_pass:.1f} s, "
          f"one pass per region {per_region:.1f} s")


def test_inpaint_tool_workflow_thumbnails_exist() -> None:
    for name in BUILDERS:
        assert Path(WORKFLOWS / f"{name}.jpg").stat().st_size < 100_000
