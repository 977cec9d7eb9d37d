"""BrushNet architecture description: the released configs and the kinds we recognise."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

SD15 = "sd15"
SDXL = "sdxl"


@dataclass(frozen=True)
class BrushNetConfig:
    """Shape-defining hyper-parameters of a BrushNet branch (diffusers ``BrushNetModel`` names)."""

    in_channels: int = 4
    conditioning_channels: int = 5
    block_out_channels: tuple[int, ...] = (320, 640, 1280, 1280)
    layers_per_block: int = 2
    mid_block_layers: int = 2
    norm_num_groups: int = 32
    norm_eps: float = 1e-5
    flip_sin_to_cos: bool = True
    freq_shift: int = 0
    addition_time_embed_dim: int | None = None
    projection_class_embeddings_input_dim: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def time_embed_dim(self) -> int:
        return self.block_out_channels[0] * 4

    @property
    def kind(self) -> str:
        """``sdxl`` when the branch reads pooled text + size ids, else ``sd15``."""
        return SDXL if self.addition_time_embed_dim else SD15

    @property
    def num_levels(self) -> int:
        return len(self.block_out_channels)

    def down_feature_channels(self) -> list[int]:
        """Channels of the features added on the UNet's down path, in injection order."""
        chans = [self.block_out_channels[0]]
        for level, ch in enumerate(self.block_out_channels):
            chans += [ch] * self.layers_per_block
            if level < self.num_levels - 1:
                chans.append(ch)
        return chans

    def up_feature_channels(self) -> list[int]:
        """Channels of the features added on the UNet's up path, in injection order."""
        chans: list[int] = []
        for level, ch in enumerate(reversed(self.block_out_channels)):
            chans += [ch] * (self.layers_per_block + 1)
            if level < self.num_levels - 1:
                chans.append(ch)
        return chans

    def scaled(self, **changes: Any) -> "BrushNetConfig":
        return replace(self, **changes)


SD15_CONFIG = BrushNetConfig()
SDXL_CONFIG = BrushNetConfig(
    block_out_channels=(320, 640, 1280),
    addition_time_embed_dim=256,
    projection_class_embeddings_input_dim=2816,
)


def shape_fields_from_diffusers(cfg: dict[str, Any]) -> dict[str, Any]:
    """The BrushNet shape fields of a diffusers ``config.json`` (shared by BrushNet and PowerPaint)."""
    return {
        "in_channels": int(cfg.get("in_channels", 4)),
        "conditioning_channels": int(cfg.get("conditioning_channels", 5)),
        "block_out_channels": tuple(int(c) for c in cfg.get("block_out_channels", (320, 640, 1280, 1280))),
        "layers_per_block": int(cfg.get("layers_per_block", 2)),
        "norm_num_groups": int(cfg.get("norm_num_groups", 32)),
        "norm_eps": float(cfg.get("norm_eps", 1e-5)),
        "flip_sin_to_cos": bool(cfg.get("flip_sin_to_cos", True)),
        "freq_shift": int(cfg.get("freq_shift", 0)),
    }


def config_from_diffusers(cfg: dict[str, Any]) -> BrushNetConfig:
    """Read a released ``config.json`` (diffusers ``BrushNetModel``) into a :class:`BrushNetConfig`."""
    down_types = cfg.get("down_block_types") or []
    if any("CrossAttn" in str(t) for t in down_types):
        from .checkpoint import BrushNetCheckpointError  # checkpoint imports this module

        raise BrushNetCheckpointError(
            "this config.json describes a BrushNet with cross-attention (PowerPaint v2); "
            "load it with the PowerPaint nodes, not as a plain BrushNet"
        )
    text_time = cfg.get("addition_embed_type") == "text_time"
    return BrushNetConfig(
        **shape_fields_from_diffusers(cfg),
        addition_time_embed_dim=int(cfg["addition_time_embed_dim"]) if text_time else None,
        projection_class_embeddings_input_dim=int(cfg["projection_class_embeddings_input_dim"]) if text_time else None,
    )


def config_to_diffusers(config: BrushNetConfig) -> dict[str, Any]:
    """The ``config.json`` a diffusers-format BrushNet folder carries for ``config``."""
    n = config.num_levels
    sdxl = config.kind == SDXL
    return {
        "_class_name": "BrushNetModel",
        "act_fn": "silu",
        "addition_embed_type": "text_time" if sdxl else None,
        "addition_time_embed_dim": config.addition_time_embed_dim,
        "block_out_channels": list(config.block_out_channels),
        "conditioning_channels": config.conditioning_channels,
        "cross_attention_dim": 2048 if sdxl else 768,
        "down_block_types": ["DownBlock2D"] * n,
        "flip_sin_to_cos": config.flip_sin_to_cos,
        "freq_shift": config.freq_shift,
        "in_channels": config.in_channels,
        "layers_per_block": config.layers_per_block,
        "mid_block_type": "MidBlock2D",
        "norm_eps": config.norm_eps,
        "norm_num_groups": config.norm_num_groups,
        "projection_class_embeddings_input_dim": config.projection_class_embeddings_input_dim,
        "up_block_types": ["UpBlock2D"] * n,
    }
