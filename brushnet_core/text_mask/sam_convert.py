"""Original segment-anything ``.pth`` state dicts -> transformers ``SamModel`` layout.

The variant (ViT-B/L/H or any other width) is read from tensor shapes, never from the file name.
"""
from __future__ import annotations

import re
from typing import Any

import torch

from .errors import TextMaskError

#: encoder width -> attention heads of the published checkpoints (ViT-B, ViT-L, ViT-H)
KNOWN_WIDTHS = {768: ("vit_b", 12), 1024: ("vit_l", 16), 1280: ("vit_h", 16)}
#: heads of the two-way transformer in every published SAM mask decoder
DECODER_HEADS = 8
#: LayerNorm eps of the original modules (segment-anything build_sam.py / modeling/*.py):
#: image-encoder blocks ``partial(nn.LayerNorm, eps=1e-6)``; neck, prompt-encoder mask downscaling and
#: decoder upscaling ``LayerNorm2d`` (eps 1e-6); the two-way transformer's ``nn.LayerNorm`` defaults (1e-5).
#: transformers' ``SamMaskDecoderConfig.layer_norm_eps`` (default 1e-6) is the two-way transformer's.
ENCODER_LN_EPS, LAYERNORM2D_EPS, TWO_WAY_LN_EPS = 1e-6, 1e-6, 1e-5

# (pattern, replacement), applied in order, each at most once per key.
_RENAMES: list[tuple[str, str]] = [
    (r"^image_encoder\.", "vision_encoder."),
    (r"\.blocks\.", ".layers."),
    (r"\.patch_embed\.proj\.", ".patch_embed.projection."),
    (r"\.neck\.0\.", ".neck.conv1."),
    (r"\.neck\.1\.", ".neck.layer_norm1."),
    (r"\.neck\.2\.", ".neck.conv2."),
    (r"\.neck\.3\.", ".neck.layer_norm2."),
    (r"\.norm(\d)\.", r".layer_norm\1."),
    (r"\.norm_final_attn\.", ".layer_norm_final_attn."),
    (r"\.point_embeddings\.", ".point_embed."),
    (r"\.pe_layer\.positional_encoding_gaussian_matrix$", ".shared_embedding.positional_embedding"),
    (r"\.mask_downscaling\.0\.", ".mask_embed.conv1."),
    (r"\.mask_downscaling\.1\.", ".mask_embed.layer_norm1."),
    (r"\.mask_downscaling\.3\.", ".mask_embed.conv2."),
    (r"\.mask_downscaling\.4\.", ".mask_embed.layer_norm2."),
    (r"\.mask_downscaling\.6\.", ".mask_embed.conv3."),
    (r"\.output_upscaling\.0\.", ".upscale_conv1."),
    (r"\.output_upscaling\.1\.", ".upscale_layer_norm."),
    (r"\.output_upscaling\.3\.", ".upscale_conv2."),
]
_MLP = re.compile(r"^(.*\.(?:output_hypernetworks_mlps\.\d+|iou_prediction_head))\.layers\.(\d+)\.(weight|bias)$")
_DROP = {"pixel_mean", "pixel_std"}


def is_original_sam(sd: dict[str, Any]) -> bool:
    """True for a segment-anything layout (``image_encoder.*`` + ``mask_decoder.*``)."""
    return any(k.startswith("image_encoder.patch_embed.proj.") for k in sd) and any(
        k.startswith("mask_decoder.") for k in sd
    )


def check_supported(sd: dict[str, Any], path: str = "") -> None:
    """Raise a clear ValueError for SAM-family files this converter does not handle."""
    where = f" ({path})" if path else ""
    if any(k.startswith("image_encoder.trunk.") or k.startswith("sam_mask_decoder.") for k in sd):
        raise TextMaskError(
            f"This looks like an original SAM 2 checkpoint{where}; only SAM 2 in Hugging Face format is supported. "
            "Put a folder with config.json + model.safetensors (e.g. facebook/sam2.1-hiera-tiny) under models/sams/."
        )
    if any("hf_token" in k or "compress_vit_feat" in k for k in sd):
        raise TextMaskError(
            f"This looks like an original SAM-HQ checkpoint{where}; its conversion is not supported. "
            "Use a SAM-HQ model in Hugging Face format (a folder with config.json, e.g. syscv-community/sam-hq-vit-base) "
            "under models/sams/."
        )
    if not is_original_sam(sd):
        sample = ", ".join(sorted(sd)[:4])
        raise TextMaskError(
            f"Not a segment-anything checkpoint{where}: expected keys 'image_encoder.*' and 'mask_decoder.*', "
            f"found e.g. {sample}. Use sam_vit_b_01ec64.pth / sam_vit_l_0b3195.pth / sam_vit_h_4b8939.pth or a "
            "Hugging Face SAM folder."
        )


def _count(sd: dict[str, Any], pattern: str) -> int:
    rx = re.compile(pattern)
    return len({m.group(1) for k in sd if (m := rx.match(k))})


def sam_config_dict(sd: dict[str, torch.Tensor]) -> tuple[str, dict[str, Any]]:
    """(variant name, kwargs for ``SamConfig``) read from an original state dict's shapes."""
    width = int(sd["image_encoder.patch_embed.proj.weight"].shape[0])
    patch = int(sd["image_encoder.patch_embed.proj.weight"].shape[-1])
    depth = _count(sd, r"^image_encoder\.blocks\.(\d+)\.")
    grid = int(sd["image_encoder.pos_embed"].shape[1])
    name, heads = KNOWN_WIDTHS.get(width, (f"vit_custom_{width}", max(1, width // 64)))
    global_idx, window = [], 14
    for i in range(depth):
        rel = sd[f"image_encoder.blocks.{i}.attn.rel_pos_h"].shape[0]
        if rel == 2 * grid - 1:
            global_idx.append(i)
        else:
            window = (rel + 1) // 2
    out_ch = int(sd["image_encoder.neck.0.weight"].shape[0])
    pos_feats = int(sd["prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"].shape[1])
    prompt_hidden = int(sd["prompt_encoder.no_mask_embed.weight"].shape[1])
    mask_in = int(sd["prompt_encoder.mask_downscaling.3.weight"].shape[0])
    dec_layers = _count(sd, r"^mask_decoder\.transformer\.layers\.(\d+)\.")
    vision = dict(
        hidden_size=width, num_hidden_layers=depth, num_attention_heads=heads, patch_size=patch,
        num_channels=int(sd["image_encoder.patch_embed.proj.weight"].shape[1]),
        image_size=grid * patch, mlp_dim=int(sd["image_encoder.blocks.0.mlp.lin1.weight"].shape[0]),
        output_channels=out_ch, global_attn_indexes=global_idx, window_size=window, num_pos_feats=pos_feats,
        hidden_act="gelu", layer_norm_eps=ENCODER_LN_EPS, qkv_bias="image_encoder.blocks.0.attn.qkv.bias" in sd,
        use_abs_pos="image_encoder.pos_embed" in sd, use_rel_pos="image_encoder.blocks.0.attn.rel_pos_h" in sd,
    )
    prompt = dict(hidden_size=prompt_hidden, image_size=grid * patch, patch_size=patch, mask_input_channels=mask_in,
                  num_point_embeddings=_count(sd, r"^prompt_encoder\.point_embeddings\.(\d+)\."),
                  hidden_act="gelu", layer_norm_eps=LAYERNORM2D_EPS)
    dec_hidden = int(sd["mask_decoder.iou_token.weight"].shape[1])
    cross = int(sd["mask_decoder.transformer.layers.0.cross_attn_token_to_image.q_proj.weight"].shape[0])
    decoder = dict(
        hidden_size=dec_hidden, num_hidden_layers=dec_layers,
        num_attention_heads=DECODER_HEADS, attention_downsample_rate=dec_hidden // cross, hidden_act="relu",
        mlp_dim=int(sd["mask_decoder.transformer.layers.0.mlp.lin1.weight"].shape[0]),
        num_multimask_outputs=int(sd["mask_decoder.mask_tokens.weight"].shape[0]) - 1,
        iou_head_depth=_count(sd, r"^mask_decoder\.iou_prediction_head\.layers\.(\d+)\."),
        iou_head_hidden_dim=int(sd["mask_decoder.iou_prediction_head.layers.0.weight"].shape[0]),
        layer_norm_eps=TWO_WAY_LN_EPS,
    )
    return name, {"vision_config": vision, "prompt_encoder_config": prompt, "mask_decoder_config": decoder}


def _rename_mlp(key: str, depth: int) -> str:
    m = _MLP.match(key)
    if not m:
        return key
    idx = int(m.group(2))
    part = "proj_in" if idx == 0 else "proj_out" if idx == depth - 1 else f"layers.{idx - 1}"
    return f"{m.group(1)}.{part}.{m.group(3)}"


def convert_sam_state_dict(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename an original SAM state dict to the transformers ``SamModel`` keys (no copies)."""
    iou_depth = _count(sd, r"^mask_decoder\.iou_prediction_head\.layers\.(\d+)\.")
    hyper_depth = _count(sd, r"^mask_decoder\.output_hypernetworks_mlps\.0\.layers\.(\d+)\.")
    out: dict[str, torch.Tensor] = {}
    for key, value in sd.items():
        if key in _DROP:
            continue
        new = key
        for pattern, repl in _RENAMES:
            new = re.sub(pattern, repl, new, count=1)
        depth = iou_depth if ".iou_prediction_head." in new else hyper_depth
        out[_rename_mlp(new, depth)] = value
    gauss = out.get("prompt_encoder.shared_embedding.positional_embedding")
    if gauss is not None:
        out["shared_image_embedding.positional_embedding"] = gauss
    return out
