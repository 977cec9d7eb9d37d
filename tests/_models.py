"""Tiny base models built from ComfyUI's real model classes, and tiny BrushNets matched to them."""
from __future__ import annotations

import torch

from demo.random_weights import randomize_
from brushnet_core.branch.config import BrushNetConfig

TINY_CH = 32
# transformer_depth_output is consumed from the END by ComfyUI (list.pop): SD1.5 has no attention in
# output blocks 0-2, so the list ends with the zeros. SDXL: attention in output blocks 0-5.
SD15_UNET = {
    "use_checkpoint": False, "image_size": 32, "out_channels": 4, "use_spatial_transformer": True,
    "legacy": False, "adm_in_channels": None, "in_channels": 4, "model_channels": TINY_CH,
    "num_res_blocks": [2, 2, 2, 2], "transformer_depth": [1, 1, 1, 1, 1, 1, 0, 0],
    "channel_mult": [1, 2, 4, 4], "transformer_depth_middle": 1, "use_linear_in_transformer": False,
    "context_dim": 64, "transformer_depth_output": [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
    "use_temporal_resblock": False, "use_temporal_attention": False,
}
SDXL_UNET = {
    "use_checkpoint": False, "image_size": 32, "out_channels": 4, "use_spatial_transformer": True,
    "legacy": False, "num_classes": "sequential", "adm_in_channels": 2816, "in_channels": 4,
    "model_channels": TINY_CH, "num_res_blocks": [2, 2, 2], "transformer_depth": [0, 0, 1, 1, 1, 1],
    "channel_mult": [1, 2, 4], "transformer_depth_middle": 1, "use_linear_in_transformer": True,
    "context_dim": 64, "transformer_depth_output": [0, 0, 0, 1, 1, 1, 1, 1, 1],
    "use_temporal_resblock": False, "use_temporal_attention": False,
}
TINY_BRUSHNET = {
    "sd15": BrushNetConfig(block_out_channels=(32, 64, 128, 128)),
    "sdxl": BrushNetConfig(block_out_channels=(32, 64, 128), addition_time_embed_dim=256,
                           projection_class_embeddings_input_dim=2816),
}


def tiny_base_model(kind: str = "sd15", seed: int = 1, **overrides):
    """A ModelPatcher around a tiny SD1.5- or SDXL-shaped ComfyUI model with random weights."""
    import comfy.model_management as mm
    import comfy.model_patcher
    import comfy.supported_models as sm

    unet = dict(SD15_UNET if kind == "sd15" else SDXL_UNET, **overrides)
    config_cls = sm.SD15 if kind == "sd15" else sm.SDXL
    model_config = config_cls(unet)
    model_config.unet_config.pop("num_head_channels", None)
    model_config.unet_config.update({"num_heads": 4, "num_head_channels": -1})
    model_config.set_inference_dtype(torch.float32, None)
    model = model_config.get_model({}, "")
    randomize_(model.diffusion_model, seed=seed)
    return comfy.model_patcher.ModelPatcher(model, load_device=mm.get_torch_device(), offload_device=mm.unet_offload_device())


def tiny_brushnet(kind: str = "sd15", seed: int = 2, dtype: torch.dtype = torch.float32):
    """A tiny BrushNetModel with random weights whose channels match ``tiny_base_model(kind)``."""
    from brushnet_core.branch.model import BrushNetModel

    model = BrushNetModel(TINY_BRUSHNET[kind])
    randomize_(model, seed=seed)
    return model.to(dtype).eval().requires_grad_(False)
