"""PowerPaint BrushNet: released layout (full size, meta device), detection, and fp32 equality with the reference."""
from __future__ import annotations

import json

import pytest
import torch

from brushnet_core.branch.checkpoint import POWERPAINT, BrushNetCheckpointError, detect_config
from brushnet_core.powerpaint.model import (PowerPaintModel, build_powerpaint, config_from_released,
                                            powerpaint_config)
from powerpaint._pp import reference_powerpaint, tiny_powerpaint, tiny_powerpaint_config


def _released():
    from _harness import CONFIGS_DIR

    return config_from_released(json.loads((CONFIGS_DIR / "powerpaint_brushnet_config.json").read_text()))


def _meta(config):
    with torch.device("meta"):
        return PowerPaintModel(config)


def _comfy_sd15_unet_counts() -> tuple[int, int]:
    """Tensors and parameters of ComfyUI's own full-size SD1.5 UNet (meta device)."""
    from comfy.ldm.modules.diffusionmodules.openaimodel import UNetModel
    import comfy.ops

    from _models import SD15_UNET

    # ComfyUI pops transformer_depth_output from the END: SD1.5's output blocks 0-2 have no attention
    cfg = dict(SD15_UNET, model_channels=320, context_dim=768, num_heads=8, num_head_channels=-1,
               transformer_depth_output=[1] * 9 + [0] * 3)
    with torch.device("meta"):
        unet = UNetModel(**cfg, operations=comfy.ops.disable_weight_init)
    return len(unet.state_dict()), sum(p.numel() for p in unet.parameters())


def test_full_size_build_has_the_released_tensor_and_parameter_count() -> None:
    model = _meta(_released())
    sd = model.state_dict()
    assert all(t.device.type == "meta" for t in sd.values())
    # = the SD1.5 UNet without conv_in / conv_norm_out / conv_out, plus conv_in_condition (9->320) and
    # 28 zero 1x1 convs (12 down, 1 mid, 15 up), derived from ComfyUI's own SD1.5 UNet below.
    unet_tensors, unet_params = _comfy_sd15_unet_counts()
    zero = [320] * 4 + [640] * 3 + [1280] * 5 + [1280] + [1280] * 8 + [640] * 4 + [320] * 3
    expected_params = (unet_params - (320 * 4 * 9 + 320) - 2 * 320 - (4 * 320 * 9 + 4)
                       + (320 * 9 * 9 + 320) + sum(c * c + c for c in zero))
    assert (len(sd), unet_tensors - 6 + 2 + 2 * len(zero)) == (738, 738)
    assert sum(p.numel() for p in model.parameters()) == expected_params == 886_069_440


def test_full_size_key_names_and_shapes_match_diffusers() -> None:
    sd = _meta(_released()).state_dict()
    blk = "down_blocks.0.attentions.1.transformer_blocks.0"
    assert sd["down_blocks.0.attentions.1.proj_in.weight"].shape == (320, 320, 1, 1)
    assert sd[f"{blk}.attn2.to_k.weight"].shape == (320, 768)
    assert f"{blk}.attn2.to_k.bias" not in sd and f"{blk}.attn1.to_out.0.bias" in sd
    assert sd[f"{blk}.ff.net.0.proj.weight"].shape == (2560, 320)
    assert sd[f"{blk}.ff.net.2.weight"].shape == (320, 1280)
    assert sd["mid_block.attentions.0.transformer_blocks.0.attn2.to_v.weight"].shape == (1280, 768)
    assert sd["up_blocks.3.attentions.2.proj_out.weight"].shape == (320, 320, 1, 1)
    assert not any(k.startswith(("down_blocks.3.attentions", "up_blocks.0.attentions")) for k in sd)
    assert {len({k.split('.')[3] for k in sd if k.startswith(f'up_blocks.{i}.attentions.')}) for i in (1, 2, 3)} == {3}


def test_checkpoint_detection_and_config_round_trip() -> None:
    sd = _meta(_released()).state_dict()
    assert detect_config(sd)[0] == POWERPAINT
    assert powerpaint_config(sd) == _released()


def test_plain_config_json_is_not_powerpaint() -> None:
    from _harness import CONFIGS_DIR

    with pytest.raises(ValueError, match="plain BrushNet"):
        config_from_released(json.loads((CONFIGS_DIR / "sd15_brushnet_config.json").read_text()))


def test_build_refuses_a_state_dict_with_a_missing_attention_tensor() -> None:
    sd = dict(tiny_powerpaint().state_dict())
    del sd["up_blocks.2.attentions.1.transformer_blocks.0.attn2.to_v.weight"]
    with pytest.raises(BrushNetCheckpointError, match="PowerPaint BrushNet: .*1 missing"):
        build_powerpaint(tiny_powerpaint_config(), sd)


def _inputs(batch: int = 2, seed: int = 3):
    g = torch.Generator().manual_seed(seed)
    sample = torch.randn(batch, 4, 16, 24, generator=g)
    cond = torch.cat([torch.randn(batch, 4, 16, 24, generator=g), (torch.rand(batch, 1, 16, 24, generator=g) > 0.5).float()], 1)
    context = torch.randn(batch, 77, 64, generator=g)
    return sample, torch.tensor([999.0, 321.5][:batch]), cond, context


@pytest.mark.parametrize("scale", [1.0, 0.6])
def test_forward_equals_independent_reference_fp32(scale: float) -> None:
    model = tiny_powerpaint()
    sample, t, cond, context = _inputs()
    feats = model(sample, t, cond, scale=scale, context=context)
    down, mid, up = reference_powerpaint(model.state_dict(), sample, t, cond, context, scale=scale)
    assert (len(feats.down), len(feats.up)) == (12, 15)
    for got, want in zip([*feats.down, feats.mid, *feats.up], [*down, mid, *up]):
        assert float((got - want).abs().max() / want.abs().max()) <= 1e-5


def test_features_depend_on_the_task_context() -> None:
    model = tiny_powerpaint()
    sample, t, cond, context = _inputs()
    a = model(sample, t, cond, context=context)
    b = model(sample, t, cond, context=context.flip(0))
    assert not torch.allclose(a.up[-1], b.up[-1], atol=1e-3)


@pytest.mark.parametrize("mode", ["auto", "max"])
def test_attention_slicing_gives_the_same_features(mode: str) -> None:
    model = tiny_powerpaint()
    sample, t, cond, context = _inputs()
    plain = model(sample, t, cond, context=context)
    with model.attention_slicing(mode):
        sliced = model(sample, t, cond, context=context)
    errs = [float((s - p).abs().max() / p.abs().max()) for p, s in zip(plain.down + plain.up, sliced.down + sliced.up)]
    assert max(errs) <= 1e-5, errs
    assert all(m.slice_size == 0 for m in model.modules() if hasattr(m, "slice_size"))


def test_missing_or_wrong_width_context_is_a_clear_error() -> None:
    model = tiny_powerpaint()
    sample, t, cond, context = _inputs()
    with pytest.raises(ValueError, match="task-prompt context"):
        model(sample, t, cond)
    with pytest.raises(ValueError, match="768 wide|is 768"):
        model(sample, t, cond, context=torch.randn(2, 77, 768))
