"""The full-size BrushNet builds have exactly the released state-dict layouts (meta device, no memory)."""
from __future__ import annotations

import json

import pytest
import torch

from brushnet_core.branch.checkpoint import detect_config
from brushnet_core.branch.config import SD15_CONFIG, SDXL_CONFIG, config_from_diffusers
from brushnet_core.branch.model import BrushNetModel


def _meta(config):
    with torch.device("meta"):
        return BrushNetModel(config)


@pytest.mark.parametrize("config, tensors, params_m", [(SD15_CONFIG, 322, 618.8), (SDXL_CONFIG, 252, 373.3)])
def test_full_size_layout(config, tensors: int, params_m: float) -> None:
    model = _meta(config)
    sd = model.state_dict()
    assert len(sd) == tensors
    assert all(t.device.type == "meta" for t in sd.values())
    assert abs(sum(p.numel() for p in model.parameters()) / 1e6 - params_m) < 0.1


def test_sd15_zero_conv_counts_and_channels() -> None:
    sd = _meta(SD15_CONFIG).state_dict()
    down = [sd[f"brushnet_down_blocks.{i}.weight"].shape[0] for i in range(12)]
    up = [sd[f"brushnet_up_blocks.{i}.weight"].shape[0] for i in range(15)]
    assert down == [320] * 4 + [640] * 3 + [1280] * 5
    assert up == [1280] * 8 + [640] * 4 + [320] * 3
    assert sd["conv_in_condition.weight"].shape == (320, 9, 3, 3)
    assert not any("attentions" in k or k.startswith("conv_in.") for k in sd)


def test_sdxl_zero_convs_and_add_embedding() -> None:
    sd = _meta(SDXL_CONFIG).state_dict()
    assert sum(k.startswith("brushnet_down_blocks.") and k.endswith(".weight") for k in sd) == 9
    assert sum(k.startswith("brushnet_up_blocks.") and k.endswith(".weight") for k in sd) == 11
    assert sd["add_embedding.linear_1.weight"].shape == (1280, 2816)


@pytest.mark.parametrize("name, kind", [("sd15_brushnet_config.json", "sd15"), ("sdxl_brushnet_config.json", "sdxl")])
def test_released_configs_build_the_same_layout(name: str, kind: str) -> None:
    from _harness import CONFIGS_DIR

    cfg = json.loads((CONFIGS_DIR / name).read_text())
    config = config_from_diffusers(cfg)
    assert config.kind == kind
    assert config == (SD15_CONFIG if kind == "sd15" else SDXL_CONFIG)
    detected_kind, detected = detect_config(_meta(config).state_dict())
    assert detected_kind == kind and detected.block_out_channels == config.block_out_channels


def test_powerpaint_config_is_refused_as_plain_brushnet() -> None:
    from _harness import CONFIGS_DIR

    cfg = json.loads((CONFIGS_DIR / "powerpaint_brushnet_config.json").read_text())
    with pytest.raises(ValueError, match="PowerPaint"):
        config_from_diffusers(cfg)
