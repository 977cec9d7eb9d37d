"""The local Qwen-VL planner with a tiny random Qwen2-VL built offline (loading, prompting, parsing)."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest
import torch
from PIL import Image

import _harness
from brushnet_core.planner.plan import PlanParseError
from brushnet_core.planner.vlm_backend import VLMPlanner, detect_family, load_vlm_planner
from tiny_qwen import GOLDEN, golden_chat

NAME = "tiny-qwen2-vl"


@pytest.fixture(scope="module")
def planner(tiny_vlm: Path) -> VLMPlanner:
    return load_vlm_planner(str(tiny_vlm), max_new_tokens=6, max_image_side=256)


def _img(w=320, h=240) -> Image.Image:
    return Image.new("RGB", (w, h), (200, 40, 40))


def _answer_with(planner: VLMPlanner, answer: str, calls: list):
    """Make generate() append the tokens of ``answer`` (real tokenizer) and record its inputs."""
    tokens = planner.processor.tokenizer(answer, return_tensors="pt")["input_ids"]

    def generate(**kwargs):
        calls.append(kwargs)
        return torch.cat([kwargs["input_ids"], tokens], dim=1)

    return generate


def test_loads_offline_without_network(tiny_vlm, monkeypatch):
    def deny(*_a, **_k):
        raise AssertionError("network access while loading")

    monkeypatch.setattr(socket.socket, "connect", deny)
    loaded = load_vlm_planner(str(tiny_vlm), max_new_tokens=4)
    assert loaded.family == "qwen2_vl" and loaded.box_convention == "norm1000"


def test_published_folder_gives_the_recorded_prompt_pixels_logits_and_answer(planner):
    """The tiny folder has the published Qwen2-VL file layout and is the same on every transformers;
    its prompt tokens, image grid, pixels, first-step logits and greedy answer were recorded on the
    pinned host (transformers 4.57.6). A transformers 5 environment must give the same."""
    got, want = golden_chat(planner), GOLDEN
    assert got["input_ids"] == want["input_ids"]  # tokenizer + chat template + image tokens
    assert got["image_grid_thw"] == want["image_grid_thw"]
    assert got["pixel_values"][0] == want["pixel_values"][0]
    assert got["pixel_values"][1:] == pytest.approx(want["pixel_values"][1:], rel=1e-5, abs=1e-2)
    assert got["top_ids"] == want["top_ids"]
    assert got["top_logits"] == pytest.approx(want["top_logits"], abs=1e-3)
    assert got["answer"] == want["answer"]


def test_folder_holds_only_the_published_files(tiny_vlm):
    assert sorted(p.name for p in tiny_vlm.iterdir()) == [
        "chat_template.json", "config.json", "generation_config.json", "merges.txt", "model.safetensors",
        "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json", "vocab.json"]


def test_random_model_generates_text_through_the_real_path(planner):
    out = planner.chat([("user", "Editing instruction: remove the dog")], _img())
    assert isinstance(out, str)


def test_prompt_carries_image_tokens_and_pixels(planner, monkeypatch):
    calls: list = []
    answer = '{"category": "remove", "object": "dog", "target_caption": "grass", "box": null}'
    monkeypatch.setattr(planner.model, "generate", _answer_with(planner, answer, calls))
    planner.plan(_img(), "remove the dog")
    image_id = planner.model.config.image_token_id
    assert (calls[0]["input_ids"] == image_id).sum() > 0
    assert calls[0]["pixel_values"].dtype == torch.float32 and calls[0]["image_grid_thw"].shape == (1, 3)


def test_answer_is_decoded_and_norm1000_box_converted(planner, monkeypatch):
    answer = '{"category": "addition", "object": "hat", "target_caption": "a cat in a hat", ' \
             '"box": [250, 0, 750, 500]}'
    monkeypatch.setattr(planner.model, "generate", _answer_with(planner, answer, []))
    plan = planner.plan(_img(640, 480), "add a hat")
    assert plan.category == "addition" and plan.box == (160, 0, 480, 240)
    assert plan.backend == f"local:{NAME}"


def test_unusable_answers_trigger_repair_then_quoting_error(planner, monkeypatch):
    calls: list = []
    monkeypatch.setattr(planner.model, "generate", _answer_with(planner, "category remove dog", calls))
    with pytest.raises(PlanParseError, match="after 2 tries.*category remove dog"):
        planner.plan(_img(), "remove the dog")
    assert len(calls) == 2 and calls[1]["input_ids"].shape[1] > calls[0]["input_ids"].shape[1]


def test_qwen2_5_vl_pixels_refer_to_the_processor_resized_input(planner):
    # same processor family; Qwen2.5-VL answers in pixels of the smart-resized image
    q25 = VLMPlanner(None, planner.processor, "qwen2_5_vl", max_image_side=0)
    sent, ref = q25.prepare(_img(640, 480))
    grid = planner.processor.image_processor(images=[sent], return_tensors="pt")["image_grid_thw"][0]
    assert ref == (int(grid[2]) * 14, int(grid[1]) * 14) and ref != (640, 480)
    assert ref[0] % 28 == 0 and ref[1] % 28 == 0


def test_qwen3_vl_uses_norm1000_on_the_image_size(planner):
    q3 = VLMPlanner(None, planner.processor, "qwen3_vl", max_image_side=256)
    assert q3.box_convention == "norm1000"
    assert q3.prepare(_img(640, 480))[1] == (256, 192)


def test_unsupported_model_type_is_named(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "llava"}')
    with pytest.raises(ValueError, match="'llava' model.*Qwen2-VL"):
        detect_family(str(tmp_path))


def test_family_mismatch_is_an_error(tiny_vlm):
    with pytest.raises(ValueError, match="is a 'qwen2_vl' model but family 'qwen3_vl'"):
        load_vlm_planner(str(tiny_vlm), family="qwen3_vl")


def test_local_vlm_node_runs_under_comfy_model_management(tiny_vlm, examples_dir):
    import shutil

    import folder_paths

    shutil.copy(examples_dir / "example_2.jpg", f"{folder_paths.get_input_directory()}/example_2.jpg")
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "example_2.jpg"}},
        "3": {"class_type": "BrushEditPlannerLocalVLM", "inputs": {
            "model": NAME, "family": "auto", "dtype": "auto", "max_new_tokens": 16, "max_image_side": 128}},
        "2": {"class_type": "BrushEditPlanner",
              "inputs": {"image": ["1", 0], "instruction": "remove the dog", "planner": ["3", 0]}},
        "9": {"class_type": "PreviewAny", "inputs": {"source": ["2", 3]}},
    }
    # a random model cannot plan: the error proves load -> ModelPatcher -> generate -> parse -> repair ran
    with pytest.raises(_harness.PromptFailed, match=rf"planner \(local:{NAME}\) gave no usable plan after 2 tries"):
        _harness.run_prompt(prompt)
