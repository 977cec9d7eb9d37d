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
#: "Dogs, the red CAT?" in the vocabulary below, as bert-base-uncased's WordPiece splits it
DOGS_THE_RED_CAT = [1013, 1020, 1021, 1015, 1019, 1014, 1022]


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


def tiny_gdino(seed: int = 0, **overrides):
    """A tiny random GroundingDINO; ``overrides``: other ``GroundingDinoConfig`` fields."""
    from transformers import GroundingDinoConfig, GroundingDinoForObjectDetection

    fields = dict(
        d_model=32, encoder_ffn_dim=64, decoder_ffn_dim=64, encoder_layers=1, decoder_layers=2,
        encoder_attention_heads=8, decoder_attention_heads=8, num_queries=10, encoder_n_points=2, decoder_n_points=2,
        backbone_config=dict(model_type="swin", embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 2, 2, 4],
                             window_size=7, image_size=224, out_indices=[2, 3, 4]),
        text_config=dict(model_type="bert", hidden_size=32, num_hidden_layers=1, num_attention_heads=1,
                         intermediate_size=64, vocab_size=VOCAB_SIZE, max_position_embeddings=64),
    )
    cfg = GroundingDinoConfig(**{**fields, **overrides})
    return randomize(GroundingDinoForObjectDetection(cfg), seed, scale=0.1)


def assert_covers(model: torch.nn.Module, converted: dict) -> None:
    """``converted`` fills every parameter of ``model`` with the right shape and holds nothing else.

    The only parameters allowed to be absent are those the model itself declares optional
    (``_keys_to_ignore_on_load_missing``, e.g. transformers 5's unused final Swin norm)."""
    from brushnet_core.text_mask.loading import _ignorable_missing

    state = model.state_dict()
    params = {name for name, _ in model.named_parameters(remove_duplicate=False)}
    unexpected = sorted(set(converted) - set(state))
    assert not unexpected, f"{len(unexpected)} converted keys the model does not have, e.g. {unexpected[:3]}"
    missing = params - set(converted)
    optional = _ignorable_missing(model, missing)
    assert all(".layernorm." in k for k in optional), sorted(optional)[:3]
    assert not missing - optional, f"{len(missing - optional)} parameters missing, e.g. {sorted(missing - optional)[:3]}"
    wrong = [k for k, v in converted.items() if tuple(v.shape) != tuple(state[k].shape)]
    assert not wrong, f"shape mismatch: {[(k, tuple(converted[k].shape), tuple(state[k].shape)) for k in wrong[:3]]}"


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
# both transformers Swin layouts: 4.x (attention.self.*, intermediate/output.dense) and 5.x (q_proj, o_proj, mlp.*)
_SWIN_BLOCK = [
    (".layernorm_before.", ".norm1."), (".layernorm_after.", ".norm2."),
    (".attention.self.relative_position_bias_table", ".attn.relative_position_bias_table"),
    (".attention.relative_position_bias.relative_position_bias_table", ".attn.relative_position_bias_table"),
    (".attention.output.dense.", ".attn.proj."), (".attention.o_proj.", ".attn.proj."),
    (".intermediate.dense.", ".mlp.fc1."), (".output.dense.", ".mlp.fc2."),
]
_QKV_NAMES = {"q_proj": "query", "k_proj": "key", "v_proj": "value"}
_QKV_KEY = re.compile(
    r"^(.*)\.(?:attention\.self|attention|self_attn|ca_text)\.(query|key|value|q_proj|k_proj|v_proj)\.(weight|bias)$")
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


def swin_relative_position_index(window: int) -> torch.Tensor:
    """The (w*w, w*w) index buffer of the original Swin code (persistent there, so it is in every file)."""
    ys, xs = torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
    ys, xs = ys.flatten(), xs.flatten()
    dy = ys[:, None] - ys[None, :] + window - 1
    dx = xs[:, None] - xs[None, :] + window - 1
    return dy * (2 * window - 1) + dx


def gdino_to_original(sd: dict) -> dict:
    """transformers GroundingDINO state dict -> IDEA-Research checkpoint layout ({"model": ...})."""
    out: dict = {}
    qkv: dict = {}
    windows: dict[str, int] = {}
    for key, value in sd.items():
        if key.endswith("relative_position_index") or key.startswith(_BB + "swin.layernorm."):
            continue  # buffer / 5.x's unused final norm: neither is in the published files in this form
        if key.startswith(_BB + "swin."):  # 5.x wraps embeddings + encoder in a SwinModel
            key = _BB + key[len(_BB + "swin."):]
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
        if new.endswith(".attn.relative_position_bias_table"):
            windows[new[: -len("relative_position_bias_table")]] = int(round(value.shape[0] ** 0.5) + 1) // 2
        m = None if new.startswith("bert.") else _QKV_KEY.match(new)
        if m:
            base = m.group(1)
            if new.startswith("backbone."):
                target = f"{base}.attn.qkv.{m.group(3)}"
            else:
                attn = "ca_text" if ".ca_text." in new else "self_attn"
                target = f"{base}.{attn}.in_proj_{m.group(3)}"
            qkv.setdefault(target, {})[_QKV_NAMES.get(m.group(2), m.group(2))] = value
            continue
        out[new] = value.clone()
    for target, parts in qkv.items():
        out[target] = torch.cat([parts["query"], parts["key"], parts["value"]], dim=0).clone()
    for attn, window in windows.items():  # the published files carry Swin's index buffer
        out[attn + "relative_position_index"] = swin_relative_position_index(window)
    out["bert.embeddings.position_ids"] = torch.arange(64).unsqueeze(0)
    return {"model": {"module." + k: v for k, v in out.items()}}


# ------------------------------------------------------------------ version-independent original files

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden_tm.json")
_NORM_WEIGHT = re.compile(r"norm[^.]*\.weight$", re.IGNORECASE)
_FIXED = {"pixel_mean", "pixel_std"}


def reseed(sd: dict, seed: int, scale: float) -> dict:
    """Refill every float tensor with seeded noise in sorted-key order (norm weights around 1).

    The result depends only on the key names and shapes of the original layout, not on which
    transformers built the tiny model, so the same file is written on transformers 4 and 5.
    Tensors equal in the source (the original format stores GroundingDINO's shared box head
    twice) stay equal.
    """
    g = torch.Generator().manual_seed(seed)
    out: dict = {}
    seen: dict = {}
    for key in sorted(sd):
        value = sd[key]
        if not value.is_floating_point() or key in _FIXED:
            out[key] = value
            continue
        fp = (tuple(value.shape), value.numpy().tobytes())
        if fp not in seen:
            noise = torch.randn(tuple(value.shape), generator=g) * scale
            seen[fp] = noise + 1.0 if _NORM_WEIGHT.search(key) else noise
        out[key] = seen[fp].clone()
    return out


def original_gdino_file(seed: int = 7) -> dict:
    """A tiny IDEA-Research-layout GroundingDINO checkpoint ({"model": ...}), the same on every transformers."""
    return {"model": reseed(gdino_to_original(tiny_gdino().state_dict())["model"], seed, 0.1)}


def original_sam_file(seed: int = 7) -> dict:
    """A tiny segment-anything-layout SAM checkpoint, the same on every transformers."""
    return reseed(sam_to_original(tiny_sam().state_dict()), seed, 0.2)


def write_hf_folders(folder: str) -> tuple[str, str]:
    """Hugging Face folders (config.json + model.safetensors in the on-disk layout published with
    transformers 4: ``attention.self.query`` Swin blocks, index buffers included) holding the same
    weights as ``original_gdino_file`` / ``original_sam_file``. Returns (GroundingDINO folder, SAM folder)."""
    import json

    from safetensors.torch import save_file

    from brushnet_core.text_mask import dino_convert, sam_convert

    gd = dino_convert.unwrap(original_gdino_file())
    v4 = [f"{_BB}embeddings.patch_embeddings.projection.weight",
          f"{_BB}encoder.layers.0.blocks.0.attention.self.query.weight"]
    weights, _ = dino_convert.convert_gdino_state_dict(gd, v4)
    for key, value in gd.items():
        if m := re.match(r"^backbone\.0\.layers\.(\d+)\.blocks\.(\d+)\.attn\.relative_position_index$", key):
            block = f"{_BB}encoder.layers.{m.group(1)}.blocks.{m.group(2)}"
            weights[f"{block}.attention.self.relative_position_index"] = value
    sam = sam_convert.convert_sam_state_dict(original_sam_file())
    out = []
    gd_config = {"model_type": "grounding-dino", **dino_convert.gdino_config_dict(gd)[1]}
    sam_config = {"model_type": "sam", **sam_convert.sam_config_dict(original_sam_file())[1]}
    for name, sd, config in (("gdino-hf", weights, gd_config), ("sam-hf", sam, sam_config)):
        path = os.path.join(folder, name)
        os.makedirs(path, exist_ok=True)
        save_file({k: v.clone().contiguous() for k, v in sd.items()}, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
        with open(os.path.join(path, "config.json"), "w", encoding="utf-8") as fh:
            json.dump({"architectures": ["GroundingDinoForObjectDetection" if name == "gdino-hf" else "SamModel"],
                       "transformers_version": "4.40.0", **config}, fh, indent=2)
        out.append(path)
    write_vocab(out[0])
    with open(os.path.join(out[0], "tokenizer_config.json"), "w", encoding="utf-8") as fh:
        json.dump({"tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": 512}, fh)
    return out[0], out[1]


def layout_signature(sd: dict) -> list[str]:
    return [f"{k} {list(v.shape)} {str(v.dtype).replace('torch.', '')}" for k, v in sorted(sd.items())]


def gdino_outputs(model) -> dict:
    g = torch.Generator().manual_seed(5)
    ids = torch.tensor([[101, 1013, 1012, 1014, 1015, 1012, 102]])
    with torch.no_grad():
        out = model(pixel_values=torch.rand((1, 3, 96, 128), generator=g), input_ids=ids,
                    attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids))
    return {"logits": out.logits[0, :, : ids.shape[1]].tolist(), "boxes": out.pred_boxes[0].tolist()}


def sam_outputs(model) -> dict:
    g = torch.Generator().manual_seed(3)
    boxes = torch.tensor([[[20.0, 30.0, 200.0, 180.0], [5.0, 5.0, 60.0, 90.0]]])
    with torch.no_grad():
        out = model(pixel_values=torch.rand((1, 3, 256, 256), generator=g), input_boxes=boxes, multimask_output=True)
    return {"masks": out.pred_masks[0, :, :, ::16, ::16].tolist(), "iou": out.iou_scores[0].tolist()}


def golden_record(folder: str) -> dict:
    """Layouts of the two original files and what the pack's loaders make of them (see GOLDEN)."""
    import transformers

    from brushnet_core.text_mask import loading

    dino_path, sam_path = os.path.join(folder, "gd.pth"), os.path.join(folder, "sam.pth")
    torch.save(original_gdino_file(), dino_path)
    torch.save(original_sam_file(), sam_path)
    write_vocab(folder)
    return {
        "made_with": f"transformers {transformers.__version__}, torch {torch.__version__}",
        "gdino_layout": layout_signature(original_gdino_file()["model"]),
        "sam_layout": layout_signature(original_sam_file()),
        "gdino": gdino_outputs(loading.load_grounding_dino(dino_path).model),
        "sam": sam_outputs(loading.load_sam(sam_path).model),
    }


if __name__ == "__main__":  # regenerate the golden file (on the pinned test host): python tm_tiny.py
    import json
    import sys
    import tempfile

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    with tempfile.TemporaryDirectory() as tmp:
        record = golden_record(tmp)
    def rounded(x):
        return [rounded(v) for v in x] if isinstance(x, list) else round(x, 6)

    with open(GOLDEN, "w", encoding="utf-8") as fh:  # one line per entry, readable in a diff
        fh.write("{\n" + ",\n".join(
            f"{json.dumps(k)}: " + (json.dumps(v) if isinstance(v, str) else
                                    "[\n" + ",\n".join(json.dumps(x) for x in v) + "\n]" if k.endswith("_layout") else
                                    json.dumps({n: rounded(t) for n, t in v.items()}))
            for k, v in record.items()) + "\n}\n")
    print(f"wrote {GOLDEN} ({record['made_with']})")
