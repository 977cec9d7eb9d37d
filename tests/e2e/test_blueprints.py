"""The subgraph blueprints in subgraphs/: the host lists them, their content is valid and they run.

The browser test (tests/browser) inserts each from the node library and runs it in the real
frontend; here each blueprint's subgraph is expanded into a plain graph (its inputs fed by image
loaders, its output saved) and run by ComfyUI's executor on the SD1.5 stand-ins.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

import _harness
from demo import example_models as em

ROOT = Path(__file__).resolve().parents[2]
BLUEPRINTS = sorted((ROOT / "subgraphs").glob("*.json"))
EXPECTED = {"Instruction edit", "Remove object by text", "BrushNet inpaint (crop and blend)"}
SOURCES = {"IMAGE": ("LoadImage", [em.EXAMPLE_IMAGE, "image"]), "MASK": ("LoadImageMask", [em.EXAMPLE_MASK, "red", "image"])}


def test_the_three_blueprints_are_shipped_and_well_formed() -> None:
    assert {p.stem for p in BLUEPRINTS} == EXPECTED
    for path in BLUEPRINTS:
        data = json.loads(path.read_text())
        (wrapper,) = data["nodes"]
        (sg,) = data["definitions"]["subgraphs"]
        assert wrapper["type"] == sg["id"] and sg["name"] == path.stem
        assert [i["name"] for i in wrapper["inputs"]] == [i["name"] for i in sg["inputs"]]
        assert [o["type"] for o in sg["outputs"]] == ["IMAGE"]
        assert data["extra"]["BlueprintDescription"]
        inner = {n["id"]: n for n in sg["nodes"]}
        for nid, widget in wrapper["properties"]["proxyWidgets"]:
            assert any(w == widget for w in _widget_names(inner[int(nid)])), (path.stem, nid, widget)
        for link in sg["links"]:
            assert link["origin_id"] in inner or link["origin_id"] == -10
            assert link["target_id"] in inner or link["target_id"] == -20


@functools.lru_cache(maxsize=1)
def _object_info() -> dict:
    from demo.object_info import all_object_info

    return all_object_info()


def _widget_names(node: dict) -> list[str]:
    from demo.workflow_api import _widget_inputs

    return [name for name, _ in _widget_inputs(_object_info()[node["type"]])]


def test_the_host_lists_them_as_this_packs_blueprints() -> None:
    import asyncio
    import importlib.util

    import folder_paths

    if importlib.util.find_spec("app.subgraph_manager") is None:
        pytest.skip("this ComfyUI lists no blueprints of custom packs (app/subgraph_manager.py came after 0.3.52)")
    from app.subgraph_manager import SubgraphManager

    entries = asyncio.run(SubgraphManager().get_custom_node_subgraphs([]))
    ours = {e["name"] for e in entries.values() if e["info"]["node_pack"] == "custom_nodes.ComfyUI-BrushEdit"}
    assert ours == EXPECTED, (ours, folder_paths.get_folder_paths("custom_nodes"))


def expand(blueprint: dict) -> dict:
    """A plain UI workflow: loaders -> the subgraph's nodes -> SaveImage."""
    (sg,) = blueprint["definitions"]["subgraphs"]
    nodes = [json.loads(json.dumps(n)) for n in sg["nodes"]]
    next_id = max(n["id"] for n in nodes) + 1
    sources = []
    for i, inp in enumerate(sg["inputs"]):
        kind, values = SOURCES[inp["type"]]
        nodes.append({"id": next_id, "type": kind, "inputs": [], "outputs": [{"name": inp["type"], "type": inp["type"]}],
                      "widgets_values": list(values), "mode": 0})
        sources.append(next_id)
        next_id += 1
    save = next_id
    links = []
    for link in sg["links"]:
        origin, oslot = link["origin_id"], link["origin_slot"]
        target, tslot = link["target_id"], link["target_slot"]
        if origin == -10:
            origin, oslot = sources[oslot], 0
        if target == -20:
            target, tslot = save, 0
        links.append([link["id"], origin, oslot, target, tslot, link["type"]])
    out_link = next(link for link in links if link[3] == save)
    nodes.append({"id": save, "type": "SaveImage", "mode": 0, "outputs": [],
                  "inputs": [{"name": "images", "type": "IMAGE", "link": out_link[0]}],
                  "widgets_values": ["BrushEdit/blueprint"]})
    return {"nodes": nodes, "links": links}


@pytest.fixture(scope="module")
def blueprint_models(e2e_models: Path, examples_dir: Path) -> Path:
    import folder_paths

    from e2e.conftest import write_inputs

    for folder in ("checkpoints", "brushnet", "inpaint", "sams", "grounding-dino"):
        folder_paths.add_model_folder_path(folder, str(e2e_models / folder), is_default=True)
    write_inputs(Path(folder_paths.get_input_directory()), examples_dir)
    return e2e_models


@pytest.mark.parametrize("path", BLUEPRINTS, ids=lambda p: p.stem)
def test_blueprint_runs(path: Path, blueprint_models: Path) -> None:
    from demo.workflow_api import ui_to_api
    from e2e.test_workflows import fast_prompt

    prompt = fast_prompt(ui_to_api(expand(json.loads(path.read_text())), _object_info()))
    for node in prompt.values():
        if node["class_type"] == "KSampler":
            node["inputs"]["steps"] = 1
    run = _harness.run_prompt(prompt)
    (save,) = [k for k, v in prompt.items() if v["class_type"] == "SaveImage"]
    assert run.ui[save]["images"]
