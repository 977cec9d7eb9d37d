"""BrushNet with LoRA, ControlNet, areas, a second BrushNet and other packs' patches."""
from __future__ import annotations

import copy

import torch

from _reference import reference_brushnet
from injection._setup import (apply_node, base_model, brushnet_patcher, conditioning_reference, count_forwards,
                              image_and_mask, ksample, one_step, random_vae, reference_denoised, rel_err, text_conds)


def _lora_state_dict(unet, seed=9, rank=4):
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for name in ("input_blocks.1.1.transformer_blocks.0.attn2.to_k", "output_blocks.5.1.transformer_blocks.0.ff.net.2",
                 "middle_block.1.transformer_blocks.0.attn1.to_q"):
        w = dict(unet.named_parameters())[name + ".weight"]
        sd[f"diffusion_model.{name}.lora_up.weight"] = torch.randn(w.shape[0], rank, generator=g) * 0.2
        sd[f"diffusion_model.{name}.lora_down.weight"] = torch.randn(rank, w.shape[1], generator=g) * 0.2
    return sd


def test_lora_then_brushnet_matches_reference() -> None:
    import comfy.sd
    from types import SimpleNamespace

    base = base_model("sd15")
    lora = _lora_state_dict(base.model.diffusion_model)
    lora_model, _ = comfy.sd.load_lora_for_models(base, None, lora, 0.8, 0.0)
    bn = brushnet_patcher("sd15")
    image, mask = image_and_mask()
    positive, negative = text_conds("sd15")
    model, pos, neg, latent = apply_node(lora_model, random_vae(), image, mask, bn, positive, negative, scale=0.9)
    merged_unet = copy.deepcopy(base.model.diffusion_model)
    params = dict(merged_unet.named_parameters())
    for key in lora:
        if key.endswith("lora_up.weight"):
            name = key[len("diffusion_model."):-len(".lora_up.weight")]
            down = lora[key.replace("lora_up", "lora_down")]
            params[name + ".weight"].data += 0.8 * (lora[key] @ down)
    merged = SimpleNamespace(model=SimpleNamespace(model_sampling=base.model.model_sampling, diffusion_model=merged_unet))
    cond = conditioning_reference(random_vae(), image, mask, "sd15")
    noise = torch.randn(latent["samples"].shape, generator=torch.Generator().manual_seed(0))
    want = reference_denoised(merged, bn.model.state_dict(), "sd15", noise * 2.0, 2.0, 3.0, positive, negative, cond, 0.9)
    _, got = one_step(model, pos, neg, latent["samples"], 2.0, 3.0)
    assert rel_err(got, want) <= 1e-5
    _, plain_bn = one_step(apply_node(base, random_vae(), image, mask, bn, positive, negative, scale=0.9)[0],
                           pos, neg, latent["samples"], 2.0, 3.0)
    assert rel_err(got, plain_bn) > 1e-4  # the LoRA really is in effect


def _tiny_controlnet():
    import comfy.cldm.cldm
    import comfy.controlnet
    import comfy.model_management as mm
    from _models import SD15_UNET
    from demo.random_weights import randomize_

    cfg = {k: v for k, v in SD15_UNET.items() if k not in ("out_channels", "transformer_depth_output")}
    cfg.update({"hint_channels": 3, "num_heads": 4, "num_head_channels": -1, "device": None, "dtype": torch.float32})
    import comfy.ops
    net = comfy.cldm.cldm.ControlNet(operations=comfy.ops.disable_weight_init, **cfg)
    randomize_(net, seed=13)
    return comfy.controlnet.ControlNet(net, load_device=mm.get_torch_device(), manual_cast_dtype=None)


def test_controlnet_and_brushnet_together() -> None:
    import nodes

    base = base_model("sd15")
    bn = brushnet_patcher("sd15")
    image, mask = image_and_mask()
    positive, negative = text_conds("sd15")
    model, pos, neg, latent = apply_node(base, random_vae(), image, mask, bn, positive, negative)
    cn_pos, cn_neg = nodes.ControlNetApplyAdvanced().apply_controlnet(pos, neg, _tiny_controlnet(), image, 1.0, 0.0, 1.0)
    calls = count_forwards(bn)
    with_cn = ksample(model, cn_pos, cn_neg, latent, steps=2)
    without_cn = ksample(model, pos, neg, latent, steps=2)
    assert calls == [1, 1, 1, 1]
    assert rel_err(with_cn, without_cn) > 1e-3


def test_two_brushnets_stack() -> None:
    base = base_model("sd15")
    bn1, bn2 = brushnet_patcher("sd15", seed=2), brushnet_patcher("sd15", seed=3)
    image, mask = image_and_mask()
    positive, negative = text_conds("sd15")
    m1, p1, n1, latent = apply_node(base, random_vae(), image, mask, bn1, positive, negative)
    m2, p2, n2, _ = apply_node(m1, random_vae(), image, mask, bn2, p1, n1, scale=0.5)
    c1, c2 = count_forwards(bn1), count_forwards(bn2)
    both = ksample(m2, p2, n2, latent, steps=2)
    one = ksample(m1, p1, n1, latent, steps=2)
    assert c1 == [1, 1, 1, 1] and c2 == [1, 1]
    assert rel_err(both, one) > 1e-4


def test_other_packs_patches_and_wrappers_survive() -> None:
    import comfy.patcher_extension as pe

    base = base_model("sd15").clone()
    seen = {"wrapper": 0, "patch": 0}

    def other_wrapper(executor, *args, **kwargs):
        seen["wrapper"] += 1
        return executor(*args, **kwargs)

    def other_patch(h, transformer_options):
        seen["patch"] += 1
        return h

    base.add_wrapper_with_key(pe.WrappersMP.DIFFUSION_MODEL, "other_pack", other_wrapper)
    base.set_model_input_block_patch(other_patch)
    image, mask = image_and_mask()
    model, pos, neg, latent = apply_node(base, random_vae(), image, mask, brushnet_patcher("sd15"), *text_conds("sd15"))
    ksample(model, pos, neg, latent, steps=1)
    assert seen["wrapper"] >= 1 and seen["patch"] >= 12
    assert len(model.model_options["transformer_options"]["patches"]["input_block_patch"]) == 2


def test_area_conditioning_gets_the_cropped_brushnet_input() -> None:
    import nodes

    base = base_model("sd15")
    bn = brushnet_patcher("sd15")
    image, mask = image_and_mask()
    positive, negative = text_conds("sd15")
    model, pos, neg, latent = apply_node(base, random_vae(), image, mask, bn, positive, negative)
    area_pos = nodes.ConditioningSetArea().append(pos, 48, 40, 16, 8, 1.0)[0]  # w, h, x, y in pixels
    runner = next(iter(model.wrappers["outer_sample"].values()))[0].__self__.runner
    full = runner.conditioning.clone()
    seen = []
    original = runner.prepare

    def spy(x, timesteps, y, cond, *a, **k):
        seen.append((tuple(x.shape[-2:]), cond))
        return original(x, timesteps, y, cond, *a, **k)

    runner.prepare = spy
    ksample(model, area_pos + pos, neg, latent, steps=1)
    cropped = [c for shape, c in seen if shape == (5, 6)]
    assert cropped, f"no area-sized call among {[s for s, _ in seen]}"
    assert torch.equal(cropped[0][:1], full[:, :, 1:6, 2:8])
