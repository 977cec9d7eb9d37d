"""The API key never appears in node inputs/outputs, logs or error messages."""
from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys

import pytest

import _harness
from fake_openai import Reply, completion

SECRET = "sk-test-SECRET-1f2e3d4c5b6a"
ANSWER = '{"category": "remove", "object": "dog", "target_caption": "a lawn", "box": null}'


def _prompt(base_url: str, examples_dir) -> dict:
    import folder_paths

    shutil.copy(examples_dir / "example_1.jpg", f"{folder_paths.get_input_directory()}/example_1.jpg")
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": "example_1.jpg"}},
        "3": {"class_type": "BrushEditPlannerOpenAI", "inputs": {
            "base_url": base_url, "model": "m", "api_key_env": "BRUSHEDIT_SECRET_KEY", "timeout_s": 5.0,
            "retries": 0, "max_image_side": 256, "box_convention": "pixels"}},
        "2": {"class_type": "BrushEditPlanner",
              "inputs": {"image": ["1", 0], "instruction": "remove the dog", "planner": ["3", 0]}},
        "9": {"class_type": "PreviewAny", "inputs": {"source": ["2", 9]}},
    }


def test_key_is_sent_but_never_in_workflow_outputs_or_logs(openai_server, examples_dir, monkeypatch, caplog):
    monkeypatch.setenv("BRUSHEDIT_SECRET_KEY", SECRET)
    openai_server.script = [Reply(200, completion(ANSWER))]
    prompt = _prompt(openai_server.base_url, examples_dir)
    caplog.set_level(logging.DEBUG)
    run = _harness.run_prompt(prompt)
    assert openai_server.requests[0]["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert SECRET not in json.dumps(prompt)
    texts = [o for o in run.outputs("2") if isinstance(o, str)] + [repr(run.outputs("2")[0])]
    assert all(SECRET not in t for t in texts)
    assert SECRET not in repr(vars(run.outputs("3")[0]))  # the planner object holds only the variable name
    assert SECRET not in json.dumps(run.ui, default=str)
    assert all(SECRET not in r.getMessage() for r in caplog.records)


def test_server_echoing_the_key_is_scrubbed_from_errors(openai_server, examples_dir, monkeypatch, caplog):
    monkeypatch.setenv("BRUSHEDIT_SECRET_KEY", SECRET)
    openai_server.script = [Reply(401, {"error": {"message": f"Incorrect API key provided: {SECRET}"}})]
    caplog.set_level(logging.DEBUG)
    with pytest.raises(_harness.PromptFailed) as info:
        _harness.run_prompt(_prompt(openai_server.base_url, examples_dir))
    assert "Incorrect API key provided: ***" in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in json.dumps(info.value.details, default=str)
    assert all(SECRET not in r.getMessage() for r in caplog.records)


def test_import_opens_no_socket():
    code = (
        "import socket, sys\n"
        "def deny(*a, **k): raise AssertionError('network at import')\n"
        "socket.socket.connect = deny; socket.create_connection = deny\n"
        "import brushnet_core.planner.http_backend, brushnet_core.planner.backend, "
        "brushnet_core.planner.vlm_backend, brushnet_core.planner.plan_mask\n"
        "assert 'transformers' not in sys.modules, 'transformers imported at import time'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(_harness.ROOT))
