"""Issue 20 in the real frontend: the template browser shows every workflow in workflows/ with its
thumbnail, and each subgraph blueprint in subgraphs/ is inserted from the node library and run.

Its own ComfyUI server (SD1.5 and text-mask stand-ins, small input images) and browser session,
driven by drive_frontend.mjs in its "templates" and "blueprint" modes.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from browser._browser import ROOT, drive, queue_problems, require_browser, run_problems, write_inputs

WORKFLOWS = sorted((ROOT / "workflows").glob("*.json"))
BLUEPRINTS = sorted((ROOT / "subgraphs").glob("*.json"))
#: stand-in writing, server start and three CPU runs (one sampling step each) on a shared machine
pytestmark = pytest.mark.timeout(1800)
DRIVER_TIMEOUT_S = 1500
PACK = "ComfyUI-BrushEdit"  # the pack's folder name under custom_nodes: the template category
OVERRIDES = {"KSampler": {"steps": 1}, "CutForInpaint": {"width": 128, "height": 128},
             "BrushEditTextMask": {"box_threshold": 0.0, "text_threshold": 0.0, "detection_size": 256}}


def _sources(blueprint: Path) -> list:
    from demo import example_models as em

    kinds = {"IMAGE": ["LoadImage", [em.EXAMPLE_IMAGE]], "MASK": ["LoadImageMask", [em.EXAMPLE_MASK, "red"]]}
    (sg,) = json.loads(blueprint.read_text())["definitions"]["subgraphs"]
    return [kinds[i["type"]] for i in sg["inputs"]]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict:
    require_browser()
    from demo import example_models as em
    from demo.server import ComfyServer
    from e2e.conftest import write_text_mask_stand_ins

    work = tmp_path_factory.mktemp("browser_blueprints")
    em.write_sd15_stand_ins(work / "models", with_lora_controlnet=False)
    write_text_mask_stand_ins(work / "models")
    server = ComfyServer(work / "models", work / "server")
    write_inputs(server.input_dir)
    entries = [{"name": "_templates", "mode": "templates", "module": PACK}]
    entries += [{"name": f"_blueprint_{bp.stem}", "mode": "blueprint", "blueprint": bp.stem, "sources": _sources(bp),
                 "overrides": OVERRIDES} for bp in BLUEPRINTS]
    with server:
        try:
            server.get("/global_subgraphs")
            serves_blueprints = True
        except Exception:  # noqa: BLE001 - an older ComfyUI answers 404
            serves_blueprints = False
        if not serves_blueprints:
            entries = entries[:1]
        run = drive(work, server, entries, DRIVER_TIMEOUT_S)
    print(f"[browser] blueprints and templates: {run['seconds']:.0f} s")
    return {**run, "serves_blueprints": serves_blueprints}


def _result(run: dict, name: str) -> dict:
    res = run["results"].get(name)
    if res is None:
        pytest.fail(f"no browser result for {name} (driver exit {run['returncode']}):\n{run['stderr'][-3000:]}")
    if res.get("driver_error"):
        pytest.fail(f"{name}: {res['driver_error']}\nserver log:\n{run['server_log']}")
    return res


def test_template_browser_shows_every_workflow_with_its_thumbnail(session: dict) -> None:
    res = _result(session, "_templates")
    shown = {c["name"]: c for c in res["cards"]}
    assert set(shown) == {w.stem for w in WORKFLOWS}, f"template browser shows {sorted(shown)}"
    for wf in WORKFLOWS:
        width, height = Image.open(wf.with_suffix(".jpg")).size
        card = shown[wf.stem]
        assert (card["width"], card["height"]) == (width, height), f"{wf.stem}: thumbnail not shown: {card}"
        assert res["thumbnail_responses"].get(wf.stem) == 200, res["thumbnail_responses"]


@pytest.mark.parametrize("blueprint", BLUEPRINTS, ids=[b.stem for b in BLUEPRINTS])
def test_blueprint_inserted_from_the_node_library_runs(session: dict, blueprint: Path) -> None:
    if not session["serves_blueprints"]:
        pytest.skip("this ComfyUI does not serve custom packs' blueprints (/global_subgraphs came after 0.3.52)")
    res = _result(session, f"_blueprint_{blueprint.stem}")
    inserted = res.get("inserted")
    assert inserted, "the blueprint did not appear on the canvas after clicking it in the node library"
    (sg,) = json.loads(blueprint.read_text())["definitions"]["subgraphs"]
    assert inserted["inputs"] == [i["name"] for i in sg["inputs"]] and inserted["outputs"] == ["IMAGE"]
    assert inserted["inner_nodes"] == len(sg["nodes"])
    assert not res.get("page_errors"), res["page_errors"]
    found = queue_problems(res) + run_problems(res)
    assert not found, f"{blueprint.stem}: {found}\nserver log:\n{session['server_log']}"
