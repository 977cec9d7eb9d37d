"""One test per contract of today's ComfyUI (shared spec comfy_today.md), emulated on the test host."""
from __future__ import annotations

import logging

import pytest
import torch

import _harness
import _models
from _models import TINY_BRUSHNET
from compat import _today
from demo.random_models import random_brushnet, save_brushnet
from injection._setup import (apply_node, base_model, brushnet_patcher, image_and_mask, one_step, random_vae,
                              rel_err, text_conds)
from injection.test_interop import _lora_state_dict


def _compat():
    return _harness.pack_module("nodes.compat")


def _load(name: str):
    return _harness.pack_module("nodes.loader").BrushNetLoader.execute(brushnet=name, dtype="float32").args[0]


# --- 1. dynamic VRAM: Linear layers start without weights ----------------------------------------

@pytest.mark.parametrize("kind", ["sd15", "sdxl"])
def test_brushnet_loads_when_linear_layers_start_empty(models_dir, monkeypatch, kind) -> None:
    model = random_brushnet(TINY_BRUSHNET[kind], seed=31)
    save_brushnet(model, models_dir / "brushnet" / f"lazy_{kind}.safetensors")
    lazy = _today.lazy_linear_ops(monkeypatch)
    loaded = _load(f"lazy_{kind}.safetensors").model
    assert any(isinstance(m, lazy) for m in loaded.modules()), "the emulated lazy ops were not used"
    got, want = loaded.state_dict(), model.state_dict()
    assert got.keys() == want.keys()
    assert all(torch.equal(got[k], v) for k, v in want.items())
    assert not any(p.is_meta for p in loaded.parameters())


def test_powerpaint_loads_when_linear_layers_start_empty(models_dir, monkeypatch) -> None:
    import safetensors.torch
    from powerpaint._pp import tiny_powerpaint

    model = tiny_powerpaint(seed=12)
    path = models_dir / "inpaint" / "powerpaint" / "lazy_powerpaint.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    lazy = _today.lazy_linear_ops(monkeypatch)
    loaded = _load("powerpaint/lazy_powerpaint.safetensors").model
    assert any(isinstance(m, lazy) for m in loaded.modules())
    got = loaded.state_dict()
    assert all(torch.equal(got[k], v) for k, v in model.state_dict().items())


def test_lazy_linear_init_is_detected(monkeypatch) -> None:
    assert _compat().features().lazy_linear_init is False  # the 0.3.75 host
    _today.lazy_linear_ops(monkeypatch)
    assert _compat().features().lazy_linear_init is True


# --- 2. the tokenizer's embedding lookup returns three values --------------------------------------

def test_powerpaint_task_words_work_with_a_three_value_lookup(models_dir, monkeypatch) -> None:
    from powerpaint._pp import encode_with_vectors, tiny_clip_files, tiny_clip_options

    base, pp, vectors = tiny_clip_files(str(models_dir))
    _today.three_value_embedding_lookup(monkeypatch)
    assert _compat().features().tokenizer_lookup_arity == 3
    mod = _harness.pack_module("nodes.powerpaint")
    clip = mod.load_powerpaint_clip(str(base), str(pp), model_options=tiny_clip_options())
    row = clip.tokenize("P_shape, a cat")["l"][0]
    assert all(torch.equal(row[1 + i][0], vectors["P_shape"][i]) for i in range(10))
    assert all(isinstance(t, int) for t, _ in row[11:14])  # ", a cat" still tokenized after the vectors
    got = mod.encode_text(clip, "P_obj")
    assert torch.allclose(got, encode_with_vectors(clip, vectors["P_obj"]), atol=1e-6)


# --- 3. the model that is sampled is a fresh copy of the patched one -------------------------------

def _lora_brushnet_graph():
    import comfy.sd

    base = base_model("sd15")
    lora = _lora_state_dict(base.model.diffusion_model)
    lora_model, _ = comfy.sd.load_lora_for_models(base, None, lora, 0.8, 0.0)
    image, mask = image_and_mask()
    positive, negative = text_conds("sd15")
    return apply_node(lora_model, random_vae(), image, mask, brushnet_patcher("sd15"), positive, negative, scale=0.9)


def _upsampler_conv(unet):
    """The conv of output block 2's upsampler: a layer inside a block BrushNet must wrap (an add before it)."""
    return unet.output_blocks[2][-1].conv


@pytest.mark.parametrize("injection_skipped", [False, True], ids=["injected", "injection-skipped"])
def test_brushnet_and_lora_act_on_the_model_swapped_in_at_sampling(monkeypatch, injection_skipped) -> None:
    import comfy.model_management as mm

    model, pos, neg, latent = _lora_brushnet_graph()
    _, want = one_step(model, pos, neg, latent["samples"], 2.0, 3.0)
    mm.unload_all_models()  # the graph-time instance goes back to its own (LoRA-free) weights
    ran = {"graph-time": 0, "sampled": 0}

    def count(name):
        return lambda *_: ran.__setitem__(name, ran[name] + 1)

    def fresh_copy():
        fresh = _models.tiny_base_model("sd15").model
        _upsampler_conv(fresh.diffusion_model).register_forward_hook(count("sampled"))
        return fresh

    hook = _upsampler_conv(model.model.diffusion_model).register_forward_hook(count("graph-time"))
    try:
        sampled = _today.swap_model_at_sampling_start(monkeypatch, fresh_copy, keep_injected_flag=injection_skipped)
        _, got = one_step(model, pos, neg, latent["samples"], 2.0, 3.0)
        mm.unload_all_models()
    finally:
        hook.remove()
    assert len(sampled) == 1 and sampled[0] is not model.model
    assert ran == {"graph-time": 0, "sampled": 1}, f"layers that ran: {ran}"
    assert rel_err(got, want) <= 1e-6
    blocks = sampled[0].diffusion_model.output_blocks
    assert not any(type(b).__name__ == "InjectingBlock" for b in blocks), "the copy was left patched"


def test_graph_time_model_is_never_modified_by_a_swapped_run(monkeypatch) -> None:
    import comfy.model_management as mm

    model, pos, neg, latent = _lora_brushnet_graph()
    mm.unload_all_models()
    before = [id(b) for b in model.model.diffusion_model.output_blocks]
    _today.swap_model_at_sampling_start(monkeypatch, lambda: _models.tiny_base_model("sd15").model)
    one_step(model, pos, neg, latent["samples"], 2.0, 3.0)
    assert [id(b) for b in model.model.diffusion_model.output_blocks] == before
    mm.unload_all_models()


# --- 4. multi-GPU ------------------------------------------------------------------------------

def test_multigpu_sampling_is_refused_naming_the_node() -> None:
    model, pos, neg, latent = _lora_brushnet_graph()
    _today.mark_multigpu(model)
    with pytest.raises(RuntimeError, match=r"BrushNet: multi-GPU sampling is not supported.*MultiGPU node"):
        one_step(model, pos, neg, latent["samples"], 2.0, 3.0)


# --- 5. patch points: copied transformer_options, hsp=None -----------------------------------------

def test_result_is_the_same_when_transformer_options_are_copied_per_call(monkeypatch) -> None:
    model, pos, neg, latent = _lora_brushnet_graph()
    _, want = one_step(model, pos, neg, latent["samples"], 2.0, 3.0)
    _today.copy_transformer_options_per_call(monkeypatch)
    _, got = one_step(model, pos, neg, latent["samples"], 2.0, 3.0)
    assert torch.equal(got, want)


def test_output_patch_accepts_a_missing_skip_tensor() -> None:
    from brushnet_core.branch.injection import FeatureSlot, make_plan, output_block_patch
    from brushnet_core.branch.model import BrushNetFeatures

    bn = _models.tiny_brushnet("sd15")
    plan = make_plan(base_model("sd15").model.diffusion_model, bn.config.down_feature_channels(),
                     bn.config.up_feature_channels())
    slot = FeatureSlot()
    ones = torch.ones(1, 128, 4, 4)
    slot.set(BrushNetFeatures(down=[], mid=ones, up=[ones] * len(bn.config.up_feature_channels())), 1, [0])
    h = torch.randn(1, 128, 4, 4)
    out_h, out_hsp = output_block_patch(slot, plan)(h, None, {"block": ("output", 0)}, extra="ignored")
    assert out_hsp is None and torch.equal(out_h, h + 1)


# --- the log line at load ----------------------------------------------------------------------

def test_load_log_names_the_version_and_the_detected_features(caplog) -> None:
    with caplog.at_level(logging.INFO, logger="BrushEdit"):
        _compat().log_host_once()
    line = caplog.records[-1].getMessage()
    assert "ComfyUI 0.3" in line and "lazy_linear_init=False" in line and "tokenizer_lookup_arity=2" in line
    assert _compat().missing_requirements() == []


def test_a_host_missing_a_needed_feature_gets_one_clear_line_and_no_nodes(monkeypatch, caplog) -> None:
    import asyncio

    import comfy.model_patcher

    monkeypatch.delattr(comfy.model_patcher.ModelPatcher, "set_injections")
    nodes_pkg = _harness.pack_module("nodes")
    with caplog.at_level(logging.INFO, logger="BrushEdit"):
        extension = asyncio.run(nodes_pkg.comfy_entrypoint())
        registered = asyncio.run(extension.get_node_list())
    assert registered == []
    assert "lacks ModelPatcher.set_injections" in caplog.text and "needs ComfyUI 0.3.52 or newer" in caplog.text
