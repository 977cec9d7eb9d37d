"""Original SAM .pth -> transformers SamModel: key renames and variant detection."""
from __future__ import annotations

import copy

import pytest
import torch

import tm_tiny
from brushnet_core.text_mask import loading, sam_convert


def _outputs(model, seed=3):
    g = torch.Generator().manual_seed(seed)
    pixels = torch.rand((1, 3, 256, 256), generator=g)
    boxes = torch.tensor([[[20.0, 30.0, 200.0, 180.0], [5.0, 5.0, 60.0, 90.0]]])
    with torch.no_grad():
        out = model(pixel_values=pixels, input_boxes=boxes, multimask_output=True)
    return out.pred_masks, out.iou_scores


def test_original_layout_has_the_published_key_names(tiny_sam):
    keys = set(tm_tiny.sam_to_original(tiny_sam.state_dict()))
    for k in ("image_encoder.blocks.0.attn.qkv.weight", "image_encoder.neck.0.weight",
              "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix", "prompt_encoder.point_embeddings.3.weight",
              "prompt_encoder.mask_downscaling.6.bias", "mask_decoder.output_upscaling.3.weight",
              "mask_decoder.iou_prediction_head.layers.2.bias", "mask_decoder.transformer.norm_final_attn.weight",
              "mask_decoder.output_hypernetworks_mlps.0.layers.1.weight", "pixel_mean"):
        assert k in keys, k


def _with_original_eps(model):
    """A copy of a transformers SAM with the original two-way-transformer LayerNorm eps (1e-5)."""
    model = copy.deepcopy(model)
    assert loading.original_two_way_eps(model) == 8  # 4 norms per block, 2 blocks (the final one is 1e-5 already)
    return model


def test_converted_pth_gives_identical_outputs(tiny_sam, tmp_path):
    path = tmp_path / "sam.pth"
    torch.save(tm_tiny.sam_to_original(tiny_sam.state_dict()), path)
    bundle = loading.load_sam(str(path))
    ref, got = _outputs(_with_original_eps(tiny_sam)), _outputs(bundle.model)
    assert ref[0].abs().max() > 0.01  # the random model does produce masks
    assert torch.equal(ref[0], got[0]) and torch.equal(ref[1], got[1])


def test_converted_keys_match_the_transformers_model_exactly(tiny_sam):
    converted = sam_convert.convert_sam_state_dict(tm_tiny.sam_to_original(tiny_sam.state_dict()))
    assert set(converted) == set(tiny_sam.state_dict())
    tm_tiny.assert_covers(tiny_sam, converted)


@pytest.mark.parametrize("width,layers,heads,globals_,name", [
    (768, 12, 12, [2, 5, 8, 11], "vit_b"), (1024, 24, 16, [5, 11, 17, 23], "vit_l"),
    (1280, 32, 16, [7, 15, 23, 31], "vit_h"),
])
def test_variant_is_read_from_tensor_shapes(width, layers, heads, globals_, name):
    from transformers import SamConfig, SamModel

    cfg = SamConfig(vision_config=dict(hidden_size=width, num_hidden_layers=layers, num_attention_heads=heads,
                                       global_attn_indexes=globals_))
    with torch.device("meta"):
        sd = tm_tiny.sam_to_original(SamModel(cfg).state_dict())
    variant, found = sam_convert.sam_config_dict(sd)
    assert variant == name
    v = found["vision_config"]
    assert (v["hidden_size"], v["num_hidden_layers"], v["num_attention_heads"]) == (width, layers, heads)
    assert v["global_attn_indexes"] == globals_ and v["window_size"] == 14 and v["image_size"] == 1024
    # the model the loader builds from these shapes takes every weight of the converted file
    with torch.device("meta"):
        model = SamModel(SamConfig(**found))
    tm_tiny.assert_covers(model, sam_convert.convert_sam_state_dict(sd))


def test_grounding_dino_file_in_sam_loader_is_a_clear_error(tiny_gdino, tmp_path):
    path = tmp_path / "gd.pth"
    torch.save(tm_tiny.gdino_to_original(tiny_gdino.state_dict())["model"], path)
    with pytest.raises(ValueError, match="Not a segment-anything checkpoint"):
        loading.load_sam(str(path))


def test_sam_hq_original_file_names_the_supported_alternative(tiny_sam, tmp_path):
    sd = tm_tiny.sam_to_original(tiny_sam.state_dict())
    sd["mask_decoder.hf_token.weight"] = torch.randn(1, 32)
    path = tmp_path / "sam_hq_vit_b.pth"
    torch.save(sd, path)
    with pytest.raises(ValueError, match="SAM-HQ.*Hugging Face"):
        loading.load_sam(str(path))


def test_hf_folder_loads_with_its_model_type(tiny_sam, tmp_path):
    tiny_sam.save_pretrained(tmp_path / "sam")
    bundle = loading.load_sam(str(tmp_path / "sam"))
    assert bundle.kind == "sam"
    assert torch.equal(_outputs(_with_original_eps(tiny_sam))[0], _outputs(bundle.model)[0])
    kept = loading.load_sam(str(tmp_path / "sam"), original_eps=False)  # the folder's own config, as saved
    assert torch.equal(_outputs(tiny_sam)[0], _outputs(kept.model)[0])


def test_sam_hq_hf_folder_segments_with_its_intermediate_embeddings(tmp_path):
    from transformers import SamHQConfig, SamHQModel

    from brushnet_core.text_mask.segment import boxes_to_masks

    cfg = SamHQConfig(
        vision_config=dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=1, output_channels=32, mlp_dim=128,
                           global_attn_indexes=[1], image_size=256, window_size=4, num_pos_feats=16),
        prompt_encoder_config=dict(hidden_size=32, image_size=256),
        mask_decoder_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=8, mlp_dim=64,
                                 iou_head_hidden_dim=32, vit_dim=64))
    tm_tiny.randomize(SamHQModel(cfg), 0).save_pretrained(tmp_path / "hq")
    bundle = loading.load_sam(str(tmp_path / "hq"))
    masks, scores = boxes_to_masks(bundle, torch.rand(100, 150, 3), torch.tensor([[10.0, 10.0, 90.0, 80.0]]),
                                   torch.device("cpu"), torch.float32)
    assert (bundle.kind, bundle.image_size) == ("sam_hq", 256)
    assert masks.shape == (1, 100, 150) and scores.shape == (1,) and bundle.encoder_calls == 1
