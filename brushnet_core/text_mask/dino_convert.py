"""Original GroundingDINO ``.pth`` state dicts (IDEA-Research layout) -> transformers layout.

Key facts follow transformers' ``convert_grounding_dino_to_hf.py``; the code is our own. The
model size (Swin-T / Swin-B backbone, layer counts, widths) is read from tensor shapes.

transformers has more than one layout for the Swin backbone inside its GroundingDINO (the 4.x
``attention.self.query`` / ``intermediate.dense`` blocks directly under the backbone, the 5.x
``swin.`` sub-model with ``attention.q_proj`` / ``mlp.fc1``). The target layout is picked from the
key names of the model actually built (:func:`swin_layout`), never from a version number.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable

import torch

from .errors import TextMaskError

#: attention heads of the published encoder/decoder (not recoverable from shapes)
TRANSFORMER_HEADS = 8
#: settings of the published configs (GroundingDINO_SwinT_OGC.py / GroundingDINO_SwinB_cfg.py) that
#: shapes do not show: ``transformer_activation``, ``pe_temperatureH/W``, ``position_embedding``,
#: ``two_stage_type="standard"``, ``embed_init_tgt``, ``dec_pred_bbox_embed_share``, ``query_dim``,
#: ``max_text_len``; nn.LayerNorm defaults (1e-5) in the transformer and the Swin backbone (GELU MLP);
#: bert-base-uncased's own config for the text encoder (GELU, LayerNorm eps 1e-12, absolute positions).
ORIGINAL_SETTINGS = dict(
    activation_function="relu", positional_embedding_temperature=20, position_embedding_type="sine",
    two_stage=True, embedding_init_target=True, decoder_bbox_embed_share=True, query_dim=4, max_text_len=256,
    layer_norm_eps=1e-5,
)
SWIN_SETTINGS = dict(hidden_act="gelu", layer_norm_eps=1e-5, qkv_bias=True, use_absolute_embeddings=False)
BERT_SETTINGS = dict(hidden_act="gelu", layer_norm_eps=1e-12, position_embedding_type="absolute", pad_token_id=0)
_BB = "model.backbone.conv_encoder.model."



@dataclass(frozen=True)
class SwinLayout:
    """Where transformers keeps the Swin backbone's weights (relative to ``model.backbone.conv_encoder.model.``)."""

    name: str
    root: str  #: prefix of ``embeddings.*`` and ``encoder.*``
    qkv: tuple[str, str, str]  #: block-relative names of the query / key / value projections
    block: dict[str, str]  #: original block-relative name -> transformers block-relative name


SWIN_LAYOUTS: tuple[SwinLayout, ...] = (
    SwinLayout(
        "attention.self (transformers 4)", "", ("attention.self.query", "attention.self.key", "attention.self.value"),
        {"norm1": "layernorm_before", "norm2": "layernorm_after",
         "attn.relative_position_bias_table": "attention.self.relative_position_bias_table",
         "attn.proj": "attention.output.dense", "mlp.fc1": "intermediate.dense", "mlp.fc2": "output.dense"},
    ),
    SwinLayout(
        "swin.*.q_proj (transformers 5)", "swin.", ("attention.q_proj", "attention.k_proj", "attention.v_proj"),
        {"norm1": "layernorm_before", "norm2": "layernorm_after",
         "attn.relative_position_bias_table": "attention.relative_position_bias.relative_position_bias_table",
         "attn.proj": "attention.o_proj", "mlp.fc1": "mlp.fc1", "mlp.fc2": "mlp.fc2"},
    ),
)


def swin_layout(model_keys: Iterable[str]) -> SwinLayout:
    """The Swin layout of a transformers GroundingDINO, told from its state-dict key names."""
    keys = set(model_keys)
    for layout in SWIN_LAYOUTS:
        probe = (f"{_BB}{layout.root}embeddings.patch_embeddings.projection.weight",
                 f"{_BB}{layout.root}encoder.layers.0.blocks.0.{layout.qkv[0]}.weight")
        if all(p in keys for p in probe):
            return layout
    sample = ", ".join(sorted(k for k in keys if k.startswith(_BB))[:4]) or "no backbone keys"
    raise TextMaskError(
        "The installed transformers lays out GroundingDINO's Swin backbone in a way this pack does not know "
        f"(e.g. {sample}); please report it with your transformers version."
    )

_DEFORMABLE = {
    "self_attn.sampling_offsets": "self_attn.sampling_offsets", "self_attn.attention_weights": "self_attn.attention_weights",
    "self_attn.value_proj": "self_attn.value_proj", "self_attn.output_proj": "self_attn.output_proj",
    "norm1": "self_attn_layer_norm", "linear1": "fc1", "linear2": "fc2", "norm2": "final_layer_norm",
}
_TEXT = {
    "self_attn.out_proj": "self_attn.out_proj", "linear1": "fc1", "linear2": "fc2",
    "norm1": "layer_norm_before", "norm2": "layer_norm_after",
}
_FUSION = {
    "gamma_v": "vision_param", "gamma_l": "text_param",
    "layer_norm_v": "layer_norm_vision", "layer_norm_l": "layer_norm_text",
    "attn.v_proj": "attn.vision_proj", "attn.l_proj": "attn.text_proj",
    "attn.values_v_proj": "attn.values_vision_proj", "attn.values_l_proj": "attn.values_text_proj",
    "attn.out_v_proj": "attn.out_vision_proj", "attn.out_l_proj": "attn.out_text_proj",
}
_DECODER = {
    "cross_attn.sampling_offsets": "encoder_attn.sampling_offsets",
    "cross_attn.attention_weights": "encoder_attn.attention_weights",
    "cross_attn.value_proj": "encoder_attn.value_proj", "cross_attn.output_proj": "encoder_attn.output_proj",
    "norm1": "encoder_attn_layer_norm", "ca_text.out_proj": "encoder_attn_text.out_proj",
    "catext_norm": "encoder_attn_text_layer_norm", "self_attn.out_proj": "self_attn.out_proj",
    "norm2": "self_attn_layer_norm", "linear1": "fc1", "linear2": "fc2", "norm3": "final_layer_norm",
}
_PREFIXES = [
    ("bert.", "model.text_backbone."), ("input_proj.", "model.input_proj_vision."),
    ("feat_map.", "model.text_projection."), ("transformer.decoder.ref_point_head.", "model.decoder.reference_points_head."),
    ("transformer.decoder.bbox_embed.", "model.decoder.bbox_embed."), ("transformer.enc_output.", "model.enc_output."),
    ("transformer.enc_output_norm.", "model.enc_output_norm."),
    ("transformer.enc_out_bbox_embed.", "model.encoder_output_bbox_embed."),
    ("transformer.decoder.norm.", "model.decoder.layer_norm."), ("transformer.tgt_embed.", "model.query_position_embeddings."),
    ("transformer.level_embed", "model.level_embed"), ("bbox_embed.", "bbox_embed."),
]
#: buffers / unused parts of the original file that the transformers model does not hold
_IGNORED = re.compile(r"(relative_position_index|attn_mask|position_ids|^bert\.pooler\.|label_enc)")


def unwrap(sd: dict[str, Any]) -> dict[str, Any]:
    """The model weights of an original checkpoint (``{"model": ...}``, optional ``module.`` prefix)."""
    if "model" in sd and isinstance(sd["model"], dict):
        sd = sd["model"]
    return {(k[7:] if k.startswith("module.") else k): v for k, v in sd.items()}


def is_original_gdino(sd: dict[str, Any]) -> bool:
    """True for the IDEA-Research GroundingDINO layout (Swin ``backbone.0.*`` + ``transformer.*`` + ``bert.*``)."""
    return "backbone.0.patch_embed.proj.weight" in sd and any(k.startswith("transformer.encoder.") for k in sd)


def _indices(sd: dict[str, Any], pattern: str) -> list[int]:
    rx = re.compile(pattern)
    return sorted({int(m.group(1)) for k in sd if (m := rx.match(k))})


def gdino_config_dict(sd: dict[str, torch.Tensor]) -> tuple[str, dict[str, Any]]:
    """(variant name, kwargs for ``GroundingDinoConfig``) read from an original state dict."""
    embed_dim = int(sd["backbone.0.patch_embed.proj.weight"].shape[0])
    stages = _indices(sd, r"^backbone\.0\.layers\.(\d+)\.")
    depths, heads = [], []
    window = 7
    for s in stages:
        depths.append(len(_indices(sd, rf"^backbone\.0\.layers\.{s}\.blocks\.(\d+)\.")))
        table = sd[f"backbone.0.layers.{s}.blocks.0.attn.relative_position_bias_table"]
        heads.append(int(table.shape[1]))
        window = (int(round(math.sqrt(table.shape[0]))) + 1) // 2
    out_indices = [i + 1 for i in _indices(sd, r"^backbone\.0\.norm(\d+)\.")]
    level_embed = sd["transformer.level_embed"]
    d_model, levels = int(level_embed.shape[1]), int(level_embed.shape[0])
    enc_layers = _indices(sd, r"^transformer\.encoder\.layers\.(\d+)\.")
    dec_layers = _indices(sd, r"^transformer\.decoder\.layers\.(\d+)\.")

    def points(key: str) -> int:
        n = int(sd[key].shape[0])
        if n % (levels * TRANSFORMER_HEADS):
            raise TextMaskError(f"Unknown GroundingDINO variant: {key} has {n} rows, not a multiple of "
                                f"{levels} levels x {TRANSFORMER_HEADS} heads.")
        return n // (levels * TRANSFORMER_HEADS)

    text_hidden = int(sd["bert.embeddings.word_embeddings.weight"].shape[1])
    text = dict(
        model_type="bert", vocab_size=int(sd["bert.embeddings.word_embeddings.weight"].shape[0]),
        hidden_size=text_hidden, num_hidden_layers=len(_indices(sd, r"^bert\.encoder\.layer\.(\d+)\.")),
        num_attention_heads=max(1, text_hidden // 64),
        intermediate_size=int(sd["bert.encoder.layer.0.intermediate.dense.weight"].shape[0]),
        max_position_embeddings=int(sd["bert.embeddings.position_embeddings.weight"].shape[0]),
        type_vocab_size=int(sd["bert.embeddings.token_type_embeddings.weight"].shape[0]), **BERT_SETTINGS,
    )
    patch = sd["backbone.0.patch_embed.proj.weight"]
    backbone = dict(
        model_type="swin", embed_dim=embed_dim, depths=depths, num_heads=heads, window_size=window,
        image_size=224 if window == 7 else 384, out_indices=out_indices, patch_size=int(patch.shape[-1]),
        num_channels=int(patch.shape[1]),
        mlp_ratio=sd["backbone.0.layers.0.blocks.0.mlp.fc1.weight"].shape[0] / embed_dim, **SWIN_SETTINGS,
    )
    cfg = dict(
        **ORIGINAL_SETTINGS,
        two_stage_bbox_embed_share=False,  # the file holds its own transformer.enc_out_bbox_embed.*
        backbone_config=backbone, text_config=text, d_model=d_model, num_feature_levels=levels,
        encoder_layers=len(enc_layers), decoder_layers=len(dec_layers),
        encoder_attention_heads=TRANSFORMER_HEADS, decoder_attention_heads=TRANSFORMER_HEADS,
        encoder_ffn_dim=int(sd["transformer.encoder.layers.0.linear1.weight"].shape[0]),
        decoder_ffn_dim=int(sd["transformer.decoder.layers.0.linear1.weight"].shape[0]),
        encoder_n_points=points("transformer.encoder.layers.0.self_attn.attention_weights.weight"),
        decoder_n_points=points("transformer.decoder.layers.0.cross_attn.attention_weights.weight"),
        num_queries=int(sd["transformer.tgt_embed.weight"].shape[0]),
    )
    names = {96: "swin-t", 128: "swin-b"}
    return names.get(embed_dim, f"swin-custom-{embed_dim}"), cfg


def _split_qkv(out: dict[str, torch.Tensor], prefix: str, names: tuple[str, str, str], weight: torch.Tensor,
               bias: torch.Tensor) -> None:
    for name, w, b in zip(names, weight.chunk(3, dim=0), bias.chunk(3, dim=0)):
        out[f"{prefix}.{name}.weight"] = w
        out[f"{prefix}.{name}.bias"] = b


def _map_sub(rest: str, table: dict[str, str]) -> str | None:
    for src, dst in table.items():
        if rest == src or rest.startswith(src + "."):
            return dst + rest[len(src):]
    return None


def _rename(key: str, layout: SwinLayout) -> str | None:
    """New key for one original key, or None when the key has no plain 1:1 counterpart."""
    swin = _BB + layout.root
    if m := re.match(r"^backbone\.0\.patch_embed\.(proj|norm)\.(.+)$", key):
        sub = "patch_embeddings.projection" if m.group(1) == "proj" else "norm"
        return f"{swin}embeddings.{sub}.{m.group(2)}"
    if m := re.match(r"^backbone\.0\.layers\.(\d+)\.blocks\.(\d+)\.(.+)$", key):
        new = _map_sub(m.group(3), layout.block)
        return None if new is None else f"{swin}encoder.layers.{m.group(1)}.blocks.{m.group(2)}.{new}"
    if m := re.match(r"^backbone\.0\.layers\.(\d+)\.downsample\.(.+)$", key):
        return f"{swin}encoder.layers.{m.group(1)}.downsample.{m.group(2)}"
    if m := re.match(r"^backbone\.0\.norm(\d+)\.(.+)$", key):
        return f"{_BB}hidden_states_norms.stage{int(m.group(1)) + 1}.{m.group(2)}"
    for group, table, target in (("layers", _DEFORMABLE, "deformable_layer"), ("text_layers", _TEXT, "text_enhancer_layer"),
                                 ("fusion_layers", _FUSION, "fusion_layer")):
        if m := re.match(rf"^transformer\.encoder\.{group}\.(\d+)\.(.+)$", key):
            new = _map_sub(m.group(2), table)
            return None if new is None else f"model.encoder.layers.{m.group(1)}.{target}.{new}"
    if m := re.match(r"^transformer\.decoder\.layers\.(\d+)\.(.+)$", key):
        new = _map_sub(m.group(2), _DECODER)
        return None if new is None else f"model.decoder.layers.{m.group(1)}.{new}"
    for src, dst in _PREFIXES:
        if key.startswith(src):
            return dst + key[len(src):]
    return None


_QKV = ("query", "key", "value")


def convert_gdino_state_dict(
    sd: dict[str, torch.Tensor], model_keys: Iterable[str]
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """(transformers state dict, original keys that were not used).

    ``model_keys`` are the state-dict keys of the transformers model the weights go into; they
    decide the Swin layout (see :func:`swin_layout`).
    """
    layout = swin_layout(model_keys)
    out: dict[str, torch.Tensor] = {}
    unused: list[str] = []
    for key, value in sd.items():
        if m := re.match(r"^(.*)\.(qkv|in_proj)[._](weight)$", key):
            base, kind = m.group(1), m.group(2)
            bias = sd[key.replace("weight", "bias")]
            if kind == "qkv" and (b := re.match(r"^backbone\.0\.layers\.(\d+)\.blocks\.(\d+)\.attn$", base)):
                prefix = f"{_BB}{layout.root}encoder.layers.{b.group(1)}.blocks.{b.group(2)}"
                _split_qkv(out, prefix, layout.qkv, value, bias)
                continue
            if t := re.match(r"^transformer\.encoder\.text_layers\.(\d+)\.self_attn$", base):
                _split_qkv(out, f"model.encoder.layers.{t.group(1)}.text_enhancer_layer.self_attn", _QKV, value, bias)
                continue
            if d := re.match(r"^transformer\.decoder\.layers\.(\d+)\.(self_attn|ca_text)$", base):
                name = "self_attn" if d.group(2) == "self_attn" else "encoder_attn_text"
                _split_qkv(out, f"model.decoder.layers.{d.group(1)}.{name}", _QKV, value, bias)
                continue
        if re.search(r"\.(qkv\.bias|in_proj_bias)$", key):
            continue  # consumed with its weight
        new = _rename(key, layout)
        if new is None or _IGNORED.search(key):
            unused.append(key)
            continue
        out[new] = value
    return out, unused
