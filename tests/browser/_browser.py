"""What both browser test modules share: the browser side, the inputs, the driver run, the result checks.

The browser side is Debian's chromium, node and playwright-core (``bash scripts/browser_deps.sh``,
run by ``scripts/test.sh``). Without it the tests skip locally, naming that command, and fail on CI.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("drive_frontend.mjs")
ARTIFACTS = ROOT / "tests" / "artifacts" / "browser"
EXAMPLES = ROOT / "tests" / "data" / "examples"
CHROMIUM = Path(os.environ.get("BRUSHEDIT_CHROMIUM", "/usr/bin/chromium"))
NODE_MODULES = Path(os.environ.get("BRUSHEDIT_NODE_MODULES", ROOT / ".host" / "node" / "node_modules"))
RUN_TIMEOUT_S = 300  # one workflow's run


def missing_browser_deps() -> str | None:
    node = shutil.which("node")
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        return f"chromium not found at {CHROMIUM}"
    if node is None:
        return "node not found on PATH"
    if not (NODE_MODULES / "playwright-core" / "package.json").is_file():
        return f"playwright-core not installed in {NODE_MODULES}"
    return None


def require_browser() -> None:
    """Skip (fail under CI) when the browser side is missing, saying how to install it."""
    reason = missing_browser_deps()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run `bash scripts/browser_deps.sh` first")
        pytest.skip(f"{reason} (install with `bash scripts/browser_deps.sh`)")


def write_inputs(input_dir: Path) -> None:
    """Small crops of the example photos under the names the workflows load."""
    from demo import example_models as em

    input_dir.mkdir(parents=True, exist_ok=True)
    pairs = [(EXAMPLES / "test_image.jpg", EXAMPLES / "test_mask.jpg", em.EXAMPLE_IMAGE, em.EXAMPLE_MASK, (128, 128)),
             (EXAMPLES / "example_4.jpeg", EXAMPLES / "example_4_mask.jpg", em.LARGE_IMAGE, em.LARGE_MASK, (256, 160))]
    for image, mask, image_name, mask_name, size in pairs:
        Image.open(image).convert("RGB").resize(size, Image.LANCZOS).save(input_dir / image_name)
        Image.open(mask).convert("RGB").resize(size, Image.NEAREST).save(input_dir / mask_name)


def _run_node(config: Path, results: Path, timeout_s: float) -> tuple[int | str, str, str]:
    """drive_frontend.mjs; on timeout its process group (node and its Chromium) is ended."""
    proc = subprocess.Popen(["node", str(DRIVER), str(config), str(results)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
        return proc.returncode, stdout, stderr
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        return f"killed after {timeout_s} s", stdout, stderr


def drive(work: Path, server, entries: list[dict], timeout_s: float) -> dict:
    """Run the browser over ``entries`` against the started ``server``; fail when it left no results.

    Returns the driver's results per entry name, its exit code and stderr, the server log tail and the
    browser's seconds.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    config = {"url": server.url, "artifacts_dir": str(ARTIFACTS), "node_modules": str(NODE_MODULES),
              "chromium": str(CHROMIUM), "timeout_s": RUN_TIMEOUT_S, "workflows": entries}
    (work / "config.json").write_text(json.dumps(config, indent=2))
    t0 = time.time()
    returncode, stdout, stderr = _run_node(work / "config.json", work / "results.json", timeout_s)
    seconds = time.time() - t0
    print(stdout, stderr, sep="\n")
    if not (work / "results.json").is_file():
        pytest.fail(f"the browser driver exited {returncode} without results:\n{stdout}\n{stderr}")
    return {"results": json.loads((work / "results.json").read_text())["workflows"], "returncode": returncode,
            "stderr": stderr, "server_log": server.log_tail(60), "seconds": seconds}


def _only_missing_models(body: dict, missing_models: list[str]) -> bool:
    """True when every validation error names one of `missing_models` (a model file the server lacks)."""
    errors = [e for node in (body.get("node_errors") or {}).values() for e in node.get("errors", [])]
    return bool(errors) and all(
        e.get("extra_info", {}).get("received_value") in missing_models
        or any(m in str(e.get("details", "")) for m in missing_models) for e in errors)


def queue_problems(res: dict, missing_models: list[str] = ()) -> list[str]:
    """Validation errors the server gave when the page queued the workflow.

    With `missing_models` (validate-only mode) errors about those files are expected, and an
    accepted prompt (stopped at once by the driver) passed validation.
    """
    queue = res.get("queue")
    if queue is None:
        return [f"the page did not queue the workflow ({res.get('driver_error', 'no queue response')})"]
    body = queue.get("body")
    if queue.get("status") == 200 and isinstance(body, dict) and not body.get("node_errors"):
        if res.get("interrupted") or not res.get("dialogs_after_queue"):
            return []
        return [f"dialogs after queue: {res['dialogs_after_queue']}"]
    if missing_models and isinstance(body, dict) and _only_missing_models(body, list(missing_models)):
        return []
    return [f"queue rejected ({queue.get('status')}): {json.dumps(body)[:3000]}"]


def run_problems(res: dict) -> list[str]:
    """A run that failed, or finished without its output image shown in the output nodes."""
    ex = res.get("execution")
    if ex is None:
        return ["the workflow did not run (see the queue result)"]
    if ex.get("status") != "success":
        errs = [f"{e.get('node_type')} (node {e.get('node_id')}): {e.get('exception_message', '').strip()}"
                for e in ex.get("errors", [])]
        return [f"execution {ex.get('status')}: {errs}"]
    previews = res.get("previews") or []
    if not previews:
        return [f"no output node (SaveImage/PreviewImage) in the page's graph; the server saved {ex.get('images')}"]
    out = []
    for p in previews:
        if p["images"] and all(i["width"] > 0 for i in p["images"]):
            continue
        if not p.get("output_received"):
            why = "the page never received its output (no 'executed' message for it)"
        elif p.get("on_canvas") is False:
            why = "its output reached the page, but the node lies outside the drawn canvas area"
        else:
            why = "its output reached the page, but the image did not load"
        out.append(f"no output image shown in {p['node']}: {why}; server saved {ex.get('images')}; node: {p}")
    return out
