"""Issue 8: every example workflow loads, validates, runs and shows its output in the real ComfyUI
web frontend (the comfyui-frontend-package the host pins, served by the real server), driven in
headless Debian Chromium by playwright-core (`drive_frontend.mjs`).

One ComfyUI server (random-weight SD1.5 stand-ins under the names the workflows use, small input
images) and one browser run serve all tests. Sampling steps are lowered through the page's widgets.
Screenshots: tests/artifacts/browser/<workflow>.png. Install the browser side with
`bash scripts/browser_deps.sh`; without chromium/node the tests skip locally and fail on CI.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import pytest

from browser._browser import ARTIFACTS, ROOT, drive, queue_problems, require_browser, run_problems, write_inputs

WORKFLOWS_DIR = ROOT / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.json"))
DRIVER_TIMEOUT_S = 840  # the whole browser session, under pytest's 900 s
# Set in the page through the widgets before queueing: CPU-quick runs that still sample.
OVERRIDES = {"KSampler": {"steps": 2}, "KSamplerAdvanced": {"steps": 2},
             "CutForInpaint": {"width": 128, "height": 128}}
MODEL_EXTENSIONS = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft")
BROKEN_CHECKPOINT = "broken_stand_in.safetensors"
SELF_CHECK_SOURCE = "sd15_brushnet_inpaint.json"


def _combo_values(object_info: dict) -> set[str]:
    values: set[str] = set()
    for info in object_info.values():
        for section in ("required", "optional"):
            for spec in (info.get("input", {}).get(section) or {}).values():
                if not isinstance(spec, (list, tuple)) or not spec:
                    continue
                if isinstance(spec[0], list):
                    values.update(str(v) for v in spec[0])
                elif spec[0] == "COMBO" and len(spec) > 1 and isinstance(spec[1], dict):
                    values.update(str(v) for v in spec[1].get("options", []))
    return values


def _missing_models(workflow: Path, object_info: dict) -> list[str]:
    """Model files a workflow names (widget values with a model file extension) that the server lacks."""
    offered = _combo_values(object_info)
    data = json.loads(workflow.read_text())
    wanted = {v for n in data.get("nodes", []) for v in (n.get("widgets_values") or [])
              if isinstance(v, str) and v.lower().endswith(MODEL_EXTENSIONS)}
    return sorted(wanted - offered)


def _plan(workflow: Path, object_info: dict) -> dict:
    """How far a workflow can go on the SD1.5 stand-ins: run it, or (models missing) validate it only.

    `demo.example_models.SD15_STAND_IN_WORKFLOWS`, when it exists, lists the runnable workflows;
    otherwise a workflow runs when the server offers every model file it names.
    """
    from demo import example_models as em

    missing = _missing_models(workflow, object_info)
    listed = getattr(em, "SD15_STAND_IN_WORKFLOWS", None)
    runnable = workflow.name in listed if listed is not None else not missing
    if runnable:
        return {"mode": "run", "missing_models": [], "skip": None}
    why = (f"models the SD1.5 stand-ins do not provide: {missing}" if missing
           else "not in demo.example_models.SD15_STAND_IN_WORKFLOWS")
    # Without a missing model the server would accept (and run) it: load it only.
    return {"mode": "validate" if missing else "load", "missing_models": missing,
            "skip": f"{workflow.name} is not run: {why}"}


def _self_check_workflows(tmp: Path) -> dict[str, tuple[Path, str]]:
    """Broken copies of one example, each with one defect the test must catch."""
    base = json.loads((WORKFLOWS_DIR / SELF_CHECK_SOURCE).read_text())

    def variant(name: str, edit: Callable[[dict[str, dict]], None]) -> Path:
        data = json.loads(json.dumps(base))
        edit({n["type"]: n for n in data["nodes"]})
        path = tmp / f"_selfcheck_{name}.json"
        path.write_text(json.dumps(data))
        return path

    def rename_node(nodes: dict[str, dict]) -> None:
        nodes["BlendInpaint"]["type"] = "BrushEditNoSuchNode"

    def swap_widgets(nodes: dict[str, dict]) -> None:  # sampler_name and scheduler swapped
        w = nodes["KSampler"]["widgets_values"]
        w[4], w[5] = w[5], w[4]

    def broken_model(nodes: dict[str, dict]) -> None:
        nodes["CheckpointLoaderSimple"]["widgets_values"][0] = BROKEN_CHECKPOINT

    return {"missing_node": (variant("missing_node", rename_node), "load"),
            "swapped_widgets": (variant("swapped_widgets", swap_widgets), "validate"),
            "execution_error": (variant("execution_error", broken_model), "run")}


def load_problems(res: dict) -> list[str]:
    """What the frontend showed on loading the file that a clean load does not show."""
    out = []
    if res.get("driver_error"):
        out.append(f"browser driver error: {res['driver_error']}")
    if res.get("missing_node_types"):
        out.append(f"missing node types: {res['missing_node_types']}")
    if res.get("nodes_with_errors"):
        out.append(f"nodes with errors after load: {res['nodes_with_errors']}")
    if res.get("node_count") != res.get("file_node_count") or res.get("link_count") != res.get("file_link_count"):
        out.append(f"graph differs from the file: {res.get('node_count')}/{res.get('file_node_count')} nodes, "
                   f"{res.get('link_count')}/{res.get('file_link_count')} links")
    if res.get("widget_values_changed"):
        out.append(f"widget values changed on load: {res['widget_values_changed']}")
    for when in ("dialogs_before_load", "dialogs_after_load"):
        if res.get(when):
            out.append(f"{when.replace('_', ' ')}: {res[when]}")
    if res.get("page_errors"):
        out.append(f"uncaught errors in the page: {res['page_errors']}")
    return out


@pytest.fixture(scope="module")
def frontend_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Start one ComfyUI server and run the browser over every workflow (and the self-check copies)."""
    require_browser()
    from demo import example_models as em
    from demo.server import ComfyServer

    work = tmp_path_factory.mktemp("browser")
    t0 = time.time()
    em.write_sd15_stand_ins(work / "models")
    (work / "models" / "checkpoints" / BROKEN_CHECKPOINT).write_bytes(b"this is not a safetensors file")
    t_models = time.time() - t0
    server = ComfyServer(work / "models", work / "server")
    write_inputs(server.input_dir)
    with server:
        object_info = server.get("/object_info")
        plans = {wf.stem: _plan(wf, object_info) for wf in WORKFLOWS}
        entries = [{"name": wf.stem, "path": str(wf), "mode": plans[wf.stem]["mode"], "overrides": OVERRIDES}
                   for wf in WORKFLOWS]
        if (WORKFLOWS_DIR / SELF_CHECK_SOURCE).is_file():
            entries += [{"name": f"_selfcheck_{name}", "path": str(path), "mode": mode, "overrides": OVERRIDES}
                        for name, (path, mode) in _self_check_workflows(work).items()]
        run = drive(work, server, entries, DRIVER_TIMEOUT_S)
    print(f"[browser] stand-in models {t_models:.0f} s, server start {server.startup_seconds:.0f} s, "
          f"browser {run['seconds']:.0f} s; screenshots in {ARTIFACTS}; server log {server.log_path}")
    return {**run, "plans": plans}


def _result(run: dict, name: str) -> dict:
    res = run["results"].get(name)
    if res is None:
        pytest.fail(f"no browser result for {name} (driver exit {run['returncode']}):\n{run['stderr'][-3000:]}")
    return res


def _report(workflow: Path, res: dict, found: list[str], run: dict) -> str:
    return (f"{workflow.name} in the ComfyUI frontend:\n- " + "\n- ".join(found)
            + f"\nscreenshot: {res.get('screenshot')}\nserver log tail:\n{run['server_log']}")


IDS = [w.stem for w in WORKFLOWS]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=IDS)
def test_workflow_loads_without_missing_nodes_or_errors(frontend_run: dict, workflow: Path) -> None:
    res = _result(frontend_run, workflow.stem)
    found = load_problems(res)
    assert not found, _report(workflow, res, found, frontend_run)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=IDS)
def test_workflow_passes_validation_when_queued(frontend_run: dict, workflow: Path) -> None:
    plan = frontend_run["plans"][workflow.stem]
    if plan["mode"] == "load":
        pytest.skip(plan["skip"])
    res = _result(frontend_run, workflow.stem)
    found = queue_problems(res, plan["missing_models"])
    assert not found, _report(workflow, res, found, frontend_run)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=IDS)
def test_workflow_runs_and_shows_its_output(frontend_run: dict, workflow: Path) -> None:
    plan = frontend_run["plans"][workflow.stem]
    if plan["mode"] != "run":
        pytest.skip(plan["skip"])
    res = _result(frontend_run, workflow.stem)
    found = queue_problems(res) + run_problems(res)
    assert not found, _report(workflow, res, found, frontend_run)
    assert res["overrides"], "no widget was set in the page (the steps override found no sampler)"
    assert Path(res["screenshot"]).is_file()


def test_missing_node_type_is_caught(frontend_run: dict) -> None:
    res = _result(frontend_run, "_selfcheck_missing_node")
    assert res["missing_node_types"] == ["BrushEditNoSuchNode"]
    assert any("BrushEditNoSuchNode" in d for d in res["dialogs_after_load"]), res["dialogs_after_load"]
    assert load_problems(res)


def test_widget_values_in_wrong_order_are_caught(frontend_run: dict) -> None:
    res = _result(frontend_run, "_selfcheck_swapped_widgets")
    assert "9" in res["queue"]["body"].get("node_errors", {}), res["queue"]
    assert any("Value not in list" in d for d in res["dialogs_after_queue"]), res["dialogs_after_queue"]
    assert queue_problems(res, ["v1-5-pruned-emaonly.safetensors"])  # a missing model would not excuse it


def test_execution_error_is_caught(frontend_run: dict) -> None:
    res = _result(frontend_run, "_selfcheck_execution_error")
    assert res["execution"]["status"] == "error", res.get("execution")
    assert [e["node_type"] for e in res["execution"]["errors"]] == ["CheckpointLoaderSimple"]
    assert any("CheckpointLoaderSimple" in d for d in res["dialogs_after_queue"]), res["dialogs_after_queue"]
    assert run_problems(res)


def test_output_not_shown_is_reported_with_its_reason() -> None:
    """run_problems says why a successful run showed no image: output never received, or node off-screen."""
    saved = [{"filename": "x_00001_.png", "subfolder": "BrushEdit", "type": "output"}]
    res = {"execution": {"status": "success", "images": saved},
           "previews": [{"node": "13 SaveImage", "output_received": 1, "on_canvas": False, "images": []}]}
    assert "outside the drawn canvas area" in run_problems(res)[0]
    res["previews"][0].update(output_received=0, on_canvas=True)
    assert "never received its output" in run_problems(res)[0]
    res["previews"][0]["images"] = [{"src": "/api/view?filename=x_00001_.png", "width": 128, "height": 128}]
    assert run_problems(res) == []
