"""ComfyUI's Cancel button stops the planner: while waiting for HTTP, during backoff, during VLM generation.

The real 0.3.75 executor runs the graphs; Cancel is pressed the way the UI does it
(``comfy.model_management.interrupt_current_processing(True)``, from another thread), and the planner
node itself must end with ComfyUI's ``InterruptProcessingException`` within about two seconds.
"""
from __future__ import annotations

import shutil
import threading
import time

import pytest
import torch
from PIL import Image

import _harness
from _cancel import CancelButton, hold_until_cancelled, model_management, run_cancelled
from fake_openai import Reply, completion

EXAMPLE = "example_1.jpg"
VLM_NAME = "tiny-qwen2-vl"
ANSWER = '{"category": "remove", "object": "vase", "target_caption": "a bare table", "box": null}'
#: Cancel must take effect within this many seconds of being pressed.
PROMPT_LIMIT_S = 2.0


@pytest.fixture
def example_image(examples_dir) -> str:
    import folder_paths

    shutil.copy(examples_dir / EXAMPLE, f"{folder_paths.get_input_directory()}/{EXAMPLE}")
    return EXAMPLE


def _planner_graph(planner_node: dict) -> dict:
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": EXAMPLE}},
        "3": planner_node,
        "2": {"class_type": "BrushEditPlanner",
              "inputs": {"image": ["1", 0], "instruction": "remove the vase", "planner": ["3", 0]}},
        "9": {"class_type": "PreviewAny", "inputs": {"source": ["2", 3]}},
    }


def _http_node(server, timeout_s: float = 60.0, retries: int = 2) -> dict:
    return {"class_type": "BrushEditPlannerOpenAI", "inputs": {
        "base_url": server.base_url, "model": "m", "api_key_env": "", "timeout_s": timeout_s,
        "retries": retries, "max_image_side": 256, "box_convention": "pixels"}}


def _planner_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("BrushEdit planner")]


def test_cancel_pressed_during_planner_http(example_image, openai_server):
    """The server takes 30 s to answer; Cancel 0.5 s into the wait ends the planner node at once."""
    openai_server.script = [Reply(200, completion(ANSWER), delay=30.0)]
    button = CancelButton(lambda: openai_server.requests, delay=0.5)
    seconds, interrupted = run_cancelled(_planner_graph(_http_node(openai_server)), button)
    assert interrupted is not None, "the run was not reported as interrupted"
    assert interrupted["node_id"] == "2", f"interrupted at node {interrupted['node_id']}, not in the planner"
    assert seconds < PROMPT_LIMIT_S, f"the planner ignored Cancel for {seconds:.1f}s"
    assert len(openai_server.requests) == 1  # no retry after Cancel
    deadline = time.monotonic() + 2.0
    while _planner_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _planner_threads(), "the abandoned request still holds a thread (connection not closed)"


def test_cancel_pressed_during_retry_backoff(openai_server):
    """HTTP 503, then a 30 s backoff before the retry: Cancel during the backoff stops it."""
    from brushnet_core.planner.http_backend import HTTPPlanner, HTTPPlannerConfig

    mm = model_management()
    compat = _harness.pack_module("nodes.compat")
    openai_server.script = [Reply(503, "busy")]
    planner = HTTPPlanner(HTTPPlannerConfig(base_url=openai_server.base_url, model="m", timeout_s=10.0,
                                            retries=1, backoff_s=30.0))
    with CancelButton(lambda: openai_server.requests, delay=0.5) as button:
        with pytest.raises(mm.InterruptProcessingException):
            planner.plan(Image.new("RGB", (64, 48)), "remove the vase", cancel_check=compat.cancel_check())
        end = time.monotonic()
    assert button.pressed_at is not None and end - button.pressed_at < PROMPT_LIMIT_S
    assert len(openai_server.requests) == 1


# ------------------------------------------------------------------------------------------- local VLM

class _SlowForwards:
    """Counts the VLM's forward calls (one per generated token); the ``hold_at``-th call waits for Cancel,
    as a real model's token would take time while the user presses the button."""

    def __init__(self, type_name: str, hold_at: int) -> None:
        self.type_name, self.hold_at, self.calls = type_name, hold_at, 0

    def __call__(self, module: torch.nn.Module, _args: tuple) -> None:
        if type(module).__name__ != self.type_name:
            return
        self.calls += 1
        if self.calls == self.hold_at:
            hold_until_cancelled()


def test_cancel_during_vlm_generation(tiny_vlm, example_image):
    node = {"class_type": "BrushEditPlannerLocalVLM", "inputs": {
        "model": VLM_NAME, "family": "auto", "dtype": "auto", "max_new_tokens": 256, "max_image_side": 128}}
    forwards = _SlowForwards("Qwen2VLForConditionalGeneration", hold_at=2)  # after the first tokens
    handle = torch.nn.modules.module.register_module_forward_pre_hook(forwards)
    try:
        seconds, interrupted = run_cancelled(_planner_graph(node), CancelButton(lambda: forwards.calls >= 2))
    finally:
        handle.remove()
    assert interrupted is not None, f"the run was not reported as interrupted ({forwards.calls} forwards)"
    assert interrupted["node_id"] == "2", f"interrupted at node {interrupted['node_id']}, not in the planner"
    assert seconds < PROMPT_LIMIT_S, f"generation ignored Cancel for {seconds:.1f}s"
    assert forwards.calls <= 3, f"generation went on for {forwards.calls} forwards after Cancel"


def test_cancel_check_stops_vlm_generate_directly(tiny_vlm):
    """Core level: the check runs per token and its exception reaches the caller (no ComfyUI executor)."""
    from brushnet_core.planner.vlm_backend import load_vlm_planner

    class Cancelled(Exception):
        pass

    planner = load_vlm_planner(str(tiny_vlm), max_new_tokens=200, max_image_side=128)
    checks = []

    def check() -> None:
        checks.append(1)
        if len(checks) >= 4:
            raise Cancelled()

    forwards = _SlowForwards("Qwen2VLForConditionalGeneration", hold_at=0)
    handle = torch.nn.modules.module.register_module_forward_pre_hook(forwards)
    try:
        with pytest.raises(Cancelled):
            planner.chat([("user", "remove the vase")], Image.new("RGB", (64, 48)), cancel_check=check)
    finally:
        handle.remove()
    assert forwards.calls <= 4, f"{forwards.calls} forwards for a check that raised at its 4th call"
