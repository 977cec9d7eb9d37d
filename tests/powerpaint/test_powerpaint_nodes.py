"""The PowerPaint node through ComfyUI's real sampling path, the loader, and bad inputs."""
from __future__ import annotations

import json

import pytest
import torch

import _harness
from _reference import reference_unet
from injection._setup import (base_model, brushnet_patcher, conditioning_reference, count_forwards, image_and_mask,
                              one_step, pristine_unet, random_vae, rel_err, text_conds)
from powerpaint._pp import (encode_with_vectors, powerpaint_patcher, reference_powerpaint, tiny_clip_files,
                            tiny_powerpaint, tiny_powerpaint_clip)


def _node(name: str):
    return getattr(_harness.pack_module("nodes.powerpaint"), name)


def run_powerpaint(clip, pp, function="object removal", fitting=1.0, scale=1.0, model=None, **kw):
    positive, negative = text_conds("sd15")
    image, mask = image_and_mask()
    out = _node("PowerPaint").execute(
        model=model or base_model("sd15"), vae=random_vae(), image=image, mask=mask, powerpaint=pp, clip=clip,
        positive=positive, negative=negative, fitting=fitting, function=function, scale=scale, start_at=0,
        end_at=10000, **kw)
    return out.args, (positive, negative, image, mask)


def reference_step(pp_sd, x, sigma, cfg, positive, negative, cond, contexts, scale):
    """CFG-combined denoised prediction: base UNet + the reference branch reading each side's task context."""
    base = base_model("sd15")
    ms, unet = base.model.model_sampling, pristine_unet(base)
    s = torch.full((x.shape[0],), sigma)
    xc, t = ms.calculate_input(s, x), ms.timestep(s).float()
    preds = []
    for conds, ctx in zip((positive, negative), contexts):
        feats = reference_powerpaint(pp_sd, xc, t, cond, ctx.expand(x.shape[0], -1, -1), scale=scale)
        with torch.no_grad():
            eps = reference_unet(unet, xc, t, conds[0][0].expand(x.shape[0], -1, -1), None, feats)
        preds.append(ms.calculate_denoised(s, eps, x))
    return preds[1] + (preds[0] - preds[1]) * cfg


@pytest.mark.parametrize("function, fitting, scale", [("object removal", 1.0, 1.0), ("shape guided", 0.6, 0.8),
                                                      ("context aware", 1.0, 1.0)])
def test_prediction_matches_reference(models_dir, function: str, fitting: float, scale: float) -> None:
    clip, pp = tiny_powerpaint_clip(models_dir), powerpaint_patcher()
    _, _, vectors = tiny_clip_files(str(models_dir))
    (model, pos, neg, latent), (positive, negative, image, mask) = run_powerpaint(clip, pp, function, fitting, scale)
    enc = lambda word: encode_with_vectors(clip, vectors[word] if word else None)  # noqa: E731
    a, b, na, nb = {"object removal": ("P_ctxt", "P_ctxt", "P_obj", "P_obj"),
                    "shape guided": ("P_shape", "P_ctxt", "P_shape", "P_ctxt"),
                    "context aware": ("P_ctxt", "P_ctxt", "", "")}[function]
    contexts = (fitting * enc(a) + (1 - fitting) * enc(b), fitting * enc(na) + (1 - fitting) * enc(nb))
    cond = conditioning_reference(random_vae(), image, mask, "sd15")
    sigma, cfg = 3.0, 4.5
    noise = torch.randn(latent["samples"].shape, generator=torch.Generator().manual_seed(0))
    expected = reference_step(pp.model.state_dict(), noise * sigma, sigma, cfg, positive, negative, cond, contexts, scale)
    _, got = one_step(model, pos, neg, latent["samples"], sigma, cfg)
    assert rel_err(got, expected) <= 1e-5


def test_powerpaint_changes_the_prediction(models_dir) -> None:
    (model, pos, neg, latent), (positive, negative, _, _) = run_powerpaint(tiny_powerpaint_clip(models_dir), powerpaint_patcher())
    _, with_pp = one_step(model, pos, neg, latent["samples"], 3.0, 4.5)
    _, plain = one_step(base_model("sd15"), positive, negative, latent["samples"], 3.0, 4.5)
    assert rel_err(with_pp, plain) > 1e-2


@pytest.mark.parametrize("function, batches", [("text guided", [1]), ("object removal", [2])])
def test_cond_and_uncond_share_a_forward_only_when_their_task_prompts_match(models_dir, function, batches) -> None:
    pp = powerpaint_patcher()
    calls = count_forwards(pp)
    (model, pos, neg, latent), _ = run_powerpaint(tiny_powerpaint_clip(models_dir), pp, function)
    one_step(model, pos, neg, latent["samples"], 3.0, 4.5)
    assert calls == batches


def test_save_memory_gives_the_same_prediction(models_dir) -> None:
    clip, pp = tiny_powerpaint_clip(models_dir), powerpaint_patcher()
    (m1, p1, n1, lat), _ = run_powerpaint(clip, pp)
    (m2, p2, n2, _), _ = run_powerpaint(clip, pp, save_memory="max")
    _, a = one_step(m1, p1, n1, lat["samples"], 3.0, 4.5)
    _, b = one_step(m2, p2, n2, lat["samples"], 3.0, 4.5)
    assert rel_err(b, a) <= 1e-5


def test_brushnet_loader_loads_powerpaint_files_bit_exact(models_dir) -> None:
    import safetensors.torch

    model = tiny_powerpaint(seed=9)
    path = models_dir / "inpaint" / "powerpaint" / "tiny_powerpaint.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    loaded = _harness.pack_module("nodes.loader").BrushNetLoader.execute(
        brushnet="powerpaint/tiny_powerpaint.safetensors", dtype="float32").args[0]
    assert type(loaded.model).__name__ == "PowerPaintModel" and loaded.model.reads_context
    got = loaded.model.state_dict()
    assert got.keys() == model.state_dict().keys()
    assert all(torch.equal(got[k], v) for k, v in model.state_dict().items())


def test_head_count_comes_from_config_json(models_dir) -> None:
    import safetensors.torch
    from _harness import CONFIGS_DIR

    folder = models_dir / "brushnet" / "PowerPaint_Brushnet"
    folder.mkdir(parents=True, exist_ok=True)
    cfg = json.loads((CONFIGS_DIR / "powerpaint_brushnet_config.json").read_text())
    (folder / "config.json").write_text(json.dumps(dict(cfg, attention_head_dim=4)))
    safetensors.torch.save_file({k: v.contiguous() for k, v in tiny_powerpaint(seed=9).state_dict().items()},
                                str(folder / "diffusion_pytorch_model.safetensors"))
    loaded = _harness.pack_module("nodes.loader").BrushNetLoader.execute(
        brushnet="PowerPaint_Brushnet/diffusion_pytorch_model.safetensors", dtype="float32").args[0]
    assert loaded.model.config.num_attention_heads == 4


def test_powerpaint_model_in_the_brushnet_node_names_the_powerpaint_node() -> None:
    positive, negative = text_conds("sd15")
    image, mask = image_and_mask()
    with pytest.raises(ValueError, match="use the PowerPaint node"):
        _harness.pack_module("nodes.apply").BrushNet.execute(
            model=base_model("sd15"), vae=random_vae(), image=image, mask=mask, brushnet=powerpaint_patcher(),
            positive=positive, negative=negative, scale=1.0, start_at=0, end_at=10000)


def test_plain_brushnet_in_the_powerpaint_node_names_the_brushnet_node(models_dir) -> None:
    with pytest.raises(ValueError, match="use the BrushNet node"):
        run_powerpaint(tiny_powerpaint_clip(models_dir), brushnet_patcher("sd15"))


def _bare_clip(tokenizer):
    import comfy.sd

    clip = comfy.sd.CLIP(no_init=True)
    clip.tokenizer = tokenizer
    return clip


def test_sdxl_clip_is_refused() -> None:
    import comfy.sdxl_clip

    with pytest.raises(ValueError, match="SDXL CLIP .*SD1.5 CLIP-L"):
        run_powerpaint(_bare_clip(comfy.sdxl_clip.SDXLTokenizer()), powerpaint_patcher())


def test_clip_without_task_tokens_is_refused() -> None:
    import comfy.sd1_clip

    with pytest.raises(ValueError, match="no PowerPaint task tokens.*PowerPaintCLIPLoader"):
        run_powerpaint(_bare_clip(comfy.sd1_clip.SD1Tokenizer()), powerpaint_patcher())


def test_sdxl_base_model_is_refused(models_dir) -> None:
    with pytest.raises(ValueError, match="SD1.5 model; this base model is SDXL"):
        run_powerpaint(tiny_powerpaint_clip(models_dir), powerpaint_patcher(), model=base_model("sdxl"))


def test_schema_matches_the_earlier_pack() -> None:
    schema = _node("PowerPaint").define_schema()
    names = [i.id for i in schema.inputs]
    assert schema.node_id == "PowerPaint"
    assert names[:14] == ["model", "vae", "image", "mask", "powerpaint", "clip", "positive", "negative", "fitting",
                          "function", "scale", "start_at", "end_at", "save_memory"]
    assert [o.io_type for o in schema.outputs] == ["MODEL", "CONDITIONING", "CONDITIONING", "LATENT"]
    assert all(i.tooltip for i in schema.inputs) and all(o.tooltip for o in schema.outputs)


def test_entries_without_a_task_context_follow_cond_or_uncond() -> None:
    from brushnet_core.branch.injection import FeatureSlot
    from brushnet_core.branch.runner import ActiveWindow
    from brushnet_core.powerpaint.runner import PowerPaintRunner

    pos, neg = torch.full((1, 77, 64), 1.0), torch.full((1, 77, 64), -1.0)
    runner = PowerPaintRunner(tiny_powerpaint(), FeatureSlot(), torch.zeros(1, 5, 8, 8), 1.0, ActiveWindow(),
                              (pos, neg))
    ctx = runner.context_for(torch.zeros(4, 4, 8, 8), None, [1, 0])  # ComfyUI order: uncond first here
    assert ctx.shape == (4, 77, 64)
    assert torch.equal(ctx[:2], neg.expand(2, -1, -1)) and torch.equal(ctx[2:], pos.expand(2, -1, -1))
    given = torch.randn(4, 77, 64)
    assert runner.context_for(torch.zeros(4, 4, 8, 8), given, [1, 0]) is given
