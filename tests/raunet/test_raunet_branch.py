"""RAUNet with BrushNet or PowerPaint on the same model, through ComfyUI's real sampling path.

The earlier ComfyUI-BrushNet pack allowed the combination: where RAU-Net had changed a block's
size, its patched layer forward resized the BrushNet feature to h (bicubic) before adding it,
inside the block (so before XA's pooling / restoring). The reference (raunet/_raunet_ref.py)
does the same by hand; each sampling step's prediction must equal it in fp32, in either node
order, and steps outside RAU-Net's windows must equal plain BrushNet bit for bit.
"""
from __future__ import annotations

import pytest
import torch

import _harness
from _reference import reference_brushnet
from injection._setup import (apply_node, base_model, brushnet_patcher, conditioning_reference, image_and_mask,
                              ksample, random_vae, rel_err, sdxl_y, text_conds)
from raunet._raunet_ref import reference_unet

STEPS = 4
DU, XA = (0, 2), (1, 3)  # step 0: DU only, 1: DU + XA, 2: XA only, 3: neither
IMAGE = (176, 240)  # latent 22x30: odd sizes after the first downsamplers (11x15 -> 6x8)
CFG = 5.0


def _flags(step: int) -> tuple[bool, bool]:
    return DU[0] <= step < DU[1], XA[0] <= step < XA[1]


def raunet(model, du=DU, xa=XA):
    node = _harness.pack_module("nodes.raunet").RAUNet
    return node.execute(model=model, du_start=du[0], du_end=du[1], xa_start=xa[0], xa_end=xa[1]).args[0]


def _schedule(kind: str) -> torch.Tensor:
    import comfy.samplers

    return comfy.samplers.calculate_sigmas(base_model(kind).model.model_sampling, "normal", STEPS).float()


def every_step(model, positive, negative, latent, kind: str, seed: int = 0) -> tuple[torch.Tensor, list]:
    """The CFG prediction at each step of the schedule, all on the same x (one sampling run).

    The sampler sees the whole schedule, so RAU-Net and BrushNet tell the step from each call's sigma.
    """
    import comfy.sample
    import comfy.samplers

    out: dict = {}

    def sampler_fn(model_wrap, x, sigmas, extra_args=None, callback=None, disable=None):
        out["x"] = x.clone()
        out["den"] = [model_wrap(x, s * x.new_ones([x.shape[0]]), **(extra_args or {})).clone() for s in sigmas[:-1]]
        return x

    noise = torch.randn(latent.shape, generator=torch.Generator().manual_seed(seed))
    comfy.sample.sample_custom(model, noise, CFG, comfy.samplers.KSAMPLER(sampler_fn), _schedule(kind), positive,
                               negative, latent, disable_pbar=True, seed=seed)
    return out["x"], out["den"]


def reference_denoised(kind, x, sigma, step, conds, branch) -> torch.Tensor:
    """CFG prediction of the base UNet with RAU-Net's parts of ``step`` and the branch's resized features.

    ``conds`` is ((unet context, sdxl options), ...) for (cond, uncond); ``branch(xc, t, side, y)`` gives
    the native-size features of that side.
    """
    base = base_model(kind)
    ms, unet = base.model.model_sampling, base.model.diffusion_model
    s = torch.full((x.shape[0],), sigma)
    xc, t = ms.calculate_input(s, x), ms.timestep(s).float()
    preds = []
    for side, (ctx, opts) in enumerate(conds):
        y = sdxl_y(opts) if kind == "sdxl" else None
        with torch.no_grad():
            eps = reference_unet(unet, kind, xc, t, ctx, y, *_flags(step), feats=branch(xc, t, side, y))
        preds.append(ms.calculate_denoised(s, eps, x))
    return preds[1] + (preds[0] - preds[1]) * CFG


def _brushnet_setup(kind: str, order: str):
    bn = brushnet_patcher(kind)
    image, mask = image_and_mask(h=IMAGE[0], w=IMAGE[1])
    positive, negative = text_conds(kind)
    vae = random_vae()
    if order == "raunet_first":
        model, pos, neg, latent = apply_node(raunet(base_model(kind)), vae, image, mask, bn, positive, negative)
    else:
        model, pos, neg, latent = apply_node(base_model(kind), vae, image, mask, bn, positive, negative)
        model = raunet(model)
    plain = apply_node(base_model(kind), vae, image, mask, bn, positive, negative)
    cond = conditioning_reference(vae, image, mask, kind)
    sd = bn.model.state_dict()
    branch = lambda xc, t, side, y: reference_brushnet(sd, xc, t, cond, added=y)  # noqa: E731
    return (model, pos, neg, latent["samples"]), plain, (positive[0], negative[0]), branch


@pytest.mark.parametrize("order", ["raunet_first", "brushnet_first"])
@pytest.mark.parametrize("kind", ["sd15", "sdxl"])
def test_each_step_equals_reference_and_off_steps_equal_plain_brushnet(kind: str, order: str) -> None:
    (model, pos, neg, latent), plain, conds, branch = _brushnet_setup(kind, order)
    x, got = every_step(model, pos, neg, latent, kind)
    _, plain_den = every_step(plain[0], plain[1], plain[2], plain[3]["samples"], kind)
    sigmas = _schedule(kind)
    for step in range(STEPS):
        want = reference_denoised(kind, x, float(sigmas[step]), step, conds, branch)
        assert rel_err(got[step], want) <= 1e-5, step
        if any(_flags(step)):
            assert rel_err(got[step], plain_den[step]) > 1e-4, step  # RAU-Net really acts on this step
        else:
            assert torch.equal(got[step], plain_den[step]), step  # outside both windows: plain BrushNet


@pytest.mark.parametrize("kind", ["sd15", "sdxl"])
def test_ksampler_equals_reference_euler_loop(kind: str) -> None:
    """ComfyUI's KSampler (euler, CFG) on RAUNet + BrushNet vs a hand loop over the reference."""
    import comfy.sample

    (model, pos, neg, latent), _, conds, branch = _brushnet_setup(kind, "brushnet_first")
    got = ksample(model, pos, neg, {"samples": latent}, steps=STEPS, cfg=CFG)
    sigmas = _schedule(kind)
    x = comfy.sample.prepare_noise(latent, 11) * torch.sqrt(1.0 + sigmas[0] ** 2)
    for i in range(STEPS):
        den = reference_denoised(kind, x, float(sigmas[i]), i, conds, branch)
        x = x + (x - den) / sigmas[i] * (sigmas[i + 1] - sigmas[i])
    assert rel_err(got, base_model(kind).model.process_latent_out(x)) <= 1e-5


@pytest.mark.parametrize("order", ["raunet_first", "powerpaint_first"])
def test_powerpaint_each_step_equals_reference(models_dir, order: str) -> None:
    from powerpaint._pp import encode_with_vectors, powerpaint_patcher, reference_powerpaint, tiny_clip_files
    from powerpaint._pp import tiny_powerpaint_clip

    clip, pp = tiny_powerpaint_clip(models_dir), powerpaint_patcher()
    _, _, vectors = tiny_clip_files(str(models_dir))
    positive, negative = text_conds("sd15")
    image, mask = image_and_mask(h=IMAGE[0], w=IMAGE[1])
    node = _harness.pack_module("nodes.powerpaint").PowerPaint

    def attach(model):
        return node.execute(model=model, vae=random_vae(), image=image, mask=mask, powerpaint=pp, clip=clip,
                            positive=positive, negative=negative, fitting=1.0, function="object removal", scale=1.0,
                            start_at=0, end_at=10000).args

    if order == "raunet_first":
        model, pos, neg, latent = attach(raunet(base_model("sd15")))
    else:
        model, pos, neg, latent = attach(base_model("sd15"))
        model = raunet(model)
    x, got = every_step(model, pos, neg, latent["samples"], "sd15")
    plain = attach(base_model("sd15"))
    _, plain_den = every_step(plain[0], plain[1], plain[2], plain[3]["samples"], "sd15")
    contexts = [encode_with_vectors(clip, vectors[w]) for w in ("P_ctxt", "P_obj")]  # object removal, fitting 1
    cond = conditioning_reference(random_vae(), image, mask, "sd15")
    sd = pp.model.state_dict()

    def branch(xc, t, side, y):
        return reference_powerpaint(sd, xc, t, cond, contexts[side].expand(xc.shape[0], -1, -1))

    sigmas = _schedule("sd15")
    for step in range(STEPS):
        want = reference_denoised("sd15", x, float(sigmas[step]), step, (positive[0], negative[0]), branch)
        assert rel_err(got[step], want) <= 1e-5, step
        if not any(_flags(step)):
            assert torch.equal(got[step], plain_den[step]), step


def test_brushnet_with_another_size_changing_patch_is_a_clear_error() -> None:
    """Sizes changed by anything but RAU-Net (here Kohya Deep Shrink) are never guessed at."""
    _, (model, pos, neg, latent), _, _ = _brushnet_setup("sd15", "brushnet_first")
    shrunk = _harness.host_node("PatchModelAddDownscale", model=model, block_number=3, downscale_factor=2.0,
                                start_percent=0.0, end_percent=1.0, downscale_after_skip=False,
                                downscale_method="bicubic", upscale_method="bicubic")[0]
    with pytest.raises(ValueError, match=r"at input block 4 the UNet's features are 6x8 but the branch's are 11x15\. "
                                         r"Another patch on this model changes the UNet's feature sizes"):
        ksample(shrunk, pos, neg, latent, steps=2)


def test_two_raunet_nodes_with_brushnet_are_a_clear_error() -> None:
    (model, pos, neg, latent), _, _, _ = _brushnet_setup("sd15", "brushnet_first")
    with pytest.raises(ValueError, match="a second RAUNet"):
        ksample(raunet(model), pos, neg, {"samples": latent}, steps=2)


def test_features_are_resized_only_where_raunet_changed_the_size() -> None:
    """SizeFit keeps exactly the points whose size RAU-Net changed; every other mismatch is refused."""
    from brushnet_core.branch.injection import FeatureSlot, FeatureSizeError, SizeFit, make_plan, unet_feature_channels
    from brushnet_core.raunet import add_point_sizes, plan_for

    unet = base_model("sd15").model.diffusion_model
    down, up = unet_feature_channels(unet.model_channels, list(unet.channel_mult), list(unet.num_res_blocks))
    plan, rplan = make_plan(unet, down, up), plan_for(unet)
    fit = SizeFit(plan, add_point_sizes(rplan, (22, 30), False, False), add_point_sizes(rplan, (22, 30), False, True))
    # XA only: input blocks 5..11, the middle and output blocks 0..7 (up features 0..9) run pooled; block 4
    # adds before pooling, output block 8 runs restored
    assert sorted(fit.changes) == sorted([("down", i) for i in range(5, 12)] + [("mid", 0)]
                                         + [("up", k) for k in range(10)])
    assert fit.changes[("down", 5)] == ((11, 15), (6, 8)) and fit.changes[("up", 9)] == ((11, 15), (6, 8))
    slot = FeatureSlot()
    slot.fit = fit
    h, f = torch.zeros(1, 2, 6, 8), torch.randn(1, 2, 11, 15)
    want = torch.nn.functional.interpolate(f, size=(6, 8), mode="bicubic")
    assert torch.equal(slot.add(h, f, ("down", 5)), want)
    with pytest.raises(FeatureSizeError, match="at input block 4"):
        slot.add(h, f, ("down", 4))
    with pytest.raises(FeatureSizeError, match="up feature 3"):
        slot.add(torch.zeros(1, 2, 5, 8), f, ("up", 3))
