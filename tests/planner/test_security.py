"""The API key never appears in node inputs/outputs, logs or error messages."""
from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys

import pytest
import torch

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


# --- issue 16: one scrubbing boundary for every path a backend's text takes -------------------------

def _assert_nowhere(secret: str, *texts, records=()) -> None:
    for text in texts:
        assert secret not in (text if isinstance(text, str) else json.dumps(text, default=str))
    leaked = [r.getMessage() for r in records if secret in r.getMessage() or secret in (r.exc_text or "")]
    assert not leaked, leaked


ECHO_HEADERS = {"url": "/v1/chat/completions", "headers": {"Authorization": f"Bearer {SECRET}",
                                                          "Content-Type": "application/json"}}


@pytest.mark.parametrize("body", [ECHO_HEADERS, f"POST /v1/chat/completions\nAuthorization: Bearer {SECRET}\n"],
                         ids=["json-echo", "text-echo"])
def test_200_body_echoing_the_request_headers_is_scrubbed(openai_server, examples_dir, monkeypatch, caplog, body):
    monkeypatch.setenv("BRUSHEDIT_SECRET_KEY", SECRET)
    openai_server.script = [Reply(200, body)]
    caplog.set_level(logging.DEBUG)
    with pytest.raises(_harness.PromptFailed) as info:
        _harness.run_prompt(_prompt(openai_server.base_url, examples_dir))
    assert "***" in str(info.value)
    _assert_nowhere(SECRET, str(info.value), info.value.details, records=caplog.records)


def test_a_key_cut_by_a_truncated_quote_is_still_masked(openai_server, examples_dir, monkeypatch, caplog):
    """Error messages quote at most a few hundred characters of a body: a key cut in half is masked too."""
    monkeypatch.setenv("BRUSHEDIT_SECRET_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    for pad in range(270, 300, 3):  # the quote ends somewhere inside the key
        openai_server.script = [Reply(200, {"echo": "x" * pad + SECRET})]
        with pytest.raises(_harness.PromptFailed) as info:
            _harness.run_prompt(_prompt(openai_server.base_url, examples_dir))
        _assert_nowhere(SECRET[:8], str(info.value), info.value.details, records=caplog.records)


def test_key_named_by_a_node_is_scrubbed_whatever_the_variable_is_called(openai_server, examples_dir, monkeypatch,
                                                                          caplog):
    monkeypatch.setenv("MY_PLANNER_CREDENTIAL", SECRET)  # a name no pattern would guess
    prompt = _prompt(openai_server.base_url, examples_dir)
    prompt["3"]["inputs"]["api_key_env"] = "MY_PLANNER_CREDENTIAL"
    openai_server.script = [Reply(200, {"echo": f"credential={SECRET}"})]
    caplog.set_level(logging.DEBUG)
    with pytest.raises(_harness.PromptFailed) as info:
        _harness.run_prompt(prompt)
    assert "credential=***" in str(info.value)
    _assert_nowhere(SECRET, str(info.value), info.value.details, records=caplog.records)


def test_exception_text_with_the_key_is_scrubbed(examples_dir, monkeypatch, caplog):
    monkeypatch.setenv("BRUSHEDIT_SECRET_KEY", SECRET)
    http = _harness.pack_module("brushnet_core.planner.http_backend")

    def broken(self, request, cancel_check=None):
        try:
            raise ValueError(f"proxy could not parse header X-Debug={SECRET}")
        except ValueError as inner:
            raise ConnectionError(f"proxy refused the request carrying {SECRET}") from inner

    monkeypatch.setattr(http.HTTPPlanner, "_exchange", broken)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(_harness.PromptFailed) as info:
        _harness.run_prompt(_prompt("http://127.0.0.1:9/v1", examples_dir))
    assert "proxy refused the request carrying ***" in str(info.value)
    _assert_nowhere(SECRET, str(info.value), info.value.details, records=caplog.records)


def test_repair_round_answers_with_the_key_are_scrubbed(openai_server, examples_dir, monkeypatch, caplog):
    monkeypatch.setenv("BRUSHEDIT_SECRET_KEY", SECRET)
    bad = f"I was called with the key {SECRET} and cannot plan"
    caplog.set_level(logging.DEBUG)
    # two unusable answers: the error quotes both
    openai_server.script = [Reply(200, completion(bad)), Reply(200, completion(bad))]
    with pytest.raises(_harness.PromptFailed) as info:
        _harness.run_prompt(_prompt(openai_server.base_url, examples_dir))
    assert "the key *** and cannot plan" in str(info.value)
    _assert_nowhere(SECRET, str(info.value), info.value.details, records=caplog.records)
    # an unusable answer, then a usable one that still quotes the key: outputs and UI are clean
    good = ('{"category": "remove", "object": "dog", "target_caption": "a lawn, key ' + SECRET + '", "box": null}')
    openai_server.script = [Reply(200, completion(bad)), Reply(200, completion(good))]
    run = _harness.run_prompt(_prompt(openai_server.base_url, examples_dir))
    outs = run.outputs("2")
    assert outs[3] == "a lawn, key ***"
    _assert_nowhere(SECRET, [o for o in outs if isinstance(o, str)], repr(outs[0]), run.ui, records=caplog.records)


def test_local_vlm_answer_with_a_secret_is_scrubbed(models_dir, examples_dir, monkeypatch, caplog):
    import transformers
    from tiny_qwen import build_tiny_qwen2_vl

    name = "tiny-qwen2-vl"
    path = models_dir / "LLM" / name
    if not (path / "config.json").exists():
        build_tiny_qwen2_vl(path)
    monkeypatch.setenv("HF_TOKEN", SECRET)  # a local model needs no key, but the process may hold one
    tokenizer = transformers.AutoProcessor.from_pretrained(str(path), local_files_only=True).tokenizer
    answers: list[str] = []

    def generate(self, **kwargs):
        ids = tokenizer(answers.pop(0), return_tensors="pt")["input_ids"]
        return torch.cat([kwargs["input_ids"], ids], dim=1)

    monkeypatch.setattr(transformers.Qwen2VLForConditionalGeneration, "generate", generate)
    prompt = _prompt("http://unused/v1", examples_dir)
    prompt["3"] = {"class_type": "BrushEditPlannerLocalVLM", "inputs": {
        "model": name, "family": "auto", "dtype": "auto", "max_new_tokens": 16, "max_image_side": 128}}
    caplog.set_level(logging.DEBUG)
    answers[:] = [f"token {SECRET}", f"still {SECRET}"]
    with pytest.raises(_harness.PromptFailed) as info:
        _harness.run_prompt(prompt)
    assert "token ***" in str(info.value)
    _assert_nowhere(SECRET, str(info.value), info.value.details, records=caplog.records)
    answers[:] = ['{"category": "remove", "object": "dog", "target_caption": "grass ' + SECRET + '", "box": null}']
    run = _harness.run_prompt(prompt)
    outs = run.outputs("2")
    assert outs[3] == "grass ***"
    _assert_nowhere(SECRET, [o for o in outs if isinstance(o, str)], repr(outs[0]), run.ui, records=caplog.records)


def test_scrubbing_rules(monkeypatch):
    redact = _harness.pack_module("brushnet_core.planner.redact")
    monkeypatch.setenv("SOME_SERVICE_TOKEN", 'tok"en-123456789')
    assert redact.scrub('{"t": "tok\\"en-123456789"}') == '{"t": "***"}'  # JSON-escaped
    assert redact.scrub("cut at tok\"en-12") == "cut at ***"  # the end cut off by a truncated quote
    assert redact.scrub("...en-123456789 tail") == "...*** tail"  # the start cut off
    assert redact.scrub("tok\"") == 'tok"'  # fewer than 6 characters of it: left alone
    env = {"OPENAI_API_KEY": "sk-abcdef123456", "HF_TOKEN": "hf_xyz7890", "SHORT_KEY": "abc", "HOME": "/root"}
    values = redact.secret_values(env)
    assert values == ["sk-abcdef123456", "hf_xyz7890"]  # longest first; short values and non-secret names left
    assert redact.scrub("Authorization: Bearer eyJhbGciOi.x-y_z") == "Authorization: Bearer ***"
    log = logging.getLogger("BrushEdit.planner")
    assert any(isinstance(f, redact.ScrubFilter) for f in log.filters)
    assert any(isinstance(f, redact.ScrubFilter) for f in logging.getLogger("BrushEdit").filters)


def test_saved_png_metadata_holds_the_variable_name_never_the_key(openai_server, examples_dir, monkeypatch):
    """ComfyUI embeds the prompt (every node's inputs) in each saved PNG: only the NAME is there."""
    from PIL import Image
    import folder_paths

    monkeypatch.setenv("BRUSHEDIT_SECRET_KEY", SECRET)
    openai_server.script = [Reply(200, completion(ANSWER))]
    prompt = _prompt(openai_server.base_url, examples_dir)
    prompt["10"] = {"class_type": "BrushEditPlanMask", "inputs": {"image": ["1", 0], "plan": ["2", 0],
                                                                  "grow_remove_px": 4, "grow_local_px": 0,
                                                                  "mask": ["11", 0]}}
    prompt["11"] = {"class_type": "LoadImageMask", "inputs": {"image": "example_1.jpg", "channel": "red"}}
    prompt["12"] = {"class_type": "MaskToImage", "inputs": {"mask": ["10", 0]}}
    prompt["13"] = {"class_type": "SaveImage", "inputs": {"images": ["12", 0], "filename_prefix": "security_png"}}
    run = _harness.run_prompt(prompt)
    (saved,) = run.ui["13"]["images"]
    path = f"{folder_paths.get_output_directory()}/{saved.get('subfolder', '')}/{saved['filename']}"
    info = Image.open(path).info
    assert "BRUSHEDIT_SECRET_KEY" in info["prompt"]
    assert SECRET not in json.dumps(info) and SECRET.encode() not in open(path, "rb").read()
