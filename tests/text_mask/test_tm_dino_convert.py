"""Original GroundingDINO .pth -> transformers: renames, qkv splits, config from shapes, tokenizer."""
from __future__ import annotations

import os

import pytest
import torch

import tm_tiny
from tm_tiny import DOGS_THE_RED_CAT
from brushnet_core.text_mask import dino_convert, loading


def _run(model, seed=5):
    g = torch.Generator().manual_seed(seed)
    ids = torch.tensor([[101, 1013, 1012, 1014, 1015, 1012, 102]])
    kw = dict(pixel_values=torch.rand((1, 3, 96, 128), generator=g), input_ids=ids,
              attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids))
    with torch.no_grad():
        out = model(**kw)
    return out.logits.nan_to_num(neginf=-1e4), out.pred_boxes


@pytest.fixture
def pth_with_vocab(tiny_gdino, tmp_path):
    path = tmp_path / "groundingdino_swint_ogc.pth"
    torch.save(tm_tiny.gdino_to_original(tiny_gdino.state_dict()), path)
    tm_tiny.write_vocab(str(tmp_path))
    return path


def test_original_layout_has_the_published_key_names(tiny_gdino):
    keys = set(tm_tiny.gdino_to_original(tiny_gdino.state_dict())["model"])
    for k in ("backbone.0.layers.0.blocks.0.attn.qkv.weight", "backbone.0.norm1.weight", "bert.embeddings.word_embeddings.weight",
              "transformer.encoder.text_layers.0.self_attn.in_proj_weight", "transformer.encoder.fusion_layers.0.gamma_v",
              "transformer.decoder.layers.1.ca_text.in_proj_bias", "transformer.tgt_embed.weight", "feat_map.weight",
              "transformer.enc_out_bbox_embed.layers.2.bias", "bbox_embed.0.layers.0.weight"):
        assert "module." + k in keys, k


def test_converted_pth_gives_identical_logits_and_boxes(tiny_gdino, pth_with_vocab):
    bundle = loading.load_grounding_dino(str(pth_with_vocab))
    (ref_l, ref_b), (got_l, got_b) = _run(tiny_gdino), _run(bundle.model)
    assert ref_b.std() > 1e-3
    assert torch.equal(ref_l, got_l) and torch.equal(ref_b, got_b)


def test_every_transformers_weight_comes_from_the_file(tiny_gdino):
    sd = dino_convert.unwrap(tm_tiny.gdino_to_original(tiny_gdino.state_dict()))
    converted, unused = dino_convert.convert_gdino_state_dict(sd, tiny_gdino.state_dict().keys())
    tm_tiny.assert_covers(tiny_gdino, converted)
    assert all(k.endswith("relative_position_index") for k in unused if k != "bert.embeddings.position_ids")
    assert "bert.embeddings.position_ids" in unused and len(unused) == 1 + 4  # one index buffer per Swin block


@pytest.mark.parametrize("embed,depths,heads,window,name", [
    (96, [2, 2, 6, 2], [3, 6, 12, 24], 7, "swin-t"), (128, [2, 2, 18, 2], [4, 8, 16, 32], 12, "swin-b"),
])
def test_backbone_variant_is_read_from_tensor_shapes(embed, depths, heads, window, name):
    from transformers import GroundingDinoConfig, GroundingDinoForObjectDetection

    cfg = GroundingDinoConfig(backbone_config=dict(model_type="swin", embed_dim=embed, depths=depths, num_heads=heads,
                                                   window_size=window, out_indices=[2, 3, 4]))
    with torch.device("meta"):
        sd = dino_convert.unwrap(tm_tiny.gdino_to_original(GroundingDinoForObjectDetection(cfg).state_dict()))
    variant, found = dino_convert.gdino_config_dict(sd)
    bb = found["backbone_config"]
    assert variant == name and bb["depths"] == depths and bb["num_heads"] == heads and bb["window_size"] == window
    assert bb["out_indices"] == [2, 3, 4]
    assert (found["d_model"], found["num_queries"], found["encoder_layers"], found["encoder_n_points"]) == (256, 900, 6, 4)
    assert found["text_config"]["num_attention_heads"] == 12 and found["text_config"]["vocab_size"] == 30522


@pytest.mark.parametrize("embed,depths,heads,window", [(96, [2, 2, 6, 2], [3, 6, 12, 24], 7),
                                                       (128, [2, 2, 18, 2], [4, 8, 16, 32], 12)])
def test_published_sizes_convert_to_every_weight_of_the_installed_transformers(embed, depths, heads, window):
    """Swin-T / Swin-B files at full size: the model built from the file's shapes (as the loader does)
    gets every parameter, with matching shapes, from the converted dict (the transformers 5 Swin
    layout left 219 of them missing)."""
    from transformers import GroundingDinoConfig, GroundingDinoForObjectDetection

    cfg = GroundingDinoConfig(backbone_config=dict(model_type="swin", embed_dim=embed, depths=depths, num_heads=heads,
                                                   window_size=window, out_indices=[2, 3, 4]))
    with torch.device("meta"):
        sd = dino_convert.unwrap(tm_tiny.gdino_to_original(GroundingDinoForObjectDetection(cfg).state_dict()))
        model = GroundingDinoForObjectDetection(GroundingDinoConfig(**dino_convert.gdino_config_dict(sd)[1]))
    converted, _unused = dino_convert.convert_gdino_state_dict(sd, model.state_dict().keys())
    tm_tiny.assert_covers(model, converted)


def test_unknown_transformers_layout_is_a_clear_error(tiny_gdino):
    sd = dino_convert.unwrap(tm_tiny.gdino_to_original(tiny_gdino.state_dict()))
    keys = [k.replace("patch_embeddings", "patch_embed") for k in tiny_gdino.state_dict()]
    with pytest.raises(ValueError, match="Swin backbone in a way this pack does not know"):
        dino_convert.convert_gdino_state_dict(sd, keys)


def test_missing_vocabulary_says_which_file_to_put_where(tiny_gdino, tmp_path):
    path = tmp_path / "groundingdino_swint_ogc.pth"
    torch.save(tm_tiny.gdino_to_original(tiny_gdino.state_dict()), path)
    with pytest.raises(FileNotFoundError, match=r"vocab\.txt.*" + str(tmp_path).replace("\\", ".")):
        loading.load_grounding_dino(str(path))


def test_vocabulary_found_in_an_extra_folder(tiny_gdino, tmp_path):
    path = tmp_path / "gd.pth"
    torch.save(tm_tiny.gdino_to_original(tiny_gdino.state_dict()), path)
    bert = tmp_path / "elsewhere" / "bert-base-uncased"
    tm_tiny.write_vocab(str(bert))
    bundle = loading.load_grounding_dino(str(path), vocab_dirs=[str(bert)])
    assert bundle.tokenizer.encode("Dog", add_special_tokens=False) == [1013]
    # WordPiece, lower-casing and punctuation split as bert-base-uncased (same ids on transformers 4 and 5)
    assert bundle.tokenizer.encode("Dogs, the red CAT?", add_special_tokens=False) == DOGS_THE_RED_CAT


def test_tokenizer_with_other_ids_is_refused(tmp_path):
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n.\ndog\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not bert-base-uncased"):
        loading.load_tokenizer(str(tmp_path))


def test_sam_file_in_grounding_dino_loader_is_a_clear_error(tiny_sam, tmp_path):
    torch.save(tm_tiny.sam_to_original(tiny_sam.state_dict()), tmp_path / "sam.pth")
    tm_tiny.write_vocab(str(tmp_path))
    with pytest.raises(ValueError, match="Not a GroundingDINO checkpoint"):
        loading.load_grounding_dino(str(tmp_path / "sam.pth"))


def test_hf_folder_without_tokenizer_is_a_clear_error(tiny_gdino, tmp_path):
    tiny_gdino.save_pretrained(tmp_path / "gd")
    with pytest.raises(FileNotFoundError, match="no tokenizer vocabulary"):
        loading.load_grounding_dino(str(tmp_path / "gd"))


def test_hf_folder_with_tokenizer_loads(text_mask_models, tiny_gdino):
    bundle = loading.load_grounding_dino(str(text_mask_models["dino_hf"]))
    assert os.path.basename(bundle.source) == "tiny-gdino-hf"
    assert torch.equal(_run(tiny_gdino)[1], _run(bundle.model)[1])
