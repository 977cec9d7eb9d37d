"""Loaders reject a missing model at queue time, naming the file and where it goes (real host validation)."""
from __future__ import annotations

import json

import pytest

import _harness
from powerpaint._pp import tiny_clip_files


def _rejected(node: str, inputs: dict) -> str:
    with pytest.raises(_harness.PromptFailed) as failure:
        _harness.run_prompt({"1": {"class_type": node, "inputs": inputs}}, targets=["1"])
    message = str(failure.value)
    assert message.startswith("prompt rejected"), message  # refused by validation, nothing was loaded
    return message


def test_powerpaint_clip_loader_names_a_missing_base(models_dir) -> None:
    tiny_clip_files(str(models_dir))
    message = _rejected("PowerPaintCLIPLoader", {"base": "no_such_clip_l.safetensors",
                                                 "powerpaint": "powerpaint/pytorch_model.bin"})
    assert "no_such_clip_l.safetensors" in message and "models/text_encoders" in message


def test_powerpaint_clip_loader_names_a_missing_text_encoder(models_dir) -> None:
    tiny_clip_files(str(models_dir))
    message = _rejected("PowerPaintCLIPLoader", {"base": "tiny_clip_l.safetensors",
                                                 "powerpaint": "powerpaint/missing.bin"})
    assert "powerpaint/missing.bin" in message and "PowerPaint_Brushnet/pytorch_model.bin" in message


def test_powerpaint_clip_loader_accepts_files_that_are_there(models_dir) -> None:
    tiny_clip_files(str(models_dir))
    node = _harness.pack_module("nodes.powerpaint").PowerPaintCLIPLoader
    assert node.validate_inputs(base="tiny_clip_l.safetensors", powerpaint="powerpaint/pytorch_model.bin") is True


def _llm_folder(models_dir, name: str, model_type: str = "qwen2_vl"):
    folder = models_dir / "LLM" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"model_type": model_type}))
    return folder


def test_local_vlm_loader_names_a_missing_folder(models_dir) -> None:
    message = _rejected("BrushEditPlannerLocalVLM", {"model": "Qwen2-VL-not-downloaded", "family": "auto",
                                                     "dtype": "auto", "max_new_tokens": 64, "max_image_side": 512})
    assert "Qwen2-VL-not-downloaded" in message and "models/LLM/<name>/" in message


def test_local_vlm_loader_checks_family_and_dtype(models_dir) -> None:
    _llm_folder(models_dir, "tiny-vl")
    node = _harness.pack_module("nodes.planner").BrushEditPlannerLocalVLM
    assert node.validate_inputs(model="tiny-vl", family="auto", dtype="auto") is True
    assert "unknown family 'llava'" in node.validate_inputs(model="tiny-vl", family="llava", dtype="auto")
    assert "unknown dtype 'float8'" in node.validate_inputs(model="tiny-vl", family="auto", dtype="float8")
    folder_without_config = models_dir / "LLM" / "weights-only"
    folder_without_config.mkdir(parents=True, exist_ok=True)
    assert "not found" in node.validate_inputs(model="weights-only", family="auto", dtype="auto")


def test_local_llm_loader_names_a_missing_folder(models_dir) -> None:
    message = _rejected("BrushEditPlannerLocalLLM", {"model": "(no model folders in models/LLM)", "dtype": "auto",
                                                     "max_new_tokens": 64})
    assert "models/LLM/<name>/" in message


def test_local_planners_list_model_folders_only(models_dir) -> None:
    _llm_folder(models_dir, "org/tiny-llm", "qwen2")
    listed = _harness.pack_module("nodes.planner").list_llm_folders()
    assert "org/tiny-llm" in listed and not any(name.endswith(".json") for name in listed)


def test_a_name_cannot_leave_the_models_folder(models_dir) -> None:
    folders = _harness.pack_module("nodes.glue.folders")
    (models_dir / "secret.bin").write_bytes(b"x")
    assert folders.check_model(("brushnet",), "../secret.bin", what="file", fix="fix") is not True
