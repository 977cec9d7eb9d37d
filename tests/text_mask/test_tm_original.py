"""The pack against the ORIGINAL Grounded-SAM pipeline, step by step (issue 17).

Each reference below is written in this file from the definitions in the original repositories
(IDEA-Research GroundingDINO: ``util/inference.py``, ``datasets/transforms.py``, ``util/misc.py``,
``models/GroundingDINO/*.py`` and the SwinT/SwinB config files; segment-anything: ``build_sam.py``,
``modeling/*.py``, ``utils/transforms.py``, ``predictor.py``; Grounded-SAM's
``grounded_sam_demo.py``), never from transformers, and compared with what the pack computes on
tiny models:

1. the conversions' config, field by field, for every published size, and the LayerNorm eps of
   every norm of the built models (the SAM mask decoder's was 1e-6, the original's is 1e-5);
2. post-processing: box threshold, labels from the text threshold, box conversion, no clamp /
   NMS / cap unless asked; the original caption;
3. the 8-bit Pillow resize of both models' inputs;
4. SAM's image encoder with the faster attention, against the original ViT maths (float64);
5. GroundingDINO's reference-box refinement with the original ``inverse_sigmoid`` (eps 1e-3).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import tm_tiny
from brushnet_core.text_mask import DetectOptions, DinoBundle, SamBundle, loading, sam_convert, dino_convert
from brushnet_core.text_mask.detect import build_caption, detect, preprocess as dino_preprocess
from brushnet_core.text_mask.original import inverse_sigmoid, reference_eps
from brushnet_core.text_mask.pipeline import text_to_masks
from brushnet_core.text_mask.segment import embed, preprocess as sam_preprocess

CPU = torch.device("cpu")
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double(), b.double()
    return ((a - b).abs().max() / b.abs().max().clamp(min=1e-30)).item()


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vocab_original")
    tm_tiny.write_vocab(str(folder))
    return loading.load_tokenizer(str(folder))


# ============================================================== 1. configs, field by field

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


# ============================================================== SAM reference maths (float64)

def _w(sd, key):
    return sd[key].double()


def _ln(x, sd, prefix, eps):
    return F.layer_norm(x, x.shape[-1:], _w(sd, prefix + ".weight"), _w(sd, prefix + ".bias"), eps)


def _ln2d(x, sd, prefix, eps=1e-6):  # segment-anything LayerNorm2d: over channels of NCHW
    u = x.mean(1, keepdim=True)
    s = (x - u).pow(2).mean(1, keepdim=True)
    weight, bias = _w(sd, prefix + ".weight")[:, None, None], _w(sd, prefix + ".bias")[:, None, None]
    return weight * ((x - u) / torch.sqrt(s + eps)) + bias


def _lin(x, sd, prefix):
    return F.linear(x, _w(sd, prefix + ".weight"), _w(sd, prefix + ".bias"))


def _rel_table(size_q, size_k, table):
    coords = torch.arange(size_q)[:, None] - torch.arange(size_k)[None, :] + (size_k - 1)
    assert table.shape[0] == 2 * max(size_q, size_k) - 1
    return table[coords]


def ref_vit_attention(x, sd, prefix, heads):
    """Image-encoder attention with decomposed relative positions (MViTv2 / segment-anything)."""
    b, h, w, c = x.shape
    d = c // heads
    qkv = _lin(x, sd, prefix + ".qkv").reshape(b, h * w, 3, heads, d).permute(2, 0, 3, 1, 4)
    qkv = qkv.reshape(3, b * heads, h * w, d)
    q, k, v = qkv[0], qkv[1], qkv[2]
    scores = (q * d ** -0.5) @ k.transpose(-2, -1)
    rq = q.reshape(b * heads, h, w, d)
    rel_h = torch.einsum("bhwc,hkc->bhwk", rq, _rel_table(h, h, _w(sd, prefix + ".rel_pos_h")))
    rel_w = torch.einsum("bhwc,wkc->bhwk", rq, _rel_table(w, w, _w(sd, prefix + ".rel_pos_w")))
    scores = scores.view(b * heads, h, w, h, w) + rel_h[..., :, None] + rel_w[..., None, :]
    scores = scores.view(b * heads, h * w, h * w)
    out = (scores.softmax(-1) @ v).view(b, heads, h, w, d).permute(0, 2, 3, 1, 4).reshape(b, h, w, c)
    return _lin(out, sd, prefix + ".proj")


def ref_vit(sd, pixels, heads, window, global_idx):
    """segment-anything ImageEncoderViT forward in float64."""
    patch = sd["image_encoder.patch_embed.proj.weight"]
    x = F.conv2d(pixels.double(), patch.double(), _w(sd, "image_encoder.patch_embed.proj.bias"), stride=patch.shape[-1])
    x = x.permute(0, 2, 3, 1) + _w(sd, "image_encoder.pos_embed")
    depth = len({k.split(".")[2] for k in sd if k.startswith("image_encoder.blocks.")})
    for i in range(depth):
        p = f"image_encoder.blocks.{i}"
        shortcut = x
        x = _ln(x, sd, p + ".norm1", 1e-6)
        b, h, w, c = x.shape
        ws = 0 if i in global_idx else window
        if ws:
            ph, pw = (ws - h % ws) % ws, (ws - w % ws) % ws
            x = F.pad(x, (0, 0, 0, pw, 0, ph))
            hp, wp = h + ph, w + pw
            x = x.view(b, hp // ws, ws, wp // ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws, ws, c)
        x = ref_vit_attention(x, sd, p + ".attn", heads)
        if ws:
            x = x.view(b, hp // ws, wp // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)[:, :h, :w]
        x = shortcut + x
        x = x + _lin(F.gelu(_lin(_ln(x, sd, p + ".norm2", 1e-6), sd, p + ".mlp.lin1")), sd, p + ".mlp.lin2")
    x = F.conv2d(x.permute(0, 3, 1, 2), _w(sd, "image_encoder.neck.0.weight"))
    x = _ln2d(x, sd, "image_encoder.neck.1")
    x = F.conv2d(x, _w(sd, "image_encoder.neck.2.weight"), padding=1)
    return _ln2d(x, sd, "image_encoder.neck.3")


def _pe(sd, coords01):
    g = _w(sd, "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix")
    x = 2 * math.pi * ((2 * coords01 - 1) @ g)
    return torch.cat([torch.sin(x), torch.cos(x)], dim=-1)


def _attention(q, k, v, sd, prefix, heads):
    q, k, v = _lin(q, sd, prefix + ".q_proj"), _lin(k, sd, prefix + ".k_proj"), _lin(v, sd, prefix + ".v_proj")
    n, t, c = q.shape
    split = lambda x: x.reshape(x.shape[0], x.shape[1], heads, c // heads).transpose(1, 2)  # noqa: E731
    q, k, v = split(q), split(k), split(v)
    attn = ((q @ k.transpose(-2, -1)) / math.sqrt(c // heads)).softmax(-1)
    return _lin((attn @ v).transpose(1, 2).reshape(n, t, c), sd, prefix + ".out_proj")


def _mlp(x, sd, prefix, depth):
    for i in range(depth):
        x = _lin(x, sd, f"{prefix}.layers.{i}")
        x = F.relu(x) if i < depth - 1 else x
    return x


def ref_sam_decoder(sd, image_embeddings, boxes, image_size, eps):
    """segment-anything PromptEncoder (boxes) + MaskDecoder (multimask_output=False) in float64.
    ``boxes``: (N, 4) xyxy in the 1024 (here ``image_size``) input frame. Returns (low-res masks, iou)."""
    emb = image_embeddings.double()
    c, gh, gw = emb.shape[1:]
    n = boxes.shape[0]
    corners = _pe(sd, ((boxes.double() + 0.5).reshape(n, 2, 2)) / image_size)
    corners[:, 0] += _w(sd, "prompt_encoder.point_embeddings.2.weight")[0]
    corners[:, 1] += _w(sd, "prompt_encoder.point_embeddings.3.weight")[0]
    dense = _w(sd, "prompt_encoder.no_mask_embed.weight").reshape(1, -1, 1, 1)
    ys, xs = torch.meshgrid(torch.arange(gh, dtype=torch.float64), torch.arange(gw, dtype=torch.float64), indexing="ij")
    image_pe = _pe(sd, torch.stack([(xs + 0.5) / gw, (ys + 0.5) / gh], dim=-1)).permute(2, 0, 1)
    output_tokens = torch.cat([_w(sd, "mask_decoder.iou_token.weight"), _w(sd, "mask_decoder.mask_tokens.weight")])
    n_masks = output_tokens.shape[0] - 1
    tokens = torch.cat([output_tokens[None].expand(n, -1, -1), corners], dim=1)
    src = (emb + dense).expand(n, -1, -1, -1).flatten(2).transpose(1, 2)
    pos = image_pe[None].expand(n, -1, -1, -1).flatten(2).transpose(1, 2)
    queries, keys = tokens, src
    t = "mask_decoder.transformer"
    depth = len({k.split(".")[3] for k in sd if k.startswith(t + ".layers.")})
    for i in range(depth):
        p = f"{t}.layers.{i}"
        if i == 0:  # skip_first_layer_pe: no positional term and no residual
            queries = _attention(queries, queries, queries, sd, p + ".self_attn", 8)
        else:
            q = queries + tokens
            queries = queries + _attention(q, q, queries, sd, p + ".self_attn", 8)
        queries = _ln(queries, sd, p + ".norm1", eps)
        queries = queries + _attention(queries + tokens, keys + pos, keys, sd, p + ".cross_attn_token_to_image", 8)
        queries = _ln(queries, sd, p + ".norm2", eps)
        queries = queries + _lin(F.relu(_lin(queries, sd, p + ".mlp.lin1")), sd, p + ".mlp.lin2")
        queries = _ln(queries, sd, p + ".norm3", eps)
        keys = keys + _attention(keys + pos, queries + tokens, queries, sd, p + ".cross_attn_image_to_token", 8)
        keys = _ln(keys, sd, p + ".norm4", eps)
    queries = queries + _attention(queries + tokens, keys + pos, keys, sd, t + ".final_attn_token_to_image", 8)
    queries = _ln(queries, sd, t + ".norm_final_attn", eps)
    up = F.conv_transpose2d(keys.transpose(1, 2).reshape(n, c, gh, gw),
                            _w(sd, "mask_decoder.output_upscaling.0.weight"),
                            _w(sd, "mask_decoder.output_upscaling.0.bias"), stride=2)
    up = F.gelu(_ln2d(up, sd, "mask_decoder.output_upscaling.1"))
    up = F.gelu(F.conv_transpose2d(up, _w(sd, "mask_decoder.output_upscaling.3.weight"),
                                   _w(sd, "mask_decoder.output_upscaling.3.bias"), stride=2))
    hyper = torch.stack([_mlp(queries[:, 1 + j], sd, f"mask_decoder.output_hypernetworks_mlps.{j}", 3)
                         for j in range(n_masks)], dim=1)
    masks = (hyper @ up.flatten(2)).reshape(n, n_masks, *up.shape[-2:])
    iou = _mlp(queries[:, 0], sd, "mask_decoder.iou_prediction_head", 3)
    return masks[:, :1], iou[:, :1]


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
    assert _rel(got, want) < 2e-5 and _rel(got_iou, want_iou) < 2e-5, (_rel(got, want), _rel(got_iou, want_iou))
    assert _rel(other, want) > 1e-2  # the eps is visible here: transformers' 1e-6 would fail the check above


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
    assert _rel(got, want) < 1e-5, _rel(got, want)


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
    assert _rel(fast, plain) < 1e-6, _rel(fast, plain)


# ============================================================== 3. the 8-bit resize

def _u8_image(h, w, seed=0):
    g = torch.Generator().manual_seed(seed)
    u8 = torch.randint(0, 256, (h, w, 3), generator=g, dtype=torch.uint8)
    return u8, u8.float() / 255  # what ComfyUI's LoadImage gives for an 8-bit file


def _pil_resize(u8: torch.Tensor, size_hw):
    h, w = size_hw
    return torch.from_numpy(np.array(Image.fromarray(u8.numpy()).resize((w, h), Image.BILINEAR)))


def test_grounding_dino_input_is_the_originals_pil_resize(tiny_gdino, tokenizer):
    """load_image: RandomResize([800], max_size=1333) on the PIL image, ToTensor, Normalize."""
    u8, image = _u8_image(203, 341)
    bundle = DinoBundle(model=tiny_gdino, tokenizer=tokenizer, short_side=120, max_side=180)
    # get_size_with_aspect_ratio: short side 120, long side would be 201 > 180 -> size round(180*203/341) = 107
    size = (107, int(107 * 341 / 203))
    want = (_pil_resize(u8, size).permute(2, 0, 1).float().div(255) - torch.tensor(IMAGENET_MEAN)[:, None, None]) \
        / torch.tensor(IMAGENET_STD)[:, None, None]
    got = dino_preprocess(bundle, image, CPU, torch.float32)
    assert got.shape == (1, 3, *size) and torch.equal(got[0], want)
    floaty = dino_preprocess(bundle, image, CPU, torch.float32, resize="float")
    assert 1e-3 < (floaty - got).abs().max() * 0.229 < 0.05  # the earlier float path: up to a few 8-bit steps off


def test_sam_input_is_the_originals_pil_resize_then_pixel_mean_std(tiny_sam):
    """ResizeLongestSide.apply_image (PIL) then (x - pixel_mean) / pixel_std and zero padding."""
    u8, image = _u8_image(150, 220, seed=1)
    bundle = SamBundle(model=tiny_sam, kind="sam", image_size=256)
    h, w = int(150 * 256 / 220 + 0.5), 256
    x = _pil_resize(u8, (h, w)).permute(2, 0, 1).float()
    pixel_mean, pixel_std = torch.tensor([123.675, 116.28, 103.53]), torch.tensor([58.395, 57.12, 57.375])
    x = (x - pixel_mean[:, None, None]) / pixel_std[:, None, None]
    want = F.pad(x, (0, 256 - w, 0, 256 - h))
    got = sam_preprocess(bundle, image, CPU, torch.float32)
    assert torch.allclose(got[0], want, rtol=0, atol=2e-6)  # mean*255 in float32 vs the literal: last-bit noise
    bundle.resize = "float"
    assert (sam_preprocess(bundle, image, CPU, torch.float32) - got).abs().max() > 1e-2


def test_sam2_keeps_its_float_resize(tiny_sam):
    """SAM 2's SAM2Transforms resize the float tensor (antialiased bilinear) to a square."""
    _, image = _u8_image(150, 220, seed=2)
    bundle = SamBundle(model=tiny_sam, kind="sam2", image_size=256)
    assert not bundle.resizes_uint8
    x = F.interpolate(image.permute(2, 0, 1)[None], size=(256, 256), mode="bilinear", align_corners=False,
                      antialias=True)
    want = (x - torch.tensor(IMAGENET_MEAN)[:, None, None]) / torch.tensor(IMAGENET_STD)[:, None, None]
    assert torch.allclose(sam_preprocess(bundle, image, CPU, torch.float32), want, rtol=0, atol=1e-6)


# ============================================================== 2. post-processing, caption

def test_caption_is_the_originals_unless_split_phrases_is_asked(tokenizer):
    cap = build_caption(tokenizer, "  Dog, the red CAT ")
    assert cap.text == "dog, the red cat."
    assert cap.input_ids == [101, 1013, 1021, 1015, 1019, 1014, 1012, 102] and cap.spans == [(1, 6)]
    assert cap.phrases == ["dog, the red cat"]
    split = build_caption(tokenizer, "  Dog, the red CAT ", split=True)
    assert split.input_ids == [101, 1013, 1012, 1015, 1019, 1014, 1012, 102] and split.phrases == ["dog", "the red cat"]
    assert build_caption(tokenizer, "dog . cat").input_ids == build_caption(tokenizer, "dog, cat", split=True).input_ids


def ref_grounded_sam_boxes(logits, pred_boxes, input_ids, decode, size_hw, box_threshold, text_threshold):
    """Grounded-SAM get_grounding_output + the demo's box conversion, from their definitions."""
    probs = logits.sigmoid()
    keep = probs.max(dim=1)[0] > box_threshold
    labels = []
    for row in probs[keep]:
        posmap = row > text_threshold
        posmap[0:1] = False
        posmap[255:] = False
        labels.append(decode([input_ids[i] for i in posmap.nonzero(as_tuple=True)[0].tolist()]).replace(".", ""))
    h, w = size_hw
    boxes = pred_boxes[keep].clone()
    for i in range(boxes.size(0)):
        boxes[i] = boxes[i] * torch.Tensor([w, h, w, h])
        boxes[i][:2] -= boxes[i][2:] / 2
        boxes[i][2:] += boxes[i][:2]
    return boxes, probs[keep].max(dim=1)[0], labels


def _ref_dino_run(model, pixels, input_ids):
    ids = torch.tensor([input_ids])
    with torch.no_grad(), reference_eps(model, 1e-3):
        out = model(pixel_values=pixels, input_ids=ids, attention_mask=torch.ones_like(ids),
                    token_type_ids=torch.zeros_like(ids))
    return out.logits[0], out.pred_boxes[0]


@pytest.fixture(scope="module")
def file_gdino(tmp_path_factory):
    """The tiny GroundingDINO of the version-independent original file (same weights on transformers 4 and 5)."""
    folder = tmp_path_factory.mktemp("gd_file")
    torch.save(tm_tiny.original_gdino_file(), folder / "gd.pth")
    tm_tiny.write_vocab(str(folder))
    return loading.load_grounding_dino(str(folder / "gd.pth")).model


def test_detections_are_the_original_pipelines(file_gdino, tokenizer):
    tiny_gdino = file_gdino
    bundle = DinoBundle(model=tiny_gdino, tokenizer=tokenizer, short_side=128, max_side=256)
    bundle.fast_deformable = False  # the model's own outputs: this test is about what follows them
    _, image = _u8_image(90, 131, seed=3)
    prompt = "Dog, the red CAT"
    cap = build_caption(tokenizer, prompt)
    logits, pred = _ref_dino_run(tiny_gdino, dino_preprocess(bundle, image, CPU, torch.float32), cap.input_ids)
    best = logits.sigmoid().max(dim=1)[0].sort().values
    box_t, text_t = float(best[3] + best[4]) / 2, float(best[6] + best[7]) / 2  # some queries fall below
    want_boxes, want_scores, want_labels = ref_grounded_sam_boxes(
        logits, pred, cap.input_ids, tokenizer.decode, (90, 131), box_t, text_t)
    dets = detect(bundle, image, prompt, box_t, text_t, CPU)
    assert 0 < len(dets) == len(want_boxes) < logits.shape[0]
    assert torch.equal(torch.tensor([d.box for d in dets]), want_boxes)
    assert [d.score for d in dets] == pytest.approx(want_scores.tolist(), abs=1e-7)
    assert [d.phrase for d in dets] == want_labels and any(want_labels) and not all(want_labels)


def test_sam_gets_the_unclamped_boxes_and_options_change_only_what_they_name(tiny_gdino, tiny_sam, tokenizer,
                                                                              monkeypatch):
    from brushnet_core.text_mask import pipeline

    seen = []
    real = pipeline.boxes_to_masks

    def spy(sam, image, boxes, *args, **kwargs):
        seen.append(boxes.clone())
        return real(sam, image, boxes, *args, **kwargs)

    monkeypatch.setattr(pipeline, "boxes_to_masks", spy)
    dino = DinoBundle(model=tiny_gdino, tokenizer=tokenizer, short_side=128, max_side=256)
    sam = SamBundle(model=tiny_sam, kind="sam", image_size=256)
    _, image = _u8_image(90, 131, seed=3)
    _, info = text_to_masks(dino, sam, image[None], "dog . cat", 0.0, 0.25, "one mask per object", CPU, CPU)
    dets = detect(dino, image, "dog . cat", 0.0, 0.25, CPU)
    assert len(dets) == tiny_gdino.config.num_queries  # box threshold 0: every query, no NMS, no cap
    assert torch.equal(seen[-1], torch.tensor([d.box for d in dets]))
    assert len(info["images"][0]["masks"]) == len(dets)
    text_to_masks(dino, sam, image[None], "dog . cat", 0.0, 0.25, "union", CPU, CPU,
                  options=DetectOptions(clamp_boxes=True, max_objects=3))
    assert len(seen[-1]) == 3 and seen[-1][:, 0::2].min() >= 0 and seen[-1][:, 0::2].max() <= 131
    assert seen[-1][:, 1::2].min() >= 0 and seen[-1][:, 1::2].max() <= 90


# ============================================================== 5. reference boxes

def _mlp_box(x, mlp):
    layers = list(mlp.layers)
    for i, layer in enumerate(layers):
        x = F.linear(x, layer.weight, layer.bias)
        x = F.relu(x) if i < len(layers) - 1 else x
    return x


def test_reference_box_refinement_uses_the_originals_inverse_sigmoid():
    """Deformable-DETR refinement as GroundingDINO does it: ref_{l+1} = sigmoid(bbox_embed(out_l) +
    inverse_sigmoid(ref_l)) in the decoder, and boxes = sigmoid(bbox_embed(norm(out_l)) +
    inverse_sigmoid(ref_l)), with the original's eps 1e-3; on boxes that fill the frame, where the
    eps matters."""
    model = tm_tiny.tiny_gdino(seed=3)
    with torch.no_grad():  # encoder proposals with huge width/height: reference boxes saturate at 1
        model.model.encoder_output_bbox_embed.layers[-1].bias[2:] += 9.0
    raw = []
    hooks = [layer.register_forward_hook(lambda _m, _a, out: raw.append(out[0]))
             for layer in model.model.decoder.layers]
    ids = torch.tensor([[101, 1013, 1012, 1014, 1015, 1012, 102]])
    pixels = torch.rand((1, 3, 96, 128), generator=torch.Generator().manual_seed(5))
    runs = {}
    for name, eps in (("original", 1e-3), ("transformers", None)):
        raw.clear()
        with torch.no_grad(), reference_eps(model, eps):
            out = model(pixel_values=pixels, input_ids=ids, attention_mask=torch.ones_like(ids),
                        token_type_ids=torch.zeros_like(ids))
        runs[name] = (out, list(raw))
    for h in hooks:
        h.remove()
    out, hidden = runs["original"]
    ref = out.init_reference_points
    assert (ref > 1 - 1e-3).any()
    refs = [ref]
    with torch.no_grad():
        for layer, h in enumerate(hidden):
            refs.append(torch.sigmoid(_mlp_box(h, model.bbox_embed[layer]) + inverse_sigmoid(refs[-1], 1e-3)))
            assert torch.allclose(out.intermediate_reference_points[:, layer], refs[-1], atol=1e-6)
        last = len(hidden) - 1
        boxes = torch.sigmoid(_mlp_box(out.intermediate_hidden_states[:, last], model.bbox_embed[last])
                              + inverse_sigmoid(refs[last], 1e-3))
    assert torch.allclose(out.pred_boxes, boxes, atol=1e-6)
    moved = (runs["transformers"][0].intermediate_reference_points - out.intermediate_reference_points).abs().max()
    assert moved > 1e-4  # transformers' logit(x, 1e-5) gives other boxes here
    # outside the block transformers' own formula is back
    near_one = torch.tensor([0.99999])
    assert torch.equal(torch.special.logit(near_one, eps=1e-5), torch.logit(near_one, 1e-5))


def test_inverse_sigmoid_is_the_originals_formula():
    x = torch.tensor([-0.5, 0.0, 1e-4, 0.3, 0.9995, 1.0, 1.5])
    want = torch.tensor([math.log(1e-3 / 1), math.log(1e-3 / 1), math.log(1e-3 / (1 - 1e-4)), math.log(0.3 / 0.7),
                         math.log(0.9995 / 1e-3), math.log(1 / 1e-3), math.log(1 / 1e-3)])
    assert torch.allclose(inverse_sigmoid(x, 1e-3), want, atol=1e-5)


# ============================================================== 4b. deformable attention core

def ref_deformable(value, shapes, locations, weights):
    """Multi-scale deformable attention (Deformable DETR): for each query, head, level and point,
    bilinear samples of the level's value map at ``location * (W, H) - 0.5`` (pixel centres; outside
    samples are 0), weighted and summed. float64, explicit corner arithmetic (no grid_sample)."""
    b, _, heads, dim = value.shape
    _, nq, _, levels, points, _ = locations.shape
    out = torch.zeros(b, nq, heads, dim, dtype=torch.float64)
    start = 0
    for lvl, (h, w) in enumerate(shapes):
        vmap = value[:, start:start + h * w].double().reshape(b, h, w, heads, dim)
        start += h * w
        px = locations[:, :, :, lvl, :, 0].double() * w - 0.5
        py = locations[:, :, :, lvl, :, 1].double() * h - 0.5
        x0, y0 = px.floor(), py.floor()
        for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
            xi, yi = x0 + dx, y0 + dy
            wgt = (1 - (px - xi).abs()) * (1 - (py - yi).abs())
            inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
            xc, yc = xi.clamp(0, w - 1).long(), yi.clamp(0, h - 1).long()
            for bi in range(b):
                for hd in range(heads):
                    v = vmap[bi, yc[bi, :, hd], xc[bi, :, hd], hd]  # (nq, points, dim)
                    k = (wgt[bi, :, hd] * inside[bi, :, hd] * weights[bi, :, hd, lvl].double())[..., None]
                    out[bi, :, hd] += (v * k).sum(1)
    return out.reshape(b, nq, heads * dim)


def test_fast_deformable_core_matches_the_definition_and_transformers():
    from transformers.models.grounding_dino.modeling_grounding_dino import MultiScaleDeformableAttention

    from brushnet_core.text_mask.deformable import deformable_forward, fast_deformable_attention

    g = torch.Generator().manual_seed(6)
    shapes = [(5, 6), (3, 3), (2, 1)]
    value = torch.randn((2, sum(h * w for h, w in shapes), 3, 4), generator=g)
    loc = torch.rand((2, 7, 3, 3, 2, 2), generator=g) * 1.2 - 0.1  # some samples fall outside the map
    wts = torch.softmax(torch.randn((2, 7, 3, 6), generator=g), -1).view(2, 7, 3, 3, 2)
    ss = torch.tensor(shapes)
    lsi = torch.cat([torch.zeros(1, dtype=torch.long), ss.prod(1).cumsum(0)[:-1]])
    core = MultiScaleDeformableAttention()
    want = ref_deformable(value, shapes, loc, wts)
    theirs = core(value, ss, shapes, lsi, loc, wts, 64)
    with fast_deformable_attention(core) as switched:
        ours = core(value, ss, shapes, lsi, loc, wts, 64)
    assert switched == 1 and "forward" not in vars(core)
    assert _rel(theirs, want) < 1e-6 and _rel(ours, want) < 1e-6 and _rel(ours, theirs) < 1e-6
    assert torch.equal(ours, deformable_forward(core, value, ss, shapes, lsi, loc, wts, 64))


def test_grounding_dino_outputs_with_the_fast_deformable_core(file_gdino):
    from brushnet_core.text_mask.deformable import fast_deformable_attention

    ids = torch.tensor([[101, 1013, 1012, 1014, 1015, 1012, 102]])
    pixels = torch.rand((1, 3, 96, 128), generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        plain = file_gdino(pixel_values=pixels, input_ids=ids)
        with fast_deformable_attention(file_gdino) as switched:
            fast = file_gdino(pixel_values=pixels, input_ids=ids)
    assert switched == file_gdino.config.encoder_layers + file_gdino.config.decoder_layers
    finite = plain.logits.isfinite()
    assert torch.equal(finite, fast.logits.isfinite())
    assert _rel(fast.logits[finite], plain.logits[finite]) < 1e-5 and _rel(fast.pred_boxes, plain.pred_boxes) < 1e-5
