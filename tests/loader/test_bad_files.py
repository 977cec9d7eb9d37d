"""Files that are not a usable BrushNet get a message naming the file, what it is and what to do."""
from __future__ import annotations

import pytest
import safetensors.torch
import torch

import _harness
from _models import TINY_BRUSHNET
from demo.random_models import random_brushnet, save_brushnet


def _load(relname: str, dtype: str = "float32"):
    return _harness.pack_module("nodes.loader").BrushNetLoader.execute(brushnet=relname, dtype=dtype)


def _write(models_dir, rel: str, sd: dict) -> str:
    path = models_dir / "brushnet" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    return rel


def _t(*shape):
    return torch.randn(*shape)


@pytest.mark.parametrize("rel, sd, expected", [
    ("cnet.safetensors", {"controlnet_cond_embedding.conv_in.weight": _t(16, 3, 3, 3), "conv_in.weight": _t(8, 4, 3, 3)}, "ControlNet"),
    ("ldm_cnet.safetensors", {"input_hint_block.0.weight": _t(16, 3, 3, 3), "zero_convs.0.0.weight": _t(8, 8, 1, 1)}, "ControlNet"),
    ("unet.safetensors", {"input_blocks.0.0.weight": _t(8, 4, 3, 3), "out.2.weight": _t(4, 8, 3, 3)}, "UNet"),
    ("ckpt.safetensors", {"model.diffusion_model.input_blocks.0.0.weight": _t(8, 4, 3, 3)}, "Stable Diffusion checkpoint"),
    ("lora.safetensors", {"lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": _t(4, 8), "lora_unet_x.alpha": torch.tensor(4.0)}, "LoRA"),
    ("vae.safetensors", {"encoder.down.0.block.0.conv1.weight": _t(8, 8, 3, 3), "decoder.up.0.block.0.conv1.weight": _t(8, 8, 3, 3)}, "VAE"),
])
def test_foreign_files_are_named(models_dir, rel, sd, expected) -> None:
    name = _write(models_dir, rel, sd)
    with pytest.raises(ValueError, match=expected) as err:
        _load(name)
    assert rel in str(err.value) and "not a BrushNet" in str(err.value)


def test_incomplete_powerpaint_file_is_a_hard_error(models_dir) -> None:
    sd = dict(random_brushnet(TINY_BRUSHNET["sd15"]).state_dict())
    sd["down_blocks.0.attentions.0.proj_in.weight"] = _t(32, 32, 1, 1)
    name = _write(models_dir, "powerpaint_brushnet.safetensors", sd)
    with pytest.raises(ValueError, match="PowerPaint"):
        _load(name)


def test_truncated_file(models_dir) -> None:
    target = save_brushnet(random_brushnet(TINY_BRUSHNET["sd15"]), models_dir / "brushnet/truncated.safetensors")
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        _load("truncated.safetensors")


def test_missing_tensor_is_a_hard_error(models_dir) -> None:
    sd = dict(random_brushnet(TINY_BRUSHNET["sd15"]).state_dict())
    del sd["up_blocks.1.resnets.2.conv2.weight"]
    name = _write(models_dir, "incomplete.safetensors", sd)
    with pytest.raises(ValueError, match="1 missing"):
        _load(name)


def test_missing_file(models_dir) -> None:
    with pytest.raises(FileNotFoundError, match="not found"):
        _harness.pack_module("nodes.loader").resolve_brushnet_path("nope/missing.safetensors")


def test_unknown_dtype(models_dir) -> None:
    save_brushnet(random_brushnet(TINY_BRUSHNET["sd15"]), models_dir / "brushnet/dtype_bad.safetensors")
    with pytest.raises(ValueError, match="unknown dtype 'float8'"):
        _load("dtype_bad.safetensors", dtype="float8")


def test_folder_without_weights(models_dir) -> None:
    from brushnet_core.branch.checkpoint import BrushNetCheckpointError, resolve_weights

    folder = models_dir / "brushnet" / "empty_folder"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text("{}")
    with pytest.raises(BrushNetCheckpointError, match="holds no BrushNet weights"):
        resolve_weights(str(folder))


def test_bad_file_through_the_server_path_reports_the_node(models_dir) -> None:
    _write(models_dir, "another_cnet.safetensors", {"controlnet_cond_embedding.conv_in.weight": _t(16, 3, 3, 3)})
    prompt = {"1": {"class_type": "BrushNetLoader", "inputs": {"brushnet": "another_cnet.safetensors", "dtype": "float32"}}}
    with pytest.raises(_harness.PromptFailed, match="ControlNet"):
        _harness.run_prompt(prompt, targets=["1"])
