"""Every checkpoint format users have loads bit-exact through the BrushNetLoader node."""
from __future__ import annotations

import pytest
import torch

import _harness
from _models import TINY_BRUSHNET
from demo.random_models import random_brushnet, save_brushnet

FORMATS = [
    ("safetensors", "brushnet/{kind}_single.safetensors", None),
    ("safetensors", "brushnet/{kind}_single_fp16.safetensors", torch.float16),
    ("diffusers", "brushnet/{kind}_folder", None),
    ("diffusers-fp16", "brushnet/{kind}_folder_fp16", None),
    ("diffusers-bin", "inpaint/brushnet/{kind}_folder_bin", None),
    ("bin", "inpaint/{kind}_legacy.bin", None),
    ("pt", "inpaint/{kind}_legacy.pt", None),
]


def _load_through_node(relname: str, dtype: str = "float32"):
    loader = _harness.pack_module("nodes.loader").BrushNetLoader
    return loader.execute(brushnet=relname, dtype=dtype).args[0]


def _rel(models_dir, target) -> str:
    rel = target.relative_to(models_dir)
    return str(rel.relative_to(rel.parts[0]))  # name as listed by folder_paths (inside inpaint/ or brushnet/)


@pytest.mark.parametrize("kind", ["sd15", "sdxl"])
@pytest.mark.parametrize("fmt, relpath, save_dtype", FORMATS)
def test_format_round_trips_bit_exact(models_dir, kind, fmt, relpath, save_dtype) -> None:
    model = random_brushnet(TINY_BRUSHNET[kind], seed=21)
    target = save_brushnet(model, models_dir / relpath.format(kind=kind), fmt=fmt, dtype=save_dtype)
    listed = _harness.pack_module("nodes.loader").list_brushnet_files()
    name = _rel(models_dir, target)
    assert name in listed
    patcher = _load_through_node(name)
    assert type(patcher).__name__ == "ModelPatcher"
    loaded = patcher.model.state_dict()
    stored_dtype = torch.float16 if (save_dtype == torch.float16 or fmt == "diffusers-fp16") else torch.float32
    expected = {k: v.to(stored_dtype).to(torch.float32) for k, v in model.state_dict().items()}
    assert loaded.keys() == expected.keys()
    assert all(torch.equal(loaded[k], expected[k]) for k in expected)
    assert patcher.model.kind == kind


def test_dtype_widget_casts_once_at_load(models_dir) -> None:
    target = save_brushnet(random_brushnet(TINY_BRUSHNET["sd15"], seed=3), models_dir / "brushnet/dtype_test.safetensors")
    patcher = _load_through_node(_rel(models_dir, target), dtype="bfloat16")
    assert {p.dtype for p in patcher.model.parameters()} == {torch.bfloat16}


def test_old_workflow_without_dtype_uses_auto(models_dir) -> None:
    target = save_brushnet(random_brushnet(TINY_BRUSHNET["sd15"], seed=4), models_dir / "inpaint/old_style.safetensors")
    prompt = {"1": {"class_type": "BrushNetLoader", "inputs": {"brushnet": _rel(models_dir, target)}}}
    run = _harness.run_prompt(prompt, targets=["1"])
    patcher = run.outputs("1")[0]
    assert {p.dtype for p in patcher.model.parameters()} == {torch.float32}  # auto on the CPU


def test_loaded_brushnet_is_managed_by_comfy(models_dir) -> None:
    import comfy.model_management as mm

    target = save_brushnet(random_brushnet(TINY_BRUSHNET["sd15"], seed=5), models_dir / "brushnet/managed.safetensors")
    patcher = _load_through_node(_rel(models_dir, target))
    mm.load_models_gpu([patcher])
    assert any(lm.model is patcher for lm in mm.current_loaded_models)
    assert patcher.load_device == mm.get_torch_device() and patcher.offload_device == mm.unet_offload_device()
