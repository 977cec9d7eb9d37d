"""Tiny random GroundingDINO / SAM models, a tiny BERT vocabulary, and original-layout exports.

The "original layout" exports below are written from the published key names of
segment-anything and IDEA-Research GroundingDINO, independently of the pack's converters, so a
round trip (transformers -> original -> pack converter -> transformers) checks the converters.
"""
from __future__ import annotations

import os
import re

import torch

WORDS = ["dog", "cat", "the", "a", "person", "car", "red", "##s", ",", "?"]
VOCAB_SIZE = 1040


def write_vocab(folder: str) -> str:
    """A WordPiece vocab.txt with bert-base-uncased's ids for [PAD] [UNK] [CLS] [SEP] [MASK] and '.'."""
    tokens = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens += [f"[unused{i}]" for i in range(99, 99 + 1012 - len(tokens))]
    tokens += ["."] + WORDS
    assert tokens.index(".") == 1012 and tokens.index("[CLS]") == 101
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "vocab.txt")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(tokens) + "\n")
    return path


def randomize(model: torch.nn.Module, seed: int, scale: float = 0.2) -> torch.nn.Module:
    """Fill every parameter with seeded noise (random init of tiny SAMs is ~1e-10, i.e. near zero)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g) * scale
            p.copy_(noise + 1.0 if name.endswith("norm.weight") or "layer_norm" in name and name.endswith("weight") else noise)
    return model.eval()


def tiny_sam(seed: int = 0):
    from transformers import SamConfig, SamModel

    cfg = SamConfig(
        vision_config=dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=1, output_channels=32, mlp_dim=128,
                           global_attn_indexes=[1], image_size=256, window_size=4, num_pos_feats=16),
        prompt_encoder_config=dict(hidden_size=32, image_size=256),
        mask_decoder_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=8, mlp_dim=64,
                                 iou_head_hidden_dim=32),
    )
    return randomize(SamModel(cfg), seed)


def tiny_gdino(seed: int = 0):
    from transformers import GroundingDinoConfig, GroundingDinoForObjectDetection

    cfg = GroundingDinoConfig(
        d_model=32, encoder_ffn_dim=64, decoder_ffn_dim=64, encoder_layers=1, decoder_layers=2,
        encoder_attention_heads=8, decoder_attention_heads=8, num_queries=10, encoder_n_points=2, decoder_n_points=2,
        backbone_config=dict(model_type="swin", embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 2, 2, 4],
                             window_size=7, image_size=224, out_indices=[2, 3, 4]),
        text_config=dict(model_type="bert", hidden_size=32, num_hidden_layers=1, num_attention_heads=1,
                         intermediate_size=64, vocab_size=VOCAB_SIZE, max_position_embeddings=64),
    )
    return randomize(GroundingDinoForObjectDetection(cfg), seed, scale=0.1)


# ------------------------------------------------------------------ transformers -> original layout

_SAM_BACK = [
    (r"^vision_encoder\.", "image_encoder."),
    (r"^image_encoder\.layers\.(\d+)\.layer_norm(\d)\.", r"image_encoder.blocks.\1.norm\2."),
    (r"^image_encoder\.layers\.", "image_encoder.blocks."), (r"patch_embed\.projection", "patch_embed.proj"),
    (r"neck\.conv1", "neck.0"), (r"neck\.layer_norm1", "neck.1"), (r"neck\.conv2", "neck.2"), (r"neck\.layer_norm2", "neck.3"),
    (r"\.point_embed\.", ".point_embeddings."), (r"mask_embed\.conv1", "mask_downscaling.0"),
    (r"mask_embed\.layer_norm1", "mask_downscaling.1"), (r"mask_embed\.conv2", "mask_downscaling.3"),
    (r"mask_embed\.layer_norm2", "mask_downscaling.4"), (r"mask_embed\.conv3", "mask_downscaling.6"),
    (r"upscale_conv1", "output_upscaling.0"), (r"upscale_layer_norm", "output_upscaling.1"),
    (r"upscale_conv2", "output_upscaling.3"), (r"layer_norm_final_attn", "norm_final_attn"),
    (r"(transformer\.layers\.\d+)\.layer_norm(\d)", r"\1.norm\2"),
    (r"shared_embedding\.positional_embedding", "pe_layer.positional_encoding_gaussian_matrix"),
    (r"(mlps\.\d+|prediction_head)\.layers\.0\.", r"\1.layers.1."), (r"\.proj_in\.", ".layers.0."),
    (r"\.proj_out\.", ".layers.2."),
]


def sam_to_original(sd: dict) -> dict:
    out = {}
    for key, value in sd.items():
        if key.startswith("shared_image_embedding."):
            continue
        new = key
        for pat, rep in _SAM_BACK:
            new = re.sub(pat, rep, new)
        out[new] = value.clone()
    out["pixel_mean"] = torch.tensor([123.675, 116.28, 103.53]).view(-1, 1, 1)
    out["pixel_std"] = torch.tensor([58.395, 57.12, 57.375]).view(-1, 1, 1)
    return out


_BB = "model.backbone.conv_encoder.model."
_GD_BACK = [
    (_BB + "embeddings.patch_embeddings.projection.", "backbone.0.patch_embed.proj."),
    (_BB + "embeddings.norm.", "backbone.0.patch_embed.norm."),
    (_BB + "encoder.layers.", "backbone.0.layers."),
    ("model.text_backbone.", "bert."), ("model.input_proj_vision.", "input_proj."), ("model.text_projection.", "feat_map."),
    ("model.decoder.reference_points_head.", "transformer.decoder.ref_point_head."),
    ("model.decoder.bbox_embed.", "transformer.decoder.bbox_embed."), ("model.enc_output", "transformer.enc_output"),
    ("model.encoder_output_bbox_embed.", "transformer.enc_out_bbox_embed."), ("model.level_embed", "transformer.level_embed"),
    ("model.decoder.layer_norm.", "transformer.decoder.norm."), ("model.query_position_embeddings.", "transformer.tgt_embed."),
]
_SWIN_BLOCK = [
    (".layernorm_before.", ".norm1."), (".layernorm_after.", ".norm2."),
    (".attention.self.relative_position_bias_table", ".attn.relative_position_bias_table"),
    (".attention.output.dense.", ".attn.proj."), (".intermediate.dense.", ".mlp.fc1."), (".output.dense.", ".mlp.fc2."),
]
_ENC = {"deformable_layer": ("layers", {"self_attn_layer_norm": "norm1", "fc1": "linear1", "fc2": "linear2",
                                        "final_layer_norm": "norm2"}),
        "text_enhancer_layer": ("text_layers", {"layer_norm_before": "norm1", "layer_norm_after": "norm2",
                                                "fc1": "linear1", "fc2": "linear2"}),
        "fusion_layer": ("fusion_layers", {"vision_param": "gamma_v", "text_param": "gamma_l",
                                           "layer_norm_vision": "layer_norm_v", "layer_norm_text": "layer_norm_l",
                                           "attn.vision_proj": "attn.v_proj", "attn.text_proj": "attn.l_proj",
                                           "attn.values_vision_proj": "attn.values_v_proj",
                                           "attn.values_text_proj": "attn.values_l_proj",
                                           "attn.out_vision_proj": "attn.out_v_proj", "attn.out_text_proj": "attn.out_l_proj"})}
_DEC = {"encoder_attn.": "cross_attn.", "encoder_attn_layer_norm": "norm1", "encoder_attn_text.": "ca_text.",
        "encoder_attn_text_layer_norm": "catext_norm", "self_attn_layer_norm": "norm2", "fc1": "linear1",
        "fc2": "linear2", "final_layer_norm": "norm3"}


def _sub_first(rest: str, table: dict) -> str:
    for src in sorted(table, key=len, reverse=True):
        if rest.startswith(src):
            return table[src] + rest[len(src):]
    return rest


def gdino_to_original(sd: dict) -> dict:
    """transformers GroundingDINO state dict -> IDEA-Research checkpoint layout ({"model": ...})."""
    out: dict = {}
    qkv: dict = {}
    for key, value in sd.items():
        if key.endswith("relative_position_index"):
            continue
        new = key
        if m := re.match(r"^.*hidden_states_norms\.stage(\d)\.(\w+)$", key):  # stage n <- norm n-1
            new = f"backbone.0.norm{int(m.group(1)) - 1}.{m.group(2)}"
        elif m := re.match(r"^model\.encoder\.layers\.(\d+)\.(\w+)\.(.+)$", key):
            group, table = _ENC[m.group(2)]
            new = f"transformer.encoder.{group}.{m.group(1)}.{_sub_first(m.group(3), table)}"
        elif m := re.match(r"^model\.decoder\.layers\.(\d+)\.(.+)$", key):
            new = f"transformer.decoder.layers.{m.group(1)}.{_sub_first(m.group(2), _DEC)}"
        else:
            for src, dst in _GD_BACK:
                new = new.replace(src, dst)
            if new.startswith("backbone."):
                for src, dst in _SWIN_BLOCK:
                    new = new.replace(src, dst)
        m = None if new.startswith("bert.") else re.match(r"^(.*)\.(?:attention\.self|self_attn|ca_text)\.(query|key|value)\.(weight|bias)$", new)
        if m:
            base = m.group(1)
            if new.startswith("backbone."):
                target = f"{base}.attn.qkv.{m.group(3)}"
            else:
                attn = "ca_text" if ".ca_text." in new else "self_attn"
                target = f"{base}.{attn}.in_proj_{m.group(3)}"
            qkv.setdefault(target, {})[m.group(2)] = value
            continue
        out[new] = value.clone()
    for target, parts in qkv.items():
        out[target] = torch.cat([parts["query"], parts["key"], parts["value"]], dim=0).clone()
    out["bert.embeddings.position_ids"] = torch.arange(64).unsqueeze(0)
    return {"model": {"module." + k: v for k, v in out.items()}}
