"""SAM against the ORIGINAL segment-anything maths in float64 (issue 17, items 1 and 4): the mask
decoder with the original LayerNorm eps, the image encoder with and without the faster attention,
and the faster attention against transformers' own on every layer kind (reference: ``tm_sam_ref``).
"""
from __future__ import annotations

import pytest
import torch

import tm_tiny
from brushnet_core.text_mask import loading
from brushnet_core.text_mask.segment import embed, preprocess as sam_preprocess
from tm_ref import CPU, rel
from tm_sam_ref import ref_sam_decoder, ref_vit


def _small_decoder_file():
    """The tiny original SAM file with a mask decoder whose token activations are small, so that
    the LayerNorm eps (1e-5 vs 1e-6) changes the masks clearly."""
    sd = tm_tiny.original_sam_file()
    for key in list(sd):
        if key.startswith(("mask_decoder.iou_token", "mask_decoder.mask_tokens", "prompt_encoder.point_embeddings",
                           "prompt_encoder.no_mask_embed")) or (
                key.startswith("mask_decoder.transformer.") and key.endswith(("out_proj.weight", "lin2.weight"))):
            sd[key] = sd[key] * 0.004
        if key.startswith("mask_decoder.transformer.") and key.endswith(("out_proj.bias", "lin2.bias")):
            sd[key] = sd[key] * 0.004
    return sd


def test_sam_mask_decoder_matches_the_original_with_its_layernorm_eps(tmp_path):
    sd = _small_decoder_file()
    torch.save(sd, tmp_path / "sam_vit_tiny.pth")
    model = loading.load_sam(str(tmp_path / "sam_vit_tiny.pth")).model
    emb = torch.randn((1, 32, 16, 16), generator=torch.Generator().manual_seed(1)) * 0.004
    boxes = torch.tensor([[20.0, 30.0, 200.0, 180.0], [5.0, 5.0, 60.0, 90.0], [-12.0, 100.0, 270.0, 250.5]])
    with torch.no_grad():
        out = model(image_embeddings=emb, input_boxes=boxes[None], multimask_output=False)
    got, got_iou = out.pred_masks[0], out.iou_scores[0]
    want, want_iou = ref_sam_decoder(sd, emb, boxes, 256, eps=1e-5)
    other, _ = ref_sam_decoder(sd, emb, boxes, 256, eps=1e-6)
    assert rel(got, want) < 2e-5 and rel(got_iou, want_iou) < 2e-5, (rel(got, want), rel(got_iou, want_iou))
    assert rel(other, want) > 1e-2  # the eps is visible here: transformers' 1e-6 would fail the check above


# ============================================================== 4. SAM encoder, fast attention

@pytest.mark.parametrize("fast", [True, False])
def test_sam_image_encoder_matches_the_original_vit(tmp_path, fast):
    sd = tm_tiny.original_sam_file()
    torch.save(sd, tmp_path / "sam.pth")
    bundle = loading.load_sam(str(tmp_path / "sam.pth"))
    bundle.fast_attention = fast
    image = torch.rand((150, 220, 3), generator=torch.Generator().manual_seed(2))
    got = embed(bundle, image, CPU, torch.float32)["image_embeddings"]
    want = ref_vit(sd, sam_preprocess(bundle, image, CPU, torch.float32), heads=1, window=4, global_idx=[1])
    assert got.shape == want.shape == (1, 32, 16, 16)
    assert rel(got, want) < 1e-5, rel(got, want)


def test_fast_attention_equals_transformers_attention_on_every_layer_kind():
    """Global and windowed layers, several heads, a grid that is not a multiple of the window."""
    import transformers

    from brushnet_core.text_mask.sam_attention import fast_attention

    cfg = transformers.SamConfig(vision_config=dict(
        hidden_size=48, num_hidden_layers=3, num_attention_heads=3, output_channels=16, mlp_dim=64,
        global_attn_indexes=[1], image_size=176, window_size=5, num_pos_feats=8),
        prompt_encoder_config=dict(hidden_size=16, image_size=176),
        mask_decoder_config=dict(hidden_size=16, num_attention_heads=4, mlp_dim=32, iou_head_hidden_dim=16))
    model = tm_tiny.randomize(transformers.SamModel(cfg), 4)
    pixels = torch.randn((2, 3, 176, 176), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        plain = model.get_image_embeddings(pixels)
        with fast_attention(model) as switched:
            fast = model.get_image_embeddings(pixels)
        again = model.get_image_embeddings(pixels)
    assert switched == 3 and torch.equal(plain, again)  # restored after the block
    assert rel(fast, plain) < 1e-6, rel(fast, plain)
