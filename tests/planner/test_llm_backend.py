"""The local text-only LLM planner with tiny random causal LMs built offline (loading, prompting, parsing)."""
from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
import torch
from PIL import Image

import _harness
from brushnet_core.planner.llm_backend import LLMPlanner, load_llm_planner
from brushnet_core.planner.plan import UNKNOWN, PlannerError, PlanParseError
from brushnet_core.planner.rules import addition_box
from tiny_llm import NO_SYSTEM_TEMPLATE, build_tiny_llm

NAME = "tiny-qwen2-llm"


@pytest.fixture(scope="module")
def planner(tiny_llm: Path) -> LLMPlanner:
    return load_llm_planner(str(tiny_llm), max_new_tokens=6)


def _img(w=640, h=480) -> Image.Image:
    return Image.new("RGB", (w, h), (20, 120, 40))


def _answer_with(planner: LLMPlanner, answer: str, calls: list):
    """Make generate() append the tokens of ``answer`` (real tokenizer) and record its inputs."""
    tokens = planner.tokenizer(answer, return_tensors="pt", add_special_tokens=False)["input_ids"]

    def generate(**kwargs):
        calls.append(kwargs)
        return torch.cat([kwargs["input_ids"], tokens], dim=1)

    return generate


def test_loads_offline_without_network(tiny_llm, monkeypatch):
    def deny(*_a, **_k):
        raise AssertionError("network access while loading")

    monkeypatch.setattr(socket.socket, "connect", deny)
    loaded = load_llm_planner(str(tiny_llm), max_new_tokens=4)
    assert loaded.name == f"llm:{NAME}" and loaded.box_convention == "norm1000"


def test_random_model_generates_text_through_the_real_path(planner):
    assert isinstance(planner.chat([("user", "Editing instruction: remove the dog")], None), str)


def test_prompt_is_text_only_with_the_instruction(planner, monkeypatch):
    calls: list = []
    answer = '{"category": "remove", "object": "dog", "target_caption": "an empty lawn", "box": null, ' \
             '"confidence": 0.9}'
    monkeypatch.setattr(planner.model, "generate", _answer_with(planner, answer, calls))
    plan = planner.plan(_img(), "Quita el perro")
    assert (plan.category, plan.object_phrase, plan.target_caption, plan.confidence) == (
        "remove", "dog", "an empty lawn", 0.9)
    assert set(calls[0]) >= {"input_ids", "attention_mask", "stopping_criteria"} and "pixel_values" not in calls[0]
    prompt = planner.tokenizer.decode(calls[0]["input_ids"][0])
    assert "Quita el perro" in prompt and "do not see the picture" in prompt and "unknown" in prompt


def test_addition_without_box_is_placed_by_position_words(planner, monkeypatch):
    answer = '{"category": "addition", "object": "moon", "target_caption": "a moon in the sky", "box": null}'
    monkeypatch.setattr(planner.model, "generate", _answer_with(planner, answer, []))
    plan = planner.plan(_img(), "add a moon in the top right")
    assert plan.box == addition_box("add a moon in the top right", 640, 480)
    assert plan.confidence == 0.75 and any("estimated" in n for n in plan.notes)


def test_addition_box_in_0_1000_is_converted(planner, monkeypatch):
    answer = '{"category": "addition", "object": "hat", "target_caption": "a hat", "box": [0, 0, 500, 500]}'
    monkeypatch.setattr(planner.model, "generate", _answer_with(planner, answer, []))
    assert planner.plan(_img(640, 480), "add a hat").box == (0, 0, 320, 240)


def test_model_answering_unknown_gives_an_unknown_plan(planner, monkeypatch):
    answer = '{"category": "unknown", "object": "", "target_caption": "", "box": null, "confidence": 0.2}'
    monkeypatch.setattr(planner.model, "generate", _answer_with(planner, answer, []))
    plan = planner.plan(_img(), "what is this?")
    assert plan.category == UNKNOWN and "answered 'unknown'" in plan.reason


def test_unusable_answers_trigger_repair_then_quoting_error(planner, monkeypatch):
    calls: list = []
    monkeypatch.setattr(planner.model, "generate", _answer_with(planner, "remove dog", calls))
    with pytest.raises(PlanParseError, match="after 2 tries.*remove dog"):
        planner.plan(_img(), "remove the dog")
    assert len(calls) == 2 and calls[1]["input_ids"].shape[1] > calls[0]["input_ids"].shape[1]


def test_cancel_check_is_called_per_token_and_stops_generation(planner):
    class Cancelled(Exception):
        pass

    checks: list = []

    def check() -> None:
        checks.append(1)
        if len(checks) >= 4:
            raise Cancelled()

    long = load_llm_planner(planner.model.name_or_path, max_new_tokens=200)
    long.model.generation_config.eos_token_id = None  # a random model must not stop by itself
    forwards = []
    handle = long.model.register_forward_pre_hook(lambda *_a: forwards.append(1))
    try:
        with pytest.raises(Cancelled):
            long.chat([("user", "remove the vase")], None, cancel_check=check)
    finally:
        handle.remove()
    assert len(checks) == 4 and len(forwards) <= 4


def test_template_without_system_role_gets_it_folded_into_the_user_turn(tmp_path):
    path = build_tiny_llm(tmp_path / "nosys", chat_template=NO_SYSTEM_TEMPLATE)
    planner = load_llm_planner(str(path), max_new_tokens=2)
    text = planner.render([("user", "remove the dog")])
    assert "system" not in text and "do not see the picture" in text and "remove the dog" in text


def test_qwen3_family_loads(tmp_path):
    import transformers

    if not hasattr(transformers, "Qwen3ForCausalLM"):
        pytest.skip(f"transformers {transformers.__version__} has no Qwen3")
    planner = load_llm_planner(str(build_tiny_llm(tmp_path / "q3", family="qwen3")), max_new_tokens=3)
    assert isinstance(planner.chat([("user", "add a hat")], None), str)


def test_vision_model_folder_is_sent_to_the_vlm_backend(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "qwen2_vl"}))
    with pytest.raises(ValueError, match="vision-language model.*local Qwen-VL"):
        load_llm_planner(str(tmp_path))


def test_model_without_chat_template_is_refused(tmp_path):
    path = build_tiny_llm(tmp_path / "base", chat_template=None)
    (path / "chat_template.jinja").unlink(missing_ok=True)
    with pytest.raises(PlannerError, match="no chat template.*Instruct"):
        load_llm_planner(str(path))


def _graph(instruction: str, extra: dict | None = None) -> dict:
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "example_2.jpg"}},
        "3": {"class_type": "BrushEditPlannerLocalLLM", "inputs": {
            "model": NAME, "dtype": "auto", "max_new_tokens": 16}},
        "2": {"class_type": "BrushEditPlanner",
              "inputs": {"image": ["1", 0], "instruction": instruction, "planner": ["3", 0]}},
        "9": {"class_type": "PreviewAny", "inputs": {"source": ["2", 10]}},
    }
    prompt.update(extra or {})
    return prompt


@pytest.fixture
def example_2(examples_dir):
    import folder_paths

    shutil.copy(examples_dir / "example_2.jpg", f"{folder_paths.get_input_directory()}/example_2.jpg")


def test_local_llm_node_runs_under_comfy_model_management(tiny_llm, example_2):
    # a random model cannot plan: the error proves load -> ModelPatcher -> generate -> parse -> repair ran
    with pytest.raises(_harness.PromptFailed, match=rf"planner \(llm:{NAME}\) gave no usable plan after 2 tries"):
        _harness.run_prompt(_graph("remove the dog"))


def test_local_llm_node_plans_other_languages(tiny_llm, example_2, monkeypatch):
    """Through the real executor: the model's answer becomes the planner node's outputs."""
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(tiny_llm), local_files_only=True)
    answer = '{"category": "remove", "object": "dog", "target_caption": "an empty lawn", "box": null, ' \
             '"confidence": 0.92}'
    tokens = tokenizer(answer, return_tensors="pt", add_special_tokens=False)["input_ids"]
    seen: list = []

    def generate(self, **kwargs):
        seen.append(self.device)
        return torch.cat([kwargs["input_ids"], tokens.to(kwargs["input_ids"].device)], dim=1)

    monkeypatch.setattr(transformers.Qwen2ForCausalLM, "generate", generate)
    run = _harness.run_prompt(_graph("Quita el perro"))
    out = run.outputs("2")
    assert out[1:4] == ["remove", "dog", "an empty lawn"]
    assert "confidence: 0.92 (high)" in out[10] and f"llm:{NAME}" in out[10]
    assert seen
