"""RAUNet (earlier pack's node): ComfyUI's model call and KSampler equal an independent RAU-Net reference.

Tiny SD1.5- and SDXL-shaped models built from ComfyUI's own classes; odd latent sizes so the
stride-4 / ceil-mode shape rules are exercised; ControlNet residuals resized like the earlier pack.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import _harness
import _models
from injection._setup import base_model, ksample, rel_err, sdxl_y, text_conds
from raunet._raunet_ref import reference_unet

LATENT = (1, 4, 22, 30)  # odd sizes after the first downsamplers: 11x15 -> 6x8 (ceil)


def raunet(model, du=(0, 2), xa=(1, 3)):
    node = _harness.pack_module("nodes.raunet").RAUNet
    return node.execute(model=model, du_start=du[0], du_end=du[1], xa_start=xa[0], xa_end=xa[1]).args[0]


def _options(patched, sigma: torch.Tensor, schedule: torch.Tensor) -> dict:
    import comfy.patcher_extension as pe

    to = dict(patched.model_options.get("transformer_options", {}))
    to["wrappers"] = pe.copy_nested_dicts(patched.wrappers)
    to["sigmas"], to["sample_sigmas"] = sigma, schedule
    return to


def _call(patched, kind, x, step, schedule, control=None, seed=3):
    """One diffusion-model call of ``patched`` at sampling step ``step`` (as the sampler makes it)."""
    ms = patched.model.model_sampling
    sigma = schedule[step].reshape(1).expand(x.shape[0])
    ctx, opts = text_conds(kind, seed=seed)[0][0]
    y = sdxl_y(opts) if kind == "sdxl" else None
    xc, t = ms.calculate_input(sigma, x), ms.timestep(sigma).float()
    with torch.no_grad():
        got = patched.model.diffusion_model(xc, t, context=ctx, y=y, control=_copy(control),
                                            transformer_options=_options(patched, sigma, schedule))
        want = reference_unet(patched.model.diffusion_model, kind, xc, t, ctx, y, *_flags(step), control=_copy(control))
    return got, want


def _flags(step, du=(0, 2), xa=(1, 3)):
    return du[0] <= step < du[1], xa[0] <= step < xa[1]


def _copy(control):
    return None if control is None else {k: list(v) for k, v in control.items()}


def _schedule(model, steps=4):
    import comfy.samplers

    return comfy.samplers.calculate_sigmas(model.model.model_sampling, "normal", steps).float()


@pytest.mark.parametrize("kind", ["sd15", "sdxl"])
@pytest.mark.parametrize("step", [0, 1, 2, 3])  # DU only, DU+XA, XA only, neither
def test_model_call_equals_reference(kind: str, step: int) -> None:
    patched = raunet(base_model(kind))
    schedule = _schedule(patched)
    x = torch.randn(LATENT, generator=torch.Generator().manual_seed(step))
    got, want = _call(patched, kind, x, step, schedule)
    assert got.shape == want.shape == x.shape
    assert rel_err(got, want) <= 1e-5


def test_parts_really_change_the_output_and_off_steps_are_plain() -> None:
    base = base_model("sd15")
    patched = raunet(base)
    schedule = _schedule(patched)
    x = torch.randn(LATENT, generator=torch.Generator().manual_seed(9))
    plain = [_call(base, "sd15", x, s, schedule)[0] for s in range(4)]
    outs = [_call(patched, "sd15", x, s, schedule)[0] for s in range(4)]
    assert all(rel_err(outs[s], plain[s]) > 1e-3 for s in (0, 1, 2))
    assert torch.equal(outs[3], plain[3])  # step 3: both parts off, bit-identical


def test_res_down_is_the_dilated_stride_4_convolution() -> None:
    from brushnet_core.raunet import res_down

    conv = torch.nn.Conv2d(5, 7, 3, stride=2, padding=1)
    for h, w in [(8, 8), (9, 11), (13, 6), (3, 5), (1, 2)]:
        x = torch.randn(2, 5, h, w)
        want = F.conv2d(x, conv.weight, conv.bias, stride=4, padding=2, dilation=2)
        with torch.no_grad():
            assert torch.allclose(res_down(conv, x), want, atol=1e-6), (h, w)


@pytest.mark.parametrize("kind", ["sd15", "sdxl"])
def test_ksampler_equals_reference_euler_loop(kind: str) -> None:
    """4 steps with CFG: DU on steps 0-1, XA on 1-2, nothing on 3; ComfyUI's sampler vs a hand loop."""
    import comfy.sample

    base = base_model(kind)
    patched = raunet(base)
    positive, negative = text_conds(kind)
    latent = {"samples": torch.zeros(LATENT)}
    got = ksample(patched, positive, negative, latent, steps=4, cfg=5.0)
    ms = base.model.model_sampling
    sigmas = _schedule(base)
    x = comfy.sample.prepare_noise(latent["samples"], 11) * torch.sqrt(1.0 + sigmas[0] ** 2)
    unet = base.model.diffusion_model
    for i in range(4):
        s = torch.full((x.shape[0],), float(sigmas[i]))
        xc, t = ms.calculate_input(s, x), ms.timestep(s).float()
        preds = []
        for ctx, opts in (positive[0], negative[0]):
            y = sdxl_y(opts) if kind == "sdxl" else None
            with torch.no_grad():
                eps = reference_unet(unet, kind, xc, t, ctx, y, *_flags(i))
            preds.append(ms.calculate_denoised(s, eps, x))
        den = preds[1] + (preds[0] - preds[1]) * 5.0
        x = x + (x - den) / sigmas[i] * (sigmas[i + 1] - sigmas[i])
    assert rel_err(got, base.model.process_latent_out(x)) <= 1e-5


def test_controlnet_residuals_are_resized_to_the_raunet_sizes() -> None:
    """A ControlNet's residuals come at the native sizes; they are fitted (bicubic) as the earlier pack did."""
    base = base_model("sd15")
    patched = raunet(base)
    schedule = _schedule(patched)
    x = torch.randn(LATENT, generator=torch.Generator().manual_seed(4))
    unet = base.model.diffusion_model
    mc, mult, nrb = unet.model_channels, list(unet.channel_mult), list(unet.num_res_blocks)
    h, w = x.shape[-2:]
    sizes = [(mc, h, w)]  # native skip shapes, one per input block
    for level, m in enumerate(mult):
        sizes += [(mc * m, h, w)] * nrb[level]
        if level < len(mult) - 1:
            h, w = -(-h // 2), -(-w // 2)
            sizes.append((mc * m, h, w))
    g = torch.Generator().manual_seed(5)
    control = {"output": [torch.randn(1, *s, generator=g) * 0.1 for s in sizes],
               "middle": [torch.randn(1, *sizes[-1], generator=g) * 0.1]}
    for step in (0, 1, 2):
        got, want = _call(patched, "sd15", x, step, schedule, control=control)
        assert rel_err(got, want) <= 1e-5, step


def test_unchanged_input_model_and_empty_ranges() -> None:
    base = base_model("sd15")
    before = dict(base.model_options.get("transformer_options", {}))
    raunet(base)
    assert base.model_options.get("transformer_options", {}) == before
    assert raunet(base, du=(3, 3), xa=(5, 2)) is base


def test_flux_is_refused_with_a_clear_message() -> None:
    import comfy.model_management as mm
    import comfy.model_patcher
    import comfy.supported_models as sm

    cfg = sm.Flux({"image_model": "flux", "in_channels": 16, "out_channels": 16, "vec_in_dim": 16,
                   "context_in_dim": 32, "hidden_size": 64, "mlp_ratio": 4.0, "num_heads": 2, "depth": 1,
                   "depth_single_blocks": 1, "axes_dim": [8, 12, 12], "theta": 10000, "qkv_bias": True,
                   "guidance_embed": True, "patch_size": 2})
    cfg.set_inference_dtype(torch.float32, None)
    flux = comfy.model_patcher.ModelPatcher(cfg.get_model({}), load_device=mm.get_torch_device(),
                                            offload_device=mm.unet_offload_device())
    with pytest.raises(ValueError, match=r"RAUNet supports SD1.5/SD2 and SDXL models; this model is Flux\. Remove"):
        raunet(flux)


def test_other_unet_layout_is_refused() -> None:
    odd = _models.tiny_base_model("sd15", num_res_blocks=[1, 1, 1, 1], transformer_depth=[1, 1, 1, 0],
                                  transformer_depth_output=[1, 1, 1, 1, 1, 1, 0, 0])
    with pytest.raises(ValueError, match=r"4 levels with res blocks \[1, 1, 1, 1\]"):
        raunet(odd)


def test_earlier_pack_interface_and_tooltips() -> None:
    """Same id, input order (widget order), defaults and output as the earlier pack's RAUNet node."""
    info = _harness.pack_module("nodes.raunet").RAUNet.GET_NODE_INFO_V1()
    assert info["input_order"]["required"] == ["model", "du_start", "du_end", "xa_start", "xa_end"]
    req = info["input"]["required"]
    assert [req[k][1]["default"] for k in ("du_start", "du_end", "xa_start", "xa_end")] == [0, 4, 4, 10]
    assert all(req[k][1]["min"] == 0 and req[k][1]["max"] == 10000 for k in ("du_start", "du_end", "xa_start", "xa_end"))
    assert info["output"] == ["MODEL"] and info["output_name"] == ["model"]
    assert all(spec[1].get("tooltip") for spec in req.values()) and all(info["output_tooltips"])
    assert "RAUNet" in [c.GET_SCHEMA().node_id for c in _harness.pack_module("nodes").all_nodes()]
