"""The conversions' configs against the ORIGINAL code, field by field (issue 17, item 1).

For every published size (segment-anything ``build_sam.py``; GroundingDINO's SwinT/SwinB config files
with ``swin_T_224_1k`` / ``swin_B_384_22k``, BERT base uncased), and the LayerNorm eps of every norm
of the built models (SAM's mask decoder had transformers' 1e-6, the original's is 1e-5). The tables
are written here from the original repositories, never from transformers.
"""
from __future__ import annotations

import pytest
import torch

import tm_tiny
from brushnet_core.text_mask import dino_convert, loading, sam_convert


#: segment-anything build_sam.py: (embed_dim, depth, num_heads, global_attn_indexes) per size; the
#: rest is shared: img_size 1024, patch 16, mlp_ratio 4, qkv_bias, use_rel_pos, window 14, out_chans 256,
#: LayerNorm(eps=1e-6), GELU; PromptEncoder(embed_dim 256, mask_in_chans 16, GELU, LayerNorm2d 1e-6);
#: MaskDecoder(3 multimask outputs, TwoWayTransformer(depth 2, 256, mlp 2048, 8 heads, ReLU,
#: downsample 2, nn.LayerNorm), iou head depth 3 / 256, upscaling LayerNorm2d 1e-6 + GELU)
SAM_SIZES = {"vit_b": (768, 12, 12, [2, 5, 8, 11]), "vit_l": (1024, 24, 16, [5, 11, 17, 23]),
             "vit_h": (1280, 32, 16, [7, 15, 23, 31])}


def _meta_original_sam(name):
    from transformers import SamConfig, SamModel

    width, depth, heads, globals_ = SAM_SIZES[name]
    cfg = SamConfig(vision_config=dict(hidden_size=width, num_hidden_layers=depth, num_attention_heads=heads,
                                       global_attn_indexes=globals_))
    with torch.device("meta"):
        return tm_tiny.sam_to_original(SamModel(cfg).state_dict())


@pytest.mark.parametrize("name", list(SAM_SIZES))
def test_sam_conversion_config_matches_the_original_field_by_field(name):
    from transformers import SamConfig, SamModel

    width, depth, heads, globals_ = SAM_SIZES[name]
    variant, found = sam_convert.sam_config_dict(_meta_original_sam(name))
    cfg = SamConfig(**found)
    v, p, d = cfg.vision_config, cfg.prompt_encoder_config, cfg.mask_decoder_config
    assert variant == name
    assert (v.hidden_size, v.num_hidden_layers, v.num_attention_heads, list(v.global_attn_indexes)) == (
        width, depth, heads, globals_)
    assert (v.image_size, v.patch_size, v.mlp_dim, v.window_size, v.output_channels, v.num_channels) == (
        1024, 16, 4 * width, 14, 256, 3)
    assert (v.qkv_bias, v.use_rel_pos, v.use_abs_pos, v.hidden_act, v.layer_norm_eps) == (
        True, True, True, "gelu", 1e-6)
    assert (p.hidden_size, p.image_embedding_size, p.mask_input_channels, p.hidden_act, p.layer_norm_eps) == (
        256, 64, 16, "gelu", 1e-6)
    assert (d.hidden_size, d.num_hidden_layers, d.mlp_dim, d.num_attention_heads, d.attention_downsample_rate) == (
        256, 2, 2048, 8, 2)
    assert (d.hidden_act, d.num_multimask_outputs, d.iou_head_depth, d.iou_head_hidden_dim) == ("relu", 3, 3, 256)
    assert d.layer_norm_eps == 1e-5  # the two-way transformer's nn.LayerNorm (transformers' default: 1e-6)
    # every norm of the model built from it has the original module's eps
    with torch.device("meta"):
        model = SamModel(cfg)
    for path, module in model.named_modules():
        if isinstance(module, torch.nn.LayerNorm):
            two_way = path.startswith("mask_decoder.transformer.")
            assert module.eps == (1e-5 if two_way else 1e-6), path


#: GroundingDINO_SwinT_OGC.py / GroundingDINO_SwinB_cfg.py (+ swin_T_224_1k / swin_B_384_22k)
GD_SIZES = {"swin-t": (96, [2, 2, 6, 2], [3, 6, 12, 24], 7), "swin-b": (128, [2, 2, 18, 2], [4, 8, 16, 32], 12)}
GD_ORIGINAL = dict(d_model=256, encoder_layers=6, decoder_layers=6, encoder_ffn_dim=2048, decoder_ffn_dim=2048,
                   encoder_attention_heads=8, decoder_attention_heads=8, num_queries=900, num_feature_levels=4,
                   encoder_n_points=4, decoder_n_points=4, activation_function="relu",
                   positional_embedding_temperature=20, position_embedding_type="sine", two_stage=True,
                   embedding_init_target=True, decoder_bbox_embed_share=True, two_stage_bbox_embed_share=False,
                   query_dim=4, max_text_len=256, layer_norm_eps=1e-5)
BERT_BASE_UNCASED = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                         max_position_embeddings=512, type_vocab_size=2, vocab_size=30522, hidden_act="gelu",
                         layer_norm_eps=1e-12, position_embedding_type="absolute")


@pytest.mark.parametrize("name", list(GD_SIZES))
def test_grounding_dino_conversion_config_matches_the_original_field_by_field(name):
    from transformers import GroundingDinoConfig, GroundingDinoForObjectDetection

    embed, depths, heads, window = GD_SIZES[name]
    src = GroundingDinoConfig(backbone_config=dict(model_type="swin", embed_dim=embed, depths=depths, num_heads=heads,
                                                   window_size=window, out_indices=[2, 3, 4]))
    with torch.device("meta"):
        sd = dino_convert.unwrap(tm_tiny.gdino_to_original(GroundingDinoForObjectDetection(src).state_dict()))
    variant, found = dino_convert.gdino_config_dict(sd)
    cfg = GroundingDinoConfig(**found)
    assert variant == name
    for key, want in GD_ORIGINAL.items():
        assert getattr(cfg, key) == want, key
    bb, text = cfg.backbone_config, cfg.text_config
    assert (bb.embed_dim, list(bb.depths), list(bb.num_heads), bb.window_size) == (embed, depths, heads, window)
    # return_interm_indices [1, 2, 3] = transformers' stages 2-4; patch 4, mlp_ratio 4, qkv bias, no abs. pos.
    assert (list(bb.out_indices), bb.patch_size, bb.mlp_ratio, bb.qkv_bias, bb.use_absolute_embeddings) == (
        [2, 3, 4], 4, 4.0, True, False)
    assert (bb.hidden_act, bb.layer_norm_eps) == ("gelu", 1e-5)
    for key, want in BERT_BASE_UNCASED.items():
        assert getattr(text, key) == want, key
    with torch.device("meta"):
        model = GroundingDinoForObjectDetection(cfg)
    layer = model.model.encoder.layers[0]
    # text enhancer: nhead // 2 heads, dim_feedforward // 2; fusion: BiAttentionBlock(dim_feedforward // 2, nhead // 2)
    enhancer = layer.text_enhancer_layer
    assert enhancer.fc1.out_features == 1024 and enhancer.self_attn.num_attention_heads == 4
    assert layer.fusion_layer.attn.embed_dim == 1024 and layer.fusion_layer.attn.num_heads == 4
    for path, module in model.named_modules():
        if isinstance(module, torch.nn.LayerNorm):
            assert module.eps == (1e-12 if path.startswith("model.text_backbone.") else 1e-5), path


@pytest.mark.parametrize("kind", ["sam", "sam_hq"])
def test_hugging_face_sam_folders_get_the_original_decoder_eps(tmp_path, kind):
    """Published SAM / SAM-HQ folders carry transformers' 1e-6 for the two-way transformer."""
    import transformers

    vision = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=1, output_channels=32, mlp_dim=128,
                  global_attn_indexes=[1], image_size=256, window_size=4, num_pos_feats=16)
    decoder = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=8, mlp_dim=64, iou_head_hidden_dim=32)
    if kind == "sam":
        model = transformers.SamModel(transformers.SamConfig(
            vision_config=vision, prompt_encoder_config=dict(hidden_size=32, image_size=256),
            mask_decoder_config=decoder))
    else:
        model = transformers.SamHQModel(transformers.SamHQConfig(
            vision_config=vision, prompt_encoder_config=dict(hidden_size=32, image_size=256),
            mask_decoder_config=dict(decoder, vit_dim=64)))
    assert model.config.mask_decoder_config.layer_norm_eps == 1e-6
    model.save_pretrained(tmp_path / kind)
    for original, want in ((True, 1e-5), (False, 1e-6)):
        loaded = loading.load_sam(str(tmp_path / kind), original_eps=original).model
        norms = [m for m in loaded.mask_decoder.transformer.modules() if type(m) is torch.nn.LayerNorm]
        assert len(norms) == 9 and {m.eps for m in norms[:-1]} == {want}  # 4 per block x 2, final one 1e-5 anyway
        assert norms[-1].eps == 1e-5
